"""Input checks shared by the models: messages name the field, the value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T", bound=str)


def choice(field: str, value: object, allowed: Iterable[T]) -> T:
    """Return ``value`` normalised to one of ``allowed`` or raise ValueError.

    Strings are compared case-insensitively after stripping blanks and treating ``_`` as ``-``.

    >>> choice("os", " Windows ", ("windows", "linux"))
    'windows'
    >>> choice("os", "macos", ("windows", "linux"))
    Traceback (most recent call last):
    ...
    ValueError: os='macos' is not allowed; choose one of 'windows', 'linux'
    """
    options = tuple(allowed)
    if isinstance(value, str):
        key = value.strip().lower().replace("_", "-")
        for option in options:
            if option.lower() == key:
                return option
    listed = ", ".join(repr(o) for o in options)
    raise ValueError(f"{field}={value!r} is not allowed; choose one of {listed}")


def flag(field: str, value: object) -> bool:
    """Return ``value`` if it is a real bool (numpy bools too), else raise ValueError.

    >>> flag("first_backup", True)
    True
    >>> flag("first_backup", "yes")
    Traceback (most recent call last):
    ...
    ValueError: first_backup='yes' must be True or False
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ValueError(f"{field}={value!r} must be True or False")


def non_negative(field: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise ValueError.

    >>> non_negative("used_gb", 17)
    17.0
    >>> non_negative("used_gb", -5)
    Traceback (most recent call last):
    ...
    ValueError: used_gb=-5 must be a finite number >= 0
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{field}={value!r} must be a finite number >= 0")
    number = float(value)
    if not np.isfinite(number) or number < 0:
        raise ValueError(f"{field}={value!r} must be a finite number >= 0")
    return number


def non_negative_array(field: str, values: object) -> npt.NDArray[np.float64]:
    """Return ``values`` as a float array if every element is finite and >= 0.

    >>> non_negative_array("used_gb", [1, 2.5]).tolist()
    [1.0, 2.5]
    >>> non_negative_array("used_gb", [1, -2])
    Traceback (most recent call last):
    ...
    ValueError: used_gb must be finite numbers >= 0; found -2.0 at position 1
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{field}={values!r} must be numbers >= 0") from error
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        position = int(np.flatnonzero(bad.ravel())[0])
        found = array.ravel()[position]
        raise ValueError(
            f"{field} must be finite numbers >= 0; found {found} at position {position}"
        )
    return array
