"""Restore options under today's rules: selective-disk backups restore only as disks (G17),
rehydrated archive points restore cross-region (G10), and an Instant Restore point cannot be
restored where an Azure Policy requires customer-managed-key disks (G18)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from vmbackup.policy import Policy
from vmbackup.restore import DEFAULTS
from vmbackup.restore_options import OPTION_DEFAULTS, estate_rto, restore_options

POLICIES = {"std": Policy(name="std"), "enh": Policy(name="enh", policy_type="enhanced")}
BLOB = DEFAULTS["disk_throughput_mb_s"]
SNAPSHOT = DEFAULTS["snapshot_restore_hours"]
CREATE = OPTION_DEFAULTS["create_vm_hours"]
KEYS = OPTION_DEFAULTS["key_restore_hours"]


def vm(
    *sizes_gb: float, excluded: tuple[bool, ...] | None = None, policy: str = "std", **columns: Any
) -> pl.DataFrame:
    """One VM's disks (the first is the OS disk); ``excluded`` marks disks left out (G17)."""
    frame = pl.DataFrame(
        {
            "vm_name": ["vm0"] * len(sizes_gb),
            "used_gb": list(sizes_gb),
            "policy": [policy] * len(sizes_gb),
            "disk_role": ["os"] + ["data"] * (len(sizes_gb) - 1),
        }
    )
    if excluded is not None:
        frame = frame.with_columns(excluded=pl.Series(excluded))
    return frame.with_columns(**{k: pl.lit(v) for k, v in columns.items()})


def one(frame: pl.DataFrame, **kwargs: Any) -> dict[str, Any]:
    return estate_rto(frame, POLICIES, **kwargs).row(0, named=True)


def copy_hours(gb: float) -> float:
    return gb * 1000 / BLOB / 3600


SELECTIVE = vm(300.0, 500.0, excluded=(False, True))


# --- G17: a backup that excludes disks restores only as disks --------------------------------


@pytest.mark.parametrize("option", ["create-vm", "replace-disks"])
def test_g17_a_backup_that_excludes_disks_cannot_create_or_replace_a_vm(option: str) -> None:
    """G17: with a disk excluded, neither create-VM nor replace-existing is offered, and the
    finding says why and what to use."""
    row = one(SELECTIVE, option=option, recovery_point_age_days=3)
    assert row["status"] == "blocked"
    assert row["rto_hours"] is None
    assert "G17: a backup that excludes disks restores only as disks" in row["findings"]
    assert "use restore-disks" in row["findings"]


def test_g17_restore_disks_brings_back_the_included_disks_only() -> None:
    """G17: restore-disks works; only the 300 GB OS disk comes back (the excluded 500 GB data
    disk is not in the point), so the vault-tier copy takes the OS disk's time."""
    row = one(SELECTIVE, option="restore-disks", recovery_point_age_days=3)
    assert (row["status"], row["tier"], row["data_gb"]) == ("ok", "vault", 300.0)
    assert row["rto_hours"] == pytest.approx(copy_hours(300.0) + CREATE)
    assert (
        "G17: the backup excludes 1 disk(s): only the included disks are restored"
        in (row["findings"])
    )
    whole = one(vm(300.0, 500.0), option="restore-disks", recovery_point_age_days=3)
    assert whole["data_gb"] == 800.0
    assert whole["findings"] == ""


def test_g17_every_option_of_a_selective_backup() -> None:
    """G17: of the five options, the disk restores (primary and secondary region) and file
    recovery remain; create-vm and replace-disks are blocked."""
    table = restore_options(
        SELECTIVE, POLICIES, recovery_point_age_days=3, cross_region_enabled=True
    )
    status = dict(zip(table["option"], table["status"], strict=True))
    assert status == {
        "create-vm": "blocked",
        "restore-disks": "ok",
        "replace-disks": "blocked",
        "cross-region": "ok",
        "file-recovery": "ok",
    }
    files = table.filter(pl.col("option") == "file-recovery")["findings"][0]
    assert files == "G17: files come only from the disks included in the backup"


