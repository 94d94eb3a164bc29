"""How long until a VM is back: every restore option, its preconditions and its time (R1, R2,
S30, G7, G10, G17, G18), for one VM or a whole estate (RTO).

The options (R1; ``backup-azure-arm-restore-vms.md``, ms.date 2025-11-24)
------------------------------------------------------------------------
``"create-vm"``
    A new VM from the recovery point, in the vault's region.
``"restore-disks"``
    The disks (and a template); the VM is then deployed from the template.
``"replace-disks"``
    The disks of the existing VM are replaced; only for unencrypted managed VMs that still
    exist, once the point's transfer to the vault has completed (the page's note on "Transfer
    Data to Vault"); Azure first takes a snapshot of the existing VM.
``"cross-region"``
    Create VM or restore disks in the paired (secondary) region (G10): needs a GRS vault with
    Cross Region Restore enabled; vault tier only (snapshots are not replicated); a point reaches
    the secondary region up to 12 h after it reached the vault (secondary RPO 36 h); its
    restore time is about that of a vault-tier restore in the primary region, into accounts
    of the secondary region, in a queue of its own. Archive (G7/G10; ``archive-tier-support.md``,
    ms.date 2023-05-25, FAQ "Is Cross Region restore supported from archive tier?"): a point in
    the archive tier cannot be restored into the paired region; restoring it in the primary
    region copies it to the standard tier of *both* regions for the rehydration duration, and
    cross-region restore from that rehydrated copy is possible (``rehydrated=True``). Every
    version of the page read (ms.date 2021-10-23, 2022-06-06, 2023-04-15, 2023-05-25) says
    so; an earlier note here ("never from archive, even rehydrated") did not. The page's other
    exception, that the secondary region's archived data becomes restorable during a region
    failure, is not modelled.
``"file-recovery"``
    Mount the point (an iSCSI script, valid 12 h after download) and copy files: the time is
    the mount plus the data copied (``backup-azure-restore-files-from-vm.md``;
    ``backup-azure-vm-file-recovery-troubleshoot.md`` for the 12 h limit). Not for
    ADE-encrypted VMs, not from archive.

Tiers (R2)
----------
A point whose Instant Restore snapshot still exists (its age is below the policy's
``instant_restore_days``, Y1/Y2) restores from the **snapshot** tier in minutes; an older one
from the **vault** tier, copied through the target storage account (:mod:`vmbackup.restore`);
an **archived** one (G7: only monthly and yearly points, at least 3 months old) is rehydrated
first: standard priority up to 15 h, high priority at most 10 GiB an hour
(``archive-rehydrate-overview.md``, ms.date 2022-08-24; ``use-archive-tier-support.md``:
Azure Backup's integrated restore rehydrates, then restores). Assumption: high priority is
never slower than standard (a point above 150 GiB takes the 15 h either way; the page gives no
standard-priority rate).

Encryption (S30; ``restore-azure-encrypted-virtual-machines.md``, ms.date 2025-08-20)
-------------------------------------------------------------------------------------
An ADE-encrypted VM restores only through ``restore-disks`` (or ``cross-region``), then a VM is
created from the disks; not ``create-vm``, ``replace-disks`` or ``file-recovery``. Its keys and
secrets come back only for a user with the permissions of :mod:`vmbackup.encryption`.

Selective disk backup (G17; ``selective-disk-backup-restore.md``, ms.date 2023-05-14)
-----------------------------------------------------------------------------------
A disk marked ``excluded`` in the fleet is left out of the VM's backup (never the OS disk: the
page says it cannot be excluded). Such a backup restores only as disks: "Backups with the disk
exclude setting ON only support the Disk restore option"; ``create-vm`` and ``replace-disks``
are blocked, ``restore-disks`` (and ``cross-region``, as a disk restore) bring back the included
disks only, and the excluded disks' data is not restored. The page's "Limitations": selective
disk backup is not supported for ADE-encrypted VMs under the **Standard** policy, but is under
the **Enhanced** one (the 2020 version of the page, ms.date 2020-07-17, excluded encrypted VMs
outright); an ADE VM under Standard with an excluded disk has no such backup to restore.

Customer-managed keys in the target (G18; ``backup-instant-restore-capability.md``, ms.date
2023-07-20)
-------------------------------------------------------------------------------------------
A point restored from its Instant Restore snapshot must go to a subscription and resource group
where no Azure Policy requires CMK-encrypted disks (``target_requires_cmk``). Azure does not fall
back to the vault tier: a point that still has its snapshot is restored from the snapshot (the
page's FAQ on "snapshot and vault" points), and that restore fails (MicrosoftDocs/azure-docs
pull request 112222, 2023-07-14, by a Microsoft author: "the restore will fail when using a
snapshot/Instant Restore recovery point"). So ``create-vm``, ``restore-disks`` and
``replace-disks`` from the snapshot tier are blocked, the finding saying what works: another
target, or a point past the policy's Instant Restore days (vault tier). The page restricts
nothing else: vault-tier, cross-region and file recovery are not affected.

Preconditions are findings, not errors
--------------------------------------
Bad *input* (an unknown option, a negative age, a VM whose policy is unknown) raises
ValueError naming the field, the value and what is allowed. An unmet *precondition* of the
service (an encrypted VM under ``create-vm``, a point too young for the secondary region) is a
**finding**: the VM's ``status`` is ``"blocked"``, its hours are null and ``findings`` names the
rule and its item; an estate is still planned for the other VMs. Notes that change the time but
do not block (a rehydration, a key restore) are findings of a VM whose status is ``"ok"``.

Assumptions (:data:`OPTION_DEFAULTS`, marked there): the time to create and boot a VM from its
disks, to restore keys, to take the pre-replace snapshot and to mount a point (Microsoft gives
none); a point reaches the vault up to 8 h after its snapshot (S11's peak lag); file copies run
at one page blob's 60 MiB/s (R3).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy.typing as npt
import polars as pl

from vmbackup._checks import (
    Column,
    check_frame,
    choice,
    flag,
    instance,
    non_negative,
    non_negative_array,
    positive,
    whole,
)
from vmbackup.encryption import ADE_OPTIONS, PERMISSIONS, SSE_OPTIONS, encryption_outcome
from vmbackup.policy import Policy
from vmbackup.restore import (
    DEFAULTS,
    MAX_ACCOUNTS,
    MB_PER_GB,
    MIB_MB,
    PLACEMENTS,
    REGION_CLASSES,
    restore_plan,
    simulate_restore,
)
from vmbackup.schema import GB_PER_GIB

__all__ = [
    "OPTIONS",
    "OPTION_DEFAULTS",
    "ORDERS",
    "REHYDRATION",
    "estate_rto",
    "restore_options",
]

OPTIONS = ("create-vm", "restore-disks", "replace-disks", "cross-region", "file-recovery")
ORDERS = ("fleet", "smallest-first", "largest-first")
REHYDRATION = ("standard", "high")
#: The options that create disks in a target resource group of the primary region (G18).
_TARGET_DISKS = ("create-vm", "restore-disks", "replace-disks")

#: Times and figures of the options [h, MB/s, GiB/h]; documented ones name their source.
OPTION_DEFAULTS: dict[str, float] = {
    # assumption: deploy and boot a VM from restored disks (ARM deployment, first boot)
    "create_vm_hours": 0.25,
    # assumption: restore the BEK (and KEK) to the key vault before the VM is created (S30)
    "key_restore_hours": 0.25,
    # assumption: the snapshot Azure takes of the existing VM before replacing its disks (R1)
    "replace_snapshot_hours": 0.1,
    # S11: a point reaches the vault up to 8 h after its snapshot at peak (worst case)
    "vault_lag_hours": 8.0,
    # G10: up to 12 h more to replicate to the secondary region (secondary RPO 36 h)
    "crr_replication_hours": 12.0,
    # G7: standard-priority rehydration takes up to 15 h (archive-rehydrate-overview.md)
    "rehydrate_standard_hours": 15.0,
    # G7: high priority rehydrates at most 10 GiB per storage account an hour (same page)
    "rehydrate_high_gib_per_hour": 10.0,
    # assumption: download and run the file-recovery script, mount the volumes (iSCSI)
    "mount_hours": 0.25,
    # R1: the file-recovery script is invalid 12 h after its download
    "mount_valid_hours": 12.0,
    # assumption: files are copied at one page blob's target, 60 MiB/s (R3)
    "file_copy_mb_s": 60 * MIB_MB,
}

_FLEET = {
    "vm_name": Column("str"),
    "used_gb": Column("float", low=0),
    "policy": Column("str"),
    "disk_role": Column("str", allowed=("os", "data", "temp"), required=False),
    "managed": Column("bool", required=False),
    "ade": Column("str", allowed=ADE_OPTIONS, required=False),
    "sse": Column("str", allowed=SSE_OPTIONS, required=False),
    "excluded": Column("bool", required=False),
}


def _settings(overrides: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """Split ``overrides`` into option figures (checked) and engine overrides (for
    :func:`vmbackup.restore.restore_plan`, which checks them)."""
    unknown = set(overrides) - set(OPTION_DEFAULTS) - set(DEFAULTS)
    if unknown:
        allowed = [*OPTION_DEFAULTS, *DEFAULTS]
        raise ValueError(f"unknown option(s) {sorted(unknown)}; choose from {allowed}")
    figures = OPTION_DEFAULTS | {k: v for k, v in overrides.items() if k in OPTION_DEFAULTS}
    for name, value in figures.items():
        if name in ("file_copy_mb_s", "rehydrate_high_gib_per_hour", "mount_valid_hours"):
            figures[name] = positive(name, value, high=1e6)
        else:
            figures[name] = non_negative(name, value, high=24 * 365)
    if figures["mount_hours"] >= figures["mount_valid_hours"]:
        raise ValueError(
            f"mount_hours={figures['mount_hours']} must be below mount_valid_hours="
            f"{figures['mount_valid_hours']} (a mount must leave time to copy)"
        )
    engine = {k: v for k, v in overrides.items() if k in DEFAULTS}
    return figures, engine


def _vms(fleet: pl.DataFrame, policies: Mapping[str, Policy]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The checked disks to restore (temporary and excluded disks dropped) and one row per VM
    (first-appearance order): data, disks, policy's Instant Restore days and type, managed,
    ADE, SSE, excluded disks (G17)."""
    frame = check_frame(fleet, _FLEET, name="fleet", label="vm_name")
    if "disk_role" in frame.columns:
        frame = frame.filter(pl.col("disk_role") != "temp")
    if "excluded" not in frame.columns:
        frame = frame.with_columns(excluded=pl.lit(False))
    elif "disk_role" not in frame.columns:
        raise ValueError(
            "fleet: an 'excluded' column needs 'disk_role' (G17: the OS disk cannot be excluded)"
        )
    else:
        excluded_os = frame.filter(pl.col("excluded") & (pl.col("disk_role") == "os"))
        if excluded_os.height:
            raise ValueError(
                f"fleet: VM {excluded_os['vm_name'][0]!r}: disk_role='os' with excluded=True; "
                "the OS disk is always in the backup (G17, selective-disk-backup-restore.md)"
            )
    if frame.height == 0:
        raise ValueError("fleet holds no OS or data disk to restore")
    if not isinstance(policies, Mapping) or not policies:
        raise ValueError(f"policies={policies!r:.60} must be a mapping of names to Policy")
    for name, policy in policies.items():
        instance(f"policies[{name!r}]", policy, Policy, "a vmbackup.policy.Policy")
    unknown = frame.filter(~pl.col("policy").is_in(list(policies)))
    if unknown.height:
        row = unknown.row(0, named=True)
        raise ValueError(
            f"fleet: VM {row['vm_name']!r}: policy={row['policy']!r} is not among the policies "
            f"given; allowed: {sorted(policies)}"
        )
    days = {name: policy.instant_restore_days for name, policy in policies.items()}
    enhanced = {name: policy.policy_type == "enhanced" for name, policy in policies.items()}
    included = ~pl.col("excluded")
    return frame.filter(included), frame.group_by("vm_name", maintain_order=True).agg(
        data_gb=pl.col("used_gb").filter(included).sum(),
        disks=included.sum().cast(pl.UInt32),
        excluded_disks=pl.col("excluded").sum().cast(pl.UInt32),
        instant_restore_days=pl.col("policy").first().replace_strict(days, return_dtype=pl.Int64),
        enhanced=pl.col("policy").first().replace_strict(enhanced, return_dtype=pl.Boolean),
        managed=pl.col("managed").all() if "managed" in frame.columns else pl.lit(True),
        ade=pl.col("ade").first() if "ade" in frame.columns else pl.lit("none"),
        sse=pl.col("sse").first() if "sse" in frame.columns else pl.lit("platform-key"),
    )


