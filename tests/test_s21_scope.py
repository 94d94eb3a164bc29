"""G15: the scope of S21 today (unmanaged premium disks, per storage account) against the seed's
rule (every premium VM), in the check, the plan, the report and the app."""

from __future__ import annotations

import re
from typing import Any

import polars as pl
import pytest

from vmbackup import report
from vmbackup.apps import premium_space_update
from vmbackup.capacity import (
    UNMANAGED_DISKS_RETIRED,
    account_space_check,
    premium_space_check,
    space_summary,
    vm_space_check,
)
from vmbackup.data import dataset_path
from vmbackup.planning import PlanOptions, build_plan
from vmbackup.plots import plot_space_check

NOT_APPLICABLE = "not applicable (G15: managed disks have no storage account to fill)"


def disks(*rows: tuple[str, bool, str | None, float, float]) -> pl.DataFrame:
    """Premium OS disks: (vm_name, managed, storage_account, allocated_gb, used_gb)."""
    return pl.DataFrame(
        {
            "vm_name": [r[0] for r in rows],
            "disk_role": ["os"] * len(rows),
            "disk_type": ["premium"] * len(rows),
            "managed": [r[1] for r in rows],
            "storage_account": pl.Series([r[2] for r in rows], dtype=pl.String),
            "allocated_gb": [r[3] for r in rows],
            "used_gb": [r[4] for r in rows],
        }
    )


def one(fleet: pl.DataFrame, **kwargs: Any) -> dict[str, Any]:
    return premium_space_check(fleet, **kwargs).row(0, named=True)


# one VM, 2,000 GB allocated on two premium disks, 1,000 GB used: exactly half free inside
UNMANAGED = pl.concat(
    [disks(("u1", False, "stprem", 1000.0, 500.0)), disks(("u1", False, "stprem", 1000.0, 500.0))]
).with_columns(disk_role=pl.Series(["os", "data"]))
MANAGED = UNMANAGED.with_columns(managed=pl.lit(True), storage_account=pl.lit(None, pl.String))


def test_g15_an_unmanaged_premium_account_exactly_half_free_is_ok() -> None:
    """G15: 2,000 GB allocated in a 3,000 GB account leaves 1,000 GB, half the allocation: ok."""
    row = one(UNMANAGED, capacity_gb=3000.0)
    assert (row["status"], row["scope"], row["storage_account"]) == (
        "ok",
        "storage-account",
        "stprem",
    )
    assert (row["required_free_gb"], row["free_gb"], row["shortfall_gb"]) == (1000.0, 1000.0, 0.0)
    assert (row["space_gb"], row["taken_gb"]) == (3000.0, 2000.0)


def test_g15_an_unmanaged_premium_account_half_a_gb_short_is_short() -> None:
    """G15: the same account 0.5 GB smaller is short by 0.5 GB, and the advice names it."""
    row = one(UNMANAGED, capacity_gb=2999.5)
    assert (row["status"], row["free_gb"], row["shortfall_gb"]) == ("short", 999.5, 0.5)
    assert row["grow_by_gb"] == 0.0  # growing the disks would fill the account further
    assert "free 0.5 GB in storage account stprem" in row["advice"]


@pytest.mark.parametrize("capacity_gb", [3000.0, 2999.5])
def test_g15_the_same_sizes_on_managed_premium_disks_are_not_applicable_today(
    capacity_gb: float,
) -> None:
    """G15: managed disks have no storage account to fill: not applicable, nothing to free."""
    row = one(MANAGED, capacity_gb=capacity_gb)
    assert (row["status"], row["advice"], row["scope"]) == (
        "not-applicable",
        NOT_APPLICABLE,
        "none",
    )
    assert (row["shortfall_gb"], row["required_free_gb"], row["space_gb"]) == (0.0, 0.0, 0.0)
    assert row["premium_allocated_gb"] == 2000.0  # still reported, not checked