def test_g17_no_disk_excluded_is_a_whole_vm_backup() -> None:
    """G17 at its edge: an ``excluded`` column that excludes nothing changes nothing."""
    kept = one(vm(300.0, 500.0, excluded=(False, False)), recovery_point_age_days=3)
    plain = one(vm(300.0, 500.0), recovery_point_age_days=3)
    assert kept == plain
    assert kept["status"] == "ok"


def test_g17_selective_backup_of_an_ade_vm_needs_the_enhanced_policy() -> None:
    """G17: under Standard an ADE-encrypted VM cannot have a backup that excludes disks (every
    option blocked, saying why); under Enhanced it can, and restores as disks."""
    standard = restore_options(
        vm(300.0, 500.0, excluded=(False, True), ade="bek"), POLICIES, recovery_point_age_days=10
    )
    assert set(standard["status"]) == {"blocked"}
    rule = "G17: selective disk backup is not supported for ADE-encrypted VMs under the Standard"
    assert all(rule in findings for findings in standard["findings"])
    enhanced = one(
        vm(300.0, 500.0, excluded=(False, True), ade="bek", policy="enh"),
        option="restore-disks",
        recovery_point_age_days=10,
    )
    assert (enhanced["status"], enhanced["data_gb"]) == ("ok", 300.0)
    assert enhanced["rto_hours"] == pytest.approx(copy_hours(300.0) + CREATE + KEYS)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            vm(300.0, 500.0, excluded=(True, False)),
            "VM 'vm0': disk_role='os' with excluded=True; the OS disk is always in the backup",
        ),
        (
            vm(300.0, excluded=(False,)).drop("disk_role"),
            "an 'excluded' column needs 'disk_role'",
        ),
        (
            vm(300.0).with_columns(excluded=pl.lit("yes")),
            "excluded",
        ),
    ],
)
def test_g17_bad_exclusions_are_named(frame: pl.DataFrame, message: str) -> None:
    """G17: the OS disk cannot be excluded; an exclusion needs the disks' roles."""
    with pytest.raises(ValueError, match=message):
        estate_rto(frame, POLICIES)


# --- G10: cross-region restore from a rehydrated archive point --------------------------------


def test_g10_an_archived_point_restores_cross_region_only_once_rehydrated() -> None:
    """G10/G7: in the archive tier a point cannot go to the paired region; rehydrated (by a
    restore in the primary region) it restores from the standard tier like any vault point."""
    kwargs: dict[str, Any] = {
        "option": "cross-region",
        "cross_region_enabled": True,
        "recovery_point_age_days": 200,
    }
    frozen = one(vm(100.0), archived=True, **kwargs)
    assert frozen["status"] == "blocked"
    assert "no cross-region restore from the archive tier" in frozen["findings"]
    thawed = one(vm(100.0), archived=True, rehydrated=True, **kwargs)
    assert (thawed["status"], thawed["tier"], thawed["rehydrate_hours"]) == ("ok", "vault", 0.0)
    assert thawed["rto_hours"] == pytest.approx(copy_hours(100.0) + CREATE)
    assert thawed["rto_hours"] == pytest.approx(one(vm(100.0), **kwargs)["rto_hours"])
    assert "restored from the rehydrated copy" in thawed["findings"]


def test_g10_a_rehydrated_point_skips_the_rehydration_wait_in_the_primary_region() -> None:
    """G7/G10: the same archived point, already rehydrated, restores 15 h sooner (the standard
    priority's wait)."""
    archived = one(vm(100.0), archived=True, recovery_point_age_days=200)
    rehydrated = one(vm(100.0), archived=True, rehydrated=True, recovery_point_age_days=200)
    assert (archived["tier"], rehydrated["tier"]) == ("archive", "vault")
    assert archived["rto_hours"] - rehydrated["rto_hours"] == pytest.approx(15.0)


