"""Onboarding: the first backups of an estate, or of newly added VMs and disks, under the
vault's ingest capacity (items S2, S9, S11-S15, S23).

The first backup of a VM copies all its used data (S12) after the backup extension is installed
(S14; not for agentless crash-consistent policies, S2); a disk added to a protected VM is copied
in full beside the other disks' deltas (S15). Such jobs can run for more than a day, and while
they run they want the vault's ingest that the nightly incremental jobs also need.
:func:`plan_onboarding` answers, for an estate:

- **when is every VM protected**: the day each VM's first backup succeeds (its first recovery
  point, when its bill starts, S23), hence the days until the whole estate is protected;
- **which first backups exceed 24 hours** (S12, S15);
- **which VMs to enable on which day** (the waves), so that everything is protected soonest
  without taking from the steady-state (incremental) jobs the capacity they need.

The model
---------
Every job's timeline (preparation with the extension install, the wait for the vault by the hour
of the snapshot, each disk at the initial or incremental throughput, in parallel) is
:func:`vmbackup.transfer.backup_jobs`', computed disk by disk: a disk transfers from the job's
transfer start at its mean rate (data over transfer time) for its transfer time.

Each vault (``vms_per_vault`` VMs, dealt in fleet order as :func:`vmbackup.fleet.simulate_fleet`
deals them) ingests ``vault_ingest_mb_s`` (``C``) at most. Time is cut into hours:

1. **the steady state first**: every VM's daily incremental job (mean churn: used data x churn
   share), as if every VM were already protected (a reserve that does not shrink while the
   waves run: conservative), arrives at the vault hour by hour and is served at most ``C`` an
   hour, a backlog carried to the next hour (a fluid queue, repeated day after day until it
   repeats itself). ``S(h)``, what it is served in each hour of the day, leaves the share
   ``a(h) = 1 - S(h) / C`` of the vault;
2. **first backups share what is left**: in an hour with share ``a(h)`` every onboarding
   transfer runs at ``a(h)`` of its speed (in an hour the steady state fills, it waits). A disk
   that needs ``W`` hours at full speed ends when the shares it was given add up to ``W``;
3. **the waves**: each vault takes first backups whose full-speed rates add up to at most ``C``
   in every hour, so onboarding and steady state together never ask more than ``C``: the
   steady-state jobs run exactly as they would without onboarding. VMs are placed greedily,
   **longest first** (LPT: the first backups that take longest start on day 0, shorter ones fill
   the room left), each on the earliest day on which every hour of its job has that room. A VM
   whose disks alone ask more than ``C`` is given a day on which no other first backup of its
   vault runs, and flagged ``within_capacity=False``; the time it then loses to the overload is
   added (``sum over its hours of 1 - 1 / slowdown``, slowdown ``max(1, load / C)``).

With ``trigger="on-demand"`` the plan also picks the hour at which each first backup is
triggered ("Backup now", allowed beside the scheduled backup, X3): for each VM, longest first,
the (day, hour) among every whole hour that fits and **finishes soonest**. VMs that share a
schedule hour then no longer all wait for the same hour of the day; this is what narrows the
gap to the lower bound when many VMs share a default schedule (S13).

Why greedy, and how good it is: the order is Graham's longest-processing-time rule, whose
makespan on identical machines is within 4/3 of the optimum; here a first backup can start only
at some hour of some day and the room varies by hour, so no such bound is proven.
:attr:`Onboarding.lower_bound_days` gives a bound no plan can beat, to compare the plan with:
the longest first backup run alone from day 0; each vault's first-backup data over its daily
room; and, with scheduled triggers, the VMs that start transferring in the same hour over that
hour's room. ``benchmarks/onboarding.py`` prints both; when this was written, the plan met the
bound on the sample estate (10 days scheduled, 3 on demand) and came within about 15% of it
with 1,000-VM vaults (65 days against 57 scheduled, 17 against 16 on demand). What the greedy
trades: a VM is never moved once placed (no backtracking); the reserve counts VMs not yet
protected; hours are coarse (a peak inside an hour is averaged). It steps through each vault's
VMs in that order, every vault at once, vectorised over vaults and candidates; there is no loop
over days or disks.

Assumptions (each a parameter or a documented default):

- with ``trigger="scheduled"``, the first backup runs at the VM's scheduled hour on its wave day
  (the schedule of :class:`vmbackup.fleet.FleetPlan`; a VM under a weekly or hourly policy has
  it triggered on demand at that hour);
- steady-state churn is each VM's mean; its day-to-day spread is not reserved;
- a VM whose first backup runs longer than a day has no incremental job until it ends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import bounded, choice, instance, non_negative_array, positive, whole
from vmbackup.fleet import (
    DEFAULT_VAULT_INGEST_MB_S,
    DEFAULT_VMS_PER_VAULT,
    FLEET_START,
    FleetPlan,
    clock_start_hours,
    vault_size,
)
from vmbackup.transfer import DEFAULTS as TRANSFER_DEFAULTS
from vmbackup.transfer import MAX_LAG_HOURS, WINDOW_HOURS, backup_jobs, extents_for

__all__ = ["TRIGGERS", "Onboarding", "plan_onboarding"]

#: When a first backup runs: at its VM's scheduled hour, or triggered on demand at any hour.
TRIGGERS = ("scheduled", "on-demand")

#: Candidate days tried at once per VM (a chunk; the next chunk only when none fits).
_DAYS_PER_CHUNK = 8
#: The trigger hours tried on demand: every this many hours from midnight.
_TRIGGER_STEP_HOURS = 1
#: Tolerance of a capacity comparison [MB/s].
_EPS_MB_S = 1e-6


@dataclass(frozen=True)
class Onboarding:
    """What :func:`plan_onboarding` returns.

    Attributes
    ----------
    vms
        One row per VM, in plan order: ``vm`` (index), ``vm_name``, ``vault``, ``kind``
        (``"first backup"``, ``"new disk"`` or ``"protected"``), ``wave_day`` (the day its job
        runs; null for a VM that needs none), ``trigger_hour`` (the hour of that day it starts:
        its schedule's, or the hour to trigger it on demand), ``start_hours``, ``end_hours``
        (since day 0's midnight; null without a job), ``duration_hours``,
        ``jam_delay_hours`` (time lost to hours over the vault's capacity), ``sent_gb``,
        ``over_24h`` (S12, S15),
        ``within_capacity`` and ``first_success_day`` (the day of its first recovery point,
        when billing starts, S23; 0 for a VM already protected).
    waves
        One row per wave day: ``day``, ``vms`` enabled, ``first_backup_gb``, ``protected_vms``
        (VMs with a recovery point by the end of that day, cumulative).
    hourly
        The vaults' ingest per hour from day 0's midnight until the last job ends, summed over
        vaults: ``hour``, ``onboarding_mb_s`` (first backups and new disks), ``steady_mb_s``
        (what the steady state is served, as if every VM were protected), ``capacity_mb_s``.
    days_to_protected
        Days from day 0 until every VM has a recovery point (the last first success's day + 1;
        0 when none is needed).
    lower_bound_days
        Days no plan can beat under the same model (the longest first backup alone; each
        vault's first-backup volume over its daily headroom).
    worst_steady_hours
        The longest steady-state job of a protected VM while the waves run [h], by the
        congestion model of :mod:`vmbackup.fleet` (mean churn).
    steady_over_window
        Steady-state jobs of protected VMs over the 24 h window while the waves run (S11).
    notes
        What shaped the plan, each naming its item.
    trigger
        ``"scheduled"`` or ``"on-demand"`` (see :func:`plan_onboarding`).
    """

    vms: pl.DataFrame
    waves: pl.DataFrame
    hourly: pl.DataFrame
    days_to_protected: int
    lower_bound_days: int
    worst_steady_hours: float
    steady_over_window: int
    notes: tuple[str, ...]
    trigger: str = "scheduled"

    @property
    def over_24h(self) -> pl.DataFrame:
        """The VMs whose first backup (or new disk) takes more than 24 h (S12, S15)."""
        return self.vms.filter(pl.col("over_24h")).sort("duration_hours", descending=True)


@dataclass(frozen=True)
class _Disks:
    """Per-disk job timings from the transfer model [h since the VM's day-0 midnight]."""

    transfer_start: npt.NDArray[np.float64]
    end: npt.NDArray[np.float64]
    sent_gb: npt.NDArray[np.float64]

    @property
    def rate_mb_s(self) -> npt.NDArray[np.float64]:
        """Each disk's mean rate while it transfers [MB/s] (0 without a transfer)."""
        hours = self.end - self.transfer_start
        rate = np.zeros_like(hours)
        np.divide(self.sent_gb * 1000.0, hours * 3600.0, out=rate, where=hours > 0)
        return rate


def _disk_jobs(
    *,
    disk_vm: npt.NDArray[np.int64],
    used_gb: npt.NDArray[np.float64],
    allocated_gb: npt.NDArray[np.float64],
    churn_gb: npt.NDArray[np.float64],
    extents: npt.NDArray[np.float64],
    new_disk: npt.NDArray[np.bool_],
    start_hour: npt.NDArray[np.float64],
    first_backup: npt.NDArray[np.bool_],
    agentless: npt.NDArray[np.bool_],
    lag_profile_hours: npt.NDArray[np.float64],
    overrides: dict[str, float],
) -> _Disks:
    """Each disk's job by :func:`vmbackup.transfer.backup_jobs`, one disk per job so that each
    disk's own end comes back (a disk's phases do not depend on its VM's other disks, S9).
    Agentless VMs install no extension (S2)."""
    n = disk_vm.size
    transfer_start, end, sent = np.zeros(n), np.zeros(n), np.zeros(n)
    for crash in (False, True):  # two calls at most: the extension is installed or not
        rows = np.flatnonzero(agentless[disk_vm] == crash)
        if rows.size == 0:
            continue
        frame = pl.DataFrame(
            {
                "vm": pl.Series(rows).cast(pl.String),
                "disk": pl.Series(rows).cast(pl.String),
                "used_gb": used_gb[rows],
                "allocated_gb": allocated_gb[rows],
                "churn_gb": churn_gb[rows],
                "extents": extents[rows],
                "new_disk": new_disk[rows],
                "start_hour": start_hour[disk_vm[rows]],
                "first_backup": first_backup[disk_vm[rows]],
                "snapshot_missing": np.zeros(rows.size, dtype=bool),
            }
        )
        options = overrides | ({"extension_install_hours": 0.0} if crash else {})
        jobs = backup_jobs(frame, lag_profile_hours, **options)
        transfer_start[rows] = jobs["transfer_start"].to_numpy()
        end[rows] = jobs["end"].to_numpy()
        sent[rows] = jobs["sent_gb"].to_numpy()
    return _Disks(transfer_start, end, sent)


def _hour_means(
    begin: npt.NDArray[np.float64],
    stop: npt.NDArray[np.float64],
    rate: npt.NDArray[np.float64],
    size: int,
) -> npt.NDArray[np.float64]:
    """The mean of a sum of rectangles over each unit interval ``[p, p + 1)``, ``p`` in
    ``0 .. size - 1``: rectangle ``j`` has height ``rate[j]`` on ``[begin[j], stop[j])``
    (``0 <= begin <= stop <= size``).

    Without a loop: the integral up to an integer ``t`` is
    ``sum_j rate_j (clip(t - begin_j, 0, .) - clip(t - stop_j, 0, .))`` and
    ``sum_{x_j < t} rate_j (t - x_j) = t R(t) - M(t)`` with ``R``, ``M`` cumulative sums of
    ``rate`` and ``rate x x`` binned at ``floor(x) + 1``.

    >>> _hour_means(np.array([0.5, 1.0]), np.array([2.0, 1.5]), np.array([2.0, 4.0]), 3).tolist()
    [1.0, 4.0, 0.0]
    """

    def ramp(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        key = np.minimum(np.floor(x).astype(np.int64) + 1, size + 1)
        weight = np.cumsum(np.bincount(key, rate, size + 2).astype(np.float64))[: size + 1]
        moment = np.cumsum(np.bincount(key, rate * x, size + 2).astype(np.float64))[: size + 1]
        ramped: npt.NDArray[np.float64] = np.arange(size + 1, dtype=np.float64) * weight - moment
        return ramped

    integral = ramp(begin) - ramp(stop)
    means: npt.NDArray[np.float64] = np.diff(integral)
    return np.maximum(means, 0.0)  # rounding of a difference of sums may leave -1e-12


def _bool_array(field: str, values: Any, length: int, what: str) -> npt.NDArray[np.bool_]:
    """``values`` as a bool array of ``length`` (one per ``what``), or ValueError."""
    array = np.asarray(values) if not isinstance(values, pl.Series) else values.to_numpy()
    if array.dtype != np.bool_ or array.shape != (length,):
        raise ValueError(
            f"{field} must hold one True/False per {what} ({length}); found "
            f"{array.dtype} of shape {array.shape}"
        )
    return array


def _checked_options(
    plan: Any,
    lag_profile_hours: Any,
    protected: Any,
    new_disk: Any,
    vault_ingest_mb_s: Any,
    vms_per_vault: Any,
    fragmentation: Any,
    max_days: Any,
    overrides: dict[str, Any],
) -> tuple[
    FleetPlan,
    npt.NDArray[np.float64],
    npt.NDArray[np.bool_],
    npt.NDArray[np.bool_],
    dict[str, float],
]:
    plan = instance("plan", plan, FleetPlan, "a FleetPlan (vmbackup.fleet.fleet_plan)")
    if plan.vms == 0:
        raise ValueError("plan: the fleet holds no VM; onboarding needs at least one")
    profile = non_negative_array("lag_profile_hours", lag_profile_hours)
    if profile.shape != (24,) or (profile > MAX_LAG_HOURS).any():
        raise ValueError("lag_profile_hours must hold 24 values between 0 and 8 (S11)")
    done = (
        np.zeros(plan.vms, dtype=bool)
        if protected is None
        else _bool_array("protected", protected, plan.vms, "VM of the plan")
    )
    added = (
        np.zeros(plan.disk_vm.size, dtype=bool)
        if new_disk is None
        else _bool_array("new_disk", new_disk, plan.disk_vm.size, "disk of the plan")
    )
    positive("vault_ingest_mb_s", vault_ingest_mb_s)
    vault_size(vms_per_vault)
    bounded("fragmentation", fragmentation, 0, 1)
    whole("max_days", max_days, 1, 3660)
    unknown = set(overrides) - set(TRANSFER_DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown option(s) {sorted(unknown)}; choose from {list(TRANSFER_DEFAULTS)}"
        )
    options = {
        k: positive(k, v) if k.endswith("_mb_s") else bounded(k, v, 0, 1e4)
        for k, v in overrides.items()
    }
    return plan, profile, done, added, options


def plan_onboarding(
    plan: FleetPlan,
    *,
    lag_profile_hours: npt.ArrayLike,
    protected: npt.ArrayLike | None = None,
    new_disk: npt.ArrayLike | None = None,
    vault_ingest_mb_s: float = DEFAULT_VAULT_INGEST_MB_S,
    vms_per_vault: int = DEFAULT_VMS_PER_VAULT,
    fragmentation: float = 0.3,
    max_days: int = 365,
    trigger: str = "scheduled",
    start_date: dt.date = FLEET_START,
    **overrides: float,
) -> Onboarding:
    """Plan the first backups of an estate in waves (see the module notes).

    Parameters
    ----------
    plan
        The estate (:func:`vmbackup.fleet.fleet_plan`): schedule hour, disks, churn share and
        policy of every VM.
    lag_profile_hours
        Wait for the vault by the hour the snapshot is taken: 24 values [h], at most 8 (S11).
    protected
        Per VM, True when it already has a recovery point (default: none, a new estate).
    new_disk
        Per disk of the plan (``plan.disk_vm`` order), True for a disk newly added to a
        protected VM (S15); ignored on a VM that is not protected yet (its first backup copies
        every disk).
    vault_ingest_mb_s, vms_per_vault
        Each vault's ingest capacity [MB/s] and VMs per vault, as in
        :func:`vmbackup.fleet.simulate_fleet` (assumptions: 700 MB/s, 1,000 VMs).
    fragmentation
        How scattered the daily changes are (0 contiguous .. 1), for the incremental jobs.
    max_days
        Latest wave day tried; a VM that fits no earlier day is placed on it and flagged.
    trigger
        ``"scheduled"``: each first backup runs at its VM's scheduled hour on its wave day;
        ``"on-demand"``: the plan also chooses the hour at which it is triggered (a "Backup now",
        X3), the one that finishes it soonest.
    start_date
        The first day of the roll-out: each policy's run time in its own time zone is read on
        the plan's clock (``plan.time_zone``) as of that day (S1), like the fleet's jobs.
    overrides
        Any of :data:`vmbackup.transfer.DEFAULTS` (throughputs, extension install time, ...).

    Returns
    -------
    Onboarding

    Raises
    ------
    ValueError
        Naming the argument, the value and what is allowed; or when a vault's steady state
        alone needs more than its capacity (naming ``vault_ingest_mb_s``).

    Examples
    --------
    Two VMs, one with 2 TB of data on one disk: its first backup alone takes more than a day.

    >>> from vmbackup.policy import Policy
    >>> from vmbackup.fleet import fleet_plan
    >>> disks = pl.DataFrame({"vm_name": ["a", "a", "b"], "policy": ["p"] * 3,
    ...     "schedule_hour": [22.0] * 3, "churn_class": ["low"] * 3,
    ...     "disk_role": ["os", "data", "os"], "disk_type": ["standard"] * 3,
    ...     "used_gb": [30.0, 2000.0, 40.0], "allocated_gb": [64.0, 4096.0, 64.0]})
    >>> plan = fleet_plan(disks, {"p": Policy(policy_type="standard", run_hour=22.0)})
    >>> result = plan_onboarding(plan, lag_profile_hours=[0.5] * 24)
    >>> result.days_to_protected, result.over_24h["vm_name"].to_list()
    (3, ['a'])
    """
    plan, profile, done, added, options = _checked_options(
        plan,
        lag_profile_hours,
        protected,
        new_disk,
        vault_ingest_mb_s,
        vms_per_vault,
        fragmentation,
        max_days,
        overrides,
    )
    trigger = choice("trigger", trigger, TRIGGERS)
    capacity = float(vault_ingest_mb_s)
    vms, vm_of = plan.vms, plan.disk_vm
    vault_of_vm = np.arange(vms) // vms_per_vault
    vaults = int(vault_of_vm[-1]) + 1
    agentless = np.array([p.consistency == "crash" for p in plan.policies])[plan.policy_index]
    churn = plan.disk_used_gb * plan.churn_share[vm_of]  # mean daily churn per disk [GB]
    added = added & done[vm_of]  # a new disk matters only on a protected VM (S15)
    todo = ~done | np.bincount(vm_of, added, vms).astype(bool)
    clock_hours = clock_start_hours(plan, start_date)  # on the plan's clock, as the fleet
    common: dict[str, Any] = {
        "disk_vm": vm_of,
        "used_gb": plan.disk_used_gb,
        "allocated_gb": plan.disk_allocated_gb,
        "churn_gb": churn,
        "extents": extents_for(churn, fragmentation),
        "start_hour": clock_hours,
        "agentless": agentless,
        "lag_profile_hours": profile,
        "overrides": options,
    }
    steady = _disk_jobs(
        new_disk=np.zeros(vm_of.size, dtype=bool), first_backup=np.zeros(vms, bool), **common
    )
    first = _disk_jobs(new_disk=added, first_backup=~done, **common)

    # 1. the steady state: what it asks of each vault per hour of the day, what it is served
    span_days = int(np.ceil(steady.end.max() / 24)) + 1
    disk_vault = vault_of_vm[vm_of]
    arrivals = _hour_means(
        steady.transfer_start + disk_vault * span_days * 24,
        steady.end + disk_vault * span_days * 24,
        steady.rate_mb_s,
        vaults * span_days * 24,
    )
    asked = arrivals.reshape(vaults, span_days, 24).sum(axis=1)  # folded onto one day
    served = _served(asked, capacity)
    share = 1.0 - served / capacity  # of the vault left to first backups, per hour of the day

    # 2. each onboarding job's disks, slowed by the share left, and its demand per hour
    jobs = np.flatnonzero(todo)
    job_disks = np.flatnonzero(todo[vm_of])
    job_vm = vm_of[job_disks]
    job_vault = vault_of_vm[jobs]
    job_index = np.full(vms, -1)
    job_index[jobs] = np.arange(jobs.size)
    disk_job = job_index[job_vm]
    needed = first.end[job_disks] - first.transfer_start[job_disks]  # at full speed [h]
    rate = first.rate_mb_s[job_disks]
    room = share * capacity  # what first backups may use per hour of the day [MB/s]
    hours = clock_hours.copy()
    begin = first.transfer_start[job_disks]
    if trigger == "on-demand":
        kind = np.where(done[jobs], 2, agentless[jobs].astype(np.int64))
        offsets = _transfer_offsets(profile, options)[kind]  # per job and trigger hour
        day, chosen, fastest = _greedy_on_demand(
            offsets,
            disk_job,
            needed,
            rate,
            share,
            room,
            job_vault,
            vaults=vaults,
            max_days=int(max_days),
        )
        hours[jobs] = chosen
        # the transfer starts exactly as the greedy placed them
        begin = chosen[disk_job] + offsets[disk_job, chosen.astype(np.int64)[disk_job]]
    demand, offset_h, job_start, job_end = _profiles(
        begin, needed, rate, disk_job, jobs.size, job_vault, share
    )
    fits_alone = demand.fits(room, job_vault, offset_h)
    length_h = demand.length

    # 3. the waves (on demand: already placed)
    if trigger == "scheduled":
        day = _greedy_waves(
            demand, room, job_vault, offset_h, fits_alone, vaults=vaults, max_days=int(max_days)
        )
        fastest = job_end

    # what the plan gives: first successes, any overload, the steady state kept
    horizon_h = _horizon_hours(int(max_days), length_h, offset_h)
    onboarding_load = demand.place(job_vault, offset_h + 24 * day, vaults, horizon_h)
    days_tiled = horizon_h // 24
    total = onboarding_load + np.tile(served, (1, days_tiled))
    lost = np.zeros((vaults, horizon_h + 1))
    np.cumsum(1.0 - capacity / np.maximum(total, capacity), axis=1, out=lost[:, 1:])
    day_hours = 24.0 * day
    start_transfer: npt.NDArray[np.float64] = job_start + day_hours
    finish: npt.NDArray[np.float64] = job_end + day_hours
    delay = np.maximum(
        _integral_at(lost, job_vault, finish) - _integral_at(lost, job_vault, start_transfer), 0.0
    )  # a difference of sums: clipped at 0 against rounding
    finish = finish + delay
    start = hours[jobs] + day_hours
    success_day = np.floor(finish / 24).astype(np.int64)
    new_vm = ~done[jobs]
    first_success = np.zeros(vms, dtype=np.int64)
    first_success[jobs[new_vm]] = success_day[new_vm]
    until = int(success_day.max()) + 1 if jobs.size else 1
    worst, alone_worst, over = _steady_check(
        steady,
        vm_of,
        clock_hours,
        vault_of_vm,
        asked,
        onboarding_load,
        capacity,
        protected_from=np.where(done, 0, first_success + 1),
        until_day=until,
    )

    vm_rows = _vm_table(
        plan,
        vault_of_vm,
        done,
        jobs,
        new_vm,
        day,
        start,
        finish,
        delay,
        np.bincount(job_vm, first.sent_gb[job_disks], vms).astype(np.float64)[jobs],
        fits_alone,
        first_success,
    )
    days_to_protected = int(success_day[new_vm].max()) + 1 if new_vm.any() else 0
    lower = _lower_bound(
        demand,
        room,
        job_vault,
        offset_h,
        fastest,
        new_vm & fits_alone,
        by_start=trigger == "scheduled",
    )
    hourly = pl.DataFrame(
        {
            "hour": np.arange(horizon_h),
            "onboarding_mb_s": onboarding_load.sum(axis=0),
            "steady_mb_s": np.tile(served.sum(axis=0), days_tiled),
            "capacity_mb_s": np.full(horizon_h, capacity * vaults),
        }
    ).head(max(24, until * 24))
    notes = _notes(vm_rows, days_to_protected, lower, worst, alone_worst, over, capacity, trigger)
    return Onboarding(
        vms=vm_rows,
        waves=_waves(vm_rows, done),
        hourly=hourly,
        days_to_protected=days_to_protected,
        lower_bound_days=lower,
        worst_steady_hours=worst,
        steady_over_window=over,
        notes=notes,
        trigger=trigger,
    )


def _profiles(
    begin: npt.NDArray[np.float64],
    needed: npt.NDArray[np.float64],
    rate: npt.NDArray[np.float64],
    disk_row: npt.NDArray[np.int64],
    rows: int,
    row_vault: npt.NDArray[np.int64],
    share: npt.NDArray[np.float64],
) -> tuple[_Ragged, npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The hourly demand of jobs whose disks begin transferring at ``begin`` [h since day 0's
    midnight] and need ``needed`` hours at ``rate`` [MB/s] at full speed, each slowed to the
    share of its vault's hour (``disk_row``: each disk's job, numbered ``0 .. rows - 1``).

    Returns the demand per hour from the hour each job starts transferring (what it sends
    [MB/s]), that hour, and each job's transfer start and end [h].
    """
    stop = _stretched_end(share, row_vault[disk_row], begin, needed)
    start = np.full(rows, np.inf)
    np.minimum.at(start, disk_row, begin)
    end = np.zeros(rows)
    np.maximum.at(end, disk_row, stop)
    start = np.where(np.isfinite(start), start, 0.0)
    offset_h = np.floor(start).astype(np.int64)
    length_h = np.maximum(np.ceil(end - offset_h).astype(np.int64), 1)
    row_start = np.concatenate([[0], np.cumsum(length_h + 1)])
    base = row_start[disk_row] - offset_h[disk_row]
    flat = _hour_means(begin + base, stop + base, rate, int(row_start[-1]))  # at full speed
    owner, step = _owner_step(length_h)
    flat[row_start[owner] + step] *= share[row_vault[owner], (offset_h[owner] + step) % 24]
    return _Ragged(flat, row_start[:-1], length_h), offset_h, start, end


def _transfer_offsets(
    lag_profile_hours: npt.NDArray[np.float64], overrides: dict[str, float]
) -> npt.NDArray[np.float64]:
    """When a job triggered at whole hour ``s`` starts transferring [h since that midnight],
    shape (3, 24): an agent-based first backup (extension install), an agentless one, and a
    protected VM's job (a new disk, S15); read from :func:`vmbackup.transfer.backup_jobs`."""
    hour = np.tile(np.arange(24, dtype=np.float64), 3)
    first = np.repeat([True, True, False], 24)
    agentless = np.repeat([False, True, False], 24)
    none = np.zeros(72)
    jobs = _disk_jobs(
        disk_vm=np.arange(72),
        used_gb=none,
        allocated_gb=none,
        churn_gb=none,
        extents=none,
        new_disk=~first,
        start_hour=hour,
        first_backup=first,
        agentless=agentless,
        lag_profile_hours=lag_profile_hours,
        overrides=overrides,
    )
    offsets: npt.NDArray[np.float64] = (jobs.transfer_start - hour).reshape(3, 24)
    return offsets


def _greedy_on_demand(
    offsets: npt.NDArray[np.float64],
    disk_job: npt.NDArray[np.int64],
    needed: npt.NDArray[np.float64],
    rate: npt.NDArray[np.float64],
    share: npt.NDArray[np.float64],
    room: npt.NDArray[np.float64],
    vault: npt.NDArray[np.int64],
    *,
    vaults: int,
    max_days: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each job's wave day and trigger hour, when the plan may trigger it at any whole hour:
    longest first within each vault (by its data at full speed), the (day, hour) that fits and
    finishes it soonest; every vault at once. ``offsets`` is each job's row of
    :func:`_transfer_offsets`. Also returns each job's soonest end run alone from day 0 [h]."""
    jobs = vault.size
    day = np.full(jobs, max_days, dtype=np.int64)
    hour = np.zeros(jobs)
    fastest = np.zeros(jobs)
    if jobs == 0:
        return day, hour, fastest
    counts = np.bincount(disk_job, minlength=jobs)
    first_disk = np.concatenate([[0], np.cumsum(counts)[:-1]])
    longest = np.zeros(jobs)
    np.maximum.at(longest, disk_job, needed)
    volume = np.bincount(disk_job, needed * rate, jobs)
    order = np.lexsort((-volume, -longest, vault))  # by vault, longest first
    sorted_vault = vault[order]
    rank = np.arange(jobs) - np.searchsorted(sorted_vault, sorted_vault)
    by_rank = order[np.argsort(rank, kind="stable")]
    bounds = np.searchsorted(np.sort(rank), np.arange(int(rank.max()) + 2))
    # a job ends within its longest disk's hours at full speed over the hours of full speed
    # its vault gives a day, plus a day; it starts within a day and its transfer offset
    per_day = share.sum(axis=1)
    span = (np.ceil(longest / np.maximum(per_day[vault], 1e-9)) + 2) * 24 + 24 + offsets.max()
    horizon_h = (max_days + 1) * 24 + int(span.max()) + 24
    room_h = np.tile(room, (1, horizon_h // 24 + 1))[:, :horizon_h]  # per vault and hour
    free = room_h.copy()  # what first backups may still use, per vault and hour [MB/s]
    frontier = np.zeros(vaults, dtype=np.int64)  # the first hour with room left, per vault
    busy_until = np.zeros(vaults, dtype=np.int64)  # the hour after the last one used
    triggers = np.arange(0, 24, _TRIGGER_STEP_HOURS, dtype=np.int64)
    n = triggers.size  # candidate trigger hours
    for r in range(int(rank.max()) + 1):
        batch = by_rank[bounds[r] : bounds[r + 1]]  # one job per vault
        # every trigger hour of every job of the batch: a row per (job, hour)
        pair_job = np.repeat(np.arange(batch.size), n)
        pair_hour = np.tile(triggers, batch.size)
        disks_per_pair = counts[batch][pair_job]
        pair_of_disk, place = _owner_step(disks_per_pair)
        disk = first_disk[batch][pair_job][pair_of_disk] + place
        begin = (pair_hour + offsets[batch[pair_job], pair_hour])[pair_of_disk].astype(np.float64)
        demand, offset_h, _start, end = _profiles(
            begin,
            needed[disk],
            rate[disk],
            pair_of_disk,
            pair_job.size,
            vault[batch][pair_job],
            share,
        )
        fastest[batch] = end.reshape(batch.size, n).min(axis=1)
        fitting = demand.fits(room, vault[batch][pair_job], offset_h).reshape(batch.size, n)
        alone: npt.NDArray[np.bool_] = ~np.any(fitting, axis=1)
        need, valid = demand.rows(np.arange(pair_job.size))
        need = need.reshape(batch.size, n, -1)
        valid = valid.reshape(batch.size, n, -1)
        # no candidate can send its largest hour before the first hour with room for it
        offset_h = offset_h.reshape(batch.size, n)
        largest = need.argmax(axis=2)  # (jobs, n)
        demand_max = np.take_along_axis(need, largest[..., None], axis=2)[..., 0]
        rows = vault[batch]
        opening = _first_hour_with(
            free, rows, frontier[rows], busy_until[rows], np.where(alone[:, None], 0.0, demand_max)
        )  # (jobs, n)
        start_day = np.maximum(-((offset_h + largest - opening) // 24), 0)  # (jobs, n)
        # from this day on, a candidate starts after every hour in use: it fits
        sure_day = np.maximum(-((offset_h - busy_until[rows][:, None]) // 24), 0)
        sure_day = np.minimum(np.maximum(sure_day, start_day), max_days)
        chosen_day, chosen = _earliest_finish(
            need,
            valid,
            offset_h,
            end.reshape(batch.size, n),
            alone,
            free,
            room_h,
            vault[batch],
            np.minimum(start_day, sure_day),
            sure_day,
            max_days,
        )
        day[batch] = chosen_day
        hour[batch] = triggers[chosen]
        picked = np.arange(batch.size)
        step = np.arange(need.shape[2])
        at = offset_h[picked, chosen][:, None]
        at = at + 24 * chosen_day[:, None] + step[None, :]
        ok_cells = valid[picked, chosen]
        free[rows[:, None], np.where(ok_cells, at, 0)] -= np.where(
            ok_cells, need[picked, chosen], 0.0
        )
        frontier[rows] = _first_room(free, rows, frontier[rows], np.zeros(rows.size))
        last = np.where(ok_cells, at, -1).max(axis=1) + 1
        busy_until[rows] = np.maximum(busy_until[rows], last)
    return day, hour, fastest


def _earliest_finish(
    need: npt.NDArray[np.float64],
    valid: npt.NDArray[np.bool_],
    offset_h: npt.NDArray[np.int64],
    end: npt.NDArray[np.float64],
    alone: npt.NDArray[np.bool_],
    free: npt.NDArray[np.float64],
    room_h: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64],
    start_day: npt.NDArray[np.int64],
    sure_day: npt.NDArray[np.int64],
    max_days: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each job (one per vault ``rows``), the (day, trigger variant) that finishes soonest
    among those whose every hour has room (``alone``: where no other first backup runs).

    ``need`` (jobs, variants, width) is its demand per hour from the hour ``offset_h`` its
    transfer starts, for each variant; ``end`` its end [h since the trigger day's midnight].
    Each variant is tried from ``start_day`` (no earlier day has room for its first hour) to
    ``sure_day`` (from which it starts after every hour in use, so it fits). The candidates (a
    flat list) are screened on each variant's hardest hours (its first with data, its largest
    demand, its last), then checked in full in order of finish, a few per job at a time, so
    the first that passes is the soonest.
    """
    jobs, variants, width = need.shape
    step = np.arange(width)
    chosen_day = np.minimum(sure_day.min(axis=1), max_days)  # a fallback: never needed
    chosen = sure_day.argmin(axis=1)
    pending = np.ones(jobs, dtype=bool)

    def passes(job: Any, day: Any, trig: Any, cells: Any) -> Any:
        """Whether candidates (flat: job, day, variant) pass on ``cells``: one row of cells for
        all, or one per candidate."""
        cells = np.broadcast_to(cells, (job.size, cells.shape[-1]))
        at = (offset_h[job, trig] + 24 * day)[:, None] + cells
        row = rows[job][:, None]
        left = free[row, at]
        idle = ~valid[job[:, None], trig[:, None], cells]
        ok = (need[job[:, None], trig[:, None], cells] <= left + _EPS_MB_S) | idle
        lonely = alone[job]
        if lonely.any():  # only where no other first backup runs
            empty = (left >= room_h[row, at] - _EPS_MB_S) | idle
            ok = np.where(lonely[:, None], empty, ok)
        result: npt.NDArray[np.bool_] = ok.all(axis=1)
        return result

    # each variant's hardest hours: its first with data, its largest demand, its last
    positive = need > _EPS_MB_S
    lengths = valid.sum(axis=2)
    hardest = np.stack(
        [
            np.where(positive.any(axis=2), positive.argmax(axis=2), 0),
            need.argmax(axis=2),
            np.maximum(lengths - 1, 0),
        ],
        axis=2,
    )  # (jobs, variants, 3)
    # every (job, variant, day) from its first useful day to its sure day
    counts = (sure_day - start_day + 1).ravel()
    pair, offset = _owner_step(counts)
    job, trig = np.divmod(pair, variants)
    day = start_day.ravel()[pair] + offset
    kept = passes(job, day, trig, hardest[job, trig])
    job, day, trig = job[kept], day[kept], trig[kept]
    finish = end[job, trig] + 24.0 * day
    order = np.lexsort((finish, job))  # by job, soonest first
    job, day, trig = job[order], day[order], trig[order]
    rank = np.arange(job.size) - np.searchsorted(job, job)
    few = 8
    for first in range(0, int(rank.max(initial=-1)) + 1, few):
        window = np.flatnonzero((rank >= first) & (rank < first + few) & pending[job])
        if window.size == 0:
            break
        hit = window[passes(job[window], day[window], trig[window], step)]
        _jobs, where = np.unique(job[hit], return_index=True)  # each job's first hit
        winner = hit[where]
        chosen_day[job[winner]] = day[winner]
        chosen[job[winner]] = trig[winner]
        pending[job[winner]] = False
    return chosen_day, chosen


def _first_hour_with(
    free: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64],
    frontier: npt.NDArray[np.int64],
    busy_until: npt.NDArray[np.int64],
    at_least: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]:
    """For each vault of ``rows`` and each threshold of its row of ``at_least`` [MB/s], the
    first hour from ``frontier`` whose free room reaches it (``busy_until`` when none before
    does: every hour from there is free): a binary search in each vault's running maximum."""
    width = int((busy_until - frontier).max(initial=0)) + 1
    at = np.minimum(frontier[:, None] + np.arange(width)[None, :], free.shape[1] - 1)
    best = np.maximum.accumulate(free[rows[:, None], at], axis=1)  # nondecreasing per row
    best = np.where(at <= busy_until[:, None], best, np.inf)  # past the busy hours: all free
    top = float(np.where(np.isfinite(best), best, 0.0).max(initial=0.0)) + 1.0
    lane = top * np.arange(rows.size)
    keys = np.where(np.isfinite(best), best, top - _EPS_MB_S) + lane[:, None]
    index = np.searchsorted(keys.ravel(), (at_least - _EPS_MB_S + lane[:, None]).ravel())
    index = index.reshape(at_least.shape) - width * np.arange(rows.size)[:, None]
    found = frontier[:, None] + np.clip(index, 0, width - 1)
    # every hour from busy_until on is free: no first hour lies beyond it (a lower bound)
    earliest: npt.NDArray[np.int64] = np.minimum(found, np.maximum(busy_until, frontier)[:, None])
    return earliest


def _first_room(
    free: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64],
    frontier: npt.NDArray[np.int64],
    at_least: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]:
    """Each vault's (``rows``) first hour, from ``frontier`` on, whose free room exceeds
    ``at_least`` [MB/s] (room only shrinks as jobs are placed, so a vault's first hour with any
    room left only moves forward); the last hour when none has."""
    window = 48
    moving = np.ones(rows.size, dtype=bool)
    found = frontier.copy()
    last = free.shape[1] - 1
    while moving.any():
        index = np.flatnonzero(moving)
        at = np.minimum(found[index, None] + np.arange(window)[None, :], last)
        room = free[rows[index, None], at] > at_least[index, None] + _EPS_MB_S
        hit = room.any(axis=1)
        found[index[hit]] = at[hit, room[hit].argmax(axis=1)]
        found[index[~hit]] = np.minimum(found[index[~hit]] + window, last)
        moving[index[hit]] = False
        moving[index[found[index] >= last]] = False
    return found


def _served(asked: npt.NDArray[np.float64], capacity: float) -> npt.NDArray[np.float64]:
    """What each vault serves of the steady state per hour of the day [MB/s], shape
    (vaults, 24): a fluid queue served at most ``capacity`` an hour, its backlog carried to the
    next hour, run day after day until a day repeats the one before. A backlog that grows from
    one day to the next, or a vault busy every hour, leaves no room for first backups: a
    ValueError naming the capacity.

    >>> _served(np.array([[0.0] * 22 + [300.0, 300.0]]), 200.0)[0, [22, 23, 0, 1]].tolist()
    [200.0, 200.0, 200.0, 0.0]
    """
    backlog = np.zeros(asked.shape[0])
    served = np.zeros_like(asked)
    previous = np.full_like(asked, -1.0)
    full: npt.NDArray[np.bool_] = np.ones(asked.shape[0], dtype=bool)
    for day in range(30):  # a handful of days, every vault at once
        carried = backlog.copy()
        for hour in range(24):
            waiting = backlog + asked[:, hour]
            served[:, hour] = np.minimum(waiting, capacity)
            backlog = waiting - served[:, hour]
        # the vaults left no room: a backlog growing from day to day, or busy every hour
        full = np.all(served >= capacity - 1e-9, axis=1)
        if day > 0:  # the first day starts empty: only later days can show a growing backlog
            full = full | (backlog > carried + 1e-9)
        if full.any():
            break
        if np.allclose(served, previous, rtol=0, atol=1e-9):
            return served
        previous = served.copy()
    worst = int(np.flatnonzero(full)[0]) if full.any() else 0
    raise ValueError(
        f"vault_ingest_mb_s={capacity:g}: the steady-state jobs of vault {worst} ask "
        f"{asked[worst].sum() * 3600 / 1e6:,.1f} TB a day, as much as it ingests or more "
        f"({capacity * 86400 / 1e6:,.1f} TB), leaving no room for first backups; raise the "
        "capacity or put fewer VMs in a vault"
    )


def _stretched_end(
    share: npt.NDArray[np.float64],
    vault: npt.NDArray[np.int64],
    begin: npt.NDArray[np.float64],
    needed: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """When a transfer that needs ``needed`` hours at full speed, begun at ``begin`` [h], ends
    if it runs at ``share[vault, hour of day]`` of its speed: the time at which the integral of
    the share since ``begin`` reaches ``needed`` (per vault, the share repeats daily).

    >>> share = np.array([[1.0] * 6 + [0.0] * 6 + [0.5] * 12])
    >>> vault, begin, needed = np.array([0, 0]), np.array([4.0, 0.0]), np.array([3.0, 0.0])
    >>> _stretched_end(share, vault, begin, needed).tolist()
    [14.0, 0.0]
    """
    vaults = share.shape[0]
    cum = np.zeros((vaults, 25))
    np.cumsum(share, axis=1, out=cum[:, 1:])
    per_day = cum[:, 24]
    # the integral of the share from day 0 to ``begin``
    hour = np.floor(begin).astype(np.int64)
    done_days, hour_of_day = np.divmod(hour, 24)
    reached = (
        done_days * per_day[vault]
        + cum[vault, hour_of_day]
        + (begin - hour) * share[vault, hour_of_day]
    )
    target = reached + needed
    # invert: whole days, then the hour of the day in which the integral passes the rest
    days = np.floor(target / per_day[vault])
    rest = target - days * per_day[vault]
    width = float(per_day.max()) + 1.0
    flat = (cum[:, 1:] + width * np.arange(vaults)[:, None]).ravel()
    found = np.searchsorted(flat, rest + width * vault, side="right") - 24 * vault
    found = np.minimum(found, 23)
    inside = (rest - cum[vault, found]) / np.where(share[vault, found] > 0, share[vault, found], 1)
    end: npt.NDArray[np.float64] = np.where(needed > 0, days * 24 + found + inside, begin)
    return end


def _owner_step(length: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], Any]:
    """For rows of ``length`` cells: each cell's row and its place in the row."""
    owner = np.repeat(np.arange(length.size), length)
    step = np.arange(owner.size) - np.repeat(np.cumsum(length) - length, length)
    return owner, step


@dataclass(frozen=True)
class _Ragged:
    """One row of hourly demand [MB/s] per onboarding job, stored flat: row ``j`` holds
    ``length[j]`` hours from ``flat[start[j]]``."""

    flat: npt.NDArray[np.float64]
    start: npt.NDArray[np.int64]
    length: npt.NDArray[np.int64]

    def cells(self) -> tuple[npt.NDArray[np.int64], Any, npt.NDArray[np.float64]]:
        """Every cell of every row: its row, its hour in the row, its demand."""
        owner, step = _owner_step(self.length)
        return owner, step, self.flat[self.start[owner] + step]

    def volume(self) -> npt.NDArray[np.float64]:
        """Each row's demand summed over its hours [MB/s x h]."""
        owner, _step, values = self.cells()
        summed = np.bincount(owner, values, self.length.size)
        return summed.astype(np.float64)

    def rows(self, jobs: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float64], Any]:
        """The demand of ``jobs`` padded with zeros to their longest, and the valid mask."""
        width = int(self.length[jobs].max()) if jobs.size else 0
        k = np.arange(width)
        valid = k[None, :] < self.length[jobs, None]
        index = np.where(valid, self.start[jobs, None] + k[None, :], 0)
        return np.where(valid, self.flat[index], 0.0), valid

    def fits(
        self,
        headroom: npt.NDArray[np.float64],
        vault: npt.NDArray[np.int64],
        offset_h: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.bool_]:
        """Whether each job fits an empty vault's headroom at every hour it transfers."""
        owner, step, values = self.cells()
        room = headroom[vault[owner], (offset_h[owner] + step) % 24]
        short = np.bincount(owner, values > room + _EPS_MB_S, self.length.size)
        fitted: npt.NDArray[np.bool_] = short == 0
        return fitted

    def place(
        self,
        vault: npt.NDArray[np.int64],
        begin_h: npt.NDArray[np.int64],
        vaults: int,
        horizon_h: int,
    ) -> npt.NDArray[np.float64]:
        """The summed demand of every job placed from hour ``begin_h``, per vault and hour."""
        owner, step, values = self.cells()
        cell = vault[owner] * horizon_h + begin_h[owner] + step
        placed = np.bincount(cell, values, vaults * horizon_h).astype(np.float64)
        return placed.reshape(vaults, horizon_h)


def _horizon_hours(
    max_days: int, length_h: npt.NDArray[np.int64], offset_h: npt.NDArray[np.int64]
) -> int:
    """Hours that hold every job placed on a day up to ``max_days`` (whole days)."""
    longest = int((offset_h + length_h).max()) if length_h.size else 0
    return (max_days + 1) * 24 + (longest // 24 + 1) * 24


def _greedy_waves(
    demand: _Ragged,
    headroom: npt.NDArray[np.float64],
    vault: npt.NDArray[np.int64],
    offset_h: npt.NDArray[np.int64],
    fits_alone: npt.NDArray[np.bool_],
    *,
    vaults: int,
    max_days: int,
) -> npt.NDArray[np.int64]:
    """Each job's wave day: longest first within each vault, the earliest day whose hours all
    have room (a job that does not fit alone: the earliest day its vault has no other job at
    its hours). One step per rank within a vault, every vault at once."""
    jobs = vault.size
    day = np.full(jobs, max_days, dtype=np.int64)
    if jobs == 0:
        return day
    horizon_h = _horizon_hours(max_days, demand.length, offset_h)
    used = np.zeros((vaults, horizon_h))
    volume = demand.volume()
    order = np.lexsort((-volume, -demand.length, vault))  # by vault, longest first
    sorted_vault = vault[order]
    rank = np.arange(jobs) - np.searchsorted(sorted_vault, sorted_vault)
    by_rank = order[np.argsort(rank, kind="stable")]
    bounds = np.searchsorted(np.sort(rank), np.arange(int(rank.max()) + 2))
    for r in range(int(rank.max()) + 1):
        batch = by_rank[bounds[r] : bounds[r + 1]]  # one job per vault
        need, valid = demand.rows(batch)
        rows = vault[batch][:, None, None]
        hour = np.arange(need.shape[1])[None, None, :]
        pending = np.ones(batch.size, dtype=bool)
        chosen = np.full(batch.size, max_days, dtype=np.int64)
        for first_day in range(0, max_days, _DAYS_PER_CHUNK):
            todo = np.flatnonzero(pending)
            if todo.size == 0:
                break
            days = np.arange(first_day, min(first_day + _DAYS_PER_CHUNK, max_days))
            at = offset_h[batch[todo], None, None] + 24 * days[None, :, None] + hour
            taken = used[rows[todo], at]
            room = headroom[rows[todo], at % 24]
            ok_shared = (taken + need[todo, None, :] <= room + _EPS_MB_S) | ~valid[todo, None, :]
            ok_alone = (taken <= _EPS_MB_S) | ~valid[todo, None, :]
            ok = np.where(fits_alone[batch[todo], None, None], ok_shared, ok_alone).all(axis=2)
            found = ok.any(axis=1)
            chosen[todo[found]] = days[ok[found].argmax(axis=1)]
            pending[todo[found]] = False
        day[batch] = chosen
        at = offset_h[batch, None] + 24 * chosen[:, None] + hour[0]
        used[vault[batch][:, None], np.where(valid, at, 0)] += np.where(valid, need, 0.0)
    return day


def _integral_at(
    cumulative: npt.NDArray[np.float64], vault: npt.NDArray[np.int64], at: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """A per-hour piecewise-constant rate's integral at times ``at`` [h], from its cumulative
    sums at whole hours (one row per vault), interpolated inside the hour."""
    last = cumulative.shape[1] - 1
    hour = np.clip(np.floor(at).astype(np.int64), 0, last - 1)
    share = np.clip(at - hour, 0.0, 1.0)
    low = cumulative[vault, hour]
    value: npt.NDArray[np.float64] = low + share * (cumulative[vault, hour + 1] - low)
    return value


def _steady_durations(
    steady: _Disks,
    vm_of: npt.NDArray[np.int64],
    start_hour: npt.NDArray[np.float64],
    vault: npt.NDArray[np.int64],
    load: npt.NDArray[np.float64],
    capacity: float,
    days: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Each VM's steady-state job on each of ``days`` [h], shape (VMs, days), under the vaults'
    asked ``load`` per hour (rows: ``vault``): each disk's transfer stretched by the mean slowdown
    ``max(1, load / C)`` of the hours it uses (the congestion model of vmbackup.fleet)."""
    horizon_h = load.shape[1]
    slow = np.zeros((load.shape[0], horizon_h + 1))
    np.cumsum(np.maximum(load / capacity, 1.0), axis=1, out=slow[:, 1:])
    shift = 24.0 * days[None, :]
    begin = steady.transfer_start[:, None] + shift
    finish = steady.end[:, None] + shift
    rows = np.broadcast_to(vault[vm_of][:, None], begin.shape)
    hours = finish - begin
    mean = np.ones_like(hours)
    stretched = _integral_at(slow, rows, np.minimum(finish, horizon_h)) - _integral_at(
        slow, rows, np.minimum(begin, horizon_h)
    )
    np.divide(stretched, hours, out=mean, where=hours > 0)
    vm_end = np.full((start_hour.size, days.size), -np.inf)
    np.maximum.at(vm_end, vm_of, begin + hours * mean)
    duration: npt.NDArray[np.float64] = vm_end - (start_hour[:, None] + shift)
    return duration


def _steady_check(
    steady: _Disks,
    vm_of: npt.NDArray[np.int64],
    start_hour: npt.NDArray[np.float64],
    vault: npt.NDArray[np.int64],
    asked: npt.NDArray[np.float64],
    onboarding: npt.NDArray[np.float64],
    capacity: float,
    *,
    protected_from: npt.NDArray[np.int64],
    until_day: int,
) -> tuple[float, float, int]:
    """The longest steady-state job of a protected VM on the days the waves run [h] (and the
    longest without onboarding), and how many of those jobs end beyond the 24 h window (S11).

    ``asked`` is each vault's steady-state load per hour of the day; ``onboarding`` its first
    backups' load per hour of the horizon [MB/s]. The steady state repeats daily, so one day of
    it gives every day's jobs; only the vaults whose slowdown onboarding changes somewhere (a
    first backup over the room, run alone) are followed day by day."""
    days_tiled = onboarding.shape[1] // 24
    steady_load = np.tile(asked, (1, days_tiled))
    # the jobs of one day (day 1, so that a job begun the evening before is in the load)
    baseline = _steady_durations(
        steady, vm_of, start_hour, vault, steady_load, capacity, np.array([1])
    )[:, 0]
    protected_days = np.clip(until_day - protected_from, 0, None)
    counted = protected_days > 0
    worst_alone = float(baseline[counted].max(initial=0.0))
    slower = np.maximum(steady_load + onboarding, capacity) > np.maximum(steady_load, capacity)
    changed = np.flatnonzero(slower.any(axis=1))
    over_mask = baseline > WINDOW_HOURS + 1e-9
    over = int((protected_days * over_mask)[~np.isin(vault, changed)].sum())
    worst = float(baseline[counted & ~np.isin(vault, changed)].max(initial=0.0))
    if changed.size:
        members = np.flatnonzero(np.isin(vault, changed))
        disks = np.isin(vm_of, members)
        local = np.full(start_hour.size, -1)
        local[members] = np.arange(members.size)
        days = np.arange(max(until_day, 1))
        part = _Disks(steady.transfer_start[disks], steady.end[disks], steady.sent_gb[disks])
        duration = _steady_durations(
            part,
            local[vm_of[disks]],
            start_hour[members],
            vault[members],
            steady_load + onboarding,
            capacity,
            days,
        )
        kept = days[None, :] >= protected_from[members, None]
        kept &= days[None, :] < until_day
        worst = max(worst, float(duration[kept].max(initial=0.0)))
        over += int((duration[kept] > WINDOW_HOURS + 1e-9).sum())
    return worst, worst_alone, over


def _vm_table(
    plan: FleetPlan,
    vault: npt.NDArray[np.int64],
    done: npt.NDArray[np.bool_],
    jobs: npt.NDArray[np.int64],
    new_vm: npt.NDArray[np.bool_],
    day: npt.NDArray[np.int64],
    start: npt.NDArray[np.float64],
    finish: npt.NDArray[np.float64],
    delay: npt.NDArray[np.float64],
    sent: npt.NDArray[np.float64],
    fits_alone: npt.NDArray[np.bool_],
    first_success: npt.NDArray[np.int64],
) -> pl.DataFrame:
    vms = plan.vms

    def spread(values: npt.NDArray[Any], dtype: Any) -> pl.Series:
        """Per-job values laid out per VM (null for a VM without a job)."""
        full = pl.Series([None] * vms, dtype=dtype)
        return full.scatter(jobs, pl.Series(values).cast(dtype)) if jobs.size else full

    kind = np.where(done, "protected", "first backup").astype(object)
    kind[jobs[~new_vm]] = "new disk"
    duration = finish - start
    return pl.DataFrame(
        {
            "vm": np.arange(vms, dtype=np.int64),
            "vm_name": list(plan.vm_names),
            "vault": vault,
            "kind": kind.astype(str),
            "wave_day": spread(day, pl.Int64),
            "trigger_hour": spread(start % 24, pl.Float64),
            "start_hours": spread(start, pl.Float64),
            "end_hours": spread(finish, pl.Float64),
            "duration_hours": spread(duration, pl.Float64),
            "jam_delay_hours": spread(delay, pl.Float64).fill_null(0.0),
            "sent_gb": spread(sent, pl.Float64).fill_null(0.0),
            "over_24h": spread(duration > WINDOW_HOURS, pl.Boolean).fill_null(False),
            "within_capacity": spread(fits_alone, pl.Boolean).fill_null(True),
            "first_success_day": first_success,
        }
    )


def _waves(vm_rows: pl.DataFrame, done: npt.NDArray[np.bool_]) -> pl.DataFrame:
    """Per wave day: VMs enabled, their data, and VMs protected by the end of the day."""
    enabled = (
        vm_rows.filter(pl.col("kind") != "protected")
        .group_by("wave_day")
        .agg(vms=pl.len(), first_backup_gb=pl.col("sent_gb").sum())
        .rename({"wave_day": "day"})
    )
    last = int(vm_rows["first_success_day"].max() or 0)  # type: ignore[arg-type]
    last = max(last, int(enabled["day"].max() or 0) if enabled.height else 0)  # type: ignore[arg-type]
    successes = np.bincount(
        vm_rows.filter(pl.col("kind") == "first backup")["first_success_day"].to_numpy(),
        minlength=last + 1,
    )
    days = pl.DataFrame(
        {
            "day": np.arange(last + 1, dtype=np.int64),
            "protected_vms": int(done.sum()) + np.cumsum(successes),
        }
    )
    return (
        days.join(enabled, on="day", how="left")
        .with_columns(
            vms=pl.col("vms").fill_null(0).cast(pl.Int64),
            first_backup_gb=pl.col("first_backup_gb").fill_null(0.0),
        )
        .select("day", "vms", "first_backup_gb", "protected_vms")
    )


def _lower_bound(
    demand: _Ragged,
    room: npt.NDArray[np.float64],
    vault: npt.NDArray[np.int64],
    offset_h: npt.NDArray[np.int64],
    end_alone: npt.NDArray[np.float64],
    counted: npt.NDArray[np.bool_],
    *,
    by_start: bool = True,
) -> int:
    """Days no plan can beat (jobs ``counted``; ``by_start`` when first backups start at their
    scheduled hours):

    - the longest first backup, run alone from day 0 (``end_alone``: at its best hour);
    - each vault's first-backup data over the room first backups have in a day;
    - each group of jobs that start transferring in the same hour of a vault: they all send in
      the same hours of the day they start, so the demand of any of their first 24 hours, over
      that hour's room, is a number of days on which they must start; the last starts at least
      that many days minus one after day 0.
    """
    if not counted.any():
        return 0
    vaults = room.shape[0]
    longest = int(np.floor(end_alone[counted].max() / 24)) + 1
    volume = np.bincount(vault[counted], demand.volume()[counted], vaults)
    daily = room.sum(axis=1)
    by_volume: npt.NDArray[np.float64] = np.ceil(volume[daily > 0] / daily[daily > 0] - 1e-9)
    if not by_start:
        return int(max(longest, by_volume.max(initial=0)))
    owner, step, values = demand.cells()
    keep = counted[owner] & (step < 24)  # the first day of each job
    cells = (
        pl.DataFrame(
            {
                "vault": vault[owner[keep]],
                "offset": offset_h[owner[keep]],
                "step": step[keep],
                "demand": values[keep],
            }
        )
        .group_by("vault", "offset", "step")
        .agg(pl.col("demand").sum())
    )
    hour_room = room[cells["vault"].to_numpy(), (cells["offset"] + cells["step"]).to_numpy() % 24]
    with np.errstate(divide="ignore", invalid="ignore"):
        starts = np.where(
            hour_room > _EPS_MB_S, np.ceil(cells["demand"].to_numpy() / hour_room - 1e-9), 1
        )
    ends = (
        pl.DataFrame(
            {"vault": vault[counted], "offset": offset_h[counted], "end": end_alone[counted]}
        )
        .group_by("vault", "offset")
        .agg(pl.col("end").min())
    )
    groups = (
        cells.with_columns(starts=pl.Series(starts))
        .group_by("vault", "offset")
        .agg(pl.col("starts").max())
        .join(ends, on=["vault", "offset"])
    )
    by_starting: npt.NDArray[np.float64] = (
        np.floor(
            ((np.maximum(groups["starts"].to_numpy(), 1) - 1) * 24 + groups["end"].to_numpy()) / 24
        )
        + 1
    )
    return int(max(longest, by_volume.max(initial=0), by_starting.max(initial=0)))


def _notes(
    vm_rows: pl.DataFrame,
    days: int,
    lower: int,
    worst: float,
    alone_worst: float,
    over: int,
    capacity: float,
    trigger: str,
) -> tuple[str, ...]:
    jobs = vm_rows.filter(pl.col("kind") != "protected")
    first = jobs.filter(pl.col("kind") == "first backup")
    when = (
        "each at its VM's scheduled hour (S1)"
        if trigger == "scheduled"
        else "each triggered on demand at the hour the plan picks (X3)"
    )
    notes = [
        f"S12, S14: {first.height} first backup(s) with the extension install; "
        f"{jobs.height - first.height} protected VM(s) with a new disk (S15); {when}",
        f"S23: every VM has its first recovery point after {days} day(s) "
        f"(no plan can do it in fewer than {lower}); billing starts per VM on that day",
    ]
    long = jobs.filter(pl.col("over_24h"))
    if long.height:
        notes.append(f"S12, S15: {long.height} job(s) take more than 24 h")
    lonely = jobs.filter(~pl.col("within_capacity"))
    if lonely.height:
        notes.append(
            f"{lonely.height} first backup(s) need more than the vault's free ingest "
            f"({capacity:g} MB/s) alone: each runs with no other first backup of its vault"
        )
    notes.append(
        f"S11: steady-state jobs of protected VMs while the waves run (hourly, at mean churn): "
        f"worst {worst:.1f} h ({alone_worst:.1f} h without onboarding), {over} beyond the 24 h "
        "window"
    )
    return tuple(notes)
