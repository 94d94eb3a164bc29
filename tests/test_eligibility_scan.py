"""The estate eligibility scan: per VM, whether it can be protected, under which policy type,
and why not (G1, G8, G11, X1)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from vmbackup.data import dataset_path, read_estate_disks, read_fleet, read_policies
from vmbackup.eligibility import (
    MAX_DATA_DISKS,
    MAX_DISK_GB,
    MAX_UNMANAGED_DATA_DISKS,
    MAX_VM_GB,
    TRUSTED_LAUNCH_RISK,
    scan_assumptions,
    scan_estate,
)
from vmbackup.policy import Policy


def vm(name: str = "vm", data_disks: int = 1, **columns: Any) -> list[dict[str, Any]]:
    """One VM's disks: an OS disk and ``data_disks`` data disks, any column overridden."""
    rows = [{"vm_name": name, "disk_role": "os", "allocated_gb": 128.0}]
    rows += [{"vm_name": name, "disk_role": "data", "allocated_gb": 512.0}] * data_disks
    return [row | columns for row in rows]


def scan(*vms: list[dict[str, Any]], **kw: Any) -> dict[str, dict[str, Any]]:
    table = pl.DataFrame([row for rows in vms for row in rows])
    return {row["vm_name"]: row for row in scan_estate(table, **kw).iter_rows(named=True)}


def test_a_plain_vm_takes_standard() -> None:
    """A managed VM with standard disks: every policy type protects it; Standard is enough."""
    row = scan(vm())["vm"]
    assert row["protectable"]
    assert row["policy_type"] == "standard"
    assert row["standard_ok"]
    assert row["enhanced_ok"]
    assert row["agentless_ok"]
    assert row["reasons"] == ""


def test_g8_4_confidential_vms_are_preview_only() -> None:
    """G8.4: confidential VM backup is a preview: the plan protects them under no policy type
    and says why."""
    row = scan(vm(security_type="ConfidentialVM"))["vm"]
    assert not row["protectable"]
    assert row["policy_type"] == "none"
    assert row["reasons"] == (
        "confidential VM: backup is in preview only, not generally available (G8.4)"
    )


def test_g8_ultra_and_premium_v2_disks_need_enhanced() -> None:
    """G8: a VM with an Ultra or Premium SSD v2 disk can be protected under Enhanced only."""
    for sku in ("UltraSSD_LRS", "PremiumV2_LRS"):
        rows = [
            *vm(data_disks=0),
            {"vm_name": "vm", "disk_role": "data", "allocated_gb": 64.0, "disk_sku": sku},
        ]
        row = scan([r | {"disk_sku": r.get("disk_sku", "Premium_LRS")} for r in rows])["vm"]
        assert row["policy_type"] == "enhanced"
        assert not row["standard_ok"]
        assert not row["agentless_ok"]  # G1: agentless excludes them too
        assert "Enhanced policy (G8)" in row["reasons"]


def test_g8_trusted_launch_under_standard_is_a_risk() -> None:
    """G8: Trusted Launch VMs may use Standard, but their snapshots bill as Enhanced: a risk."""
    row = scan(vm(security_type="TrustedLaunch"))["vm"]
    assert row["policy_type"] == "standard"
    assert row["risks"] == TRUSTED_LAUNCH_RISK


def test_g8_trusted_launch_note_only_for_vms_under_a_standard_policy() -> None:
    """G8: the Trusted Launch note names the VMs under Standard, never those already under
    Enhanced (whose snapshots the bill prices the same way)."""
    rows = [
        *(r | {"policy": "std"} for r in vm(name="tl-std", security_type="TrustedLaunch")),
        *(r | {"policy": "enh"} for r in vm(name="tl-enh", security_type="TrustedLaunch")),
    ]
    policies = {"std": Policy(name="std"), "enh": Policy(name="enh", policy_type="enhanced")}
    table = scan_estate(pl.DataFrame(rows), policies=policies)
    risks = dict(zip(table["vm_name"], table["risks"], strict=True))
    assert risks == {"tl-std": TRUSTED_LAUNCH_RISK, "tl-enh": ""}


def test_g11_shared_disks_need_enhanced() -> None:
    """G11: shared disks are not supported under Standard; Enhanced excludes them."""
    row = scan(vm(shared=True))["vm"]
    assert row["policy_type"] == "enhanced"
    assert "(G11)" in row["reasons"]
    assert "excluded from the backup under Enhanced (G11)" in row["risks"]


