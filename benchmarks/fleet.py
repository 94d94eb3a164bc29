"""Fleet planning at scale: speed and memory of the fleet simulation and of the command line.

Prints, each measured in this one run and against its goal (issues 7 and 16):

1. ``python -m vmbackup --help`` and an argument error: median wall time of 7 runs (goal
   < 150 ms);
2. the vectorised simulation against a straightforward per-VM Python loop of the same model (1,000
   VMs x 30 days, one vault) in VM-days per second: the median ratio of interleaved rounds, with
   the simulation on the same 1,000 VMs and on a 10,000-VM fleet (goal >= 50 x at fleet size);
3. ``propose_stagger`` against the straightforward way (one full ``simulate_fleet`` per
   candidate spread) on 100,000 VMs x 7 days: the median ratio of interleaved runs, and whether
   the two give the same table;
5. the bill over a 3-year horizon (``horizon_bill``: the vault in closed form, no jobs) next to
   the 30-day run (``simulate_fleet`` with its bill) on 100,000 VMs: wall time of each, median of
   3 interleaved rounds, and their ratio (goal: the 3 years < 3 x the 30-day run; issue 25);
4. ``python -m vmbackup plan FLEET`` (30 days) on the sample fleet scaled to 10,000, 100,000 and
   1,000,000 VMs, each in its own process: wall time, peak RSS (``os.wait4``) and the time of
   each stage (goal at 1,000,000 VMs: under 2 minutes and 12 GB), the real command throughout
   (the restore estimate's balanced placement is O(V log V), timed alone at the end).

Run: .venv/bin/python benchmarks/fleet.py
"""

from __future__ import annotations

import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vmbackup.data import read_fleet, read_lag_profile, read_policies, read_prices
from vmbackup.fleet import (
    BIN_HOURS,
    FLEET_START,
    FleetPlan,
    _churn,
    _schedule,
    fleet_plan,
    horizon_bill,
    propose_stagger,
    scale_fleet,
    simulate_fleet,
    stagger_offsets,
)
from vmbackup.restore import place
from vmbackup.transfer import DEFAULTS

GOAL_RATIO = 50
GOAL_CLI_SECONDS = 120
GOAL_CLI_RSS_GB = 12
GOAL_HELP_MS = 150
CLI_SIZES = (10_000, 100_000, 1_000_000)


def scaled_fleet(vms: int) -> pl.DataFrame:
    """The sample fleet repeated (with new VM names) to ``vms`` VMs."""
    sample = read_fleet()
    fleet = scale_fleet(sample, math.ceil(vms / sample["vm_name"].n_unique()))
    keep = fleet["vm_name"].unique(maintain_order=True)[:vms]
    return fleet.filter(pl.col("vm_name").is_in(keep.to_list()))


def loop_reference(plan: FleetPlan, lag: np.ndarray, days: int, capacity: float) -> list[float]:
    """The same model written as plain Python loops over VMs, days and disks (every VM of the
    sample runs daily; its start is its policy's run time on the plan's clock, from the
    schedule)."""
    churn = _churn(plan, days, 0, 0.5).tolist()
    clock_start = _schedule(plan, FLEET_START, days).base_hours.tolist()
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
            start = clock_start[vm] + 24 * day
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


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = run()
    return time.perf_counter() - began, result


def interleaved(
    rounds: int, slow: Callable[[], Any], fast: Callable[[], Any]
) -> tuple[list[float], list[float], Any, Any]:
    """Run ``slow`` then ``fast``, ``rounds`` times; their times [s] and last results."""
    slow_s, fast_s, slow_result, fast_result = [], [], None, None
    for _ in range(rounds):
        seconds, slow_result = timed(slow)
        slow_s.append(seconds)
        seconds, fast_result = timed(fast)
        fast_s.append(seconds)
    return slow_s, fast_s, slow_result, fast_result


def median_ratio(slow_s: list[float], fast_s: list[float]) -> float:
    return statistics.median(s / f for s, f in zip(slow_s, fast_s, strict=True))


