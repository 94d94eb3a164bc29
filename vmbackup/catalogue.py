"""The rule catalogue: every rule item the project cites, with its source and how sure we are.

Each item (``S21``, ``G9.2``, ``A1``...) has a one-line statement in the project's words, its
sources (the seed's paragraph, Microsoft's page and its ``ms.date``, Terraform's provider, a REST
example) and a **status**:

``documented``
    A current Microsoft page (or Azure's REST specification, or Terraform's provider docs) states
    it, and the page was read.
``seed only``
    Only the service description the course follows (the seed) says it.
``project assumption``
    A figure or reading the project chose, with why.
``unverified``
    Claimed somewhere, but no source could confirm it; the entry says what was tried.

The families: S (the seed's rules), L (Linux scripts), P (pricing), Y (policy), R (restore),
X (limits), H (what an estate records), G (today's service, where it refines the seed) and
A (the project's own assumptions). The data lives in ``vmbackup/catalogue_data/*.toml``; this
module is the only reader, :func:`render_markdown` writes ``RULES.md`` from it, and a test fails
when anything in the repository cites an item the catalogue lacks.

Only a documented rule may be reported as Azure refusing something (:func:`may_refuse`).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CITATION",
    "STATUSES",
    "Rule",
    "cite",
    "may_refuse",
    "render_markdown",
    "rule",
    "rules",
]

#: The four levels of confidence, surest first.
STATUSES = ("documented", "seed only", "project assumption", "unverified")
#: An item id as the project cites it: a family letter and a number, maybe a sub-item (G2.1).
CITATION = re.compile(r"\b([SPYLRXGHA])(\d{1,2})(?:\.(\d{1,2}))?\b")
_DATA = Path(__file__).with_name("catalogue_data")
_FAMILIES = {
    "S": "The seed's rules (the service description the course follows)",
    "G": "The service today, where Microsoft's current pages refine or supersede the seed",
    "P": "Pricing",
    "Y": "Policy",
    "L": "Linux pre- and post-scripts",
    "R": "Restore",
    "X": "Limits and older planning figures",
    "H": "What an estate records (history and actuals)",
    "A": "The project's own assumptions",
}


@dataclass(frozen=True)
class Rule:
    """One item of the catalogue.

    Attributes
    ----------
    item
        Its id (``"S21"``, ``"G2.1"``).
    statement
        The rule in one line, in the project's words.
    status
        One of :data:`STATUSES`.
    sources
        Where it comes from: the seed's paragraph, a page with its ``ms.date``...
    ms_date
        ``ms.date`` of the main Microsoft page cited (ISO date), or ``""``.
    today
        How today's service differs from the seed's rule, or ``""``.
    since, until
        When the rule (or today's version of it) took effect and stopped applying (ISO dates).
    note
        Where sources disagree; for an assumption why; for an unverified rule what was tried.
    """

    item: str
    statement: str
    status: str
    sources: tuple[str, ...]
    ms_date: str = ""
    today: str = ""
    since: str = ""
    until: str = ""
    note: str = ""


def _sort_key(item: str) -> tuple[int, int, int]:
    match = CITATION.fullmatch(item)
    if match is None:
        raise ValueError(f"catalogue: {item!r} is not an item id like 'S21' or 'G2.1'")
    family, number, sub = match.groups()
    return list(_FAMILIES).index(family), int(number), int(sub or 0)


def _entry(item: str, fields: dict[str, object], file: str) -> Rule:
    where = f"catalogue_data/{file} [{item}]"
    _sort_key(item)
    status = fields.get("status")
    if status not in STATUSES:
        raise ValueError(f"{where}: status={status!r} must be one of {list(STATUSES)}")
    sources = fields.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise ValueError(f"{where}: sources must be a non-empty list of texts")
    text = {}
    for key in ("statement", "ms_date", "today", "since", "until", "note"):
        value = fields.get(key, "")
        if not isinstance(value, str):
            value = str(value)  # TOML dates
        text[key] = value
    if not text["statement"]:
        raise ValueError(f"{where}: statement is missing")
    return Rule(item=item, status=str(status), sources=tuple(sources), **text)


@functools.cache
def rules() -> dict[str, Rule]:
    """Every item of the catalogue, by id, in catalogue order (S, G, P, Y, L, R, X, H, A).

    Examples
    --------
    >>> rules()["S26"].status
    'documented'
    """
    found: dict[str, Rule] = {}
    for path in sorted(_DATA.glob("*.toml")):
        with path.open("rb") as handle:
            table = tomllib.load(handle)
        for item, fields in table.items():
            if item in found:
                raise ValueError(f"catalogue_data/{path.name}: item {item} defined twice")
            found[item] = _entry(item, fields, path.name)
    return dict(sorted(found.items(), key=lambda pair: _sort_key(pair[0])))


def rule(item: str) -> Rule:
    """The catalogue's entry for ``item``.

    Raises
    ------
    ValueError
        ``item`` is not in the catalogue.
    """
    table = rules()
    if item not in table:
        raise ValueError(f"item={item!r} is not in the rule catalogue (RULES.md)")
    return table[item]


def may_refuse(item: str) -> bool:
    """Whether a finding may say Azure refuses something on the strength of ``item``: only a
    documented rule can.

    >>> may_refuse("A1"), may_refuse("Y3")
    (False, True)
    """
    return rule(item).status == "documented"


def cite(item: str) -> str:
    """``item`` with its status, as findings and reports print it: ``"G2.2 (unverified)"``."""
    return f"{item} ({rule(item).status})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown() -> str:
    """The catalogue as the Markdown page ``RULES.md`` (one table per family, anchors by id)."""
    table = rules()
    counts = {s: sum(r.status == s for r in table.values()) for s in STATUSES}
    lines = [
        "# The rule catalogue",
        "",
        "Every rule item the project cites: the notebooks, the report, `lint` findings and the",
        "tests name these ids. Each has a status: **documented** (a current Microsoft page, REST",
        "specification or Terraform provider page states it), **seed only** (only the service",
        "description the course follows says it), **project assumption** (chosen by the project;",
        "the note says why) or **unverified** (claimed, not confirmed; the note says what was",
        "tried). Only a documented rule is ever reported as Azure refusing something.",
        "",
        "Written from `vmbackup/catalogue_data/*.toml` by `python tools/render_rules.py`; do",
        "not edit by hand. "
        + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        + f" ({len(table)} items).",
        "",
    ]
    for family, title in _FAMILIES.items():
        members = [r for r in table.values() if r.item.startswith(family)]
        if not members:
            continue
        lines += [f"## {title} ({family})", ""]
        lines += ["| item | rule | status | sources | notes |", "|---|---|---|---|---|"]
        for r in members:
            notes = []
            if r.today:
                notes.append(f"Today: {r.today}")
            if r.since or r.until:
                notes.append(
                    "In force"
                    + (f" from {r.since}" if r.since else "")
                    + (f" until {r.until}" if r.until else "")
                    + "."
                )
            if r.note:
                notes.append(r.note)
            lines.append(
                f'| <a id="{r.item.lower().replace(".", "-")}"></a>{r.item} | '
                f"{_cell(r.statement)} | {r.status} | {_cell('; '.join(r.sources))} | "
                f"{_cell(' '.join(notes))} |"
            )
        lines.append("")
    return "\n".join(lines)