@pytest.mark.parametrize("fleet", [MANAGED, UNMANAGED], ids=["managed", "unmanaged"])
def test_s21_the_seeds_rule_checks_the_same_sizes_inside_the_disks(fleet: pl.DataFrame) -> None:
    """S21 (rules="seed"): 1,000 of 2,000 GB used is exactly half free (ok), whatever the disks'
    kind; 0.5 GB more used is 0.5 GB short."""
    row = one(fleet, rules="seed", capacity_gb=2999.5)
    assert (row["status"], row["scope"], row["required_free_gb"], row["free_gb"]) == (
        "ok",
        "disks",
        1000.0,
        1000.0,
    )
    fuller = fleet.with_columns(used_gb=pl.Series([500.0, 500.5]))
    row = one(fuller, rules="seed")
    assert (row["status"], row["shortfall_gb"], row["grow_by_gb"]) == ("short", 0.5, 1.0)
    assert row["storage_account"] is None


def test_g15_vms_sharing_an_account_share_its_shortfall_once() -> None:
    """G15: two VMs in one short account are both short; the space to free counts once; a
    managed premium VM is left out, and said so."""
    fleet = disks(
        ("a", False, "st1", 1000.0, 100.0),
        ("b", False, "st1", 1000.0, 100.0),
        ("c", False, "st2", 100.0, 90.0),
        ("m", True, None, 1000.0, 900.0),
    )
    table = premium_space_check(fleet, capacity_gb=2999.5)
    status = dict(zip(table["vm_name"], table["status"], strict=True))
    assert status == {"a": "short", "b": "short", "c": "ok", "m": "not-applicable"}
    summary = space_summary(table)
    assert (summary.checked, summary.short, summary.accounts) == (
        ("a", "b", "c"),
        ("a", "b"),
        ("st1",),
    )
    assert (summary.shortfall_gb, summary.managed_exempt) == (0.5, 1)
    assert (
        summary.sentence() == "2 of 3 VMs on unmanaged premium disks short, 0.5 GB to free in st1"
    )
    seed = space_summary(premium_space_check(fleet, rules="seed"))
    assert (seed.checked, seed.short) == (("m", "c", "a", "b"), ("m", "c"))
    assert seed.shortfall_gb == pytest.approx(400.0 + 40.0)  # 900 - 500 and 90 - 50


def test_g15_the_first_backup_done_lifts_the_account_check() -> None:
    """G15/S21: once its first backup is done a VM of a short account needs nothing."""
    done = pl.DataFrame({"vm_name": ["u1"], "first_backup_done": [True]})
    row = one(UNMANAGED, capacity_gb=2999.5, first_backup_done=done)
    assert (row["status"], row["shortfall_gb"]) == ("not-applicable", 0.0)
    assert row["advice"] == "the 50% rule does not apply: the first backup is done"


def test_g15_one_vm_alone_in_its_account_at_both_edges() -> None:
    """G15 for one VM: alone in a 1,500 GB account, 1,000 GB allocated is exactly ok; in a
    1,499.5 GB account short by 0.5 GB; with other disks in its account, they count."""
    edge = vm_space_check(allocated_gb=1000, used_gb=10, managed=False, capacity_gb=1500)
    assert (edge.status, edge.required_free_gb, edge.free_gb, edge.scope) == (
        "ok",
        500.0,
        500.0,
        "storage-account",
    )
    short = vm_space_check(allocated_gb=1000, used_gb=10, managed=False, capacity_gb=1499.5)
    assert (short.status, short.shortfall_gb) == ("short", 0.5)
    shared = vm_space_check(
        allocated_gb=1000, used_gb=10, managed=False, account_allocated_gb=2000, capacity_gb=3000
    )
    assert (shared.status, shared.required_free_gb, shared.free_gb) == ("ok", 1000.0, 1000.0)
    managed = vm_space_check(allocated_gb=1000, used_gb=999)
    assert (managed.status, managed.advice) == ("not-applicable", NOT_APPLICABLE)
    assert vm_space_check(allocated_gb=1000, used_gb=999, rules="seed").shortfall_gb == 499.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rules": "2019"}, "rules='2019' is not allowed; choose one of 'seed', 'today'"),
        (
            {"managed": False, "account_allocated_gb": 999.0},
            "account_allocated_gb=999.0 is below allocated_gb=1000",
        ),
        ({"managed": "no"}, "managed='no' must be True or False"),
        (
            {"managed": False, "account_allocated_gb": 2000.0, "capacity_gb": 1999.5},
            "account_allocated_gb=2000.0 is above capacity_gb=1999.5",
        ),
        ({"capacity_gb": -1.0}, "capacity_gb=-1.0 must be a finite number >= 0"),
        (
            {"managed": False, "capacity_gb": 999.5},
            "allocated_gb=1000 is above capacity_gb=999.5: the disks in a storage account",
        ),
    ],
)
def test_g15_bad_input_is_named(kwargs: dict[str, Any], message: str) -> None:
    """G15's inputs: a ValueError naming the field and the value."""
    with pytest.raises(ValueError, match=message):
        vm_space_check(allocated_gb=1000, used_gb=10, **kwargs)


