"""A month of backups for a whole estate: jobs, traffic jams, windows and cost (items S11, S13,
S18, S23-S28).

:func:`simulate_fleet` runs N days of backups for every VM of a fleet (the sample-fleet schema,
one row per disk) in numpy, without a Python loop over VMs or days:

1. **churn**: each disk's daily churn is its used data x its VM's churn-class share (P6), times
   a seeded log-normal day-to-day factor (median 1, ``churn_sigma``);
2. **the job**: each VM starts at its schedule hour plus an optional offset; preparation, the
   peak-hour lag and each disk's transfer follow ``vmbackup.transfer`` (same defaults), every disk
   in parallel, the slowest one ending the job; extents follow from churn at ``fragmentation``;
3. **traffic jams** (S13): each vault (``vms_per_vault`` VMs each) ingests at most
   ``vault_ingest_mb_s`` in all. Demand is summed per vault over 5-minute bins; a job is slowed
   by the average overload of the bins its transfer would have used (a one-pass fluid
   approximation, not iterated);
4. **rollups**: per day (jobs, jobs over the 24 h window, peak concurrent transfers, GB sent) and
   per month (storage and the bill, by ``vmbackup.billing`` rules).

Enhanced hourly policies send one vault point a day (Y2), timed at the last backup of their
window; the model treats it as the VM's daily transfer job.

Steps 1 to 3 run a block of whole vaults at a time (about :data:`BLOCK_VM_DAYS` VM-days), so the
working arrays stay in the CPU cache; churn is drawn block after block from one generator, the
same numbers as one draw. Steps 1 and 2's transfers do not depend on start times, so
:func:`propose_stagger` computes them once and reruns only the start times, lag and traffic jams
for each candidate spread (the same code :func:`simulate_fleet` runs, so each candidate's
numbers are the full simulation's).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import (
    bounded,
    choice,
    non_negative,
    non_negative_array,
    positive,
    whole,
)
from vmbackup.billing import (
    PI_METER,
    REDUNDANCIES,
    SNAPSHOT_PRODUCTS,
    Prices,
    instant_restore_gb,
    pi_basis,
    pi_fee_usd_per_month,
)
from vmbackup.churn import CHURN_CLASS_FRACTION
from vmbackup.policy import Policy
from vmbackup.pricing_rules import rules_on
from vmbackup.retention import chain_storage_gb, vault_points
from vmbackup.transfer import DEFAULTS as TRANSFER_DEFAULTS
from vmbackup.transfer import (
    MAX_LAG_HOURS,
    WINDOW_HOURS,
    changed_extents,
    send_hours,
    vault_lag_hours,
)

__all__ = [
    "BIN_HOURS",
    "FleetPlan",
    "FleetResult",
    "fleet_plan",
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
#: Azure's limit of VMs protected by one Recovery Services vault.
DEFAULT_VMS_PER_VAULT = 1000
#: VM-days simulated at a time (whole vaults): the working set stays in the CPU cache.
BLOCK_VM_DAYS = 32_768


@dataclass(frozen=True)
class FleetPlan:
    """A fleet in array form, ready to simulate (built by :func:`fleet_plan`).

    Per VM (length V): names, schedule hour, churn share, policy index, PI size, crash flag.
    Per disk (length D, grouped by VM, VMs in order): VM index, used and allocated GB.
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
    vm_premium: npt.NDArray[np.bool_] | None = None  # a premium (SSD) disk: SSD snapshots (G9)

    @property
    def vms(self) -> int:
        return len(self.vm_names)


