"""Make datasets/sample_fleet.csv: a seeded, synthetic but realistic inventory of 200 Azure VMs.

Run: python datasets/make_sample_fleet.py  (rewrites the CSV; the same seed gives the same file)

One row per disk (OS, data and temporary disks), the VM's columns repeated on each row. The
distributions, and where they come from, are documented in datasets/README.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

SEED = 20261124
VMS = 200
OUT = Path(__file__).with_name("sample_fleet.csv")

# X5 (Azure public VM trace 2019): ~59% of VMs at 0-2 cores, 30% at 2-4, 8% at 4-8, rest more.
CORES = np.array([1, 2, 4, 8, 16])
CORE_SHARE = np.array([0.20, 0.39, 0.30, 0.08, 0.03])
# Managed-disk size tiers (GB as billed: P4/S4=32 ... P50/S50=4096).
DATA_DISK_GB = np.array([32, 64, 128, 256, 512, 1024, 2048, 4096])
DATA_DISK_SHARE = np.array([0.10, 0.14, 0.22, 0.20, 0.16, 0.11, 0.05, 0.02])
POLICIES = {  # policy name -> (share, schedule hour choices)
    "DailyPolicy": (0.75, [22.5]),  # the policy default: everyone at 22:30 (S13's traffic jam)
    "EnhancedHourly": (0.15, [8.0]),
    "AgentlessDaily": (0.10, [1.25]),
}
# The hours above are the sample policies' run times; they are still drawn (the seeded stream
# stays the same) but written blank: a VM runs at its policy's time (S1), and a value in the
# column would be a start-time override.
CHURN_CLASSES = (["low", "moderate", "high"], [0.5, 0.35, 0.15])


def make(seed: int = SEED, vms: int = VMS) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    cores = rng.choice(CORES, size=vms, p=CORE_SHARE)
    family = rng.choice(["D", "E", "B", "F"], size=vms, p=[0.5, 0.2, 0.2, 0.1])
    memory_per_core = np.select([family == "E", family == "F"], [8, 2], 4)
    premium = rng.random(vms) < 0.45
    suffix = np.where(premium, "s", "")
    vm_size = [
        f"Standard_{f}{c}{s}_v5" if f != "B" else f"Standard_B{c}{'m' if s else ''}s"
        for f, c, s in zip(family, cores, suffix, strict=True)
    ]
    os_name = rng.choice(["windows", "linux"], size=vms, p=[0.45, 0.55])
    unmanaged = rng.random(vms) < 0.08
    policy = rng.choice(list(POLICIES), size=vms, p=[v[0] for v in POLICIES.values()])
    _hour = np.array([rng.choice(POLICIES[p][1]) for p in policy])  # keeps the seeded stream
    churn = rng.choice(CHURN_CLASSES[0], size=vms, p=CHURN_CLASSES[1])
    data_disks = rng.choice(
        [0, 1, 2, 3, 4, 6, 8], size=vms, p=[0.2, 0.3, 0.2, 0.12, 0.1, 0.05, 0.03]
    )
    rows = []
    for i in range(vms):
        name = f"vm-{'win' if os_name[i] == 'windows' else 'lnx'}-{i + 1:03d}"
        kind = "premium" if premium[i] else "standard"
        account = f"stlegacy{(i % 4) + 1:02d}{'p' if premium[i] else 's'}" if unmanaged[i] else ""
        vm = {
            "vm_name": name,
            "os": os_name[i],
            "vm_size": vm_size[i],
            "cores": int(cores[i]),
            "memory_gb": float(cores[i] * memory_per_core[i]),
            "policy": policy[i],
            "schedule_hour": None,  # blank: the policy decides (S1)
            "churn_class": churn[i],
        }
        os_gb = 127.0 if os_name[i] == "windows" else 30.0
        os_used = round(os_gb * rng.uniform(0.25, 0.7), 1)
        disks = [("osdisk", "os", os_gb, os_used)]
        for d in range(data_disks[i]):
            size = float(rng.choice(DATA_DISK_GB, p=DATA_DISK_SHARE))
            used = round(size * float(rng.beta(2.2, 2.0)), 1)
            disks.append((f"datadisk{d}", "data", size, used))
        temp_gb = float(min(16 * cores[i], 600)) if family[i] != "B" else float(4 * cores[i])
        disks.append(("tempdisk", "temp", temp_gb, round(temp_gb * rng.uniform(0.01, 0.2), 1)))
        for disk_name, role, allocated, used in disks:
            rows.append(
                vm
                | {
                    "disk_name": f"{name}-{disk_name}",
                    "disk_role": role,
                    "disk_type": "local" if role == "temp" else kind,
                    "managed": role != "temp" and not unmanaged[i],
                    "storage_account": account if role != "temp" else "",
                    "allocated_gb": allocated,
                    "used_gb": used,
                }
            )
    return pl.DataFrame(rows)


if __name__ == "__main__":
    fleet = make()
    fleet.write_csv(OUT)
    print(f"wrote {OUT} ({fleet['vm_name'].n_unique()} VMs, {fleet.height} disks)")
