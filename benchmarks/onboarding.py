"""Onboarding, eligibility and the plan report at scale (issue 13): times measured in this one run,
against their goals.

Prints:

1. ``plan_onboarding`` (first backups in waves) on the 200-VM sample and on the sample scaled to
   10,000 and 100,000 VMs (1,000 VMs a vault): median wall time of 3 runs, the days until every
   VM is protected and the lower bound no plan beats; goal: 100,000 VMs in under 10 s;
2. how the time grows: seconds per VM at 100,000 over seconds per VM at 10,000 (goal: at most
   2, i.e. close to linear, since the greedy steps through each vault's VMs, every vault at once);
3. the same with ``trigger="on-demand"`` (the plan also picks each first backup's hour: 24
   times the candidates), one run each, against its own goal (100,000 VMs in under 30 s) and
   the days it saves;
4. ``scan_estate`` (eligibility) on 100,000 VMs;
5. ``plan_report`` on the sample's results (drawing its figures): wall time.

Run: .venv/bin/python benchmarks/onboarding.py
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from vmbackup.data import read_fleet, read_lag_profile, read_policies
from vmbackup.eligibility import scan_estate
from vmbackup.fleet import fleet_plan, scale_fleet
from vmbackup.onboarding import plan_onboarding
from vmbackup.report import plan_report

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

GOAL_SECONDS_100K = 10.0
GOAL_ON_DEMAND_SECONDS_100K = 30.0
GOAL_GROWTH = 2.0
SIZES = (200, 10_000, 100_000)


def scaled(vms: int) -> pl.DataFrame:
    sample = read_fleet()
    fleet = scale_fleet(sample, math.ceil(vms / sample["vm_name"].n_unique()))
    keep = fleet["vm_name"].unique(maintain_order=True)[:vms]
    return fleet.filter(pl.col("vm_name").is_in(keep.to_list()))


def median_time(run: Callable[[], Any], rounds: int = 3) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(rounds):
        began = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main() -> None:
    policies, lag = read_policies(), read_lag_profile()
    print("1. plan_onboarding (median of 3 runs):")
    per_vm: dict[int, float] = {}
    for vms in SIZES:
        plan = fleet_plan(scaled(vms), policies)
        seconds, result = median_time(
            lambda plan=plan: plan_onboarding(plan, lag_profile_hours=lag)
        )
        per_vm[vms] = seconds / vms
        verdict = ""
        if vms == SIZES[-1]:
            verdict = f"; goal < {GOAL_SECONDS_100K:g} s: " + (
                "met" if seconds < GOAL_SECONDS_100K else "NOT met"
            )
        print(
            f"   {vms:>7,} VMs: {seconds:6.2f} s ({vms / seconds:>9,.0f} VMs/s); every VM "
            f"protected after {result.days_to_protected} days (lower bound "
            f"{result.lower_bound_days}){verdict}"
        )
    growth = per_vm[SIZES[-1]] / per_vm[SIZES[-2]]
    print(
        f"2. seconds per VM at {SIZES[-1]:,} over {SIZES[-2]:,} VMs: {growth:.2f} "
        f"(goal <= {GOAL_GROWTH:g}: {'met' if growth <= GOAL_GROWTH else 'NOT met'})"
    )
    print("3. plan_onboarding(trigger='on-demand'), one run each:")
    for vms in SIZES:
        plan = fleet_plan(scaled(vms), policies)
        seconds, result = median_time(
            lambda plan=plan: plan_onboarding(plan, lag_profile_hours=lag, trigger="on-demand"),
            rounds=1,
        )
        verdict = ""
        if vms == SIZES[-1]:
            verdict = f"; goal < {GOAL_ON_DEMAND_SECONDS_100K:g} s: " + (
                "met" if seconds < GOAL_ON_DEMAND_SECONDS_100K else "NOT met"
            )
        print(
            f"   {vms:>7,} VMs: {seconds:6.2f} s ({vms / seconds:>9,.0f} VMs/s); every VM "
            f"protected after {result.days_to_protected} days (lower bound "
            f"{result.lower_bound_days}){verdict}"
        )
    fleet = scaled(SIZES[-1])
    seconds, table = median_time(lambda: scan_estate(fleet, policies=policies))
    print(f"4. scan_estate, {table.height:,} VMs: {seconds:.2f} s")
    from report_inputs import sample_inputs

    inputs = sample_inputs()
    seconds, page = median_time(lambda: plan_report(**inputs))
    print(f"5. plan_report on the sample: {seconds:.2f} s, {len(page) / 1e6:.2f} MB of HTML")


if __name__ == "__main__":
    main()