def fleet_plan(fleet: pl.DataFrame, policies: Mapping[str, Policy]) -> FleetPlan:
    """Turn a fleet table (one row per disk) and its policies into a :class:`FleetPlan`.

    The temporary disks are dropped (never backed up). A VM's ``schedule_hour`` is its daily
    transfer time; for an hourly policy it is moved to the last backup of the window (Y2).

    Raises
    ------
    ValueError
        A policy named in the fleet is not in ``policies``.
    """
    missing = sorted(set(fleet["policy"].unique()) - set(policies))
    if missing:
        raise ValueError(
            f"policy {missing[0]!r} used by the fleet is not given; "
            f"known policies: {sorted(policies)}"
        )
    disks = fleet.filter(pl.col("disk_role") != "temp")
    vms = (
        disks.with_row_index("disk")
        .group_by("vm_name", maintain_order=True)
        .agg(
            pl.col("schedule_hour", "churn_class", "policy").first(),
            pi_size_gb=pl.col("used_gb").sum(),
            premium=(pl.col("disk_type") == "premium").any(),
            disks=pl.col("disk"),  # each VM's disk rows, in file order
        )
    )
    names = list(policies)
    policy_index = (
        vms["policy"]
        .replace_strict({n: i for i, n in enumerate(names)}, return_dtype=pl.Int64)
        .to_numpy()
    )
    last_backup = np.array([policies[n].backup_hours()[-1] - policies[n].run_hour for n in names])
    start = (vms["schedule_hour"].to_numpy() + last_backup[policy_index]) % 24
    share = vms["churn_class"].replace_strict(CHURN_CLASS_FRACTION, return_dtype=pl.Float64)
    by_vm = vms["disks"].explode().to_numpy()  # disk rows grouped by VM
    disk_vm = np.repeat(np.arange(vms.height, dtype=np.int64), vms["disks"].list.len().to_numpy())
    return FleetPlan(
        vm_names=tuple(vms["vm_name"].to_list()),
        start_hour=start.astype(np.float64),
        churn_share=share.to_numpy(),
        policy_index=policy_index.astype(np.int64),
        policies=tuple(policies[n] for n in names),
        pi_size_gb=vms["pi_size_gb"].to_numpy(),
        disk_vm=disk_vm,
        disk_used_gb=disks["used_gb"].to_numpy()[by_vm],
        disk_allocated_gb=disks["allocated_gb"].to_numpy()[by_vm],
        vm_premium=vms["premium"].to_numpy(),
    )


@dataclass(frozen=True)
class FleetResult:
    """What :func:`simulate_fleet` returns.

    Attributes
    ----------
    jobs
        One row per VM-day: ``vm`` (index into ``vm_names``), ``day`` (0-based), ``start_hours``
        and ``end_hours`` (since the first day's midnight), ``duration_hours``, ``sent_gb``,
        ``met_window``.
    daily
        Per day: ``jobs``, ``over_window``, ``worst_hours``, ``sent_gb``, ``peak_transfers``
        (the most transfers in flight in any 5 minutes of that calendar day).
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
    """

    jobs: pl.DataFrame
    daily: pl.DataFrame
    monthly: pl.DataFrame
    concurrency: npt.NDArray[np.float64]
    vm_names: tuple[str, ...]
    meters: pl.DataFrame | None = None


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


