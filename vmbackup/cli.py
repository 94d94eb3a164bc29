"""Command line: ``python -m vmbackup plan FLEET ...``, ``lint POLICY ...``, ``reconcile ...``.

Prints a plan for a fleet (``vmbackup.planning.EstatePlan``): the estate, its policies and
every assumption that fills a gap, the jobs on the policies' schedules against the 24 h window,
the monthly cost, premium-space violations before the first backup (S21), a restore estimate,
and a staggering proposal (S13). FLEET is a CSV in the sample-fleet schema, or
``az vm list -d`` JSON (with ``--disks``), optionally with the vault's backup items
(``--items``) and policies (``--policy``, repeatable).

Only the standard library is imported here: polars, numpy and the models load when a command
runs, so ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

if TYPE_CHECKING:
    from vmbackup.planning import EstatePlan
    from vmbackup.policy import Policy


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


def plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run the ``plan`` command: build the plan (``vmbackup.planning``), print it, write the
    files asked for; return the exit code."""
    from vmbackup.planning import PlanOptions, build_plan, parse_clock

    options = PlanOptions(
        fleet=args.fleet,
        disks=args.disks,
        items=args.items,
        policies=tuple(args.policy or ()),
        used_fraction=args.used_fraction,
        used_sizes=args.used_sizes,
        vm_settings=args.vm_settings,
        churn_class=args.churn_class,
        start_hour=None
        if args.start_time is None
        else parse_clock(args.start_time, "--start-time"),
        days=args.days,
        years=args.years,
        overlap=args.overlap,
        seed=args.seed,
        prices=args.prices,
        region=args.region,
        redundancy=args.redundancy,
        time_zone=args.time_zone,
        history=tuple(args.history or ()),
        restore_option=args.restore_option,
        restore_point_age_days=args.restore_age,
        restore_accounts=args.restore_accounts,
        space_rules=args.space_rules,
        onboarding=args.onboarding,
    )
    estate = build_plan(options, progress=Progress(err))
    print_plan(estate, out)
    if args.bill_out:
        lines = estate.bill_lines()
        lines.write_csv(args.bill_out)
        print(
            f"\nWrote {lines.height:,} invoice lines (per VM and meter) to {args.bill_out}",
            file=out,
        )
    if args.report:
        from vmbackup.report import estate_report

        Path(args.report).write_text(estate_report(estate), encoding="utf-8")
        print(f"\nWrote the plan as one HTML page to {args.report}", file=out)
    if args.rto_out:
        rto = estate.rto_table()
        rto.write_csv(args.rto_out)
        print(f"\nWrote the RTO of {rto.height:,} VMs to {args.rto_out}", file=out)
    if args.out:
        table = estate.jobs_table()
        table.write_parquet(args.out)
        print(f"\nWrote {table.height:,} jobs to {args.out}", file=out)
    return 0


