"""Self-checking exercises for the notebooks: compare a learner's answer with the model's."""

from __future__ import annotations

import math

__all__ = ["check"]


def check(answer: object, expected: object, *, why: str = "", rel_tol: float = 0.001) -> str:
    """Return a verdict on ``answer``; numbers match within ``rel_tol`` (0.1% by default).

    >>> check("crash", "crash", why="the VM was stopped")
    'Correct: crash. Why: the VM was stopped'
    >>> check(10, 12.0)
    'Not yet: you answered 10; try again (re-read the step above).'
    >>> check(..., 12.0)
    'Replace ... with your answer, then run the cell again.'
    """
    if answer is Ellipsis:
        return "Replace ... with your answer, then run the cell again."
    numbers = (int, float)
    same = (
        math.isclose(float(answer), float(expected), rel_tol=rel_tol)
        if isinstance(answer, numbers)
        and isinstance(expected, numbers)
        and not isinstance(answer, bool)
        else answer == expected
    )
    if same:
        return f"Correct: {expected}." + (f" Why: {why}" if why else "")
    return f"Not yet: you answered {answer!r}; try again (re-read the step above)."
