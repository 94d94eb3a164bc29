"""Model meets the bill: modelled against invoiced cost per VM, meter and month, and the likely
reason for each difference (items S24, S28, P1, P4, G5, G9, H3).

The modelled side is the project's billing engine (:func:`vmbackup.fleet.fleet_bill_lines`, the
rules of :mod:`vmbackup.billing` and :mod:`vmbackup.pricing_rules`) run on the estate, its
policies and, when a fit of the estate's job history is given, each VM's own churn
(:mod:`vmbackup.calibrate`); otherwise the churn classes (P6). The engine bills every VM from
``protected_since`` (its first backups; from the history when a fit is given); the window of the
export is cut out by billing up to its last day less billing up to the day before its first (the
engine never lets a day's charge depend on later days).

A difference is reported when, summed over the window for one VM and meter, it is at least
``absolute_tolerance`` (in the bill's currency) and at least ``relative_tolerance`` of the larger
side. Each is given the likely reason the evidence supports:

- **stopped but retained** (S24): billed, not in the estate, and the Backup reports
  (``CoreAzureBackup``) show protection stopped; **soft-deleted** (G5): the same with the item
  deleted (``State`` Deleted); without reports, either;
- **PI tier at a size boundary** (P1): the protected-instance charge is what the neighbouring
  tier would cost and the estate's size is within :data:`BOUNDARY_SHARE` of a tier boundary
  (50 GB, or a multiple of 500 GB);
- **retention longer than the policy implies** (S28, Y3): more stored data than the engine
  puts in the vault while the churn is the estate's own (a fit); without a fit the churn class
  may be the cause, and the reason says so;
- **snapshot costs outside the vault's meters** (P4, G9): the engine models Instant Restore
  snapshots but the export holds no snapshot line (they are billed by the managed-disk service
  in the ``AzureBackupRG_<region>_1`` resource group, often left out of a vault's cost view);
- **a unit price other than the price table's** (a negotiated or another region's price).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import Column, check_frame, choice, date_value, instance, non_negative
from vmbackup.billing import PI_METER, REDUNDANCIES, Prices
from vmbackup.calibrate import HistoryFit
from vmbackup.fleet import FleetPlan, fleet_bill_lines, fleet_plan
from vmbackup.policy import Policy
from vmbackup.schema import FLEET_COLUMNS

__all__ = [
    "BOUNDARY_SHARE",
    "COST_COLUMNS",
    "ITEM_STATES",
    "Reconciliation",
    "describe_reconciliation",
    "modelled_window_lines",
    "reconcile",
    "unplaced_backup_meters",
]

#: Protection states of a backup item (REST ``protectionState``; CoreAzureBackup's
#: ``BackupItemProtectionState``).
ITEM_STATES = (
    "Protected",
    "IRPending",
    "ProtectionError",
    "ProtectionStopped",
    "ProtectionPaused",
    "BackupsSuspended",
    "Invalid",
)
#: What a cost table holds (``vmbackup.records.read_cost_export`` returns it).
COST_COLUMNS: dict[str, Column] = {
    "date": Column("date"),
    "month": Column("date"),
    "meter": Column("str"),
    "meter_category": Column("str"),
    "product": Column("str"),
    "unit": Column("str"),
    "quantity": Column("float", low=0),
    "unit_price": Column("float", low=0, nullable=True),
    "cost": Column("float", low=-1e12),
    "currency": Column("str"),
    "resource_id": Column("str"),
    "vm_name": Column("str", nullable=True),
    "kind": Column("str", allowed=("backup", "snapshot", "other")),
    "line": Column("int", low=1),
}
#: A protected-instance size this close to a tier boundary (a share of the boundary) can cross
#: it between the estate file and the bill (P1).
BOUNDARY_SHARE = 0.15
_ITEMS = {
    "vm_name": Column("str"),
    "protection_state": Column("str", allowed=ITEM_STATES),
    "state": Column("str", nullable=True),
    "front_end_gb": Column("float", low=0, nullable=True),
}
_STORAGE = {"vm_name": Column("str", nullable=True), "storage_gb": Column("float", low=0)}
_KEYS = ["month", "vm_name", "meter"]


def unplaced_backup_meters(costs: pl.DataFrame) -> list[str]:
    """The meters of cost lines that look like Backup's but that no project meter stands for
    (H3): kind ``other`` on a line whose MeterCategory is Backup, whose product names Backup,
    whose meter names a protected instance, or whose resource is a protected item.

    >>> costs = pl.DataFrame({"meter": ["SQL Server in Azure VM Protected Instances", "Hot LRS"],
    ...     "meter_category": ["Backup", "Storage"], "product": ["Backup", "Blob"],
    ...     "resource_id": ["", ""], "kind": ["other", "other"]})
    >>> unplaced_backup_meters(costs)
    ['SQL Server in Azure VM Protected Instances']
    """
    columns = ("meter", "meter_category", "product", "resource_id", "kind")
    costs = check_frame(costs, {c: COST_COLUMNS[c] for c in columns}, name="costs")
    lower = pl.col("meter_category").str.to_lowercase()
    looks = (
        (lower == "backup")
        | pl.col("product").str.to_lowercase().str.contains("backup", literal=True)
        | pl.col("meter").str.to_lowercase().str.contains("protected instance", literal=True)
        | pl.col("resource_id").str.to_lowercase().str.contains("/protecteditems/", literal=True)
    )
    found = costs.filter((pl.col("kind") == "other") & looks)["meter"].unique()
    return sorted(found.to_list())


@dataclass(frozen=True)
class Reconciliation:
    """What :func:`reconcile` found.

    Attributes
    ----------
    lines
        Per month, VM and meter: ``modelled_quantity``, ``invoiced_quantity``,
        ``modelled_cost``, ``invoiced_cost``, ``difference`` (invoiced less modelled; the
        bill's currency). ``vm_name`` is null for invoice lines that name only the vault.
    by_month, by_meter, by_vm
        The same summed per month; per month and meter; per VM over the window.
    findings
        The differences, largest first: ``rank``, ``vm_name`` (null for a finding about the
        whole export), ``meter``, ``modelled_cost``, ``invoiced_cost``, ``difference``,
        ``reason``, ``item`` (the rule's item), ``evidence``.
    currency
        The bill's currency.
    window
        First and last day of the export.
    protected_since
        The day the engine starts billing (the first backups).
    notes
        What the comparison assumed or left out, as sentences.
    """

    lines: pl.DataFrame
    by_month: pl.DataFrame
    by_meter: pl.DataFrame
    by_vm: pl.DataFrame
    findings: pl.DataFrame
    currency: str
    window: tuple[dt.date, dt.date]
    protected_since: dt.date
    notes: tuple[str, ...]


def modelled_window_lines(
    plan: FleetPlan,
    churn_gb_per_day: npt.ArrayLike,
    protected_since: dt.date,
    window: tuple[dt.date, dt.date],
    prices: Prices,
    redundancy: str = "GRS",
) -> pl.DataFrame:
    """The billing engine's lines (:func:`vmbackup.fleet.fleet_bill_lines`) for the days of
    ``window`` only, every VM protected from ``protected_since``: the bill to the window's last
    day less the bill to the day before its first.

    Returns
    -------
    polars.DataFrame
        ``month``, ``vm`` (index into ``plan.vm_names``), ``meter``, ``product``, ``unit``,
        ``unit_price``, ``quantity``, ``cost``; lines without quantity left out.
    """
    first, last = window
    if last < protected_since:
        return fleet_bill_lines(plan, churn_gb_per_day, protected_since, 1, prices, redundancy)[
            :0
        ].select("month", "vm", "meter", "product", "unit", "unit_price", "quantity", "cost")
    keys = ["month", "vm", "meter", "product", "unit", "unit_price"]
    whole = fleet_bill_lines(
        plan,
        churn_gb_per_day,
        protected_since,
        (last - protected_since).days + 1,
        prices,
        redundancy,
    )
    before = (first - protected_since).days
    if before > 0:
        head = fleet_bill_lines(plan, churn_gb_per_day, protected_since, before, prices, redundancy)
        whole = whole.join(head, on=keys, how="left", suffix="_before").with_columns(
            quantity=pl.col("quantity") - pl.col("quantity_before").fill_null(0.0),
            cost=pl.col("cost") - pl.col("cost_before").fill_null(0.0),
        )
    return whole.filter(pl.col("quantity") > 1e-9).select(*keys, "quantity", "cost")


def reconcile(
    fleet: pl.DataFrame,
    policies: Mapping[str, Policy],
    prices: Prices,
    costs: pl.DataFrame,
    *,
    fit: HistoryFit | None = None,
    items: pl.DataFrame | None = None,
    storage: pl.DataFrame | None = None,
    redundancy: str = "GRS",
    protected_since: dt.date | None = None,
    relative_tolerance: float = 0.10,
    absolute_tolerance: float = 1.0,
) -> Reconciliation:
    """Compare the modelled bill of ``fleet`` with an invoice (see the module notes).

    Parameters
    ----------
    fleet
        The estate (the fleet schema, one row per disk).
    policies
        The policies the fleet names, by name.
    prices
        The region's prices, in the bill's currency.
    costs
        The invoice lines (``vmbackup.records.read_cost_export``; :data:`COST_COLUMNS`).
    fit
        The estate's job history fit (:func:`vmbackup.calibrate.fit_history`): each VM's churn
        and first backup. None: churn classes, and the export's first day as the first backup.
    items, storage
        Backup reports (``vmbackup.records.read_report_items`` and ``read_report_storage``):
        evidence of stopped or deleted items, their size and their stored data.
    redundancy
        Vault storage redundancy (its meter name).
    protected_since
        The first backups' day; default: from ``fit``, else the export's first day.
    relative_tolerance, absolute_tolerance
        The smallest difference reported: a share of the larger side and an amount.

    Returns
    -------
    Reconciliation

    Raises
    ------
    ValueError
        A table or argument that does not hold what is allowed (naming it), prices in another
        currency than the bill, or no backup line in the bill.
    """
    instance("prices", prices, Prices, "a Prices table (vmbackup.data.read_prices)")
    costs = check_frame(costs, COST_COLUMNS, name="costs", label="line")
    fleet = check_frame(fleet, FLEET_COLUMNS, name="fleet", label="disk_name")
    if fit is not None:
        instance("fit", fit, HistoryFit, "a HistoryFit (vmbackup.calibrate.fit_history)")
    items = check_frame(items, _ITEMS, name="items") if items is not None else None
    storage = check_frame(storage, _STORAGE, name="storage") if storage is not None else None
    redundancy = choice("redundancy", redundancy, REDUNDANCIES)
    relative = non_negative("relative_tolerance", relative_tolerance, high=1.0)
    absolute = non_negative("absolute_tolerance", absolute_tolerance)
    billed = costs.filter(pl.col("kind") != "other")
    if billed.height == 0:
        raise ValueError("costs: no Azure VM backup line (kind 'backup' or 'snapshot')")
    currency = str(billed["currency"][0])
    if currency.upper() != prices.currency.upper():
        raise ValueError(
            f"costs are in {currency}, prices in {prices.currency}: read the prices in the "
            "bill's currency (read_prices(currency=...))"
        )
    first, last = billed["date"].min(), billed["date"].max()
    assert isinstance(first, dt.date)
    assert isinstance(last, dt.date)
    since = _since(protected_since, fit, first)
    plan = fleet_plan(fleet, policies)
    churn, churn_source = _churn(plan, fit)
    modelled = modelled_window_lines(plan, churn, since, (first, last), prices, redundancy)
    modelled = modelled.with_columns(
        vm_name=pl.lit(pl.Series(plan.vm_names, dtype=pl.String)).gather(pl.col("vm"))
    ).select([*_KEYS, "quantity", "cost", "unit_price"])
    invoiced = billed.group_by(_KEYS).agg(pl.col("quantity").sum(), pl.col("cost").sum())
    lines = (
        modelled.rename(
            {"quantity": "modelled_quantity", "cost": "modelled_cost", "unit_price": "model_price"}
        )
        .join(
            invoiced.rename({"quantity": "invoiced_quantity", "cost": "invoiced_cost"}),
            on=_KEYS,
            how="full",
            coalesce=True,
            nulls_equal=True,
        )
        .with_columns(
            pl.col(
                "modelled_quantity", "modelled_cost", "invoiced_quantity", "invoiced_cost"
            ).fill_null(0.0)
        )
        .with_columns(difference=pl.col("invoiced_cost") - pl.col("modelled_cost"))
        .sort("month", "vm_name", "meter", nulls_last=True)
    )
    sums = [pl.col(c).sum() for c in ("modelled_cost", "invoiced_cost", "difference")]
    by_month = lines.group_by("month").agg(sums).sort("month")
    by_meter = lines.group_by("month", "meter").agg(sums).sort("month", "meter")
    by_vm = (
        lines.filter(pl.col("vm_name").is_not_null())
        .group_by("vm_name")
        .agg(sums)
        .sort("difference", descending=True)
    )
    evidence = _Evidence(plan, prices, items, storage, fit is not None, first)
    findings = _findings(lines, evidence, relative, absolute, _unplaced_rows(costs))
    notes = [
        f"modelled from {since} (first backups) with each VM's churn from {churn_source}; "
        f"the bill's window {first} to {last}, {currency}, vault storage {redundancy}",
    ]
    vault_level = lines.filter(pl.col("vm_name").is_null())
    if vault_level.height:
        notes.append(
            f"{float(vault_level['invoiced_cost'].sum()):,.2f} {currency} of the bill names only "
            "the vault: counted per meter and month, not per VM"
        )
    others = costs.filter(pl.col("kind") == "other")
    unplaced = unplaced_backup_meters(costs)
    if unplaced:
        notes.append(
            f"Backup lines of meters the model could not place, left out of the comparison "
            f"and reported as a finding (H3): {', '.join(unplaced)}"
        )
    if others.height:
        notes.append(
            f"{others.height} lines of other meters ({float(others['cost'].sum()):,.2f} "
            f"{currency}) left out"
        )
    return Reconciliation(
        lines=lines.drop("model_price"),
        by_month=by_month,
        by_meter=by_meter,
        by_vm=by_vm,
        findings=findings,
        currency=currency,
        window=(first, last),
        protected_since=since,
        notes=tuple(notes),
    )


def _since(given: dt.date | None, fit: HistoryFit | None, first: dt.date) -> dt.date:
    if given is not None:
        return date_value("protected_since", given)
    if fit is not None:
        firsts = fit.vms["first_backup"].drop_nulls()
        if firsts.len():
            earliest = firsts.min()
            assert isinstance(earliest, dt.date)
            return min(earliest, first)
    return first


def _churn(plan: FleetPlan, fit: HistoryFit | None) -> tuple[npt.NDArray[np.float64], str]:
    """Each VM's mean daily churn [GB]: the fit's where it has one, else the class share of its
    used data (P6), as the fleet simulation draws it."""
    default = plan.churn_share * plan.pi_size_gb
    if fit is None:
        return default, "the churn classes (P6)"
    fitted = dict(
        fit.vms.filter(pl.col("churn_gb_per_day").is_not_null())
        .select("vm_name", "churn_gb_per_day")
        .iter_rows()
    )
    churn = np.array(
        [fitted.get(name, d) for name, d in zip(plan.vm_names, default, strict=True)],
        dtype=np.float64,
    )
    count = sum(name in fitted for name in plan.vm_names)
    return churn, f"the job history for {count} of {plan.vms} VMs, the churn classes otherwise"


@dataclass(frozen=True)
class _Evidence:
    plan: FleetPlan
    prices: Prices
    items: pl.DataFrame | None
    storage: pl.DataFrame | None
    fitted: bool
    first_day: dt.date

    def item(self, vm: str) -> dict[str, Any] | None:
        if self.items is None:
            return None
        found = self.items.filter(pl.col("vm_name") == vm)
        return found.row(0, named=True) if found.height else None

    def stored_gb(self, vm: str) -> float | None:
        if self.storage is None:
            return None
        found = self.storage.filter(pl.col("vm_name") == vm)
        return float(found["storage_gb"][0]) if found.height else None

    def pi_size_gb(self, vm: str) -> float | None:
        """The size the engine charges the VM's PI on [GB] (S26, G1)."""
        if vm not in self.plan.vm_names:
            return None
        index = self.plan.vm_names.index(vm)
        policy = self.plan.policies[int(self.plan.policy_index[index])]
        size = float(self.plan.pi_size_gb[index])
        if policy.consistency == "crash":
            from vmbackup.billing import pi_basis

            provisioned = float(
                np.bincount(self.plan.disk_vm, self.plan.disk_allocated_gb, self.plan.vms)[index]
            )
            basis, _ = pi_basis(
                size, "crash", day=np.datetime64(self.first_day), provisioned_gb=provisioned
            )
            size = float(basis)
        return size


def _unplaced_rows(costs: pl.DataFrame) -> list[dict[str, Any]]:
    """One finding per Backup-looking meter that no project meter stands for (H3): whatever
    its amount, so a bill the model could not read is never reported as matching."""
    rows = []
    for meter in unplaced_backup_meters(costs):
        billed = costs.filter((pl.col("kind") == "other") & (pl.col("meter") == meter))
        cost = float(billed["cost"].sum())
        rows.append(
            {
                "vm_name": None,
                "meter": meter,
                "modelled_cost": 0.0,
                "invoiced_cost": cost,
                "difference": cost,
                "reason": f"a Backup meter the model could not place ({billed.height} lines): "
                "not compared; check the meter name (another workload, or a spelling to add)",
                "item": "H3",
                "evidence": f"MeterCategory {billed['meter_category'][0]!r}, product "
                f"{billed['product'][0]!r}",
            }
        )
    return rows


def _findings(
    lines: pl.DataFrame,
    evidence: _Evidence,
    relative: float,
    absolute: float,
    unplaced: list[dict[str, Any]] | None = None,
) -> pl.DataFrame:
    """The differences worth a look, each with its likely reason, largest first; ``unplaced``
    rows (Backup meters not placed) are kept whatever their amount."""
    rows: list[dict[str, Any]] = list(unplaced or [])
    snapshot = pl.col("meter").str.ends_with("Snapshots")
    snapshots_billed = float(lines.filter(snapshot)["invoiced_cost"].sum())
    snapshots_modelled = float(lines.filter(snapshot)["modelled_cost"].sum())
    per_vm_meter = (
        lines.filter(pl.col("vm_name").is_not_null())
        .group_by("vm_name", "meter")
        .agg(
            pl.col(
                "modelled_cost",
                "invoiced_cost",
                "difference",
                "modelled_quantity",
                "invoiced_quantity",
            ).sum()
        )
    )
    if snapshots_billed == 0 and snapshots_modelled > 0:
        missing = snapshots_modelled
        if _worth(missing, missing, absolute, relative):
            rows.append(
                {
                    "vm_name": None,
                    "meter": "LRS/ZRS Snapshots",
                    "modelled_cost": missing,
                    "invoiced_cost": 0.0,
                    "difference": -missing,
                    "reason": "snapshot costs outside the vault's meters: the export holds no "
                    "snapshot line, while the model bills Instant Restore snapshots",
                    "item": "P4, G9",
                    "evidence": "snapshots are billed by the managed-disk service in the "
                    "AzureBackupRG_<region>_1 resource group; export it too",
                }
            )
        per_vm_meter = per_vm_meter.filter(~snapshot)
    in_estate = set(evidence.plan.vm_names)
    for vm, group in per_vm_meter.group_by("vm_name", maintain_order=True):
        name = str(vm[0])
        modelled = float(group["modelled_cost"].sum())
        invoiced = float(group["invoiced_cost"].sum())
        if name not in in_estate:
            if _worth(invoiced - modelled, max(modelled, invoiced), absolute, relative):
                rows.append(_retired(name, group, evidence))
            continue
        vault_meters = group.filter(~pl.col("meter").str.ends_with("Snapshots"))
        if float(vault_meters["invoiced_cost"].sum()) == 0 and _worth(
            modelled, modelled, absolute, relative
        ):
            rows.append(
                _row(
                    name,
                    "all",
                    group,
                    "modelled but not billed: not protected (yet), or "
                    "billed in another subscription or export",
                    "S23",
                    "",
                )
            )
            continue
        for line in group.iter_rows(named=True):
            larger = max(line["modelled_cost"], line["invoiced_cost"])
            if _worth(line["difference"], larger, absolute, relative):
                rows.append(_explain(name, line, evidence))
    schema = {
        "vm_name": pl.String,
        "meter": pl.String,
        "modelled_cost": pl.Float64,
        "invoiced_cost": pl.Float64,
        "difference": pl.Float64,
        "reason": pl.String,
        "item": pl.String,
        "evidence": pl.String,
    }
    table = pl.DataFrame(rows, schema=schema)
    return (
        table.sort(pl.col("difference").abs(), descending=True)
        .with_row_index("rank", 1)
        .with_columns(pl.col("rank").cast(pl.Int64))
    )


def _worth(difference: float, larger: float, absolute: float, relative: float) -> bool:
    return abs(difference) >= absolute and abs(difference) >= relative * abs(larger) - 1e-12


def _row(
    vm: str | None, meter: str, group: pl.DataFrame, reason: str, item: str, evidence: str
) -> dict[str, Any]:
    return {
        "vm_name": vm,
        "meter": meter,
        "modelled_cost": float(group["modelled_cost"].sum()),
        "invoiced_cost": float(group["invoiced_cost"].sum()),
        "difference": float(group["difference"].sum()),
        "reason": reason,
        "item": item,
        "evidence": evidence,
    }


def _retired(vm: str, group: pl.DataFrame, evidence: _Evidence) -> dict[str, Any]:
    """A VM billed but not in the estate: stopped and retained, or soft-deleted (S24, G5)."""
    meters = ", ".join(sorted(group["meter"].to_list()))
    item = evidence.item(vm)
    if item is None:
        return _row(
            vm,
            meters,
            group,
            "stopped-but-retained or soft-deleted item still billed: not in the estate",
            "S24, G5",
            "no Backup report (CoreAzureBackup) to tell which",
        )
    state, protection = (item["state"] or "").lower(), item["protection_state"]
    seen = f"CoreAzureBackup: {protection}, State {item['state']}"
    if state == "deleted":
        return _row(vm, meters, group, "soft-deleted item still billed", "G5", seen)
    if protection in ("ProtectionStopped", "BackupsSuspended"):
        return _row(
            vm,
            meters,
            group,
            "stopped-but-retained item still billed (protection stopped, data kept)",
            "S24",
            seen,
        )
    return _row(
        vm,
        meters,
        group,
        "protected but not in the estate file: the estate is incomplete",
        "S23",
        seen,
    )


def _explain(vm: str, line: dict[str, Any], evidence: _Evidence) -> dict[str, Any]:
    """The likely reason of one VM's difference on one meter."""
    group = pl.DataFrame([line])
    meter = line["meter"]
    if meter == PI_METER:
        return _pi(vm, line, group, evidence)
    price = _price_only(vm, line, group)
    if price is not None:
        return price
    if meter.endswith("Data Stored"):
        stored = evidence.stored_gb(vm)
        seen = f"AddonAzureBackupStorage: {stored:,.1f} GB stored" if stored is not None else ""
        more = line["difference"] > 0
        if evidence.fitted:
            reason = (
                "retention longer than the policy implies: the vault keeps more than the "
                "policy's points at the estate's own churn"
                if more
                else "less stored than the policy's points at the estate's churn: retention "
                "shorter than the policy, or more compression"
            )
            return _row(vm, meter, group, reason, "S28, Y3", seen)
        reason = (
            "more stored than modelled: churn above its class, or retention longer than the "
            "policy implies (give the job history to tell them apart)"
            if more
            else "less stored than modelled: churn below its class (give the job history)"
        )
        return _row(vm, meter, group, reason, "P6, S28", seen)
    if meter.endswith("Snapshots"):
        reason = (
            "more snapshot storage than modelled: a full first snapshot (Enhanced, Trusted "
            "Launch) or slow clean-up"
            if line["difference"] > 0
            else "less snapshot storage than modelled: fewer Instant Restore days kept"
        )
        return _row(vm, meter, group, reason, "P4, G8, G9", "")
    return _row(vm, meter, group, "differs from the model", "H3", "")


def _pi(vm: str, line: dict[str, Any], group: pl.DataFrame, evidence: _Evidence) -> dict[str, Any]:
    """A protected-instance difference: a tier boundary crossed (P1), or a different count."""
    size = evidence.pi_size_gb(vm)
    prices = evidence.prices
    item = evidence.item(vm)
    seen = (
        f"CoreAzureBackup front-end size {item['front_end_gb']:,.1f} GB"
        if item is not None and item["front_end_gb"] is not None
        else ""
    )
    ratio = _ratio(line["invoiced_cost"], line["modelled_cost"])
    if size is not None and ratio is not None:
        small = prices.pi_small_max_gb
        units = 0 if size <= small else int(np.ceil(size / 500.0))
        fee = prices.pi_small_usd if units == 0 else units * prices.pi_per_500_gb_usd
        up = prices.pi_per_500_gb_usd * max(units + 1, 1)
        down = prices.pi_small_usd if units <= 1 else (units - 1) * prices.pi_per_500_gb_usd
        boundary_up = small if units == 0 else 500.0 * units
        boundary_down = small if units == 1 else 500.0 * max(units - 1, 0)
        near_up = boundary_up - size <= BOUNDARY_SHARE * boundary_up
        near_down = units > 0 and size - boundary_down <= BOUNDARY_SHARE * boundary_down
        for target, near, across in ((up, near_up, boundary_up), (down, near_down, boundary_down)):
            if near and fee > 0 and abs(ratio - target / fee) <= 0.05 * target / fee:
                side = "above" if target > fee else "below"
                text = (
                    f"PI tier at a size boundary: the estate says {size:,.1f} GB, the bill "
                    f"charges the tier {side} {across:,.0f} GB"
                )
                return _row(vm, line["meter"], group, text, "P1", seen)
    price = _price_only(vm, line, group)
    if price is not None:
        return price
    return _row(
        vm,
        line["meter"],
        group,
        "protected-instance charge differs: size or days protected differ from the estate",
        "P1, P3",
        seen,
    )


def _price_only(vm: str, line: dict[str, Any], group: pl.DataFrame) -> dict[str, Any] | None:
    """A difference mostly of price: the bill's unit price differs from the price table's by
    more than 1% and accounts for more of the difference than the quantity does."""
    if line["invoiced_quantity"] <= 0 or line["modelled_quantity"] <= 0:
        return None
    billed_price = line["invoiced_cost"] / line["invoiced_quantity"]
    table_price = line["modelled_cost"] / line["modelled_quantity"]
    if table_price <= 0 or abs(billed_price / table_price - 1) <= 0.01:
        return None
    by_price = (billed_price - table_price) * line["invoiced_quantity"]
    by_quantity = (line["invoiced_quantity"] - line["modelled_quantity"]) * table_price
    if abs(by_price) < abs(by_quantity):
        return None
    return _row(
        vm,
        line["meter"],
        group,
        "unit price other than the price table's (a negotiated price, or another region's)",
        "P7",
        f"unit price {billed_price:.4g} against {table_price:.4g}",
    )


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def describe_reconciliation(result: Reconciliation, top: int = 10) -> list[str]:
    """The reconciliation as lines of text for the command line."""
    instance("result", result, Reconciliation, "a Reconciliation (vmbackup.reconcile)")
    cur = result.currency
    lines = [
        f"Bill {result.window[0]} to {result.window[1]} ({cur}): modelled "
        f"{float(result.by_month['modelled_cost'].sum()):,.2f}, invoiced "
        f"{float(result.by_month['invoiced_cost'].sum()):,.2f}"
    ]
    lines += [f"  {note}" for note in result.notes]
    lines.append("Per month:")
    for row in result.by_month.iter_rows(named=True):
        lines.append(
            f"  {row['month']:%Y-%m}  modelled {row['modelled_cost']:>12,.2f}  invoiced "
            f"{row['invoiced_cost']:>12,.2f}  difference {row['difference']:>+12,.2f}"
        )
    lines.append("Per meter:")
    meters = result.by_meter.group_by("meter").agg(
        pl.col("modelled_cost", "invoiced_cost", "difference").sum()
    )
    for row in meters.sort("meter").iter_rows(named=True):
        lines.append(
            f"  {row['meter']:<32} modelled {row['modelled_cost']:>12,.2f}  invoiced "
            f"{row['invoiced_cost']:>12,.2f}  difference {row['difference']:>+12,.2f}"
        )
    if result.findings.height == 0:
        lines.append("Differences: none above the tolerances")
        return lines
    lines.append(f"Differences, largest first ({result.findings.height}):")
    for row in result.findings.head(top).iter_rows(named=True):
        who = row["vm_name"] or "(whole bill)"
        seen = f" [{row['evidence']}]" if row["evidence"] else ""
        lines.append(
            f"  {row['rank']:>2}. {who} {row['meter']}: {row['difference']:+,.2f} {cur} "
            f"(modelled {row['modelled_cost']:,.2f}, invoiced {row['invoiced_cost']:,.2f}): "
            f"{row['reason']} ({row['item']}){seen}"
        )
    return lines
