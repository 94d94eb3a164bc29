"""The course a trainer can teach from (issue 17): agendas whose minutes add up, a glossary that
is linked and whose terms resolve, and notebooks whose exercises teach instead of telling."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TRAINER = ROOT / "notebooks" / "TRAINER.md"
GLOSSARY = ROOT / "GLOSSARY.md"
#: The notebooks that follow the course's pattern (00-04 and 06 rebuilt by this issue, 05, 07, 08
#: and 09 since); the others follow it as their owners rebuild them (an xfail that passes is
#: reported, so the list can grow).
COURSE = {"00", "01", "02", "03", "04", "05", "06", "07", "08", "09"}
OTHERS = "another engineer's notebook: it passes once it follows the course's pattern"


def _agendas() -> dict[str, tuple[int, list[tuple[str, int]], int]]:
    """Each agenda: its length from the heading, its rows (what, minutes), its total row."""
    text = TRAINER.read_text()
    agendas = {}
    for match in re.finditer(r"^## ([^\n]+?) \((\d+) minutes\)\n(.*?)(?=^## )", text, re.M | re.S):
        title, length, body = match.group(1), int(match.group(2)), match.group(3)
        rows, total = [], None
        for line in body.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 2 or not re.fullmatch(r"\**\d+\**", cells[1]):
                continue
            minutes = int(cells[1].strip("*"))
            if cells[0].strip("*") == "total":
                total = minutes
            else:
                rows.append((cells[0], minutes))
        assert total is not None, f"{title}: no total row"
        agendas[title] = (length, rows, total)
    return agendas


def test_the_trainer_kit_has_a_two_hour_and_a_half_day_agenda_whose_minutes_add_up() -> None:
    agendas = _agendas()
    assert set(agendas) == {"Two-hour agenda", "Half-day agenda"}
    assert agendas["Two-hour agenda"][0] == 120
    assert 180 <= agendas["Half-day agenda"][0] <= 240
    for title, (length, rows, total) in agendas.items():
        assert sum(minutes for _, minutes in rows) == total == length, title


def test_every_agenda_row_links_a_notebook_that_exists() -> None:
    for title, (_, rows, _) in _agendas().items():
        for what, _ in rows:
            link = re.search(r"\]\(([^)]+\.ipynb)\)", what)
            if link:
                assert (TRAINER.parent / link.group(1)).is_file(), f"{title}: {what}"
        linked = {re.search(r"\((\d\d)_", w).group(1) for w, _ in rows if ".ipynb" in w}  # type: ignore[union-attr]
        assert {"01", "02", "06"} <= linked, title


@pytest.mark.parametrize(
    "words",
    [
        ("47 GB",),
        ("Incremental means small",),
        ("50%", "first"),
        ("Binder",),
        ("make lab",),
        ("Ask the room",),
        ("Demonstrate",),
    ],
)
def test_the_trainer_kit_covers(words: tuple[str, ...]) -> None:
    text = TRAINER.read_text()
    for word in words:
        assert word.lower() in text.lower()


def test_the_glossary_is_linked_from_the_readme_the_index_and_the_trainer_kit() -> None:
    assert "](GLOSSARY.md)" in (ROOT / "README.md").read_text()
    index = json.loads((ROOT / "notebooks" / "00_index.ipynb").read_text())
    assert any("../GLOSSARY.md" in "".join(c["source"]) for c in index["cells"])
    assert "../GLOSSARY.md" in TRAINER.read_text()
    assert "](notebooks/TRAINER.md)" in (ROOT / "README.md").read_text()


def _slug(heading: str) -> str:
    """The anchor GitHub and MyST give a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_to_a_glossary_term_resolves() -> None:
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", GLOSSARY.read_text(), re.M)}
    sources = [TRAINER, ROOT / "README.md", *NOTEBOOKS]
    found = 0
    for source in sources:
        for anchor in re.findall(r"GLOSSARY\.md#([\w\-]+)", source.read_text()):
            assert anchor in anchors, f"{source.name} links to a missing term #{anchor}"
            found += 1
    assert found >= 5


def _cells(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["cells"])


def _source(cell: dict[str, Any]) -> str:
    return "".join(cell["source"])


def _params() -> list[Any]:
    return [
        pytest.param(
            path,
            id=path.stem,
            marks=[]
            if path.name[:2] in COURSE
            else [pytest.mark.xfail(reason=OTHERS, strict=False)],
        )
        for path in NOTEBOOKS
    ]


@pytest.mark.parametrize("path", _params())
def test_a_notebook_ends_with_key_takeaways_and_navigation(path: Path) -> None:
    markdown = [_source(c) for c in _cells(path) if c["cell_type"] == "markdown"]
    takeaways = [m for m in markdown if m.startswith("## Key takeaways")]
    assert takeaways, "no '## Key takeaways'"
    assert 3 <= len(re.findall(r"^- ", takeaways[0], re.M)) <= 4
    assert "[Course map](00_index.ipynb)" in markdown[-1]


@pytest.mark.parametrize("path", _params())
def test_exercises_hide_their_answers_until_the_learner_acts(path: Path) -> None:
    """A learner's cell starts with `answer_N = ...`, the stored notebook shows no verdict
    before the learner acts, and every worked answer is folded (source and output) and tagged
    so Voila leaves it out; nbval still runs the solution, so each answer is checked."""
    cells = _cells(path)
    learners = [c for c in cells if re.match(r"answer_\d+ = \.\.\.", _source(c))]
    solutions = [c for c in cells if "solution" in c["metadata"].get("tags", [])]
    if path.name.startswith("00"):
        assert not learners
        return
    assert len(learners) >= 3
    assert len(solutions) == len(learners)
    for cell in learners:
        assert "exercise" in cell["metadata"].get("tags", [])
        shown = "".join("".join(o.get("text", "")) for o in cell["outputs"])
        assert shown.startswith("Replace ... with your answer"), shown
    for cell in solutions:
        assert cell["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
        # shown folded behind "Worked answer" (running every cell reveals nothing) ...
        html = "".join("".join(o.get("data", {}).get("text/html", "")) for o in cell["outputs"])
        assert html.startswith('<details class="vmbackup-solution">'), html
        # ... and checked by nbval in its text: the model agrees with the worked answer
        text = "".join("".join(o.get("data", {}).get("text/plain", "")) for o in cell["outputs"])
        assert text.startswith("Correct:"), f"a worked answer the model disagrees with: {text}"
    exercises = cells[[_source(c).startswith("## Exercises") for c in cells].index(True) :]
    for cell in exercises:
        if _source(cell).startswith("## Key takeaways"):
            break
        tags = cell["metadata"].get("tags", [])
        assert "exercise" in tags or "solution" in tags, _source(cell)[:60]


@pytest.mark.parametrize("path", _params())
def test_every_app_comes_with_a_predict_prompt(path: Path) -> None:
    cells = _cells(path)
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code" and "nbval-ignore-output" in cell["metadata"].get(
            "tags", []
        ):
            before = "\n".join(_source(c) for c in cells[max(0, index - 2) : index])
            assert "Predict, then" in before, f"app in cell {index} without a prediction prompt"
