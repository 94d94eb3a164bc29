"""Tables for people: every cell's full text, wrapped between words, never cut.

Polars shows a long text cut to a set length ("no snapshot is t…"). :class:`Table` shows a
frame in JupyterLab, Voila and the course's site as an HTML table whose cells wrap at spaces
only, inside a box that scrolls sideways rather than clip when the window is narrow; its plain
text (what nbval compares, what GitHub shows without HTML) is one row a line with nothing left
out.
"""

from __future__ import annotations

import html

import polars as pl

__all__ = ["Table", "table_html"]

_CELL = (
    "text-align:left;vertical-align:top;white-space:normal;overflow-wrap:normal;"
    "word-break:normal;hyphens:manual;padding:2px 8px;border-bottom:1px solid #e0e0e0"
)


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _nowrap(value: object) -> str:
    """A word or a short value ("all-succeeded", "0.083 GB") is never broken, not even at a
    hyphen; longer text wraps between its words."""
    text = _text(value)
    return ";white-space:nowrap" if " " not in text or len(text) <= 12 else ""


def table_html(
    frame: pl.DataFrame, *, font_size: str = "0.85em", wide: tuple[str, ...] = ()
) -> str:
    """``frame`` as an HTML table: full text, wrapped between words; the columns named in
    ``wide`` get at least 24 em so their sentences wrap into a few lines, not one word each."""
    head = "".join(
        f'<th style="{_CELL};font-weight:bold">{html.escape(c.replace("_", " "))}</th>'
        for c in frame.columns
    )
    widths = {c: ";min-width:24em" if c in wide else "" for c in frame.columns}
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="{_CELL}{widths[c]}{_nowrap(v)}">{html.escape(_text(v))}</td>'
            for c, v in zip(frame.columns, row, strict=True)
        )
        + "</tr>"
        for row in frame.iter_rows()
    )
    return (
        f'<div style="overflow-x:auto;max-width:100%"><table style="border-collapse:collapse;'
        f'font-size:{font_size};table-layout:auto"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


class Table:
    """A frame shown whole: HTML in a notebook (see :func:`table_html`), one row a line as text.

    >>> print(Table(pl.DataFrame({"item": ["S6"], "reason": ["the state is creating"]})))
    item | reason
    S6 | the state is creating
    """

    def __init__(self, frame: pl.DataFrame, *, wide: tuple[str, ...] = ()) -> None:
        self.frame, self.wide = frame, wide

    def _repr_html_(self) -> str:
        return table_html(self.frame, wide=self.wide)

    def __repr__(self) -> str:
        lines = [" | ".join(self.frame.columns)]
        lines += [" | ".join(_text(v) for v in row) for row in self.frame.iter_rows()]
        return "\n".join(lines)