def rto_lines(estate: EstatePlan, slowest: int = 3) -> list[str]:
    """The restore estimate as text: the RTO of every protected VM restored at once."""
    import polars as pl

    own, shared, options = estate.restore_per_vm, estate.restore_shared, estate.options
    ok = own.filter(pl.col("status") == "ok")
    age = options.restore_point_age_days
    lines = [
        f"\nRestore of every protected VM at once (RTO: until each VM is usable; R1, R2, S19, "
        f"S20): {options.restore_option} from a point {age:g} day{'s' if age != 1 else ''} old"
    ]
    if ok.height:
        snapshots = int((ok["tier"] == "snapshot").sum())
        shared_ok = shared.filter(pl.col("status") == "ok")
        accounts = estate.restore_accounts
        median, last = float(ok["rto_hours"].median()), float(ok["rto_hours"].max())  # type: ignore[arg-type]
        shared_median = float(shared_ok["rto_hours"].median())  # type: ignore[arg-type]
        shared_last = float(shared_ok["rto_hours"].max())  # type: ignore[arg-type]
        lines.append(
            f"  into one storage account per VM: median {median:.1f} h, last VM "
            f"{last:.1f} h; "
            + (
                "every VM from its snapshot (Instant Restore; a point older than the policy's "
                "Instant Restore days comes from the vault: try --restore-age 30)"
                if snapshots == ok.height
                else "every VM from the vault"
                if snapshots == 0
                else f"{snapshots} of {ok.height} VMs from their snapshots (Instant Restore), "
                "the others from the vault"
            )
        )
        lines.append(
            f"  into {accounts} balanced account{'s' if accounts != 1 else ''}: median "
            f"{shared_median:.1f} h, last VM {shared_last:.1f} h"
        )
        for row in ok.sort("rto_hours", descending=True).head(slowest).iter_rows(named=True):
            alone = row.get("alone_hours")
            lines.append(
                f"  {row['vm_name']}: {row['rto_hours']:.1f} h from the {row['tier']} tier "
                f"({row['data_gb']:,.0f} GB"
                + (f"; {alone:.1f} h were it restored alone" if alone is not None else "")
                + ")"
            )
    blocked = own.filter(pl.col("status") == "blocked")
    if blocked.height:
        reasons = blocked.group_by("findings").len().sort("len", descending=True)
        first = reasons.row(0, named=True)
        lines.append(
            f"  blocked: {blocked.height} VM{'s' if blocked.height != 1 else ''} cannot restore "
            f"this way; {first['len']} because {first['findings']}"
        )
    return lines


#: Characters per line of the printed plan (JupyterLab shows about 120 at 1280 px).
PLAN_WIDTH = 116


def horizon_lines(estate: EstatePlan) -> list[str]:
    """The bill over ``--years``: year totals, steady monthly cost, when the vault stops
    growing (S28, A32); nothing without ``--years``."""
    summary, options = estate.horizon, estate.options
    if summary is None:
        return []
    currency = estate.prices.currency
    model = {
        "trace": "trace-fitted overlap, A32",
        "random": "random overlap, A20",
        "sequential": "sequential overlap: an UPPER BOUND, no change ever overlaps",
    }[options.overlap]
    lines = [
        f"\nOver {options.years} years ({currency}; vault in closed form, {model}; "
        "churn as simulated, no jobs simulated beyond the days above):"
    ]
    if summary.first_year_usd is not None:
        lines.append(f"  first year   {summary.first_year_usd:>14,.2f}")
    if summary.three_year_usd is not None:
        lines.append(f"  three years  {summary.three_year_usd:>14,.2f}")
    if summary.vault_stops_growing is not None and summary.steady_month_usd is not None:
        lines.append(
            f"  the vault stops growing in {summary.vault_stops_growing:%Y-%m}; steady state "
            f"{summary.steady_month_usd:,.2f} a month, vault {summary.final_vault_gb:,.0f} GB"
        )
    else:
        lines.append(
            f"  the vault is still growing after {options.years} years "
            f"({summary.final_vault_gb:,.0f} GB; last month {summary.last_month_usd:,.2f})"
        )
    return lines


def eligibility_lines(estate: EstatePlan) -> list[str]:
    """The eligibility scan as text: who can be protected, under which policy type, why not."""
    import polars as pl

    scan = estate.eligibility
    if scan is None or not scan.height:
        return []
    refused = scan.filter(~pl.col("protectable"))
    by_type = scan.filter(pl.col("protectable")).group_by("policy_type").len().sort("policy_type")
    kinds = ", ".join(f"{row['len']} {row['policy_type']}" for row in by_type.iter_rows(named=True))
    lines = [
        f"\nEligibility (G8, G11, X1): {scan.height - refused.height} of {scan.height} VMs can be "
        f"protected (simplest policy type: {kinds or 'none'})"
    ]
    for row in refused.head(5).iter_rows(named=True):
        lines.append(f"  {row['vm_name']}: cannot be protected: {row['reasons']}")
    wrong = scan.filter(pl.col("protectable") & (pl.col("assigned_ok") == False))  # noqa: E712
    for row in wrong.head(5).iter_rows(named=True):
        lines.append(
            f"  {row['vm_name']}: "
            + (row["reasons"] or f"its policy {row['assigned_policy']} cannot protect it")
        )
    risky = scan.filter(pl.col("risks").fill_null("") != "")
    if risky.height:
        first = risky.row(0, named=True)
        lines.append(f"  {risky.height} VMs at risk, e.g. {first['vm_name']}: {first['risks']}")
    return lines