def test_g11_ephemeral_os_disks_are_not_supported() -> None:
    """G11: an ephemeral (NVMe) OS disk: no policy type protects the VM."""
    row = scan(vm(ephemeral=True))["vm"]
    assert row["policy_type"] == "none"
    assert "ephemeral" in row["reasons"]


def test_g11_data_access_authentication_fails() -> None:
    """G11: a disk with data-access authentication fails to back up."""
    row = scan(vm(data_access_auth=True))["vm"]
    assert not row["protectable"]
    assert "data-access authentication" in row["reasons"]


def test_g11_unmanaged_vms_stop_at_16_data_disks() -> None:
    """G11: a VM with unmanaged disks is supported up to 16 data disks (managed: 32, X1)."""
    rows = scan(
        vm("u16", MAX_UNMANAGED_DATA_DISKS, managed=False),
        vm("u17", MAX_UNMANAGED_DATA_DISKS + 1, managed=False),
        vm("m17", MAX_UNMANAGED_DATA_DISKS + 1, managed=True),
    )
    assert rows["u16"]["protectable"]
    assert "deprecated (G8)" in rows["u16"]["risks"]
    assert not rows["u17"]["protectable"]
    assert "16 data disks (G11)" in rows["u17"]["reasons"]
    assert rows["m17"]["protectable"]


def test_x1_at_most_32_data_disks_and_32_tib_a_disk() -> None:
    """X1, G11: 32 data disks and a 32 TiB disk are protected; one more of either is not."""
    rows = scan(
        vm("d32", MAX_DATA_DISKS),
        vm("d33", MAX_DATA_DISKS + 1),
        vm("big", 1, allocated_gb=float(MAX_DISK_GB)),
        vm("bigger", 1, allocated_gb=float(MAX_DISK_GB + 1)),
    )
    assert rows["d32"]["protectable"]
    assert rows["big"]["protectable"]
    assert not rows["d33"]["protectable"]
    assert not rows["bigger"]["protectable"]
    assert "(X1)" in rows["d33"]["reasons"]


def test_g14_disk_limits_are_tib_in_gb() -> None:
    """G14, X1, G11: the 32 TiB and 256 TiB limits compared with sizes in GB (10^9 bytes)."""
    assert pytest.approx(35_184.372088832) == MAX_DISK_GB
    assert pytest.approx(281_474.976710656) == MAX_VM_GB


def test_g11_the_disks_of_a_vm_add_up_to_256_tib() -> None:
    """G11: a VM's disks may add up to 256 TiB: nine full 32 TiB disks are too many."""
    rows = scan(vm("eight", 7, allocated_gb=32768.0), vm("nine", 8, allocated_gb=32768.0))
    assert rows["eight"]["protectable"]  # exactly 256 TiB
    assert "256 TiB" not in str(rows["eight"]["reasons"])
    assert not rows["nine"]["protectable"]
    assert "256 TiB (G11)" in rows["nine"]["reasons"]


def test_g11_a_one_core_vm_is_a_risk_not_a_refusal() -> None:
    """G11: below the matrix's 2 cores or 1 GB: flagged, still protectable; 0 = unknown."""
    rows = scan(vm("one", cores=1, memory_gb=2.0), vm("unknown", cores=0, memory_gb=0.0))
    assert rows["one"]["protectable"]
    assert "minimum of 2 cores" in rows["one"]["risks"]
    assert rows["unknown"]["risks"] == ""


def test_g1_agentless_excludes_write_accelerated_disks() -> None:
    """G1: write-accelerated disks rule out agentless backup, not Standard or Enhanced."""
    row = scan(vm(write_accelerated=True))["vm"]
    assert row["standard_ok"]
    assert not row["agentless_ok"]


def test_temporary_disks_are_not_scanned() -> None:
    """S26: the temporary disk is never backed up, so its size limits nothing."""
    rows = [*vm(), {"vm_name": "vm", "disk_role": "temp", "allocated_gb": 10.0 * MAX_DISK_GB}]
    assert scan(rows)["vm"]["protectable"]