def _disk_hours(churn_gb: npt.NDArray[np.float32], fragmentation: float) -> npt.NDArray[np.float32]:
    """A disk's unconstrained incremental transfer time [h] for a day's churn [GB], by the job
    kernel of ``vmbackup.transfer`` (extents from churn at ``fragmentation``, then churn at the
    incremental throughput plus a cost per extent), in float32 and in place."""
    extents = changed_extents(churn_gb, fragmentation)
    return send_hours(
        churn_gb, TRANSFER_DEFAULTS["incremental_throughput_mb_s"], extents, out=extents
    )


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
) -> None:
    """Fill each VM-day's unconstrained transfer time [h] (its slowest disk) and data sent [GB]
    (the sum over its disks, in float64, disk by disk), shape (vms, days), from its disks'
    daily churn; ``disk_vm`` numbers the VMs from 0, in order. A VM without disks gets zeros.

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
    rows = churn[position_0]
    sent = rows.astype(np.float64)
    hours = _disk_hours(rows, fragmentation)
    for position in range(1, int(counts.max())):
        having = int(np.searchsorted(fewer_first, -position))  # VMs with > position disks
        rows = churn[position_0[:having] + position]
        sent[:having] += rows
        np.maximum(hours[:having], _disk_hours(rows, fragmentation), out=hours[:having])
    if first.size < transfer_hours.shape[0]:
        transfer_hours[:] = sent_gb[:] = 0.0
    transfer_hours[vm[position_0]] = hours
    sent_gb[vm[position_0]] = sent


def _transfers(
    plan: FleetPlan,
    blocks: list[tuple[int, int]],
    *,
    days: int,
    seed: int,
    churn_sigma: float,
    fragmentation: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each VM-day's unconstrained transfer time [h], data sent [GB] and rate while sending
    [MB/s] (0 without a transfer), shape (vms, days): the part of a simulation that start times
    do not change. Churn is drawn block by block (the same numbers as :func:`_churn`) and turned
    into transfers while it is in the CPU cache.
    """
    vm = plan.disk_vm
    if vm.size and (vm[1:] < vm[:-1]).any():
        raise ValueError("plan.disk_vm must list each VM's disks together, in VM order")
    rng = np.random.default_rng(seed)
    share = plan.churn_share[vm]
    transfer_hours, sent_gb = np.empty((plan.vms, days)), np.empty((plan.vms, days))
    rate_mb_s = np.zeros((plan.vms, days))
    bounds = np.searchsorted(vm, [first for first, _ in blocks] + [plan.vms]).tolist()
    for (first, stop), begin, end in zip(blocks, bounds[:-1], bounds[1:], strict=True):
        churn = _draw_churn(rng, plan.disk_used_gb[begin:end], share[begin:end], days, churn_sigma)
        hours, sent = transfer_hours[first:stop], sent_gb[first:stop]
        _transfer(vm[begin:end] - first, churn, fragmentation, hours, sent)
        np.divide(sent * 1000, hours * 3600, out=rate_mb_s[first:stop], where=hours > 0)
    return transfer_hours, sent_gb, rate_mb_s


class _Vaults:
    """The traffic-jam model (S13) for fixed transfers: :meth:`run` places them at the start
    times a set of offsets gives, a block of whole vaults at a time. What offsets do not change
    (rates, vault of each VM, the horizon) is computed once, so :func:`propose_stagger` can try
    many offsets cheaply.
    """

    def __init__(
        self,
        plan: FleetPlan,
        blocks: list[tuple[int, int]],
        transfer_hours: npt.NDArray[np.float64],
        rate_mb_s: npt.NDArray[np.float64],
        *,
        lag_profile_hours: npt.NDArray[np.float64],
        vault_ingest_mb_s: float,
        vms_per_vault: int,
    ) -> None:
        self.plan, self.blocks = plan, blocks
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
        p, horizon = TRANSFER_DEFAULTS, self.horizon
        day_hours = 24.0 * np.arange(self.days)[None, :]
        change = np.zeros(horizon + 1, dtype=np.int64)  # transfers starting less ending, per bin
        for (first, stop), vault, vaults in zip(self.blocks, self.vault, self.vaults, strict=True):
            rows = slice(first, stop)
            transfer_hours = self.transfer_hours[rows]
            start_hours = (self.plan.start_hour[rows] + offsets_hours[rows])[:, None] + day_hours
            transfer_start = start_hours + p["snapshot_hours"]  # the snapshot is taken
            transfer_start += vault_lag_hours(  # the wait for the vault; rows grow day by day
                self.profile,
                transfer_start,
                span_hours=(transfer_start[:, 0].min(), transfer_start[:, -1].max()),
            )  # the wait for the vault

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