def onboarding_lines(estate: EstatePlan) -> list[str]:
    """The first backups' wave plan as text (S12, S14, S15, S23)."""
    plan, fast = estate.onboarding, estate.onboarding_on_demand
    if plan is None:
        return []
    todo = int((plan.vms["kind"] != "protected").sum())
    if not todo:
        return ["\nOnboarding: every VM already has its first recovery point"]
    whose = "pending by the backup items" if estate.options.items else "of the whole estate"
    lines = [
        f"\nOnboarding (S12, S14, S15): first backups {whose}, {todo} VMs: every VM protected "
        f"after {plan.days_to_protected} day(s) at the policies' times (no plan does it in "
        f"fewer than {plan.lower_bound_days})"
        + (
            f"; {fast.days_to_protected} day(s) with on-demand first backups spread over the "
            "hours the vault is free"
            if fast is not None
            else ""
        ),
        f"  {plan.over_24h.height} first backup(s) take more than 24 h; the nightly jobs keep "
        f"their window meanwhile (longest at mean churn {plan.worst_steady_hours:.1f} h); "
        "billing starts per VM at its first success (S23)",
    ]
    waves = plan.waves.head(5)
    lines.append(
        "  waves (day: VMs enabled, TB copied): "
        + "; ".join(
            f"{row['day']}: {row['vms']}, {row['first_backup_gb'] / 1000:.1f}"
            for row in waves.iter_rows(named=True)
        )
        + (" ..." if plan.waves.height > 5 else "")
    )
    return lines


def _utc_text(policy: Policy) -> str:
    """``' = 21:30 UTC all year (G13, offset of 2026-01-01)'``: the UTC time Azure keeps for a
    policy's run time, fixed by the offset of its stored date (else the fleet's default first
    day, A7); empty for UTC, or when the zone is not one (the linter reports the rest)."""
    from vmbackup.fleet import FLEET_START
    from vmbackup.planning import format_hours
    from vmbackup.timezones import iana_zone, utc_offset_hours

    try:
        zone = iana_zone(policy.time_zone)
    except ValueError:
        return ""
    if zone in ("Etc/UTC", "UTC"):
        return ""
    on = policy.schedule_reference_date or FLEET_START
    utc = policy.run_hour - utc_offset_hours(zone, on, policy.run_hour)[0]
    assumed = "" if policy.schedule_reference_date else ", no date stored: A7"
    return f" = {format_hours(utc)} UTC all year (G13, offset of {on:%Y-%m-%d}{assumed})"