def test_the_assigned_policy_is_checked() -> None:
    """G8, G1: a VM with an Ultra disk under a Standard or agentless policy is not protected by
    it (the reason names the policy); under Enhanced it is."""
    policies = {
        "std": Policy(policy_type="standard"),
        "enh": Policy(policy_type="enhanced"),
        "crash": Policy(policy_type="enhanced", consistency="crash"),
    }
    ultra = [{"disk_sku": "UltraSSD_LRS"}]
    rows = scan(
        [r | ultra[0] for r in vm("a", policy="std")],
        [r | ultra[0] for r in vm("b", policy="enh")],
        [r | ultra[0] for r in vm("c", policy="crash")],
        vm("d", policy="crash", disk_sku="Premium_LRS"),
        policies=policies,
    )
    assert not rows["a"]["assigned_ok"]
    assert rows["a"]["assigned_type"] == "standard"
    assert rows["a"]["reasons"].startswith("the assigned policy std (standard)")
    assert rows["b"]["assigned_ok"]
    assert rows["c"]["assigned_type"] == "agentless"
    assert not rows["c"]["assigned_ok"]
    assert rows["d"]["assigned_ok"]
    without = scan(vm("a", policy="std"))["a"]
    assert without["assigned_policy"] == "std"
    assert without["assigned_ok"] is None


def test_the_sample_fleet_is_scanned_with_its_policies() -> None:
    """The 200-VM sample: every VM protectable under its policy; what the CSV does not say is
    listed as assumed."""
    fleet = read_fleet()
    table = scan_estate(fleet, policies=read_policies())
    assert table.height == fleet["vm_name"].n_unique()
    assert table["protectable"].all()
    assert table["assigned_ok"].all()
    assumed = scan_assumptions(fleet)
    assert any(text.startswith("security type") for text in assumed)
    assert not any(text.startswith("managed") for text in assumed)  # the CSV has the column


def test_the_azure_sample_shows_every_rule() -> None:
    """G1, G8, G11: the az JSON sample of six VMs, each showing one rule."""
    disks = read_estate_disks(
        dataset_path("azure/eligibility_vms.json"), dataset_path("azure/eligibility_disks.json")
    )
    table = scan_estate(disks)
    kinds = dict(zip(table["vm_name"], table["policy_type"], strict=True))
    assert kinds == {
        "app-tl-01": "standard",
        "db-ultra-01": "enhanced",
        "cluster-01": "enhanced",
        "cvm-01": "none",
        "web-eph-01": "none",
        "file-01": "standard",
    }


@pytest.mark.parametrize(
    ("table", "field"),
    [
        (pl.DataFrame({"vm_name": ["a"], "disk_role": ["os"]}), "allocated_gb"),
        (
            pl.DataFrame({"vm_name": ["a"], "disk_role": ["boot"], "allocated_gb": [1.0]}),
            "disk_role",
        ),
        (
            pl.DataFrame({"vm_name": ["a"], "disk_role": ["os"], "allocated_gb": [-1.0]}),
            "allocated_gb",
        ),
        (pl.DataFrame({"vm_name": ["a"], "disk_role": ["temp"], "allocated_gb": [1.0]}), "no OS"),
        (
            pl.DataFrame(
                {"vm_name": ["a"], "disk_role": ["os"], "allocated_gb": [1.0], "shared": ["yes"]}
            ),
            "shared",
        ),
    ],
)
def test_bad_tables_name_the_column(table: pl.DataFrame, field: str) -> None:
    """Bad input: a ValueError naming the column (or the table's emptiness)."""
    with pytest.raises(ValueError, match=field):
        scan_estate(table)


def test_bad_policies_are_named() -> None:
    """A policy the table names but the mapping lacks, or a mapping that is not one."""
    table = pl.DataFrame(vm(policy="gold"))
    with pytest.raises(ValueError, match="gold"):
        scan_estate(table, policies={"silver": Policy()})
    with pytest.raises(ValueError, match="policies"):
        scan_estate(table, policies=["gold"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="disks"):
        scan_estate("vms.json")  # type: ignore[arg-type]


def test_the_scan_has_the_same_columns_and_types_with_or_without_policies() -> None:
    """A scan without policies leaves the assigned policy's type and verdict blank, in columns
    of the same types as a scan with them (a report or a join reads either)."""
    table = read_estate_disks(dataset_path("azure/vms.json"), dataset_path("azure/disks.json"))
    without = scan_estate(table)
    assert without["assigned_type"].null_count() == without.height
    assert without.schema["assigned_type"] == pl.String
    assert without.schema["assigned_ok"] == pl.Boolean
