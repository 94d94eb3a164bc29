"""Notebook 07 gives each number one definition (issue 17: it once called the worst job 35.5 h in
one place and 19.02 h in another). Its "worst job" is the longest job of the 30 simulated days at
the policies' own start times, and the staggering proposal is judged over the same 30 days, so
the month's worst job, the first row of the staggering table and the "before" of the staggering
line are one number. nbval checks that the stored outputs are what the notebook computes; this
checks that they agree with each other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07_fleet_planning.ipynb"
#: A number as the notebook prints it.
NUMBER = r"(\d+(?:\.\d+)?)"


@pytest.fixture(scope="module")
def shown() -> str:
    """Every text output of the stored notebook, in order."""
    parts = []
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            parts.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def _one(pattern: str, text: str) -> tuple[str, ...]:
    found = re.findall(pattern, text)
    assert len(found) == 1, f"{pattern!r} shown {len(found)} times"
    match = found[0]
    return match if isinstance(match, tuple) else (match,)


def test_the_worst_job_of_the_month_is_one_number(shown: str) -> None:
    (month,) = _one(rf"worst job of the month: {NUMBER} h, ", shown)  # Step 2
    before, after = _one(rf"worst job of the month: {NUMBER} h -> {NUMBER} h", shown)  # Step 5
    no_spread, _peak = _one(  # the staggering table's first row: no spread
        rf"│ 0\s+┆ {NUMBER}\s+┆ \d+\s+┆ {NUMBER}\s+┆ (?:true|false)\s+│", shown
    )
    (as_given,) = _one(  # Step 3's table: the policies as given
        rf"daily at 22:30 \(as given\)\s+┆ \d+\s+┆ \d+\s+┆ \d+\s+┆ {NUMBER}", shown
    )
    assert month == before == f"{float(no_spread):.1f}" == f"{float(as_given):.1f}"
    assert float(after) <= float(before)


def test_the_staggering_gain_asked_in_exercise_2_is_the_difference_shown(shown: str) -> None:
    before, after = _one(rf"worst job of the month: {NUMBER} h -> {NUMBER} h", shown)
    (gain,) = _one(rf"Correct: {NUMBER}\. Why: the ±", shown)
    assert float(gain) == pytest.approx(float(before) - float(after), abs=0.051)