def loop_against_vectorised(lag: np.ndarray, prices: Any) -> None:
    """VM-days per second of the loop (1,000 VMs: one vault) and of the vectorised simulation on
    1,000 and 10,000 VMs, run in turn; the ratio of each round, and their median. Both sides
    simulate the jobs only (the loop computes no bill); the bill's own time is printed apart."""
    days, rounds = 30, 9
    policies = read_policies()
    small, large = (
        fleet_plan(scaled_fleet(1000), policies),
        fleet_plan(scaled_fleet(10_000), policies),
    )
    loop_s, small_s, large_s, agree = [], [], [], float("nan")
    for _ in range(rounds):
        seconds, slow = timed(lambda: loop_reference(small, lag, days, 700.0))
        loop_s.append(seconds)
        for plan, runs in ((small, small_s), (large, large_s)):
            seconds, result = timed(
                lambda plan=plan: simulate_fleet(plan, lag_profile_hours=lag, days=days)
            )
            runs.append(seconds)
            if plan is small:
                agree = np.abs(result.jobs["duration_hours"].to_numpy() - np.asarray(slow)).max()
    print(f"\n2. Simulation x {days} days, {rounds} interleaved rounds (VM-days per second):")
    loop_rate = [small.vms * days / s for s in loop_s]
    print(
        f"   Python loop,  1,000 VMs: {statistics.median(loop_rate):>10,.0f}/s "
        f"(median {statistics.median(loop_s):.2f} s)"
    )
    for plan, runs in ((small, small_s), (large, large_s)):
        ratios = [plan.vms * days / s / rate for s, rate in zip(runs, loop_rate, strict=True)]
        ratio, median_s = statistics.median(ratios), statistics.median(runs)
        if plan is large:
            verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
            note = f"goal >= {GOAL_RATIO} x at fleet size: {verdict}"
        else:
            note = f"max difference from the loop {agree:.1e} h"
        print(
            f"   vectorised, {plan.vms:>6,} VMs: {plan.vms * days / median_s:>10,.0f}/s "
            f"(median {median_s * 1000:.0f} ms): median {ratio:.0f} x the loop "
            f"(rounds {', '.join(f'{r:.0f}' for r in ratios)}); {note}"
        )
    billed = [
        timed(lambda: simulate_fleet(large, lag_profile_hours=lag, days=days, prices=prices))[0]
        for _ in range(3)
    ]
    print(
        f"   with the bill per VM and meter, {large.vms:,} VMs: median "
        f"{statistics.median(billed) * 1000:.0f} ms (the jobs alone: "
        f"{statistics.median(large_s) * 1000:.0f} ms)"
    )


def stagger_against_full_runs(lag: np.ndarray) -> None:
    vms, days, rounds = 100_000, 7, 3
    plan = fleet_plan(scaled_fleet(vms), read_policies())
    spreads = (15, 30, 45, 60, 90, 120)

    def every_spread_in_full() -> list[tuple[int, float, int, float]]:
        rows = []
        for spread in (0, *spreads):
            offsets = stagger_offsets(plan, spread) if spread else np.zeros(plan.vms)
            result = simulate_fleet(plan, lag_profile_hours=lag, days=days, offsets_hours=offsets)
            rows.append(
                (
                    spread,
                    float(result.jobs["duration_hours"].max()),  # type: ignore[arg-type]
                    int(result.daily["over_window"].sum()),
                    float(result.concurrency.max()),
                )
            )
        return rows

    full_s, fast_s, rows, (_offsets, comparison) = interleaved(
        rounds,
        every_spread_in_full,
        lambda: propose_stagger(plan, lag_profile_hours=lag, days=days, spreads_minutes=spreads),
    )
    same = comparison.drop("chosen").rows() == rows
    print(
        f"\n3. propose_stagger, {vms:,} VMs x {days} days, 7 candidates, {rounds} interleaved "
        f"runs: {statistics.median(fast_s):.2f} s against {statistics.median(full_s):.2f} s for "
        f"a full simulate_fleet per candidate: median ratio {median_ratio(full_s, fast_s):.1f} x; "
        f"same table: {same}"
    )


STAGE = re.compile(r"(\d+)/(\d+) (.*?)\s+([\d.]+) s$")


def run_cli(csv: Path, vms: int) -> tuple[float, float, dict[str, float]]:
    """Wall time [s], peak RSS [GB] and stage times [s] of one CLI run in its own process."""
    command = [sys.executable, "-m", "vmbackup", "plan", str(csv)]
    out_path, err_path = csv.with_suffix(".out"), csv.with_suffix(".err")
    with out_path.open("w") as out_file, err_path.open("w") as err_file:
        began = time.perf_counter()
        child = subprocess.Popen(command, stdout=out_file, stderr=err_file)
        _pid, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage
        seconds = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    out, err = out_path.read_text(), err_path.read_text()
    if child.returncode or f"Fleet: {vms} VMs" not in out:
        raise RuntimeError(f"the CLI failed on {csv}:\n{out}\n{err}")
    marks = [m.groups() for line in err.splitlines() if (m := STAGE.search(line.strip()))]
    stages = {
        label.split(" ")[0]: float(marks[i + 1][3]) - float(at)
        for i, (_done, _total, label, at) in enumerate(marks[:-1])
    }
    return seconds, usage.ru_maxrss / 1024**2, stages  # ru_maxrss is in KiB on Linux


