"""The plan report: one self-contained HTML page, every section, every input text escaped."""

from __future__ import annotations

import base64
import re
from typing import Any

import numpy as np
import polars as pl
import pytest
from report_inputs import fleet_with_names, sample_inputs

from vmbackup.capacity import space_summary
from vmbackup.catalogue import rule, rules
from vmbackup.report import (
    PLAN_SECTIONS,
    Bullets,
    Paragraph,
    Section,
    Table,
    plan_report,
    render_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HOSTILE = '<script>alert("x")</script> & $x$'


def plain(page: str) -> str:
    """The page with the links from cited items to the rules section taken out."""
    return re.sub(r'<a href="#rule-[^"]+">([^<]+)</a>', r"\1", page)


@pytest.fixture(scope="module")
def page() -> str:
    return plain(plan_report(**sample_inputs()))


def test_cited_items_link_to_their_rule_with_its_status() -> None:
    """Every item the report cites links to a row of the rules section, which gives the
    catalogue's status: a forwarded report says how sure each rule is."""
    linked = plan_report(**sample_inputs())
    targets = set(re.findall(r'<a href="#(rule-[^"]+)">', linked))
    rows = set(re.findall(r'<tr id="(rule-[^"]+)">', linked))
    assert targets == rows
    assert {"rule-s11", "rule-p1", "rule-g15"} <= rows
    for anchor, cells in re.findall(r'<tr id="(rule-[^"]+)">(.*?)</tr>', linked):
        item = next(i for i in rules() if f"rule-{i.lower().replace('.', '-')}" == anchor)
        assert f"<td>{rule(item).status}</td>" in cells, item


def images(page: str) -> list[bytes]:
    return [
        base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    ]


def test_every_section_in_order(page: str) -> None:
    """The plan's sections appear as headings, in order, each linked from the contents."""
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == list(PLAN_SECTIONS)
    for anchor in re.findall(r'<section id="([^"]+)">', page):
        assert f'href="#{anchor}"' in page


def test_the_page_is_self_contained(page: str) -> None:
    """No script, style sheet, font or image from anywhere: figures are embedded PNGs, and a
    content security policy forbids every request."""
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert not re.search(r'(src|href)="(?!data:|#)', page)
    assert "default-src 'none'" in page
    pictures = images(page)
    assert len(pictures) >= 6  # waves, ingest, durations, in flight, space, bill
    assert all(picture.startswith(PNG_MAGIC) for picture in pictures)
    assert all(alt.strip() for alt in re.findall(r'<img [^>]*alt="([^"]*)"', page))


def test_the_numbers_come_from_the_inputs(page: str) -> None:
    """S12, S23, S21, S11: the page states the onboarding days, the premium shortfall and the
    jobs over the window that the models computed."""
    inputs = sample_inputs()
    onboarding = inputs["onboarding"]
    assert f"after {onboarding.days_to_protected} day(s)" in page
    faster = inputs["onboarding_on_demand"].days_to_protected
    assert f"would take {faster} day(s) instead of {onboarding.days_to_protected}" in page
    assert space_summary(inputs["space"]).sentence() in page  # G15: 0 of 8 VMs short
    over = int((inputs["job_hours"] > 24).sum())
    assert f"{over:,} over the 24 h window" in page
    for line in inputs["assumptions"]:
        assert f"<li>{line}</li>" in page


def test_input_texts_are_escaped() -> None:
    """VM names, reasons, assumptions and the subtitle are escaped, never markup; a ``$`` in a
    VM name is drawn as it is."""
    inputs = sample_inputs()
    name = inputs["space"].filter(pl.col("status") != "not-applicable")["vm_name"][0]
    page = plan_report(
        **inputs
        | {
            "fleet": fleet_with_names({name: HOSTILE}),
            "space": inputs["space"].with_columns(pl.col("vm_name").replace({name: HOSTILE})),
            "eligibility": inputs["eligibility"].with_columns(risks=pl.lit(HOSTILE)),
            "assumptions": (HOSTILE,),
            "subtitle": HOSTILE,
            "title": "<b>plan</b>",
        }
    )
    assert "<script>" not in page
    assert "<b>plan</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; $x$" in page
    assert "<title>&lt;b&gt;plan&lt;/b&gt;</title>" in page


def test_a_name_the_font_cannot_draw_is_not_an_error() -> None:
    """A VM name with a control character is drawn with a box in the figures, not refused."""
    inputs = sample_inputs()
    name = inputs["space"].filter(pl.col("status") != "not-applicable")["vm_name"][0]
    page = plan_report(
        **inputs
        | {"space": inputs["space"].with_columns(pl.col("vm_name").replace({name: "vm\x1b"}))}
    )
    assert "vm\x1b" in page


def test_parts_not_computed_are_said_so() -> None:
    """Without an eligibility scan or an onboarding plan, their sections say so; every section
    is still there."""
    page = plain(
        plan_report(
            **sample_inputs()
            | {"eligibility": None, "onboarding": None, "onboarding_on_demand": None}
        )
    )
    assert re.findall(r"<h2>(.*?)</h2>", page) == list(PLAN_SECTIONS)
    assert "not scanned for eligibility" in page
    assert "first backups were not planned" in page


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"daily": pl.DataFrame({"day": [0]})}, "daily"),
        ({"job_hours": np.array([1.0, -2.0])}, "job_hours"),
        ({"job_hours": []}, "job_hours"),
        ({"daily": sample_inputs()["daily"].clear()}, "daily"),
        ({"concurrency": "many"}, "concurrency"),
        ({"bin_hours": 0.0}, "bin_hours"),
        ({"restore": [1, 2]}, "restore"),
        ({"restore": {"x": pl.DataFrame({"vm_name": ["a"]})}}, "restore"),
        ({"onboarding": "waves"}, "onboarding"),
        ({"onboarding_on_demand": 3}, "onboarding_on_demand"),
        ({"eligibility": pl.DataFrame({"vm_name": ["a"]})}, "eligibility"),
        ({"assumptions": "used size 50%"}, "assumptions"),
        ({"currency": ""}, "currency"),
        ({"currency": "euro"}, "currency"),
        ({"title": 3}, "title"),
        ({"fleet": pl.DataFrame({"vm_name": ["a"]})}, "fleet"),
        ({"monthly": pl.DataFrame({"month": [1]})}, "monthly"),
        ({"stagger": pl.DataFrame({"spread_minutes": [0]})}, "stagger"),
        ({"space": pl.DataFrame({"vm_name": ["a"]})}, "space"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, Any], field: str) -> None:
    """Bad input: a ValueError naming the argument, before any figure is drawn."""
    with pytest.raises(ValueError, match=field):
        plan_report(**sample_inputs() | change)