def test_g10_file_recovery_still_cannot_read_an_archived_point() -> None:
    """G7: the page names no exception for a rehydrated point: file recovery stays blocked."""
    row = one(
        vm(100.0),
        option="file-recovery",
        archived=True,
        rehydrated=True,
        recovery_point_age_days=200,
    )
    assert row["status"] == "blocked"
    assert "file recovery cannot read an archived point" in row["findings"]


def test_g10_only_an_archived_point_is_rehydrated() -> None:
    """G10: rehydrated without archived is bad input, named."""
    with pytest.raises(ValueError, match="rehydrated=True with archived=False"):
        estate_rto(vm(100.0), POLICIES, rehydrated=True)
    with pytest.raises(ValueError, match="rehydrated='yes' must be True or False"):
        estate_rto(vm(100.0), POLICIES, archived=True, rehydrated="yes", recovery_point_age_days=99)


# --- G18: customer-managed keys required in the target ----------------------------------------


@pytest.mark.parametrize("option", ["create-vm", "restore-disks", "replace-disks"])
def test_g18_a_snapshot_point_cannot_be_restored_where_cmk_disks_are_required(option: str) -> None:
    """G18: Standard keeps snapshots 2 days; a 1.99-day-old point restores from its snapshot,
    which fails in a CMK-only target: blocked, saying the vault tier starts at 2 days."""
    row = one(vm(100.0), option=option, recovery_point_age_days=1.99, target_requires_cmk=True)
    assert (row["status"], row["tier"], row["rto_hours"]) == ("blocked", "snapshot", None)
    assert "G18: the point still has its Instant Restore snapshot" in row["findings"]
    assert "Azure does not fall back to the vault" in row["findings"]
    assert "use a point at least 2 days old (vault tier)" in row["findings"]
    free = one(vm(100.0), option=option, recovery_point_age_days=1.99)
    assert (free["status"], free["tier"]) == ("ok", "snapshot")


@pytest.mark.parametrize("option", ["create-vm", "restore-disks", "replace-disks"])
def test_g18_a_vault_point_restores_into_a_cmk_target(option: str) -> None:
    """G18 at its edge: a 2-day-old Standard point has no snapshot left; it restores from the
    vault tier into the CMK-only target, in the time it takes anywhere."""
    row = one(vm(100.0), option=option, recovery_point_age_days=2.0, target_requires_cmk=True)
    free = one(vm(100.0), option=option, recovery_point_age_days=2.0)
    assert (row["status"], row["tier"]) == ("ok", "vault")
    assert row["rto_hours"] == pytest.approx(free["rto_hours"])
    assert "G18: the target requires CMK disks" in row["findings"]


def test_g18_the_enhanced_policys_snapshot_days_decide() -> None:
    """G18: under Enhanced (Instant Restore days of the policy) the finding names its days."""
    days = POLICIES["enh"].instant_restore_days
    row = one(vm(100.0, policy="enh"), recovery_point_age_days=days - 0.5, target_requires_cmk=True)
    assert row["status"] == "blocked"
    assert f"use a point at least {days} days old" in row["findings"]


@pytest.mark.parametrize("option", ["cross-region", "file-recovery"])
def test_g18_does_not_touch_restores_that_create_no_disk_from_a_snapshot(option: str) -> None:
    """G18: cross-region restores come from the vault tier and file recovery mounts the point:
    the CMK requirement of the primary target changes neither."""
    kwargs = {"option": option, "cross_region_enabled": True, "recovery_point_age_days": 1.0}
    row = one(vm(100.0), target_requires_cmk=True, **kwargs)
    free = one(vm(100.0), **kwargs)
    assert row["status"] == free["status"] == "ok"
    assert row["rto_hours"] == pytest.approx(free["rto_hours"])
    assert row["findings"] == free["findings"]  # nothing said of G18 where it does not apply


def test_g18_the_flag_is_checked() -> None:
    """G18: a flag that is not a bool is named."""
    with pytest.raises(ValueError, match="target_requires_cmk='no' must be True or False"):
        estate_rto(vm(100.0), POLICIES, target_requires_cmk="no")