def _missing_permissions(vms: pl.DataFrame, permissions: Iterable[str]) -> pl.Series:
    """What each VM's recovery needs that the user lacks (S30), "" when nothing; one call of
    :func:`vmbackup.encryption.encryption_outcome` per encryption combination, not per VM."""
    combos = vms.select("sse", "ade", "managed").unique()
    granted = tuple(permissions)
    rows = []
    for sse, ade, managed in combos.iter_rows():
        disks = "managed" if managed else "unmanaged"
        outcome = encryption_outcome(sse=sse, ade=ade, disks=disks, permissions=granted)
        why = (
            outcome.reasons[0].removeprefix("S30: ")
            if not outcome.supported
            else ", ".join(outcome.missing_permissions)
        )
        rows.append({"sse": sse, "ade": ade, "managed": managed, "lacking": why})
    schema = {"sse": pl.String, "ade": pl.String, "managed": pl.Boolean, "lacking": pl.String}
    table = pl.DataFrame(rows, schema=schema)
    return vms.join(table, on=["sse", "ade", "managed"], how="left")["lacking"]


def _reasons(option: str, **flags: pl.Expr) -> list[pl.Expr]:
    """The blocking findings of ``option`` as string expressions (null where a rule holds)."""
    e = flags

    def rule(condition: pl.Expr, text: str | pl.Expr) -> pl.Expr:
        value = text if isinstance(text, pl.Expr) else pl.lit(text)
        return pl.when(condition).then(value)

    lacking = rule(
        pl.col("lacking") != "",
        pl.format("S30: the user lacks {} to recover this VM", pl.col("lacking")),
    )
    ade = pl.col("ade") != "none"
    selective = pl.col("excluded_disks") > 0
    rules = [
        lacking,
        rule(
            selective & ade & ~pl.col("enhanced"),
            "G17: selective disk backup is not supported for ADE-encrypted VMs under the "
            "Standard policy (only under Enhanced): this VM has no backup that excludes disks",
        ),
    ]
    if option in _TARGET_DISKS:
        rules.append(
            rule(
                e["cmk_target"] & (pl.col("tier") == "snapshot"),
                pl.format(
                    "G18: the point still has its Instant Restore snapshot, and a restore from "
                    "it fails where an Azure Policy requires customer-managed-key disks (Azure "
                    "does not fall back to the vault); restore into a subscription and resource "
                    "group without that policy, or use a point at least {} days old (vault tier)",
                    pl.col("instant_restore_days"),
                ),
            )
        )
    if option == "create-vm":
        rules += [
            rule(
                ade,
                "S30/R1: an ADE-encrypted VM cannot be created from a point; use restore-disks, "
                "then create the VM from the disks",
            ),
            rule(
                selective,
                "G17: a backup that excludes disks restores only as disks (no create-VM); use "
                "restore-disks",
            ),
        ]
    if option == "replace-disks":
        rules += [
            rule(
                selective,
                "G17: a backup that excludes disks restores only as disks (no replace-existing); "
                "use restore-disks",
            ),
            rule(ade, "R1: replace existing is only for unencrypted VMs"),
            rule(~pl.col("managed"), "R1: replace existing is only for managed disks"),
            rule(~e["vm_exists"], "R1: replace existing needs the VM to still exist"),
            rule(
                ~e["in_vault"],
                "R1/S11: replace existing waits until the point's transfer to the vault has "
                "completed",
            ),
        ]
    if option == "cross-region":
        rules += [
            rule(
                ~e["crr_enabled"],
                "G10: cross-region restore needs a GRS vault with Cross Region Restore enabled",
            ),
            rule(
                e["archived"] & ~e["rehydrated"],
                "G7/G10: no cross-region restore from the archive tier; a restore in the primary "
                "region rehydrates the point into both regions' standard tier, and cross-region "
                "restore from that rehydrated copy works (rehydrated=True)",
            ),
            rule(
                ~e["replicated"],
                "G10: the point is not yet in the secondary region (up to 12 h after it "
                "reached the vault)",
            ),
        ]
    if option == "file-recovery":
        rules += [
            rule(ade, "R1: file recovery is not supported for ADE-encrypted VMs"),
            rule(
                e["archived"],
                "G7: file recovery cannot read an archived point (the page names no exception "
                "for a rehydrated one)",
            ),
        ]
    return rules


