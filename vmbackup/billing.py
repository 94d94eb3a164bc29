"""What protecting a VM costs: protected instances, vault and snapshot storage, the lifecycle
(items S23-S28, P1-P5).

Prices come from a table (``datasets/prices.csv``, read by ``vmbackup.data.read_prices``), never
from constants here. Money accrues day by day and is summed per calendar month, which is the
proration by days protected of P3.

Interpretations and assumptions:

- PI fee (P1): used data up to 50 GB pays the small-instance price; above 50 GB, the large price
  for each started 500 GB (51-500 GB: 1 unit, 501 GB: 2 units, 2,000 GB: 4 units).
- A VM's used data changes only at ``resize`` events; every day's backup succeeds, so the PI
  size while protected is the current used data (S26: the PI size follows the data).
- After ``stop`` (protection stopped, data retained) the PI size is the last successful backup's
  (S25) and the recovery points that exist then are kept until ``delete`` (S24); Instant Restore
  snapshots expire over their retention days.
- After ``delete`` the data is soft-deleted for ``soft_delete_days`` (14 to 180, P5): the first
  14 days are free, later days pay vault storage at the normal rate (assumption: no PI fee).
- Agentless crash-consistent VMs pay the preview factor (0.5) of a PI (S27).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import choice, non_negative, non_negative_array
from vmbackup.policy import Policy
from vmbackup.retention import snapshot_storage_gb, vault_storage_gb

__all__ = [
    "EVENT_KINDS",
    "KNOWN_METERS",
    "REDUNDANCIES",
    "Event",
    "Prices",
    "monthly_bill",
    "pi_fee_usd_per_month",
    "pi_units",
    "prices_from_frame",
    "protected_instance_gb",
    "whatif_bill",
]

REDUNDANCIES = ("LRS", "ZRS", "GRS", "RA-GRS")
PI_METER = "Azure VM Protected Instance"
AGENTLESS_METER = "Agentless Crash-Consistent PI Factor (preview)"
SNAPSHOT_METER = "Snapshot LRS Data Stored"
#: P7: the meters the billing model understands; any other row is rejected.
KNOWN_METERS = (
    PI_METER,
    AGENTLESS_METER,
    *(f"Standard {r} Data Stored" for r in REDUNDANCIES),
    "Archive LRS Data Stored",
    "Archive GRS Data Stored",
    SNAPSHOT_METER,
)
#: P5: soft-deleted data is free for this many days.
SOFT_DELETE_FREE_DAYS = 14
EVENT_KINDS = ("protect", "first-backup", "resize", "stop", "delete")


@dataclass(frozen=True)
class Prices:
    """One region's prices, as the billing model uses them.

    Attributes
    ----------
    region, currency, as_of
        Where and when the prices apply.
    pi_small_usd
        PI fee per month for up to ``pi_small_max_gb`` of used data [USD/month].
    pi_small_max_gb
        The small-instance limit [GB] (50).
    pi_per_500_gb_usd
        PI fee per month for each started 500 GB above the limit [USD/month].
    agentless_pi_factor
        Fraction of a PI charged for agentless crash-consistent backups (preview).
    storage_usd_per_gb_month
        Vault storage price by redundancy [USD per GB-month].
    snapshot_usd_per_gb_month
        Instant Restore snapshot storage price [USD per GB-month].
    """

    region: str
    currency: str
    as_of: str
    pi_small_usd: float
    pi_small_max_gb: float
    pi_per_500_gb_usd: float
    agentless_pi_factor: float
    storage_usd_per_gb_month: dict[str, float]
    snapshot_usd_per_gb_month: float


def prices_from_frame(frame: pl.DataFrame, region: str | None = None) -> Prices:
    """Check a price table and turn one region's rows into :class:`Prices` (P1, P2, P7).

    Raises
    ------
    ValueError
        Reservation rows (``Backup Reserved Capacity``, 100 TB or 1 PB blocks), unknown meters,
        negative prices, a missing meter, or a region not in the table.
    """
    reserved = frame.filter(
        pl.col("product").str.contains("(?i)reserv") | pl.col("unit").str.contains("(?i)TB|PB")
    )
    if reserved.height:
        row = reserved.row(0, named=True)
        raise ValueError(
            f"price row meter={row['meter']!r} product={row['product']!r} unit={row['unit']!r} "
            "is a reserved-capacity price (100 TB / 1 PB blocks), not a per-GB price; remove it"
        )
    unknown = frame.filter(~pl.col("meter").is_in(list(KNOWN_METERS)))
    if unknown.height:
        raise ValueError(
            f"meter={unknown['meter'][0]!r} is not a known meter; "
            f"known meters: {list(KNOWN_METERS)}"
        )
    negative = frame.filter(pl.col("price") < 0)
    if negative.height:
        raise ValueError(f"price={negative['price'][0]} for meter {negative['meter'][0]!r} is < 0")
    regions = frame["region"].unique(maintain_order=True).to_list()
    if region is None:
        if len(regions) != 1:
            raise ValueError(f"region=None but the table holds {regions}; choose one")
        region = regions[0]
    if region not in regions:
        raise ValueError(f"region={region!r} not in the price table; choose one of {regions}")
    rows = frame.filter(pl.col("region") == region)

    def price(meter: str, tier: float | None = None) -> float:
        chosen = rows.filter(pl.col("meter") == meter)
        if tier is not None:
            chosen = chosen.filter(pl.col("tier_min_gb") == tier)
        if chosen.height != 1:
            what = f"meter {meter!r}" + (f" with tier_min_gb={tier}" if tier is not None else "")
            raise ValueError(
                f"region {region!r}: expected one row for {what}, found {chosen.height}"
            )
        return float(chosen["price"][0])

    pi_tiers = rows.filter(pl.col("meter") == PI_METER)["tier_min_gb"].sort().to_list()
    if len(pi_tiers) != 2 or pi_tiers[0] != 0:
        raise ValueError(
            f"region {region!r}: {PI_METER!r} needs two rows, tier_min_gb=0 (small instance) and "
            f"the small-instance limit (50); found tiers {pi_tiers}"
        )
    return Prices(
        region=region,
        currency=str(rows["currency"][0]),
        as_of=str(rows["as_of"].max()),
        pi_small_usd=price(PI_METER, 0),
        pi_small_max_gb=float(pi_tiers[1]),
        pi_per_500_gb_usd=price(PI_METER, pi_tiers[1]),
        agentless_pi_factor=price(AGENTLESS_METER),
        storage_usd_per_gb_month={r: price(f"Standard {r} Data Stored") for r in REDUNDANCIES},
        snapshot_usd_per_gb_month=price(SNAPSHOT_METER),
    )


def protected_instance_gb(
    os_disk_used_gb: float,
    data_disks_used_gb: Sequence[float] = (),
    temp_disk_used_gb: float = 0.0,
) -> float:
    """Protected-instance size: the used data of the OS and data disks, temp disk excluded (S26).

    Parameters
    ----------
    os_disk_used_gb
        Data on the OS disk [GB].
    data_disks_used_gb
        Data on each data disk [GB] (not their maximum sizes).
    temp_disk_used_gb
        Data on the temporary disk [GB]; checked, never counted.

    Examples
    --------
    The service description's A2 VM: 17 GB OS, 30 GB and 0 GB on two 32 TB data disks, 5 GB
    on the temporary disk.

    >>> protected_instance_gb(17, [30, 0], temp_disk_used_gb=5)
    47.0
    """
    os_gb = non_negative("os_disk_used_gb", os_disk_used_gb)
    data = non_negative_array("data_disks_used_gb", list(data_disks_used_gb))
    non_negative("temp_disk_used_gb", temp_disk_used_gb)
    return os_gb + float(data.sum())


def pi_units(size_gb: npt.ArrayLike, small_max_gb: float = 50.0) -> npt.NDArray[np.float64]:
    """Billing units of a PI (P1): 0 for a small instance, else one per started 500 GB.

    >>> pi_units([47, 50, 51, 500, 501, 2000]).tolist()
    [0.0, 0.0, 1.0, 1.0, 2.0, 4.0]
    """
    size = non_negative_array("size_gb", size_gb)
    return np.where(size <= small_max_gb, 0.0, np.ceil(size / 500.0))


def pi_fee_usd_per_month(
    size_gb: npt.ArrayLike, prices: Prices, consistency: str = "application"
) -> npt.NDArray[np.float64]:
    """Monthly protected-instance fee for a used size (P1, S27).

    Parameters
    ----------
    size_gb
        Protected-instance size [GB] (scalar or array).
    prices
        The region's prices.
    consistency
        ``"application"`` (agent-based: application or file-system consistent) or ``"crash"``
        (agentless, charged the preview factor of a PI).

    Returns
    -------
    numpy.ndarray
        Fee [USD/month], same shape as ``size_gb``.
    """
    kind = choice("consistency", consistency, ("application", "crash"))
    units = pi_units(size_gb, prices.pi_small_max_gb)
    fee = np.where(units == 0, prices.pi_small_usd, units * prices.pi_per_500_gb_usd)
    factor = prices.agentless_pi_factor if kind == "crash" else 1.0
    return np.asarray(fee * factor, dtype=np.float64)


@dataclass(frozen=True)
class Event:
    """A step in a VM's protection lifecycle.

    ``kind`` is one of :data:`EVENT_KINDS`: ``protect`` (with ``used_gb``), ``first-backup``
    (the first successful backup), ``resize`` (with the new ``used_gb``), ``stop`` (stop
    protection, retain data) and ``delete`` (delete the backup data).
    """

    kind: str
    day: dt.date
    used_gb: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", choice("kind", self.kind, EVENT_KINDS))
        if not isinstance(self.day, dt.date):
            raise ValueError(f"day={self.day!r} must be a datetime.date")
        if self.kind in ("protect", "resize"):
            if self.used_gb is None:
                raise ValueError(f"a {self.kind!r} event needs used_gb")
            non_negative("used_gb", self.used_gb)


def _check_order(events: Sequence[Event]) -> dict[str, dt.date]:
    days = [e.day for e in events]
    if days != sorted(days):
        raise ValueError("events must be in date order")
    once = {}
    for e in events:
        if e.kind != "resize":
            if e.kind in once:
                raise ValueError(f"event kind={e.kind!r} appears twice; it can happen once")
            once[e.kind] = e.day
    if "protect" not in once:
        raise ValueError("events must start with a 'protect' event giving used_gb")
    if events[0].kind != "protect":
        raise ValueError(f"the first event is {events[0].kind!r}; it must be 'protect'")
    order = [k for k in EVENT_KINDS if k in once and k != "resize"]
    if [e.kind for e in events if e.kind != "resize"] != order:
        raise ValueError(
            f"events out of order: {[e.kind for e in events]}; the lifecycle is protect, "
            "first-backup, stop, delete"
        )
    if "stop" in once and "first-backup" not in once:
        raise ValueError("a 'stop' before any 'first-backup' leaves nothing to bill; drop it")
    if "delete" in once and "stop" not in once:
        raise ValueError(
            "'delete' needs a 'stop' first: backup data is deleted after protection stops"
        )
    return once


def monthly_bill(
    events: Iterable[Event],
    *,
    until: dt.date,
    policy: Policy,
    prices: Prices,
    daily_churn_fraction: float = 0.03,
    redundancy: str = "GRS",
    soft_delete_days: int = 14,
) -> pl.DataFrame:
    """The monthly bill of one VM over its lifecycle (S23-S28, P1-P5).

    Parameters
    ----------
    events
        The VM's lifecycle in date order (see :class:`Event`).
    until
        Last day billed (inclusive).
    policy
        Its backup policy (retention, Instant Restore days, type, consistency).
    prices
        The region's prices.
    daily_churn_fraction
        Share of the used data changed per day (P6: typically 0.02-0.07).
    redundancy
        Vault storage redundancy: ``"LRS"``, ``"ZRS"``, ``"GRS"`` or ``"RA-GRS"``.
    soft_delete_days
        Days deleted data is kept (14-180); beyond 14 they are billed (P5).

    Returns
    -------
    polars.DataFrame
        One row per calendar month from the ``protect`` month to ``until``: ``month`` (first day),
        ``days_billed``, ``pi_size_gb`` (at month end), ``vault_gb`` and ``snapshot_gb`` (month
        averages), ``pi_fee_usd``, ``vault_storage_usd``, ``snapshot_storage_usd``, ``total_usd``.
    """
    timeline = list(events)
    once = _check_order(timeline)
    redundancy = choice("redundancy", redundancy, REDUNDANCIES)
    churn = non_negative("daily_churn_fraction", daily_churn_fraction)
    if churn > 1:
        raise ValueError(f"daily_churn_fraction={daily_churn_fraction!r} must be between 0 and 1")
    if not (isinstance(soft_delete_days, int) and 14 <= soft_delete_days <= 180):
        raise ValueError(f"soft_delete_days={soft_delete_days!r} must be a whole number in 14..180")
    start = once["protect"]
    if until < start:
        raise ValueError(f"until={until} is before the 'protect' event on {start}")
    days = pl.date_range(start, until, "1d", eager=True)
    n = days.len()
    index = np.arange(n)

    def day_of(kind: str) -> int:
        return (once[kind] - start).days if kind in once else n + 10**6

    first, stop, delete = day_of("first-backup"), day_of("stop"), day_of("delete")
    sizes = [(e.day - start).days for e in timeline if e.used_gb is not None]
    values = [float(e.used_gb) for e in timeline if e.used_gb is not None]
    used = np.asarray(values)[np.searchsorted(sizes, index, side="right") - 1]
    protected = (index >= first) & (index < stop)
    retained = (index >= first) & (index < delete)
    soft = (index >= delete) & (index < delete + soft_delete_days)
    soft_billed = soft & (index >= delete + SOFT_DELETE_FREE_DAYS)

    # PI size: the current data while protected; the last successful backup's after stop (S25)
    last_backup_size = used[min(stop, n) - 1] if first < min(stop, n) else 0.0
    pi_size = np.where(protected, used, np.where(retained, last_backup_size, 0.0))
    pi_monthly = pi_fee_usd_per_month(pi_size, prices, policy.consistency)

    vault_gb = np.zeros(n)
    if first < n:
        span = slice(first, n)
        vault_gb[span] = vault_storage_gb(
            policy,
            days[first:],
            used[span],
            churn * used[span],
            backing_up=protected[span],
            frozen_from=once.get("stop"),
        )
    kept_at_delete = vault_gb[delete - 1] if 0 < delete <= n else 0.0
    vault_gb = np.where(retained, vault_gb, np.where(soft, kept_at_delete, 0.0))

    ir_days = int(policy.instant_restore_days or 1)
    kept = np.clip(index - first + 1, 0, ir_days)  # snapshots build up over the first days
    snapshots = snapshot_storage_gb(policy.policy_type, used, churn * used, kept)
    snapshot_gb = np.where(
        (index >= first) & (index < np.minimum(stop + ir_days, delete)), snapshots, 0.0
    )

    daily = pl.DataFrame(
        {
            "day": days,
            "billed": retained | soft_billed,
            "pi_size_gb": pi_size,
            "pi_monthly_usd": np.where(retained, pi_monthly, 0.0),
            "vault_gb": vault_gb,
            "vault_billed_gb": np.where(retained | soft_billed, vault_gb, 0.0),
            "snapshot_gb": snapshot_gb,
        }
    ).with_columns(
        month=pl.col("day").dt.truncate("1mo"),
        days_in_month=pl.col("day").dt.month_end().dt.day(),
    )
    storage_price = prices.storage_usd_per_gb_month[redundancy]
    monthly = (
        daily.group_by("month", maintain_order=True)
        .agg(
            days_billed=pl.col("billed").sum(),
            pi_size_gb=pl.col("pi_size_gb").last(),
            vault_gb=pl.col("vault_gb").mean(),
            snapshot_gb=pl.col("snapshot_gb").mean(),
            pi_fee_usd=(pl.col("pi_monthly_usd") / pl.col("days_in_month")).sum(),
            vault_storage_usd=(
                pl.col("vault_billed_gb") * storage_price / pl.col("days_in_month")
            ).sum(),
            snapshot_storage_usd=(
                pl.col("snapshot_gb") * prices.snapshot_usd_per_gb_month / pl.col("days_in_month")
            ).sum(),
        )
        .with_columns(
            total_usd=pl.col("pi_fee_usd")
            + pl.col("vault_storage_usd")
            + pl.col("snapshot_storage_usd")
        )
    )
    return monthly


def whatif_bill(
    *,
    used_gb: float,
    prices: Prices,
    policy: Policy,
    daily_churn_fraction: float = 0.03,
    redundancy: str = "GRS",
    months: int = 12,
    start: dt.date = dt.date(2026, 1, 1),
) -> pl.DataFrame:
    """The bill of a VM protected from ``start`` for ``months`` months, first backup that day.

    A shortcut for :func:`monthly_bill` with a ``protect`` and a ``first-backup`` event on
    ``start``; the same columns.
    """
    if not (isinstance(months, int) and 1 <= months <= 120):
        raise ValueError(f"months={months!r} must be a whole number in 1..120")
    end = (pl.Series([start]).dt.offset_by(f"{months}mo").dt.offset_by("-1d"))[0]
    return monthly_bill(
        [Event("protect", start, used_gb=used_gb), Event("first-backup", start)],
        until=end,
        policy=policy,
        prices=prices,
        daily_churn_fraction=daily_churn_fraction,
        redundancy=redundancy,
    )
