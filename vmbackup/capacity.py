"""Room for the first backup on premium storage: S21 as the seed states it, G15 as Microsoft
scopes it today; per VM and per storage account.

Two rule sets (:data:`SPACE_RULES`, named like :data:`vmbackup.policy.POLICY_RULES`):

``"seed"`` (S21, what the course teaches)
    A VM on premium storage backed up with Instant Restore needs free space of at least 50% of
    its total allocated premium storage, for the first backup only. Per VM: the rule looks at
    the VM's premium OS and data disks, managed or not (the temporary disk is local and never
    backed up). Free space = allocated - used; it must be at least half the allocated total.
    The shortfall is what has to be freed (or the extra allocation that would cover it: growing
    the disks by ``2 x used - allocated`` GB restores the 50%).
``"today"`` (G15, the default)
    Microsoft's Instant Restore page (``articles/backup/backup-instant-restore-capability.md``,
    ms.date 2023-07-20, "Feature enhancements") scopes the 50% recommendation to "VMs that are
    using unmanaged premium disks in storage accounts", for the first backup only. A VM on
    managed premium disks is ``not-applicable``: managed disks have no storage account to fill.
    For unmanaged premium disks the space is the storage account's: Azure Backup stages the
    backup of premium VMs in a temporary ``AzureBackup-`` location of the premium storage
    account, the size of the recovery point's snapshot, and the account must have room for it
    (``articles/backup/backup-architecture.md``, ms.date 2019-02-19). Interpretation (no page
    gives a formula): the account's unprovisioned capacity must be at least half of what its
    disks allocate, the account's capacity being :data:`PREMIUM_ACCOUNT_CAPACITY_GB` (an
    assumption: 35 TB, Azure's limit for premium page-blob accounts). Every VM with unmanaged
    premium disks takes the verdict of its fullest account; the VMs of one account share its
    shortfall (freeing it once serves them all).

Unmanaged disks are being retired. The retirement page first gave 2025-09-30
(``articles/virtual-machines/unmanaged-disks-deprecation.md`` in MicrosoftDocs/azure-docs,
ms.date 2023-06-28); its current version (MicrosoftDocs/azure-compute-docs, ms.date 2025-08-28)
moves the date to 2026-03-31 (:data:`UNMANAGED_DISKS_RETIRED`): after it, VMs on unmanaged disks
cannot be started. Today's rule therefore concerns only estates that still run such disks.

Standard disks, VMs without Instant Restore, and VMs whose first backup is done are
``not-applicable`` under both rule sets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from vmbackup._checks import Column, check_frame, choice, flag, non_negative
from vmbackup.schema import fleet_columns

__all__ = [
    "FREE_SHARE",
    "PREMIUM_ACCOUNT_CAPACITY_GB",
    "SPACE_RULES",
    "UNMANAGED_DISKS_RETIRED",
    "SpaceCheck",
    "SpaceSummary",
    "account_space_check",
    "premium_space_check",
    "space_summary",
    "vm_space_check",
]

#: S21: the share of the allocated premium storage that must be free before the first backup.
FREE_SHARE = 0.5
#: Assumption: capacity of a premium (page blob) storage account [GB] (Azure limit, 35 TB).
PREMIUM_ACCOUNT_CAPACITY_GB = 35_000.0
#: The rule sets of the check: the seed's S21 and today's scope (G15); ``"today"`` is the default.
SPACE_RULES = ("seed", "today")
#: G15/G8: unmanaged disks retired (unmanaged-disks-deprecation.md, ms.date 2025-08-28:
#: "extended from previously published date of September 30, 2025").
UNMANAGED_DISKS_RETIRED = dt.date(2026, 3, 31)
#: What :func:`premium_space_check` says of a VM on managed premium disks under today's rule.
MANAGED_NOT_APPLICABLE = "not applicable (G15: managed disks have no storage account to fill)"


@dataclass(frozen=True)
class SpaceCheck:
    """The check of one VM.

    Attributes
    ----------
    status
        ``"ok"``, ``"short"`` or ``"not-applicable"``.
    required_free_gb, free_gb, shortfall_gb
        Free space needed, free now, and the gap [GB].
    grow_by_gb
        Extra allocation that would restore 50% free without deleting data (seed's rule) [GB].
    advice
        What to do, or why the rule does not apply, in a sentence.
    scope
        What was measured: ``"disks"`` (the seed's rule), ``"storage-account"`` (today's) or
        ``"none"`` (the rule does not reach the VM).
    space_gb, taken_gb
        The space measured and what takes it [GB]: the disks' allocation and their data under
        the seed's rule, the account's capacity and its disks' allocation under today's.
    rules
        The rule set applied (:data:`SPACE_RULES`).
    """

    status: str
    required_free_gb: float
    free_gb: float
    shortfall_gb: float
    grow_by_gb: float
    advice: str
    scope: str
    space_gb: float
    taken_gb: float
    rules: str


def vm_space_check(
    *,
    allocated_gb: float,
    used_gb: float,
    premium: bool = True,
    instant_restore: bool = True,
    first_backup_done: bool = False,
    managed: bool = True,
    rules: str = "today",
    account_allocated_gb: float | None = None,
    capacity_gb: float = PREMIUM_ACCOUNT_CAPACITY_GB,
) -> SpaceCheck:
    """The check for one VM's premium disks taken together (S21, G15).

    Parameters
    ----------
    allocated_gb
        Total allocated size of the VM's premium OS and data disks [GB].
    used_gb
        Data on them [GB]; at most ``allocated_gb``.
    premium, instant_restore, first_backup_done
        The rule applies only to premium storage with Instant Restore before the first backup.
    managed
        Whether the disks are managed disks; under today's rules only unmanaged premium disks
        are checked (G15).
    rules
        ``"today"`` (default, G15) or ``"seed"`` (S21 as the seed states it).
    account_allocated_gb
        Unmanaged disks, today's rule: everything the VM's storage account allocates [GB], its
        other VMs' disks included; None: the VM is alone in its account (``allocated_gb``).
    capacity_gb
        Capacity of that premium storage account [GB] (assumption, 35 TB).

    Examples
    --------
    >>> vm_space_check(allocated_gb=1024, used_gb=700, rules="seed").shortfall_gb
    188.0
    >>> vm_space_check(allocated_gb=1024, used_gb=700).advice
    'not applicable (G15: managed disks have no storage account to fill)'
    >>> vm_space_check(allocated_gb=1024, used_gb=700, managed=False, capacity_gb=1500).status
    'short'
    >>> vm_space_check(allocated_gb=1024, used_gb=700, first_backup_done=True).status
    'not-applicable'
    """
    allocated = non_negative("allocated_gb", allocated_gb)
    used = non_negative("used_gb", used_gb)
    if used > allocated:
        raise ValueError(f"used_gb={used_gb!r} exceeds allocated_gb={allocated_gb!r}")
    rule_set = choice("rules", rules, SPACE_RULES)
    capacity = non_negative("capacity_gb", capacity_gb)
    in_account = allocated
    if account_allocated_gb is not None:
        in_account = non_negative("account_allocated_gb", account_allocated_gb)
        if in_account < allocated:
            raise ValueError(
                f"account_allocated_gb={account_allocated_gb!r} is below allocated_gb="
                f"{allocated_gb!r}: the account holds at least the VM's own disks"
            )
    is_premium = flag("premium", premium)
    is_managed = flag("managed", managed)
    if rule_set == "today" and is_premium and not is_managed and in_account > capacity:
        field, value = (
            ("allocated_gb", allocated_gb)
            if account_allocated_gb is None
            else ("account_allocated_gb", account_allocated_gb)
        )
        raise ValueError(
            f"{field}={value!r} is above capacity_gb={capacity_gb!r}: the disks in a storage "
            "account allocate at most its capacity"
        )
    frame = pl.DataFrame(
        {
            "vm_name": ["this VM"],
            "premium_allocated_gb": [allocated if is_premium else 0.0],
            "premium_used_gb": [used if is_premium else 0.0],
            "has_premium": [is_premium],
            "unmanaged_premium": [is_premium and not is_managed],
            "storage_account": pl.Series([None], dtype=pl.String),
            "account_allocated_gb": [in_account],
            "first_backup_done": [flag("first_backup_done", first_backup_done)],
        }
    )
    ir = flag("instant_restore", instant_restore)
    row = _verdicts(frame, rule_set, ir, capacity).row(0, named=True)
    return SpaceCheck(
        status=row["status"],
        required_free_gb=row["required_free_gb"],
        free_gb=row["free_gb"],
        shortfall_gb=row["shortfall_gb"],
        grow_by_gb=row["grow_by_gb"],
        advice=row["advice"],
        scope=row["scope"],
        space_gb=row["space_gb"],
        taken_gb=row["taken_gb"],
        rules=rule_set,
    )


def _verdicts(
    per_vm: pl.DataFrame, rules: str, instant_restore: bool, capacity_gb: float
) -> pl.DataFrame:
    """The verdict columns of one row per VM (``premium_allocated_gb``, ``premium_used_gb``,
    ``has_premium``, ``unmanaged_premium``, ``storage_account``, ``account_allocated_gb``,
    ``first_backup_done``) under ``rules``."""
    done = pl.col("first_backup_done")
    if rules == "seed":
        reached = pl.col("has_premium")
        scope = pl.when(reached).then(pl.lit("disks"))
        space = pl.col("premium_allocated_gb")
        taken = pl.col("premium_used_gb")
        required = space * FREE_SHARE
        where = pl.lit("")
    else:
        reached = pl.col("unmanaged_premium")
        scope = pl.when(reached).then(pl.lit("storage-account"))
        space = pl.when(reached).then(pl.lit(capacity_gb)).otherwise(0.0)
        taken = pl.when(reached).then(pl.col("account_allocated_gb")).otherwise(0.0)
        required = taken * FREE_SHARE
        where = pl.format(" in storage account {}", pl.col("storage_account")).fill_null(
            pl.lit(" in its storage account")
        )
    applies = reached & pl.lit(instant_restore) & ~done
    free = space - taken
    shortfall = pl.when(applies).then((required - free).clip(lower_bound=0)).otherwise(0.0)
    grow = (2 * taken - space).clip(lower_bound=0) if rules == "seed" else pl.lit(0.0)
    status = (
        pl.when(~applies)
        .then(pl.lit("not-applicable"))
        .when(shortfall > 0)
        .then(pl.lit("short"))
        .otherwise(pl.lit("ok"))
    )
    if rules == "seed":
        fix = pl.format(
            "free {} GB before the first backup (or grow the premium disks by {} GB); "
            "the 50% is needed only until the first backup completes",
            shortfall.round(1),
            grow.round(1),
        )
    else:
        fix = pl.format(
            "free {} GB{} before the first backup (move disks to another account, or to "
            "managed disks); the 50% is needed only until the first backup completes (G15)",
            shortfall.round(1),
            where,
        )
    enough = pl.format("enough free space{} for the first backup", where)
    managed_only = pl.col("has_premium") & ~pl.col("unmanaged_premium")
    exempt = (
        pl.when(done)
        .then(pl.lit("the 50% rule does not apply: the first backup is done"))
        .when(reached & pl.lit(not instant_restore))
        .then(pl.lit("the 50% rule does not apply: no Instant Restore snapshot"))
        .when(pl.lit(rules == "today") & managed_only)
        .then(pl.lit(MANAGED_NOT_APPLICABLE))
        .otherwise(pl.lit("the 50% rule does not apply: no premium disk"))
    )
    advice = pl.when(status == "short").then(fix).when(status == "ok").then(enough)
    return per_vm.with_columns(
        rules=pl.lit(rules),
        scope=scope.otherwise(pl.lit("none")),
        storage_account=pl.when(reached & pl.lit(rules == "today")).then(pl.col("storage_account")),
        space_gb=space,
        taken_gb=taken,
        required_free_gb=required,
        free_gb=free,
        shortfall_gb=shortfall,
        grow_by_gb=pl.when(status == "short").then(grow).otherwise(0.0),
        status=status,
        advice=advice.otherwise(exempt),
    )


#: The fleet columns the premium-space checks read.
_SPACE_COLUMNS = fleet_columns(
    "vm_name", "disk_role", "disk_type", "managed", "storage_account", "allocated_gb", "used_gb"
)


def premium_space_check(
    fleet: pl.DataFrame,
    *,
    rules: str = "today",
    instant_restore: bool = True,
    first_backup_done: pl.DataFrame | None = None,
    capacity_gb: float = PREMIUM_ACCOUNT_CAPACITY_GB,
) -> pl.DataFrame:
    """The check for every VM of a fleet (one row per disk in, one row per VM out; S21, G15).

    Parameters
    ----------
    fleet
        Disks in the sample-fleet schema (``vm_name``, ``disk_role``, ``disk_type``,
        ``managed``, ``storage_account``, ``allocated_gb``, ``used_gb``).
    rules
        ``"today"`` (default: unmanaged premium disks, per storage account, G15) or ``"seed"``
        (every VM with premium disks, S21).
    instant_restore
        Whether the VMs' policies use Instant Restore snapshots (all current policies do).
    first_backup_done
        Optional table of ``vm_name`` and a boolean ``first_backup_done``; VMs not listed have
        not had their first backup.
    capacity_gb
        Capacity of a premium storage account [GB] (today's rule; assumption, 35 TB).

    Returns
    -------
    polars.DataFrame
        Per VM: ``rules``, ``scope`` (``"disks"``, ``"storage-account"`` or ``"none"``),
        ``storage_account`` (today's rule: the VM's fullest unmanaged premium account),
        ``premium_allocated_gb`` and ``premium_used_gb`` (all its premium disks),
        ``space_gb`` and ``taken_gb`` (what the rule measured, see :class:`SpaceCheck`),
        ``required_free_gb``, ``free_gb``, ``shortfall_gb``, ``grow_by_gb``, ``status`` and
        ``advice``, sorted by shortfall (largest first). Under today's rule the VMs of one
        account repeat its shortfall: :func:`space_summary` counts it once.

    Examples
    --------
    >>> from vmbackup.data import read_fleet
    >>> fleet = read_fleet()
    >>> print(space_summary(premium_space_check(fleet, rules="seed")).sentence())
    43 of 81 VMs with premium disks short, 6,217.2 GB to free
    >>> print(space_summary(premium_space_check(fleet)).sentence())
    0 of 8 VMs on unmanaged premium disks short, 0.0 GB to free
    """
    rule_set = choice("rules", rules, SPACE_RULES)
    ir = flag("instant_restore", instant_restore)
    capacity = non_negative("capacity_gb", capacity_gb)
    fleet = check_frame(
        fleet,
        _SPACE_COLUMNS,
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
    disks = fleet.filter(pl.col("disk_role") != "temp")
    premium = pl.col("disk_type") == "premium"
    unmanaged = premium & ~pl.col("managed")
    nameless = disks.filter(unmanaged & pl.col("storage_account").fill_null("").eq(""))
    if rule_set == "today" and nameless.height:
        row = nameless.row(0, named=True)
        raise ValueError(
            f"fleet: vm_name={row['vm_name']!r}: an unmanaged premium disk with "
            f"storage_account={row['storage_account']!r}; today's rule measures its storage "
            "account (G15), so name it"
        )
    accounts = (
        disks.filter(~pl.col("managed"))
        .group_by("storage_account")
        .agg(account_allocated_gb=pl.col("allocated_gb").sum())
    )
    if rule_set == "today":
        _fits(disks.filter(unmanaged), accounts, capacity, capacity_gb)
    disks = disks.join(accounts, on="storage_account", how="left", maintain_order="left")
    in_account = pl.col("account_allocated_gb").filter(unmanaged)
    per_vm = disks.group_by("vm_name", maintain_order=True).agg(
        premium_allocated_gb=pl.col("allocated_gb").filter(premium).sum(),
        premium_used_gb=pl.col("used_gb").filter(premium).sum(),
        has_premium=premium.any(),
        unmanaged_premium=unmanaged.any(),
        storage_account=pl.col("storage_account")
        .filter(unmanaged)
        .sort_by(in_account, descending=True, maintain_order=True)
        .first(),
        account_allocated_gb=in_account.max(),
    )
    if first_backup_done is not None:
        per_vm = per_vm.join(first_backup_done, on="vm_name", how="left", maintain_order="left")
        per_vm = per_vm.with_columns(pl.col("first_backup_done").fill_null(False))
    else:
        per_vm = per_vm.with_columns(first_backup_done=pl.lit(False))
    return (
        _verdicts(per_vm, rule_set, ir, capacity)
        .select(
            "vm_name",
            "rules",
            "scope",
            "storage_account",
            "premium_allocated_gb",
            "premium_used_gb",
            "space_gb",
            "taken_gb",
            "required_free_gb",
            "free_gb",
            "shortfall_gb",
            "grow_by_gb",
            "status",
            "advice",
        )
        .sort("shortfall_gb", descending=True, maintain_order=True)
    )


def _fits(
    premium_disks: pl.DataFrame, accounts: pl.DataFrame, capacity: float, given: object
) -> None:
    """Raise ValueError naming the first premium account whose disks allocate more than its
    capacity (such an account cannot exist; its free space would be negative)."""
    names = premium_disks["storage_account"].unique().implode()
    over = accounts.filter(
        pl.col("storage_account").is_in(names) & (pl.col("account_allocated_gb") > capacity)
    )
    if over.height:
        row = over.row(0)
        raise ValueError(
            f"capacity_gb={given!r} is below the {row[1]:g} GB the disks of storage account "
            f"{row[0]!r} allocate; an account holds at most its capacity"
        )


@dataclass(frozen=True)
class SpaceSummary:
    """What a :func:`premium_space_check` table says of an estate, as the plan and the report
    state it.

    Attributes
    ----------
    rules
        The rule set of the table.
    checked
        The VMs the rule applies to (premium before the first backup; today: on unmanaged
        premium disks), largest shortfall first.
    short
        Those short of space.
    shortfall_gb
        Space to free in all [GB]: per VM under the seed's rule, per storage account under
        today's (an account shared by several VMs counts once).
    accounts
        Today's rule: the storage accounts short of space.
    managed_exempt
        Today's rule: VMs on managed premium disks, not applicable (G15).
    """

    rules: str
    checked: tuple[str, ...]
    short: tuple[str, ...]
    shortfall_gb: float
    accounts: tuple[str, ...]
    managed_exempt: int

    @property
    def scope(self) -> str:
        """Who the rule reaches, in words."""
        if self.rules == "seed":
            return "VMs with premium disks"
        return "VMs on unmanaged premium disks"

    def sentence(self) -> str:
        """The verdict in one line, e.g. ``"2 of 3 VMs on unmanaged premium disks short, ..."``."""
        if not self.checked and self.rules == "today":
            return "not applicable: no VM on unmanaged premium disks awaits its first backup (G15)"
        text = (
            f"{len(self.short):,} of {len(self.checked):,} {self.scope} short, "
            f"{self.shortfall_gb:,.1f} GB to free"
        )
        if self.accounts:
            text += " in " + ", ".join(self.accounts)
        return text


def space_summary(space: pl.DataFrame, rules: str | None = None) -> SpaceSummary:
    """Count the VMs of a :func:`premium_space_check` table the rule reaches and the space to free.

    ``rules`` names the rule set of an empty table (default: the table's own, else today's).

    Examples
    --------
    >>> fleet = pl.DataFrame({
    ...     "vm_name": ["a", "b", "c"], "disk_role": ["os"] * 3, "disk_type": ["premium"] * 3,
    ...     "managed": [False, False, True], "storage_account": ["st1", "st1", None],
    ...     "allocated_gb": [1000.0, 1000.0, 1000.0], "used_gb": [100.0, 100.0, 900.0]})
    >>> print(space_summary(premium_space_check(fleet, capacity_gb=2999.5)).sentence())
    2 of 2 VMs on unmanaged premium disks short, 0.5 GB to free in st1
    >>> space_summary(premium_space_check(fleet, capacity_gb=2999.5)).shortfall_gb
    0.5
    """
    chosen = rules if rules is not None else (space["rules"][0] if space.height else "today")
    rule_set = choice("rules", chosen, SPACE_RULES)
    checked = space.filter(pl.col("status") != "not-applicable")
    short = checked.filter(pl.col("status") == "short")
    accounts: tuple[str, ...] = ()
    exempt = 0
    if rule_set == "today" and space.height:
        per_account = short.unique("storage_account", keep="first", maintain_order=True)
        accounts = tuple(per_account["storage_account"].to_list())
        total = float(per_account["shortfall_gb"].sum())
        exempt = space.filter(pl.col("advice") == MANAGED_NOT_APPLICABLE).height
    else:
        total = float(short["shortfall_gb"].sum()) if short.height else 0.0
    return SpaceSummary(
        rules=rule_set,
        checked=tuple(checked["vm_name"].to_list()),
        short=tuple(short["vm_name"].to_list()),
        shortfall_gb=total,
        accounts=accounts,
        managed_exempt=exempt,
    )


def account_space_check(
    fleet: pl.DataFrame, capacity_gb: float = PREMIUM_ACCOUNT_CAPACITY_GB
) -> pl.DataFrame:
    """Today's check (G15) and S22 per storage account of unmanaged disks.

    Returns one row per account: ``disks``, ``vms``, ``allocated_gb``, ``premium`` (the account
    holds premium disks), the check's columns (for premium accounts: unprovisioned capacity
    must be half the allocated; before any first backup) and ``crowded``, True when 5 or more
    disks share the account (S22 suggests balancing at 5 to 10).
    """
    capacity = non_negative("capacity_gb", capacity_gb)
    fleet = check_frame(
        fleet,
        _SPACE_COLUMNS,
        name="fleet",
    )
    unmanaged = fleet.filter((pl.col("disk_role") != "temp") & ~pl.col("managed"))
    per_account = unmanaged.group_by("storage_account", maintain_order=True).agg(
        disks=pl.len(),
        vms=pl.col("vm_name").n_unique(),
        allocated_gb=pl.col("allocated_gb").sum(),
        premium=(pl.col("disk_type") == "premium").any(),
    )
    _fits(
        unmanaged.filter(pl.col("disk_type") == "premium"),
        per_account.select("storage_account", account_allocated_gb="allocated_gb"),
        capacity,
        capacity_gb,
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
