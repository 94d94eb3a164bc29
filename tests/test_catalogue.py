"""The rule catalogue (RULES.md): every item cited anywhere resolves, statuses are honest, and
the page is up to date."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from vmbackup.catalogue import CITATION, STATUSES, cite, may_refuse, render_markdown, rule, rules
from vmbackup.policy import POLICY_RULES, Policy, service_findings

ROOT = Path(__file__).resolve().parent.parent
#: Files whose text is read for citations (notebook outputs' images are skipped).
TEXT_SUFFIXES = {".py", ".md", ".csv", ".json", ".toml", ".cfg", ".txt", ".html", ".tpl"}
#: Tokens that look like items but name other things: Azure disk tiers written as pairs
#: (premium/standard, e.g. the P30/S30 pair), skipped by the slash between them.
DISK_TIER = "/"


def _files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def _texts(path: Path) -> list[str]:
    """The parts of a file a reader sees: a notebook's sources and text outputs, else the text."""
    if path.suffix == ".ipynb":
        notebook = json.loads(path.read_text(encoding="utf-8"))
        parts = []
        for cell in notebook["cells"]:
            parts.append("".join(cell["source"]))
            for output in cell.get("outputs", []):
                parts.append("".join(output.get("text", "")))
                data = output.get("data", {})
                parts += ["".join(data.get(k, "")) for k in ("text/plain", "text/html")]
        return parts
    if path.suffix in TEXT_SUFFIXES:
        return [path.read_text(encoding="utf-8", errors="replace")]
    return []


def _cited() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in _files():
        if "catalogue_data" in path.parts or path.name == "RULES.md":
            continue
        for text in _texts(path):
            for match in CITATION.finditer(text):
                after = text[match.end() : match.end() + 1]
                before = text[max(match.start() - 1, 0) : match.start()]
                if match.group(1) in "PS" and DISK_TIER in (after, before):
                    continue  # a disk tier pair like P30/S30
                if match.group(1) == "P" and int(match.group(2)) >= 10:
                    continue  # a premium disk tier (P10 ... P80); pricing items stop at P7
                found.setdefault(match.group(0), set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_item_cited_in_the_repository_is_in_the_catalogue() -> None:
    """Code, tests, notebooks, docs and data cite only items RULES.md defines."""
    cited = _cited()
    missing = {item: sorted(where)[:3] for item, where in cited.items() if item not in rules()}
    assert missing == {}
    assert {"S21", "G9", "G2.3", "P4", "Y3"} <= set(cited)


def test_the_catalogue_covers_every_family_with_a_status_and_a_source() -> None:
    """S1-S30, P1-P7, Y1-Y4, L1-L3, R1-R3, X1-X5, H1-H3 and G1-G20 are all there, each with one
    of the four statuses and at least one source."""
    table = rules()
    expected = {f"S{i}" for i in range(1, 31)} | {f"G{i}" for i in range(1, 21)}
    expected |= {f"P{i}" for i in range(1, 8)} | {f"Y{i}" for i in range(1, 5)}
    expected |= {f"L{i}" for i in range(1, 4)} | {f"R{i}" for i in range(1, 4)}
    expected |= {f"X{i}" for i in range(1, 6)} | {f"H{i}" for i in range(1, 4)}
    assert expected <= set(table)
    for item, entry in table.items():
        assert entry.status in STATUSES, item
        assert entry.sources, item
        assert "\n" not in entry.statement, item


def test_statuses_of_the_rules_that_move_verdicts() -> None:
    """G2.3's caps are unverified; G2.4 documents a recommendation; the seed's S21 and S27 are
    seed only; the 31-day month is documented (G3.2); the agentless GA date is an assumption."""
    assert rule("G2.3").status == "unverified"
    assert rule("G2.4").status == "documented"
    assert (rule("S21").status, rule("S27").status) == ("seed only", "seed only")
    assert rule("G3.2").status == "documented"
    assert rule("A2").status == "project assumption"
    assert cite("G2.3") == "G2.3 (unverified)"
    assert may_refuse("G3.1")
    assert not may_refuse("G2.3")
    unknown = "G" + "99"  # built at run time so that this file cites no such item
    with pytest.raises(ValueError, match=f"^item='{unknown}' is not in the rule catalogue"):
        rule(unknown)


def test_refusals_cite_documented_rules_only() -> None:
    """Every refusal a policy can get under today's rules names a documented item; broken
    policies of every kind are checked."""
    broken = [
        Policy(
            policy_type="enhanced",
            frequency="hourly",
            hourly_interval_hours=5,
            window_hours=20,
            enforce=False,
        ),
        Policy(instant_restore_days=9, enforce=False),
        Policy(daily_retention_days=3, enforce=False),
        Policy(consistency="crash", enforce=False),
        Policy(daily_retention_days=9999, monthly_retention_months=1188, enforce=False),
        Policy(
            policy_type="enhanced",
            frequency="hourly",
            hourly_interval_hours=4,
            window_hours=24,
            instant_restore_days=30,
            daily_retention_days=7,
            enforce=False,
        ),
    ]
    findings = [f for p in broken for f in service_findings(p, "today")]
    refused = {f.item for f in findings if f.severity == "refused"}
    assert refused == {"G2.1", "G2.2", "G3.1", "G1.3", "Y3"}
    assert all(rule(item).status == "documented" for item in refused)
    risks = {f.item for f in findings if f.severity == "risk"}
    assert risks == {"G2.3", "G2.4"}
    assert "today" in POLICY_RULES


def test_rules_md_is_the_rendered_catalogue() -> None:
    """RULES.md is written from the data; an edit to either without the other fails here."""
    assert (ROOT / "RULES.md").read_text(encoding="utf-8") == render_markdown()


def test_each_notebooks_first_citation_links_to_the_catalogue() -> None:
    """A learner can look an item up where the course first uses it: in every notebook the
    first item a Markdown cell cites links to its row of RULES.md."""
    known = rules()
    linked = 0
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"])
            match = next((m for m in CITATION.finditer(text) if m.group(0) in known), None)
            if match is None:
                continue
            item = match.group(0)
            anchor = item.lower().replace(".", "-")
            assert text[match.start() - 1 : match.end() + 1] == f"[{item}]", path.name
            assert text[match.end() + 1 :].startswith(f"(../RULES.md#{anchor})"), path.name
            linked += 1
            break
    assert linked >= 8