def estate_rto(
    fleet: pl.DataFrame,
    policies: Mapping[str, Policy],
    *,
    option: str = "create-vm",
    recovery_point_age_days: float = 1.0,
    accounts: int = 1,
    placement: str = "per-vm",
    background_load: npt.ArrayLike = 0.0,
    region_class: str = "major",
    order: str = "fleet",
    archived: bool = False,
    rehydration: str = "standard",
    vms_exist: bool = True,
    cross_region_enabled: bool = False,
    permissions: Iterable[str] = PERMISSIONS,
    files_gb: float = 10.0,
    alone: bool = True,
    rehydrated: bool = False,
    target_requires_cmk: bool = False,
    **overrides: Any,
) -> pl.DataFrame:
    """Time until each VM of an estate is usable again (RTO), all restored at once.

    Every VM restores the point ``recovery_point_age_days`` old with ``option``: the vault
    queues the jobs (``order``), vault-tier jobs share their target accounts (``placement``,
    ``accounts``, ``background_load``, ``region_class``), snapshot-tier jobs take minutes,
    archived points are rehydrated first, and each VM then needs the option's finishing steps.
    A VM alone (its own idle account, no queue) gives ``alone_hours``.

    Parameters
    ----------
    fleet
        One row per disk: ``vm_name``, ``used_gb`` [GB], ``policy`` (a key of ``policies``);
        optional ``disk_role`` (temporary disks are not restored), ``managed`` (default True),
        ``ade`` (``"none"``, ``"bek"``, ``"bek-kek"``) and ``sse`` (``"platform-key"``,
        ``"customer-key"``), the first row of a VM giving its value, and ``excluded`` (the
        disk is left out of the backup, G17; needs ``disk_role``, never the OS disk).
    policies
        Policy name -> :class:`vmbackup.policy.Policy`: its ``instant_restore_days`` says
        whether the point still has its snapshot (R2).
    option
        One of :data:`OPTIONS` (see the module notes).
    recovery_point_age_days
        Age of the point restored [days] (1.0: at most a day old, the newest point of a daily
        policy).
    accounts, placement, background_load, region_class
        The target storage accounts (:func:`vmbackup.restore.restore_plan`; S19, S20, S22, R3).
    order
        Queue order: ``"fleet"`` (as listed), ``"smallest-first"`` or ``"largest-first"``
        (by data to restore).
    archived, rehydration
        Whether the point is in the archive tier (G7; it is then at least 93 days old) and the
        rehydration priority, ``"standard"`` or ``"high"``.
    vms_exist
        Whether the original VMs still exist (``replace-disks`` needs them).
    cross_region_enabled
        Whether the vault is GRS with Cross Region Restore enabled (G10).
    permissions
        What the restoring user may do (:data:`vmbackup.encryption.PERMISSIONS`, all by
        default; S30).
    files_gb
        Data copied per VM by ``file-recovery`` [GB].
    alone
        Whether to compute ``alone_hours`` (a second simulation, about as long as the first;
        False leaves it null, for very large estates).
    rehydrated
        With ``archived``: the point was already rehydrated (restored once in the primary
        region, its standard-tier copy within the rehydration duration): it restores from the
        vault tier without waiting, cross-region too (G10).
    target_requires_cmk
        Whether an Azure Policy of the target subscription or resource group requires
        customer-managed-key disks: a restore from an Instant Restore snapshot fails there
        (G18).
    overrides
        Any of :data:`OPTION_DEFAULTS` or :data:`vmbackup.restore.DEFAULTS`.

    Returns
    -------
    polars.DataFrame
        One row per VM, in fleet order: ``vm_name``, ``option``, ``status`` (``"ok"`` or
        ``"blocked"``), ``tier`` (``"snapshot"``, ``"vault"`` or ``"archive"``), ``order``
        (place in the vault's queue, from 1), ``account`` (the target account of a vault-tier
        restore; null from a snapshot, which writes no staging account), ``data_gb``,
        ``rehydrate_hours``, ``start_hours`` (the vault takes the job), ``end_hours`` (the data
        is restored),
        ``finish_hours`` (steps after the copy), ``rto_hours`` (usable), ``alone_hours``
        (usable, were it restored alone) and ``findings`` (why a VM is blocked, or notes such
        as G17's "only the included disks"); hours are null for a blocked VM. ``data_gb``
        counts the included disks only.

    Examples
    --------
    How ``python -m vmbackup plan`` can print it (the sample fleet, a 3-day-old point: past
    the Standard policy's 2 days of snapshots, within the others'; one account per VM):

    >>> from vmbackup.data import read_fleet, read_policies
    >>> rto = estate_rto(read_fleet(), read_policies(), recovery_point_age_days=3)
    >>> ok = rto.filter(pl.col("status") == "ok")
    >>> print(f"RTO (create-vm, 3-day-old point): median {ok['rto_hours'].median():.2f} h, "
    ...       f"last VM {ok['rto_hours'].max():.2f} h; "
    ...       f"{(ok['tier'] == 'snapshot').sum()} of {rto.height} VMs from snapshots")
    RTO (create-vm, 3-day-old point): median 0.87 h, last VM 14.75 h; 50 of 200 VMs from snapshots
    >>> for row in ok.sort("rto_hours", descending=True).head(3).iter_rows(named=True):
    ...     print(f"  {row['vm_name']}: {row['rto_hours']:.2f} h from the {row['tier']} tier "
    ...           f"({row['data_gb']:,.0f} GB)")
      vm-lnx-110: 14.75 h from the vault tier (5,352 GB)
      vm-lnx-081: 13.54 h from the vault tier (3,622 GB)
      vm-win-023: 12.35 h from the vault tier (4,845 GB)
    """
    kind = choice("option", option, OPTIONS)
    figures, engine = _settings(overrides)
    disks, vms = _vms(fleet, policies)
    age_days = non_negative("recovery_point_age_days", recovery_point_age_days, high=36_500)
    in_archive = flag("archived", archived)
    if in_archive and age_days < 93:
        raise ValueError(
            f"recovery_point_age_days={recovery_point_age_days!r} with archived=True: an "
            "archived point is at least 93 days old (G7: 3 months in the standard tier first)"
        )
    priority = choice("rehydration", rehydration, REHYDRATION)
    thawed = flag("rehydrated", rehydrated)
    if thawed and not in_archive:
        raise ValueError(
            "rehydrated=True with archived=False: only an archived point is rehydrated (G7/G10)"
        )
    cmk_target = flag("target_requires_cmk", target_requires_cmk)
    exist = flag("vms_exist", vms_exist)
    crr = flag("cross_region_enabled", cross_region_enabled)
    if isinstance(permissions, str | bytes) or not isinstance(permissions, Iterable):
        raise ValueError(f"permissions={permissions!r:.60} must be a list of permission names")
    granted = tuple(choice("permissions", p, PERMISSIONS) for p in permissions)
    files = non_negative("files_gb", files_gb)
    with_alone = flag("alone", alone)
    queue_order = choice("order", order, ORDERS)
    choice("placement", placement, PLACEMENTS)
    choice("region_class", region_class, REGION_CLASSES)
    whole("accounts", accounts, 1, MAX_ACCOUNTS)
    load = non_negative_array("background_load", background_load)
    if (load >= 1).any():
        raise ValueError(f"background_load={load.max()} must be below 1 (a share of capacity)")

    age_hours = age_days * 24
    in_vault = age_hours >= figures["vault_lag_hours"]
    replicated = age_hours >= figures["vault_lag_hours"] + figures["crr_replication_hours"]
    vms = vms.with_columns(lacking=_missing_permissions(vms, granted))
    snapshot = (pl.col("instant_restore_days") > age_days) & pl.lit(not in_archive)
    if kind == "cross-region":
        tier = pl.lit("vault")
    else:
        tier = pl.when(snapshot).then(pl.lit("snapshot"))
        tier = tier.otherwise(pl.lit("archive" if in_archive and not thawed else "vault"))
    rules = _reasons(
        kind,
        vm_exists=pl.lit(exist),
        in_vault=pl.lit(in_vault),
        crr_enabled=pl.lit(crr),
        archived=pl.lit(in_archive),
        rehydrated=pl.lit(thawed),
        replicated=pl.lit(replicated),
        cmk_target=pl.lit(cmk_target),
    )
    blocking = pl.concat_list(rules).list.drop_nulls()
    standard = figures["rehydrate_standard_hours"]
    if priority == "standard":
        rehydrate: pl.Expr = pl.lit(standard)
    else:  # at the documented 10 GiB an hour, and never assumed slower than standard
        gib = pl.col("data_gb") / GB_PER_GIB
        rehydrate = pl.min_horizontal(gib / figures["rehydrate_high_gib_per_hour"], standard)
    rehydrate = pl.when(pl.col("tier") == "archive").then(rehydrate).otherwise(0.0)
    encrypted = pl.col("ade") != "none"
    key_step = pl.when(encrypted).then(figures["key_restore_hours"]).otherwise(0.0)
    finish = {
        "create-vm": pl.lit(figures["create_vm_hours"]),
        "restore-disks": figures["create_vm_hours"] + key_step,
        "replace-disks": pl.lit(figures["create_vm_hours"]),
        "cross-region": figures["create_vm_hours"] + key_step,
        "file-recovery": pl.lit(0.0),
    }[kind]
    snapshot_tier = pl.col("tier") == "snapshot"
    notes = pl.concat_list(
        pl.when(pl.col("tier") == "archive").then(
            pl.format(
                "G7: the archived point is rehydrated first ({} priority, {} h)",
                pl.lit(priority),
                pl.col("rehydrate_hours").round(2),
            )
        ),
        pl.when(encrypted & pl.lit(kind in ("restore-disks", "cross-region"))).then(
            pl.lit("S30: keys and secrets are restored to the key vault before the VM")
        ),
        pl.when(pl.lit(kind == "replace-disks")).then(
            pl.lit("R1: Azure first snapshots the existing VM")
        ),
        pl.when(pl.lit(thawed)).then(
            pl.lit("G7/G10: restored from the rehydrated copy in the standard tier, no wait")
        ),
        pl.when((pl.col("excluded_disks") > 0) & pl.lit(kind != "file-recovery")).then(
            pl.format(
                "G17: the backup excludes {} disk(s): only the included disks are restored, "
                "as disks; create-vm and replace-disks are not possible",
                pl.col("excluded_disks"),
            )
        ),
        pl.when((pl.col("excluded_disks") > 0) & pl.lit(kind == "file-recovery")).then(
            pl.lit("G17: files come only from the disks included in the backup")
        ),
        pl.when(pl.lit(cmk_target and kind in _TARGET_DISKS) & ~snapshot_tier).then(
            pl.lit(
                "G18: the target requires CMK disks; the page restricts only Instant Restore "
                "(snapshot) points, and this one restores from the vault tier"
            )
        ),
    ).list.drop_nulls()
    vms = (
        vms.with_columns(tier=tier)
        .with_columns(blocking=blocking)
        .with_columns(
            status=pl.when(pl.col("blocking").list.len() > 0)
            .then(pl.lit("blocked"))
            .otherwise(pl.lit("ok")),
            rehydrate_hours=rehydrate,
            finish_hours=finish,
        )
        .with_columns(
            findings=pl.when(pl.col("status") == "blocked")
            .then(pl.col("blocking"))
            .otherwise(notes)
            .list.join("; "),
            ready_hours=pl.col("rehydrate_hours")
            + (figures["replace_snapshot_hours"] if kind == "replace-disks" else 0.0),
        )
    )
    allowed = vms.filter(pl.col("status") == "ok").with_row_index("fleet_index")
    if queue_order != "fleet":
        largest = queue_order == "largest-first"
        allowed = allowed.sort("data_gb", "fleet_index", descending=[largest, False])
    allowed = allowed.with_columns(order=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    timed = _timeline(
        allowed,
        disks,
        kind,
        figures,
        engine,
        files_gb=files,
        accounts=accounts,
        placement=placement,
        background_load=background_load,
        region_class=region_class,
        alone=with_alone,
    )
    result = vms.join(timed, on="vm_name", how="left", maintain_order="left")
    ok = pl.col("status") == "ok"
    return result.select(
        "vm_name",
        pl.lit(kind).alias("option"),
        "status",
        "tier",
        "order",
        "account",
        "data_gb",
        pl.when(ok).then(pl.col("rehydrate_hours")).alias("rehydrate_hours"),
        "start_hours",
        "end_hours",
        pl.when(ok).then(pl.col("finish_hours")).alias("finish_hours"),
        (pl.col("end_hours") + pl.col("finish_hours")).alias("rto_hours"),
        (pl.col("alone_end_hours") + pl.col("finish_hours")).alias("alone_hours"),
        "findings",
    )


def _timeline(
    allowed: pl.DataFrame,
    disks: pl.DataFrame,
    kind: str,
    figures: dict[str, float],
    engine: dict[str, Any],
    *,
    files_gb: float,
    accounts: int,
    placement: str,
    background_load: npt.ArrayLike,
    region_class: str,
    alone: bool,
) -> pl.DataFrame:
    """Start and end of each allowed VM's restore, in the estate and alone [h]."""
    schema = {
        "vm_name": pl.String,
        "order": pl.Int64,
        "account": pl.Int64,
        "start_hours": pl.Float64,
        "end_hours": pl.Float64,
        "alone_end_hours": pl.Float64,
    }
    if allowed.height == 0:
        return pl.DataFrame(schema=schema)
    if kind == "file-recovery":
        copy_hours = files_gb * MB_PER_GB / figures["file_copy_mb_s"] / 3600
        window = figures["mount_valid_hours"] - figures["mount_hours"]
        mounts = max(1, math.ceil(copy_hours / window - 1e-12))
        end = mounts * figures["mount_hours"] + copy_hours
        return allowed.select(
            "vm_name",
            "order",
            pl.lit(None, dtype=pl.Int64).alias("account"),
            pl.lit(0.0).alias("start_hours"),
            pl.lit(end).alias("end_hours"),
            pl.lit(end).alias("alone_end_hours"),
        )
    per_vm = allowed.select(
        "vm_name",
        "order",
        pl.when(pl.col("tier") == "snapshot")
        .then(pl.lit("snapshot"))
        .otherwise(pl.lit("vault"))
        .alias("tier"),
        "ready_hours",
    )
    disks = per_vm.join(
        disks.select("vm_name", "used_gb"), on="vm_name", how="inner", maintain_order="left"
    )
    plan = restore_plan(
        disks,
        placement=placement,
        accounts=accounts,
        background_load=background_load,
        region_class=region_class,
        **engine,
    )
    estate = simulate_restore(plan)
    alone_end: pl.Series | pl.Expr = pl.lit(None, dtype=pl.Float64)
    if alone:  # each VM in an account of its own (with its account's load), no queue
        own_load = plan.account_load[plan.vm_account]
        alone_engine = engine | {"vault_concurrency": max(1, len(plan.vm_names))}
        alone_plan = restore_plan(
            disks,
            placement="round-robin",
            accounts=len(plan.vm_names),
            background_load=own_load,
            region_class=region_class,
            **alone_engine,
        )
        alone_end = simulate_restore(alone_plan)["end_hours"]
    vault = per_vm["tier"] == "vault"  # a snapshot-tier restore writes no staging account
    return per_vm.select("vm_name", "order").with_columns(
        account=estate["account"].zip_with(vault, pl.Series([None], dtype=pl.Int64)),
        start_hours=estate["start_hours"],
        end_hours=estate["end_hours"],
        alone_end_hours=alone_end,
    )


def restore_options(
    vm_disks: pl.DataFrame,
    policies: Mapping[str, Policy],
    *,
    options: Sequence[str] = OPTIONS,
    **kwargs: Any,
) -> pl.DataFrame:
    """Every restore option for one VM: its tier, status, findings and RTO (R1, R2).

    Parameters
    ----------
    vm_disks
        The disks of one VM (the columns of :func:`estate_rto`'s ``fleet``).
    policies
        Policy name -> Policy.
    options
        The options to compare (:data:`OPTIONS` by default).
    kwargs
        Any keyword of :func:`estate_rto` (``recovery_point_age_days``, ``archived``, ...).

    Returns
    -------
    polars.DataFrame
        One row per option: the columns of :func:`estate_rto`.
    """
    checked = check_frame(vm_disks, _FLEET, name="vm_disks", label="vm_name")
    count = checked["vm_name"].n_unique()
    if count != 1:
        raise ValueError(f"vm_disks holds {count} VMs; give the disks of one VM")
    if isinstance(options, str) or not isinstance(options, Sequence) or not options:
        raise ValueError(f"options={options!r:.60} must be a list of {list(OPTIONS)}")
    chosen = [choice("options", o, OPTIONS) for o in options]
    return pl.concat([estate_rto(vm_disks, policies, option=o, **kwargs) for o in chosen])
