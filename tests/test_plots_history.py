"""The figures of notebook 08: measured vs modelled durations, the lag fit, the bill per VM."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from history_sample import history_file, truth

from vmbackup.calibrate import fit_history
from vmbackup.data import read_fleet, read_lag_profile, read_policies, read_prices
from vmbackup.plots_history import (
    plot_durations,
    plot_lag_fit,
    plot_reconciliation,
)
from vmbackup.reconcile import reconcile
from vmbackup.records import read_backup_jobs, read_cost_export

ESTATE = read_fleet(history_file("estate.csv"))
FIT = fit_history(
    read_backup_jobs(history_file("jobs.json")), ESTATE, lag_profile_hours=read_lag_profile()
)


def test_the_duration_figure_shows_both_models_against_the_measure() -> None:
    ax = plot_durations(FIT)
    assert ax.get_xlabel() == "measured duration [h]"
    assert ax.get_ylabel() == "modelled duration [h]"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "perfect model",
        "defaults",
        "fitted",
    ]
    assert len(ax.collections[1].get_offsets()) == FIT.jobs.height
    plt.close(ax.figure)


def test_the_lag_figure_marks_the_fitted_hours() -> None:
    ax = plot_lag_fit(FIT, true_hours=truth()["lag_profile_hours"])
    assert ax.get_xlabel() == "hour of the snapshot [h]"
    assert ax.get_ylabel() == "lag [h]"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["assumed", "true", "fitted (± spread)"]
    points = ax.containers[0].lines[0].get_xydata()
    assert points[:, 0].tolist() == [1, 22]
    assert np.allclose(points[:, 1], FIT.lag_profile_hours[[1, 22]])
    plt.close(ax.figure)


def test_the_bill_figure_marks_the_vms_with_a_difference() -> None:
    costs = read_cost_export(history_file("cost_export.csv"))
    result = reconcile(ESTATE, read_policies(), read_prices(region="westeurope"), costs, fit=FIT)
    ax = plot_reconciliation(result, top=5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 5
    marked = sorted(label.split()[0] for label in labels if label.endswith("!"))
    assert marked == sorted(result.findings["vm_name"].drop_nulls().to_list())
    assert "[USD]" in ax.get_xlabel()
    plt.close(ax.figure)
