"""Fleet simulation speed and memory: VM-days per second at 10,000 and 100,000 VMs x 30 days,
against a straightforward per-VM Python loop of the same model on a 1,000-VM slice.

Goals (issue 7): at least 50 times the loop's VM-days per second, and 100,000 VMs x 30 days in
under 30 s on this 2-core machine. Run: .venv/bin/python benchmarks/fleet.py
"""

from __future__ import annotations

import math
import resource
import time

import numpy as np
import polars as pl

from vmbackup.data import read_fleet, read_lag_profile, read_policies, read_prices
from vmbackup.fleet import BIN_HOURS, FleetPlan, _churn, fleet_plan, scale_fleet, simulate_fleet
from vmbackup.transfer import DEFAULTS, WINDOW_HOURS


def scaled_fleet(vms: int) -> pl.DataFrame:
    """The sample fleet repeated (with new VM names) to ``vms`` VMs."""
    sample = read_fleet()
    fleet = scale_fleet(sample, math.ceil(vms / sample["vm_name"].n_unique()))
    keep = fleet["vm_name"].unique(maintain_order=True)[:vms]
    return fleet.filter(pl.col("vm_name").is_in(keep.to_list()))


def loop_reference(plan: FleetPlan, lag: np.ndarray, days: int, capacity: float) -> list[float]:
    """The same model written as plain Python loops over VMs, days and disks."""
    churn = _churn(plan, days, 0, 0.5).tolist()
    disks_of: dict[int, list[int]] = {}
    for d, vm in enumerate(plan.disk_vm.tolist()):
        disks_of.setdefault(vm, []).append(d)
    jobs = []
    for vm in range(plan.vms):
        for day in range(days):
            hours, sent = 0.0, 0.0
            for d in disks_of[vm]:
                gb = churn[d][day]
                blocks = math.ceil(gb * 1e9 / 65536)
                extents = 1 + 0.3 * max(blocks - 1, 0) if blocks > 0 else 0.0
                t = gb * 1000 / DEFAULTS["incremental_throughput_mb_s"] / 3600
                t += extents * DEFAULTS["per_extent_seconds"] / 3600
                hours, sent = max(hours, t), sent + gb
            start = float(plan.start_hour[vm]) + 24 * day
            snapshot = start + DEFAULTS["snapshot_hours"]
            begin = snapshot + float(lag[math.floor(snapshot) % 24])
            jobs.append((start, begin, hours, sent))
    bins: dict[int, float] = {}
    for _, begin, hours, sent in jobs:
        if hours <= 0:
            continue
        rate = sent * 1000 / (hours * 3600)
        for b in range(int(begin / BIN_HOURS), int((begin + hours) / BIN_HOURS) + 1):
            bins[b] = bins.get(b, 0.0) + rate
    durations = []
    for start, begin, hours, _ in jobs:
        first, last = int(begin / BIN_HOURS), int((begin + hours) / BIN_HOURS)
        slow = sum(max(1.0, bins.get(b, 0.0) / capacity) for b in range(first, last + 1))
        durations.append(begin + hours * slow / (last - first + 1) - start)
    return durations


def best_of(runs: int, run):  # type: ignore[no-untyped-def]
    """The fastest of ``runs`` calls (the first pays for page faults) and its result."""
    best, result = float("inf"), None
    for _ in range(runs):
        began = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - began)
    return best, result


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    lag, policies, prices = read_lag_profile(), read_policies(), read_prices()
    days = 30
    print(f"{days} days per run; VM-days per second, higher is better; vectorised: best of 3")
    small = fleet_plan(scaled_fleet(1000), policies)
    began = time.perf_counter()
    slow = loop_reference(small, lag, days, 700.0)  # 1,000 VMs: one vault
    loop_s = time.perf_counter() - began  # one run: a loop has no first-touch cost to hide
    fast_s, fast = best_of(
        3, lambda: simulate_fleet(small, lag_profile_hours=lag, days=days, prices=prices)
    )
    agree = np.abs(fast.jobs["duration_hours"].to_numpy() - np.asarray(slow)).max()
    loop_rate = small.vms * days / loop_s
    print(f"  1,000 VMs, Python loop:  {loop_rate:>12,.0f} VM-days/s ({loop_s:.2f} s)")
    within = int(fast.jobs["met_window"].sum())
    print(
        f"  1,000 VMs, vectorised:   {small.vms * days / fast_s:>12,.0f} VM-days/s "
        f"({fast_s:.2f} s); max difference {agree:.1e} h; within window {within}/{fast.jobs.height}"
    )
    for vms in (10_000, 100_000):
        plan = fleet_plan(scaled_fleet(vms), policies)
        before = peak_rss_mb()
        seconds, result = best_of(
            3,
            lambda plan=plan: simulate_fleet(plan, lag_profile_hours=lag, days=days, prices=prices),
        )
        rate = vms * days / seconds
        print(
            f"{vms:>7,} VMs, vectorised:   {rate:>12,.0f} VM-days/s ({seconds:.2f} s, goal < 30 s "
            f"at 100,000), {rate / loop_rate:6.0f} x the loop (goal >= 50 x); peak RSS "
            f"{peak_rss_mb():,.0f} MB (was {before:,.0f} MB); {result.jobs.height:,} jobs, "
            f"{int((result.jobs['duration_hours'] > WINDOW_HOURS).sum())} over 24 h"
        )


if __name__ == "__main__":
    main()
