"""Command line: ``python -m vmbackup plan FLEET [--policy POLICY.json] [--days 30] [--out F]``.

Prints a plan for a fleet: the monthly cost, jobs over the 24 h window, premium-space
violations before the first backup (S21), a restore estimate, and a staggering proposal (S13).
FLEET is a CSV in the sample-fleet schema, or ``az vm list -d`` JSON (with ``--disks``).

Only the standard library is imported here: polars, numpy and the models load when a command
runs, so ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import polars as pl


class Progress:
    """A one-line progress bar on a stream (stderr), redrawn in place."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.began = time.perf_counter()
        self.live = stream.isatty()  # redraw in place on a terminal; one line each otherwise

    def __call__(self, done: int, total: int, label: str = "") -> None:
        filled = round(self.width * done / max(total, 1))
        elapsed = time.perf_counter() - self.began
        bar = f"[{'#' * filled}{'.' * (self.width - filled)}]"
        self.stream.write(f"{bar} {done}/{total} {label:<30} {elapsed:6.1f} s")
        self.stream.write("\r" if self.live and done < total else "\n")
        self.stream.flush()


def _load_fleet(args: argparse.Namespace) -> pl.DataFrame:
    from pathlib import Path

    from vmbackup.data import read_azure_estate, read_fleet

    path = Path(args.fleet)
    if path.suffix.lower() == ".json":
        return read_azure_estate(path, args.disks, used_fraction=args.used_fraction)
    if args.disks:
        raise ValueError("--disks goes with an 'az vm list -d' JSON fleet, not a CSV")
    return read_fleet(path)


def plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run the ``plan`` command; return the exit code."""
    import math

    import polars as pl

    from vmbackup.capacity import premium_space_check
    from vmbackup.data import read_lag_profile, read_policies, read_policy, read_prices
    from vmbackup.fleet import fleet_plan, propose_stagger, simulate_fleet
    from vmbackup.restore import restore_plan, simulate_restore

    progress = Progress(err)
    steps = 6
    progress(0, steps, "reading inputs")
    fleet = _load_fleet(args)
    if args.policy:
        policy = read_policy(args.policy)
        fleet = fleet.with_columns(policy=pl.lit(policy.name))
        policies = {policy.name: policy}
    else:
        policies = read_policies()
    prices = read_prices(args.prices, region=args.region)
    lag = read_lag_profile()
    progress(1, steps, "planning")
    plan_ = fleet_plan(fleet, policies)
    progress(2, steps, f"simulating {plan_.vms * args.days:,} VM-days")
    result = simulate_fleet(
        plan_,
        lag_profile_hours=lag,
        days=args.days,
        prices=prices,
        seed=args.seed,
        redundancy=args.redundancy,
    )
    progress(3, steps, "premium space (S21)")
    space = premium_space_check(fleet)
    progress(4, steps, "restore estimate")
    restore = simulate_restore(restore_plan(fleet, placement="per-vm"))
    accounts = max(1, math.ceil(plan_.vms / 10))
    shared = simulate_restore(restore_plan(fleet, placement="balanced", accounts=accounts))
    progress(5, steps, "staggering (S13)")
    offsets, stagger = propose_stagger(
        plan_, lag_profile_hours=lag, days=min(args.days, 7), seed=args.seed
    )
    progress(6, steps, "done")

    jobs = result.jobs
    over = jobs.filter(~pl.col("met_window"))
    used_tb = float(plan_.pi_size_gb.sum()) / 1000
    print(
        f"Fleet: {plan_.vms} VMs, {plan_.disk_vm.size} disks to back up, {used_tb:,.1f} TB used",
        file=out,
    )
    print(
        f"Policies: {', '.join(sorted(set(fleet['policy'])))}; prices: {prices.region} "
        f"({prices.currency}, as of {prices.as_of}); vault storage {args.redundancy}",
        file=out,
    )
    worst = float(jobs["duration_hours"].max())  # type: ignore[arg-type]
    print(
        f"\nBackups over {args.days} days: {jobs.height:,} jobs, {over.height:,} over the 24 h "
        f"window (worst {worst:.1f} h); "
        f"peak {result.concurrency.max():.0f} transfers in flight",
        file=out,
    )
    print(f"\nCost per month ({prices.currency}):", file=out)
    for row in result.monthly.iter_rows(named=True):
        pi, vault = row["pi_fee_usd"], row["vault_storage_usd"]
        snapshots, total = row["snapshot_storage_usd"], row["total_usd"]
        print(
            f"  {row['month']:%Y-%m} ({row['days']:>2} days)  protected instances {pi:>12,.2f}  "
            f"vault {vault:>12,.2f}  snapshots {snapshots:>10,.2f}  total {total:>12,.2f}",
            file=out,
        )
    short = space.filter(pl.col("status") == "short")
    print(
        f"\nPremium space before the first backup (S21): {short.height} VMs short, "
        f"{short['shortfall_gb'].sum():,.0f} GB to free in all",
        file=out,
    )
    for row in short.head(5).iter_rows(named=True):
        print(f"  {row['vm_name']}: {row['advice']}", file=out)
    own_hours = float(restore["end_hours"].max())  # type: ignore[arg-type]
    shared_hours = float(shared["end_hours"].max())  # type: ignore[arg-type]
    print(
        f"\nRestore of every VM from the vault (S19, S20): {own_hours:.1f} h into one account "
        f"per VM; {shared_hours:.1f} h into {accounts} balanced accounts",
        file=out,
    )
    chosen = stagger.filter(pl.col("chosen")).row(0, named=True)
    base = stagger.row(0, named=True)
    if chosen["spread_minutes"]:
        print(
            f"\nStaggering (S13), over the first {min(args.days, 7)} days: spreading start times "
            f"over ±{chosen['spread_minutes']} min cuts the worst job from "
            f"{base['worst_hours']:.1f} h to {chosen['worst_hours']:.1f} h "
            f"and the peak from {base['peak_transfers']:.0f} to {chosen['peak_transfers']:.0f} "
            "transfers in flight",
            file=out,
        )
    else:
        print("\nStaggering (S13): no spread of start times shortens the worst job", file=out)
    if args.out:
        names = pl.Series("vm_name", plan_.vm_names)
        table = jobs.with_columns(
            vm_name=names.gather(jobs["vm"]), offset_hours=pl.Series(offsets)[jobs["vm"]]
        )
        table.write_parquet(args.out)
        print(f"\nWrote {table.height:,} jobs to {args.out}", file=out)
    return 0


def main(
    argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Entry point of ``python -m vmbackup``."""
    parser = argparse.ArgumentParser(prog="python -m vmbackup", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan", help="simulate a fleet's backups and print a plan")
    p.add_argument("fleet", help="fleet CSV (sample-fleet schema) or 'az vm list -d' JSON")
    p.add_argument("--disks", help="'az disk list' JSON, with a JSON fleet")
    p.add_argument(
        "--used-fraction",
        type=float,
        default=0.5,
        help="share of provisioned size taken as used, for JSON fleets (default 0.5)",
    )
    p.add_argument("--policy", help="a policy JSON ('az backup policy show') for every VM")
    p.add_argument("--days", type=int, default=30, help="days to simulate (default 30)")
    p.add_argument("--out", help="write every job to this Parquet file")
    p.add_argument("--prices", help="price CSV (default datasets/prices.csv)")
    p.add_argument("--region", default=None, help="region of the price table")
    p.add_argument("--redundancy", default="GRS", choices=["LRS", "ZRS", "GRS", "RA-GRS"])
    p.add_argument("--seed", type=int, default=0, help="seed of the churn draws")
    args = parser.parse_args(argv)
    try:
        return plan(args, out, err)
    except ValueError as error:
        err.write(f"\nerror: {error}\n")
        return 2
