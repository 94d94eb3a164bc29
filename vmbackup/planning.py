"""The architect's plan of an estate as one object: what ``python -m vmbackup plan`` computes.

:func:`build_plan` reads the inputs an architect gives (a fleet CSV or the JSON of
``az vm list -d`` and ``az disk list``, the vault's backup items, policy files, measured used
sizes, per-VM settings), fills every gap with a stated assumption, and runs the models: a month
of jobs on the policies' real schedules (``vmbackup.fleet``), the bill per month and meter,
premium space before the first backup (S21), a restore estimate (S19, S20) and a staggering
proposal (S13). The result, an :class:`EstatePlan`, is what the command line prints and what
the HTML report (``vmbackup.report``) renders; a new section adds a field here.

This module sits beside the command line (it reads files through ``vmbackup.data``); models
never import it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import bounded, choice, whole
from vmbackup.billing import REDUNDANCIES, Prices
from vmbackup.calibrate import HistoryFit
from vmbackup.capacity import SPACE_RULES
from vmbackup.churn import CHURN_CLASS_FRACTION
from vmbackup.fleet import (
    DEFAULT_VAULT_INGEST_MB_S,
    DEFAULT_VMS_PER_VAULT,
    FLEET_START,
    FleetPlan,
    FleetResult,
    fleet_bill_lines,
    fleet_plan,
    horizon_bill,
    propose_stagger,
    simulate_fleet,
)
from vmbackup.horizon import HorizonSummary, horizon_summary
from vmbackup.onboarding import Onboarding
from vmbackup.policy import Policy
from vmbackup.restore_options import OPTIONS as RESTORE_OPTIONS
from vmbackup.retention import OVERLAP_MODELS
from vmbackup.schema import FLEET_VALUES
from vmbackup.timezones import describe_run_time, iana_zone
from vmbackup.transfer import DEFAULTS as TRANSFER_DEFAULTS

__all__ = ["Assumption", "EstatePlan", "PlanOptions", "build_plan"]

#: Days of the staggering proposal's simulation (at most the plan's).
STAGGER_DAYS = 7
#: S20: the restore estimate also deals the VMs to one account per this many VMs.
VMS_PER_SHARED_ACCOUNT = 10
#: Above this many VMs the onboarding plan skips its on-demand variant (seconds per 10,000 VMs).
ON_DEMAND_MAX_VMS = 20_000
#: Above this many VMs the RTO estimate skips each VM's restore-alone time (a second simulation).
ALONE_RTO_MAX_VMS = 100_000


@dataclass(frozen=True)
class PlanOptions:
    """What the architect gives :func:`build_plan` (the ``plan`` command's arguments).

    Parameters
    ----------
    fleet
        A fleet CSV (``datasets/README.md``) or ``az vm list -d`` JSON (with ``disks``).
    disks
        ``az disk list`` JSON, with a JSON fleet.
    items
        The vault's backup items (``az backup item list`` JSON): each VM's policy and whether
        it is protected.
    policies
        Policy JSON files (each may hold several policies); none: the samples in
        ``datasets/policies/``. One policy in all: every protected VM uses it.
    used_fraction
        Share of each disk's provisioned size taken as used data where nothing says (JSON
        fleets; assumption, G1's 50%).
    used_sizes
        A CSV of measured used sizes (``disk_name``, ``used_gb``, optional ``vm_name``).
    vm_settings
        A CSV of per-VM settings (churn class or GB/day, throughput, start time).
    churn_class
        A churn class for every VM (``low``, ``moderate``, ``high``); VM settings win.
    start_hour
        A start-time override for every VM [h in its policy's time zone]; VM settings win.
    days, start
        The simulated horizon [days] and its first day.
    years
        Also bill the estate over this many years (1 to 10) from ``start``, without simulating
        jobs (:func:`vmbackup.fleet.horizon_bill` on the simulated churn): the steady monthly
        cost, first-year and three-year totals and the month the vault stops growing
        (:func:`vmbackup.horizon.horizon_summary`). None: the simulated days only.
    overlap
        The vault's overlap model (:func:`vmbackup.retention.distinct_change_gb`): ``"trace"``
        (A32), ``"random"``, or ``"sequential"``, the no-overlap upper bound.
    seed
        Seed of the churn draws.
    prices, region, redundancy
        The price table (default ``datasets/prices.csv``), its region, the vault redundancy.
    time_zone
        The plan's clock (times printed and the lag profile's hours), default UTC.
    restore_option, restore_point_age_days
        The restore the RTO estimate assumes (``vmbackup.restore_options.OPTIONS``; R1, R2,
        G10) and the age of the point restored [days]: within the policy's Instant Restore
        days a VM restores from its snapshot.
    restore_accounts
        Target storage accounts of the shared RTO estimate (S20); None: one per 10 VMs.
    space_rules
        The premium-space check's rule set (``vmbackup.capacity.SPACE_RULES``): ``"today"``
        (default; G15: unmanaged premium disks only, per storage account) or ``"seed"`` (S21:
        every VM with premium disks).
    onboarding
        Plan the first backups (``vmbackup.onboarding``; S12, S14, S15): of the VMs whose
        first backup is pending by the backup items, or, without items, of the whole estate
        (a roll-out). The on-demand variant is planned too up to
        :data:`ON_DEMAND_MAX_VMS` VMs.
    history
        The estate's own records (``az backup job list`` JSON, Backup report CSVs; H1, H2):
        each VM's churn and throughput per disk and the lag profile are fitted from them
        (``vmbackup.calibrate``) and planned with; a VM's settings (``vm_settings``) still win.
    """

    fleet: str | Path
    disks: str | Path | None = None
    items: str | Path | None = None
    policies: tuple[str | Path, ...] = ()
    used_fraction: float = 0.5
    used_sizes: str | Path | None = None
    vm_settings: str | Path | None = None
    churn_class: str | None = None
    start_hour: float | None = None
    days: int = 30
    years: int | None = None
    overlap: str = "trace"
    start: dt.date = FLEET_START
    seed: int = 0
    prices: str | Path | None = None
    region: str | None = None
    redundancy: str = "GRS"
    time_zone: str = "UTC"
    history: tuple[str | Path, ...] = ()
    restore_option: str = "create-vm"
    restore_point_age_days: float = 1.0
    restore_accounts: int | None = None
    space_rules: str = "today"
    onboarding: bool = True


@dataclass(frozen=True)
class Assumption:
    """One gap in the inputs and what fills it: ``topic`` (``"used size"``) and ``text``
    (``"50% of allocated, assumed ..."``); ``assumed`` is False for a line that only says
    where a figure comes from."""

    topic: str
    text: str
    assumed: bool = True

    def __str__(self) -> str:
        return f"{self.topic}: {self.text}"


@dataclass(frozen=True, eq=False)
class EstatePlan:
    """Everything the ``plan`` command computes, for the text printer and the HTML report.

    Attributes
    ----------
    options
        What was asked (:class:`PlanOptions`).
    fleet
        The estate as planned: one row per disk of every VM (protected or not), with the
        policy assigned and the measured sizes and VM settings applied.
    plan
        The protected VMs in array form (:class:`vmbackup.fleet.FleetPlan`).
    policies
        The policies given, by name; ``policy_source`` says how VMs were assigned to them.
    unprotected
        VMs left out of the plan: ``vm_name``, ``protection_state``.
    unmatched_items
        Backup items that match no VM of the estate (``vmbackup.inventory.protected_items``
        columns); empty without items.
    assumptions
        Every gap filled and how, in the order printed (:class:`Assumption`).
    prices
        The prices used (``prices.dated()`` says how old).
    lag_profile_hours
        The wait for the vault by hour of the plan's clock [h] (S11).
    result
        The simulated month: jobs, daily rollups, the bill (:class:`FleetResult`).
    premium_space
        Premium space before the first backup per VM of the estate, under
        ``options.space_rules`` (``capacity.premium_space_check``; it applies until a VM's
        first backup is done: to VMs not yet protected too). Today's rule (G15) measures
        storage accounts, so every VM is checked; the seed's (S21) only VMs whose used sizes
        are known.
    premium_unknown
        Seed's rule only: premium VMs whose used size is assumed: ``vm_name``,
        ``premium_allocated_gb``, ``short_above_gb`` (the used GB above which S21 would find
        them short); empty under today's rule, which needs no used size.
    restore_per_vm, restore_shared
        The RTO of every protected VM restored at once (an estate-wide disaster), with
        ``options.restore_option`` from a point ``options.restore_point_age_days`` old: into one
        storage account per VM, and into ``restore_accounts`` balanced accounts
        (``restore_options.estate_rto`` tables: one row per VM with ``rto_hours``, ``tier``,
        ``order``, ``status`` and ``findings``).
    restore_accounts
        Accounts of the shared estimate (S20: one per 10 VMs unless given).
    stagger_offsets_hours, stagger, stagger_days
        The proposed start offsets per VM [h] and the table of candidates
        (``fleet.propose_stagger``), over ``stagger_days`` days.
    fit
        What was fitted from the estate's history (``calibrate.HistoryFit``), or None.
    eligibility
        Per VM of the estate: whether it can be protected, under which policy type, why not
        (``eligibility.scan_estate``; G8, G11, X1).
    onboarding, onboarding_on_demand
        The first backups' wave plan with the policies' schedules and with on-demand backups
        (``onboarding.plan_onboarding``), or None where not planned.
    horizon_monthly, horizon
        The bill month by month over ``options.years`` (:func:`vmbackup.fleet.horizon_bill`)
        and its summary (:class:`vmbackup.horizon.HorizonSummary`), or None.
    """

    options: PlanOptions
    fleet: pl.DataFrame
    plan: FleetPlan
    policies: dict[str, Policy]
    policy_source: str
    unprotected: pl.DataFrame
    unmatched_items: pl.DataFrame
    assumptions: tuple[Assumption, ...]
    prices: Prices
    lag_profile_hours: npt.NDArray[np.float64]
    result: FleetResult
    premium_space: pl.DataFrame
    premium_unknown: pl.DataFrame
    restore_per_vm: pl.DataFrame
    restore_shared: pl.DataFrame
    restore_accounts: int
    stagger_offsets_hours: npt.NDArray[np.float64]
    stagger: pl.DataFrame
    stagger_days: int
    fit: HistoryFit | None = None
    eligibility: pl.DataFrame | None = None
    onboarding: Onboarding | None = None
    onboarding_on_demand: Onboarding | None = None
    horizon_monthly: pl.DataFrame | None = None
    horizon: HorizonSummary | None = None

    @property
    def used_tb(self) -> float:
        """Used data of the protected VMs [TB]."""
        return float(self.plan.pi_size_gb.sum()) / 1000

    @property
    def worst_hours(self) -> float:
        """The longest job of the horizon [h] (0 without jobs)."""
        jobs = self.result.jobs
        return float(jobs["duration_hours"].max()) if jobs.height else 0.0  # type: ignore[arg-type]

    @property
    def jobs_over_window(self) -> int:
        """Jobs that took more than 24 h (S11)."""
        return int((~self.result.jobs["met_window"]).sum())

    def bill_lines(self) -> pl.DataFrame:
        """The bill per month, VM (``vm_name``) and invoice meter (P7), as a table."""
        lines = fleet_bill_lines(
            self.plan,
            self.result.mean_churn_gb
            if self.result.mean_churn_gb is not None
            else np.zeros(self.plan.vms),
            self.options.start,
            self.options.days,
            self.prices,
            self.options.redundancy,
            first_backup_on=self.result.billed_from_day,
            overlap=self.options.overlap,
        )
        names = pl.Series("vm_name", self.plan.vm_names)
        return lines.with_columns(vm_name=names.gather(lines["vm"])).drop("vm")

    def rto_table(self) -> pl.DataFrame:
        """Each protected VM's RTO [h] in an estate-wide restore: into its own account
        (``rto_hours``), into the shared accounts (``shared_rto_hours``), and alone."""
        columns = ["vm_name", "option", "status", "tier", "order", "data_gb", "rto_hours"]
        own = self.restore_per_vm
        if not own.height:
            return own
        shared = self.restore_shared.select("vm_name", shared_rto_hours="rto_hours")
        return (
            own.select(*columns, "alone_hours", "findings")
            .join(shared, on="vm_name", how="left", maintain_order="left")
            .select(*columns, "shared_rto_hours", "alone_hours", "findings")
        )

    def jobs_table(self) -> pl.DataFrame:
        """Every job with its VM's name and proposed start offset [h]."""
        jobs = self.result.jobs
        names = pl.Series("vm_name", self.plan.vm_names)
        offsets = pl.Series(self.stagger_offsets_hours)
        return jobs.with_columns(vm_name=names.gather(jobs["vm"]), offset_hours=offsets[jobs["vm"]])


def _check(options: PlanOptions) -> PlanOptions:
    """The options' own values, checked before any file is read."""
    whole("days", options.days, 1, 3660)
    if options.years is not None:
        whole("years", options.years, 1, 10)
    choice("overlap", options.overlap, OVERLAP_MODELS)
    bounded("restore_point_age_days", options.restore_point_age_days, 0, 36_500)
    choice("restore_option", options.restore_option, RESTORE_OPTIONS)
    if options.restore_accounts is not None:
        whole("restore_accounts", options.restore_accounts, 1, 10_000_000)
    bounded("used_fraction", options.used_fraction, 0, 1)
    choice("redundancy", options.redundancy, REDUNDANCIES)
    choice("space_rules", options.space_rules, SPACE_RULES)
    if options.churn_class is not None:
        choice("churn_class", options.churn_class, FLEET_VALUES["churn_class"])
    if options.start_hour is not None:
        hour = bounded("start_hour", options.start_hour, 0, 24)
        if hour >= 24:
            raise ValueError(f"start_hour={options.start_hour!r} must be an hour in [0, 24)")
    iana_zone(options.time_zone)
    return options


def _read_estate(options: PlanOptions) -> tuple[pl.DataFrame, bool]:
    """The fleet table from a CSV or az JSON; and whether it came from az JSON."""
    table = read_estate(options.fleet, options.disks, used_fraction=options.used_fraction)
    return table, Path(options.fleet).suffix.lower() == ".json"


def read_estate(
    fleet: str | Path, disks: str | Path | None = None, *, used_fraction: float = 0.5
) -> pl.DataFrame:
    """The fleet table (one row per disk) from a fleet CSV, or from ``az vm list -d`` JSON with
    its ``az disk list`` JSON (``disks``); what ``plan`` and ``reconcile`` both read.

    Raises
    ------
    ValueError
        A JSON fleet without its disks, disks with a CSV fleet, or a file that cannot be read.
    """
    from vmbackup.data import read_azure_estate, read_fleet

    path = Path(fleet)
    if path.suffix.lower() == ".json":
        if disks is None:
            raise ValueError(
                f"{path.name}: an 'az vm list -d' fleet needs its disks ('az disk list' JSON, "
                "--disks)"
            )
        return read_azure_estate(path, disks, used_fraction=used_fraction)
    if disks is not None:
        raise ValueError("--disks goes with an 'az vm list -d' JSON fleet, not a CSV")
    return read_fleet(path)


def _read_policies(options: PlanOptions) -> dict[str, Policy]:
    from vmbackup.data import read_policies

    return read_policies(list(options.policies) if options.policies else None)


def build_plan(
    options: PlanOptions, progress: Callable[[int, int, str], None] | None = None
) -> EstatePlan:
    """Read the inputs of ``options``, fill the gaps, and plan the estate (see the module notes).

    ``progress(done, total, label)`` is called as each stage begins and at the end.

    Raises
    ------
    ValueError
        Any input that cannot be read or does not fit, naming the file, field and value.
    """
    from vmbackup.capacity import premium_space_check
    from vmbackup.data import (
        read_lag_profile,
        read_prices,
        read_protected_items,
        read_used_sizes,
        read_vm_settings,
    )
    from vmbackup.inventory import assign_protection
    from vmbackup.restore_options import estate_rto

    options = _check(options)
    steps = 6

    def report(done: int, label: str) -> None:
        if progress is not None:
            progress(done, steps, label)

    report(0, "reading inputs")
    fleet, from_json = _read_estate(options)
    estate_disks = None
    if from_json and options.disks is not None:  # Azure's JSON says more: SKUs, security
        from vmbackup.data import read_estate_disks

        estate_disks = read_estate_disks(options.fleet, options.disks)
        fleet = _with_vm_facts(fleet, estate_disks)
    policies = _read_policies(options)
    unmatched = pl.DataFrame()
    if options.items is not None:
        items = read_protected_items(options.items)
        fleet, unmatched = assign_protection(fleet, items)
    if options.used_sizes is not None:
        fleet = read_used_sizes(options.used_sizes, fleet)
    lag = read_lag_profile()
    fit = None
    if options.history:
        fleet, fit = _calibrated(fleet, options, lag)
        lag = fit.lag_profile_hours
    if options.churn_class is not None:
        fleet = fleet.with_columns(churn_class=pl.lit(options.churn_class.strip().lower()))
    if options.start_hour is not None:
        fleet = fleet.with_columns(schedule_hour=pl.lit(float(options.start_hour)))
    if options.vm_settings is not None:
        fleet = read_vm_settings(options.vm_settings, fleet)
    prices = read_prices(options.prices, region=options.region)

    report(1, "planning")
    plan = fleet_plan(fleet, policies, time_zone=options.time_zone)
    source = _policy_source(options, policies, from_json)
    assumptions = _assumptions(options, fleet, plan, policies, source, from_json, fit)

    report(2, f"simulating {plan.vms * options.days:,} VM-days")
    result = simulate_fleet(
        plan,
        lag_profile_hours=lag,
        days=options.days,
        start=options.start,
        prices=prices,
        seed=options.seed,
        redundancy=options.redundancy,
        overlap=options.overlap,
    )
    horizon_monthly = horizon = None
    if options.years is not None:  # the bill over years: the vault in closed form, no jobs
        horizon_monthly = horizon_bill(
            plan,
            result.mean_churn_gb if result.mean_churn_gb is not None else np.zeros(plan.vms),
            prices,
            start=options.start,
            years=options.years,
            redundancy=options.redundancy,
            first_backup_on=result.billed_from_day,
            overlap=options.overlap,
        )
        horizon = horizon_summary(horizon_monthly)

    report(3, "premium space (S21, G15)")
    rules = choice("space_rules", options.space_rules, SPACE_RULES)
    space, unknown = _premium_space(fleet, premium_space_check, rules)  # protected or to be

    # each VM's policy as the plan assigned it (one policy given: every protected VM's)
    planned = {p.name: p for p in plan.policies}
    names = pl.DataFrame(
        {
            "vm_name": plan.vm_names,
            "policy": np.array([p.name for p in plan.policies])[plan.policy_index],
        },
        schema={"vm_name": pl.String, "policy": pl.String},
    )
    assigned = fleet.drop("policy").join(names, on="vm_name", how="left", maintain_order="left")

    report(4, "restore estimate (RTO)")
    accounts = options.restore_accounts or max(1, math.ceil(plan.vms / VMS_PER_SHARED_ACCOUNT))
    if plan.vms:
        option, age = options.restore_option, options.restore_point_age_days
        protected = assigned.filter(pl.col("policy").is_not_null())
        restore_own = estate_rto(
            protected,
            planned,
            option=option,
            recovery_point_age_days=age,
            placement="per-vm",
            alone=plan.vms <= ALONE_RTO_MAX_VMS,
        )
        shared = estate_rto(
            protected,
            planned,
            option=option,
            recovery_point_age_days=age,
            placement="balanced",
            accounts=accounts,
            alone=False,
        )
    else:  # nothing protected yet: nothing to restore
        restore_own = shared = pl.DataFrame(
            schema={"vm_name": pl.String, "status": pl.String, "rto_hours": pl.Float64}
        )

    report(5, "staggering (S13), eligibility, onboarding")
    from vmbackup.eligibility import scan_estate
    from vmbackup.onboarding import plan_onboarding

    scanned = assigned
    if estate_disks is not None:
        per_vm = assigned.group_by("vm_name", maintain_order=True).agg(
            pl.col("policy", "cores", "memory_gb").first()
        )
        scanned = estate_disks.join(per_vm, on="vm_name", how="left", maintain_order="left")
    eligibility = scan_estate(scanned, policies=planned)
    onboarding = on_demand = None
    if options.onboarding and plan.vms:
        done = None  # no backup items: plan the roll-out of the whole estate
        if options.items is not None:  # the items say whose first backup is still to come
            pending = plan.first_backup_pending
            done = np.ones(plan.vms, dtype=bool) if pending is None else ~pending
        onboarding = plan_onboarding(
            plan, lag_profile_hours=lag, protected=done, start_date=options.start
        )
        if plan.vms <= ON_DEMAND_MAX_VMS:
            on_demand = plan_onboarding(
                plan,
                lag_profile_hours=lag,
                protected=done,
                trigger="on-demand",
                start_date=options.start,
            )
    stagger_days = min(options.days, STAGGER_DAYS)
    offsets, stagger = propose_stagger(
        plan, lag_profile_hours=lag, days=stagger_days, seed=options.seed, start=options.start
    )
    report(6, "done")
    unprotected = (
        plan.unprotected
        if plan.unprotected is not None
        else pl.DataFrame(schema={"vm_name": pl.String, "protection_state": pl.String})
    )
    return EstatePlan(
        options=options,
        fleet=fleet,
        plan=plan,
        policies=policies,
        policy_source=source,
        unprotected=unprotected,
        unmatched_items=unmatched,
        assumptions=assumptions,
        prices=prices,
        lag_profile_hours=lag,
        result=result,
        premium_space=space,
        premium_unknown=unknown,
        restore_per_vm=restore_own,
        restore_shared=shared,
        restore_accounts=accounts,
        stagger_offsets_hours=offsets,
        stagger=stagger,
        stagger_days=stagger_days,
        fit=fit,
        eligibility=eligibility,
        onboarding=onboarding,
        onboarding_on_demand=on_demand,
        horizon_monthly=horizon_monthly,
        horizon=horizon,
    )


def _with_vm_facts(fleet: pl.DataFrame, disks: pl.DataFrame) -> pl.DataFrame:
    """The fleet with each VM's security type (Trusted Launch snapshots, G8.2) and power state
    (deallocated VMs, no churn) from Azure's JSON, where the fleet lacks them."""
    wanted = [c for c in ("security_type", "power_state") if c in disks.columns]
    wanted = [c for c in wanted if c not in fleet.columns]
    if not wanted:
        return fleet
    per_vm = disks.group_by("vm_name", maintain_order=True).agg(pl.col(wanted).first())
    return fleet.join(per_vm, on="vm_name", how="left", maintain_order="left")


def _calibrated(
    fleet: pl.DataFrame, options: PlanOptions, lag_profile_hours: npt.NDArray[np.float64]
) -> tuple[pl.DataFrame, HistoryFit]:
    """The fleet with each VM's churn and throughput fitted from its history (H1, H2), and
    the fit (its lag profile on the plan's clock)."""
    from zoneinfo import ZoneInfo

    from vmbackup.calibrate import apply_fit, fit_history
    from vmbackup.records import read_history

    history = read_history(list(options.history))
    noon = dt.datetime.combine(
        options.start, dt.time(12), tzinfo=ZoneInfo(iana_zone(options.time_zone))
    )
    offset = noon.utcoffset()
    fit = fit_history(
        history.jobs,
        fleet,
        lag_profile_hours=lag_profile_hours,
        utc_offset_hours=0.0 if offset is None else offset.total_seconds() / 3600,
    )
    return apply_fit(fleet, fit), fit


def _premium_space(
    fleet: pl.DataFrame, check: Callable[..., pl.DataFrame], rules: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The premium-space check under ``rules``. The seed's S21 weighs used sizes: only where
    they are known, the premium VMs whose sizes are assumed apart (an assumed size decides
    nothing). Today's G15 weighs the storage accounts' allocation: every VM is checked."""
    disks = fleet.filter(pl.col("disk_role") != "temp")
    assumed = (
        pl.col("used_gb_assumed").fill_null(False)
        if "used_gb_assumed" in fleet.columns and rules == "seed"
        else pl.lit(False)
    )
    premium = pl.col("disk_type") == "premium"
    unknown_vms = disks.filter(premium & assumed)["vm_name"].unique(maintain_order=True)
    done = None
    if "first_backup_done" in fleet.columns:
        done = (
            fleet.group_by("vm_name", maintain_order=True)
            .agg(pl.col("first_backup_done").first().fill_null(False))
            .select("vm_name", "first_backup_done")
        )
    known = (
        fleet.filter(~pl.col("vm_name").is_in(unknown_vms.implode()))
        if unknown_vms.len()
        else fleet
    )
    space = check(known, rules=rules, first_backup_done=done)
    unknown = (
        disks.filter(pl.col("vm_name").is_in(unknown_vms.implode()) & premium)
        .group_by("vm_name", maintain_order=True)
        .agg(premium_allocated_gb=pl.col("allocated_gb").sum())
        .with_columns(short_above_gb=pl.col("premium_allocated_gb") / 2)
    )
    return space, unknown


def _policy_source(options: PlanOptions, policies: dict[str, Policy], from_json: bool) -> str:
    """How VMs were assigned to policies, in words (S1)."""
    if len(policies) == 1:
        return f"{next(iter(policies))} for every protected VM (one policy given)"
    if options.items is not None:
        return "each VM's backup item (its policyId)"
    if from_json:
        return "every VM under 'DailyPolicy' (no backup items given), assumed"
    return "the fleet's policy column"


def _share_text() -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in CHURN_CLASS_FRACTION.items())


def _assumptions(
    options: PlanOptions,
    fleet: pl.DataFrame,
    plan: FleetPlan,
    policies: dict[str, Policy],
    source: str,
    from_json: bool,
    fit: HistoryFit | None = None,
) -> tuple[Assumption, ...]:
    """Every gap the inputs leave and what fills it, for the plan's header."""
    protected = fleet.filter(pl.col("policy").is_not_null())  # what fleet_plan planned
    disks = protected.filter(pl.col("disk_role") != "temp")

    def vms(count: int) -> str:
        return f"{count:,} VM" + ("" if count == 1 else "s")

    found: list[Assumption] = [
        Assumption("policy", source, assumed=source.endswith("assumed")),
    ]
    if "used_gb_assumed" in disks.columns:
        assumed = int(disks["used_gb_assumed"].fill_null(False).sum())
        if assumed:
            found.append(
                Assumption(
                    "used size",
                    f"{options.used_fraction:.0%} of allocated, assumed for {assumed:,} of "
                    f"{disks.height:,} disks (Azure's JSON has no used size; G1's figure for "
                    "agentless billing)"
                    + (
                        "; S21 needs measured sizes (--used-sizes)"
                        if options.space_rules == "seed"
                        else ""
                    ),
                )
            )
        else:
            found.append(Assumption("used size", "measured for every disk", assumed=False))
    measured = (
        protected.group_by("vm_name")
        .agg(pl.col("churn_gb_per_day").first())
        .filter(pl.col("churn_gb_per_day").is_not_null())
        .height
        if "churn_gb_per_day" in protected.columns
        else 0
    )
    by_class = plan.vms - measured
    if by_class:
        text = f"class share of used data a day for {vms(by_class)} (P6: {_share_text()})"
        if options.churn_class is not None:
            found.append(Assumption("churn", f"{text}; --churn-class {options.churn_class}"))
        elif from_json:
            found.append(Assumption("churn", f"{text}; 'moderate' where nothing says, assumed"))
        else:
            found.append(Assumption("churn", f"{text}, from the fleet's churn_class", False))
    if measured:
        where = "fitted from the job history or given" if fit is not None else "given"
        found.append(Assumption("churn", f"GB a day {where} for {vms(measured)}", False))
    rate = TRANSFER_DEFAULTS["incremental_throughput_mb_s"]
    own = 0 if plan.throughput_mb_s is None else int((~np.isnan(plan.throughput_mb_s)).sum())
    initial = TRANSFER_DEFAULTS["initial_throughput_mb_s"]
    where = "fitted from the job history or given" if fit is not None else "given"
    if plan.vms - own:
        found.append(
            Assumption(
                "throughput",
                f"{rate:g} MB/s per disk incremental, {initial:g} MB/s initial (model defaults "
                f"after S18, X2) for {vms(plan.vms - own)}"
                + (f"; {where} for {vms(own)}" if own else ""),
            )
        )
    else:
        found.append(
            Assumption(
                "throughput",
                f"MB/s per disk {where} for {vms(own)}; {initial:g} MB/s for first backups",
                assumed=False,
            )
        )
    overridden = (
        protected.group_by("vm_name")
        .agg(pl.col("schedule_hour").first())
        .filter(pl.col("schedule_hour").is_not_null())
        .height
        if "schedule_hour" in protected.columns
        else 0
    )
    zones = sorted({p.time_zone for p in policies.values()})
    found.append(
        Assumption(
            "start time",
            f"each policy's run time in its time zone ({', '.join(zones)}), kept at the same UTC "
            f"time all year (G13: Azure does not adjust for summer time), read on the "
            f"{options.time_zone} clock (S1)"
            + (f"; overridden for {vms(overridden)}" if overridden else ""),
            assumed=False,
        )
    )
    found.append(Assumption("summer time", _reference_text(policies, options.start)))
    found.append(
        Assumption(
            "vault",
            f"VMs dealt to vaults of {DEFAULT_VMS_PER_VAULT:,} (G16: the most a vault protects) in "
            f"file order, each ingesting "
            f"{DEFAULT_VAULT_INGEST_MB_S:g} MB/s (X2's 100 VMs at the incremental rate)",
        )
    )
    fitted_hours = 0 if fit is None else int(fit.lag["fitted"].sum())
    found.append(
        Assumption(
            "lag",
            f"the snapshot-to-vault wait by hour of the {options.time_zone} clock "
            + (
                f"fitted from the job history for {fitted_hours} of 24 hours, "
                "datasets/peak_lag_profile.csv for the others (S11)"
                if fitted_hours
                else "from datasets/peak_lag_profile.csv (S11)"
            ),
            assumed=fitted_hours < 24,
        )
    )
    if plan.vm_deallocated is not None and plan.vm_deallocated.any():
        names = np.array(plan.vm_names)[plan.vm_deallocated]
        shown = ", ".join(names[:5]) + (f" and {names.size - 5:,} more" if names.size > 5 else "")
        found.append(
            Assumption(
                "deallocated",
                f"{vms(names.size)} deallocated ({shown}): crash-consistent points (S6, G12), "
                "no data changed, so no churn to transfer; still billed as protected (S24)",
                assumed=False,
            )
        )
    found += _rule_assumptions(policies, plan, options.overlap)
    found.append(
        Assumption(
            "horizon",
            f"{options.days} days from {options.start:%Y-%m-%d} (a {options.start:%A}); VMs "
            "protected before it unless their first backup is pending",
        )
    )
    return tuple(found)


def _rule_assumptions(
    policies: dict[str, Policy], plan: FleetPlan, overlap: str = "trace"
) -> list[Assumption]:
    """The catalogue's rules the bill rests on that are assumptions or disputed (RULES.md), each
    with its item, status and what it moves."""
    from vmbackup.catalogue import cite

    overlaps = {
        "trace": f"the pool fitted on the project's block trace ({cite('A32')})",
        "random": f"random writes over the used data ({cite('A20')})",
        "sequential": "no overlap at all: the UPPER BOUND, every day's churn summed",
    }

    used = [policies[p.name] for p in plan.policies if p.name in policies] or list(
        policies.values()
    )
    found = []
    if any(p.monthly_retention_months or p.yearly_retention_years for p in used):
        found.append(
            Assumption(
                "retention month",
                f"a month of retention lasts 31 days ({cite('G3.2')}; {cite('A1')}): monthly and "
                "yearly points are kept a little longer than calendar months, so the vault holds "
                "slightly more",
            )
        )
    if any(p.policy_type == "standard" for p in used):
        found.append(
            Assumption(
                "snapshot price",
                f"a Standard policy's snapshots at their own price row ({cite('G9.2')}: blob "
                "snapshot pricing; its level comes from a Microsoft support blog, not a price "
                "list); Enhanced snapshots at the Standard HDD incremental price "
                f"({cite('G9.1')}), never the disks' media",
            )
        )
    if any(p.consistency == "crash" for p in used):
        found.append(
            Assumption(
                "agentless fee",
                f"GA billing (a full PI on half the provisioned size) from 2025-08-01 "
                f"({cite('A2')}); the preview's 0.5 PI before",
            )
        )
    found.append(
        Assumption(
            "change overlap",
            f"a point's data changed since the previous kept point follows {overlaps[overlap]}, "
            "never more than the VM's used data (--overlap)",
            assumed=overlap != "sequential",
        )
    )
    found.append(
        Assumption(
            "snapshot clean-up",
            f"one to three expired snapshots still billed for up to 24 h ({cite('G9.5')})",
            assumed=False,
        )
    )
    return found


def _reference_text(policies: dict[str, Policy], start: dt.date) -> str:
    """Which date's UTC offset fixes each policy's UTC run time (G13, A7)."""
    by_date: dict[dt.date | None, list[str]] = {}
    for name, policy in sorted(policies.items()):
        by_date.setdefault(policy.schedule_reference_date, []).append(name)
    parts = [
        f"{day:%Y-%m-%d} (stored with the run time) for {', '.join(names)}"
        for day, names in sorted((d, n) for d, n in by_date.items() if d is not None)
    ]
    if None in by_date:
        parts.append(f"{start:%Y-%m-%d} (the first simulated day) for {', '.join(by_date[None])}")
    return (
        "each run time's UTC time is fixed by its zone's offset on "
        + "; on ".join(parts)
        + " (A7: our reading; G13's page says only that Azure does not shift the hour)"
    )


def format_hours(hour: float) -> str:
    """``22.5`` -> ``'22:30'``.

    >>> format_hours(22.5), format_hours(1.25)
    ('22:30', '01:15')
    """
    minutes = round(hour * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_clock(text: str, field_name: str = "start_time") -> float:
    """``'22:30'`` -> ``22.5`` (a time of day HH:MM, or hours as a number).

    >>> parse_clock("22:30"), parse_clock("7.25")
    (22.5, 7.25)
    """
    value = text.strip()
    hours: float | None = None
    if ":" in value:
        head, _, tail = value.partition(":")
        if head.isdigit() and tail.isdigit() and len(tail) == 2 and int(tail) < 60:
            hours = int(head) + int(tail) / 60
    else:
        try:
            hours = float(value)
        except ValueError:
            hours = None
    if hours is None or not 0 <= hours < 24:
        raise ValueError(f"{field_name}={text!r} must be a time of day HH:MM (00:00 to 23:59)")
    return hours


def policy_lines(
    policies: dict[str, Policy], used: Sequence[str], start: dt.date = FLEET_START
) -> list[str]:
    """One line per policy the plan uses: type, schedule and time zone (S1, Y1, Y2), then its run
    time (an hourly policy's window start) in UTC and in local time over the year from ``start``
    (G13: Azure keeps the UTC time, so the local time moves with summer time; A7: a policy
    without a stored date is fixed in UTC on ``start``)."""
    lines = []
    for name in used:
        p = policies[name]
        when = format_hours(p.run_hour)
        if p.frequency == "hourly":
            schedule = (
                f"every {p.hourly_interval_hours} h from {when} for {p.window_hours} h "
                f"({p.backups_per_day()} snapshots, the last sent to the vault)"
            )
        elif p.frequency == "weekly":
            schedule = f"weekly on {', '.join(p.run_days)} at {when}"
        else:
            schedule = f"daily at {when}"
        when_utc = describe_run_time(
            p.time_zone, p.run_hour, start, reference=p.schedule_reference_date
        )
        window = "window start " if p.frequency == "hourly" else ""
        lines.append(f"{name}: {p.policy_type} {schedule}, {p.time_zone}; {window}{when_utc}")
    return lines
