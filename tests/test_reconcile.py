"""Reconciliation of the modelled bill with a Cost Management export: the planted differences
and nothing else (items S24, S28, P1, P4, G5, G9, H3)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from history_sample import generator, history_file

from vmbackup.calibrate import HistoryFit, fit_history
from vmbackup.cli import main
from vmbackup.data import check_fleet, read_fleet, read_lag_profile, read_policies, read_prices
from vmbackup.fleet import fleet_plan
from vmbackup.reconcile import (
    Reconciliation,
    describe_reconciliation,
    modelled_window_lines,
    reconcile,
)
from vmbackup.records import History, jobs_from_document, read_cost_export, read_history

ESTATE = read_fleet(history_file("estate.csv"))
PRICES = read_prices(region="westeurope")
POLICIES = read_policies()
HISTORY = read_history(
    [history_file(n) for n in ("jobs.json", "CoreAzureBackup.csv", "AddonAzureBackupStorage.csv")]
)
FIT = fit_history(HISTORY.jobs, ESTATE, lag_profile_hours=read_lag_profile())
COSTS = read_cost_export(history_file("cost_export.csv"))


def _reconcile(costs: pl.DataFrame = COSTS, **options: Any) -> Reconciliation:
    settings: dict[str, Any] = {"fit": FIT, "items": HISTORY.items, "storage": HISTORY.storage}
    return reconcile(ESTATE, POLICIES, PRICES, costs, **(settings | options))


def _found(result: Reconciliation) -> dict[str | None, str]:
    return {row["vm_name"]: row["item"] for row in result.findings.iter_rows(named=True)}


def _costs_of(made: dict[str, Any], tmp_path: Path) -> pl.DataFrame:
    path = tmp_path / "export.csv"
    made["costs"].write_csv(path)
    return read_cost_export(path)


def _history_of(made: dict[str, Any], tmp_path: Path) -> tuple[HistoryFit, History]:
    made["items"].write_csv(tmp_path / "core.csv")
    made["storage"].write_csv(tmp_path / "storage.csv")
    history = read_history([tmp_path / "core.csv", tmp_path / "storage.csv", _jobs(made, tmp_path)])
    fit = fit_history(history.jobs, ESTATE, lag_profile_hours=read_lag_profile())
    return fit, history


def _jobs(made: dict[str, Any], tmp_path: Path) -> Path:
    import json

    path = tmp_path / "jobs.json"
    path.write_text(json.dumps(made["jobs"]))
    return path


def test_the_planted_differences_and_nothing_else() -> None:
    """Issue 14: on the generated export the reconciliation finds a stopped-but-retained VM
    (S24), a PI tier boundary (P1) and a longer retention (S28), each with its reason, and no
    other difference."""
    result = _reconcile()
    assert _found(result) == {"vm-win-000": "S24", "vm-win-029": "P1", "vm-lnx-004": "S28, Y3"}
    reasons = dict(result.findings.select("vm_name", "reason").iter_rows())
    assert reasons["vm-win-000"].startswith("stopped-but-retained item still billed")
    assert "PI tier at a size boundary" in reasons["vm-win-029"]
    assert "48.6 GB" in reasons["vm-win-029"]
    assert reasons["vm-lnx-004"].startswith("retention longer than the policy implies")
    assert result.findings["rank"].to_list() == [1, 2, 3]
    assert result.findings["difference"].abs().is_sorted(descending=True)
    assert result.protected_since == dt.date(2025, 11, 1)  # the first backups, from the history


def test_the_totals_add_up_per_vm_meter_and_month() -> None:
    result = _reconcile()
    invoiced = float(COSTS.filter(pl.col("kind") != "other")["cost"].sum())
    assert float(result.lines["invoiced_cost"].sum()) == pytest.approx(invoiced)
    for table in (result.by_month, result.by_meter, result.by_vm):
        assert float(table["invoiced_cost"].sum()) == pytest.approx(invoiced)
        assert float(table["modelled_cost"].sum()) == pytest.approx(
            float(result.lines["modelled_cost"].sum())
        )
    assert result.by_month["month"].to_list() == [dt.date(2025, 12, 1), dt.date(2026, 1, 1)]
    assert set(result.by_meter["meter"]) == {
        "Azure VM Protected Instance",
        "Standard GRS Data Stored",
        "LRS Snapshots",
        "ZRS Snapshots",
    }


def test_a_soft_deleted_item_is_told_from_a_stopped_one(tmp_path: Path) -> None:
    """G5: a deleted item in its soft-delete days is billed like a stopped one; the Backup
    reports (State Deleted) tell them apart."""
    made = generator().generate(soft_deleted=True)
    fit, history = _history_of(made, tmp_path)
    result = _reconcile(
        _costs_of(made, tmp_path), fit=fit, items=history.items, storage=history.storage
    )
    assert _found(result) == {
        "vm-win-000": "S24",
        "vm-lnx-000": "G5",
        "vm-win-029": "P1",
        "vm-lnx-004": "S28, Y3",
    }
    unknown = _reconcile(_costs_of(made, tmp_path), fit=fit, items=None, storage=None)
    assert _found(unknown)["vm-lnx-000"] == "S24, G5"


def test_snapshots_missing_from_the_export_are_one_finding(tmp_path: Path) -> None:
    """P4, G9: an export of the vault's meters only has no snapshot line; that is one finding
    about the export, not one per VM."""
    made = generator().generate(snapshots=False)
    result = _reconcile(_costs_of(made, tmp_path))
    assert _found(result) == {
        None: "P4, G9",
        "vm-win-000": "S24",
        "vm-win-029": "P1",
        "vm-lnx-004": "S28, Y3",
    }
    snapshots = result.findings.filter(pl.col("vm_name").is_null()).row(0, named=True)
    assert snapshots["invoiced_cost"] == 0
    assert snapshots["reason"].startswith("snapshot costs outside the vault's meters")


def test_a_negotiated_price_is_a_price_difference() -> None:
    """The same quantity at another unit price: the price, not the model, differs."""
    cheaper = COSTS.with_columns(
        cost=pl.when(pl.col("meter") == "Standard GRS Data Stored")
        .then(pl.col("cost") * 0.5)
        .otherwise(pl.col("cost"))
    )
    result = _reconcile(cheaper)
    prices = result.findings.filter(pl.col("item") == "P7")
    assert prices.height >= 3
    assert (prices["meter"] == "Standard GRS Data Stored").all()
    assert (prices["difference"] < 0).all()


def test_a_vm_not_billed_and_a_bill_without_history() -> None:
    """A VM of the estate missing from the bill is reported; without a history the storage
    differences point at churn or retention and ask for the history."""
    missing = _reconcile(COSTS.filter(pl.col("vm_name") != "vm-win-010"))
    row = missing.findings.filter(pl.col("vm_name") == "vm-win-010").row(0, named=True)
    assert row["reason"].startswith("modelled but not billed")
    blind = _reconcile(fit=None, protected_since=dt.date(2025, 11, 1))
    storage = blind.findings.filter(pl.col("meter") == "Standard GRS Data Stored")
    assert storage.height >= 3
    assert storage["reason"].str.contains("give the job history").all()
    assert "the churn classes (P6)" in blind.notes[0]


def test_the_window_is_cut_from_the_engine_exactly() -> None:
    """The engine is causal: billing two adjoining windows gives the bill of both together."""
    plan = fleet_plan(ESTATE, POLICIES)
    churn = np.full(plan.vms, 3.0)
    since = dt.date(2025, 11, 1)
    keys = ["month", "vm", "meter"]

    def lines(first: dt.date, last: dt.date) -> pl.DataFrame:
        return modelled_window_lines(plan, churn, since, (first, last), PRICES)

    whole = lines(dt.date(2025, 12, 10), dt.date(2026, 1, 20))
    parts = (
        pl.concat(
            [
                lines(dt.date(2025, 12, 10), dt.date(2025, 12, 27)),
                lines(dt.date(2025, 12, 28), dt.date(2026, 1, 20)),
            ]
        )
        .group_by(keys)
        .agg(pl.col("cost").sum())
    )
    both = whole.join(parts, on=keys, suffix="_parts")
    assert both.height == whole.height
    assert np.allclose(both["cost"], both["cost_parts"])
    assert lines(dt.date(2025, 10, 1), dt.date(2025, 10, 31)).height == 0


def test_bad_input_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="costs are in USD, prices in EUR"):
        reconcile(ESTATE, POLICIES, read_prices(region="westeurope", currency="EUR"), COSTS)
    with pytest.raises(ValueError, match="costs: no Azure VM backup line"):
        _reconcile(COSTS.with_columns(kind=pl.lit("other")))
    with pytest.raises(ValueError, match="relative_tolerance=2"):
        _reconcile(relative_tolerance=2)
    with pytest.raises(ValueError, match="costs: missing column"):
        _reconcile(COSTS.drop("meter"))
    with pytest.raises(ValueError, match="policies is empty"):
        reconcile(ESTATE, {}, PRICES, COSTS)
    policy = next(iter(read_policies().values()))
    others = {"A": replace(policy, name="A"), "B": replace(policy, name="B")}
    with pytest.raises(ValueError, match=r"uses policy='\w+', which is not given; known .*'A'"):
        reconcile(ESTATE, others, PRICES, COSTS)


def test_describe_reconciliation_ranks_the_differences() -> None:
    text = describe_reconciliation(_reconcile())
    assert text[0].startswith("Bill 2025-12-22 to 2026-01-04 (USD): modelled")
    ranked = [line for line in text if line.lstrip()[:3] in ("1. ", "2. ", "3. ")]
    assert [line.split()[1] for line in ranked] == ["vm-win-000", "vm-lnx-004", "vm-win-029"]
    quiet = describe_reconciliation(_reconcile(absolute_tolerance=1e6))
    assert quiet[-1] == "Differences: none above the tolerances"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_the_cli_reconciles_and_writes_the_lines(tmp_path: Path) -> None:
    """python -m vmbackup reconcile: prints what it fitted and the ranked differences; exit 1
    with differences, 0 without; --out writes every line."""
    history = [history_file(n) for n in ("jobs.json", "CoreAzureBackup.csv")]
    code, out, err = _cli(
        "reconcile",
        "--estate",
        history_file("estate.csv"),
        "--costs",
        history_file("cost_export.csv"),
        "--history",
        *history,
        "--out",
        str(tmp_path / "lines.csv"),
    )
    assert code == 1, err
    assert "History: 350 jobs of 10 VMs" in out
    assert "Differences, largest first (3):" in out
    assert "stopped-but-retained item still billed" in out
    written = pl.read_csv(tmp_path / "lines.csv")
    assert {"month", "vm_name", "meter", "difference"} <= set(written.columns)
    calm, _, _ = _cli(
        "reconcile",
        "--estate",
        history_file("estate.csv"),
        "--costs",
        history_file("cost_export.csv"),
        "--min-difference",
        "1000",
    )
    assert calm == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["reconcile", "--estate", "{estate}"],
        ["reconcile", "--estate", "{estate}", "--costs", "{estate}"],
        ["reconcile", "--estate", "{estate}", "--costs", "{costs}", "--tolerance", "3"],
        ["reconcile", "--estate", "{estate}", "--costs", "{costs}", "--history", "{costs}"],
        ["reconcile", "--estate", "{estate}", "--costs", "{costs}", "--protected-since", "soon"],
        ["reconcile", "--estate", "{estate}", "--costs", "{costs}", "--region", "mars"],
    ],
)
def test_the_cli_refuses_bad_input_in_one_line(argv: list[str]) -> None:
    names = {"estate": history_file("estate.csv"), "costs": history_file("cost_export.csv")}
    code, _, err = _cli(*(word.format(**names) for word in argv))
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error:"), err


def test_the_sample_estate_is_a_valid_fleet() -> None:
    assert check_fleet(ESTATE).height == ESTATE.height
    jobs, skipped = jobs_from_document(generator().generate()["jobs"])
    assert skipped == 0
    assert jobs.height == 350


def test_by_default_a_difference_of_one_unit_and_ten_percent_is_reported() -> None:
    """The default tolerances (1 in the bill's currency and 10%): 1.50 more on a VM's 3.23
    protected-instance line is reported; under an absolute tolerance of 2 it is not."""
    meter = "Azure VM Protected Instance"
    one = (pl.col("vm_name") == "vm-win-002") & (pl.col("meter") == meter)
    first = COSTS.with_row_index("_i").filter(one)["_i"][0]
    costs = COSTS.with_columns(
        cost=pl.when(pl.int_range(pl.len()) == first)
        .then(pl.col("cost") + 1.5)
        .otherwise(pl.col("cost"))
    )
    assert "vm-win-002" not in _found(_reconcile())
    assert "vm-win-002" in _found(_reconcile(costs))
    assert "vm-win-002" not in _found(_reconcile(costs, absolute_tolerance=2.0))
