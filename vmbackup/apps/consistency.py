"""The consistency apps: the decision for one set of inputs, and the whole table filtered.

Both show HTML only (no figure), so every control follows a drag.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import polars as pl

from vmbackup.apps._form import Form, Gate, error_html
from vmbackup.apps.table import table_html
from vmbackup.consistency import INPUTS, LEVELS, decide, decision_table
from vmbackup.plots import LEVEL_COLOURS

__all__ = [
    "ANY",
    "consistency_app",
    "consistency_report",
    "consistency_rules",
    "decision_table_app",
    "filter_decisions",
]

#: The "no filter" choice of the table browser's drop-downs.
ANY = "(any)"

_WINDOWS_ONLY = ("vss_writers", "vss_mode")
_LINUX_ONLY = ("linux_scripts", "continue_backup_on_failure")


def consistency_report(**inputs: Any) -> str:
    """HTML for the consistency app: level, what restoring means, reasons, VM changes.

    Takes the keyword arguments of :func:`vmbackup.consistency.decide`.
    """
    try:
        decision = decide(**inputs)
    except ValueError as error:
        return error_html(error)
    if decision.level is None:
        headline = "No recovery point now: the job is retried"
        colour = LEVEL_COLOURS["retry"]
        meaning = "Nothing is restored from this attempt; the next try decides the level."
    else:
        headline = f"{decision.level}-consistent"
        colour = LEVEL_COLOURS[decision.level]
        meaning = LEVELS[decision.level]
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in decision.reasons)
    changes = "".join(f"<li>{html.escape(c)}</li>" for c in decision.vm_changes) or "<li>none</li>"
    return (
        f'<div style="font-size:1.3em;font-weight:bold;color:white;background:{colour};'
        f'padding:4px 8px;display:inline-block">{headline}</div>'
        f"<p><b>Restoring it:</b> {html.escape(meaning)}</p>"
        f"<p><b>Backup extension:</b> {decision.extension}</p>"
        f"<p><b>Why:</b></p><ol>{reasons}</ol>"
        f"<p><b>What happens inside the VM:</b></p><ul>{changes}</ul>"
    )


def _control(form: Form, name: str, allowed: tuple[Any, ...], value: Any) -> w.ValueWidget:
    label = name.replace("_", " ")
    if isinstance(allowed[0], bool):
        return form.flag(label, value)
    return form.choice(label, allowed, value)


def _decisive(inputs: Mapping[str, Any]) -> str:
    """The reason of the rule that decides the level for ``inputs`` (after the extension's)."""
    reasons = [r for r in decide(**inputs).reasons[1:] if not r.startswith("S8:")]
    return reasons[0]


def consistency_rules(values: Mapping[str, Any]) -> dict[str, str]:
    """The explorer's inputs that change nothing in the current state, and why: an input of
    the other OS, or one whose every value gives the same decision (the first matching rule
    decides, S2-S6)."""
    greyed: dict[str, str] = {}
    try:
        report = consistency_report(**values)
        decisive = _decisive(values)
    except ValueError:
        return greyed
    for name, allowed in INPUTS.items():
        if name in _WINDOWS_ONLY and values["os"] != "windows":
            greyed[name] = "Windows only"
        elif name in _LINUX_ONLY and values["os"] != "linux":
            greyed[name] = "Linux only"
        elif all(
            consistency_report(**{**values, name: other}) == report
            for other in allowed
            if other != values[name]
        ):
            greyed[name] = f"no effect in this state, where {decisive}"
    return greyed


def consistency_app(**start: Any) -> w.Box:
    """An app with a control for every input of ``decide`` and the report beside them.

    Controls that do not apply to the chosen OS, or that cannot change the decision in the
    current state, are greyed out with the reason.
    """
    defaults: dict[str, Any] = {name: allowed[0] for name, allowed in INPUTS.items()}
    defaults.update(continue_backup_on_failure=True, **start)
    form = Form(190, 420)
    controls = {name: _control(form, name, INPUTS[name], defaults[name]) for name in INPUTS}
    report = w.HTML()
    gate = Gate(controls, consistency_rules)

    def update(_: object = None) -> None:
        if gate.busy:
            return
        report.value = consistency_report(**gate.settle())

    for control in controls.values():
        control.observe(update, names="value")
    update()
    report.layout.min_width = "360px"
    report.layout.flex = "1 1 360px"
    app = w.HBox(
        [w.VBox([*controls.values(), gate.note], layout=w.Layout(width="440px")), report],
        layout=w.Layout(flex_flow="row wrap", width="100%"),
    )
    app.controls = controls
    app.report = report
    app.note = gate.note
    return app


def filter_decisions(table: pl.DataFrame, filters: Mapping[str, Any]) -> pl.DataFrame:
    """Rows of ``table`` matching every filter; a value of :data:`ANY` leaves a column free and
    ``level="retry"`` selects the retried jobs (level None).

    Raises ValueError for a column that is not in the table.
    """
    unknown = [name for name in filters if name not in table.columns]
    if unknown:
        raise ValueError(f"filter column(s) {unknown} not in the table; columns: {table.columns}")
    conditions = [
        pl.col(name).is_null() if (name, value) == ("level", "retry") else pl.col(name) == value
        for name, value in filters.items()
        if value != ANY
    ]
    return table.filter(*conditions) if conditions else table


def _table_html(rows: pl.DataFrame, shown: int) -> str:
    counts = rows.group_by("level", maintain_order=True).len().sort("level", nulls_last=True)
    summary = ", ".join(
        f"{(level or 'retry')}: {n}" for level, n in counts.select("level", "len").iter_rows()
    )
    # "retry" is the level's null: the retry column would repeat it
    head = rows.head(shown).with_columns(pl.col("level").fill_null("retry")).drop("retry")
    return (
        f"<p><b>{rows.height} matching combinations</b> ({summary}); "
        f"showing {head.height}.</p>" + table_html(head, font_size="0.8em")
    )


def decision_table_app(shown: int = 15) -> w.Box:
    """The whole decision table with a drop-down filter per input and per outcome."""
    table = decision_table()
    filter_columns: dict[str, tuple[Any, ...]] = {**INPUTS, "level": (*tuple(LEVELS), "retry")}
    form = Form(170, 330)
    controls = {
        name: form.choice(name.replace("_", " "), (ANY, *values), ANY)
        for name, values in filter_columns.items()
    }
    for control in controls.values():  # as wide as its grid cell, which the window decides
        control.layout.width = "auto"
    view = w.HTML(layout=w.Layout(width="100%"))

    def update(_: object = None) -> None:
        rows = filter_decisions(table, {name: c.value for name, c in controls.items()})
        view.value = _table_html(rows, shown)

    for control in controls.values():
        control.observe(update, names="value")
    update()
    grid = w.GridBox(
        list(controls.values()),
        layout=w.Layout(
            grid_template_columns="repeat(auto-fill, minmax(300px, 1fr))", width="100%"
        ),
    )
    app = w.VBox([grid, view])
    app.controls = controls
    app.view = view
    return app
