"""Input checks shared by the models: messages name the field, the value and what is allowed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

T = TypeVar("T", bound=str)
#: No quantity a model takes (GB, hours, MB/s, USD, a share) is larger than this; a bound that
#: keeps every product and sum finite (10^12 GB is a zettabyte).
MAX_QUANTITY = 1e12
#: The smallest rate a model divides by [per second or hour]; below it a job would never end.
MIN_RATE = 1e-6
K = TypeVar("K")


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


def _real(value: object) -> float | None:
    """``value`` as a float if it is a real number (not a bool, not text), else None."""
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        return None
    try:
        return float(value)
    except OverflowError:
        return float("inf")


def non_negative(field: str, value: object, *, high: float | None = None) -> float:
    """Return ``value`` as a float if it is a finite number >= 0 (and <= ``high``), else raise
    ValueError.

    >>> non_negative("used_gb", 17)
    17.0
    >>> non_negative("used_gb", -5)
    Traceback (most recent call last):
    ...
    ValueError: used_gb=-5 must be a finite number >= 0
    """
    number = _real(value)
    allowed = "a finite number >= 0" + (f" and <= {high:g}" if high is not None else "")
    if number is None or not np.isfinite(number) or number < 0:
        raise ValueError(f"{field}={value!r} must be {allowed}")
    if number > (MAX_QUANTITY if high is None else high):
        raise ValueError(f"{field}={value!r} must be {allowed}" + _too_large(high))
    return number


def _too_large(high: float | None) -> str:
    return "" if high is not None else f" (at most {MAX_QUANTITY:g}: larger is not a real input)"


def positive(field: str, value: object, *, high: float | None = None) -> float:
    """Return ``value`` as a float if it is a finite number > 0 (a rate or a size that divides).

    >>> positive("throughput_mb_s", 0)
    Traceback (most recent call last):
    ...
    ValueError: throughput_mb_s=0 must be a finite number > 0
    """
    number = _real(value)
    allowed = "a finite number > 0" + (f" and <= {high:g}" if high is not None else "")
    if number is None or not np.isfinite(number) or number <= 0:
        raise ValueError(f"{field}={value!r} must be {allowed}")
    if number < MIN_RATE:
        raise ValueError(f"{field}={value!r} must be {allowed} (at least {MIN_RATE:g})")
    if number > (MAX_QUANTITY if high is None else high):
        raise ValueError(f"{field}={value!r} must be {allowed}" + _too_large(high))
    return number


def bounded(field: str, value: object, low: float, high: float) -> float:
    """Return ``value`` as a float if it is a number in ``[low, high]``, else ValueError.

    >>> bounded("io_size_kib", 0.1, 0.5, 4096)
    Traceback (most recent call last):
    ...
    ValueError: io_size_kib=0.1 must be a number in [0.5, 4096]
    """
    number = _real(value)
    if number is None or not np.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{field}={value!r} must be a number in [{low:g}, {high:g}]")
    return number


def whole(field: str, value: object, low: int, high: int) -> int:
    """Return ``value`` if it is a whole number in ``low..high`` (bools and floats refused).

    >>> whole("accounts", 3, 1, 10)
    3
    >>> whole("accounts", 2.5, 1, 10)
    Traceback (most recent call last):
    ...
    ValueError: accounts=2.5 must be a whole number in 1..10
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(f"{field}={value!r} must be a whole number in {low}..{high}")
    if not low <= int(value) <= high:
        raise ValueError(f"{field}={value!r} must be a whole number in {low}..{high}")
    return int(value)


