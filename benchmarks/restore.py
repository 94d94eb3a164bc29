"""Restore engine speed: 10,000 VMs, the event-heap engine against the simpy reference; the
balanced placement at 100,000 VMs; an estate's RTO at 100,000 VMs.

Goals: under 100 ms for 10,000 VMs, and at least 30 times faster than simpy, measured in the
same run (issue 6); 100,000 VMs placed into 10,000 balanced accounts in under 2 s (issue 15).
The estate RTO (``vmbackup.restore_options.estate_rto``: preconditions, placement, the estate's
simulation and each VM's alone) has no goal of its own; it is printed for the ``plan`` command's
budget. Run: .venv/bin/python benchmarks/restore.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from restore_reference import simulate_with_simpy  # noqa: E402

from vmbackup.policy import Policy  # noqa: E402
from vmbackup.restore import place, restore_plan, simulate_restore  # noqa: E402
from vmbackup.restore_options import estate_rto  # noqa: E402


def synthetic_disks(vms: int, seed: int = 7) -> pl.DataFrame:
    """``vms`` VMs with 1 OS disk and 0-4 data disks, sizes like the sample fleet."""
    rng = np.random.default_rng(seed)
    disks = 1 + rng.integers(0, 5, size=vms)
    vm = np.repeat(np.arange(vms), disks)
    used = rng.gamma(2.0, 60.0, size=vm.size)
    return pl.DataFrame({"vm_name": [f"vm-{i:05d}" for i in vm], "used_gb": used})


def best_of(runs: int, func, *args):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = func(*args)
        times.append(time.perf_counter() - began)
    return min(times), result


def main() -> None:
    disks = synthetic_disks(10_000)
    print("10,000 VMs, 1-5 disks each, 100 concurrent restore jobs in the vault")
    print("goals: event heap < 100 ms; at least 30 x faster than simpy")
    for accounts in (100, 20):
        plan = restore_plan(disks, placement="round-robin", accounts=accounts)
        fast_s, fast = best_of(5, simulate_restore, plan)
        slow_s, slow = best_of(1, simulate_with_simpy, plan)
        agree = np.abs(fast["end_hours"].to_numpy() - np.asarray(slow)).max()
        print(
            f"{accounts:>4} accounts (round-robin): event heap {fast_s * 1000:6.1f} ms, "
            f"simpy {slow_s * 1000:7.1f} ms, ratio {slow_s / fast_s:5.1f} x, "
            f"max difference {agree:.1e} h, makespan {fast['end_hours'].max():.1f} h"
        )
    print("\nbalanced placement (S22; goal: 100,000 VMs into 10,000 accounts in < 2 s)")
    rng = np.random.default_rng(11)
    for vms, accounts in ((100_000, 10_000), (1_000_000, 100_000)):
        per_vm = 1 + rng.integers(0, 5, size=vms)
        seconds, _ = best_of(3, place, per_vm, "balanced", accounts)
        verdict = "met" if vms != 100_000 or seconds < 2 else "NOT met"
        print(f"{vms:>9,} VMs into {accounts:>7,} accounts: {seconds:6.2f} s ({verdict})")
    print("\nestate RTO (vault tier, balanced into one account per 10 VMs; no goal)")
    policies = {"daily": Policy(name="daily")}
    for vms in (10_000, 100_000):
        fleet = synthetic_disks(vms).with_columns(policy=pl.lit("daily"))
        for alone in (True, False):
            seconds, rto = best_of(
                1,
                lambda f=fleet, a=alone, n=vms: estate_rto(
                    f,
                    policies,
                    recovery_point_age_days=10,
                    placement="balanced",
                    accounts=n // 10,
                    alone=a,
                ),
            )
            print(
                f"{vms:>9,} VMs, alone={alone!s:<5}: {seconds:6.2f} s, "
                f"last VM usable after {rto['rto_hours'].max():.1f} h"
            )


if __name__ == "__main__":
    main()