def print_plan(estate: EstatePlan, out: TextIO, width: int | None = None) -> None:
    """The plan as text: the estate and its assumptions, then each section. With ``width``
    (a notebook: :data:`PLAN_WIDTH`), lines longer than that wrap between words, their
    continuation indented, so no word is cut in two; the command line leaves wrapping to the
    terminal (one line per fact, for grep)."""
    import io
    import textwrap

    text = io.StringIO()
    _print_plan(estate, text)
    if width is None:
        out.write(text.getvalue())
        return
    for line in text.getvalue().split("\n")[:-1]:
        indent = " " * (len(line) - len(line.lstrip(" ")))
        wrapped = textwrap.wrap(
            line,
            width=width,
            subsequent_indent=indent + "    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        out.write("\n".join(wrapped or [""]) + "\n")


def _print_plan(estate: EstatePlan, out: TextIO) -> None:
    import polars as pl

    from vmbackup.capacity import space_summary
    from vmbackup.planning import policy_lines

    plan, result, prices, options = estate.plan, estate.result, estate.prices, estate.options
    jobs = result.jobs
    print(
        f"Fleet: {plan.vms} VMs, {plan.disk_vm.size} disks to back up, {estate.used_tb:,.1f} TB "
        "used",
        file=out,
    )
    used = [p.name for i, p in enumerate(plan.policies) if (plan.policy_index == i).any()]
    print(
        f"Policies: {', '.join(sorted(used)) or 'none in use'}; prices: {prices.region} "
        f"({prices.currency}, {prices.dated()}); vault storage {options.redundancy}",
        file=out,
    )
    for line in policy_lines(estate.policies, used, options.start):
        print(f"  {line}", file=out)
    if estate.unprotected.height:
        names = ", ".join(
            f"{row['vm_name']} ({row['protection_state']})"
            for row in estate.unprotected.head(10).iter_rows(named=True)
        )
        more = estate.unprotected.height - 10
        print(
            f"Not protected, left out of the plan ({estate.unprotected.height}): {names}"
            + (f" and {more} more" if more > 0 else ""),
            file=out,
        )
    if estate.unmatched_items.height:
        names = ", ".join(
            f"{row['vm_name']} ({row['protection_state']})"
            for row in estate.unmatched_items.head(10).iter_rows(named=True)
        )
        print(
            f"Backup items with no VM in the estate ({estate.unmatched_items.height}): {names}; "
            "data kept in the vault is still billed (S24)",
            file=out,
        )
    print("Assumptions (what fills the gaps in the inputs):", file=out)
    for assumption in estate.assumptions:
        print(f"  {assumption}", file=out)
    if estate.fit is not None:
        from vmbackup.calibrate import describe_fit

        print("Fitted from the estate's job history (H1, H2):", file=out)
        for line in describe_fit(estate.fit):
            print(f"  {line}", file=out)

    for line in eligibility_lines(estate) + onboarding_lines(estate):
        print(line, file=out)

    first = int(jobs["first_backup"].sum()) if jobs.height else 0
    snapshots = int(jobs["snapshots"].sum()) if jobs.height else 0
    print(
        f"\nBackups over {options.days} days: {jobs.height:,} jobs, {estate.jobs_over_window:,} "
        f"over the 24 h window (worst {estate.worst_hours:.1f} h); "
        f"peak {result.concurrency.max():.0f} transfers in flight; {snapshots:,} snapshots"
        + (f"; {first:,} first backups (S12)" if first else ""),
        file=out,
    )
    print(f"\nCost per month ({prices.currency}):", file=out)
    for row in result.monthly.iter_rows(named=True):
        pi, vault = row["pi_fee_usd"], row["vault_storage_usd"]
        snaps, total = row["snapshot_storage_usd"], row["total_usd"]
        print(
            f"  {row['month']:%Y-%m} ({row['days']:>2} days)  protected instances {pi:>12,.2f}  "
            f"vault {vault:>12,.2f}  snapshots {snaps:>10,.2f}  total {total:>12,.2f}",
            file=out,
        )
    for line in horizon_lines(estate):
        print(line, file=out)
    if result.meters is not None:
        print(f"  by invoice meter (P7; {prices.currency}):", file=out)
        for row in result.meters.iter_rows(named=True):
            print(
                f"    {row['month']:%Y-%m}  {row['meter']:<32} quantity {row['quantity']:>16,.2f}"
                f"  cost {row['cost']:>14,.2f}",
                file=out,
            )
    space = estate.premium_space
    summary = space_summary(space, estate.options.space_rules)
    rule = (
        "S21, the seed's rule: every VM with premium disks"
        if summary.rules == "seed"
        else "G15, today's rule: unmanaged premium disks, per storage account"
    )
    print(
        f"\nPremium space before the first backup ({rule}): {summary.sentence()}",
        file=out,
    )
    if summary.rules == "today" and summary.checked:
        shown = ", ".join(summary.checked[:10]) + (", ..." if len(summary.checked) > 10 else "")
        print(f"  checked: {shown}", file=out)
    if summary.managed_exempt:
        print(
            f"  {summary.managed_exempt:,} VM{'' if summary.managed_exempt == 1 else 's'} on "
            "managed premium disks: not applicable (G15: "
            "managed disks have no storage account to fill)",
            file=out,
        )
    short = space.filter(pl.col("status") == "short") if space.height else space
    for row in short.head(5).iter_rows(named=True):
        print(f"  {row['vm_name']}: {row['advice']}", file=out)
    unknown = estate.premium_unknown
    if unknown.height:
        print(
            f"  {unknown.height} premium VMs not checked: their used size is assumed; each is "
            "short if more than half its premium allocation is used, e.g. "
            + ", ".join(
                f"{row['vm_name']} above {row['short_above_gb']:,.0f} GB"
                for row in unknown.head(3).iter_rows(named=True)
            ),
            file=out,
        )
    if estate.restore_per_vm.height:
        for line in rto_lines(estate):
            print(line, file=out)
    stagger = estate.stagger
    chosen = stagger.filter(pl.col("chosen")).row(0, named=True)
    base = stagger.row(0, named=True)
    if chosen["spread_minutes"]:
        print(
            f"\nStaggering (S13), over the first {estate.stagger_days} days: spreading start "
            f"times over ±{chosen['spread_minutes']} min cuts the worst job from "
            f"{base['worst_hours']:.1f} h to {chosen['worst_hours']:.1f} h "
            f"and the peak from {base['peak_transfers']:.0f} to {chosen['peak_transfers']:.0f} "
            "transfers in flight",
            file=out,
        )
    else:
        print("\nStaggering (S13): no spread of start times shortens the worst job", file=out)


def lint(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run the ``lint`` command: 0 when every policy is clean, 1 with findings."""
    from vmbackup.data import read_estate_disks, read_lag_profile, read_policy_file, read_prices
    from vmbackup.lint import enhanced_whatif, lint_estate, lint_policy

    if bool(args.estate) != bool(args.disks):
        raise ValueError("--estate and --disks go together ('az vm list -d' and 'az disk list')")
    disks = read_estate_disks(args.estate, args.disks) if args.estate else None
    lag = read_lag_profile()
    prices = read_prices(region=args.region)
    findings = 0
    for path in args.policies:
        for sourced in read_policy_file(path, enforce=False):
            policy = sourced.policy
            where = f" [{sourced.where}]" if sourced.where else ""
            when = f"{int(policy.run_hour):02d}:{round(policy.run_hour % 1 * 60):02d}"
            print(
                f"{Path(path).name}{where}: {policy.name} ({policy.policy_type} "
                f"{policy.frequency} at {when} {policy.time_zone}{_utc_text(policy)}, "
                f"{sourced.shape})",
                file=out,
            )
            found = lint_policy(policy, lag_profile_hours=lag)
            if disks is not None:
                found += lint_estate(policy, disks)
            for finding in found:
                field = sourced.paths.get(finding.field, finding.field)
                print(
                    f"  {finding.severity:<8} {field}: {finding.value!r}: {finding.allowed} "
                    f"({finding.item}, {finding.rule})",
                    file=out,
                )
            if not found:
                print("  clean: Azure accepts it and no risk was found", file=out)
            findings += len(found)
            if policy.policy_type == "standard" and args.whatif:
                table = enhanced_whatif(policy, prices=prices)
                print(
                    f"  what-if, moving to Enhanced (a 100 GB VM, 2 GB changed a day; "
                    f"{prices.currency}/month; vault on 2027-12-31):",
                    file=out,
                )
                for row in table.iter_rows(named=True):
                    print(
                        f"    {row['policy']:<26} snapshots {row['snapshots_kept']:>3} "
                        f"{row['snapshot_gb']:>7.1f} GB {row['snapshot_usd_per_month']:>7.2f}  "
                        f"vault points {row['vault_points']:>4} {row['vault_gb']:>7.1f} GB "
                        f"{row['vault_usd_per_month']:>7.2f}  RPO {row['rpo_hours']:g} h",
                        file=out,
                    )
    return 1 if findings else 0


def reconcile(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``reconcile``: modelled against invoiced cost per VM, meter and month (H1-H3); exit
    status 0 when no difference is above the tolerances, 1 with differences."""
    import polars as pl

    from vmbackup.calibrate import describe_fit, fit_history
    from vmbackup.data import read_lag_profile, read_policies, read_policy, read_prices
    from vmbackup.planning import read_estate
    from vmbackup.reconcile import describe_reconciliation
    from vmbackup.reconcile import reconcile as reconcile_bill
    from vmbackup.records import read_cost_export, read_history

    fleet = read_estate(args.fleet, args.disks, used_fraction=args.used_fraction)
    if args.policy:
        policy = read_policy(args.policy)
        fleet = fleet.with_columns(policy=pl.lit(policy.name))
        policies = {policy.name: policy}
    else:
        policies = read_policies()
    costs = read_cost_export(args.costs)
    prices = read_prices(args.prices, region=args.region, currency=str(costs["currency"][0]))
    fit = history = None
    if args.history:
        history = read_history(args.history)
        for line in history.sources:
            print(f"Read {line}", file=out)
        fit = fit_history(
            history.jobs,
            fleet,
            lag_profile_hours=read_lag_profile(),
            utc_offset_hours=args.utc_offset,
        )
        for line in describe_fit(fit):
            print(line, file=out)
        print(file=out)
    result = reconcile_bill(
        fleet,
        policies,
        prices,
        costs,
        fit=fit,
        items=history.items if history is not None else None,
        storage=history.storage if history is not None else None,
        redundancy=args.redundancy,
        protected_since=args.protected_since,
        relative_tolerance=args.tolerance,
        absolute_tolerance=args.min_difference,
    )
    for line in describe_reconciliation(result, top=args.top):
        print(line, file=out)
    if args.out:
        result.lines.write_csv(args.out)
        print(f"\nWrote {result.lines.height:,} lines (month, VM, meter) to {args.out}", file=out)
    return 1 if result.findings.height else 0


def prices(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``prices import FILE...``: Retail Prices API JSON to price-table CSV rows (P7)."""
    from vmbackup.data import read_retail_prices

    found = read_retail_prices(args.files)
    print(
        f"{found.rows.height} price rows from {len(args.files)} file(s); "
        f"{found.reservations} reservation rows rejected (P7), {found.skipped} other meters "
        "skipped",
        file=err,
    )
    if args.out:
        found.rows.write_csv(args.out)
        print(f"wrote {args.out}", file=err)
    else:
        out.write(found.rows.write_csv())
    return 0


def main(
    argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Entry point of ``python -m vmbackup``."""
    parser = _Parser(prog="python -m vmbackup", description=__doc__.split("\n")[0], err=err)
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (for a bug report)"
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_sub(err))
    p = commands.add_parser("plan", help="simulate a fleet's backups and print a plan")
    p.add_argument("fleet", help="fleet CSV (sample-fleet schema) or 'az vm list -d' JSON")
    p.add_argument("--disks", help="'az disk list' JSON, with a JSON fleet")
    p.add_argument(
        "--items",
        help="'az backup item list' JSON: each VM's policy and protection (VMs without an "
        "item are not protected)",
    )
    p.add_argument(
        "--policy",
        action="append",
        help="a policy JSON file ('az backup policy show' or 'list', REST, Terraform); repeat "
        "for several; one policy in all applies to every protected VM",
    )
    p.add_argument(
        "--used-fraction",
        type=float,
        default=0.5,
        help="share of provisioned size taken as used where nothing says, for JSON fleets "
        "(default 0.5, an assumption printed in the plan)",
    )
    p.add_argument(
        "--used-sizes", help="CSV of measured used sizes: disk_name, used_gb (and vm_name)"
    )
    p.add_argument(
        "--restore-option",
        default="create-vm",
        choices=["create-vm", "restore-disks", "replace-disks", "cross-region", "file-recovery"],
        help="the restore the RTO estimate assumes (default create-vm)",
    )
    p.add_argument(
        "--restore-age",
        type=float,
        default=1.0,
        metavar="DAYS",
        help="age of the recovery point restored [days] (default 1: last night's)",
    )
    p.add_argument(
        "--restore-accounts",
        type=int,
        default=None,
        metavar="N",
        help="target storage accounts of the shared RTO estimate (default one per 10 VMs)",
    )
    p.add_argument(
        "--report",
        metavar="FILE.html",
        help="write the whole plan as one self-contained HTML page (figures embedded)",
    )
    p.add_argument(
        "--no-onboarding",
        dest="onboarding",
        action="store_false",
        help="skip the first backups' wave plan (quicker for very large estates)",
    )
    p.add_argument(
        "--rto-out", help="write each VM's RTO (one account per VM, and shared) to this CSV"
    )
    p.add_argument(
        "--history",
        nargs="+",
        metavar="FILE",
        help="the estate's job history ('az backup job list' JSON, Backup report CSVs): plan "
        "with each VM's fitted churn and throughput and the fitted lag",
    )
    p.add_argument(
        "--vm-settings",
        help="CSV of per-VM settings: vm_name and any of churn_class, churn_gb_per_day, "
        "throughput_mb_s_per_disk, start_time (HH:MM)",
    )
    p.add_argument(
        "--churn-class",
        choices=["low", "moderate", "high"],
        help="churn class of every VM (P6); --vm-settings wins",
    )
    p.add_argument(
        "--start-time",
        help="start every VM at HH:MM in its policy's time zone instead of the policy's run "
        "time (a what-if); --vm-settings wins",
    )
    p.add_argument(
        "--time-zone",
        default="UTC",
        help="the plan's clock: times printed and the lag profile's hours (default UTC)",
    )
    p.add_argument(
        "--space-rules",
        choices=["today", "seed"],
        default="today",
        help="premium space before the first backup: 'today' (default, G15: unmanaged premium "
        "disks, per storage account) or 'seed' (S21: every VM with premium disks)",
    )
    p.add_argument("--days", type=int, default=30, help="days to simulate (default 30)")
    p.add_argument(
        "--years",
        type=int,
        help="also bill the estate over 1 to 10 years (the vault in closed form, no jobs "
        "simulated): steady monthly cost, year totals, when the vault stops growing",
    )
    p.add_argument(
        "--overlap",
        default="trace",
        choices=("trace", "random", "sequential"),
        help="how several days' changes overlap in vault points: trace (default, fitted on the "
        "block trace, A32), random, or sequential (no overlap: an upper bound)",
    )
    p.add_argument("--out", help="write every job to this Parquet file")
    p.add_argument(
        "--bill-out", help="write the bill per month, VM and invoice meter to this CSV file"
    )
    p.add_argument("--prices", help="price CSV (default datasets/prices.csv)")
    p.add_argument("--region", default=None, help="region of the price table")
    p.add_argument("--redundancy", default="GRS", choices=["LRS", "ZRS", "GRS", "RA-GRS"])
    p.add_argument("--seed", type=int, default=0, help="seed of the churn draws")
    q = commands.add_parser(
        "lint",
        help="check policies as Azure would (exit 0 clean, 1 findings, 2 unreadable input)",
    )
    q.add_argument(
        "policies", nargs="+", help="policy JSON: az/ARM, REST body, or 'terraform show -json'"
    )
    q.add_argument("--estate", help="'az vm list -d' JSON: check which VMs each policy can protect")
    q.add_argument("--disks", help="'az disk list' JSON, with --estate")
    q.add_argument("--region", default=None, help="region of the price table (what-if)")
    q.add_argument(
        "--no-whatif",
        dest="whatif",
        action="store_false",
        help="leave out the Standard-to-Enhanced what-if",
    )
    r = commands.add_parser("prices", help="price-table tools")
    price_commands = r.add_subparsers(dest="action", required=True)
    imp = price_commands.add_parser(
        "import",
        help="turn saved Retail Prices API JSON (Items pages) into rows of datasets/prices.csv",
    )
    imp.add_argument("files", nargs="+", help="Retail Prices API response JSON, one or more pages")
    imp.add_argument("--out", help="write the rows to this CSV (default: print them)")
    c = commands.add_parser(
        "reconcile",
        help="compare the modelled bill with a Cost Management export (exit 0 none, 1 differences)",
    )
    c.add_argument(
        "--estate", dest="fleet", required=True, help="fleet CSV or 'az vm list -d' JSON"
    )
    c.add_argument("--disks", help="'az disk list' JSON, with a JSON estate")
    c.add_argument(
        "--used-fraction",
        type=float,
        default=0.5,
        help="share of provisioned size taken as used, for JSON estates (default 0.5)",
    )
    c.add_argument("--policy", help="a policy JSON for every VM (default: the fleet's policies)")
    c.add_argument("--costs", required=True, help="Cost Management cost and usage export (CSV)")
    c.add_argument(
        "--history",
        nargs="+",
        help="'az backup job list' JSON and/or Backup report CSVs (AddonAzureBackupJobs, "
        "CoreAzureBackup, AddonAzureBackupStorage): fits churn and first backups",
    )
    c.add_argument("--prices", help="price CSV (default datasets/prices.csv)")
    c.add_argument("--region", default=None, help="region of the price table")
    c.add_argument("--redundancy", default="GRS", choices=["LRS", "ZRS", "GRS", "RA-GRS"])
    c.add_argument(
        "--protected-since",
        type=_iso_date,
        default=None,
        help="day of the first backups, YYYY-MM-DD (default: from --history, else the bill's "
        "first day)",
    )
    c.add_argument(
        "--utc-offset", type=float, default=0.0, help="local time minus UTC [h] (default 0)"
    )
    c.add_argument(
        "--tolerance",
        type=float,
        default=0.10,
        help="smallest difference reported, as a share of the larger side (default 0.10)",
    )
    c.add_argument(
        "--min-difference",
        type=float,
        default=1.0,
        help="smallest difference reported, in the bill's currency (default 1)",
    )
    c.add_argument("--top", type=int, default=10, help="differences printed (default 10)")
    c.add_argument("--out", help="write every line (month, VM, meter) to this CSV")
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words  # accepted anywhere on the line, not only before the command
    try:
        args = parser.parse_args([w for w in words if w != "--debug"])
        args.debug = debug
    except _UsageError as error:
        err.write(f"error: {error} (see python -m vmbackup --help)\n")
        return 2
    try:
        if args.command == "prices":
            return prices(args, out, err)
        if args.command == "lint":
            return lint(args, out, err)
        if args.command == "reconcile":
            _check_output(args.out)
            return reconcile(args, out, err)
        _check_output(args.out)
        _check_output(args.bill_out)
        _check_output(args.rto_out)
        _check_output(args.report)
        return plan(args, out, err)
    except (ValueError, OSError) as error:
        if args.debug:
            raise
        text = " ".join(str(error).split())  # one line, whatever the message held
        err.write(f"\nerror: {text}\n")
        return 2
    except Exception as error:  # a bug, not bad input: say so in one line
        if args.debug:
            raise
        err.write(
            f"\ninternal error: {type(error).__name__}: {' '.join(str(error).split())} "
            "(please report it with the output of --debug)\n"
        )
        return 3


class _UsageError(Exception):
    """A command line argparse would refuse (its own message, one line)."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2 (not a usage dump)."""

    def __init__(self, *args: object, err: TextIO, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._err = err

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}")

    def _print_message(self, message: str, file: object = None) -> None:
        if message:
            (self._err if file is sys.stderr else sys.stdout).write(message)


def _sub(err: TextIO) -> type[argparse.ArgumentParser]:
    class Sub(_Parser):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, err=err, **kwargs)

    return Sub


def _iso_date(text: str) -> dt.date:
    """A command-line date, YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _check_output(path: str | None) -> None:
    """Refuse an output file that cannot be written before any work is done."""
    if path is None:
        return
    import os

    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ValueError(f"--out={path!r} is a folder; give a file name")
    if not folder.is_dir():
        raise ValueError(f"--out={path!r}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"--out={path!r}: the folder {str(folder)!r} is not writable")