def test_the_renderer_escapes_and_shortens_tables() -> None:
    """The generic renderer: tables show at most ``max_rows`` rows and say how many are left,
    yes/no for flags, a dash for blanks, escaped cells and headers."""
    frame = pl.DataFrame(
        {"<vm>": ["a&b", "c", "d"], "ok": [True, False, None], "gb": [1234.5, None, 2.0]}
    )
    page = render_report(
        "t",
        [
            Section(
                "Tables & lists",
                (
                    Table(frame, "caption <i>", max_rows=2, formats={"gb": ".2f"}),
                    Bullets(("one <1>",)),
                    Paragraph("x > y"),
                ),
            )
        ],
    )
    assert "<th>&lt;vm&gt;</th>" in page
    assert "<td>a&amp;b</td>" in page
    assert "<td>yes</td><td" in page
    assert ">–</td>" in page
    assert ">1234.50</td>" in page
    assert "1 more rows not shown" in page
    assert "<caption>caption &lt;i&gt;</caption>" in page
    assert "<li>one &lt;1&gt;</li>" in page
    assert "<p>x &gt; y</p>" in page
    assert 'id="tables-lists"' in page
    with pytest.raises(ValueError, match="sections"):
        render_report("t", ["not a section"])  # type: ignore[list-item]
