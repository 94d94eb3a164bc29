"""``plan --history``: the estate's own job history drives the plan (H1, H2; issue 14 into 13).

The history in ``datasets/history/`` was generated from known per-VM churn and throughput and a
known lag (``generating_parameters.json``); planning with it must use those figures, not the
defaults, and a VM's own settings must still win over what the history says.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vmbackup.cli import main
from vmbackup.data import dataset_path, read_json
from vmbackup.planning import PlanOptions, build_plan

ESTATE = str(dataset_path("history/estate.csv"))
JOBS = str(dataset_path("history/jobs.json"))
TRUTH = read_json(dataset_path("history/generating_parameters.json"))


def plan(**options: object):  # type: ignore[no-untyped-def]
    return build_plan(PlanOptions(fleet=ESTATE, days=7, **options))  # type: ignore[arg-type]


def test_h1_the_history_sets_each_vms_churn_and_throughput_and_the_lag() -> None:
    fitted, default = plan(history=(JOBS,)), plan()
    assert fitted.fit is not None
    assert default.fit is None
    vms = fitted.fleet.unique("vm_name", maintain_order=True)
    for row in vms.iter_rows(named=True):
        true = TRUTH["vms"][row["vm_name"]]
        assert row["churn_gb_per_day"] == pytest.approx(true["churn_gb_per_day"], rel=0.10)
        assert row["throughput_mb_s_per_disk"] == pytest.approx(
            true["throughput_mb_s_per_disk"], rel=0.10
        )
    hours = fitted.fit.lag.filter(pl.col("fitted"))["hour"].to_list()
    assert hours  # the sample covers the daily policies' snapshot hours
    true_lag = np.array(TRUTH["lag_profile_hours"])
    assert np.allclose(fitted.lag_profile_hours[hours], true_lag[hours], rtol=0.10)
    assert not np.allclose(default.lag_profile_hours[hours], true_lag[hours], rtol=0.10)
    # the plan runs on those figures: a different week from the defaults' week
    assert fitted.result.jobs["duration_hours"].sum() != pytest.approx(
        default.result.jobs["duration_hours"].sum(), rel=0.01
    )
    lag = next(a for a in fitted.assumptions if a.topic == "lag")
    assert f"fitted from the job history for {len(hours)} of 24 hours" in lag.text


def test_a_vms_own_settings_win_over_its_history(tmp_path: Path) -> None:
    settings = tmp_path / "settings.csv"
    settings.write_text("vm_name,churn_gb_per_day\nvm-lnx-001,123.0\n")
    fitted = plan(history=(JOBS,), vm_settings=str(settings))
    churn = fitted.fleet.filter(pl.col("vm_name") == "vm-lnx-001")["churn_gb_per_day"]
    assert churn.unique().to_list() == [123.0]


def test_the_cli_prints_what_it_fitted_and_refuses_a_bad_history(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["plan", ESTATE, "--history", JOBS, "--days", "7"], out, err) == 0, err.getvalue()
    text = out.getvalue()
    assert "Fitted from the estate's job history (H1, H2):" in text
    assert "left out: 10 first backup" in text
    broken = tmp_path / "jobs.json"
    broken.write_text('{"value": [{"properties": {"status": 7}}]}')
    out, err = io.StringIO(), io.StringIO()
    assert main(["plan", ESTATE, "--history", str(broken)], out, err) == 2
    errors = [line for line in err.getvalue().splitlines() if "error" in line]
    assert len(errors) == 1
    assert errors[0].startswith("error: jobs.json: value[0].properties")
    assert "Traceback" not in err.getvalue()


def test_the_plan_says_which_figures_came_from_the_history_or_settings(tmp_path: Path) -> None:
    """The plan's header: churn and throughput 'fitted from the job history or given' for the
    VMs that have them; a --churn-class flag is named as the churn that fills the rest."""
    fitted = plan(history=(JOBS,))
    by_topic = {a.topic: a.text for a in fitted.assumptions}
    vms = fitted.fleet["vm_name"].n_unique()
    assert by_topic["churn"] == f"GB a day fitted from the job history or given for {vms} VMs"
    assert by_topic["throughput"].startswith("MB/s per disk fitted from the job history or given")
    settings = tmp_path / "settings.csv"
    settings.write_text("vm_name,churn_gb_per_day\nvm-lnx-001,12.0\nvm-lnx-004,30.0\n")
    flagged = plan(vm_settings=str(settings), churn_class="high")
    churn = [a for a in flagged.assumptions if a.topic == "churn"]
    assert churn[0].text.endswith("; --churn-class high")
    assert churn[1].text == "GB a day given for 2 VMs"
