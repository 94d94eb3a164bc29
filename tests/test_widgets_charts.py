"""The apps' figures: built once, updated in place, and still what a fresh drawing shows."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from vmbackup.apps import (
    billing_whatif_app,
    fleet_app,
    fleet_update,
    lifecycle_app,
    lifecycle_update,
    premium_space_app,
    premium_space_update,
    restore_app,
    restore_update,
    transfer_app,
    transfer_update,
)
from vmbackup.apps.restore import CHART_ROWS
from vmbackup.data import read_fleet, read_lag_profile, read_policies, read_prices
from vmbackup.fleet import BIN_HOURS
from vmbackup.plots import BillChart, InFlightChart, SpaceChart, TimelineChart
from vmbackup.restore_plots import RtoChart

PRICES, FLEET, POLICIES, LAG = read_prices(), read_fleet(), read_policies(), read_lag_profile()

APPS: dict[str, Callable[[], Any]] = {
    "lifecycle": lambda: lifecycle_app(PRICES),
    "whatif": lambda: billing_whatif_app(PRICES),
    "space": premium_space_app,
    "restore": lambda: restore_app(FLEET, POLICIES),
    "transfer": lambda: transfer_app(LAG),
    "fleet": lambda: fleet_app(FLEET, POLICIES, LAG),
}


def _ends(app: Any) -> list[tuple[str, object]]:
    """Every control's other values at the ends of its range, then its start value."""
    moves: list[tuple[str, object]] = []
    for name, control in app.controls.items():
        if isinstance(control.value, bool):
            values: list[object] = [not control.value]
        elif getattr(control, "options", None):
            values = list(control.options)
        else:
            values = [control.min, control.max]
        moves += [(name, v) for v in values if v != control.value] + [(name, control.value)]
    return moves


def _shown(app: Any) -> np.ndarray:
    from io import BytesIO

    from PIL import Image

    return np.asarray(Image.open(BytesIO(app.image.value)).convert("RGB")).astype(np.int16)


def _full_draw(figure: Figure) -> np.ndarray:
    canvas = figure.canvas
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(np.int16)


@pytest.mark.parametrize("name", APPS)
def test_each_change_redraws_in_place_what_a_full_draw_shows(name: str) -> None:
    """One figure for the app's life, laid out once (again only if a text outgrew it), no
    artists piling up, nothing outside the figure, and the cached background plus the redrawn
    artists giving the picture a full draw gives (but for the seam where a bar starts at the
    axes' left edge, next to a tick of a cached y axis: at most one pixel per row)."""
    app = APPS[name]()
    figure, children = app.view.figure, len(app.view.ax.get_children())
    for control, value in _ends(app):
        app.controls[control].value = value
        if app.image.layout.display == "none":
            continue  # an input error: the message is shown instead
        shown = _shown(app)
        box = figure.get_tightbbox(figure.canvas.get_renderer())
        width, height = figure.get_size_inches()
        inside = (box.x0 >= -0.02, box.y0 >= -0.02, box.x1 <= width + 0.02, box.y1 <= height + 0.02)
        assert all(inside), f"{control}={value!r}: drawn {box} outside {width} x {height} in"
        _, columns = np.nonzero(np.any(shown != _full_draw(figure), axis=-1))
        edge = app.view.ax.get_window_extent().x0
        elsewhere = int((np.abs(columns - edge) > 1.5).sum())
        assert elsewhere == 0, f"{control}={value!r}: {elsewhere} pixels differ from a full draw"
    assert app.view.figure is figure
    assert app.view.layouts <= 3
    assert len(app.view.ax.get_children()) <= children + 6  # pools grow to the largest case


def _plain_axes() -> Axes:
    """Axes with fixed margins (no layout engine), so two charts can be compared pixel by
    pixel."""
    figure = Figure(figsize=(10, 5), dpi=80)
    FigureCanvasAgg(figure)
    return figure.subplots()