def test_g15_an_unmanaged_premium_disk_must_name_its_account() -> None:
    """G15 measures the account: an unmanaged premium disk without one is refused, named."""
    with pytest.raises(ValueError, match=r"vm_name='x': an unmanaged premium disk with storage_"):
        premium_space_check(disks(("x", False, None, 10.0, 1.0)))
    assert one(disks(("x", False, None, 10.0, 1.0)), rules="seed")["status"] == "ok"


def test_g15_an_account_fuller_than_its_capacity_is_refused() -> None:
    """G15: disks cannot allocate more than their account holds; the account is named (a
    standard account is not measured, so it is not refused)."""
    fleet = disks(("a", False, "st1", 1000.0, 100.0), ("b", False, "st1", 1000.0, 100.0))
    message = "capacity_gb=1999.5 is below the 2000 GB the disks of storage account 'st1'"
    with pytest.raises(ValueError, match=message):
        premium_space_check(fleet, capacity_gb=1999.5)
    with pytest.raises(ValueError, match=message):
        account_space_check(fleet, capacity_gb=1999.5)
    assert one(fleet, capacity_gb=2000.0)["shortfall_gb"] == 1000.0  # full: half to free
    standard = fleet.with_columns(disk_type=pl.lit("standard"))
    assert account_space_check(standard, capacity_gb=1.0)["status"].to_list() == ["not-applicable"]


def test_g15_the_account_table_agrees_with_the_vms() -> None:
    """G15: the per-account table and the per-VM verdicts are the same numbers."""
    fleet = disks(("a", False, "st1", 1000.0, 100.0), ("b", False, "st1", 1000.0, 100.0))
    accounts = account_space_check(fleet, capacity_gb=2999.5).row(0, named=True)
    assert (accounts["vms"], accounts["allocated_gb"], accounts["shortfall_gb"]) == (2, 2000.0, 0.5)
    assert premium_space_check(fleet, capacity_gb=2999.5)["shortfall_gb"].to_list() == [0.5, 0.5]


def test_g15_the_retirement_date_is_the_extended_one() -> None:
    """G15/G8: unmanaged disks retired on 2026-03-31 (extended from 2025-09-30)."""
    assert UNMANAGED_DISKS_RETIRED.isoformat() == "2026-03-31"


# --- the plan and its report ----------------------------------------------------------------------


AZURE = {name: str(dataset_path(f"azure/{name}")) for name in ("vms.json", "disks.json")}


