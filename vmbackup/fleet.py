"""A month of backups for a whole estate: jobs, traffic jams, windows and cost (items S1, S11-S18,
S23-S29, Y1, Y2, G4, G13).

:func:`simulate_fleet` runs N days of backups for every VM of a fleet (the sample-fleet schema,
one row per disk; :func:`fleet_plan` turns it into arrays) in numpy, without a Python loop over
VMs or days:

1. **the schedule** (S1, Y1, Y2, S29, G4, G13): each VM's policy decides when it is backed up:
   its run time (or the window start of an Enhanced hourly policy, or the VM's start-time
   override) in the policy's time zone, turned into UTC once and kept there every day (Azure
   does not adjust backups for summer time, G13, so the job's local time moves by an hour when
   the zone changes its clock), read on the plan's clock; a weekly policy only on its
   weekdays; an hourly policy takes every snapshot of its window and sends the last one of the
   day to the vault (when that one fails, the next day's first, G4). Jobs exist only on
   scheduled days, and only from a VM's first backup;
2. **churn**: each disk's daily churn is its used data x its VM's share (the churn class, P6,
   or the VM's measured GB a day), times a seeded log-normal day-to-day factor (median 1,
   ``churn_sigma``); a job sends the changes of the days since the VM's last job (a weekly one
   a week's, capped at the data);
3. **the job**: by the job kernel of ``vmbackup.transfer`` (one model, no copy here):
   preparation (with the extension install on a first backup, S14), the peak-hour lag (S11),
   every disk in parallel (S9) sending its changes at the incremental rate (or the VM's
   measured one) plus a cost per extent (S16), a full copy on a first backup or a new disk
   (S12, S15), a checksum scan where the snapshot is gone (S17); the slowest disk ends the job;
4. **traffic jams** (S13): each vault (``vms_per_vault`` VMs each) ingests at most
   ``vault_ingest_mb_s`` in all. Demand is summed per vault over 5-minute bins; a job is slowed
   by the average overload of the bins its transfer would have used (a one-pass fluid
   approximation, not iterated);
5. **rollups**: per day (jobs, jobs over the 24 h window, peak concurrent transfers, GB sent,
   snapshots, first backups, failures) and per month (storage and the bill, by
   ``vmbackup.billing`` rules, each VM billed from its first successful backup, S23).

Steps 2 and 3 run a block of whole vaults at a time (about :data:`BLOCK_VM_DAYS` VM-days), so
the working arrays stay in the CPU cache; churn is drawn block after block from one generator,
the same numbers as one draw. Transfers do not depend on start times, so
:func:`propose_stagger` computes them once and reruns only the start times, lag and traffic jams
for each candidate spread (the same code :func:`simulate_fleet` runs, so each candidate's
numbers are the full simulation's).

Assumptions of the schedule model, where Azure's pages are silent: the UTC time is fixed by the
zone's offset on the date Azure stores with the run time (``Policy.schedule_reference_date``,
from the policy JSON's ``scheduleRunTimes``), else on the simulation's first day (A7; the page
of G13 says only that the hour is not shifted); a start-time override is turned into UTC the
same way, and a staggering offset moves that UTC time by its minutes; a run time that does not
exist on that date (the hour skipped in spring) takes the offset before the jump; a failed
backup of a daily or weekly policy sends nothing and its changes go with the next job (a
one-pass model: a job that fails by its own length, S17, does not move the next one).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import (
    bounded,
    check_frame,
    choice,
    date_value,
    instance,
    non_negative,
    non_negative_array,
    positive,
    whole,
)
from vmbackup.billing import (
    PI_METER,
    REDUNDANCIES,
    Prices,
    instant_restore_gb,
    pi_basis,
    pi_fee_usd_per_month,
    snapshot_meter,
)
from vmbackup.churn import CHURN_CLASS_FRACTION
from vmbackup.policy import WEEKDAYS, Policy
from vmbackup.pricing_rules import rules_on
from vmbackup.retention import (
    PeriodChurn,
    _change_gb,
    _check_rising,
    _pool_days,
    chain_gaps,
    distinct_change_gb,
    vault_points,
)
from vmbackup.schema import fleet_columns
from vmbackup.timezones import clock_offset_hours, iana_zone, utc_offset_hours
from vmbackup.transfer import DEFAULTS as TRANSFER_DEFAULTS
from vmbackup.transfer import (
    MAX_LAG_HOURS,
    WINDOW_HOURS,
    changed_extents,
    checksum_failed,
    disk_job_hours,
    preparation_hours,
    send_hours,
    vault_lag_hours,
)

__all__ = [
    "BIN_HOURS",
    "FleetPlan",
    "FleetResult",
    "fleet_plan",
    "horizon_bill",
    "propose_stagger",
    "scale_fleet",
    "simulate_fleet",
    "stagger_offsets",
]

#: The first simulated day when none is given (the fleet's first backups).
FLEET_START = dt.date(2026, 1, 1)
#: Width of the demand bins of the congestion model [h] (5 minutes).
BIN_HOURS = 5 / 60
#: Assumption: what one vault ingests at once [MB/s]: X2's 100 concurrent VMs at about 7 MB/s.
DEFAULT_VAULT_INGEST_MB_S = 700.0
#: G16: Azure's limit of VMs protected by one Recovery Services vault (backup FAQ, ms.date
#: 2026-01-07); a plan deals an estate to vaults of at most this many VMs.
MAX_VMS_PER_VAULT = 1000
DEFAULT_VMS_PER_VAULT = MAX_VMS_PER_VAULT
#: VM-days simulated at a time (whole vaults): the working set stays in the CPU cache.
BLOCK_VM_DAYS = 32_768


@dataclass(frozen=True, eq=False)
class FleetPlan:
    """A fleet in array form, ready to simulate (built by :func:`fleet_plan`).

    Per VM (length V): names; ``start_hour``, the local time [h] of the VM's first snapshot of a
    backup day in its policy's time zone (the policy's run time, or the window start of an Enhanced
    hourly policy, unless overridden), as of the policy's reference date: Azure keeps its UTC time,
    so the local time moves with summer time (G13, A7); churn share of used data per day; policy
    index; PI size [GB]; premium flag; incremental throughput per disk [MB/s] (None: the default);
    whether its first backup is still to come. Per disk (length D, grouped by VM, VMs in order): VM
    index, used and allocated GB. ``time_zone`` is the clock the simulation and the lag profile
    read (an IANA name); ``unprotected`` lists the VMs left out (``vm_name``,
    ``protection_state``).
    """

    vm_names: tuple[str, ...]
    start_hour: npt.NDArray[np.float64]
    churn_share: npt.NDArray[np.float64]
    policy_index: npt.NDArray[np.int64]
    policies: tuple[Policy, ...]
    pi_size_gb: npt.NDArray[np.float64]
    disk_vm: npt.NDArray[np.int64]
    disk_used_gb: npt.NDArray[np.float64]
    disk_allocated_gb: npt.NDArray[np.float64]
    vm_premium: npt.NDArray[np.bool_] | None = None  # a premium (SSD) disk (S21, not prices)
    vm_trusted_launch: npt.NDArray[np.bool_] | None = None  # Enhanced-style snapshots (G8)
    vm_deallocated: npt.NDArray[np.bool_] | None = None  # no churn, crash-consistent points
    throughput_mb_s: npt.NDArray[np.float64] | None = None
    first_backup_pending: npt.NDArray[np.bool_] | None = None
    change_pool_days: npt.NDArray[np.float64] | None = None  # A32 per VM (NaN: the model's)
    period_churn: PeriodChurn | None = None  # P6 per VM: weekly/monthly/yearly shares (NaN: none)
    time_zone: str = "Etc/UTC"
    unprotected: pl.DataFrame | None = None

    @property
    def vms(self) -> int:
        return len(self.vm_names)


#: S1: the policy decides when a VM is backed up; these are the rules :func:`fleet_plan`
#: follows to find each VM's policy, written once for the docstring and the plan's header.
POLICY_ASSIGNMENT_RULE = (
    "one policy given: every protected VM uses it; several: each VM's 'policy' names its own; "
    "a blank policy means the VM is not protected and is left out"
)


def policy_map(policies: object) -> dict[str, Policy]:
    """``policies`` as ``{name: Policy}``: a mapping (its keys are the names the fleet uses), one
    :class:`Policy`, or any collection of them (keyed by their names, which must differ).

    >>> sorted(policy_map([Policy(name="A"), Policy(name="B", run_hour=1)]))
    ['A', 'B']
    """
    if isinstance(policies, Policy):
        return {policies.name: policies}
    if isinstance(policies, Mapping):
        found = dict(policies)
        for key, value in found.items():
            if not isinstance(key, str) or not isinstance(value, Policy):
                raise ValueError(
                    f"policies[{key!r}]={value!r:.60} must map a policy name to a Policy"
                )
    elif isinstance(policies, Iterable) and not isinstance(policies, str | bytes):
        found = {}
        for value in policies:
            if not isinstance(value, Policy):
                raise ValueError(f"policies holds {value!r:.60}; each must be a Policy")
            if value.name in found and found[value.name] != value:
                raise ValueError(f"policies holds two different policies named {value.name!r}")
            found[value.name] = value
    else:
        raise ValueError(
            f"policies={policies!r:.60} must be a Policy, a collection of Policies or a "
            "mapping of names to Policies"
        )
    if not found:
        raise ValueError("policies is empty; give at least one Policy")
    return found


#: The fleet columns :func:`fleet_plan` reads, with the optional per-VM ones.
_PLAN_COLUMNS = fleet_columns(
    "vm_name",
    "policy",
    "schedule_hour",
    "churn_class",
    "disk_role",
    "disk_type",
    "allocated_gb",
    "used_gb",
    "churn_gb_per_day",
    "throughput_mb_s_per_disk",
    "first_backup_done",
    "protection_state",
    "weekly_churn_fraction",
    "monthly_churn_fraction",
    "yearly_churn_fraction",
)
#: The optional fleet columns of churn per point kind (P6, :class:`PeriodChurn`).
_PERIOD_COLUMNS = ("weekly_churn_fraction", "monthly_churn_fraction", "yearly_churn_fraction")


def _checked_fleet(fleet: object) -> pl.DataFrame:
    """``fleet`` checked (``check_frame``) in the columns :func:`fleet_plan` reads. The
    vocabulary columns are checked on their distinct values (a few rows however large the
    estate); only when one needs normalising or is wrong is the whole column checked, so the
    message names the right row."""
    plain = {c: spec for c, spec in _PLAN_COLUMNS.items() if not spec.allowed}
    vocab = {c: spec for c, spec in _PLAN_COLUMNS.items() if spec.allowed}
    checked = check_frame(fleet, plain, name="fleet", label="vm_name")
    present = {c: spec for c, spec in vocab.items() if c in checked.columns}
    if len(present) < sum(spec.required for spec in vocab.values()):
        check_frame(checked.head(0), vocab, name="fleet")  # names the missing column
    distinct = checked.select(list(present)).unique(maintain_order=True)
    try:
        clean = check_frame(distinct, present, name="fleet").equals(distinct, null_equal=True)
    except ValueError:
        clean = False
    return checked if clean else check_frame(checked, present, name="fleet", label="vm_name")


def fleet_plan(fleet: pl.DataFrame, policies: object, *, time_zone: str = "UTC") -> FleetPlan:
    """Turn a fleet table (one row per disk) and its policies into a :class:`FleetPlan`.

    Which policy a VM follows (S1): with one policy given, every protected VM uses it (so
    ``fleet_plan(estate, {my_policy})`` plans the estate under ``my_policy``); with several,
    each VM's ``policy`` column names its own. A VM whose ``policy`` is blank is not protected
    (``vmbackup.inventory.assign_protection`` leaves it blank): it is left out of the plan and
    listed in ``FleetPlan.unprotected``.

    When a VM is backed up: its policy's run time (the window start of an Enhanced hourly policy)
    in the policy's time zone, unless the fleet's ``schedule_hour`` overrides it for that VM (a
    start-time override, in the same zone), at the UTC time that local time has on the policy's
    reference date all year (G13, A7; see :func:`simulate_fleet`); weekdays, snapshots and the
    vault transfer follow the policy (see :func:`simulate_fleet`). The temporary disks are dropped
    (never backed up).

    What changes each day: ``churn_gb_per_day`` where given (spread over the VM's disks by their
    used data), else the ``churn_class`` share of the used data (P6); each disk sends at the
    VM's ``throughput_mb_s_per_disk`` where given, else at the model's default. Churn per point
    kind (P6): a VM's ``weekly_churn_fraction``, ``monthly_churn_fraction`` and
    ``yearly_churn_fraction`` (shares of its used data changed over 7, 31 and 365 days) set the
    anchors of its distinct change (:class:`vmbackup.retention.PeriodChurn`,
    ``FleetPlan.period_churn``); blank: the overlap model's curve. There is no table of them
    per churn class (the model's curve stands in); to set them by class, fill the columns by
    class before planning, e.g. ``fleet.with_columns(weekly_churn_fraction=pl.when(
    pl.col("churn_class") == "high").then(0.25).otherwise(pl.col("weekly_churn_fraction")))``.

    Parameters
    ----------
    fleet
        The fleet table (``datasets/README.md``).
    policies
        ``{name: Policy}``, one Policy, or a collection of Policies (see :func:`policy_map`).
    time_zone
        The plan's clock: simulated hours and the lag profile's hours of day are read in this
        zone (a Windows or IANA name; default UTC).

    Raises
    ------
    ValueError
        A VM names a policy that is not given (with several policies), a bad column value, or
        a time zone that is not one.
    """
    given = policy_map(policies)
    clock = iana_zone(time_zone)
    for name, policy in given.items():
        iana_zone(policy.time_zone, f"policy {name!r} time_zone")
    fleet = _checked_fleet(fleet)
    optional = {
        "churn_gb_per_day": pl.Float64,
        "throughput_mb_s_per_disk": pl.Float64,
        "first_backup_done": pl.Boolean,
        "protection_state": pl.String,
        "schedule_hour": pl.Float64,
        **dict.fromkeys(_PERIOD_COLUMNS, pl.Float64),
    }
    fleet = fleet.with_columns(
        pl.lit(None, dtype=dtype).alias(column)
        for column, dtype in optional.items()
        if column not in fleet.columns
    )
    if fleet["policy"].null_count():
        protected = fleet.filter(pl.col("policy").is_not_null())
        unprotected = (
            fleet.filter(pl.col("policy").is_null())
            .group_by("vm_name", maintain_order=True)
            .agg(pl.col("protection_state").first().fill_null("NotProtected"))
        )
    else:
        protected = fleet
        unprotected = pl.DataFrame(schema={"vm_name": pl.String, "protection_state": pl.String})
    names = list(given)
    if len(names) == 1:
        protected = protected.with_columns(policy=pl.lit(names[0]))
    else:
        missing = sorted(set(protected["policy"].unique()) - set(given))
        if missing:
            vm = protected.filter(pl.col("policy") == missing[0])["vm_name"][0]
            raise ValueError(
                f"fleet: vm_name={vm!r} uses policy={missing[0]!r}, which is not given; "
                f"known policies: {sorted(given)} ({POLICY_ASSIGNMENT_RULE})"
            )
    disks = protected.filter(pl.col("disk_role") != "temp")
    vms = (
        disks.with_row_index("disk")
        .group_by("vm_name", maintain_order=True)
        .agg(
            pl.col(
                "schedule_hour",
                "churn_class",
                "policy",
                "churn_gb_per_day",
                "throughput_mb_s_per_disk",
                "first_backup_done",
                *_PERIOD_COLUMNS,
            ).first(),
            pi_size_gb=pl.col("used_gb").sum(),
            premium=(pl.col("disk_type") == "premium").any(),
            trusted=_flag_of(disks, "security_type", "trustedlaunch"),
            deallocated=_flag_of(disks, "power_state", "deallocated"),
            disks=pl.col("disk"),  # each VM's disk rows, in file order
        )
    )
    policy_index = (
        vms["policy"]
        .replace_strict({n: i for i, n in enumerate(names)}, return_dtype=pl.Int64)
        .to_numpy()
        .astype(np.int64)
    )
    run_hour = np.array([given[n].run_hour for n in names], dtype=np.float64)
    start = vms["schedule_hour"].fill_null(pl.Series(run_hour[policy_index])).to_numpy()
    used = vms["pi_size_gb"].to_numpy()
    class_share = vms["churn_class"].replace_strict(CHURN_CLASS_FRACTION, return_dtype=pl.Float64)
    per_day = vms["churn_gb_per_day"].to_numpy()
    measured = ~np.isnan(per_day)
    share = class_share.to_numpy().copy()
    share[measured] = np.divide(
        per_day[measured], used[measured], out=np.zeros(measured.sum()), where=used[measured] > 0
    )
    deallocated = vms["deallocated"].to_numpy()
    share[deallocated] = 0.0  # a deallocated VM writes nothing: its backups carry no churn
    period = _plan_period_churn(vms, share)
    rate = vms["throughput_mb_s_per_disk"]
    pending = vms["first_backup_done"].fill_null(True).not_().to_numpy()
    by_vm = vms["disks"].explode().to_numpy()  # disk rows grouped by VM
    disk_vm = np.repeat(np.arange(vms.height, dtype=np.int64), vms["disks"].list.len().to_numpy())
    return FleetPlan(
        vm_names=tuple(vms["vm_name"].to_list()),
        start_hour=start.astype(np.float64),
        churn_share=share,
        policy_index=policy_index,
        policies=tuple(given[n] for n in names),
        pi_size_gb=used,
        disk_vm=disk_vm,
        disk_used_gb=disks["used_gb"].to_numpy()[by_vm],
        disk_allocated_gb=disks["allocated_gb"].to_numpy()[by_vm],
        vm_premium=vms["premium"].to_numpy(),
        vm_trusted_launch=vms["trusted"].to_numpy(),
        vm_deallocated=deallocated,
        throughput_mb_s=None if rate.null_count() == rate.len() else rate.to_numpy(),
        first_backup_pending=pending if pending.any() else None,
        period_churn=period,
        time_zone=clock,
        unprotected=unprotected,
    )


def _plan_period_churn(
    vms: pl.DataFrame, daily_share: npt.NDArray[np.float64]
) -> PeriodChurn | None:
    """The VMs' churn per point kind (P6) from the fleet's optional columns (None: none given),
    refusing a VM whose shares decrease from its daily churn on, naming it."""
    if all(vms[c].null_count() == vms.height for c in _PERIOD_COLUMNS):
        return None
    fractions = [vms[c].fill_null(np.nan).to_numpy().astype(np.float64) for c in _PERIOD_COLUMNS]
    names = vms["vm_name"]

    def where(position: tuple[int, ...]) -> str:
        return f" (fleet: vm_name={names[position[0]]!r})"

    _check_rising((daily_share, *fractions), where)
    return PeriodChurn(*fractions)


def _flag_of(disks: pl.DataFrame, column: str, value: str) -> pl.Expr:
    """Per VM (in a group_by): whether an optional text column says ``value`` on any disk row
    (case-insensitive); False when the table lacks the column."""
    if column not in disks.columns:
        return pl.lit(False).alias(column)
    return (pl.col(column).cast(pl.String).str.to_lowercase() == value).fill_null(False).any()


@dataclass(frozen=True)
class FleetResult:
    """What :func:`simulate_fleet` returns.

    Attributes
    ----------
    jobs
        One row per scheduled job (VM and day of its policy's calendar): ``vm`` (index into
        ``vm_names``), ``day`` (0-based), ``start_hours`` and ``end_hours`` (since the first
        day's midnight on the plan's clock), ``duration_hours``, ``sent_gb``, ``met_window``,
        ``snapshots`` (taken that day: several under Enhanced hourly, Y2), ``first_backup``
        (S12, S14), ``failed`` (a failed backup, or a checksum job past its limit, S17).
    daily
        Per day: ``jobs``, ``over_window``, ``worst_hours``, ``sent_gb``, ``peak_transfers``
        (the most transfers in flight in any 5 minutes of that calendar day), ``snapshots``,
        ``first_backups``, ``failed``.
    monthly
        Per calendar month: ``days`` simulated in it, ``vault_gb`` (at month end),
        ``pi_fee_usd``, ``vault_storage_usd``, ``snapshot_storage_usd``, ``total_usd``.
    concurrency
        Transfers in flight per 5-minute bin over the whole horizon (each counted over its
        transfer interval before congestion slows it).
    vm_names
        The VM names.
    meters
        Per calendar month and invoice meter (P7): ``quantity`` and ``cost``; the lines of
        :func:`fleet_bill_lines` summed over VMs (None without prices).
    mean_churn_gb
        Each VM's mean data changed per day over the horizon [GB] (what the bill is on).
    billed_from_day
        Each VM's first successful backup day (S23: billing starts then); -1 for a VM protected
        before the horizon, ``days`` when it has none in it; None when every VM was protected
        before the horizon.
    """

    jobs: pl.DataFrame
    daily: pl.DataFrame
    monthly: pl.DataFrame
    concurrency: npt.NDArray[np.float64]
    vm_names: tuple[str, ...]
    meters: pl.DataFrame | None = None
    mean_churn_gb: npt.NDArray[np.float64] | None = None
    billed_from_day: npt.NDArray[np.int64] | None = None


def _draw_churn(
    rng: np.random.Generator,
    used_gb: npt.NDArray[np.float64],
    share: npt.NDArray[np.float64],
    days: int,
    sigma: float,
) -> npt.NDArray[np.float32]:
    """The next disks' daily churn [GB] from ``rng``, shape (disks, days): a log-normal factor
    of median-preserving mean 1 times the disk's class share of its used data, capped at the
    used data. Computed in place in one float32 array.

    Drawing the disks in consecutive groups gives the same numbers as drawing them at once.
    """
    churn = rng.standard_normal(size=(used_gb.size, days), dtype=np.float32)
    churn *= np.float32(sigma)
    churn -= np.float32(0.5 * sigma**2)
    np.exp(churn, out=churn)  # the factor
    churn *= (used_gb * share).astype(np.float32)[:, None]
    np.minimum(churn, used_gb.astype(np.float32)[:, None], out=churn)
    return churn


def _churn(plan: FleetPlan, days: int, seed: int, sigma: float) -> npt.NDArray[np.float32]:
    """Daily churn per disk [GB] of the whole plan, shape (disks, days) (:func:`_draw_churn`)."""
    rng = np.random.default_rng(seed)
    return _draw_churn(rng, plan.disk_used_gb, plan.churn_share[plan.disk_vm], days, sigma)


@dataclass(frozen=True)
class _Schedule:
    """When every VM's jobs run over a horizon, as arrays (see :func:`_schedule`). ``None``
    stands for the common case (every day, nothing special), so the hot path skips it.

    Attributes
    ----------
    days
        The horizon [days].
    base_hours
        Per VM: its vault transfer's start on day 0 on the plan's clock [h] (the last snapshot
        of an hourly window, Y2), before any offset.
    day_shift
        Per VM-day: hours added to ``base_hours + 24 x day`` (the plan's clock zone changing its
        own clock, G13; G4's move to the next day's first snapshot), or None.
    jobs
        Per VM-day: a job is scheduled and the VM protected (S1, Y1), or None (every day).
    failed
        Per VM-day: the job fails and sends nothing (its changes go with the next job), or None.
    first
        Per VM-day: the VM's first backup (S12, S14), or None.
    checksum
        Per VM-day: the Instant Restore snapshot is gone and it is not a first backup (S17).
    sends
        Per VM and day from ``-warmup``: the VM sends its changes to the vault that day, or None
        (every day); the changes of days without a send go with the next one.
    warmup
        Days simulated before day 0 so that the first send carries a whole gap (weekly).
    snapshots
        Per VM: snapshots on a backup day (Y1, Y2).
    new_disk_day
        Per disk: the day the disk is added (S15), or None.
    enabled
        Per VM: the day its protection is enabled (negative: before day 0), or None.
    moved
        Per VM-day: an hourly day whose last snapshot failed, its vault point taken from the
        next day's first snapshot (G4), or None.
    """

    days: int
    base_hours: npt.NDArray[np.float64]
    day_shift: npt.NDArray[np.float64] | None
    jobs: npt.NDArray[np.bool_] | None
    failed: npt.NDArray[np.bool_] | None
    first: npt.NDArray[np.bool_] | None
    checksum: npt.NDArray[np.bool_] | None
    sends: npt.NDArray[np.bool_] | None
    warmup: int
    snapshots: npt.NDArray[np.uint8]
    new_disk_day: npt.NDArray[np.int64] | None
    enabled: npt.NDArray[np.int64] | None
    moved: npt.NDArray[np.bool_] | None = None


def _day_mask(name: str, value: object, shape: tuple[int, int]) -> npt.NDArray[np.bool_] | None:
    """A per VM-day boolean input, or None; ValueError naming it if it is not one."""
    if value is None:
        return None
    array = np.asarray(value)
    if array.dtype != bool or array.shape != shape:
        raise ValueError(
            f"{name} must be True/False per VM and day, shape {shape}; found {array.dtype} of "
            f"shape {array.shape}"
        )
    return array if array.any() else None


def _day_numbers(name: str, value: object, size: int, days: int) -> npt.NDArray[np.int64] | None:
    """A per VM (or disk) day index (negative: before day 0), or None; ValueError if not."""
    if value is None:
        return None
    array = np.asarray(value)
    if array.dtype.kind not in "iu" or array.shape != (size,):
        raise ValueError(
            f"{name} must hold one whole day index per row ({size}; negative: before day 0); "
            f"found {array.dtype} of shape {array.shape}"
        )
    if size and int(array.max()) >= days:
        raise ValueError(f"{name}={int(array.max())} is past the horizon of {days} days")
    return array.astype(np.int64)


def _clock_shift(
    plan: FleetPlan,
    local: npt.NDArray[np.float64],
    start: dt.date,
    days: int,
    after: npt.NDArray[np.float64] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """G13: the shift [h] from each VM's time ``local`` plus its policy's ``after`` to the
    plan's clock, per group of VMs sharing it and day, and each VM's group (a handful of zones
    and times, not a loop over VMs).

    Each ``local`` (a VM's run time, or an hourly window's start, in its policy's zone) is
    turned into UTC once, with the zone's offset on the policy's ``schedule_reference_date``
    (else ``start``, assumption A7), and that UTC time holds every day; ``after[policy]`` hours
    later (an hourly window's last snapshot) is the same UTC time plus those hours. Only the
    plan's clock zone, read day by day, can move it on the clock."""
    later = np.zeros(len(plan.policies)) if after is None else after
    per_policy = [
        (iana_zone(p.time_zone), p.schedule_reference_date or start, float(hours))
        for p, hours in zip(plan.policies, later, strict=True)
    ]
    keys = sorted(set(per_policy))
    code = np.array([keys.index(k) for k in per_policy], dtype=np.int64)[plan.policy_index]
    # one group per (zone, reference date, hours after, local minute): one int64 to rank
    minutes = np.round(local * 60).astype(np.int64)
    group_key = pl.Series(code * 2**20 + minutes)
    group = (group_key.rank("dense").cast(pl.Int64) - 1).to_numpy()
    distinct = group_key.unique().sort().to_numpy()
    key_of, hour = distinct // 2**20, (distinct % 2**20) / 60.0
    offset = np.empty(distinct.size)
    for k in np.unique(key_of):  # a call per zone, reference date and hours after
        rows = key_of == k
        offset[rows] = utc_offset_hours(keys[k][0], keys[k][1], hour[rows])
    utc = hour + np.array([keys[k][2] for k in key_of]) - offset
    shift = clock_offset_hours(plan.time_zone, start, days, utc) - offset[:, None]
    return shift, group


def clock_start_hours(plan: FleetPlan, start: dt.date = FLEET_START) -> npt.NDArray[np.float64]:
    """Each VM's first snapshot of the day ``start`` on the plan's clock [h, 0-24) (S1, G13):
    its policy's run time in the policy's time zone (``plan.start_hour``) at the UTC time Azure
    keeps all year (the zone's offset on the policy's ``schedule_reference_date``, else on
    ``start``, A7), read on ``plan.time_zone``."""
    if not plan.vms:
        return np.zeros(0)
    shift, group = _clock_shift(plan, plan.start_hour, start, 1)
    return np.asarray((plan.start_hour + shift[group, 0]) % 24, dtype=np.float64)


def _schedule(
    plan: FleetPlan,
    start: dt.date,
    days: int,
    *,
    failed_backups: object = None,
    snapshot_missing: object = None,
    first_backup_day: object = None,
    new_disk_day: object = None,
) -> _Schedule:
    """Each VM's jobs over ``days`` days from ``start``, as Azure runs its policy (S1, Y1, Y2,
    G4, G13): the run time in the policy's time zone at a fixed UTC time (:func:`_clock_shift`),
    read on the plan's clock day by day, the weekdays of a weekly policy, every snapshot of an
    hourly window with the last one sent to the vault, and what the optional inputs change (see
    :func:`simulate_fleet`)."""
    vms, policies = plan.vms, plan.policies
    shape = (vms, days)
    index = plan.policy_index
    hourly = np.array([p.frequency == "hourly" for p in policies], dtype=bool)
    per_day = np.array([p.backups_per_day() for p in policies], dtype=np.int64)
    step = np.array([p.hourly_interval_hours or 24 for p in policies], dtype=np.float64)
    last_offset = np.where(hourly, (per_day - 1) * step, 0.0)  # Y2: the last snapshot is sent
    shift, group = _clock_shift(plan, plan.start_hour, start, days, last_offset)
    base = plan.start_hour + last_offset[index] + shift[group, 0]
    varying = (shift != shift[:, :1]).any(axis=1)
    day_shift = (shift - shift[:, :1])[group] if varying.any() else None
    # weekly policies run on their weekdays only (Y1); the days before day 0 give the warm-up
    weekly = [p.frequency == "weekly" for p in policies]
    warmup = 7 if any(weekly) and vms else 0
    weekday = (np.arange(-warmup, days) + start.weekday()) % 7
    runs_by_policy = np.array(
        [
            np.isin(weekday, [WEEKDAYS.index(d) for d in p.run_days])
            if p.frequency == "weekly"
            else np.ones(weekday.size, dtype=bool)
            for p in policies
        ]
    ).reshape(len(policies), weekday.size)
    runs_ext = runs_by_policy[index] if any(weekly) else None
    runs = None if runs_ext is None else runs_ext[:, warmup:]
    # protection: nothing before the first backup's day; the first send from then is full
    if first_backup_day is None and plan.first_backup_pending is not None:
        first_backup_day = np.where(plan.first_backup_pending, 0, -1)
    enabled = _day_numbers("first_backup_day", first_backup_day, vms, days)
    day = np.arange(days)
    protected = None if enabled is None else day[None, :] >= enabled[:, None]
    jobs = _both(runs, protected)
    failures = _day_mask("failed_backups", failed_backups, shape)
    missing = _day_mask("snapshot_missing", snapshot_missing, shape)
    failed = day_shift_g4 = moved = None
    if failures is not None:
        failures = failures if jobs is None else failures & jobs
        moved = failures & hourly[index][:, None]  # G4: the next day's first snapshot is sent
        failed = failures & ~moved
        if moved.any():
            day_shift_g4 = np.where(moved, 24.0 - last_offset[index][:, None], 0.0)
        else:
            moved = None
        failed = failed if failed.any() else None
    if day_shift_g4 is not None:
        day_shift = day_shift_g4 if day_shift is None else day_shift + day_shift_g4
    sends_now = _both(jobs, None if failed is None else ~failed)
    first = None
    if enabled is not None and sends_now is not None:
        later = sends_now & (enabled[:, None] >= 0)
        found = later.any(axis=1)
        first = np.zeros(shape, dtype=bool)
        first[np.flatnonzero(found), later.argmax(axis=1)[found]] = True
        first = first if first.any() else None
    checksum = None
    if missing is not None:
        checksum = missing if first is None else missing & ~first
        checksum = checksum if jobs is None else checksum & jobs
    if sends_now is None:
        sends = None
    else:
        before = np.ones((vms, warmup), dtype=bool) if runs_ext is None else runs_ext[:, :warmup]
        if enabled is not None:
            before = before & (enabled < 0)[:, None]
        sends = np.concatenate([before, sends_now], axis=1)
    disk_day = _day_numbers("new_disk_day", new_disk_day, plan.disk_vm.size, days)
    snapshots = np.where(hourly, per_day, 1).astype(np.uint8)[index]
    return _Schedule(
        days=days,
        base_hours=base,
        day_shift=day_shift,
        jobs=jobs,
        failed=failed,
        first=first,
        checksum=checksum,
        sends=sends,
        warmup=warmup,
        snapshots=snapshots,
        new_disk_day=None if disk_day is None or (disk_day < 0).all() else disk_day,
        enabled=None if enabled is None or (enabled < 0).all() else enabled,
        moved=moved,
    )


def _both(
    a: npt.NDArray[np.bool_] | None, b: npt.NDArray[np.bool_] | None
) -> npt.NDArray[np.bool_] | None:
    """``a & b`` where None stands for all True."""
    if a is None:
        return b
    return a if b is None else a & b


def _accumulate(
    churn: npt.NDArray[np.float32], sends: npt.NDArray[np.bool_], used_gb: npt.NDArray[np.float32]
) -> None:
    """Turn each disk's daily churn [GB] (shape (disks, days)) in place into what each send
    carries: the changes of the days since its previous send, capped at the disk's used data
    (changes that overlap are sent once; the sequential model of ``retention.changed_gb``), and
    0 on days without a send."""
    days = churn.shape[1]
    total = np.cumsum(churn, axis=1, dtype=np.float64)
    marks = np.where(sends, np.arange(days), -1)
    np.maximum.accumulate(marks, axis=1, out=marks)
    previous = np.empty_like(marks)
    previous[:, 0] = -1
    previous[:, 1:] = marks[:, :-1]  # the last send strictly before each day
    padded = np.concatenate([np.zeros((churn.shape[0], 1)), total], axis=1)
    carried = total - np.take_along_axis(padded, previous + 1, axis=1)
    np.minimum(carried, used_gb[:, None], out=carried)
    churn[...] = np.where(sends, carried, 0.0)


def _disk_hours(churn_gb: npt.NDArray[np.float32], fragmentation: float) -> npt.NDArray[np.float32]:
    """A disk's unconstrained incremental transfer time [h] for a day's churn [GB] at the
    default throughput (:func:`_disk_day_hours` without modes)."""
    return _disk_day_hours(churn_gb, fragmentation, None, None)[0]


@dataclass(frozen=True)
class _DiskBlock:
    """A block's disks as the job kernel needs them besides their churn: used and allocated
    GB, incremental rate [MB/s] (a scalar when every VM has the default), and the disk-days that
    copy everything (first backup, new disk) or run the checksum comparison (None: none)."""

    used_gb: npt.NDArray[np.float32]
    allocated_gb: npt.NDArray[np.float32]
    rate_mb_s: float | npt.NDArray[np.float32]
    full: npt.NDArray[np.bool_] | None
    checksum: npt.NDArray[np.bool_] | None


def _disk_day_hours(
    churn_gb: npt.NDArray[np.float32],
    fragmentation: float,
    block: _DiskBlock | None,
    rows: npt.NDArray[np.intp] | None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Each disk-day's unconstrained transfer time [h] and data sent [GB], for the disks
    ``rows`` of ``block`` with their churn [GB] (shape (disks, days)), by the job kernel of
    ``vmbackup.transfer``: extents from churn at ``fragmentation``, then the disk's job (a full
    copy, a checksum scan plus the changes, or the changes alone). In float32, mostly in place."""
    extents = changed_extents(churn_gb, fragmentation)
    if block is None or rows is None:
        rate: float | npt.NDArray[np.float32] = TRANSFER_DEFAULTS["incremental_throughput_mb_s"]
    elif np.ndim(block.rate_mb_s) == 0:
        rate = float(block.rate_mb_s)
    else:
        rate = np.asarray(block.rate_mb_s)[rows][:, None]
    if block is None or rows is None or (block.full is None and block.checksum is None):
        return send_hours(churn_gb, rate, extents, out=extents), churn_gb
    scan, hours, sent = disk_job_hours(
        block.used_gb[rows][:, None],
        block.allocated_gb[rows][:, None],
        churn_gb,
        extents,
        full_copy=None if block.full is None else block.full[rows],
        checksum=None if block.checksum is None else block.checksum[rows],
        incremental_mb_s=rate,
    )
    hours += scan
    return hours.astype(np.float32, copy=False), sent.astype(np.float32, copy=False)


def _bins(
    hours: npt.NDArray[np.float64], horizon: int, *, low_hours: float | None = None
) -> npt.NDArray[np.int64]:
    """The 5-minute bin of each time [h], clipped to ``0 .. horizon - 1``; shape (vms, days).

    ``low_hours``: a lower bound of the times, if the caller knows one; otherwise the rows are
    taken to grow day by day (true of start times), so the first column holds the least.
    Times known to be >= 0 skip the floor (truncation is the floor of a number >= 0), and times
    known to fall inside the horizon skip the clip.
    """
    scaled = hours / BIN_HOURS
    if scaled.size == 0:
        return scaled.astype(np.int64)
    low = scaled[:, 0].min() if low_hours is None else low_hours / BIN_HOURS
    high = scaled[:, -1].max() if low_hours is None else scaled.max()
    if low < 0:
        np.floor(scaled, out=scaled)
    bins = scaled.astype(np.int64)
    if low < 0 or high >= horizon:
        np.clip(bins, 0, horizon - 1, out=bins)
    return bins


def vault_size(vms_per_vault: object) -> int:
    """``vms_per_vault`` checked: a whole number of VMs, 1 to Azure's 1,000 per vault (G16).

    >>> vault_size(1000)
    1000
    >>> vault_size(1001)
    Traceback (most recent call last):
    ...
    ValueError: vms_per_vault=1001: a Recovery Services vault protects at most 1,000 VMs (G16); \
split the estate into more vaults
    """
    count = whole("vms_per_vault", vms_per_vault, 1, 10**7)
    if count > MAX_VMS_PER_VAULT:
        raise ValueError(
            f"vms_per_vault={count}: a Recovery Services vault protects at most "
            f"{MAX_VMS_PER_VAULT:,} VMs (G16); split the estate into more vaults"
        )
    return count


def _blocks(vms: int, vms_per_vault: int, days: int) -> list[tuple[int, int]]:
    """VM ranges ``[first, stop)`` of whole vaults, about :data:`BLOCK_VM_DAYS` VM-days each."""
    step = max(1, BLOCK_VM_DAYS // (vms_per_vault * days)) * vms_per_vault
    return [(first, min(first + step, vms)) for first in range(0, vms, step)]


def _transfer(
    disk_vm: npt.NDArray[np.int64],
    churn: npt.NDArray[np.float32],
    fragmentation: float,
    transfer_hours: npt.NDArray[np.float64],
    sent_gb: npt.NDArray[np.float64],
    block: _DiskBlock | None = None,
) -> None:
    """Fill each VM-day's unconstrained transfer time [h] (its slowest disk) and data sent [GB]
    (the sum over its disks, in float64, disk by disk), shape (vms, days), from its disks'
    changes to send (and ``block``'s modes); ``disk_vm`` numbers the VMs from 0, in order. A VM
    without disks gets zeros.

    Works through the disks by their *position* within their VM (at most 33: the OS disk and
    32 data disks), never looping over VMs or days. With the VMs sorted by disk count, the VMs
    that have a disk at position k are a prefix, so each step reads one row of churn per such
    VM and updates the running max and sum in place.
    """
    vm = disk_vm
    if vm.size == 0:
        transfer_hours[:] = sent_gb[:] = 0.0
        return
    first = np.flatnonzero(np.r_[True, vm[1:] != vm[:-1]])  # each VM's first disk
    counts = np.diff(np.r_[first, vm.size])
    order = np.argsort(-counts, kind="stable")  # VMs with the most disks first
    position_0, fewer_first = first[order], -counts[order]
    hours, rows = _disk_day_hours(churn[position_0], fragmentation, block, position_0)
    sent = rows.astype(np.float64)
    for position in range(1, int(counts.max())):
        having = int(np.searchsorted(fewer_first, -position))  # VMs with > position disks
        disks = position_0[:having] + position
        more_hours, rows = _disk_day_hours(churn[disks], fragmentation, block, disks)
        sent[:having] += rows
        np.maximum(hours[:having], more_hours, out=hours[:having])
    if first.size < transfer_hours.shape[0]:
        transfer_hours[:] = sent_gb[:] = 0.0
    transfer_hours[vm[position_0]] = hours
    sent_gb[vm[position_0]] = sent


def _disk_block(
    plan: FleetPlan,
    schedule: _Schedule,
    vms: slice,
    disks: slice,
    vm_local: npt.NDArray[np.int64],
) -> _DiskBlock | None:
    """The kernel's per-disk inputs of one block (None: every disk incremental at the default
    rate, the hot path)."""
    rate: float | npt.NDArray[np.float32] = TRANSFER_DEFAULTS["incremental_throughput_mb_s"]
    if plan.throughput_mb_s is not None:
        measured = plan.throughput_mb_s[vms][vm_local]
        if not np.isnan(measured).all():
            rate = np.where(np.isnan(measured), rate, measured).astype(np.float32)
    full = None if schedule.first is None else schedule.first[vms][vm_local]
    if schedule.new_disk_day is not None:  # S15: a new disk's first job copies it whole
        added = schedule.new_disk_day[disks]
        if (added >= 0).any():
            day = np.arange(schedule.days)
            later = (day[None, :] >= added[:, None]) & (added >= 0)[:, None]
            if schedule.sends is not None:
                later &= schedule.sends[vms][vm_local][:, schedule.warmup :]
            found = later.any(axis=1)
            new = np.zeros_like(later)
            new[np.flatnonzero(found), later.argmax(axis=1)[found]] = True
            full = new if full is None else full | new
    checksum = None if schedule.checksum is None else schedule.checksum[vms][vm_local]
    if checksum is not None and full is not None:
        checksum = checksum & ~full
    if full is not None and not full.any():
        full = None
    if checksum is not None and not checksum.any():
        checksum = None
    if full is None and checksum is None and np.ndim(rate) == 0:
        return None
    return _DiskBlock(
        used_gb=plan.disk_used_gb[disks].astype(np.float32),
        allocated_gb=plan.disk_allocated_gb[disks].astype(np.float32),
        rate_mb_s=rate,
        full=full,
        checksum=checksum,
    )


def _transfers(
    plan: FleetPlan,
    schedule: _Schedule,
    blocks: list[tuple[int, int]],
    *,
    days: int,
    seed: int,
    churn_sigma: float,
    fragmentation: float,
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]:
    """Each VM-day's unconstrained transfer time [h], data sent [GB] and rate while sending
    [MB/s] (0 without a transfer), shape (vms, days), and each VM's mean daily churn [GB]: the
    part of a simulation that start times do not change. Churn is drawn block by block (the
    same numbers as :func:`_churn` when no warm-up is needed) and turned into transfers while
    it is in the CPU cache.
    """
    vm = plan.disk_vm
    if vm.size and (vm[1:] < vm[:-1]).any():
        raise ValueError("plan.disk_vm must list each VM's disks together, in VM order")
    rng = np.random.default_rng(seed)
    share = plan.churn_share[vm]
    warmup = schedule.warmup
    transfer_hours, sent_gb = np.empty((plan.vms, days)), np.empty((plan.vms, days))
    rate_mb_s = np.zeros((plan.vms, days))
    churn_total = np.zeros(plan.vms)
    bounds = np.searchsorted(vm, [first for first, _ in blocks] + [plan.vms]).tolist()
    for (first, stop), begin, end in zip(blocks, bounds[:-1], bounds[1:], strict=True):
        used = plan.disk_used_gb[begin:end]
        churn = _draw_churn(rng, used, share[begin:end], days + warmup, churn_sigma)
        vm_local = vm[begin:end] - first
        if schedule.new_disk_day is not None:  # S15: a disk changes nothing before it exists
            added = schedule.new_disk_day[begin:end]
            churn[np.arange(days + warmup)[None, :] < (added + warmup)[:, None]] = 0.0
        churn_total[first:stop] = np.bincount(
            vm_local, churn[:, warmup:].sum(axis=1, dtype=np.float64), minlength=stop - first
        )
        if schedule.sends is not None:
            sends = schedule.sends[first:stop][vm_local]
            if not sends.all():
                _accumulate(churn, sends, used.astype(np.float32))
        churn = churn[:, warmup:]
        block = _disk_block(plan, schedule, slice(first, stop), slice(begin, end), vm_local)
        hours, sent = transfer_hours[first:stop], sent_gb[first:stop]
        _transfer(vm_local, churn, fragmentation, hours, sent, block)
        np.divide(sent * 1000, hours * 3600, out=rate_mb_s[first:stop], where=hours > 0)
    return transfer_hours, sent_gb, rate_mb_s, churn_total / days


class _Vaults:
    """The traffic-jam model (S13) for fixed transfers: :meth:`run` places them at the start
    times a set of offsets gives, a block of whole vaults at a time. What offsets do not change
    (rates, vault of each VM, the schedule, the horizon) is computed once, so
    :func:`propose_stagger` can try many offsets cheaply.
    """

    def __init__(
        self,
        plan: FleetPlan,
        schedule: _Schedule,
        blocks: list[tuple[int, int]],
        transfer_hours: npt.NDArray[np.float64],
        rate_mb_s: npt.NDArray[np.float64],
        *,
        lag_profile_hours: npt.NDArray[np.float64],
        vault_ingest_mb_s: float,
        vms_per_vault: int,
    ) -> None:
        self.plan, self.schedule, self.blocks = plan, schedule, blocks
        self.transfer_hours = transfer_hours
        self.profile = lag_profile_hours
        self.capacity = vault_ingest_mb_s
        self.days = days = transfer_hours.shape[1]
        self.horizon = horizon = int(np.ceil((days * 24 + 24 + MAX_LAG_HOURS + 48) / BIN_HOURS)) + 1
        self.rate = rate_mb_s
        # each VM's vault within its block, as the first index of its (vault, bin) row
        vault = np.arange(plan.vms) // vms_per_vault
        self.vault = [
            ((vault[first:stop] - vault[first]) * (horizon + 1))[:, None] for first, stop in blocks
        ]
        self.vaults = [int(vault[stop - 1] - vault[first]) + 1 for first, stop in blocks]

    def run(
        self,
        offsets_hours: npt.NDArray[np.float64],
        each: Callable[[slice, npt.NDArray[np.float64], npt.NDArray[np.float64]], None],
    ) -> npt.NDArray[np.float64]:
        """Call ``each(rows, start_hours, end_hours)`` with the start and end [h] of every job
        of each block of VMs, shape (VMs in rows, days); return the transfers in flight per
        5-minute bin over the horizon (each counted over its transfer interval before congestion
        slows it)."""
        p, horizon, schedule = TRANSFER_DEFAULTS, self.horizon, self.schedule
        day_hours = 24.0 * np.arange(self.days)[None, :]
        change = np.zeros(horizon + 1, dtype=np.int64)  # transfers starting less ending, per bin
        for (first, stop), vault, vaults in zip(self.blocks, self.vault, self.vaults, strict=True):
            rows = slice(first, stop)
            transfer_hours = self.transfer_hours[rows]
            start_hours = (schedule.base_hours[rows] + offsets_hours[rows])[:, None] + day_hours
            if schedule.day_shift is not None:
                start_hours += schedule.day_shift[rows]
            first_backup = None if schedule.first is None else schedule.first[rows]
            if first_backup is not None and first_backup.any():  # S14: the extension install
                transfer_start = start_hours + preparation_hours(first_backup, p)
            else:
                transfer_start = start_hours + p["snapshot_hours"]  # the snapshot is taken
            low, high = transfer_start[:, 0].min(), transfer_start[:, -1].max()  # rows grow
            transfer_start += vault_lag_hours(self.profile, transfer_start, span_hours=(low, high))

            first_bin = _bins(transfer_start, horizon)
            last_bin = _bins(
                transfer_start + transfer_hours,
                horizon,
                low_hours=float(transfer_start[:, 0].min()),
            )
            busy = transfer_hours > 0
            all_busy = bool(busy.all())  # the usual case: skip the masked copies
            if all_busy:
                starts, stops, weights = (
                    first_bin.ravel(),
                    last_bin.ravel(),
                    self.rate[rows].ravel(),
                )
            else:
                starts, stops, weights = first_bin[busy], last_bin[busy], self.rate[rows][busy]
            change += np.bincount(starts, minlength=horizon + 1)
            change[1:] -= np.bincount(stops, minlength=horizon)  # each ends after its last bin

            # demand per 5-minute bin against each vault's ingest capacity
            begin_key = first_bin
            begin_key += vault  # (vault, bin) as one index
            end_key = last_bin
            end_key += vault
            end_key += 1  # the bin after the last
            if all_busy:
                keys_in, keys_out = begin_key.ravel(), end_key.ravel()
            else:
                keys_in, keys_out = begin_key[busy], end_key[busy]
            size = vaults * (horizon + 1)
            demand = np.bincount(keys_in, weights, size)
            demand -= np.bincount(keys_out, weights, size)
            load = np.cumsum(demand.reshape(vaults, horizon + 1), axis=1)
            slowdown = np.maximum(1.0, load / self.capacity)
            # per vault: slowdown summed over the bins before each bin (0 .. horizon), laid out
            # like the keys, one row of horizon + 1 per vault
            by_vault = np.zeros((vaults, horizon + 1))
            np.cumsum(slowdown[:, :horizon], axis=1, out=by_vault[:, 1:])
            cumulative = by_vault.ravel()
            # each job is slowed by the average overload of the bins its transfer would use
            mean_slowdown = np.take(cumulative, end_key)
            mean_slowdown -= np.take(cumulative, begin_key)
            end_key -= begin_key  # the number of bins used
            mean_slowdown /= end_key
            end_hours = mean_slowdown
            end_hours *= transfer_hours
            end_hours += transfer_start
            each(rows, start_hours, end_hours)
        return np.cumsum(change)[:horizon].astype(np.float64)


def _job_hours(
    start_hours: npt.NDArray[np.float64], end_hours: npt.NDArray[np.float64]
) -> npt.NDArray[np.float32]:
    """Each job's duration [h] as reported (float32)."""
    return (end_hours - start_hours).astype(np.float32)


@dataclass(frozen=True)
class _Simulation:
    """The part of a simulation that offsets do not change."""

    schedule: _Schedule
    vaults: _Vaults
    sent_gb: npt.NDArray[np.float64]
    mean_churn_gb: npt.NDArray[np.float64]


def _simulation(
    plan: FleetPlan,
    *,
    days: int,
    start: dt.date,
    seed: int,
    churn_sigma: float,
    fragmentation: float,
    lag_profile_hours: npt.NDArray[np.float64],
    vault_ingest_mb_s: float,
    vms_per_vault: int,
    events: dict[str, object] | None = None,
) -> _Simulation:
    """The schedule and the transfers of every VM-day (drawn once), and the vaults that place
    them for any start times; also each VM-day's data sent [GB] and each VM's daily churn."""
    schedule = _schedule(plan, start, days, **(events or {}))
    blocks = _blocks(plan.vms, vms_per_vault, days)
    transfer_hours, sent_gb, rate_mb_s, churn = _transfers(
        plan,
        schedule,
        blocks,
        days=days,
        seed=seed,
        churn_sigma=non_negative("churn_sigma", churn_sigma),
        fragmentation=fragmentation,
    )
    vaults = _Vaults(
        plan,
        schedule,
        blocks,
        transfer_hours,
        rate_mb_s,
        lag_profile_hours=lag_profile_hours,
        vault_ingest_mb_s=vault_ingest_mb_s,
        vms_per_vault=vms_per_vault,
    )
    return _Simulation(schedule, vaults, sent_gb, churn)


def _offsets(offsets_hours: object, vms: int) -> npt.NDArray[np.float64]:
    """Per-VM start offsets [h] (a scalar for all), finite, within a day either way."""
    try:
        offsets = np.broadcast_to(np.asarray(offsets_hours, dtype=np.float64), (vms,))
    except (TypeError, ValueError):
        raise ValueError(
            f"offsets_hours={offsets_hours!r:.60} must be hours, one per VM ({vms}) or one for all"
        ) from None
    if not np.isfinite(offsets).all() or (np.abs(offsets) > 24 * 3660).any():
        raise ValueError(
            f"offsets_hours must be finite hours within the horizon; found "
            f"{offsets[~np.isfinite(offsets) | (np.abs(offsets) > 24 * 3660)][0]}"
        )
    return offsets


def _checked(
    *,
    days: int,
    lag_profile_hours: npt.ArrayLike,
    vault_ingest_mb_s: float,
    vms_per_vault: int,
    fragmentation: float,
) -> tuple[npt.NDArray[np.float64], float]:
    """Check a simulation's settings; return the lag profile [h] and the vault capacity [MB/s]."""
    whole("days", days, 1, 3660)
    capacity = positive("vault_ingest_mb_s", vault_ingest_mb_s)
    bounded("fragmentation", fragmentation, 0, 1)
    profile = non_negative_array("lag_profile_hours", lag_profile_hours)
    if profile.shape != (24,) or (profile > MAX_LAG_HOURS).any():
        raise ValueError("lag_profile_hours must hold 24 values between 0 and 8 (S11)")
    vault_size(vms_per_vault)
    return profile, capacity


def simulate_fleet(
    plan: FleetPlan,
    *,
    lag_profile_hours: npt.ArrayLike,
    days: int = 30,
    start: dt.date = FLEET_START,
    offsets_hours: npt.ArrayLike = 0.0,
    vault_ingest_mb_s: float = DEFAULT_VAULT_INGEST_MB_S,
    vms_per_vault: int = DEFAULT_VMS_PER_VAULT,
    fragmentation: float = 0.3,
    churn_sigma: float = 0.5,
    seed: int = 0,
    prices: Prices | None = None,
    redundancy: str = "GRS",
    first_backup_day: npt.ArrayLike | None = None,
    failed_backups: npt.ArrayLike | None = None,
    snapshot_missing: npt.ArrayLike | None = None,
    new_disk_day: npt.ArrayLike | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    overlap: str | float = "trace",
) -> FleetResult:
    """Simulate ``days`` days of backups for every VM of ``plan`` (see the module notes).

    Each VM's jobs follow its policy as Azure runs it (S1, G13): at the policy's run time (or
    the VM's override) in the policy's time zone, turned into UTC once (the zone's offset on the
    policy's ``schedule_reference_date``, else on ``start``, A7) and kept at that UTC time every
    day, so its local time moves by an hour when the zone changes its clock; read on the plan's
    clock (a clock zone with summer time moves it on that clock); a weekly policy on its
    weekdays only, its job sending the changes of the days since the last one (Y1); an Enhanced
    hourly policy takes every snapshot of its window and sends the last one of the day to the
    vault (Y2, S29).

    Parameters
    ----------
    plan
        The fleet (:func:`fleet_plan`).
    lag_profile_hours
        Wait for the vault by snapshot hour on the plan's clock: 24 values [h], at most 8 (S11).
    days
        Days to simulate.
    start
        Date of day 0 (for weekdays, the clock's summer time, months and retention; the date
        whose UTC offset fixes a policy's UTC run time when it has no
        ``schedule_reference_date``, A7).
    offsets_hours
        Per-VM shift of the scheduled start [h] (from :func:`propose_stagger`), or a scalar.
    vault_ingest_mb_s
        Each vault's total ingest capacity [MB/s] (assumption: 700).
    vms_per_vault
        VMs are dealt to vaults in fleet order, this many each (default 1,000: Azure's limit of
        VMs per Recovery Services vault; assumption for how an estate is split).
    fragmentation
        How scattered each day's changes are (0 contiguous .. 1), for the per-extent cost.
    churn_sigma
        Spread of the day-to-day churn factor (log-normal sigma).
    seed
        Seed of the churn draws: the same seed gives the same month.
    prices, redundancy
        For the monthly bill; without prices the bill columns are omitted.
    first_backup_day
        Per VM, the day its protection is enabled: no job before, and its first scheduled job
        from then copies all its used data and installs the extension (S12, S14); billing
        starts with it (S23). Negative: protected before day 0. Default: day 0 for the VMs whose
        first backup is pending (``plan.first_backup_pending``), else all protected.
    failed_backups
        Per VM-day (True/False, shape (VMs, days)): the day's backup fails. Its changes go
        with the next job; under an Enhanced hourly policy the day's last snapshot failed, so
        the next day's first snapshot is sent to the vault instead (G4).
    snapshot_missing
        Per VM-day: the Instant Restore snapshot was deleted, so the job falls back to the
        checksum comparison of every disk (S17); such a job fails past its limit.
    new_disk_day
        Per disk of the plan (in ``plan.disk_vm`` order), the day it is added (negative:
        always there): it changes nothing before, and its first job copies it whole (S15).
    progress
        Called as ``progress(stage, 3, label)`` as the stages (churn and transfer, congestion,
        rollups) begin and ``progress(3, 3, "done")`` at the end.
    overlap
        The vault's overlap model (:func:`fleet_bill_lines`): ``"trace"`` (default, A32),
        ``"random"`` or ``"sequential"`` (the no-overlap upper bound).
    """
    profile, capacity = _checked(
        days=days,
        lag_profile_hours=lag_profile_hours,
        vault_ingest_mb_s=vault_ingest_mb_s,
        vms_per_vault=vms_per_vault,
        fragmentation=fragmentation,
    )
    date_value("start", start)
    instance("plan", plan, FleetPlan, "a FleetPlan (from fleet_plan)")
    offsets = _offsets(offsets_hours, plan.vms)
    whole("seed", seed, 0, 2**63 - 1)
    redundancy = choice("redundancy", redundancy, REDUNDANCIES)
    _pool_days(overlap)
    if prices is not None:
        instance("prices", prices, Prices, "Prices (from vmbackup.data.read_prices) or None")

    def report(label: str, stage: int) -> None:
        if progress is not None:
            progress(stage, 3, label)

    report("churn and transfer", 0)
    run = _simulation(
        plan,
        days=days,
        start=start,
        seed=seed,
        churn_sigma=churn_sigma,
        fragmentation=fragmentation,
        lag_profile_hours=profile,
        vault_ingest_mb_s=capacity,
        vms_per_vault=vms_per_vault,
        events={
            "first_backup_day": first_backup_day,
            "failed_backups": failed_backups,
            "snapshot_missing": snapshot_missing,
            "new_disk_day": new_disk_day,
        },
    )
    schedule, sent_gb, mean_churn = run.schedule, run.sent_gb, run.mean_churn_gb
    report("congestion", 1)
    start32 = np.empty((plan.vms, days), dtype=np.float32)
    end32, duration32 = np.empty_like(start32), np.empty_like(start32)

    def keep(
        rows: slice, start_hours: npt.NDArray[np.float64], end: npt.NDArray[np.float64]
    ) -> None:
        start32[rows], end32[rows] = start_hours, end
        duration32[rows] = _job_hours(start_hours, end)

    concurrency = run.vaults.run(offsets, keep)
    del run

    report("rollups", 2)
    failed = schedule.failed
    if schedule.checksum is not None:
        past = checksum_failed(duration32, schedule.checksum)  # S17
        failed = past if failed is None else failed | past
    jobs = _jobs_table(schedule, start32, end32, duration32, sent_gb, failed)
    day_bins = round(24 / BIN_HOURS)
    peak = concurrency[: days * day_bins].reshape(days, day_bins).max(axis=1)
    scheduled = schedule.jobs
    counted = duration32 if scheduled is None else np.where(scheduled, duration32, 0.0)
    snapshots = _snapshot_counts(schedule)
    daily = pl.DataFrame(
        {
            "day": np.arange(days, dtype=np.uint16),
            "jobs": (
                np.full(days, plan.vms) if scheduled is None else scheduled.sum(axis=0)
            ).astype(np.uint32),
            "over_window": (counted > WINDOW_HOURS).sum(axis=0).astype(np.uint32),
            "worst_hours": counted.max(axis=0) if plan.vms else np.zeros(days, np.float32),
            "sent_gb": sent_gb.sum(axis=0, dtype=np.float64),
            "peak_transfers": peak,
            "snapshots": snapshots.sum(axis=0, dtype=np.uint32),
            "first_backups": _count(schedule.first, days),
            "failed": _count(failed, days),
        }
    )
    billed_from = _billed_from(schedule, days)
    monthly, meters = _monthly_bill(
        plan,
        mean_churn,
        start,
        days,
        prices,
        redundancy,
        first_backup_on=billed_from,
        overlap=overlap,
    )
    report("done", 3)
    return FleetResult(
        jobs=jobs,
        daily=daily,
        monthly=monthly,
        meters=meters,
        concurrency=concurrency,
        vm_names=plan.vm_names,
        mean_churn_gb=mean_churn,
        billed_from_day=billed_from,
    )


def _count(mask: npt.NDArray[np.bool_] | None, days: int) -> npt.NDArray[np.uint32]:
    """Per day: how many VMs a per VM-day mask marks (0 without a mask)."""
    if mask is None:
        return np.zeros(days, dtype=np.uint32)
    counts: npt.NDArray[np.uint32] = mask.sum(axis=0).astype(np.uint32)
    return counts


def _snapshot_counts(schedule: _Schedule) -> npt.NDArray[np.uint8]:
    """Snapshots taken per VM-day (Y1, Y2): the policy's count on a day with a job, none on
    other days or when the backup failed, one fewer on an hourly day whose last snapshot
    failed (G4)."""
    days = schedule.days
    counts = np.broadcast_to(schedule.snapshots[:, None], (schedule.snapshots.size, days))
    if schedule.jobs is None and schedule.failed is None and schedule.moved is None:
        return counts
    taking = np.ones(counts.shape, dtype=bool) if schedule.jobs is None else schedule.jobs
    if schedule.failed is not None:
        taking = taking & ~schedule.failed
    counts = np.where(taking, counts, 0)
    if schedule.moved is not None:
        counts = counts - schedule.moved
    return counts.astype(np.uint8)


def _jobs_table(
    schedule: _Schedule,
    start32: npt.NDArray[np.float32],
    end32: npt.NDArray[np.float32],
    duration32: npt.NDArray[np.float32],
    sent_gb: npt.NDArray[np.float64],
    failed: npt.NDArray[np.bool_] | None,
) -> pl.DataFrame:
    """One row per scheduled job (all VM-days when every VM runs every day)."""
    vms, days = start32.shape
    columns: dict[str, Any] = {
        "vm": np.repeat(np.arange(vms, dtype=np.uint32), days),
        "day": np.tile(np.arange(days, dtype=np.uint16), vms),
        "start_hours": start32.ravel(),
        "end_hours": end32.ravel(),
        "duration_hours": duration32.ravel(),
        "sent_gb": sent_gb.astype(np.float32).ravel(),
        "met_window": (duration32 <= WINDOW_HOURS).ravel(),
        "snapshots": _snapshot_counts(schedule).ravel(),
        "first_backup": (
            np.zeros(vms * days, dtype=bool) if schedule.first is None else schedule.first.ravel()
        ),
        "failed": np.zeros(vms * days, dtype=bool) if failed is None else failed.ravel(),
    }
    if schedule.jobs is not None:
        keep = schedule.jobs.ravel()
        columns = {name: values[keep] for name, values in columns.items()}
    return pl.DataFrame(columns)


def _billed_from(schedule: _Schedule, days: int) -> npt.NDArray[np.int64] | None:
    """Each VM's first successful backup day (S23: billing starts then), ``days`` if none in
    the horizon, -1 for a VM protected before day 0; None when every VM was."""
    if schedule.first is None and schedule.enabled is None:
        return None
    vms = schedule.snapshots.size
    start = np.full(vms, -1, dtype=np.int64)
    if schedule.enabled is not None:
        start[schedule.enabled >= 0] = days  # no successful backup found yet
    if schedule.first is not None:
        found = schedule.first.any(axis=1)
        start[found] = schedule.first.argmax(axis=1)[found]
    return start


def _first_backup_days(
    first_backup_on: npt.ArrayLike | None, vms: int, days: int
) -> npt.NDArray[np.int64] | None:
    """Each VM's first-backup day index checked (one whole number per VM) and capped at the
    horizon; None stays None."""
    if first_backup_on is None:
        return None
    first = np.asarray(first_backup_on)
    if first.dtype.kind not in "iu" or first.shape != (vms,):
        raise ValueError(
            f"first_backup_on must hold one whole day index per VM ({vms}); found "
            f"{first.dtype} of shape {first.shape}"
        )
    return np.minimum(first.astype(np.int64), days)


def fleet_bill_lines(
    plan: FleetPlan,
    mean_churn_gb: npt.ArrayLike,
    start: dt.date,
    days: int,
    prices: Prices,
    redundancy: str = "GRS",
    first_backup_on: npt.ArrayLike | None = None,
    overlap: str | float = "trace",
) -> pl.DataFrame:
    """The fleet's bill per month, VM and meter, as the lines of an invoice (P7, H3).

    The same engine as one VM's bill (:mod:`vmbackup.billing`): the PI fee by the pricing rules
    of each month (agentless: 0.5 PI in preview, then a full PI on half the provisioned size,
    G1), the S28 chain of each policy's recovery points in the vault, and Instant Restore
    snapshots by schedule, priced by the policy type that takes them and never by the disk's
    media (G9: Enhanced snapshots, and a Trusted Launch VM's under Standard (G8), at the Standard
    HDD incremental-snapshot price, ZRS; Standard snapshots at their own row,
    :func:`vmbackup.billing.snapshot_meter`), with the clean-up lag of G9.

    Every VM is billed from ``start``, protected before it, unless ``first_backup_on`` gives the
    day of its first successful backup: billing starts then (S23), its snapshots build up from
    it and its vault chain starts with it. Each VM's vault is its own S28 chain, as its
    single-VM bill computes it (:func:`vmbackup.billing.monthly_bill` with the same used data,
    churn and overlap model): the full copy plus, for every linked point, the distinct change
    since its predecessor (:func:`vmbackup.retention.distinct_change_gb`, never above the VM's
    data). The chain's points are found once per policy and first-backup day and counted by
    gap (:func:`vmbackup.retention.chain_gaps`), so years cost about what a month does.

    Parameters
    ----------
    plan
        The fleet (:func:`fleet_plan`).
    mean_churn_gb
        Each VM's mean data changed per day [GB].
    start, days
        The billed days.
    prices
        The region's prices.
    redundancy
        Vault storage redundancy.
    first_backup_on
        Per VM: the day of its first successful backup (``FleetResult.billed_from_day``), -1
        for a VM protected before ``start``, ``days`` or more for none in the horizon; None:
        every VM protected before ``start``.
    overlap
        How several days' changes overlap (:func:`vmbackup.retention.distinct_change_gb`):
        ``"trace"`` (default, A32), ``"random"``, or ``"sequential"``, the no-overlap upper
        bound; a VM's ``change_pool_days`` in the plan wins over it.

    Returns
    -------
    polars.DataFrame
        ``month``, ``vm`` (index), ``meter``, ``product``, ``unit``, ``quantity``,
        ``unit_price``, ``cost`` (the prices' currency).
    """
    redundancy = choice("redundancy", redundancy, REDUNDANCIES)
    _pool_days(overlap)
    first = _first_backup_days(first_backup_on, plan.vms, days)
    bill = _bill_arrays(
        plan, mean_churn_gb, start, days, prices, redundancy, first_backup_on=first, overlap=overlap
    )
    return _lines(bill, prices, redundancy)


def _bill_arrays(
    plan: FleetPlan,
    mean_churn_gb: npt.ArrayLike,
    start: dt.date,
    days: int,
    prices: Prices,
    redundancy: str,
    vault_chains: dict[tuple[int, int], _Chain] | None = None,
    first_backup_on: npt.NDArray[np.int64] | None = None,
    overlap: str | float = "trace",
) -> _BillArrays:
    """The arrays of :func:`fleet_bill_lines` (per VM and month), without building lines."""
    churn = np.asarray(mean_churn_gb, dtype=np.float64)
    dates = pl.date_range(start, start + dt.timedelta(days=days - 1), "1d", eager=True)
    month_of = dates.dt.truncate("1mo")
    months = month_of.unique(maintain_order=True)
    day_month = (
        pl.DataFrame({"m": month_of}).join(
            pl.DataFrame({"m": months, "i": np.arange(months.len())}), on="m", how="left"
        )["i"]
    ).to_numpy()
    dim = dates.dt.month_end().dt.day().to_numpy().astype(np.float64)
    per_month = np.zeros((months.len(), days))
    per_month[day_month, np.arange(days)] = 1.0 / dim  # month-fraction of each billed day
    # each VM's billed share of each month (S23: from its first successful backup)
    tail = np.zeros((months.len(), days + 1))
    tail[:, :days] = np.cumsum(per_month[:, ::-1], axis=1)[:, ::-1]
    first = np.full(plan.vms, -1) if first_backup_on is None else first_backup_on
    month_share = tail[:, np.maximum(first, 0)].T  # (VMs, months)
    policies, index = plan.policies, plan.policy_index
    size = plan.pi_size_gb
    provisioned = np.bincount(plan.disk_vm, plan.disk_allocated_gb, plan.vms)
    crash = np.array([p.consistency == "crash" for p in policies])[index]
    # PI fee per VM and month, by the rules of the month's first billed day (G1, S27)
    first_days = np.array(
        [dates[int(np.flatnonzero(day_month == m)[0])] for m in range(months.len())],
        dtype="datetime64[D]",
    )
    fee = np.empty((plan.vms, months.len()))
    small = np.empty((plan.vms, months.len()), dtype=bool)
    for m, day in enumerate(first_days):  # a handful of months, not VMs
        basis = size.copy()
        fee[:, m] = pi_fee_usd_per_month(size, prices, "application")
        if crash.any():
            options = {"day": np.full(crash.sum(), day), "provisioned_gb": provisioned[crash]}
            fee[crash, m] = pi_fee_usd_per_month(size[crash], prices, "crash", **options)
            basis[crash] = pi_basis(size[crash], "crash", **options)[0]
        small[:, m] = basis <= prices.pi_small_max_gb
    pi_cost = fee * month_share
    pi_price = np.where(small, prices.pi_small_usd, prices.pi_per_500_gb_usd)
    # vault: each VM's own S28 chain (the single-VM bill's), from its policy's gaps (A32)
    vault_gb_months = np.zeros((plan.vms, months.len()))
    chains = _vault_chains(plan, dates, first) if vault_chains is None else vault_chains
    for (i, on), (gaps, counts, full) in chains.items():
        members = (index == i) & (first == on)
        increments = _increments(plan, members, churn, gaps, overlap)
        vault_gb_months[members] = size[members, None] * (per_month @ full)[None, :] + (
            increments @ (per_month @ counts).T
        )
    # Instant Restore snapshots per VM (P4, G8, G9), priced by the policy type, not the media;
    # the rules change by month, so a protected VM's snapshots are one value a month, and a new
    # VM's differ only over the days they build up (ages 1 to the policy's IR days)
    month_rule = rules_on(np.asarray(first_days))
    rule = month_rule[day_month]
    billed_share = per_month.sum(axis=1)  # share of each month inside the horizon
    snap_gb_months = np.zeros((plan.vms, months.len()))
    trusted = (
        plan.vm_trusted_launch
        if plan.vm_trusted_launch is not None
        else np.zeros(plan.vms, dtype=bool)
    )
    enhanced = np.array([p.policy_type == "enhanced" for p in policies])[index] | trusted
    for i, policy in enumerate(policies):
        for tl in (False, True):  # a Trusted Launch VM keeps a full first snapshot (G8)
            members = (index == i) & (trusted == tl)
            if not members.any():
                continue
            steady = instant_restore_gb(
                policy,
                size[members, None],
                churn[members, None],
                rule=month_rule[None, :],
                trusted_launch=tl,
                overlap=overlap,
            )
            on = first[members]
            ramp = int(policy.instant_restore_days or 1)
            fresh = np.flatnonzero(on >= 0)
            snap_gb_months[members] = np.where(
                (on >= 0)[:, None],
                steady * tail[:, np.clip(on + ramp, 0, days)].T,
                steady * billed_share[None, :],
            )
            if fresh.size:  # the build-up days: ages 1..ramp (snapshots kept = age, G9 none)
                age = np.arange(1, ramp + 1)
                day_of = on[fresh, None] + age[None, :] - 1
                inside = day_of < days
                at = np.minimum(day_of, days - 1)
                built = instant_restore_gb(
                    policy,
                    size[members][fresh, None],
                    churn[members][fresh, None],
                    rule=rule[at],
                    age_days=age[None, :],
                    trusted_launch=tl,
                    overlap=overlap,
                )
                rows = np.flatnonzero(members)[fresh]
                weight = np.where(inside, per_month[day_month[at], at], 0.0)
                np.add.at(
                    snap_gb_months,
                    (np.broadcast_to(rows[:, None], at.shape), day_month[at]),
                    built * weight,
                )
    kinds = [snapshot_meter(prices, "enhanced"), snapshot_meter(prices, "standard")]
    snap_price = np.where(enhanced, kinds[0][3], kinds[1][3])
    return _BillArrays(
        months.to_numpy(),
        pi_cost,
        pi_price,
        vault_gb_months,
        snap_gb_months,
        snap_price,
        enhanced,
    )


#: One policy's S28 chain by gap: gaps [days], counts (days x gaps), full-copy days.
_Chain = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]


def _vault_chains(
    plan: FleetPlan,
    dates: pl.Series,
    first_backup_on: npt.NDArray[np.int64] | None = None,
) -> dict[tuple[int, int], _Chain]:
    """Per policy and first-backup day (-1: before the horizon), the S28 chain of one of its
    VMs as counts of increments by gap (:func:`vmbackup.retention.chain_gaps`): ``gaps``,
    ``counts`` (days x gaps) and ``full`` (days the full copy is held), zero before the
    group's first backup. Every VM of a group has the same points, so one chain serves all."""
    chains = {}
    days = dates.len()
    first = np.full(plan.vms, -1) if first_backup_on is None else first_backup_on
    key = plan.policy_index * (days + 2) + (first + 1)  # (policy, first-backup day) as one
    groups = np.flatnonzero(np.bincount(key)) if plan.vms else np.zeros(0, dtype=np.int64)
    for i, on in zip(groups // (days + 2), groups % (days + 2) - 1, strict=True):
        begin = max(int(on), 0)
        gaps, counts, full = np.zeros(0, np.int64), np.zeros((days, 0)), np.zeros(days)
        if begin < days:
            span = days - begin
            created, expires = _policy_points(plan.policies[i], dates[begin], span)
            gaps, part, alive = chain_gaps(created, expires, span)
            counts = np.zeros((days, gaps.size))
            counts[begin:], full[begin:] = part, alive
        chains[(int(i), int(on))] = (gaps, counts, full)
    return chains


def _increments(
    plan: FleetPlan,
    members: npt.NDArray[np.bool_],
    churn: npt.NDArray[np.float64],
    gaps: npt.NDArray[np.int64],
    overlap: str | float,
) -> npt.NDArray[np.float64]:
    """Each member VM's increment for each gap [GB] (VMs x gaps): the distinct change of
    :func:`vmbackup.retention.distinct_change_gb`, a VM's own pool where it has one (A32) and
    its churn per point kind where given (P6: its anchors; a simulated mean churn above a
    given weekly share raises the later anchors to it rather than failing the plan)."""
    used, changed = plan.pi_size_gb[members, None], churn[members, None]
    increments = distinct_change_gb(used, changed, gaps[None, :], overlap)
    pools = np.full(used.shape, np.nan)
    if plan.change_pool_days is not None:
        own = plan.change_pool_days[members]
        given = np.isfinite(own) | (own == np.inf)
        if given.any():
            increments[given] = distinct_change_gb(
                used[given], changed[given], gaps[None, :], own[given, None]
            )
            pools[given, 0] = own[given]
    if plan.period_churn is not None:
        rows = np.flatnonzero(members)
        anchored = plan.period_churn.take(rows).given()[:, 0]
        if anchored.any():
            u, c = used[anchored], np.minimum(changed[anchored], used[anchored])
            base = _pool_days(overlap)
            # random overlap is a pool of the whole used data: used / churn days of churn (A20)
            with np.errstate(over="ignore"):  # a vanishing churn: a pool beyond any horizon
                model_pool = (
                    np.divide(u, c, out=np.full(u.shape, np.inf), where=c > 0)
                    if base is None
                    else np.full(u.shape, base)
                )
            pool = np.where(np.isnan(pools[anchored]), model_pool, pools[anchored])
            increments[anchored] = _change_gb(
                u,
                c,
                gaps[None, :].astype(np.float64),
                pool,
                plan.period_churn.take(rows[anchored]),
                increments[anchored],
            )
    return increments


def _daily_vault_gb(
    plan: FleetPlan,
    churn: npt.NDArray[np.float64],
    chains: dict[tuple[int, int], _Chain],
    first: npt.NDArray[np.int64],
    overlap: str | float,
    days: int,
) -> npt.NDArray[np.float64]:
    """The fleet's vault storage at the end of each day [GB]: the sum of the VMs' chains."""
    total = np.zeros(days)
    for (i, on), (gaps, counts, full) in chains.items():
        members = (plan.policy_index == i) & (first == on)
        increments = _increments(plan, members, churn, gaps, overlap)
        total += plan.pi_size_gb[members].sum() * full + counts @ increments.sum(axis=0)
    return total


@functools.lru_cache(maxsize=64)
def _policy_points(
    policy: Policy, start: dt.date, days: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The days a policy's vault points are made and expire over a horizon (as
    :func:`vmbackup.retention.vault_storage_gb` finds them), kept for the next run."""
    dates = pl.date_range(start, start + dt.timedelta(days=days - 1), "1d", eager=True)
    points = vault_points(policy, dates)
    return points["created_day"].to_numpy(), points["expires_day"].to_numpy()


@dataclass(frozen=True)
class _BillArrays:
    """A fleet's bill as arrays: per VM and month (V x M) or per VM (V)."""

    months: npt.NDArray[Any]
    pi_cost: npt.NDArray[np.float64]
    pi_price: npt.NDArray[np.float64]
    vault_gb_months: npt.NDArray[np.float64]
    snap_gb_months: npt.NDArray[np.float64]
    snap_price: npt.NDArray[np.float64]
    enhanced_snapshots: npt.NDArray[np.bool_]  # Enhanced-style snapshots (G8, G9)


def _lines(bill: _BillArrays, prices: Prices, redundancy: str) -> pl.DataFrame:
    """Invoice lines from a fleet's bill arrays."""
    pi_cost, pi_price = bill.pi_cost, bill.pi_price
    vault_gb_months, snap_gb_months, snap_price = (
        bill.vault_gb_months,
        bill.snap_gb_months,
        bill.snap_price,
    )
    n_months = bill.months.size
    enhanced, standard = snapshot_meter(prices, "enhanced"), snapshot_meter(prices, "standard")
    vms = pi_cost.shape[0]
    vm = np.repeat(np.arange(vms, dtype=np.int64), n_months)
    month = np.tile(bill.months, vms)
    frames = [
        pl.DataFrame(
            {
                "month": month,
                "vm": vm,
                "meter": PI_METER,
                "product": "Backup",
                "unit": "1/Month",
                "quantity": (pi_cost / pi_price).ravel(),
                "unit_price": pi_price.ravel(),
                "cost": pi_cost.ravel(),
            }
        ),
        pl.DataFrame(
            {
                "month": month,
                "vm": vm,
                "meter": f"Standard {redundancy} Data Stored",
                "product": "Backup",
                "unit": "1 GB/Month",
                "quantity": vault_gb_months.ravel(),
                "unit_price": prices.storage_usd_per_gb_month[redundancy],
                "cost": vault_gb_months.ravel() * prices.storage_usd_per_gb_month[redundancy],
            }
        ),
    ]
    frames.append(
        pl.DataFrame(
            {
                "month": month,
                "vm": vm,
                "meter": np.repeat(
                    np.where(bill.enhanced_snapshots, enhanced[0], standard[0]), n_months
                ),
                "product": np.repeat(
                    np.where(bill.enhanced_snapshots, enhanced[1], standard[1]), n_months
                ),
                "unit": "1 GB/Month",
                "quantity": snap_gb_months.ravel(),
                "unit_price": np.repeat(snap_price, n_months),
                "cost": (snap_gb_months * snap_price[:, None]).ravel(),
            }
        )
    )
    return pl.concat(frames).filter(pl.col("quantity") > 0)


def _monthly_bill(
    plan: FleetPlan,
    churn: npt.NDArray[np.float64],
    start: dt.date,
    days: int,
    prices: Prices | None,
    redundancy: str,
    *,
    first_backup_on: npt.NDArray[np.int64] | None = None,
    overlap: str | float = "trace",
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The bill per month (and per month and meter), from :func:`fleet_bill_lines`, on each
    VM's mean daily churn [GB]."""
    dates = pl.date_range(start, start + dt.timedelta(days=days - 1), "1d", eager=True)
    first = np.full(plan.vms, -1) if first_backup_on is None else first_backup_on
    chains = _vault_chains(plan, dates, first)
    total = _daily_vault_gb(plan, churn, chains, first, overlap, days)
    month_end = (
        pl.DataFrame({"day": dates, "vault_gb": total})
        .group_by(pl.col("day").dt.truncate("1mo").alias("month"), maintain_order=True)
        .agg(vault_gb=pl.col("vault_gb").last())
    )
    if prices is None:
        return month_end, None
    bill = _bill_arrays(
        plan,
        churn,
        start,
        days,
        prices,
        redundancy,
        vault_chains=chains,
        first_backup_on=first_backup_on,
        overlap=overlap,
    )
    vault_price = prices.storage_usd_per_gb_month[redundancy]
    snap_cost = bill.snap_gb_months * bill.snap_price[:, None]
    rows = []
    month_dates = pl.Series("month", bill.months).cast(pl.Date).to_list()
    for m, month in enumerate(month_dates):  # a handful of months: sums over VMs in numpy
        pi_quantity = float((bill.pi_cost[:, m] / bill.pi_price[:, m]).sum())
        vault_gb = float(bill.vault_gb_months[:, m].sum())
        rows.append((month, PI_METER, pi_quantity, float(bill.pi_cost[:, m].sum())))
        rows.append((month, f"Standard {redundancy} Data Stored", vault_gb, vault_gb * vault_price))
        enhanced, standard = snapshot_meter(prices, "enhanced"), snapshot_meter(prices, "standard")
        for name, members in (
            (standard[0], ~bill.enhanced_snapshots),
            (enhanced[0], bill.enhanced_snapshots),
        ):
            quantity = float(bill.snap_gb_months[members, m].sum())
            rows.append((month, name, quantity, float(snap_cost[members, m].sum())))
    meters = pl.DataFrame(rows, schema=["month", "meter", "quantity", "cost"], orient="row").filter(
        pl.col("quantity") > 0
    )
    parts = pl.DataFrame(
        {
            "month": pl.Series(bill.months).cast(pl.Date),
            "pi_fee_usd": bill.pi_cost.sum(axis=0),
            "vault_storage_usd": bill.vault_gb_months.sum(axis=0) * vault_price,
            "snapshot_storage_usd": snap_cost.sum(axis=0),
        }
    )
    billed_days = (
        pl.DataFrame({"month": dates.dt.truncate("1mo")}).group_by("month").agg(days=pl.len())
    )
    monthly = (
        billed_days.join(parts, on="month", how="left")
        .join(month_end, on="month", how="left")
        .sort("month")
        .with_columns(
            total_usd=pl.col("pi_fee_usd")
            + pl.col("vault_storage_usd")
            + pl.col("snapshot_storage_usd")
        )
        .select(
            "month",
            "days",
            "vault_gb",
            "pi_fee_usd",
            "vault_storage_usd",
            "snapshot_storage_usd",
            "total_usd",
        )
    )
    return monthly, meters


def horizon_bill(
    plan: FleetPlan,
    mean_churn_gb: npt.ArrayLike,
    prices: Prices,
    *,
    start: dt.date = FLEET_START,
    years: int = 3,
    redundancy: str = "GRS",
    first_backup_on: npt.ArrayLike | None = None,
    overlap: str | float = "trace",
) -> pl.DataFrame:
    """The fleet's bill month by month over 1 to 10 years, without simulating jobs (P7, S28).

    The same arrays as :func:`fleet_bill_lines` (each VM's own S28 chain from its policy's
    gaps, Instant Restore snapshots by month and pricing rule, the PI fee month by month) on
    each VM's mean daily churn, e.g. ``FleetResult.mean_churn_gb`` of a short simulation: the
    vault's points are counted by gap, so a decade costs a few times a month's bill.

    Parameters
    ----------
    plan
        The fleet (:func:`fleet_plan`).
    mean_churn_gb
        Each VM's mean data changed per day [GB].
    prices
        The region's prices.
    start
        First billed day.
    years
        Horizon [years], 1 to 10: the months from ``start`` to the day before its anniversary.
    redundancy
        Vault storage redundancy.
    first_backup_on
        Per VM, the day index of its first backup (-1: before ``start``); see
        :func:`fleet_bill_lines`.
    overlap
        The vault's overlap model (:func:`fleet_bill_lines`).

    Returns
    -------
    polars.DataFrame
        ``month``, ``days``, ``vault_gb`` (at month end), ``pi_fee_usd``,
        ``vault_storage_usd``, ``snapshot_storage_usd``, ``total_usd`` (the prices' currency).
    """
    instance("plan", plan, FleetPlan, "a FleetPlan (from fleet_plan)")
    instance("prices", prices, Prices, "Prices (from vmbackup.data.read_prices)")
    whole("years", years, 1, 10)
    date_value("start", start)
    redundancy = choice("redundancy", redundancy, REDUNDANCIES)
    _pool_days(overlap)
    churn = non_negative_array("mean_churn_gb", mean_churn_gb)
    if churn.shape != (plan.vms,):
        raise ValueError(
            f"mean_churn_gb has shape {churn.shape}; give one value per VM ({plan.vms})"
        )
    end = pl.Series([start]).dt.offset_by(f"{years}y")[0]
    days = (end - start).days
    first = _first_backup_days(first_backup_on, plan.vms, days)
    monthly, _ = _monthly_bill(
        plan, churn, start, days, prices, redundancy, first_backup_on=first, overlap=overlap
    )
    return monthly


def stagger_offsets(plan: FleetPlan, spread_minutes: float) -> npt.NDArray[np.float64]:
    """Offsets [h] that deal the VMs sharing a start time, largest first, to start slots spread
    evenly over ``±spread_minutes``, in 5-minute steps (S13: move default times by minutes).

    """
    minutes = non_negative("spread_minutes", spread_minutes)
    return _offsets_hours(_stagger_positions(plan), minutes)


def _stagger_positions(plan: FleetPlan) -> npt.NDArray[np.float64]:
    """Each VM's place among the VMs sharing its start time (the same local time in the same
    time zone, fixed in UTC by the same reference date, G13), largest first: 0 (first) to 1
    (last); 0.5 for a VM alone at its time. The same for every spread."""
    size_rank = np.argsort(np.argsort(-plan.pi_size_gb, kind="stable"), kind="stable")
    zones = [(p.time_zone, str(p.schedule_reference_date)) for p in plan.policies]
    zone = np.array([sorted(set(zones)).index(z) for z in zones], dtype=np.int64)[plan.policy_index]
    groups = pl.DataFrame({"start": plan.start_hour, "zone": zone, "rank": size_rank}).with_columns(
        slot=pl.col("rank").rank("ordinal").over("start", "zone").cast(pl.Int64) - 1,
        members=pl.len().over("start", "zone"),
    )
    slot = groups["slot"].to_numpy()
    members = groups["members"].to_numpy()
    position: npt.NDArray[np.float64] = np.where(
        members > 1, slot / np.maximum(members - 1, 1), 0.5
    )
    return position


def _offsets_hours(position: npt.NDArray[np.float64], minutes: float) -> npt.NDArray[np.float64]:
    """Offsets [h] for places in [0, 1] spread over ``±minutes``, rounded to 5-minute steps."""
    offsets: npt.NDArray[np.float64] = np.round((position * 2 - 1) * minutes / 5) * 5 / 60
    return offsets


def scale_fleet(fleet: pl.DataFrame, copies: int) -> pl.DataFrame:
    """``copies`` copies of a fleet, VM and storage account names suffixed ``-c0``, ``-c1``...
    (what-ifs at scale)."""
    whole("copies", copies, 1, 100_000)
    # each copy's unmanaged disks live in its own copies of the storage accounts (a copied
    # account would hold more than any account can, S21/G15)
    return pl.concat(
        [
            fleet.with_columns(
                pl.col("vm_name") + f"-c{i}",
                *(
                    [pl.col("storage_account") + f"-c{i}"]
                    if "storage_account" in fleet.columns
                    else []
                ),
            )
            for i in range(copies)
        ]
    )


def propose_stagger(
    plan: FleetPlan,
    *,
    lag_profile_hours: npt.ArrayLike,
    spreads_minutes: tuple[int, ...] = (15, 30, 45, 60, 90, 120),
    days: int = 7,
    vault_ingest_mb_s: float = DEFAULT_VAULT_INGEST_MB_S,
    vms_per_vault: int = DEFAULT_VMS_PER_VAULT,
    fragmentation: float = 0.3,
    churn_sigma: float = 0.5,
    seed: int = 0,
    start: dt.date = FLEET_START,
) -> tuple[npt.NDArray[np.float64], pl.DataFrame]:
    """Propose per-VM schedule offsets that spread the load (S13), and show the gain.

    VMs that share a start time are dealt, largest first, to start slots a few minutes apart
    over ``±spread`` minutes. Each spread is simulated for ``days`` days; the one with the
    shortest worst job wins (ties: the lowest peak of transfers in flight). If none beats the
    schedule as it is, no offsets are proposed, so the proposal never lengthens the worst job.

    Each candidate gives the same jobs as :func:`simulate_fleet` with its offsets, but churn
    and each disk's transfer, which offsets do not change, are computed once for all of them:
    only the start times, the lag and the congestion are recomputed per spread.

    Parameters
    ----------
    plan
        The fleet (:func:`fleet_plan`).
    lag_profile_hours
        Wait for the vault by snapshot hour: 24 values [h], at most 8 (S11).
    spreads_minutes
        The spreads to try [min].
    days
        Days simulated per candidate.
    vault_ingest_mb_s, vms_per_vault, fragmentation, churn_sigma, seed, start
        As in :func:`simulate_fleet`.

    Returns
    -------
    (offsets_hours, comparison)
        Offsets per VM [h], and a table of every candidate: ``spread_minutes``,
        ``worst_hours``, ``over_window``, ``peak_transfers``, ``chosen``.
    """
    profile, capacity = _checked(
        days=days,
        lag_profile_hours=lag_profile_hours,
        vault_ingest_mb_s=vault_ingest_mb_s,
        vms_per_vault=vms_per_vault,
        fragmentation=fragmentation,
    )
    instance("plan", plan, FleetPlan, "a FleetPlan (from fleet_plan)")
    whole("seed", seed, 0, 2**63 - 1)
    vaults = _simulation(
        plan,
        days=days,
        start=date_value("start", start),
        seed=seed,
        churn_sigma=churn_sigma,
        fragmentation=fragmentation,
        lag_profile_hours=profile,
        vault_ingest_mb_s=capacity,
        vms_per_vault=vms_per_vault,
    ).vaults

    def evaluate(offsets: npt.NDArray[np.float64]) -> tuple[float, int, float]:
        worst_hours, over_window = 0.0, 0  # no job: nothing is late

        def tally(
            _rows: slice, start: npt.NDArray[np.float64], end: npt.NDArray[np.float64]
        ) -> None:
            nonlocal worst_hours, over_window
            duration = _job_hours(start, end)
            worst_hours = max(worst_hours, float(duration.max()))
            over_window += int((duration > WINDOW_HOURS).sum())

        concurrency = vaults.run(offsets, tally)
        return worst_hours, over_window, float(concurrency.max())

    none = np.zeros(plan.vms)
    rows = [(0, *evaluate(none))]
    best, best_offsets = rows[0], none
    position = _stagger_positions(plan)
    for spread in spreads_minutes:
        offsets = _offsets_hours(position, non_negative("spread_minutes", spread))
        row = (spread, *evaluate(offsets))
        rows.append(row)
        shorter = row[1] < best[1] - 1e-6
        as_short_but_calmer = abs(row[1] - best[1]) <= 1e-6 and row[3] < best[3]
        if (shorter or as_short_but_calmer) and row[1] < rows[0][1] - 1e-6:
            best, best_offsets = row, offsets
    comparison = pl.DataFrame(
        rows,
        schema=["spread_minutes", "worst_hours", "over_window", "peak_transfers"],
        orient="row",
    ).with_columns(chosen=pl.col("spread_minutes") == best[0])
    return best_offsets, comparison
