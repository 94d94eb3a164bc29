"""Self-checking exercises for the notebooks: compare a learner's answer with the model's.

:func:`check` is tolerant where a person would be: text ignores case, surrounding and repeated
spaces, and the difference between ``-``, ``_`` and a space (``'File system'`` is
``"file-system"``); a list is compared as a collection, in any order; a number counts as right
within a stated relative tolerance; ``"yes"``/``"no"`` answer a True/False question. When the
answer is wrong it says *what* is wrong (too high, a unit off by a factor of 1,000, two items of
three right, not one of the choices) without giving the answer away.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from collections.abc import Collection, Iterable, Mapping, Sequence, Set
from typing import TypeGuard

import numpy as np

__all__ = ["Solution", "check", "same_answer", "solution"]

#: Factors a number is often off by when its unit is wrong, with what to check.
_UNIT_SLIPS = (
    (1e9, "bytes vs GB?"),
    (2**30, "bytes vs GiB?"),
    (1e6, "MB vs TB, or bytes vs MB?"),
    (2**20, "bytes vs MiB?"),
    (1e3, "MB vs GB, or GB vs TB?"),
    (1024.0, "KiB, MiB, GiB?"),
    (100.0, "a percentage vs a fraction?"),
    (24.0, "hours vs days?"),
    (60.0, "minutes vs hours?"),
)
_TRUE = {"true", "yes", "y"}
_FALSE = {"false", "no", "n"}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _text(value: str) -> str:
    """Text as compared: case folded, separators (space, ``-``, ``_``) as one space."""
    return " ".join(re.split(r"[\s_\-]+", value.casefold().strip())).strip()


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _as_number(value: object) -> float | None:
    """A number, or a text that is only a number (``"1,200"``, ``" 176 GB"`` is not)."""
    if _is_number(value):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, str):
        plain = value.strip().replace(",", "").replace("_", "")
        if _NUMBER.fullmatch(plain):
            return float(plain)
    return None


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, np.bool_):  # numpy's bool
        return bool(value)
    if isinstance(value, str):
        word = _text(value)
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return None


def _is_collection(value: object) -> TypeGuard[Collection[object]]:
    return isinstance(value, Sequence | Set) and not isinstance(value, str | bytes)


def same_answer(answer: object, expected: object, *, rel_tol: float = 0.001) -> bool:
    """Whether ``answer`` matches ``expected`` with the tolerance of :func:`check`.

    >>> same_answer(" File system ", "file-system")
    True
    >>> same_answer(["b", "A"], ("a", "b"))
    True
    >>> same_answer(100.05, 100, rel_tol=0.001), same_answer(101, 100, rel_tol=0.001)
    (True, False)
    >>> same_answer("yes", True), same_answer(1, True)
    (True, False)
    """
    if isinstance(expected, bool | np.bool_):
        return _as_bool(answer) == bool(expected)
    if _is_number(expected):
        number = _as_number(answer)
        return number is not None and _close(number, float(expected), rel_tol)  # type: ignore[arg-type]
    if isinstance(expected, str):
        return isinstance(answer, str) and _text(answer) == _text(expected)
    if isinstance(expected, Mapping):
        if not isinstance(answer, Mapping) or len(answer) != len(expected):
            return False
        keys = {_key(k): v for k, v in answer.items()}
        return all(
            _key(k) in keys and same_answer(keys[_key(k)], v, rel_tol=rel_tol)
            for k, v in expected.items()
        )
    if _is_collection(expected):
        if not _is_collection(answer):
            return False
        _, missing, extra = _match(answer, expected, rel_tol)
        return not missing and not extra
    return answer == expected


def _key(key: object) -> object:
    return _text(key) if isinstance(key, str) else key


def _close(answer: float, expected: float, rel_tol: float) -> bool:
    return math.isclose(answer, expected, rel_tol=rel_tol, abs_tol=rel_tol * 1e-9)


def _match(
    answer: Iterable[object], expected: Iterable[object], rel_tol: float
) -> tuple[int, int, int]:
    """(items matched, expected items missing, answer items left over), in any order."""
    left = list(answer)
    matched = missing = 0
    for item in expected:
        for index, candidate in enumerate(left):
            if same_answer(candidate, item, rel_tol=rel_tol):
                del left[index]
                matched += 1
                break
        else:
            missing += 1
    return matched, missing, len(left)


def _kind(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "True or False"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a text in quotes"
    if isinstance(value, Mapping):
        return "a dict"
    if _is_collection(value):
        return f"a list of {len(value)} items"
    return type(value).__name__


def _tolerance(rel_tol: float) -> str:
    return f"{rel_tol * 100:g}%"


def _what_is_wrong(
    answer: object, expected: object, rel_tol: float, choices: Sequence[object] | None
) -> str:
    """Why ``answer`` is not ``expected``, without saying what ``expected`` is."""
    if isinstance(expected, bool | np.bool_):
        if _as_bool(answer) is None:
            return f"answer True or False (you gave {answer!r})"
        return "that is the opposite of what the model says; re-read the step above"
    if _is_number(expected):
        number = _as_number(answer)
        if number is None:
            return f"answer with a number (you gave {_kind(answer)}: {answer!r})"
        target = float(expected)  # type: ignore[arg-type]
        if target != 0 and number != 0:
            ratio = abs(number / target)
            for factor, unit in _UNIT_SLIPS:
                for off in (factor, 1 / factor):
                    if math.isclose(ratio, off, rel_tol=0.01):
                        return (
                            f"{number:g} looks like the right value in another unit: "
                            f"check the unit ({unit})"
                        )
        if target != 0 and (number < 0) != (target < 0):
            return f"{number:g} has the wrong sign"
        side = "too high" if number > target else "too low"
        return f"{number:g} is {side} (a number counts within {_tolerance(rel_tol)})"
    if isinstance(expected, str):
        if not isinstance(answer, str):
            return f'answer with a text in quotes, e.g. "..." (you gave {_kind(answer)})'
        if choices is not None and not any(same_answer(answer, c) for c in choices):
            options = ", ".join(repr(c) for c in choices)
            return f"{answer!r} is not one of the choices: {options}"
        return f"{answer!r} is not it; re-read the step above"
    if isinstance(expected, Mapping):
        if not isinstance(answer, Mapping):
            return f"answer with a dict (you gave {_kind(answer)})"
        wrong = sum(
            not same_answer(
                {_key(k): v for k, v in answer.items()}.get(_key(k)), v, rel_tol=rel_tol
            )
            for k, v in expected.items()
        )
        return f"{wrong} of the {len(expected)} entries are not right yet"
    if _is_collection(expected):
        size = len(expected)
        if not _is_collection(answer):
            return f"answer with {size} items in a list, e.g. [..., ...] (any order)"
        matched, _, _ = _match(answer, expected, rel_tol)
        if len(answer) != size:
            return f"the answer has {size} items; you gave {len(answer)} ({matched} of them right)"
        return f"{matched} of your {size} items are right (order does not matter)"
    return f"{answer!r} is not it; re-read the step above"


def check(
    answer: object,
    expected: object,
    *,
    why: str = "",
    rel_tol: float = 0.001,
    choices: Sequence[object] | None = None,
    hint: str = "",
) -> str:
    """A verdict on ``answer``: whether it matches ``expected``, and if not, what is wrong.

    Parameters
    ----------
    answer
        The learner's answer; ``...`` (not answered yet) asks for one.
    expected
        The model's answer. Text matches ignoring case, spaces and ``-``/``_``; a list, tuple or
        set matches in any order; True/False also accepts "yes"/"no".
    why
        Shown with a correct answer: the reason, to reinforce it.
    rel_tol
        Relative tolerance of a number [1]: 0.001 accepts answers within 0.1%.
    choices
        For a text answer, the allowed words: an answer outside them is told so.
    hint
        Shown with a wrong answer.

    Returns
    -------
    str
        ``"Correct: <answer>. Why: ..."``, or ``"Not yet: <what is wrong>."`` (never the answer).

    Examples
    --------
    >>> check("crash", "crash", why="the VM was stopped")
    'Correct: crash. Why: the VM was stopped'
    >>> check("File  System", "file-system")
    'Correct: file-system.'
    >>> check(10, 12.0)
    'Not yet: 10 is too low (a number counts within 0.1%).'
    >>> print(check(176_000_000_000, 176.0))
    Not yet: 1.76e+11 looks like the right value in another unit: check the unit (bytes vs GB?).
    >>> check(["crash", "KEK"], ("BEK", "crash"))
    'Not yet: 1 of your 2 items are right (order does not matter).'
    >>> check("fast", "crash", choices=("application", "file-system", "crash"))
    "Not yet: 'fast' is not one of the choices: 'application', 'file-system', 'crash'."
    >>> check(..., 12.0)
    'Replace ... with your answer, then run the cell again.'
    """
    if answer is Ellipsis:
        return "Replace ... with your answer, then run the cell again."
    if not (isinstance(rel_tol, int | float) and 0 <= rel_tol < 1):
        raise ValueError(f"rel_tol={rel_tol!r} must be a number in [0, 1)")
    if same_answer(answer, expected, rel_tol=rel_tol):
        return f"Correct: {expected}." + (f" Why: {why}" if why else "")
    message = f"Not yet: {_what_is_wrong(answer, expected, rel_tol, choices)}."
    return message + (f" Hint: {hint}" if hint else "")


class Solution:
    """A worked answer as a notebook shows it: folded behind "Worked answer" until clicked (so
    running every cell reveals nothing), and as plain text (what nbval compares)."""

    def __init__(self, verdict: str) -> None:
        self.verdict = verdict

    def _repr_html_(self) -> str:
        return (
            '<details class="vmbackup-solution"><summary>Worked answer: click to show</summary>'
            f"<p>{html.escape(self.verdict)}</p></details>"
        )

    def __repr__(self) -> str:
        return self.verdict


def solution(
    answer: object, expected: object, *, why: str = "", rel_tol: float = 0.001
) -> Solution:
    """The worked answer of an exercise, checked against the model like a learner's answer.

    Raises AssertionError when the worked answer is wrong, so a notebook run (nbval) fails the
    moment the model and the stored solution disagree.

    >>> solution(176, 176.0, why="half of 2,048 GB must be free")
    Correct: 176.0. Why: half of 2,048 GB must be free
    >>> solution(170, 176.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AssertionError: the worked answer 170 does not match the model: Not yet: 170 is too low ...
    """
    verdict = check(answer, expected, why=why, rel_tol=rel_tol)
    if not verdict.startswith("Correct"):
        raise AssertionError(f"the worked answer {answer!r} does not match the model: {verdict}")
    return Solution(verdict)