UPDATES: dict[
    str, tuple[Callable[[Axes], Any], Callable[..., Any], dict[str, Any], dict[str, Any]]
] = {
    "bill": (
        BillChart,
        partial(lifecycle_update, prices=PRICES),
        {"first_backup_month": 3, "grow_month": 4, "stop_month": 20, "delete_month": 22},
        {"used_gb": 2500.0, "stop_month": 24, "delete_month": 24},
    ),
    "space": (
        SpaceChart,
        premium_space_update,
        {"used_gb": 900.0},
        {"allocated_gb": 4096.0, "used_gb": 100.0, "first_backup_done": True},
    ),
    "restore": (
        partial(RtoChart, rows=CHART_ROWS),
        partial(restore_update, fleet=FLEET, policies=POLICIES),
        {"vms": 60, "accounts": 20, "vault_concurrency": 5},
        {"vms": 5, "accounts": 3},
    ),
    "timeline": (
        partial(TimelineChart, min_rows=6),
        partial(transfer_update, lag_profile_hours=LAG),
        {"new_disk": True, "snapshot_missing": True, "first_backup": True},
        {"churn_data2_gb": 1200.0},
    ),
    "in flight": (
        partial(InFlightChart, bin_hours=BIN_HOURS),
        partial(fleet_update, fleet=FLEET, policies=POLICIES, lag_profile_hours=LAG, days=3),
        {"spread_minutes": 90.0},
        {"vault_ingest_mb_s": 300.0},
    ),
}


@pytest.mark.parametrize("forward", [True, False], ids=["a-then-b", "b-then-a"])
@pytest.mark.parametrize("kind", UPDATES)
def test_a_chart_updated_in_place_matches_a_fresh_one(kind: str, forward: bool) -> None:
    """Nothing of the first state is left over once the chart shows the second."""
    make, update, first, second = UPDATES[kind]
    if not forward:
        first, second = second, first
    reused = make(_plain_axes())
    assert update(chart=reused, **first)[2] is reused.ax
    update(chart=reused, **second)
    fresh = make(_plain_axes())
    update(chart=fresh, **second)
    assert np.array_equal(_full_draw(reused.ax.figure), _full_draw(fresh.ax.figure))


def test_event_labels_sit_on_their_markers() -> None:
    chart = BillChart(_plain_axes())
    lifecycle_update(prices=PRICES, chart=chart)
    lifecycle_update(prices=PRICES, chart=chart, grow_month=9, stop_month=14, delete_month=20)
    labels = {a.get_text(): a.xyann[0] for a in chart.ax.texts if isinstance(a, Annotation)}
    lines = sorted(line.get_xdata()[0] for line in chart.ax.lines if line.get_visible())
    assert sorted(labels) == ["delete", "first-backup", "protect", "resize", "stop"]
    assert sorted(labels.values()) == pytest.approx(lines)
    assert labels["stop"] == pytest.approx(14 - 0.4)


def test_a_large_restore_stays_bounded_and_says_so() -> None:
    """60 VMs: the chart keeps its size and shows the 20 VMs that are usable last."""
    result, text, ax = restore_update(fleet=FLEET, policies=POLICIES, vms=60)
    assert result is not None
    assert ax is not None
    shown = [label.get_text() for label in ax.get_yticklabels()]
    assert len(shown) == CHART_ROWS
    last = result.sort("rto_hours").tail(CHART_ROWS)["vm_name"].to_list()
    assert sorted(shown) == sorted(last)
    assert ax.get_title().endswith(f"the {CHART_ROWS} that are usable last")
    assert "All 60 VMs restored" in text
    small = restore_update(fleet=FLEET, policies=POLICIES, vms=12)[2]
    assert small is not None
    assert list(small.figure.get_size_inches()) == list(ax.figure.get_size_inches())
    assert "usable last" not in small.get_title()


def test_only_the_heavy_restore_app_reports_on_release() -> None:
    """Restore (the slowest update) waits for a slider's release; the others follow a drag."""
    sliders = [c for c in restore_app(FLEET, POLICIES).controls.values() if hasattr(c, "max")]
    assert sliders
    assert not any(c.continuous_update for c in sliders)
    for app in (lifecycle_app(PRICES), fleet_app(FLEET, POLICIES, LAG), transfer_app(LAG)):
        sliders = [c for c in app.controls.values() if hasattr(c, "max")]
        assert sliders
        assert all(c.continuous_update for c in sliders)