def test_g15_a_plan_of_an_all_managed_estate_reports_no_shortfall() -> None:
    """G15: the sample Azure estate is all managed: by default (today's rule) no VM is short
    and none is checked; the seed's rule still finds sql-01 short by its measured size."""
    options = PlanOptions(
        fleet=AZURE["vms.json"],
        disks=AZURE["disks.json"],
        used_sizes=str(dataset_path("azure/used_sizes.csv")),
        days=2,
        onboarding=False,
    )
    estate = build_plan(options)
    summary = space_summary(estate.premium_space)
    assert (summary.rules, summary.checked, summary.shortfall_gb) == ("today", (), 0.0)
    assert summary.managed_exempt == 2
    assert estate.premium_unknown.height == 0
    page = re.sub(r'<a href="#rule-[^"]+">([^<]+)</a>', r"\1", report.estate_report(estate))
    assert "not applicable: no VM on unmanaged premium disks awaits its first backup (G15)" in page
    assert "2 VMs on managed premium disks: not applicable (G15)" in page
    import dataclasses

    seed = build_plan(dataclasses.replace(options, space_rules="seed"))
    assert seed.premium_space.filter(pl.col("status") == "short")["vm_name"].to_list() == ["sql-01"]


def test_g15_a_plan_rejects_an_unknown_rule_set() -> None:
    """G15: the plan's space_rules is named when it is neither rule set."""
    with pytest.raises(ValueError, match="space_rules='2019' is not allowed"):
        build_plan(
            PlanOptions(fleet=AZURE["vms.json"], disks=AZURE["disks.json"], space_rules="2019")
        )


def test_g15_the_report_counts_plots_and_names_the_same_vms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """G15: the premium-space section says how many VMs on unmanaged premium disks are short
    and which were checked, and draws exactly those VMs (not the managed one)."""
    fleet = disks(
        ("a", False, "st1", 1000.0, 100.0),
        ("b", False, "st1", 1000.0, 100.0),
        ("c", False, "st2", 100.0, 90.0),
        ("m", True, None, 1000.0, 900.0),
    )
    space = premium_space_check(fleet, capacity_gb=2999.5)
    drawn: list[pl.DataFrame] = []

    def record(checks: pl.DataFrame, ax: Any = None, top: int = 15) -> Any:
        drawn.append(checks)
        return plot_space_check(checks, ax, top)

    monkeypatch.setattr(report.plots, "plot_space_check", record)
    section = report._space(space)
    report.render_report("t", [section])  # draws the figure
    text = section.blocks[0].text  # type: ignore[attr-defined]
    assert "2 of 3 VMs on unmanaged premium disks short, 0.5 GB to free in st1" in text
    assert "Checked: a, b, c." in text
    assert "1 VM on managed premium disks: not applicable (G15)." in text
    assert "2026-03-31" in text
    assert drawn[0]["vm_name"].to_list() == ["a", "b", "c"]


def test_g15_the_chart_draws_what_the_rule_measured() -> None:
    """G15: the chart's rows are the VMs whose space was measured, each with its account; the
    mark sits where the account's free space is half its allocation."""
    fleet = disks(("a", False, "st1", 1000.0, 100.0), ("m", True, None, 1000.0, 900.0))
    ax = plot_space_check(premium_space_check(fleet, capacity_gb=2000.0))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a (st1)"]
    mark = ax.collections[3].get_segments()[0]
    assert mark[0][0] == pytest.approx(2000.0 - 500.0)  # capacity - half the allocation
    assert ax.get_xlabel() == "premium storage account capacity [GB] (G15)"
    seed = plot_space_check(premium_space_check(fleet, rules="seed"))
    assert [t.get_text() for t in seed.get_yticklabels()] == ["m", "a"]


def test_g15_the_app_shows_both_rule_sets() -> None:
    """G15 in the app: managed premium disks are not applicable under today's rule, short
    under the seed's (900 of 1,024 GB used: 388 GB to free)."""
    check, text, _ = premium_space_update(used_gb=900.0, rules="today")
    assert check is not None
    assert (check.status, check.shortfall_gb) == ("not-applicable", 0.0)
    assert "managed disks have no storage account to fill" in text
    check, text, _ = premium_space_update(used_gb=900.0, rules="seed")
    assert check is not None
    assert (check.status, check.shortfall_gb) == ("short", 388.0)