def date_value(field: str, value: object) -> dt.date:
    """Return ``value`` if it is a ``datetime.date`` (a datetime is refused: it has a time)."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"{field}={value!r} must be a datetime.date")
    return value


def instance(field: str, value: object, kind: type[K], what: str) -> K:
    """Return ``value`` if it is a ``kind``; else ValueError saying it must be ``what``."""
    if not isinstance(value, kind):
        raise ValueError(f"{field} must be {what}, found {type(value).__name__} {value!r:.60}")
    return value


def non_negative_array(field: str, values: object) -> npt.NDArray[np.float64]:
    """Return ``values`` as a float array if every element is a finite number >= 0.

    >>> non_negative_array("used_gb", [1, 2.5]).tolist()
    [1.0, 2.5]
    >>> non_negative_array("used_gb", [1, -2])
    Traceback (most recent call last):
    ...
    ValueError: used_gb must be finite numbers >= 0; found -2.0 at position 1
    """
    if isinstance(values, str | bytes | dict | set) or values is None:
        raise ValueError(f"{field}={values!r:.60} must be numbers >= 0")
    try:
        array = np.asarray(values)
        if array.dtype.kind not in "biuf" or array.dtype.kind == "b":
            raise TypeError(array.dtype)
        array = array.astype(np.float64)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"{field}={values!r:.60} must be numbers >= 0") from error
    bad = ~np.isfinite(array) | (array < 0) | (array > MAX_QUANTITY)
    if bad.any():
        position = int(np.flatnonzero(bad.ravel())[0])
        found = array.ravel()[position]
        limit = f" and <= {MAX_QUANTITY:g}" if found > MAX_QUANTITY else ""
        raise ValueError(
            f"{field} must be finite numbers >= 0{limit}; found {found} at position {position}"
        )
    return array


@dataclass(frozen=True)
class Column:
    """What a column of an input table must hold (see :func:`check_frame`).

    Parameters
    ----------
    kind
        ``"float"``, ``"int"``, ``"bool"``, ``"str"``, ``"date"`` or ``"datetime"``.
    low, high
        Bounds of a number column; ``high_open`` makes the upper bound exclusive.
    allowed
        For a ``"str"`` column: its vocabulary, matched case-insensitively and normalised.
    required
        Whether the column must be present.
    nullable
        Whether blanks (nulls) are allowed.
    """

    kind: str
    low: float | None = None
    high: float | None = None
    high_open: bool = False
    allowed: tuple[str, ...] = ()
    required: bool = True
    nullable: bool = False

    def describe(self) -> str:
        """What the column allows, in words."""
        if self.allowed:
            return f"one of {list(self.allowed)}"
        words = {"float": "a finite number", "int": "a whole number", "bool": "True or False"}
        text = words.get(self.kind, f"a {self.kind}")
        if self.low is not None and self.high is not None:
            close = ")" if self.high_open else "]"
            return f"{text} in [{self.low:g}, {self.high:g}{close}"
        if self.low is not None:
            return f"{text} >= {self.low:g}"
        return text


def _cast(series: pl.Series, column: Column) -> pl.Series | None:
    """The column as its kind, or None when its dtype cannot hold that kind."""
    dtype = series.dtype
    if column.kind == "float" and (dtype.is_numeric() or dtype == pl.Null):
        return series.cast(pl.Float64)
    if column.kind == "int":
        if dtype.is_integer() or dtype == pl.Null:
            return series.cast(pl.Int64)
        if dtype.is_float():
            whole = series.is_null() | (series == series.floor())
            return series.cast(pl.Int64, strict=False) if bool(whole.all()) else None
        return None
    if column.kind == "bool":
        return series if dtype in (pl.Boolean, pl.Null) else None
    if column.kind == "str":
        if dtype in (pl.String, pl.Null) or isinstance(dtype, pl.Categorical | pl.Enum):
            return series.cast(pl.String)
        return None
    if column.kind == "date":
        return series.cast(pl.Date) if dtype in (pl.Date, pl.Datetime, pl.Null) else None
    if column.kind == "datetime":
        return series if isinstance(dtype, pl.Datetime) or dtype == pl.Null else None
    return None


def check_frame(
    frame: object,
    columns: dict[str, Column],
    *,
    name: str = "table",
    row_offset: int = 0,
    label: str | None = None,
) -> pl.DataFrame:
    """Check an input table at a model's boundary; return it with its columns normalised.

    Each listed column must be present (unless optional), of its kind (numbers for numbers,
    real booleans for flags), without blanks (unless nullable), finite, within its bounds and,
    for a vocabulary column, one of its words (any case; returned in the canonical spelling).
    The caller's frame is never modified: a new frame is returned.

    Parameters
    ----------
    frame
        The table (a polars DataFrame).
    columns
        Column name -> :class:`Column`.
    name
        What messages call the table (a file name, or an argument name).
    row_offset
        Added to a row's index in messages (2 for a CSV file with a header line).
    label
        A column whose value names the row in messages (``disk_name``).

    Raises
    ------
    ValueError
        Naming the table, the row, the column, the value and what is allowed.

    Examples
    --------
    >>> t = pl.DataFrame({"disk_type": ["Premium"], "used_gb": [1.5]})
    >>> spec = {"disk_type": Column("str", allowed=("premium", "standard")),
    ...         "used_gb": Column("float", low=0)}
    >>> check_frame(t, spec)["disk_type"].to_list()
    ['premium']
    >>> check_frame(t.with_columns(used_gb=pl.lit(float("nan"))), spec, name="fleet.csv",
    ...             row_offset=2)
    Traceback (most recent call last):
    ...
    ValueError: fleet.csv: row 2: used_gb=nan must be a finite number >= 0
    """
    if not isinstance(frame, pl.DataFrame):
        raise ValueError(f"{name} must be a polars DataFrame, found {type(frame).__name__}")
    missing = [c for c, spec in columns.items() if spec.required and c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name}: missing column(s) {missing}; required: "
            f"{[c for c, s in columns.items() if s.required]}, found {frame.columns}"
        )

    def fail(column: str, index: int, value: object, allowed: str) -> ValueError:
        row = f"row {index + row_offset}"
        if label is not None and label in frame.columns:
            row += f" ({frame[label][index]})"
        return ValueError(f"{name}: {row}: {column}={value!r} must be {allowed}")

    result = frame
    for column, spec in columns.items():
        if column not in frame.columns:
            continue
        raw = frame[column]
        series = _cast(raw, spec)
        if series is None:
            raise ValueError(
                f"{name}: column {column!r} holds {raw.dtype} values; it must hold "
                f"{spec.describe()}"
            )
        nulls = series.is_null()
        if not spec.nullable and bool(nulls.any()):
            index = int(nulls.arg_true()[0])
            raise fail(column, index, raw[index], f"{spec.describe()} (it is blank)")
        if spec.kind in ("float", "int"):
            bad = ~nulls & ~series.cast(pl.Float64).is_finite()
            if spec.low is not None:
                bad = bad | (series < spec.low).fill_null(False)
            high = MAX_QUANTITY if spec.high is None and spec.kind == "float" else spec.high
            if high is not None:
                over = series >= high if spec.high_open else series > high
                bad = bad | over.fill_null(False)
            if bool(bad.any()):
                index = int(bad.arg_true()[0])
                value = series[index]
                too_large = value is not None and high is not None and spec.high is None
                extra = f" and at most {high:g}" if too_large and value > high else ""
                raise fail(column, index, raw[index], spec.describe() + extra)
        if spec.allowed:
            lookup = {a.lower(): a for a in spec.allowed}
            key = series.str.strip_chars().str.to_lowercase().str.replace_all("_", "-")
            normal = key.replace_strict(lookup, default=None, return_dtype=pl.String)
            bad = normal.is_null() & ~nulls
            if bool(bad.any()):
                index = int(bad.arg_true()[0])
                raise fail(column, index, raw[index], spec.describe())
            series = normal
        result = result.with_columns(series.alias(column))
    return result
