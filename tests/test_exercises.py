"""The exercise checker: tolerant where a person would be, and never gives the answer away."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmbackup.exercises import check, same_answer


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("File-system", "file-system"),
        ("  file system ", "file-system"),
        ("FILE_SYSTEM", "file-system"),
        ("Low", "low"),
        (["b", "a"], ("a", "b")),
        (("cannot-install-stopped", "Crash"), ("crash", "cannot-install-stopped")),
        ({"b", "a"}, ["a", "b"]),
        ([1.0004, 2], [2.0, 1.0]),
        ("yes", True),
        ("No", False),
        (np.bool_(True), True),
        (True, np.bool_(True)),
        (np.float64(176.0), 176),
        (np.int64(43), 43),
        ("1,200", 1200.0),
        ({"Os": 2, "data": 3.0}, {"os": 2.0, "data": 3}),
        (100.05, 100.0),
    ],
)
def test_a_right_answer_written_loosely_is_right(answer: object, expected: object) -> None:
    assert same_answer(answer, expected)
    assert check(answer, expected).startswith("Correct:")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("crash", "file-system"),
        (["a"], ("a", "b")),
        (["a", "a"], ("a", "b")),
        (101.0, 100.0),
        (1, True),
        ("true", False),
        ("12", "twelve"),
        (12, "12 GB"),
    ],
)
def test_a_wrong_answer_is_wrong(answer: object, expected: object) -> None:
    assert not same_answer(answer, expected)
    assert check(answer, expected).startswith("Not yet:")


def test_the_old_call_still_works() -> None:
    """Notebooks 05, 07 and 09 call check(answer, expected, why=..., rel_tol=...)."""
    assert check(22, 22, why="G2") == "Correct: 22. Why: G2"
    assert check(108, 108.0) == "Correct: 108.0."
    assert check(0.95, 1.0, rel_tol=0.1).startswith("Correct")
    assert check(..., 3) == "Replace ... with your answer, then run the cell again."


@pytest.mark.parametrize(
    ("answer", "expected", "says"),
    [
        (180.0, 176.0, "too high"),
        (170.0, 176.0, "too low"),
        (176e9, 176.0, "bytes vs GB"),
        (0.176, 176.0, "MB vs GB"),
        (5.0, 0.05, "percentage"),
        ("fast", "crash", "not one of the choices"),
        ("crash", 3.0, "answer with a number"),
        (3, "crash", "text in quotes"),
        (3, "crash", "you gave a number"),
        ({"a": 1}, "crash", "you gave a dict"),
        ("maybe", True, "True or False"),
        (["x"], ["a", "b"], "has 2 items; you gave 1"),
        (["a", "x"], ["a", "b"], "1 of your 2 items are right"),
        ("a", ["a", "b"], "2 items in a list"),
    ],
)
def test_a_wrong_answer_says_what_is_wrong(answer: object, expected: object, says: str) -> None:
    verdict = check(answer, expected, choices=("application", "file-system", "crash"))
    assert says in verdict


@given(
    expected=st.floats(min_value=1, max_value=1e6),
    factor=st.floats(min_value=1.01, max_value=50),
)
def test_a_wrong_number_never_reveals_the_expected_one(expected: float, factor: float) -> None:
    verdict = check(expected * factor, expected)
    assert verdict.startswith("Not yet")
    numbers = set(re.findall(r"[\d.e+-]+", verdict)) - {f"{expected * factor:g}", "0.1"}
    assert f"{expected:g}" not in numbers


def test_a_wrong_text_or_list_never_reveals_the_answer() -> None:
    assert "file-system" not in check("crash", "file-system", why="secret")
    assert "secret" not in check("crash", "file-system", why="secret")
    assert "KEK" not in check(["BEK"], ["BEK", "KEK"])


def test_the_hint_comes_with_a_wrong_answer_only() -> None:
    assert check(1, 2, hint="Step 3").endswith("Hint: Step 3")
    assert "Hint" not in check(2, 2, hint="Step 3")


@pytest.mark.parametrize("rel_tol", [-0.1, 1.0, "1%"])
def test_a_bad_tolerance_is_refused(rel_tol: object) -> None:
    with pytest.raises(ValueError, match="rel_tol"):
        check(1, 1, rel_tol=rel_tol)  # type: ignore[arg-type]
