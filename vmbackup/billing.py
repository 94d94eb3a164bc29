"""What protecting a VM costs: protected instances, vault, archive and snapshot storage, the
lifecycle, per meter as on an invoice (items S23-S28, P1-P7, G1, G5-G10).

Prices come from a table (``datasets/prices.csv``, read by ``vmbackup.data.read_prices``), never
from constants here; the *rules* (agentless fee, soft delete, snapshot clean-up) are dated data in
:mod:`vmbackup.pricing_rules`, chosen day by day from the bill's dates. Money accrues day by day
and is summed per calendar month, which is the proration by days protected of P3.

Interpretations and assumptions:

- PI fee (P1): used data up to 50 GB pays the small-instance price; above 50 GB, the large price
  for each started 500 GB (51-500 GB: 1 unit, 501 GB: 2 units, 2,000 GB: 4 units).
- A VM's used data changes only at ``resize`` events; every day's backup succeeds, so the PI
  size while protected is the current used data (S26: the PI size follows the data).
- Agentless crash-consistent VMs (G1): before GA, 0.5 PI on the used data (S27); from GA, a full
  PI on 50% of the provisioned size (``provisioned_gb``); see
  :data:`~vmbackup.pricing_rules.PRICING_RULES`.
- Selective disk backup (G6, selective-disk-backup-restore.md): ``excluded_gb`` is the used data
  on excluded data disks. Standard policy: the PI size counts all disks unless only the OS disk
  is kept (``os_disk_only``); the vault counts the included disks; snapshots all disks.
  Enhanced policy: all three count the included disks only.
- After ``stop`` (protection stopped, data retained) the PI size is the last successful backup's
  (S25) and the recovery points that exist then are kept until ``delete`` (S24); Instant Restore
  snapshots expire over their retention days.
- After ``delete`` the data is soft-deleted for ``soft_delete_days`` (14 to 180, G5): the last 14
  days are free; the days before them are billed like stop protection with data retained (PI and
  vault storage). Snapshots are not soft-deleted: they keep costing until they expire (G5).
  Archived points are deleted at once and charged their early deletion (G7).
- Snapshots (P4, G8, G9) are priced by the policy type that takes them, never by the disk's
  media: Enhanced snapshots are managed-disk incremental snapshots, stored and billed on Standard
  HDD snapshot storage whatever the parent disk (ZRS where the region has it, else LRS); Standard
  snapshots have their own price row (``Standard Policy Snapshots``; the sources disagree on its
  level, see the row's ``source``). Trusted Launch VMs keep Enhanced-style snapshots (first one
  full, Enhanced price) even under a Standard policy (G8); an Enhanced hourly policy keeps several
  snapshots a day; clean-up lag (24 h) leaves one to three more snapshots than retained, which
  are billed.
- Cross-region restore (G10) needs a GRS vault and bills its standard-tier storage at the RA-GRS
  price; archive storage stays at the Archive GRS price (no cross-region restore from archive).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import (
    Column,
    check_frame,
    choice,
    date_value,
    flag,
    instance,
    non_negative,
    non_negative_array,
    whole,
)
from vmbackup.archive import ArchivePlan, archive_moves
from vmbackup.policy import Policy
from vmbackup.pricing_rules import PRICING_RULES, rules_on
from vmbackup.retention import (
    PeriodChurn,
    _check_rising,
    _pool_days,
    chain_storage_gb,
    snapshot_storage_gb,
    vault_points,
)

__all__ = [
    "EVENT_KINDS",
    "KNOWN_METERS",
    "REDUNDANCIES",
    "SNAPSHOT_KINDS",
    "SNAPSHOT_REDUNDANCIES",
    "Event",
    "Prices",
    "instant_restore_gb",
    "meter_bill",
    "monthly_bill",
    "pi_basis",
    "pi_fee_usd_per_month",
    "pi_units",
    "prices_from_frame",
    "protected_instance_gb",
    "snapshot_meter",
    "whatif_bill",
]

REDUNDANCIES = ("LRS", "ZRS", "GRS", "RA-GRS")
SNAPSHOT_REDUNDANCIES = ("LRS", "ZRS")
#: Who took a snapshot, which decides its price (G9): an Enhanced policy (or a Trusted Launch VM
#: under Standard, G8) or a Standard policy.
SNAPSHOT_KINDS = ("enhanced", "standard")
#: G9: the price row of a Standard policy's Instant Restore snapshots (a project row: no Retail
#: Prices API meter carries it).
STANDARD_SNAPSHOT_METER = "Standard Policy Snapshots"
PI_METER = "Azure VM Protected Instance"
ARCHIVE_REDUNDANCIES = ("LRS", "GRS")
#: P7: the meters the billing model understands; any other row is rejected.
KNOWN_METERS = (
    PI_METER,
    *(f"Standard {r} Data Stored" for r in REDUNDANCIES),
    *(f"Archive {r} Data Stored" for r in ARCHIVE_REDUNDANCIES),
    *(f"{r} Snapshots" for r in SNAPSHOT_REDUNDANCIES),
    STANDARD_SNAPSHOT_METER,
)
#: G9: the product of each snapshot kind's price rows. Enhanced snapshots are managed-disk
#: incremental snapshots, always on Standard HDD storage (disks-incremental-snapshots.md,
#: disk-backup-faq.md); a Standard policy's snapshots have a project row of their own.
SNAPSHOT_PRODUCTS = {
    "enhanced": "Standard HDD Managed Disks",
    "standard": "Instant Restore Snapshots (Standard policy)",
}
EVENT_KINDS = ("protect", "first-backup", "resize", "stop", "delete")
#: The longest lifecycle a bill covers [days] (a bound; a century is not a backup plan).
MAX_BILL_DAYS = 100 * 366


@dataclass(frozen=True)
class Prices:
    """One region's prices in one currency, as the billing model uses them.

    Prices are in ``currency`` even where a name says ``usd`` (the names predate other
    currencies).

    Attributes
    ----------
    region, currency
        Where the prices apply and their currency.
    as_of
        The newest ``as_of`` date of the rows used; :attr:`rows` lists every row with its own
        date and source.
    pi_small_usd
        PI fee per month for up to ``pi_small_max_gb`` of used data [currency/month].
    pi_small_max_gb
        The small-instance limit [GB] (50).
    pi_per_500_gb_usd
        PI fee per month for each started 500 GB above the limit [currency/month].
    storage_usd_per_gb_month
        Vault (standard tier) storage price by redundancy [currency per GB-month].
    archive_usd_per_gb_month
        Vault-archive storage price, ``"LRS"`` and ``"GRS"`` [currency per GB-month].
    snapshot_prices
        Snapshot storage price by ``(kind, redundancy)`` (G9): ``("enhanced", "LRS")`` and
        ``("enhanced", "ZRS")`` (Standard HDD incremental snapshots), ``("standard", "LRS")``
        (a Standard policy's snapshots) [currency per GB-month].
    rows
        The price rows used: ``meter``, ``product``, ``tier_min_gb``, ``price``, ``source``,
        ``as_of``.
    """

    region: str
    currency: str
    as_of: str
    pi_small_usd: float
    pi_small_max_gb: float
    pi_per_500_gb_usd: float
    storage_usd_per_gb_month: dict[str, float]
    archive_usd_per_gb_month: dict[str, float] = field(default_factory=dict)
    snapshot_prices: dict[tuple[str, str], float] = field(default_factory=dict)
    rows: pl.DataFrame = field(default_factory=pl.DataFrame, compare=False, repr=False)

    @property
    def snapshot_usd_per_gb_month(self) -> float:
        """Enhanced (Standard HDD incremental) LRS snapshot price [currency per GB-month]."""
        return self.snapshot_prices[("enhanced", "LRS")]

    @property
    def agentless_pi_factor(self) -> float:
        """The preview share of a PI for agentless VMs (S27); dated rules in
        :mod:`vmbackup.pricing_rules` decide which share a bill uses."""
        return PRICING_RULES[0].agentless_pi_factor

    def dated(self) -> str:
        """How old the prices are: the number of rows used and the range of their dates."""
        if self.rows.height == 0:
            return f"as of {self.as_of}"
        dates = self.rows["as_of"].cast(pl.String)
        low, high = str(dates.min()), str(dates.max())
        span = f"{low}" if low == high else f"{low} to {high}"
        return f"{self.rows.height} rows dated {span}"

    def sources(self) -> str:
        """One line per price row used: meter, price, as-of date and source."""
        return "\n".join(
            f"{r['meter']} ({r['product']}): {r['price']:g} {self.currency}, as of {r['as_of']}: "
            f"{r['source']}"
            for r in self.rows.iter_rows(named=True)
        )


#: What each column of a price table must hold (``datasets/prices.csv``; rows as in a file).
PRICE_COLUMNS: dict[str, Column] = {
    "region": Column("str"),
    "currency": Column("str"),
    "product": Column("str"),
    "meter": Column("str"),
    "unit": Column("str"),
    "tier_min_gb": Column("float", low=0, nullable=True),
    "price": Column("float", low=0),
    "source": Column("str"),
    "as_of": Column("str"),
}


def prices_from_frame(
    frame: pl.DataFrame, region: str | None = None, currency: str | None = None
) -> Prices:
    """Check a price table and turn one region's rows in one currency into :class:`Prices`.

    Parameters
    ----------
    frame
        The table (schema of ``datasets/prices.csv``).
    region
        Region to take; None: the table's only region.
    currency
        Currency to take; None: the region's only currency, or USD if it has several.

    Raises
    ------
    ValueError
        Reservation rows (``Backup Reserved Capacity``, 100 TB or 1 PB blocks, P7), unknown
        meters, negative prices, a missing meter, or a region or currency not in the table.
    """
    frame = check_frame(frame, PRICE_COLUMNS, name="price table", row_offset=2, label="meter")
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
    currencies = rows["currency"].unique(maintain_order=True).to_list()
    if currency is None:
        currency = currencies[0] if len(currencies) == 1 else "USD"
    if currency not in currencies:
        raise ValueError(
            f"currency={currency!r} not in the price table for region {region!r}; "
            f"choose one of {currencies}"
        )
    rows = rows.filter(pl.col("currency") == currency)

    def price(meter: str, tier: float | None = None, product: str | None = None) -> float:
        chosen = rows.filter(pl.col("meter") == meter)
        if tier is not None:
            chosen = chosen.filter(pl.col("tier_min_gb") == tier)
        if product is not None:
            chosen = chosen.filter(pl.col("product") == product)
        if chosen.height != 1:
            what = f"meter {meter!r}" + (f" with tier_min_gb={tier}" if tier is not None else "")
            what += f" of product {product!r}" if product is not None else ""
            raise ValueError(
                f"region {region!r} ({currency}): expected one row for {what}, "
                f"found {chosen.height}"
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
        currency=currency,
        as_of=str(rows["as_of"].max()),
        pi_small_usd=price(PI_METER, 0),
        pi_small_max_gb=float(pi_tiers[1]),
        pi_per_500_gb_usd=price(PI_METER, pi_tiers[1]),
        storage_usd_per_gb_month={r: price(f"Standard {r} Data Stored") for r in REDUNDANCIES},
        archive_usd_per_gb_month={
            r: price(f"Archive {r} Data Stored") for r in ARCHIVE_REDUNDANCIES
        },
        snapshot_prices={
            **{
                ("enhanced", r): price(f"{r} Snapshots", product=SNAPSHOT_PRODUCTS["enhanced"])
                for r in SNAPSHOT_REDUNDANCIES
            },
            ("standard", "LRS"): price(STANDARD_SNAPSHOT_METER),
        },
        rows=rows.select("meter", "product", "tier_min_gb", "price", "source", "as_of"),
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
    The service description's example VM (an A-series size): 17 GB OS, 30 GB and 0 GB on two
    32 TB data disks, 5 GB on the temporary disk.

    >>> protected_instance_gb(17, [30, 0], temp_disk_used_gb=5)
    47.0
    """
    os_gb = non_negative("os_disk_used_gb", os_disk_used_gb)
    data = non_negative_array("data_disks_used_gb", data_disks_used_gb)
    if data.ndim != 1:
        raise ValueError(f"data_disks_used_gb={data_disks_used_gb!r:.60} must be a list of sizes")
    non_negative("temp_disk_used_gb", temp_disk_used_gb)
    return os_gb + float(data.sum())


def pi_units(size_gb: npt.ArrayLike, small_max_gb: float = 50.0) -> npt.NDArray[np.float64]:
    """Billing units of a PI (P1): 0 for a small instance, else one per started 500 GB.

    >>> pi_units([47, 50, 51, 500, 501, 2000]).tolist()
    [0.0, 0.0, 1.0, 1.0, 2.0, 4.0]
    """
    size = non_negative_array("size_gb", size_gb)
    return np.where(size <= small_max_gb, 0.0, np.ceil(size / 500.0))


def pi_basis(
    size_gb: npt.ArrayLike,
    consistency: str = "application",
    *,
    day: npt.ArrayLike | None = None,
    provisioned_gb: npt.ArrayLike | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The size a PI fee is charged on [GB] and the share of a PI charged (S26, S27, G1).

    Agent-based VMs: their used data, a full PI. Agentless (``"crash"``) VMs by the pricing
    rules of ``day``: their used data at half a PI in preview (S27); from GA half their
    provisioned size at a full PI (G1). :func:`pi_fee_usd_per_month` prices the result.

    >>> size, share = pi_basis(47, "crash", day=dt.date(2026, 6, 1), provisioned_gb=400)
    >>> float(size), float(share)
    (200.0, 1.0)
    """
    kind = choice("consistency", consistency, ("application", "crash"))
    size = non_negative_array("size_gb", size_gb)
    if kind != "crash":
        return size, np.ones(size.shape)
    rule = np.zeros(size.shape, np.int64) if day is None else rules_on(day)
    factor = np.array([r.agentless_pi_factor for r in PRICING_RULES])[rule]
    on_provisioned = np.array([r.agentless_size_basis == "provisioned" for r in PRICING_RULES])[
        rule
    ]
    share = np.array([r.agentless_provisioned_share for r in PRICING_RULES])[rule]
    if np.any(on_provisioned):
        if provisioned_gb is None:
            raise ValueError(
                "provisioned_gb=None: from GA (2025-08-01) an agentless crash-consistent VM "
                "pays a full PI on 50% of its provisioned size (G1); give the provisioned "
                "size of its backed-up disks"
            )
        provisioned = non_negative_array("provisioned_gb", provisioned_gb)
        size = np.where(on_provisioned, share * provisioned, size)
    return np.asarray(size, dtype=np.float64), np.asarray(factor, dtype=np.float64)


def pi_fee_usd_per_month(
    size_gb: npt.ArrayLike,
    prices: Prices,
    consistency: str = "application",
    *,
    day: npt.ArrayLike | None = None,
    provisioned_gb: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """Monthly protected-instance fee (P1, S27, G1).

    Parameters
    ----------
    size_gb
        Protected-instance size: the used data (S26) [GB] (scalar or array).
    prices
        The region's prices.
    consistency
        ``"application"`` (agent-based: application or file-system consistent) or ``"crash"``
        (agentless).
    day
        Date(s) the fee is for; they choose the pricing rules
        (:func:`~vmbackup.pricing_rules.rules_on`).
        None: the service description's preview rule (S27), as the seed teaches it.
    provisioned_gb
        Provisioned size of the backed-up disks [GB]: the basis of an agentless fee from GA on
        (50% of it is taken as the used size, G1). Required for agentless days under GA.

    Returns
    -------
    numpy.ndarray
        Fee [currency/month], shape of the broadcast inputs.

    Examples
    --------
    An agentless VM with 47 GB used on 400 GB of disks: half a small instance in preview
    (S27), a full large instance on 200 GB at GA (G1).

    >>> from vmbackup.data import read_prices
    >>> prices = read_prices(region="westeurope")
    >>> pi_fee_usd_per_month(47, prices, "crash", day=dt.date(2024, 6, 1)).tolist()
    2.5
    >>> ga = dt.date(2026, 6, 1)
    >>> pi_fee_usd_per_month(47, prices, "crash", day=ga, provisioned_gb=400).tolist()
    10.0
    """
    instance("prices", prices, Prices, "a Prices table (vmbackup.data.read_prices)")
    size, factor = pi_basis(size_gb, consistency, day=day, provisioned_gb=provisioned_gb)
    units = pi_units(size, prices.pi_small_max_gb)
    fee = np.where(units == 0, prices.pi_small_usd, units * prices.pi_per_500_gb_usd)
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
        date_value("day", self.day)
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


def snapshot_meter(
    prices: Prices, policy_type: str, trusted_launch: bool = False, redundancy: str | None = None
) -> tuple[str, str, str, float]:
    """The meter, product, redundancy and price of a VM's Instant Restore snapshots (G8, G9).

    Priced by the policy type that takes them, never by the disk's media: an Enhanced policy's
    snapshots (and a Trusted Launch VM's under Standard, G8) are managed-disk incremental
    snapshots on Standard HDD storage, ZRS by default (where the region has ZRS) or LRS; a
    Standard policy's use their own price row (``Standard Policy Snapshots``), whatever the
    redundancy asked, and appear on the invoice as Azure shows them, on the ``LRS Snapshots``
    meter (G9.2: Microsoft's Japan support blog's invoice example), so that a cost export
    reconciles line by line.

    Parameters
    ----------
    prices
        The region's prices.
    policy_type
        ``"standard"`` or ``"enhanced"``.
    trusted_launch
        A Trusted Launch VM (its snapshots are Enhanced-style under either policy type, G8).
    redundancy
        ``"LRS"`` or ``"ZRS"`` for Enhanced-style snapshots; None: ZRS.

    Returns
    -------
    tuple
        ``(meter, product, redundancy, price)``: the invoice's meter and product, the price in
        currency per GB-month.

    Examples
    --------
    >>> from vmbackup.data import read_prices
    >>> prices = read_prices(region="eastus")
    >>> snapshot_meter(prices, "enhanced")
    ('ZRS Snapshots', 'Standard HDD Managed Disks', 'ZRS', 0.05)
    >>> snapshot_meter(prices, "standard", trusted_launch=True, redundancy="LRS")[0]
    'LRS Snapshots'
    >>> snapshot_meter(prices, "standard")
    ('LRS Snapshots', 'Instant Restore Snapshots (Standard policy)', 'LRS', 0.12)
    """
    choice("policy_type", policy_type, ("standard", "enhanced"))
    if policy_type == "enhanced" or trusted_launch:
        red = choice("snapshot_redundancy", redundancy or "ZRS", SNAPSHOT_REDUNDANCIES)
        price = prices.snapshot_prices[("enhanced", red)]
        return f"{red} Snapshots", SNAPSHOT_PRODUCTS["enhanced"], red, price
    if redundancy is not None:
        choice("snapshot_redundancy", redundancy, SNAPSHOT_REDUNDANCIES)
    price = prices.snapshot_prices[("standard", "LRS")]
    return "LRS Snapshots", SNAPSHOT_PRODUCTS["standard"], "LRS", price


def instant_restore_gb(
    policy: Policy,
    used_gb: npt.ArrayLike,
    daily_churn_gb: npt.ArrayLike,
    *,
    rule: npt.ArrayLike,
    age_days: npt.ArrayLike | None = None,
    trusted_launch: bool = False,
    overlap: str | float = "trace",
) -> npt.NDArray[np.float64]:
    """Instant Restore snapshot storage of a VM under ``policy`` (P4, G8, G9) [GB].

    The one formula the single-VM bill and the fleet bill share: the snapshots a day of the
    schedule (several under Enhanced hourly), ``instant_restore_days`` of them kept (built up
    over the first days when ``age_days`` is given), the first one full under Enhanced or for a
    Trusted Launch VM (G8), plus the expired snapshots not yet cleaned up (G9).

    Parameters
    ----------
    policy
        The backup policy.
    used_gb, daily_churn_gb
        Used data and data changed per day [GB] (arrays broadcast together).
    rule
        Index of the pricing rules in force (:func:`vmbackup.pricing_rules.rules_on`).
    age_days
        Days since the first backup (1 on its day); None: steady state.
    trusted_launch
        Snapshots billed like Enhanced ones even under a Standard policy (G8).
    overlap
        How changes overlap within a day (:func:`vmbackup.retention.distinct_change_gb`;
        default the trace-fitted pool, A32).
    """
    per_day = policy.backups_per_day() if policy.frequency == "hourly" else 1
    ir_days = int(policy.instant_restore_days or 1)
    index = np.asarray(rule, dtype=np.int64)
    lag_hours = np.array([r.snapshot_cleanup_lag_hours for r in PRICING_RULES])[index]
    most = np.array([r.snapshot_cleanup_max_extra for r in PRICING_RULES])[index]
    extra = np.minimum(np.ceil(lag_hours / (24.0 / per_day)), most)
    if age_days is None:
        kept: npt.ArrayLike = ir_days
        extra_now: npt.ArrayLike = extra
    else:
        age = np.asarray(age_days)
        kept = np.clip(age, 0, ir_days)  # snapshots build up over the first days
        extra_now = np.where(age > ir_days, extra, 0.0)
    kind = "enhanced" if policy.policy_type == "enhanced" or trusted_launch else "standard"
    return snapshot_storage_gb(
        kind,
        used_gb,
        daily_churn_gb,
        kept,
        snapshots_per_day=per_day,
        extra_snapshots=extra_now,
        overlap=overlap,
    )


def _sizes_by_disk(
    policy_type: str, used: npt.NDArray[np.float64], excluded_gb: float, os_disk_only: bool
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """G6: (PI size, vault data, snapshot data) of a VM backing up only some disks [GB]."""
    included = np.maximum(used - excluded_gb, 0.0)
    if policy_type == "enhanced":
        return included, included, included
    return (included if os_disk_only else used), included, used


def _daily(
    events: Iterable[Event],
    *,
    until: dt.date,
    policy: Policy,
    prices: Prices,
    daily_churn_fraction: float = 0.03,
    redundancy: str = "GRS",
    soft_delete_days: int = 14,
    provisioned_gb: float | None = None,
    excluded_gb: float = 0.0,
    os_disk_only: bool = False,
    trusted_launch: bool = False,
    snapshot_redundancy: str | None = None,
    cross_region_restore: bool = False,
    overlap: str | float = "trace",
    weekly_churn_fraction: float | None = None,
    monthly_churn_fraction: float | None = None,
    yearly_churn_fraction: float | None = None,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Day by day quantities of one VM's bill, and the meter each quantity is billed on."""
    if isinstance(events, str | bytes | dict) or not isinstance(events, Iterable):
        raise ValueError(f"events={events!r:.60} must be a list of Event")
    timeline = list(events)
    for number, event in enumerate(timeline):
        instance(f"events[{number}]", event, Event, "an Event")
    if not timeline:
        raise ValueError("events=[] must start with a 'protect' event giving used_gb")
    instance("policy", policy, Policy, "a vmbackup.policy.Policy")
    instance("prices", prices, Prices, "a Prices table (vmbackup.data.read_prices)")
    date_value("until", until)
    if (until - timeline[0].day).days > MAX_BILL_DAYS:
        raise ValueError(
            f"until={until} is more than {MAX_BILL_DAYS // 365} years after the first event"
        )
    once = _check_order(timeline)
    redundancy = choice("redundancy", redundancy, REDUNDANCIES)
    _pool_days(overlap)  # checked once, at the boundary
    churn = non_negative("daily_churn_fraction", daily_churn_fraction)
    if churn > 1:
        raise ValueError(f"daily_churn_fraction={daily_churn_fraction!r} must be between 0 and 1")
    period = PeriodChurn(weekly_churn_fraction, monthly_churn_fraction, yearly_churn_fraction)
    _check_rising((churn, *period.fractions()), daily="daily_churn_fraction")
    whole("soft_delete_days", soft_delete_days, 14, 180)
    excluded = non_negative("excluded_gb", excluded_gb)
    os_only = flag("os_disk_only", os_disk_only)
    trusted = flag("trusted_launch", trusted_launch)
    crr = flag("cross_region_restore", cross_region_restore)
    if crr and redundancy not in ("GRS", "RA-GRS"):
        raise ValueError(
            f"cross_region_restore=True needs a GRS vault; redundancy={redundancy!r} (G10)"
        )
    snap_meter, snap_product, snap_red, snap_price = snapshot_meter(
        prices, policy.policy_type, trusted, snapshot_redundancy
    )
    start = once["protect"]
    if until < start:
        raise ValueError(f"until={until} is before the 'protect' event on {start}")
    days = pl.date_range(start, until, "1d", eager=True)
    n = days.len()
    index = np.arange(n)
    day_np = days.to_numpy().astype("datetime64[D]")
    rule = rules_on(day_np)

    def day_of(kind: str) -> int:
        return (once[kind] - start).days if kind in once else n + 10**6

    first, stop, delete = day_of("first-backup"), day_of("stop"), day_of("delete")
    sizes = [(e.day - start).days for e in timeline if e.used_gb is not None]
    values = [float(e.used_gb) for e in timeline if e.used_gb is not None]
    used = np.asarray(values)[np.searchsorted(sizes, index, side="right") - 1]
    pi_used, vault_used, snap_used = _sizes_by_disk(policy.policy_type, used, excluded, os_only)
    protected = (index >= first) & (index < stop)
    retained = (index >= first) & (index < delete)
    free_days = np.array([r.soft_delete_free_days for r in PRICING_RULES])[rule]
    soft = (index >= delete) & (index < delete + soft_delete_days)
    soft_billed = soft & (index < delete + soft_delete_days - free_days)
    billed = retained | soft_billed

    # PI size: the current data while protected; the last successful backup's after stop (S25)
    last = min(stop, n) - 1
    last_size = pi_used[last] if first <= last else 0.0
    pi_size = np.where(protected, pi_used, np.where(billed, last_size, 0.0))
    charged = billed & (index >= first)
    pi_monthly = np.zeros(n)
    if charged.any():
        pi_monthly[charged] = pi_fee_usd_per_month(
            pi_size[charged],
            prices,
            policy.consistency,
            day=day_np[charged],
            provisioned_gb=provisioned_gb,
        )
    small = pi_units(pi_size, prices.pi_small_max_gb) == 0

    standard_gb, archive_gb, early_gb_days = np.zeros(n), np.zeros(n), np.zeros(n)
    storage_price = prices.storage_usd_per_gb_month["RA-GRS" if crr else redundancy]
    archive_red = "GRS" if redundancy in ("GRS", "RA-GRS") else "LRS"
    archive_price = prices.archive_usd_per_gb_month[archive_red]
    if first < n:
        span = slice(first, n)
        churn_gb = churn * vault_used[span]
        points = vault_points(
            policy, days[first:], backing_up=protected[span], frozen_from=once.get("stop")
        )
        tiering = policy.tiering
        plan = archive_moves(
            points,
            vault_used[span],
            churn_gb,
            mode=tiering.mode if tiering is not None else "DoNotTier",
            after_days=tiering.after_days if tiering is not None else None,
            last_move_day=stop - first,
            standard_price=storage_price,
            archive_price=archive_price,
            overlap=overlap,
            period_churn=period,
        )
        standard_gb[span] = chain_storage_gb(
            points["created_day"].to_numpy(),
            plan.standard_expires(),
            vault_used[span],
            churn_gb,
            overlap=overlap,
            period_churn=period,
        )
        archive_gb[span] = plan.archive_gb(n - first)
        early_gb_days[span] = _early_deletion(plan, delete - first, n - first)
    kept_at_delete = standard_gb[delete - 1] if 0 < delete <= n else 0.0
    standard_gb = np.where(retained, standard_gb, np.where(soft, kept_at_delete, 0.0))
    archive_gb = np.where(retained, archive_gb, 0.0)

    # snapshots (P4, G8, G9): several a day under Enhanced hourly; clean-up lag adds a few
    ir_days = int(policy.instant_restore_days or 1)
    lag_hours = np.array([r.snapshot_cleanup_lag_hours for r in PRICING_RULES])[rule]
    snapshots = instant_restore_gb(
        policy,
        snap_used,
        churn * snap_used,
        rule=rule,
        age_days=index - first + 1,
        trusted_launch=trusted,
        overlap=overlap,
    )
    lag_days = math.ceil(float(lag_hours.max()) / 24.0) if n else 0
    snapshot_gb_day = np.where(
        (index >= first) & (index < stop + ir_days + lag_days), snapshots, 0.0
    )

    daily = pl.DataFrame(
        {
            "day": days,
            "rules": [PRICING_RULES[i].name for i in rule],
            "billed": billed,
            "pi_size_gb": pi_size,
            "pi_monthly_usd": pi_monthly,
            "pi_small": small & (pi_monthly > 0),
            "vault_gb": standard_gb,
            "vault_billed_gb": np.where(billed, standard_gb, 0.0),
            "archive_gb": archive_gb,
            "archive_early_gb_days": early_gb_days,
            "snapshot_gb": snapshot_gb_day,
        }
    ).with_columns(
        month=pl.col("day").dt.truncate("1mo"),
        days_in_month=pl.col("day").dt.month_end().dt.day(),
    )
    meters = {
        "vault": f"Standard {'RA-GRS' if crr else redundancy} Data Stored",
        "archive": f"Archive {archive_red} Data Stored",
        "snapshot": snap_meter,
        "snapshot_product": snap_product,
        "snapshot_redundancy": snap_red,
        "storage_price": repr(storage_price),
        "archive_price": repr(archive_price),
        "snapshot_price": repr(snap_price),
    }
    return daily, meters


def _early_deletion(plan: ArchivePlan, delete: int, n: int) -> npt.NDArray[np.float64]:
    """GB-days of archive early-deletion charge, on the day each archived point leaves (G7)."""
    moved = plan.points.filter(pl.col("move_day") >= 0)
    charge = np.zeros(n)
    if moved.height == 0:
        return charge
    gone = np.minimum(moved["expires_day"].to_numpy(), delete)
    inside = (gone < n) & (gone >= moved["move_day"].to_numpy())
    gb_days = ArchivePlan(moved).early_deletion_gb_days(gone)
    np.add.at(charge, gone[inside], gb_days[inside])
    return charge


def monthly_bill(
    events: Iterable[Event],
    *,
    until: dt.date,
    policy: Policy,
    prices: Prices,
    daily_churn_fraction: float = 0.03,
    redundancy: str = "GRS",
    soft_delete_days: int = 14,
    provisioned_gb: float | None = None,
    excluded_gb: float = 0.0,
    os_disk_only: bool = False,
    trusted_launch: bool = False,
    snapshot_redundancy: str | None = None,
    cross_region_restore: bool = False,
    overlap: str | float = "trace",
    weekly_churn_fraction: float | None = None,
    monthly_churn_fraction: float | None = None,
    yearly_churn_fraction: float | None = None,
) -> pl.DataFrame:
    """The monthly bill of one VM over its lifecycle (S23-S28, P1-P5, G1, G5-G10).

    Parameters
    ----------
    events
        The VM's lifecycle in date order (see :class:`Event`).
    until
        Last day billed (inclusive).
    policy
        Its backup policy (retention, Instant Restore days, type, consistency, tiering).
    prices
        The region's prices.
    daily_churn_fraction
        Share of the used data changed per day (P6: typically 0.02-0.07).
    redundancy
        Vault storage redundancy: ``"LRS"``, ``"ZRS"``, ``"GRS"`` or ``"RA-GRS"``.
    soft_delete_days
        Days deleted data is kept (14-180); all but the last 14 are billed (G5).
    provisioned_gb
        Provisioned size of the backed-up disks [GB]; needed for agentless VMs from GA (G1).
    excluded_gb
        Used data on data disks excluded from backup [GB] (selective disk backup, G6).
    os_disk_only
        Whether only the OS disk is backed up (G6: then a Standard policy's PI counts it alone).
    trusted_launch
        A Trusted Launch VM: its snapshots are billed like Enhanced ones (G8).
    snapshot_redundancy
        Enhanced-style snapshots: ``"LRS"`` or ``"ZRS"`` (default ZRS); a Standard policy's
        snapshots have one price row whatever it says (:func:`snapshot_meter`, G9).
    cross_region_restore
        Cross-region restore on a GRS vault: vault storage billed at the RA-GRS price (G10).
    overlap
        How several days' changes overlap (:func:`vmbackup.retention.distinct_change_gb`):
        ``"trace"`` (default, A32), ``"random"``, ``"sequential"`` (the no-overlap upper
        bound) or a pool size [days of churn].
    weekly_churn_fraction, monthly_churn_fraction, yearly_churn_fraction
        Churn per point kind (P6, :class:`vmbackup.retention.PeriodChurn`): the share of the
        used data changed (distinct) over a week, a 31-day month and a year; a vault point's
        increment over ``N`` days follows the curve through them. None: the overlap model's
        value at that period. They may not decrease, nor fall below ``daily_churn_fraction``.

    Returns
    -------
    polars.DataFrame
        One row per calendar month from the ``protect`` month to ``until``: ``month`` (first day),
        ``days_billed``, ``pi_size_gb`` (at month end), ``vault_gb``, ``archive_gb`` and
        ``snapshot_gb`` (month averages), ``pi_fee_usd``, ``vault_storage_usd``,
        ``archive_storage_usd`` (with early-deletion charges), ``snapshot_storage_usd``,
        ``total_usd`` (amounts in the prices' currency) and ``rules`` (the pricing rules in force
        at month end).
    """
    daily, meters = _daily(
        events,
        until=until,
        policy=policy,
        prices=prices,
        daily_churn_fraction=daily_churn_fraction,
        redundancy=redundancy,
        soft_delete_days=soft_delete_days,
        provisioned_gb=provisioned_gb,
        excluded_gb=excluded_gb,
        os_disk_only=os_disk_only,
        trusted_launch=trusted_launch,
        snapshot_redundancy=snapshot_redundancy,
        cross_region_restore=cross_region_restore,
        overlap=overlap,
        weekly_churn_fraction=weekly_churn_fraction,
        monthly_churn_fraction=monthly_churn_fraction,
        yearly_churn_fraction=yearly_churn_fraction,
    )
    storage, archive = float(meters["storage_price"]), float(meters["archive_price"])
    snapshot = float(meters["snapshot_price"])
    dim = pl.col("days_in_month")
    return (
        daily.group_by("month", maintain_order=True)
        .agg(
            days_billed=pl.col("billed").sum(),
            pi_size_gb=pl.col("pi_size_gb").last(),
            vault_gb=pl.col("vault_gb").mean(),
            archive_gb=pl.col("archive_gb").mean(),
            snapshot_gb=pl.col("snapshot_gb").mean(),
            pi_fee_usd=(pl.col("pi_monthly_usd") / dim).sum(),
            vault_storage_usd=(pl.col("vault_billed_gb") * storage / dim).sum(),
            archive_storage_usd=(
                (pl.col("archive_gb") + pl.col("archive_early_gb_days")) * archive / dim
            ).sum(),
            snapshot_storage_usd=(pl.col("snapshot_gb") * snapshot / dim).sum(),
            rules=pl.col("rules").last(),
        )
        .with_columns(
            total_usd=pl.col("pi_fee_usd")
            + pl.col("vault_storage_usd")
            + pl.col("archive_storage_usd")
            + pl.col("snapshot_storage_usd")
        )
    )


def meter_bill(
    events: Iterable[Event],
    *,
    until: dt.date,
    policy: Policy,
    prices: Prices,
    vm: str = "vm",
    **options: object,
) -> pl.DataFrame:
    """One VM's bill per month and meter, as the lines of an invoice (P7, H3).

    Takes the arguments of :func:`monthly_bill` (``options`` are its keyword options) and the
    VM's name. The lines add up to :func:`monthly_bill`'s ``total_usd`` month by month.

    Returns
    -------
    polars.DataFrame
        ``month``, ``vm``, ``meter`` (Retail Prices API meter name), ``product``, ``unit``,
        ``quantity`` (instance-months or GB-months), ``unit_price`` and ``cost`` (the prices'
        currency); lines with zero quantity are left out. The protected-instance meter appears
        once per tier used (small instance, each started 500 GB).
    """
    daily, meters = _daily(events, until=until, policy=policy, prices=prices, **options)  # type: ignore[arg-type]
    dim = pl.col("days_in_month")
    # PI: the small tier counts instances, the large tier started 500 GB blocks; the agentless
    # share (0.5 in preview) scales the quantity
    units = pl.col("pi_monthly_usd") / pl.when(pl.col("pi_small")).then(
        pl.lit(prices.pi_small_usd)
    ).otherwise(pl.lit(prices.pi_per_500_gb_usd))
    quantities = daily.with_columns(
        pi_small_q=pl.when(pl.col("pi_small")).then(units).otherwise(0.0).fill_nan(0.0) / dim,
        pi_large_q=pl.when(~pl.col("pi_small")).then(units).otherwise(0.0).fill_nan(0.0) / dim,
        vault_q=pl.col("vault_billed_gb") / dim,
        archive_q=(pl.col("archive_gb") + pl.col("archive_early_gb_days")) / dim,
        snapshot_q=pl.col("snapshot_gb") / dim,
    )
    monthly = quantities.group_by("month", maintain_order=True).agg(
        pl.col("pi_small_q", "pi_large_q", "vault_q", "archive_q", "snapshot_q").sum()
    )
    lines = [
        ("pi_small_q", PI_METER, "Backup", "1/Month", prices.pi_small_usd),
        ("pi_large_q", PI_METER, "Backup", "1/Month", prices.pi_per_500_gb_usd),
        ("vault_q", meters["vault"], "Backup", "1 GB/Month", float(meters["storage_price"])),
        ("archive_q", meters["archive"], "Backup", "1 GB/Month", float(meters["archive_price"])),
        (
            "snapshot_q",
            meters["snapshot"],
            meters["snapshot_product"],
            "1 GB/Month",
            float(meters["snapshot_price"]),
        ),
    ]
    frames = [
        monthly.select(
            "month",
            vm=pl.lit(vm),
            meter=pl.lit(meter),
            product=pl.lit(product),
            unit=pl.lit(unit),
            quantity=pl.col(column),
            unit_price=pl.lit(price),
            cost=pl.col(column) * price,
        )
        for column, meter, product, unit, price in lines
    ]
    return pl.concat(frames).filter(pl.col("quantity") > 1e-12).sort("month", maintain_order=True)


def whatif_bill(
    *,
    used_gb: float,
    prices: Prices,
    policy: Policy,
    daily_churn_fraction: float = 0.03,
    redundancy: str = "GRS",
    months: int = 12,
    start: dt.date = dt.date(2026, 1, 1),
    **options: object,
) -> pl.DataFrame:
    """The bill of a VM protected from ``start`` for ``months`` months, first backup that day.

    A shortcut for :func:`monthly_bill` with a ``protect`` and a ``first-backup`` event on
    ``start``; the same columns. ``options`` are :func:`monthly_bill`'s keyword options
    (``provisioned_gb``, ``excluded_gb``, ``cross_region_restore``, ...). Up to 120 months.
    """
    whole("months", months, 1, 120)
    date_value("start", start)
    end = (pl.Series([start]).dt.offset_by(f"{months}mo").dt.offset_by("-1d"))[0]
    return monthly_bill(
        [Event("protect", start, used_gb=used_gb), Event("first-backup", start)],
        until=end,
        policy=policy,
        prices=prices,
        daily_churn_fraction=daily_churn_fraction,
        redundancy=redundancy,
        **options,  # type: ignore[arg-type]
    )
