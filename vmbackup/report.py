"""The architect's plan as one self-contained HTML file: a page to forward, with every figure
inside it (PNG as ``data:`` URLs), no script, no external style sheet or font, and a content
security policy that forbids the page any network request.

Two layers:

- a generic renderer, :func:`render_report`: a title, then :class:`Section` s, each a heading
  and blocks (:class:`Paragraph`, :class:`Bullets`, :class:`Table` from a polars frame,
  :class:`Figure` from a matplotlib figure, :func:`figure`). Every text that comes from the
  inputs (VM and policy names, reasons, assumptions, titles) is HTML-escaped;
- a builder, :func:`plan_report`, composing the plan's sections (:data:`PLAN_SECTIONS`) from
  plain inputs: the fleet table, the fleet simulation's frames and arrays, the staggering
  proposal, the premium-space check, restore results, the bill, the eligibility scan, the
  onboarding plan and the assumptions.

The module draws with ``vmbackup.plots`` and writes nothing: the caller saves the string.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure

from vmbackup import plots
from vmbackup._checks import Column, check_frame, instance, non_negative_array, positive
from vmbackup.capacity import SPACE_RULES, UNMANAGED_DISKS_RETIRED, space_summary
from vmbackup.horizon import HorizonSummary
from vmbackup.onboarding import Onboarding
from vmbackup.schema import fleet_columns
from vmbackup.transfer import WINDOW_HOURS

if TYPE_CHECKING:
    from vmbackup.planning import EstatePlan

__all__ = [
    "PLAN_SECTIONS",
    "Bullets",
    "Figure",
    "Paragraph",
    "Section",
    "Table",
    "figure",
    "plan_report",
    "render_report",
]

#: The headings of the plan's sections, in order (:func:`plan_report`).
PLAN_SECTIONS = (
    "Estate summary",
    "Eligibility",
    "Onboarding waves",
    "Steady-state jobs vs the window",
    "Traffic jams and staggering",
    "Premium space before the first backup",
    "Restore estimate",
    "Bill per month and per meter",
    "Assumptions",
    "Rules cited (RULES.md)",
)

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1100px;padding:1.5rem 2rem;color:#1d2327;line-height:1.45}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #2a9d8f;padding-bottom:.2rem;margin-top:2.2rem}
.subtitle{color:#555;margin-top:0}nav ol{columns:2;padding-left:1.4rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.88rem}
caption{text-align:left;font-weight:600;padding:.2rem 0}
th,td{border:1px solid #ced4da;padding:.25rem .5rem;vertical-align:top}
th{background:#e9f5f3;text-align:left}td{white-space:nowrap}td.text{white-space:normal}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#f8f9fa}.more{color:#555;font-size:.85rem}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #e9ecef}
figcaption{color:#555;font-size:.85rem}footer{margin-top:3rem;color:#777;font-size:.8rem}
@media print{nav{display:none}h2{break-after:avoid}figure,table{break-inside:avoid}}
"""
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _text(value: object) -> str:
    """HTML-escaped text of an input."""
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text (escaped)."""

    text: str

    def html(self) -> str:
        return f"<p>{_text(self.text)}</p>"


@dataclass(frozen=True)
class Bullets:
    """A bulleted list of plain texts (escaped)."""

    items: tuple[str, ...]

    def html(self) -> str:
        items = "".join(f"<li>{_text(item)}</li>" for item in self.items)
        return f"<ul>{items}</ul>"


@dataclass(frozen=True)
class Table:
    """A table from a polars frame: column names as headers, at most ``max_rows`` rows.

    ``formats`` maps a column to a format spec (``",.1f"``); other numbers get a thousands
    separator and one decimal (floats), booleans read yes/no, nulls a dash.
    """

    frame: pl.DataFrame
    caption: str = ""
    max_rows: int = 25
    formats: Mapping[str, str] = field(default_factory=dict)
    anchors: Sequence[str] = ()  # an id for each row, so that a link can point at it

    def html(self) -> str:
        frame = self.frame
        shown = frame.head(self.max_rows)
        numeric = {c for c, t in frame.schema.items() if t.is_numeric()}
        prose = {
            c
            for c, t in frame.schema.items()
            if t == pl.String and (shown.select(pl.col(c).str.len_chars().max()).item() or 0) > 40
        }
        head = "".join(f"<th>{_text(c)}</th>" for c in frame.columns)
        rows = []
        for number, row in enumerate(shown.iter_rows()):
            cells = []
            for column, value in zip(frame.columns, row, strict=True):
                css = ' class="num"' if column in numeric else ""
                css = ' class="text"' if column in prose else css
                cells.append(f"<td{css}>{_text(_cell(value, self.formats.get(column)))}</td>")
            anchor = f' id="{_text(self.anchors[number])}"' if number < len(self.anchors) else ""
            rows.append(f"<tr{anchor}>{''.join(cells)}</tr>")
        caption = f"<caption>{_text(self.caption)}</caption>" if self.caption else ""
        more = ""
        if frame.height > shown.height:
            more = f'<p class="more">{frame.height - shown.height:,} more rows not shown</p>'
        return (
            f"<table>{caption}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{more}"
        )


def _cell(value: object, spec: str | None) -> str:
    """A table cell's text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if spec is not None:
        return format(value, spec)
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Figure:
    """A figure as PNG bytes, with its alternative text and an optional caption."""

    png: bytes
    alt: str
    caption: str = ""

    def html(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        caption = f"<figcaption>{_text(self.caption)}</figcaption>" if self.caption else ""
        return (
            f'<figure><img src="data:image/png;base64,{data}" alt="{_text(self.alt)}">'
            f"{caption}</figure>"
        )


Block = Paragraph | Bullets | Table | Figure


@dataclass(frozen=True)
class Section:
    """A section: its heading and its blocks, in order."""

    heading: str
    blocks: tuple[Block, ...] = ()

    @property
    def anchor(self) -> str:
        """The section's id in the page (from its heading)."""
        return re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-") or "section"


def figure(
    draw: Callable[[Axes], object],
    alt: str,
    *,
    caption: str = "",
    size: tuple[float, float] = (9.0, 4.2),
    dpi: int = 100,
) -> Figure:
    """Draw a figure with ``draw(ax)`` (a ``vmbackup.plots`` function) into a PNG block.

    Texts from the inputs drawn in it should pass through :func:`_literal` (a ``$`` would start
    matplotlib's math mode).
    """
    canvas = MplFigure(figsize=size, layout="constrained")
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # a name with a character the font lacks is drawn with a box, not refused
        warnings.filterwarnings(
            "ignore", message="Glyph .* missing from font", category=UserWarning
        )
        draw(canvas.add_subplot())
        canvas.savefig(buffer, format="png", dpi=dpi)
    return Figure(buffer.getvalue(), alt, caption)


def _literal(column: str) -> pl.Expr:
    """A text column as matplotlib draws it literally (``$`` escaped)."""
    return pl.col(column).str.replace_all("$", r"\$", literal=True)


def render_report(
    title: str, sections: Sequence[Section], *, subtitle: str = "", footer: str = ""
) -> str:
    """One self-contained HTML page: the title, a table of contents, and the sections.

    Every text is escaped; figures are embedded; the page loads nothing from anywhere.
    """
    for index, section in enumerate(sections):
        instance(f"sections[{index}]", section, Section, "a Section")
    rules = _rules_cited(sections)
    if rules is not None:
        sections = [*sections, rules]
    nav = "".join(f'<li><a href="#{s.anchor}">{_text(s.heading)}</a></li>' for s in sections)
    body = "".join(
        f'<section id="{s.anchor}"><h2>{_text(s.heading)}</h2>'
        + "".join(block.html() for block in s.blocks)
        + "</section>"
        for s in sections
    )
    if rules is not None:  # each cited item links to its line in the rules section
        body = re.sub(r">([^<]+)<", _link_items, body)
    sub = f'<p class="subtitle">{_text(subtitle)}</p>' if subtitle else ""
    foot = f"<footer>{_text(footer)}</footer>" if footer else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_text(title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{_text(title)}</h1>{sub}<nav><ol>{nav}</ol></nav></header>"
        f"<main>{body}</main>{foot}</body></html>\n"
    )


#: The heading of the report's last section: the catalogue's lines for every item it cites.
RULES_HEADING = PLAN_SECTIONS[-1]


def _items_in(sections: Sequence[Section]) -> list[str]:
    """The catalogue items the sections' texts cite, in catalogue order."""
    from vmbackup.catalogue import CITATION, rules

    text = " ".join(
        re.sub(r"<img [^>]*>", "", block.html()) for s in sections for block in s.blocks
    )
    cited = {m.group(0) for m in CITATION.finditer(re.sub(r"<[^>]+>", " ", text))}
    return [item for item in rules() if item in cited]


def _rules_cited(sections: Sequence[Section]) -> Section | None:
    """A section listing each cited rule item with its statement, status and main source, so a
    forwarded report says how sure each rule is without the repository at hand."""
    from vmbackup.catalogue import rule

    items = _items_in(sections)
    if not items:
        return None
    entries = [rule(item) for item in items]
    table = pl.DataFrame(
        {
            "item": items,
            "rule": [r.statement for r in entries],
            "status": [r.status for r in entries],
            "source": [r.sources[-1] for r in entries],
        }
    )
    return Section(
        RULES_HEADING,
        (
            Paragraph(
                "Each rule this report cites, with how sure the project is of it: documented "
                "(a current Microsoft page states it), seed only, project assumption or "
                "unverified. The full catalogue, with every source and note, is RULES.md in "
                "the vmbackup repository."
            ),
            Table(
                table,
                max_rows=len(items),
                anchors=[f"rule-{item.lower().replace('.', '-')}" for item in items],
            ),
        ),
    )


def _link_items(match: re.Match[str]) -> str:
    """A text node with each catalogue item linked to its row of the rules section."""
    from vmbackup.catalogue import CITATION, rules

    known = rules()

    def link(item: re.Match[str]) -> str:
        name = item.group(0)
        if name not in known:
            return name
        return f'<a href="#rule-{name.lower().replace(".", "-")}">{name}</a>'

    return ">" + CITATION.sub(link, match.group(1)) + "<"


# --- the plan ------------------------------------------------------------------------------------

_DAILY = {
    "day": Column("int", low=0),
    "jobs": Column("int", low=0),
    "over_window": Column("int", low=0),
    "worst_hours": Column("float", low=0),
    "peak_transfers": Column("float", low=0),
}
_STAGGER = {
    "spread_minutes": Column("float", low=0),
    "worst_hours": Column("float", low=0),
    "over_window": Column("int", low=0),
    "peak_transfers": Column("float", low=0),
    "chosen": Column("bool"),
}
_SPACE = {
    "vm_name": Column("str"),
    "rules": Column("str", allowed=SPACE_RULES),
    "scope": Column("str", allowed=("disks", "storage-account", "none")),
    "storage_account": Column("str", nullable=True),
    "premium_allocated_gb": Column("float", low=0),
    "premium_used_gb": Column("float", low=0),
    "space_gb": Column("float", low=0),
    "taken_gb": Column("float", low=0),
    "required_free_gb": Column("float", low=0),
    "shortfall_gb": Column("float", low=0),
    "status": Column("str", allowed=("ok", "short", "not-applicable")),
    "advice": Column("str"),
}
_RESTORE = {
    "vm_name": Column("str"),
    "status": Column("str", allowed=("ok", "blocked")),
    "tier": Column("str", nullable=True),
    "data_gb": Column("float", low=0, nullable=True),
    "rto_hours": Column("float", low=0, nullable=True),
    "findings": Column("str", nullable=True),
}
_MONTHLY = {
    "month": Column("date"),
    "days": Column("int", low=0),
    "pi_fee_usd": Column("float", low=0),
    "vault_storage_usd": Column("float", low=0),
    "snapshot_storage_usd": Column("float", low=0),
    "total_usd": Column("float", low=0),
}
_METERS = {
    "month": Column("date"),
    "meter": Column("str"),
    "quantity": Column("float", low=0),
    "cost": Column("float", low=0),
}
_ELIGIBILITY = {
    "vm_name": Column("str"),
    "protectable": Column("bool"),
    "policy_type": Column("str", allowed=("standard", "enhanced", "none")),
    "agentless_ok": Column("bool"),
    "assigned_ok": Column("bool", nullable=True),
    "reasons": Column("str"),
    "risks": Column("str"),
}


def plan_report(
    *,
    fleet: pl.DataFrame,
    daily: pl.DataFrame,
    job_hours: npt.ArrayLike,
    concurrency: npt.ArrayLike,
    bin_hours: float,
    stagger: pl.DataFrame,
    space: pl.DataFrame,
    restore: Mapping[str, pl.DataFrame],
    monthly: pl.DataFrame,
    meters: pl.DataFrame | None = None,
    currency: str = "USD",
    eligibility: pl.DataFrame | None = None,
    onboarding: Onboarding | None = None,
    onboarding_on_demand: Onboarding | None = None,
    assumptions: Sequence[str] = (),
    title: str = "Azure VM Backup plan",
    subtitle: str = "",
    schedules: Sequence[str] = (),
    horizon: HorizonSummary | None = None,
    horizon_monthly: pl.DataFrame | None = None,
) -> str:
    """The plan of an estate as one self-contained HTML page (sections :data:`PLAN_SECTIONS`).

    Parameters
    ----------
    fleet
        The fleet table, one row per disk (``vm_name``, ``policy``, ``schedule_hour``,
        ``disk_role``, ``disk_type``, ``allocated_gb``, ``used_gb``); optional
        ``schedule_utc_hour``, the UTC time Azure keeps for that start all year [h] (G13),
        shown beside the local one.
    daily, job_hours, concurrency
        From :func:`vmbackup.fleet.simulate_fleet`: ``FleetResult.daily``, the jobs'
        ``duration_hours`` [h], and ``FleetResult.concurrency`` (transfers in flight per bin).
    bin_hours
        The width of a ``concurrency`` bin [h] (``vmbackup.fleet.BIN_HOURS``).
    stagger
        The comparison table of :func:`vmbackup.fleet.propose_stagger`.
    space
        :func:`vmbackup.capacity.premium_space_check`'s table.
    restore
        Scenario label -> :func:`vmbackup.restore_options.estate_rto`'s table (the RTO of
        every VM restored at once, R1, R2, S19, S20); the first scenario's slowest VMs are
        listed.
    monthly, meters, currency
        ``FleetResult.monthly`` and ``FleetResult.meters`` (None: no meter table), and the
        prices' currency.
    eligibility
        :func:`vmbackup.eligibility.scan_estate`'s table (None: not scanned).
    onboarding
        :func:`vmbackup.onboarding.plan_onboarding`'s result (None: not planned).
    onboarding_on_demand
        The same estate planned with ``trigger="on-demand"``, to compare (None: not shown).
    assumptions
        Every assumption that filled a gap, one sentence each (printed as given, escaped).
    title, subtitle
        The page's title and the line below it.
    schedules
        One sentence per policy: its run time in UTC and in local time, with the dates the
        local time moves (G13; ``vmbackup.planning.policy_lines``), listed under the estate.
    horizon, horizon_monthly
        The bill over years (``vmbackup.horizon.horizon_summary`` and the monthly table of
        ``vmbackup.fleet.horizon_bill``): its year totals, steady state and the month the vault
        stops growing go in the bill section (None: not shown).

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    ValueError
        An input that is not what it should be, naming it (and the column).
    """
    fleet = check_frame(
        fleet,
        fleet_columns(
            "vm_name",
            "policy",
            "schedule_hour",
            "disk_role",
            "disk_type",
            "allocated_gb",
            "used_gb",
        )
        | {"schedule_utc_hour": fleet_columns("schedule_hour")["schedule_hour"]},
        name="fleet",
        label="vm_name",
    )
    daily = check_frame(daily, _DAILY, name="daily")
    hours = non_negative_array("job_hours", job_hours).ravel()
    in_flight = non_negative_array("concurrency", concurrency).ravel()
    bin_width = positive("bin_hours", bin_hours, high=24.0)
    stagger = check_frame(stagger, _STAGGER, name="stagger")
    space = check_frame(space, _SPACE, name="space", label="vm_name")
    if not isinstance(restore, Mapping):
        raise ValueError(f"restore must map a scenario label to a table, found {restore!r:.60}")
    restore = {
        str(label): check_frame(table, _RESTORE, name=f"restore[{label!r}]")
        for label, table in restore.items()
    }
    monthly = check_frame(monthly, _MONTHLY, name="monthly")
    if meters is not None:
        meters = check_frame(meters, _METERS, name="meters")
    if eligibility is not None:
        eligibility = check_frame(eligibility, _ELIGIBILITY, name="eligibility", label="vm_name")
    for name, plan in (("onboarding", onboarding), ("onboarding_on_demand", onboarding_on_demand)):
        if plan is not None:
            instance(name, plan, Onboarding, "an Onboarding (plan_onboarding)")
    for name, sentences in (("assumptions", assumptions), ("schedules", schedules)):
        if (
            isinstance(sentences, str)
            or not isinstance(sentences, Sequence)
            or not all(isinstance(a, str) for a in sentences)
        ):
            raise ValueError(f"{name} must be a sequence of sentences (str)")
    for name, text in (("title", title), ("subtitle", subtitle)):
        if not isinstance(text, str):
            raise ValueError(f"{name}={text!r:.60} must be text")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValueError(f"currency={currency!r:.30} must be a currency code such as 'USD'")
    for name, size in (
        ("daily", daily.height),
        ("job_hours", hours.size),
        ("concurrency", in_flight.size),
        ("monthly", monthly.height),
    ):
        if size == 0:
            raise ValueError(f"{name}: holds no value; the report needs a simulated day at least")
    days = daily.height
    sections = [
        _estate(fleet, tuple(schedules)),
        _eligibility(eligibility),
        _onboarding(onboarding, onboarding_on_demand),
        _steady(daily, hours, days),
        _jams(stagger, in_flight, bin_width, daily),
        _space(space),
        _restore(restore),
        _bill(monthly, meters, currency, horizon, horizon_monthly),
        Section("Assumptions", (Bullets(tuple(assumptions) or ("none stated",)),)),
    ]
    return render_report(
        title,
        sections,
        subtitle=subtitle,
        footer="Made with vmbackup: the rules of Azure VM Backup as tested Python models. "
        "Figures are the models' estimates, not measurements; each rule names its item, listed "
        "with how sure it is under 'Rules cited' and in the project's RULES.md.",
    )


def _hours_list(column: str) -> pl.Expr:
    """A column's distinct hours, sorted, as one text (``"21.5, 22.5"``)."""
    return pl.col(column).unique().sort().cast(pl.String).str.join(", ")


def _estate(fleet: pl.DataFrame, schedules: tuple[str, ...] = ()) -> Section:
    disks = fleet.filter(pl.col("disk_role") != "temp")
    utc = "schedule_utc_hour" in disks.columns
    vms = disks["vm_name"].n_unique()
    used_tb = float(disks["used_gb"].sum()) / 1000
    allocated_tb = float(disks["allocated_gb"].sum()) / 1000
    premium = disks.filter(pl.col("disk_type") == "premium")["vm_name"].n_unique()
    by_policy = (
        disks.group_by("policy")
        .agg(
            VMs=pl.col("vm_name").n_unique(),
            disks=pl.len(),
            used_tb=pl.col("used_gb").sum() / 1000,
            allocated_tb=pl.col("allocated_gb").sum() / 1000,
            start_hours=_hours_list("schedule_hour"),
            **({"utc_hours": _hours_list("schedule_utc_hour")} if utc else {}),
        )
        .sort("VMs", descending=True)
        .rename(
            {
                "used_tb": "used [TB]",
                "allocated_tb": "allocated [TB]",
                "start_hours": "local start [h]",
                **({"utc_hours": "UTC start, all year [h]"} if utc else {}),
            }
        )
    )
    text = (
        f"{vms:,} VMs with {disks.height:,} OS and data disks to back up (temporary disks are "
        f"never backed up): {used_tb:,.1f} TB of data on {allocated_tb:,.1f} TB allocated; "
        f"{premium:,} VMs have premium disks."
    )
    return Section(
        "Estate summary",
        (
            Paragraph(text),
            Table(
                by_policy,
                "VMs per policy (local start: in the policy's time zone, as of its reference "
                "date; Azure keeps the UTC start all year, G13)",
                formats={"used [TB]": ",.2f", "allocated [TB]": ",.2f"},
            ),
            *(
                (
                    Paragraph(
                        "Run times: Azure does not adjust backups for summer time (G13), so "
                        "each keeps its UTC time and its local time moves by an hour when the "
                        "zone changes its clock:"
                    ),
                    Bullets(schedules),
                )
                if schedules
                else ()
            ),
        ),
    )


def _eligibility(scan: pl.DataFrame | None) -> Section:
    if scan is None:
        return Section("Eligibility", (Paragraph("The estate was not scanned for eligibility."),))
    counts = (
        scan.group_by("policy_type")
        .agg(VMs=pl.len(), agentless_possible=pl.col("agentless_ok").sum())
        .sort("VMs", descending=True)
        .rename({"policy_type": "simplest policy type", "agentless_possible": "agentless possible"})
    )
    refused = scan.filter(~pl.col("protectable"))
    misassigned = scan.filter(pl.col("assigned_ok").not_().fill_null(False))
    risky = scan.filter(pl.col("risks") != "")
    text = (
        f"{scan.height - refused.height:,} of {scan.height:,} VMs can be protected; "
        f"{scan.filter(pl.col('policy_type') == 'enhanced').height:,} need the Enhanced policy "
        f"(G8, G11); {refused.height:,} cannot be protected by any policy; "
        f"{misassigned.height:,} are assigned a policy that cannot protect them; "
        f"{risky.height:,} carry a risk."
    )
    blocks: list[Block] = [Paragraph(text), Table(counts, "VMs by the simplest policy type")]
    problems = scan.filter(~pl.col("protectable") | (pl.col("policy_type") == "enhanced"))
    problems = pl.concat([problems, misassigned]).unique("vm_name", maintain_order=True)
    if problems.height:
        blocks.append(
            Table(
                problems.select("vm_name", "policy_type", "reasons").rename(
                    {"vm_name": "VM", "policy_type": "simplest policy type"}
                ),
                "VMs that need Enhanced, cannot be protected, or are under the wrong policy",
            )
        )
    if risky.height:
        blocks.append(
            Table(
                risky.group_by("risks").agg(VMs=pl.len()).sort("VMs", descending=True),
                "Risks (each VM may carry several, joined by ';')",
            )
        )
    return Section("Eligibility", tuple(blocks))


def _onboarding(result: Onboarding | None, other: Onboarding | None = None) -> Section:
    heading = "Onboarding waves"
    if result is None:
        result, other = other, None
    if result is None:
        return Section(heading, (Paragraph("The first backups were not planned."),))
    first = result.vms.filter(pl.col("kind") == "first backup")
    new_disks = result.vms.filter(pl.col("kind") == "new disk")
    when = (
        "that starts first backups at their scheduled hours"
        if result.trigger == "scheduled"
        else "that triggers first backups on demand"
    )
    text = (
        f"{first.height:,} VMs need their first backup (S12, with the extension install, S14)"
        f" and {new_disks.height:,} protected VMs a new disk's (S15). Enabled in the waves "
        f"below, every VM has its first recovery point after {result.days_to_protected} day(s);"
        f" no plan {when} can do it in fewer than {result.lower_bound_days}. "
        f"{result.over_24h.height:,} first backups take more than 24 hours. Each VM's bill "
        "starts on the day its first backup succeeds (S23)."
    )
    steady = (
        "The waves leave the steady-state jobs the ingest they need, hour by hour, so those "
        "jobs run as they would without onboarding: see 'Steady-state jobs vs the window'. "
        "Where first backups share an hour with incremental jobs, they slow down; the "
        "durations below include it."
    )
    if result.steady_over_window:
        steady += (
            f" {result.steady_over_window:,} incremental jobs still end beyond the 24 h window "
            "while the waves run (S11): first backups of VMs too wide for the vault's ingest."
        )
    waves = result.waves.rename(
        {
            "vms": "VMs enabled",
            "first_backup_gb": "first-backup data [GB]",
            "protected_vms": "VMs protected by day's end",
        }
    )
    long = result.over_24h.head(15).select(
        "vm_name", "wave_day", "duration_hours", "sent_gb", "first_success_day"
    )
    wide = result.vms.filter(~pl.col("within_capacity"))
    blocks: list[Block] = [Paragraph(text), Paragraph(steady)]
    if other is not None:
        blocks += _compare_triggers(result, other)
    blocks += [
        figure(
            lambda ax: plots.plot_onboarding_waves(result.waves, ax),
            "Bars: VMs enabled per day; line: VMs with a recovery point by the end of each day",
        ),
        figure(
            lambda ax: plots.plot_vault_ingest(result.hourly, ax),
            "Vault ingest per hour: steady-state jobs and first backups against the capacity",
            size=(10.0, 4.0),
        ),
        Table(waves, "The waves: VMs to enable per day", max_rows=60),
    ]
    if long.height:
        blocks.append(
            Table(
                long.rename(
                    {
                        "vm_name": "VM",
                        "wave_day": "wave day",
                        "duration_hours": "duration [h]",
                        "sent_gb": "data [GB]",
                        "first_success_day": "first recovery point on day",
                    }
                ),
                "First backups over 24 hours (S12), longest first",
            )
        )
    if wide.height:
        blocks.append(
            Table(
                wide.select("vm_name", "wave_day", "duration_hours", "jam_delay_hours").rename(
                    {
                        "vm_name": "VM",
                        "wave_day": "wave day",
                        "duration_hours": "duration [h]",
                        "jam_delay_hours": "lost to the overload [h]",
                    }
                ),
                "VMs whose disks alone ask more than the vault ingests: each runs without other "
                "first backups",
            )
        )
    return Section(heading, tuple(blocks))


def _compare_triggers(result: Onboarding, other: Onboarding) -> list[Block]:
    """The same estate's first backups at their scheduled hours and triggered on demand."""
    plans = sorted((result, other), key=lambda plan: plan.trigger != "scheduled")
    table = pl.DataFrame(
        {
            "first backups": [
                "at the scheduled hour (S1)" if plan.trigger == "scheduled" else "on demand (X3)"
                for plan in plans
            ],
            "days until every VM is protected": [plan.days_to_protected for plan in plans],
            "lower bound [days]": [plan.lower_bound_days for plan in plans],
            "over 24 h": [plan.over_24h.height for plan in plans],
        }
    )
    scheduled, on_demand = plans
    text = (
        f"Triggered on demand ('Backup now', at the hours the plan picks, X3) instead of at "
        f"their scheduled hours, the first backups would take {on_demand.days_to_protected} "
        f"day(s) instead of {scheduled.days_to_protected}: VMs that share a schedule hour "
        "(S13) otherwise all wait for the same hour of the day."
    )
    if on_demand.days_to_protected >= scheduled.days_to_protected:
        text = (
            "Triggering the first backups on demand ('Backup now', X3) would not protect the "
            f"estate sooner ({on_demand.days_to_protected} day(s))."
        )
    blocks: list[Block] = [Paragraph(text), Table(table, "Scheduled or on-demand first backups")]
    return blocks


def _steady(daily: pl.DataFrame, hours: npt.NDArray[np.float64], days: int) -> Section:
    over = int((hours > WINDOW_HOURS).sum())
    worst = float(hours.max(initial=0.0))
    text = (
        f"Over the {days} simulated day(s): {hours.size:,} backup jobs, {over:,} over the "
        f"24 h window (S11); the worst took {worst:.1f} h from its scheduled start to its last "
        "disk. 'Worst' is over the same simulated days everywhere in this report."
    )
    table = daily.select("day", "jobs", "over_window", "worst_hours", "peak_transfers").rename(
        {
            "over_window": "over 24 h",
            "worst_hours": "worst job [h]",
            "peak_transfers": "peak transfers in flight",
        }
    )
    return Section(
        "Steady-state jobs vs the window",
        (
            Paragraph(text),
            figure(
                lambda ax: plots.plot_job_durations(
                    {"as scheduled": hours},
                    ax,
                    title=f"How long the backup jobs of {days} simulated day(s) took",
                ),
                "Histogram of job durations against the 24 hour window",
            ),
            Table(table, "Per simulated day", max_rows=31, formats={"worst job [h]": ".1f"}),
        ),
    )


def _jams(
    stagger: pl.DataFrame, in_flight: npt.NDArray[np.float64], bin_hours: float, daily: pl.DataFrame
) -> Section:
    chosen = stagger.filter(pl.col("chosen"))
    base = stagger.head(1)
    if chosen.height and base.height and float(chosen["spread_minutes"][0]) > 0:
        row, first = chosen.row(0, named=True), base.row(0, named=True)
        text = (
            f"Scheduling many VMs at once jams the vault (S13). Spreading the start times that "
            f"VMs share over ±{row['spread_minutes']:g} minutes cuts the worst job from "
            f"{first['worst_hours']:.1f} h to {row['worst_hours']:.1f} h and the peak from "
            f"{first['peak_transfers']:.0f} to {row['peak_transfers']:.0f} transfers in flight."
        )
    else:
        text = "No spread of the start times shortens the worst job: keep the schedule (S13)."
    peak = float(in_flight.max(initial=0.0))
    hours_shown = min(72.0, max(24.0, in_flight.size * bin_hours))
    table = stagger.rename(
        {
            "spread_minutes": "spread [± min]",
            "worst_hours": "worst job [h]",
            "over_window": "jobs over 24 h",
            "peak_transfers": "peak in flight",
        }
    )
    return Section(
        "Traffic jams and staggering",
        (
            Paragraph(text),
            Paragraph(
                f"At the peak, {peak:,.0f} transfers are in flight at once (over "
                f"{daily.height} simulated day(s); the first {hours_shown:.0f} h are drawn)."
            ),
            figure(
                lambda ax: plots.plot_in_flight(
                    {"as scheduled": in_flight}, bin_hours, ax, hours=(0.0, hours_shown)
                ),
                "Transfers in flight over time, as scheduled",
                size=(10.0, 4.0),
            ),
            Table(table, "Staggering candidates (the chosen one is marked)"),
        ),
    )


def _space(space: pl.DataFrame, rules: str = "today") -> Section:
    summary = space_summary(space, space["rules"][0] if space.height else rules)
    short = space.filter(pl.col("status") == "short")
    checked = space.filter(pl.col("status") != "not-applicable")
    if summary.rules == "seed":
        rule = (
            "The seed's rule (S21): premium storage with Instant Restore needs half its "
            "allocated space free for the first backup"
        )
    else:
        rule = (
            "Today's rule (G15; Microsoft's Instant Restore page, "
            "backup-instant-restore-capability.md, ms.date 2023-07-20): only VMs on unmanaged "
            "premium disks need room for their first backup, in their storage account (half of "
            "what its disks allocate must be free; a 35 TB account assumed); managed disks have "
            "no storage account to fill. Unmanaged disks were retired on "
            f"{UNMANAGED_DISKS_RETIRED:%Y-%m-%d} (first announced for 2025-09-30)"
        )
    text = f"{rule}: {summary.sentence()}."
    if summary.checked and summary.rules == "today":
        names = ", ".join(summary.checked[:20]) + (", ..." if len(summary.checked) > 20 else "")
        text += f" Checked: {names}."
    if summary.managed_exempt:
        count = summary.managed_exempt
        text += (
            f" {count:,} VM{'' if count == 1 else 's'} on managed premium disks: not applicable"
            " (G15)."
        )
    blocks: list[Block] = [Paragraph(text)]
    if checked.height:
        shown = min(15, checked.height)
        drawn = checked.with_columns(_literal("vm_name"), _literal("storage_account"))
        caption = (
            "Unmanaged premium storage accounts: allocated and free against the 50 percent "
            "mark, per VM (its account)"
            if summary.rules == "today"
            else "Premium disks' used and free space against the 50 percent mark, per VM"
        )
        blocks.append(
            figure(
                lambda ax: plots.plot_space_check(drawn, ax),
                caption,
                size=(9.0, max(3.0, 0.3 * shown + 1.5)),
            )
        )
    if short.height:
        blocks.append(
            Table(
                short.select("vm_name", "shortfall_gb", "advice").rename(
                    {"vm_name": "VM", "shortfall_gb": "to free [GB]"}
                ),
                "VMs short of premium space, largest shortfall first",
                max_rows=15,
            )
        )
    return Section("Premium space before the first backup", tuple(blocks))


def _restore(restore: Mapping[str, pl.DataFrame]) -> Section:
    if not restore:
        return Section("Restore estimate", (Paragraph("No restore was estimated."),))
    rows = []
    for label, table in restore.items():
        ok = table.filter(pl.col("status") == "ok")
        rows.append(
            (
                label,
                table.height,
                int((ok["tier"] == "snapshot").sum()),
                int(table.height - ok.height),
                float(ok["rto_hours"].median() or 0.0) if ok.height else 0.0,  # type: ignore[arg-type]
                float(ok["rto_hours"].max() or 0.0) if ok.height else 0.0,  # type: ignore[arg-type]
            )
        )
    frame = pl.DataFrame(
        rows,
        schema=[
            "scenario",
            "VMs",
            "from snapshots",
            "blocked",
            "median RTO [h]",
            "last VM usable after [h]",
        ],
        orient="row",
    )
    fastest = min(rows, key=lambda r: r[5])
    text = (
        "Every protected VM restored at once, as after a regional disaster: the RTO of a VM is "
        "the time until it is usable again (its data restored from the snapshot or the vault "
        "tier, then the option's finishing steps; R1, R2). Targets shared by many disks slow "
        f"each other (S19, S20, S22): the fastest scenario, '{fastest[0]}', has every VM back "
        f"after {fastest[5]:.1f} h."
    )
    first_label, first = next(iter(restore.items()))
    slowest = (
        first.filter(pl.col("status") == "ok")
        .sort("rto_hours", descending=True)
        .head(10)
        .select(
            pl.col("vm_name").alias("VM"),
            pl.col("tier").alias("from"),
            pl.col("data_gb").alias("data [GB]"),
            pl.col("rto_hours").alias("RTO [h]"),
        )
    )
    blocks: list[Paragraph | Table] = [
        Paragraph(text),
        Table(frame, "Restore scenarios"),
        Table(slowest, f"The slowest VMs to come back ({first_label})"),
    ]
    blocked = first.filter(pl.col("status") == "blocked")
    if blocked.height:
        reasons = blocked.group_by("findings").agg(VMs=pl.len()).sort("VMs", descending=True)
        blocks.append(
            Table(reasons.rename({"findings": "why blocked"}), "VMs that cannot restore this way")
        )
    return Section("Restore estimate", tuple(blocks))


def _horizon_blocks(
    horizon: HorizonSummary | None, monthly: pl.DataFrame | None, currency: str
) -> list[Block]:
    """The bill over years: totals, steady state, when the vault stops growing (S28, A32)."""
    if horizon is None or monthly is None:
        return []
    if horizon.vault_stops_growing is not None and horizon.steady_month_usd is not None:
        steady = (
            f"The vault stops growing in {horizon.vault_stops_growing:%B %Y}; from then on the "
            f"estate costs about {horizon.steady_month_usd:,.2f} {currency} a month (steady "
            f"state), with {horizon.final_vault_gb:,.0f} GB in the vault."
        )
    else:
        steady = (
            f"The vault is still growing at the end of the horizon ({horizon.final_vault_gb:,.0f}"
            f" GB; last month {horizon.last_month_usd:,.2f} {currency}): no steady state yet."
        )
    totals = [("first year", horizon.first_year_usd), ("three years", horizon.three_year_usd)]
    text = (
        f"Over {horizon.months} months, with each VM's simulated churn and its own recovery "
        "point chain in closed form (no jobs simulated beyond the days above; a point holds "
        "the distinct change since the one before it, A32, never more than the VM's data). "
        + " ".join(f"The {name} costs {value:,.2f} {currency}." for name, value in totals if value)
        + " "
        + steady
    )
    yearly = (
        monthly.with_row_index("m")
        .group_by((pl.col("m") // 12 + 1).alias("year"), maintain_order=True)
        .agg(
            pl.col("vault_gb").last().alias("vault at year end [GB]"),
            pl.col("total_usd").sum().alias(f"cost [{currency}]"),
        )
    )
    return [Paragraph(text), Table(yearly, "The bill year by year")]


def _bill(
    monthly: pl.DataFrame,
    meters: pl.DataFrame | None,
    currency: str,
    horizon: HorizonSummary | None = None,
    horizon_monthly: pl.DataFrame | None = None,
) -> Section:
    total = float(monthly["total_usd"].sum())
    text = (
        f"The simulated days cost {total:,.2f} {currency} in all (protected instances, vault "
        "storage and Instant Restore snapshots; P1-P7). Months with fewer simulated days are "
        "billed for those days only (P3)."
    )
    table = monthly.rename(
        {
            "pi_fee_usd": f"protected instances [{currency}]",
            "vault_storage_usd": f"vault storage [{currency}]",
            "snapshot_storage_usd": f"snapshots [{currency}]",
            "total_usd": f"total [{currency}]",
        }
    ).drop([c for c in ("vault_gb",) if c in monthly.columns])
    money = {c: ",.2f" for c in table.columns if c.endswith(f"[{currency}]")}
    blocks: list[Block] = [
        Paragraph(text),
        figure(
            lambda ax: plots.plot_monthly_bill(
                monthly, ax, title="Bill per month", currency=currency
            ),
            "Stacked bars of the bill per month: protected instances, vault storage, snapshots",
        ),
        Table(table, "Per month", formats=money),
        *_horizon_blocks(horizon, horizon_monthly, currency),
    ]
    if meters is not None:
        blocks.append(
            Table(
                meters.rename({"cost": f"cost [{currency}]"}),
                "Per month and invoice meter (P7)",
                max_rows=60,
                formats={"quantity": ",.2f", f"cost [{currency}]": ",.2f"},
            )
        )
    return Section("Bill per month and per meter", tuple(blocks))


def estate_report(estate: EstatePlan) -> str:
    """The HTML page of an architect's plan (:class:`vmbackup.planning.EstatePlan`, what
    ``python -m vmbackup plan ... --report plan.html`` writes): :func:`plan_report` fed from
    the plan's parts, with the RTO in one account per VM and in the shared accounts."""
    from dataclasses import replace

    from vmbackup.capacity import premium_space_check
    from vmbackup.fleet import BIN_HOURS, clock_start_hours
    from vmbackup.planning import policy_lines

    options, result = estate.options, estate.result
    space = estate.premium_space
    if space.height == 0 or "status" not in space.columns:
        space = premium_space_check(estate.fleet.head(0), rules=options.space_rules)
    accounts = estate.restore_accounts
    restore = {}
    if estate.restore_per_vm.height:
        restore = {
            "one storage account per VM (S20)": estate.restore_per_vm,
            f"{accounts} balanced account{'s' if accounts != 1 else ''}": estate.restore_shared,
        }
    age = options.restore_point_age_days
    subtitle = (
        f"{Path(str(options.fleet)).name}: {estate.plan.vms:,} protected VMs, {options.days} "
        f"simulated days from {options.start:%Y-%m-%d}; prices {estate.prices.region} "
        f"({estate.prices.currency}, {estate.prices.dated()}); restore: {options.restore_option} "
        f"from a point {age:g} day(s) old"
    )
    # a blank start time is the policy's run time (in the policy's own time zone, S1); Azure
    # keeps its UTC time all year (G13), fixed as of the policy's reference date (A7)
    plan = estate.plan
    run_hour = pl.DataFrame(
        {
            "vm_name": plan.vm_names,
            "policy_run_hour": np.array([p.run_hour for p in plan.policies])[plan.policy_index],
            "schedule_utc_hour": clock_start_hours(
                replace(plan, time_zone="Etc/UTC"), options.start
            ),
        },
        schema={
            "vm_name": pl.String,
            "policy_run_hour": pl.Float64,
            "schedule_utc_hour": pl.Float64,
        },
    )
    used = [p.name for i, p in enumerate(plan.policies) if (plan.policy_index == i).any()]
    fleet = (
        estate.fleet.join(run_hour, on="vm_name", how="left", maintain_order="left")
        .with_columns(schedule_hour=pl.col("schedule_hour").fill_null(pl.col("policy_run_hour")))
        .drop("policy_run_hour")
    )
    return plan_report(
        fleet=fleet,
        daily=result.daily,
        job_hours=result.jobs["duration_hours"].to_numpy(),
        concurrency=result.concurrency,
        bin_hours=BIN_HOURS,
        stagger=estate.stagger,
        space=space,
        restore=restore,
        monthly=result.monthly,
        meters=result.meters,
        currency=estate.prices.currency,
        horizon=estate.horizon,
        horizon_monthly=estate.horizon_monthly,
        eligibility=estate.eligibility,
        onboarding=estate.onboarding,
        onboarding_on_demand=estate.onboarding_on_demand,
        assumptions=tuple(str(a) for a in estate.assumptions),
        subtitle=subtitle,
        schedules=tuple(policy_lines(estate.policies, used, options.start)),
    )
