"""The input contract every public entry point keeps, as reusable checks for the property suite.

Bad input must end in a ValueError whose message names the field (or file, line, JSON path);
anything else must return a finite, sensible result: no NaN or infinity, and no negative hours,
sizes or money. Nothing may hang (a time guard per call) and no input may be modified.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl
from hypothesis import strategies as st

#: Seconds one call may take before it counts as a hang.
TIME_GUARD_S = 20.0
#: Result fields whose names end so are quantities that can never be negative.
NON_NEGATIVE = re.compile(r"(_hours|_gb|_mb|_usd|_bytes|_s|_days|_gb_month|_mb_s)$")


class Hang(Exception):
    """A call that did not return within the time guard."""


@contextmanager
def time_guard(seconds: float = TIME_GUARD_S) -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: Values no number, flag, name or table should accept silently.
BAD_VALUES: list[Any] = [
    None,
    "",
    "seven",
    " 7 ",
    float("nan"),
    float("inf"),
    -float("inf"),
    -1,
    -0.5,
    0,
    True,
    10**30,
    10**400,
    [],
    [1, 2],
    {},
    object(),
]


def bad_values() -> st.SearchStrategy[Any]:
    """Generated bad values: the fixed list plus random numbers, text and nesting."""
    return st.one_of(
        st.sampled_from(BAD_VALUES),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.text(max_size=12),
        st.booleans(),
        st.lists(st.integers(-3, 3), max_size=3),
    )


def _numbers(name: str, value: Any) -> Iterator[tuple[str, float]]:
    if isinstance(value, bool | np.bool_ | str | bytes) or value is None:
        return
    if isinstance(value, int | float | np.integer | np.floating):
        yield name, float(value)
    elif isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        for number in value.ravel()[:100_000]:
            yield name, float(number)
    elif isinstance(value, pl.DataFrame):
        for column in value.columns:
            series = value[column]
            if series.dtype.is_numeric():
                for number in series.cast(pl.Float64).drop_nulls().to_list():
                    yield column, float(number)
    elif isinstance(value, pl.Series) and value.dtype.is_numeric():
        for number in value.cast(pl.Float64).drop_nulls().to_list():
            yield name, float(number)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _numbers(field.name, getattr(value, field.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _numbers(name, item)


def assert_sane(result: Any, name: str = "result") -> None:
    """No NaN or infinite number anywhere in ``result``; no negative hours, sizes or money."""
    for field, number in _numbers(name, result):
        assert math.isfinite(number), f"{field}={number} in the result is not finite"
        if NON_NEGATIVE.search(field):
            assert number >= 0, f"{field}={number} in the result is negative"


def _snapshot(value: Any) -> Any:
    if isinstance(value, pl.DataFrame | pl.Series):
        return value.clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    try:
        return copy.deepcopy(value)
    except Exception:  # an object that cannot be copied cannot be compared either
        return value


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, pl.DataFrame) and isinstance(after, pl.DataFrame):
        return before.equals(after, null_equal=True)
    if isinstance(before, pl.Series) and isinstance(after, pl.Series):
        return before.equals(after, null_equal=True)
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        return bool(np.array_equal(before, after, equal_nan=before.dtype.kind == "f"))
    try:
        return bool(before == after) or (before != before and after != after)
    except Exception:
        return before is after


def call_by_contract(
    function: Callable[..., Any], /, *args: Any, names: tuple[str, ...] = (), **kwargs: Any
) -> Any:
    """Call ``function`` and check the contract; return its result, or the ValueError it raised.

    ``names``: words of which at least one must appear in an error message (the field, file or
    path that was bad); empty: any ValueError message is accepted.
    """

    def comparable(value: Any) -> tuple[bool, Any]:
        copied = _snapshot(value)
        return _same(copied, value), copied

    before = [comparable(a) for a in args], {k: comparable(v) for k, v in kwargs.items()}
    try:
        with time_guard():
            result = function(*args, **kwargs)
    except ValueError as error:
        message = str(error)
        assert message.strip(), "a ValueError without a message"
        assert "Traceback" not in message
        if names:
            assert any(n.lower() in message.lower() for n in names), (
                f"the message {message!r} names none of {names}"
            )
        result = error
    else:
        assert_sane(result)
    for (checkable, old), new in zip(before[0], args, strict=True):
        assert not checkable or _same(old, new), "an argument was modified"
    for key, (checkable, old) in before[1].items():
        assert not checkable or _same(old, kwargs[key]), f"argument {key} was modified"
    return result