def _simulation(
    plan: FleetPlan,
    *,
    days: int,
    seed: int,
    churn_sigma: float,
    fragmentation: float,
    lag_profile_hours: npt.NDArray[np.float64],
    vault_ingest_mb_s: float,
    vms_per_vault: int,
) -> tuple[_Vaults, npt.NDArray[np.float64]]:
    """The transfers of every VM-day (drawn once) and the vaults that place them for any start
    times; also each VM-day's data sent [GB], shape (vms, days)."""
    blocks = _blocks(plan.vms, vms_per_vault, days)
    transfer_hours, sent_gb, rate_mb_s = _transfers(
        plan,
        blocks,
        days=days,
        seed=seed,
        churn_sigma=non_negative("churn_sigma", churn_sigma),
        fragmentation=fragmentation,
    )
    vaults = _Vaults(
        plan,
        blocks,
        transfer_hours,
        rate_mb_s,
        lag_profile_hours=lag_profile_hours,
        vault_ingest_mb_s=vault_ingest_mb_s,
        vms_per_vault=vms_per_vault,
    )
    return vaults, sent_gb


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
    whole("vms_per_vault", vms_per_vault, 1, 10**7)
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
    progress: Callable[[int, int, str], None] | None = None,
) -> FleetResult:
    """Simulate ``days`` days of backups for every VM of ``plan`` (see the module notes).

    Parameters
    ----------
    plan
        The fleet (:func:`fleet_plan`).
    lag_profile_hours
        Wait for the vault by snapshot hour: 24 values [h], at most 8 (S11).
    days
        Days to simulate.
    start
        Date of day 0 (for months and retention).
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
    progress
        Called as ``progress(stage, 3, label)`` as the stages (churn and transfer, congestion,
        rollups) begin and ``progress(3, 3, "done")`` at the end.
    """
    profile, capacity = _checked(
        days=days,
        lag_profile_hours=lag_profile_hours,
        vault_ingest_mb_s=vault_ingest_mb_s,
        vms_per_vault=vms_per_vault,
        fragmentation=fragmentation,
    )
    offsets = np.broadcast_to(np.asarray(offsets_hours, dtype=np.float64), (plan.vms,))

    def report(label: str, stage: int) -> None:
        if progress is not None:
            progress(stage, 3, label)

    report("churn and transfer", 0)
    vaults, sent_gb = _simulation(
        plan,
        days=days,
        seed=seed,
        churn_sigma=churn_sigma,
        fragmentation=fragmentation,
        lag_profile_hours=profile,
        vault_ingest_mb_s=capacity,
        vms_per_vault=vms_per_vault,
    )
    report("congestion", 1)
    start32 = np.empty((plan.vms, days), dtype=np.float32)
    end32, duration32 = np.empty_like(start32), np.empty_like(start32)

    def keep(
        rows: slice, start_hours: npt.NDArray[np.float64], end: npt.NDArray[np.float64]
    ) -> None:
        start32[rows], end32[rows] = start_hours, end
        duration32[rows] = _job_hours(start_hours, end)

    concurrency = vaults.run(offsets, keep)
    del vaults

    report("rollups", 2)
    day_index = np.arange(days)
    sent32 = sent_gb.astype(np.float32)
    vm_index = np.repeat(np.arange(plan.vms, dtype=np.uint32), days)
    jobs = pl.DataFrame(
        {
            "vm": vm_index,
            "day": np.tile(day_index.astype(np.uint16), plan.vms),
            "start_hours": start32.ravel(),
            "end_hours": end32.ravel(),
            "duration_hours": duration32.ravel(),
            "sent_gb": sent32.ravel(),
            "met_window": (duration32 <= WINDOW_HOURS).ravel(),
        }
    )
    day_bins = round(24 / BIN_HOURS)
    peak = concurrency[: days * day_bins].reshape(days, day_bins).max(axis=1)
    daily = pl.DataFrame(
        {
            "day": day_index.astype(np.uint16),
            "jobs": np.full(days, plan.vms, dtype=np.uint32),
            "over_window": (duration32 > WINDOW_HOURS).sum(axis=0).astype(np.uint32),
            "worst_hours": duration32.max(axis=0),
            "sent_gb": sent32.sum(axis=0, dtype=np.float64),
            "peak_transfers": peak,
        }
    )
    monthly, meters = _monthly_bill(plan, sent_gb, start, days, prices, redundancy)
    report("done", 3)
    return FleetResult(
        jobs=jobs,
        daily=daily,
        monthly=monthly,
        meters=meters,
        concurrency=concurrency,
        vm_names=plan.vm_names,
    )