def cli_at_scale() -> None:
    print(
        f"\n4. python -m vmbackup plan FLEET (30 days), one process per fleet "
        f"(goal at 1,000,000 VMs: < {GOAL_CLI_SECONDS} s and < {GOAL_CLI_RSS_GB} GB):"
    )
    sample = read_fleet()
    with tempfile.TemporaryDirectory() as folder:
        for vms in CLI_SIZES:
            csv = Path(folder) / f"fleet_{vms}.csv"
            scale_fleet(sample, vms // sample["vm_name"].n_unique()).write_csv(csv)
            seconds, rss_gb, stages = run_cli(csv, vms)
            parts = ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
            verdict = ""
            if vms == CLI_SIZES[-1]:
                met = seconds < GOAL_CLI_SECONDS and rss_gb < GOAL_CLI_RSS_GB
                verdict = f"; goal {'met' if met else 'NOT met'}"
            print(
                f"   {vms:>9,} VMs: {seconds:6.1f} s, peak RSS {rss_gb:5.2f} GB{verdict}\n"
                f"              stages [s]: {parts}"
            )
            csv.unlink()
    print("   the restore estimate's balanced placement alone (restore.place, O(V log V)):")
    disks = scaled_fleet(100_000).filter(pl.col("disk_role") != "temp")
    per_vm = disks.group_by("vm_name", maintain_order=True).len()["len"].to_numpy()
    last = 0.0
    for vms in (25_000, 50_000, 100_000):
        last, _ = timed(lambda vms=vms: place(per_vm[:vms], "balanced", math.ceil(vms / 10)))
        print(f"   {vms:>9,} VMs into {math.ceil(vms / 10):,} accounts: {last:6.2f} s")


def horizon_against_month(lag: np.ndarray, prices: Any, vms: int = 100_000) -> None:
    """5. A 3-year bill (closed-form vault) next to the 30-day simulation, on ``vms`` VMs."""
    plan = fleet_plan(scaled_fleet(vms), read_policies())
    month_s, years_s = [], []
    result = None
    for _ in range(3):
        seconds, result = timed(
            lambda: simulate_fleet(plan, lag_profile_hours=lag, days=30, prices=prices)
        )
        month_s.append(seconds)
        churn = result.mean_churn_gb
        seconds, _ = timed(lambda churn=churn: horizon_bill(plan, churn, prices, years=3))
        years_s.append(seconds)
    month, years = statistics.median(month_s), statistics.median(years_s)
    print(f"\n5. Bill over years on {vms:,} VMs (median of 3 interleaved rounds):")
    print(f"   30-day run (simulate_fleet, jobs and bill): {month:6.2f} s")
    print(
        f"   3-year horizon (horizon_bill, 36 months):   {years:6.2f} s  = "
        f"{years / month:.2f} x the 30-day run (goal < 3 x)"
    )


def startup() -> None:
    def wall_ms(argv: list[str]) -> float:
        runs = []
        for _ in range(7):
            began = time.perf_counter()
            subprocess.run([sys.executable, *argv], capture_output=True, check=False)
            runs.append((time.perf_counter() - began) * 1000)
        return statistics.median(runs)

    bare = wall_ms(["-c", "pass"])
    helped = wall_ms(["-m", "vmbackup", "--help"])
    wrong = wall_ms(["-m", "vmbackup", "plan", "fleet.csv", "--days", "x"])
    worst = max(helped, wrong)
    print(
        f"1. Start-up, median of 7 runs: python -m vmbackup --help {helped:.0f} ms, an argument "
        f"error {wrong:.0f} ms (python alone {bare:.0f} ms); goal < {GOAL_HELP_MS} ms: "
        f"{'met' if worst < GOAL_HELP_MS else 'NOT met'}"
    )


def main() -> None:
    lag, prices = read_lag_profile(), read_prices()
    startup()
    loop_against_vectorised(lag, prices)
    stagger_against_full_runs(lag)
    horizon_against_month(lag, prices)
    cli_at_scale()


if __name__ == "__main__":
    main()
