"""Room for the first backup on premium storage (item S21), per VM and per storage account.

S21: a VM on premium storage backed up with Instant Restore needs free space of at least 50% of
its total allocated storage, for the first backup only.

Interpretations:

- Per VM: the rule looks at the VM's premium OS and data disks (the temporary disk is local and
  never backed up). Free space = allocated - used; it must be at least half the allocated total.
  The shortfall is what has to be freed (or the extra allocation that would cover it: growing
  the disks by ``2 x used - allocated`` GB restores the 50%).
- Per storage account (unmanaged premium disks, whose snapshots live in the same account): the
  account's unprovisioned capacity must be at least half of what its disks allocate. The
  capacity of a premium storage account is an assumption, :data:`PREMIUM_ACCOUNT_CAPACITY_GB`
  (35 TB, Azure's documented limit for premium page-blob accounts).
- Standard disks, VMs without Instant Restore, and VMs whose first backup is done are
  ``not-applicable``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from vmbackup._checks import Column, check_frame, flag, non_negative
from vmbackup.schema import fleet_columns

__all__ = [
    "FREE_SHARE",
    "PREMIUM_ACCOUNT_CAPACITY_GB",
    "SpaceCheck",
    "account_space_check",
    "premium_space_check",
    "vm_space_check",
]

#: S21: the share of the allocated premium storage that must be free before the first backup.
FREE_SHARE = 0.5
#: Assumption: capacity of a premium (page blob) storage account [GB] (Azure limit, 35 TB).
PREMIUM_ACCOUNT_CAPACITY_GB = 35_000.0


@dataclass(frozen=True)
class SpaceCheck:
    """The S21 check of one VM.

    Attributes
    ----------
    status
        ``"ok"``, ``"short"`` or ``"not-applicable"``.
    required_free_gb, free_gb, shortfall_gb
        Free space needed (50% of allocated), free now, and the gap [GB].
    grow_by_gb
        Extra allocation that would restore 50% free without deleting data [GB].
    advice
        What to do, in a sentence.
    """

    status: str
    required_free_gb: float
    free_gb: float
    shortfall_gb: float
    grow_by_gb: float
    advice: str


def vm_space_check(
    *,
    allocated_gb: float,
    used_gb: float,
    premium: bool = True,
    instant_restore: bool = True,
    first_backup_done: bool = False,
) -> SpaceCheck:
    """S21 for one VM's premium disks taken together.

    Parameters
    ----------
    allocated_gb
        Total allocated size of the VM's premium OS and data disks [GB].
    used_gb
        Data on them [GB]; at most ``allocated_gb``.
    premium, instant_restore, first_backup_done
        The rule applies only to premium storage with Instant Restore before the first backup.

    Examples
    --------
    >>> vm_space_check(allocated_gb=1024, used_gb=700).shortfall_gb
    188.0
    >>> vm_space_check(allocated_gb=1024, used_gb=700, first_backup_done=True).status
    'not-applicable'
    """
    allocated = non_negative("allocated_gb", allocated_gb)
    used = non_negative("used_gb", used_gb)
    if used > allocated:
        raise ValueError(f"used_gb={used_gb!r} exceeds allocated_gb={allocated_gb!r}")
    applies = flag("premium", premium) and flag("instant_restore", instant_restore)
    applies = applies and not flag("first_backup_done", first_backup_done)
    frame = pl.DataFrame({"allocated_gb": [allocated], "used_gb": [used], "applies": [applies]})
    row = frame.with_columns(_space_columns()).row(0, named=True)
    return SpaceCheck(
        status=row["status"],
        required_free_gb=row["required_free_gb"],
        free_gb=row["free_gb"],
        shortfall_gb=row["shortfall_gb"],
        grow_by_gb=row["grow_by_gb"],
        advice=row["advice"],
    )


def _space_columns() -> list[pl.Expr]:
    """S21 columns from ``allocated_gb``, ``used_gb`` and ``applies``."""
    required = pl.col("allocated_gb") * FREE_SHARE
    free = pl.col("allocated_gb") - pl.col("used_gb")
    shortfall = (
        pl.when(pl.col("applies")).then((required - free).clip(lower_bound=0)).otherwise(0.0)
    )
    grow = (2 * pl.col("used_gb") - pl.col("allocated_gb")).clip(lower_bound=0)
    status = (
        pl.when(~pl.col("applies"))
        .then(pl.lit("not-applicable"))
        .when(shortfall > 0)
        .then(pl.lit("short"))
        .otherwise(pl.lit("ok"))
    )
    advice = (
        pl.when(status == "short")
        .then(
            pl.format(
                "free {} GB before the first backup (or grow the premium disks by {} GB); "
                "the 50% is needed only until the first backup completes",
                shortfall.round(1),
                grow.round(1),
            )
        )
        .when(status == "ok")
        .then(pl.lit("enough free space for the first backup"))
        .otherwise(pl.lit("the 50% rule does not apply"))
    )
    return [
        required.alias("required_free_gb"),
        free.alias("free_gb"),
        shortfall.alias("shortfall_gb"),
        pl.when(status == "short").then(grow).otherwise(0.0).alias("grow_by_gb"),
        status.alias("status"),
        advice.alias("advice"),
    ]


def premium_space_check(
    fleet: pl.DataFrame,
    *,
    instant_restore: bool = True,
    first_backup_done: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """S21 for every VM of a fleet (one row per disk in, one row per VM out).

    Parameters
    ----------
    fleet
        Disks in the sample-fleet schema (``vm_name``, ``disk_role``, ``disk_type``,
        ``allocated_gb``, ``used_gb``).
    instant_restore
        Whether the VMs' policies use Instant Restore snapshots (all current policies do).
    first_backup_done
        Optional table of ``vm_name`` and a boolean ``first_backup_done``; VMs not listed have
        not had their first backup.

    Returns
    -------
    polars.DataFrame
        Per VM: ``premium_allocated_gb``, ``premium_used_gb``, ``required_free_gb``,
        ``free_gb``, ``shortfall_gb``, ``grow_by_gb``, ``status`` and ``advice``, sorted by
        shortfall (largest first).
    """
    fleet = check_frame(
        fleet,
        fleet_columns("vm_name", "disk_role", "disk_type", "allocated_gb", "used_gb"),
        name="fleet",
        label="vm_name",
    )
    if first_backup_done is not None:
        first_backup_done = check_frame(
            first_backup_done,
            {"vm_name": Column("str"), "first_backup_done": Column("bool")},
            name="first_backup_done",
        )
    too_full = fleet.filter(pl.col("used_gb") > pl.col("allocated_gb"))
    if too_full.height:
        row = too_full.row(0, named=True)
        raise ValueError(
            f"fleet: vm_name={row['vm_name']!r}: used_gb={row['used_gb']} exceeds "
            f"allocated_gb={row['allocated_gb']}"
        )
    backed_up = fleet.filter(pl.col("disk_role") != "temp")
    per_vm = backed_up.group_by("vm_name", maintain_order=True).agg(
        allocated_gb=pl.col("allocated_gb").filter(pl.col("disk_type") == "premium").sum(),
        used_gb=pl.col("used_gb").filter(pl.col("disk_type") == "premium").sum(),
        premium=(pl.col("disk_type") == "premium").any(),
    )
    if first_backup_done is not None:
        per_vm = per_vm.join(first_backup_done, on="vm_name", how="left")
    else:
        per_vm = per_vm.with_columns(first_backup_done=pl.lit(False))
    per_vm = per_vm.with_columns(
        applies=pl.col("premium")
        & pl.lit(flag("instant_restore", instant_restore))
        & ~pl.col("first_backup_done").fill_null(False)
    )
    return (
        per_vm.with_columns(_space_columns())
        .rename({"allocated_gb": "premium_allocated_gb", "used_gb": "premium_used_gb"})
        .drop("applies", "premium", "first_backup_done")
        .sort("shortfall_gb", descending=True, maintain_order=True)
    )


def account_space_check(
    fleet: pl.DataFrame, capacity_gb: float = PREMIUM_ACCOUNT_CAPACITY_GB
) -> pl.DataFrame:
    """S21 and S22 per storage account of unmanaged disks.

    Returns one row per account: ``disks``, ``allocated_gb``, ``premium``, the S21 columns
    (for premium accounts: unprovisioned capacity must be half the allocated) and ``crowded``,
    True when 5 or more disks share the account (S22 suggests balancing at 5 to 10).
    """
    capacity = non_negative("capacity_gb", capacity_gb)
    fleet = check_frame(
        fleet,
        fleet_columns(
            "disk_role", "disk_type", "managed", "storage_account", "allocated_gb", "used_gb"
        ),
        name="fleet",
    )
    unmanaged = fleet.filter((pl.col("disk_role") != "temp") & ~pl.col("managed"))
    per_account = unmanaged.group_by("storage_account", maintain_order=True).agg(
        disks=pl.len(),
        allocated_gb=pl.col("allocated_gb").sum(),
        premium=(pl.col("disk_type") == "premium").all(),
    )
    required = pl.col("allocated_gb") * FREE_SHARE
    free = capacity - pl.col("allocated_gb")
    shortfall = (
        pl.when(pl.col("premium")).then((required - free).clip(lower_bound=0)).otherwise(0.0)
    )
    return per_account.with_columns(
        required_free_gb=required,
        free_gb=free,
        shortfall_gb=shortfall,
        status=pl.when(~pl.col("premium"))
        .then(pl.lit("not-applicable"))
        .when(shortfall > 0)
        .then(pl.lit("short"))
        .otherwise(pl.lit("ok")),
        crowded=pl.col("disks") >= 5,
    ).sort("storage_account")