def fleet_bill_lines(
    plan: FleetPlan,
    mean_churn_gb: npt.ArrayLike,
    start: dt.date,
    days: int,
    prices: Prices,
    redundancy: str = "GRS",
) -> pl.DataFrame:
    """The fleet's bill per month, VM and meter, as the lines of an invoice (P7, H3).

    The same engine as one VM's bill (:mod:`vmbackup.billing`): the PI fee by the pricing rules
    of each month (agentless: 0.5 PI in preview, then a full PI on half the provisioned size,
    G1), the S28 chain of each policy's recovery points in the vault, and Instant Restore
    snapshots by schedule, media (SSD for a VM with a premium disk) and redundancy (ZRS under
    Enhanced, G8), with the clean-up lag of G9.

    Every VM is backed up daily from ``start`` (its first backup, as in the simulation). The
    vault is computed per policy on the VMs' summed data and churn with the sequential overlap
    model, which is exactly the sum of the VMs' own chains while a point's changes stay below
    the VM's data; each VM's share is its data plus its share of its policy's churn.

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

    Returns
    -------
    polars.DataFrame
        ``month``, ``vm`` (index), ``meter``, ``product``, ``unit``, ``quantity``,
        ``unit_price``, ``cost`` (the prices' currency).
    """
    redundancy = choice("redundancy", redundancy, REDUNDANCIES)
    bill = _bill_arrays(plan, mean_churn_gb, start, days, prices, redundancy)
    return _lines(bill, prices, redundancy)


def _bill_arrays(
    plan: FleetPlan,
    mean_churn_gb: npt.ArrayLike,
    start: dt.date,
    days: int,
    prices: Prices,
    redundancy: str,
    vault_totals: dict[int, npt.NDArray[np.float64]] | None = None,
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
    month_share = per_month.sum(axis=1)
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
    # vault: each policy's chain on its VMs' summed data and churn (S28)
    vault_gb_months = np.zeros((plan.vms, months.len()))
    totals = _vault_totals(plan, churn, dates) if vault_totals is None else vault_totals
    for i, total in totals.items():
        members = index == i
        used_sum, churn_sum = float(size[members].sum()), float(churn[members].sum())
        extra_months = per_month @ (total - used_sum)  # GB-months above the full copies
        share = churn[members] / churn_sum if churn_sum > 0 else np.zeros(members.sum())
        vault_gb_months[members] = size[members, None] * month_share + share[:, None] * extra_months
    # Instant Restore snapshots per VM (P4, G8, G9), priced by media and redundancy
    rule = rules_on(np.asarray(first_days))[day_month]
    snap_gb_months = np.zeros((plan.vms, months.len()))
    zrs = np.array([p.policy_type == "enhanced" for p in policies])[index]  # G8: Enhanced on ZRS
    for i, policy in enumerate(policies):
        members = index == i
        daily = instant_restore_gb(policy, size[members, None], churn[members, None], rule=rule)
        snap_gb_months[members] = daily @ per_month.T
    premium = plan.vm_premium if plan.vm_premium is not None else np.zeros(plan.vms, bool)
    snap_price = np.select(
        [premium & zrs, premium & ~zrs, ~premium & zrs],
        [
            prices.snapshot_prices[(m, z)]
            for m, z in (("SSD", "ZRS"), ("SSD", "LRS"), ("HDD", "ZRS"))
        ],
        prices.snapshot_prices[("HDD", "LRS")],
    )
    return _BillArrays(
        months.to_numpy(),
        pi_cost,
        pi_price,
        vault_gb_months,
        snap_gb_months,
        snap_price,
        zrs,
        premium,
    )


def _vault_totals(
    plan: FleetPlan, churn: npt.NDArray[np.float64], dates: pl.Series
) -> dict[int, npt.NDArray[np.float64]]:
    """Each policy's vault storage per day: the S28 chain on its VMs' summed data and churn
    (sequential overlap) [GB]."""
    totals = {}
    days = dates.len()
    for i, policy in enumerate(plan.policies):  # a handful of policies, not VMs
        members = plan.policy_index == i
        if members.any():
            used, changed = float(plan.pi_size_gb[members].sum()), float(churn[members].sum())
            created, expires = _policy_points(policy, dates[0], days)
            totals[i] = chain_storage_gb(
                created, expires, np.full(days, used), np.full(days, changed), overlap="sequential"
            )
    return totals


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
    zrs: npt.NDArray[np.bool_]
    premium: npt.NDArray[np.bool_]


def _lines(bill: _BillArrays, prices: Prices, redundancy: str) -> pl.DataFrame:
    """Invoice lines from a fleet's bill arrays."""
    pi_cost, pi_price = bill.pi_cost, bill.pi_price
    vault_gb_months, snap_gb_months, snap_price = (
        bill.vault_gb_months,
        bill.snap_gb_months,
        bill.snap_price,
    )
    n_months = bill.months.size
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
                "meter": np.repeat(np.where(bill.zrs, "ZRS Snapshots", "LRS Snapshots"), n_months),
                "product": np.repeat(
                    np.where(bill.premium, SNAPSHOT_PRODUCTS["SSD"], SNAPSHOT_PRODUCTS["HDD"]),
                    n_months,
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
    sent_gb: npt.NDArray[np.float64],
    start: dt.date,
    days: int,
    prices: Prices | None,
    redundancy: str,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The bill per month (and per month and meter), from :func:`fleet_bill_lines`."""
    churn = sent_gb.mean(axis=1)  # per VM [GB/day]
    dates = pl.date_range(start, start + dt.timedelta(days=days - 1), "1d", eager=True)
    totals = _vault_totals(plan, churn, dates)
    total = np.sum(list(totals.values()), axis=0) if totals else np.zeros(days)
    month_end = (
        pl.DataFrame({"day": dates, "vault_gb": total})
        .group_by(pl.col("day").dt.truncate("1mo").alias("month"), maintain_order=True)
        .agg(vault_gb=pl.col("vault_gb").last())
    )
    if prices is None:
        return month_end, None
    bill = _bill_arrays(plan, churn, start, days, prices, redundancy, vault_totals=totals)
    vault_price = prices.storage_usd_per_gb_month[redundancy]
    snap_cost = bill.snap_gb_months * bill.snap_price[:, None]
    rows = []
    month_dates = pl.Series("month", bill.months).cast(pl.Date).to_list()
    for m, month in enumerate(month_dates):  # a handful of months: sums over VMs in numpy
        pi_quantity = float((bill.pi_cost[:, m] / bill.pi_price[:, m]).sum())
        vault_gb = float(bill.vault_gb_months[:, m].sum())
        rows.append((month, PI_METER, pi_quantity, float(bill.pi_cost[:, m].sum())))
        rows.append((month, f"Standard {redundancy} Data Stored", vault_gb, vault_gb * vault_price))
        for name, members in (("LRS Snapshots", ~bill.zrs), ("ZRS Snapshots", bill.zrs)):
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


def stagger_offsets(plan: FleetPlan, spread_minutes: float) -> npt.NDArray[np.float64]:
    """Offsets [h] that deal the VMs sharing a start time, largest first, to start slots spread
    evenly over ``±spread_minutes``, in 5-minute steps (S13: move default times by minutes).

    """
    minutes = non_negative("spread_minutes", spread_minutes)
    return _offsets_hours(_stagger_positions(plan), minutes)


def _stagger_positions(plan: FleetPlan) -> npt.NDArray[np.float64]:
    """Each VM's place among the VMs sharing its start time, largest first: 0 (first) to 1
    (last); 0.5 for a VM alone at its time. The same for every spread."""
    size_rank = np.argsort(np.argsort(-plan.pi_size_gb, kind="stable"), kind="stable")
    groups = pl.DataFrame({"start": plan.start_hour, "rank": size_rank}).with_columns(
        slot=pl.col("rank").rank("ordinal").over("start").cast(pl.Int64) - 1,
        members=pl.len().over("start"),
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
    """``copies`` copies of a fleet, VM names suffixed ``-c0``, ``-c1``... (what-ifs at scale)."""
    whole("copies", copies, 1, 100_000)
    return pl.concat([fleet.with_columns(pl.col("vm_name") + f"-c{i}") for i in range(copies)])


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
    vault_ingest_mb_s, vms_per_vault, fragmentation, churn_sigma, seed
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
    vaults, _sent_gb = _simulation(
        plan,
        days=days,
        seed=seed,
        churn_sigma=churn_sigma,
        fragmentation=fragmentation,
        lag_profile_hours=profile,
        vault_ingest_mb_s=capacity,
        vms_per_vault=vms_per_vault,
    )

    def evaluate(offsets: npt.NDArray[np.float64]) -> tuple[float, int, float]:
        worst_hours, over_window = -np.inf, 0

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
