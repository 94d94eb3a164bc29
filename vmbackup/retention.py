"""Which recovery points exist, and how much vault and snapshot storage they take (S28, P4, Y1-Y3).

Storage model (S28, "the sum of the actual data in each recovery point"):

- The points form a chain. The oldest retained point holds the full copy (sized at the newest
  point's used data, so growth is counted once); every other retained point holds the distinct
  data changed since the retained point before it. When a point expires, its changes fold into
  the next surviving point: a weekly, monthly or yearly point kept after the daily points around
  it have gone holds all the changes since the point kept before it, not one day's churn
  (:func:`chain_storage_gb`, :func:`chain_segments`).
- How several days' changes overlap is one model with a documented parameter
  (:func:`distinct_change_gb`, :func:`changed_gb`): each day's changes are drawn from a pool of
  ``m`` days of churn, so ``N`` days change ``min(used, churn x m (1 - (1 - 1/m)^N))``. The
  default pool (``"trace"``, A32) is fitted on the project's block trace; ``"random"`` (the
  pool is the whole used data, A20) and ``"sequential"`` (no overlap: the upper bound) are
  named special cases. For consecutive daily points all give one day's churn, so N daily points
  of constant size and churn hold ``used + (N - 1) x churn``; no point ever holds more than the
  used data. With constant data and churn the chain reduces to counts of increments by gap
  (:func:`chain_gaps`), which the fleet evaluates for any number of VMs and years.
- Churn per point kind (P6, as Microsoft's estimator asks for it): a VM may give the share of
  its used data changed (distinct) over a week, a month and a year (:class:`PeriodChurn`); the
  distinct change over ``N`` days then follows those anchors instead of the model's curve
  (:func:`distinct_change_gb`'s ``period_churn``), in every view.
- Archived points (vault-archive tier, G7) leave this chain when they move; see
  :mod:`vmbackup.archive`.
- Monthly retention counts 31-day months under today's rules (G3) and calendar months under the
  seed's; see :func:`point_expiry`.
- A point is retained until the latest of the expiries that apply to it: daily, weekly (if made
  on a weekly day), monthly and yearly (if made on the chosen day of the month / year).
- An Enhanced policy sends only the day's last backup to the vault (Y2): one vault point a day.

All functions work on whole timelines at once (polars / numpy), never a loop over days or points;
the chain's bookkeeping takes a few vectorised rounds (one per retention tier a point outlives).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import choice, date_value, instance, non_negative_array
from vmbackup.policy import MONTHS, WEEKDAYS, Policy

__all__ = [
    "OVERLAP_MODELS",
    "PERIOD_ANCHOR_DAYS",
    "TRACE_POOL_DAYS",
    "PeriodChurn",
    "chain_gaps",
    "chain_segments",
    "chain_storage_gb",
    "changed_gb",
    "distinct_change_gb",
    "point_expiry",
    "point_sizes_gb",
    "pool_curve",
    "recovery_points",
    "snapshot_storage_gb",
    "vault_points",
    "vault_storage_gb",
]


def _policy(policy: object) -> Policy:
    return instance("policy", policy, Policy, "a vmbackup.policy.Policy")


def _timeline(days: object) -> pl.Series:
    """``days`` if it is a series of consecutive dates (one a day, in order), else ValueError."""
    series = instance("days", days, pl.Series, "a polars Series of dates")
    if series.dtype != pl.Date:
        raise ValueError(f"days holds {series.dtype} values; it must hold dates")
    if series.null_count():
        raise ValueError("days holds a blank date; it must hold consecutive dates")
    if series.len() > 1 and not bool((series.diff().drop_nulls().dt.total_days() == 1).all()):
        raise ValueError(
            "days must be consecutive dates in order, one per day (as pl.date_range makes them)"
        )
    return series


def _per_day(field: str, values: object, n: int) -> npt.NDArray[np.float64]:
    """A scalar or one value per day, finite and >= 0."""
    array = non_negative_array(field, values)
    if array.ndim > 1 or (array.ndim == 1 and array.size != n):
        raise ValueError(f"{field} has shape {array.shape}; give one value, or one per day ({n})")
    return np.broadcast_to(array, (n,))


def _kinds(policy: Policy, day: pl.Expr) -> dict[str, pl.Expr]:
    """For each retention kind, whether a point made on ``day`` is kept under it."""
    weekday_names = pl.lit(list(WEEKDAYS)).list.get(day.dt.weekday().cast(pl.Int64) - 1)
    kinds = {"daily": pl.lit(policy.daily_retention_days is not None)}
    kinds["weekly"] = pl.lit(policy.weekly_retention_weeks is not None) & weekday_names.is_in(
        list(policy.weekly_days)
    )
    # A date the month lacks (31 in April, 29 in February 2027) is no day of that month, so it
    # keeps no point that month (ASSUMPTION, no Microsoft page says: see MonthlyDay).
    kinds["monthly"] = pl.lit(
        policy.monthly_retention_months is not None
    ) & policy.monthly_day.expression(day)
    month_names = pl.lit(list(MONTHS)).list.get(day.dt.month().cast(pl.Int64) - 1)
    kinds["yearly"] = (
        pl.lit(policy.yearly_retention_years is not None)
        & policy.yearly_day.expression(day)
        & month_names.is_in(list(policy.yearly_months))
    )
    return kinds


def point_expiry(policy: Policy, created: pl.Series) -> pl.DataFrame:
    """When each recovery point expires under ``policy`` (Y3, G3).

    Daily points last ``n`` days, weekly ``7 n`` days and yearly ``n`` calendar years. A month of
    monthly retention lasts 31 days under today's rules (G3: 12 months keep a point 372 days) and
    one calendar month under the seed's (``Policy(rules="seed")``).

    Parameters
    ----------
    policy
        The backup policy.
    created
        Dates on which vault recovery points were made.

    Returns
    -------
    polars.DataFrame
        ``created``, the kinds that apply to it (``daily``, ``weekly``, ``monthly``, ``yearly``
        booleans), ``expires`` (the first date it no longer exists) and ``kept_by`` (the kind
        whose retention lasts longest for it).

    Examples
    --------
    >>> p = Policy(daily_retention_days=7, weekly_retention_weeks=4)
    >>> day = pl.Series([dt.date(2026, 11, 1), dt.date(2026, 11, 2)])  # a Sunday, a Monday
    >>> point_expiry(p, day)["expires"].to_list()
    [datetime.date(2026, 11, 29), datetime.date(2026, 11, 9)]
    """
    _policy(policy)
    created = instance("created", created, pl.Series, "a polars Series of dates")
    if created.dtype not in (pl.Date, pl.Datetime) and created.len():
        raise ValueError(f"created holds {created.dtype} values; it must hold dates")
    day = pl.col("created")
    kinds = _kinds(policy, day)
    months = policy.monthly_retention_months or 0
    month_days = policy.limits.days_per_month  # G3: 31 days today; calendar months in the seed
    spans = {
        "daily": f"{policy.daily_retention_days or 0}d",
        "weekly": f"{policy.weekly_retention_weeks or 0}w",
        "monthly": f"{months}mo" if month_days is None else f"{months * month_days}d",
        "yearly": f"{policy.yearly_retention_years or 0}y",
    }
    expiries = {
        kind: pl.when(kinds[kind]).then(day.dt.offset_by(span)).otherwise(day)
        for kind, span in spans.items()
    }
    expires = pl.max_horizontal(list(expiries.values()))
    kept_by: Any = pl
    for kind in ("yearly", "monthly", "weekly", "daily"):
        kept_by = kept_by.when(kinds[kind] & (expiries[kind] == expires)).then(pl.lit(kind))
    return (
        pl.DataFrame({"created": created.cast(pl.Date)})
        .with_columns(**kinds)
        .with_columns(expires=expires, kept_by=kept_by.otherwise(pl.lit("daily")))
    )


def recovery_points(policy: Policy, first_backup: dt.date, on: dt.date) -> pl.DataFrame:
    """The vault recovery points that exist on ``on`` for daily backups since ``first_backup``.

    Returns one row per point: ``created``, the kinds that keep it and ``expires``.

    >>> p = Policy(daily_retention_days=7)
    >>> recovery_points(p, dt.date(2026, 11, 1), dt.date(2026, 11, 30)).height
    7
    """
    _policy(policy)
    date_value("first_backup", first_backup)
    date_value("on", on)
    if on < first_backup:
        return point_expiry(policy, pl.Series([], dtype=pl.Date)).clear()
    days = pl.date_range(first_backup, on, "1d", eager=True)
    points = point_expiry(policy, days).filter(_backup_day(policy))
    return points.filter(pl.col("expires") > on)


def _backup_day(policy: Policy) -> pl.Expr:
    if policy.frequency != "weekly":
        return pl.lit(True)
    names = pl.lit(list(WEEKDAYS)).list.get(pl.col("created").dt.weekday().cast(pl.Int64) - 1)
    return names.is_in(list(policy.run_days))


#: How several days' changes overlap (A20, A32): one model of distinct change with three named
#: cases. ``"trace"`` (default) draws each day's changes from a pool of :data:`TRACE_POOL_DAYS`
#: days of churn, fitted on the project's block trace; ``"random"`` from the whole used data;
#: ``"sequential"`` never overlaps until the writes wrap round the disk (the upper bound).
#: A number instead of a name is the pool's size in days of churn (>= 1; ``inf`` is sequential).
OVERLAP_MODELS = ("trace", "random", "sequential")

#: A32: the changing data of a VM is a pool of this many days of its daily churn, each day
#: rewriting a random share of the pool. Fitted on ``datasets/msr_sample_trace.csv`` by
#: :func:`vmbackup.churn.fit_pool_days`; the curve and the fit are stored in
#: ``datasets/change_curve.csv`` (``datasets/make_change_curve.py``), which a test recomputes.
TRACE_POOL_DAYS = 11.2


def _pool_days(overlap: object) -> float | npt.NDArray[np.float64] | None:
    """The pool [days of churn] an overlap model names (None: the whole used data, random);
    an array of pools (one per VM) passes through once checked."""
    if isinstance(overlap, np.ndarray):
        pools = np.asarray(overlap, dtype=np.float64)
        if not bool(np.all(pools >= 1)):
            raise ValueError("overlap pools must all be >= 1 day of churn (inf: sequential)")
        return pools
    if isinstance(overlap, str):
        kind = choice("overlap", overlap, OVERLAP_MODELS)
        return {"trace": TRACE_POOL_DAYS, "random": None, "sequential": math.inf}[kind]
    if isinstance(overlap, bool) or not isinstance(overlap, int | float) or not overlap >= 1:
        raise ValueError(
            f"overlap={overlap!r} must be one of {', '.join(map(repr, OVERLAP_MODELS))} or a "
            "pool size in days of churn >= 1 (inf: sequential)"
        )
    try:
        return float(overlap)
    except OverflowError:  # a whole number beyond any float: an endless pool, as sequential
        return math.inf


def pool_curve(days: npt.ArrayLike, pool_days: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Distinct change over ``days`` days in days of churn, for a pool of ``pool_days`` [days].

    ``m (1 - (1 - 1/m)^N)``: ``N`` for an infinite pool (sequential), 1 for ``m = 1`` (the same
    blocks every day), and about ``m`` once ``N`` is several times ``m``.

    >>> pool_curve([1, 2, 30], 4.0).round(3).tolist()
    [1.0, 1.75, 3.999]
    >>> pool_curve(30, np.inf).tolist()
    30.0
    """
    n = np.asarray(days, dtype=np.float64)
    m = np.asarray(pool_days, dtype=np.float64)
    finite = np.isfinite(m)
    safe = np.where(finite, m, 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(safe > 1, np.log1p(-1.0 / np.maximum(safe, 1.0 + 1e-12)), -np.inf)
        curve = np.where(n > 0, safe * -np.expm1(n * step), 0.0)
    return np.asarray(np.where(finite, curve, n), dtype=np.float64)


#: The anchors of a period churn curve [days]: a day, a week, a month of retention (31 days,
#: G3.2) and a year (P6: the estimator's daily, weekly, monthly and yearly churn).
PERIOD_ANCHOR_DAYS = (1.0, 7.0, 31.0, 365.0)
_PERIOD_NAMES = (
    "daily churn share",
    "weekly_churn_fraction",
    "monthly_churn_fraction",
    "yearly_churn_fraction",
)


def _fraction_array(field: str, value: object) -> npt.NDArray[np.float64] | None:
    """``value`` as a float array of shares in [0, 1] (NaN elements: not given); None for None
    or a single NaN."""
    if value is None:
        return None
    if isinstance(value, str | bytes | dict | set | bool):
        raise ValueError(f"{field}={value!r:.60} must be a share of the used data in [0, 1]")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(
            f"{field}={value!r:.60} must be a share of the used data in [0, 1]"
        ) from None
    bad = ~np.isnan(array) & ~((array >= 0) & (array <= 1))
    if bad.any():
        at = np.argwhere(bad)[0] if array.ndim else ()
        where = f" at position {tuple(int(i) for i in at)}" if array.ndim else ""
        found = array[tuple(at)] if array.ndim else array
        raise ValueError(
            f"{field}={float(found)!r}{where} must be a share of the used data in [0, 1] "
            "(blank: the overlap model's curve)"
        )
    return None if array.ndim == 0 and np.isnan(array) else array


def _check_rising(
    fractions: tuple[npt.ArrayLike, ...], where: Any = None, daily: str = _PERIOD_NAMES[0]
) -> None:
    """Refuse anchors that decrease: the shares changed over a day, a week, a month and a year
    (NaN: not given) must not decrease, as a longer period holds the shorter one's changes.
    ``where(position)`` names the element (a VM) of an array; default its position. ``daily``
    names the daily share as the caller's arguments give it."""
    arrays = np.broadcast_arrays(*(np.asarray(f, dtype=np.float64) for f in fractions))
    stack = np.stack(arrays, axis=-1)
    most = np.fmax.accumulate(stack, axis=-1)
    prior = np.concatenate([np.full((*stack.shape[:-1], 1), -np.inf), most[..., :-1]], axis=-1)
    bad = stack < prior
    if not bad.any():
        return
    at = np.argwhere(bad)[0]
    position, k = tuple(int(i) for i in at[:-1]), int(at[-1])
    row = stack[position]
    earlier = int(np.nanargmax(row[:k]))
    names = (daily, *_PERIOD_NAMES[1:])
    label = (
        where(position) if where is not None else (f" at position {position}" if position else "")
    )
    raise ValueError(
        f"{names[k]}={row[k]:g}{label} is below the {names[earlier]} "
        f"({row[earlier]:g}): the share of the used data changed over "
        f"{PERIOD_ANCHOR_DAYS[k]:g} days cannot be less than over {PERIOD_ANCHOR_DAYS[earlier]:g} "
        "(a week changes at least what a day does)"
    )


@dataclass(frozen=True)
class PeriodChurn:
    """Churn per point kind (P6, A33): the share of the used data changed over a week, a month and a
    year, counted once (distinct), as Microsoft's estimator asks for it.

    The daily churn is the VM's churn (``daily_churn_gb``); these add three anchors to the curve
    of distinct change over ``N`` days (:func:`distinct_change_gb`): ``(1, daily churn)``, ``(7,
    weekly x used)``, ``(31, monthly x used)`` (a month of retention is 31 days, G3.2) and
    ``(365, yearly x used)``, joined linearly, flat beyond a year and never above the used data.
    An anchor not given (None or NaN) takes the overlap model's value at that ``N`` (A32),
    kept between the given anchors around it; with no anchor given the model's curve is used
    unchanged. Periods of a day or less (a daily point, hourly snapshots) always follow the
    model.

    Each field is a share in [0, 1], one value or an array (one per VM: the fleet's
    ``FleetPlan.period_churn``, read by :func:`vmbackup.fleet.fleet_plan` from the fleet's
    ``weekly_churn_fraction``, ``monthly_churn_fraction`` and ``yearly_churn_fraction``
    columns, blank: not given). Per churn class, set the columns by class before the plan::

        fleet.with_columns(weekly_churn_fraction=pl.when(pl.col("churn_class") == "high")
                           .then(0.25).otherwise(pl.col("weekly_churn_fraction")))

    Raises
    ------
    ValueError
        A share outside [0, 1], or given anchors that decrease (a month changing less than a
        week), naming the field, the value and its position.

    Examples
    --------
    >>> period = PeriodChurn(weekly_churn_fraction=0.1, yearly_churn_fraction=0.4)
    >>> distinct_change_gb(100, 2, [1, 4, 7, 365, 800], period_churn=period).round(1).tolist()
    [2.0, 6.0, 10.0, 40.0, 40.0]
    >>> PeriodChurn(weekly_churn_fraction=0.3, monthly_churn_fraction=0.2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: monthly_churn_fraction=0.2 is below the weekly_churn_fraction (0.3): ...
    """

    weekly_churn_fraction: npt.ArrayLike | None = None
    monthly_churn_fraction: npt.ArrayLike | None = None
    yearly_churn_fraction: npt.ArrayLike | None = None

    def __post_init__(self) -> None:
        for field in _PERIOD_NAMES[1:]:
            object.__setattr__(self, field, _fraction_array(field, getattr(self, field)))
        _check_rising((np.nan, *self.fractions()))

    def fractions(self) -> tuple[npt.NDArray[np.float64], ...]:
        """The weekly, monthly and yearly shares (NaN: not given)."""
        return tuple(
            np.asarray(np.nan if getattr(self, f) is None else getattr(self, f), dtype=np.float64)
            for f in _PERIOD_NAMES[1:]
        )

    def given(self) -> npt.NDArray[np.bool_]:
        """Where any anchor is given (broadcast over the fields)."""
        w, m, y = self.fractions()
        return np.asarray(~(np.isnan(w) & np.isnan(m) & np.isnan(y)))

    def take(self, rows: npt.NDArray[np.int64]) -> PeriodChurn:
        """The anchors of some elements (VMs) of per-VM arrays, as a column (rows x 1), ready
        to broadcast against a row of periods."""
        return PeriodChurn(
            *(np.broadcast_to(f, (np.size(f),))[rows][:, None] for f in self.fractions())
        )


def _model_change_gb(
    used: npt.NDArray[np.float64],
    churn: npt.NDArray[np.float64],
    n: npt.ArrayLike,
    pool: float | npt.NDArray[np.float64] | None,
) -> npt.NDArray[np.float64]:
    """The overlap model's distinct change (A20, A32) for churn already capped at used."""
    if pool is not None:
        return np.asarray(np.minimum(used, churn * pool_curve(n, pool)), dtype=np.float64)
    share = np.divide(churn, used, out=np.zeros(np.broadcast(churn, used).shape), where=used > 0)
    left = np.log1p(-np.minimum(share, 1.0 - 1e-15))
    return np.asarray(used * -np.expm1(np.asarray(n, dtype=np.float64) * left), dtype=np.float64)


def _change_gb(
    used: npt.NDArray[np.float64],
    churn: npt.NDArray[np.float64],
    n: npt.NDArray[np.float64],
    pool: float | npt.NDArray[np.float64] | None,
    period: PeriodChurn | None,
    model: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """Distinct change over ``n`` days [GB]: the one formula (checked inputs, churn capped at
    used). ``model``: the model's change at ``n`` if already known (a timeline's). Anchors that
    would decrease are raised to the one before (callers refuse them at their boundary)."""
    if model is None:
        model = _model_change_gb(used, churn, n, pool)
    if period is None:
        return model
    given = period.given()
    if not given.any():
        return model
    fractions = period.fractions()
    shape = np.broadcast_shapes(used.shape, churn.shape, n.shape, *(f.shape for f in fractions))
    full = np.broadcast_to(used, shape)
    anchors = np.stack(
        [np.broadcast_to(churn, shape)] + [np.broadcast_to(f * used, shape) for f in fractions],
        axis=-1,
    )
    stand_in = np.stack(
        [
            np.broadcast_to(_model_change_gb(used, churn, d, pool), shape)
            for d in PERIOD_ANCHOR_DAYS
        ],
        axis=-1,
    )
    lower = np.fmax.accumulate(anchors, axis=-1)
    upper = np.fmin.accumulate(anchors[..., ::-1], axis=-1)[..., ::-1]
    upper = np.where(np.isnan(upper), np.inf, upper)
    points = np.where(np.isnan(anchors), np.minimum(np.maximum(stand_in, lower), upper), anchors)
    points = np.minimum(np.maximum.accumulate(points, axis=-1), full[..., None])
    x = np.asarray(PERIOD_ANCHOR_DAYS)
    days = np.broadcast_to(n, shape)
    j = np.clip(np.searchsorted(x, days, side="right") - 1, 0, x.size - 2)
    y0 = np.take_along_axis(points, j[..., None], axis=-1)[..., 0]
    y1 = np.take_along_axis(points, j[..., None] + 1, axis=-1)[..., 0]
    t = np.clip((days - x[j]) / (x[j + 1] - x[j]), 0.0, 1.0)
    curve = y0 + t * (y1 - y0)
    return np.asarray(np.where(given & (days > 1), curve, model), dtype=np.float64)


def distinct_change_gb(
    used_gb: npt.ArrayLike,
    daily_churn_gb: npt.ArrayLike,
    days: npt.ArrayLike,
    overlap: str | float | npt.NDArray[np.float64] = "trace",
    *,
    period_churn: PeriodChurn | None = None,
) -> npt.NDArray[np.float64]:
    """Distinct data changed over ``days`` days of constant churn [GB] (S28's actual data).

    The one formula of distinct change every view uses (a point's increment in the bill, the
    S28 chain, the fleet, archive and the apps). Arrays broadcast together.

    Parameters
    ----------
    used_gb
        Used data [GB]: the bound, as no period changes more than the disk holds.
    daily_churn_gb
        Distinct data changed in one day [GB].
    days
        Length of the period [days] (may be fractional: an hourly snapshot's share of a day).
    overlap
        ``"trace"`` (default, A32): the days' changes come from a pool of
        :data:`TRACE_POOL_DAYS` days of churn; ``"random"`` (A20): from the whole used data;
        ``"sequential"``: they never overlap (the upper bound); or a pool size [days of churn]
        (an array: one per element, broadcast with the others).
    period_churn
        Churn per point kind (P6, :class:`PeriodChurn`): the shares of the used data changed
        over a week, a month and a year; where given, periods longer than a day follow the
        piecewise-linear curve through them instead of the model's. None: the model alone.

    Returns
    -------
    numpy.ndarray
        ``min(used, churn x m (1 - (1 - 1/m)^N))`` for a pool of ``m`` days;
        ``used (1 - (1 - churn/used)^N)`` for random; ``min(used, N x churn)`` for sequential;
        with ``period_churn``, the curve through its anchors (never above ``used``).

    Raises
    ------
    ValueError
        A bad value, or a given weekly, monthly or yearly share below the daily churn's share
        of the used data (or below a shorter period's), naming it and its position.

    Notes
    -----
    The pool model: each day rewrites a random share ``churn / P`` of a pool of ``P = m x
    churn`` GB (the data that ever changes: logs, page files, databases' hot pages), so ``N``
    days change ``P (1 - (1 - churn/P)^N)``. ``P = used`` is the random model; an infinite
    pool is the sequential one. ``m`` was fitted on the project's three-day block trace (A32).

    Examples
    --------
    A 100 GB VM changing 2 GB a day: a month's point holds 21.0 GB of distinct change with the
    trace's pool (11.2 days of churn, 22.4 GB, almost all rewritten), 45.5 GB with random
    overlap and 60 GB with none; a day holds 2 GB in all.

    >>> [round(float(distinct_change_gb(100, 2, 30, o)), 1) for o in OVERLAP_MODELS]
    [21.0, 45.5, 60.0]
    >>> [float(distinct_change_gb(100, 2, 1, o)) for o in OVERLAP_MODELS]
    [2.0, 2.0, 2.0]
    """
    used = non_negative_array("used_gb", used_gb)
    churn = np.minimum(non_negative_array("daily_churn_gb", daily_churn_gb), used)
    n = non_negative_array("days", days)
    pool = _pool_days(overlap)
    if period_churn is not None:
        period = instance("period_churn", period_churn, PeriodChurn, "a PeriodChurn")
        daily = np.divide(
            churn, used, out=np.zeros(np.broadcast(churn, used).shape), where=used > 0
        )
        _check_rising((daily, *period.fractions()), daily="daily_churn_gb / used_gb")
        return _change_gb(used, churn, n, pool, period)
    return _model_change_gb(used, churn, n, pool)


def changed_gb(
    used_gb: npt.ArrayLike,
    daily_churn_gb: npt.ArrayLike,
    older: npt.ArrayLike,
    newer: npt.ArrayLike,
    overlap: str | float = "trace",
    *,
    period_churn: PeriodChurn | None = None,
) -> npt.NDArray[np.float64]:
    """Distinct data changed after day ``older`` up to and including day ``newer`` [GB].

    This is the actual data of a recovery point made on day ``newer`` whose previous retained
    point was made on day ``older`` (S28): :func:`distinct_change_gb` on a timeline whose used
    data and churn may change from day to day.

    Parameters
    ----------
    used_gb, daily_churn_gb
        Used data and distinct data changed on each day of the timeline [GB] (arrays).
    older, newer
        Day indices into the timeline (arrays of the same shape); ``older < newer``.
    overlap
        The overlap model of :func:`distinct_change_gb`. Pool models (``"trace"``, a number,
        ``"sequential"``) take the period's mean churn; ``"random"`` multiplies the days'
        unchanged shares ``1 - churn / used``.
    period_churn
        Churn per point kind (:class:`PeriodChurn`, P6): periods longer than a day follow its
        anchors at the period's mean churn and the newer day's used data.

    Returns
    -------
    numpy.ndarray
        Distinct changed data [GB], never above ``used_gb`` on day ``newer``.

    Examples
    --------
    A 100 GB VM changing 10 GB a day: two days change 19 GB when the days' changes are
    independent, 20 GB when they never overlap, 19.1 GB with the trace's pool of 112 GB.

    >>> used, churn = np.full(3, 100.0), np.full(3, 10.0)
    >>> float(changed_gb(used, churn, 0, 2, overlap="random")[()])
    19.0
    >>> float(changed_gb(used, churn, 0, 2, overlap="sequential")[()])
    20.0
    >>> round(float(changed_gb(used, churn, 0, 2)[()]), 2)
    19.11
    """
    pool = _pool_days(overlap)
    used = np.asarray(used_gb, dtype=np.float64)
    churn = np.minimum(np.asarray(daily_churn_gb, dtype=np.float64), used)
    a = np.asarray(older, dtype=np.int64)
    b = np.asarray(newer, dtype=np.int64)
    written = np.cumsum(churn)
    mean = (written[b] - written[a]) / np.maximum(b - a, 1)
    if pool is not None:
        model = np.asarray(np.minimum(used[b], mean * pool_curve(b - a, pool)), dtype=np.float64)
    else:
        # at most all of the data changes in a day: min(churn, used) / used never overflows
        share = np.divide(churn, used, out=(churn > 0).astype(np.float64), where=used > 0)
        # log of the share of data left unchanged, summed over days; a share of 1 leaves nothing
        unchanged = np.cumsum(np.log1p(-np.minimum(share, 1.0 - 1e-15)))
        model = np.asarray(used[b] * -np.expm1(unchanged[b] - unchanged[a]), dtype=np.float64)
    if period_churn is None:
        return model
    period = instance("period_churn", period_churn, PeriodChurn, "a PeriodChurn")
    end = used[b]
    span = (b - a).astype(np.float64)
    return _change_gb(end, np.minimum(mean, end), span, pool, period, model)


def _previous_longer_lived(expires: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For each point, the newest older point that outlives it (-1 if none).

    Pointer jumping: each round every unresolved point jumps to its candidate's candidate,
    so the rounds are logarithmic in the number of points, without a loop over points.
    """
    index = np.arange(expires.size)
    jump = index - 1
    while True:
        pending = jump >= 0
        pending[pending] = expires[jump[pending]] <= expires[index[pending]]
        if not pending.any():
            return jump
        jump[pending] = jump[jump[pending]]


def chain_segments(created: npt.ArrayLike, expires: npt.ArrayLike) -> pl.DataFrame:
    """Which retained point precedes each recovery point, and when (S28's chain).

    Points are ordered by creation. On any day a point's predecessor is the newest older point
    still retained; when that one expires its changes fold into this point, whose predecessor
    becomes the next older survivor. The oldest surviving point holds the full copy.

    Parameters
    ----------
    created, expires
        Day index each point is made and first day it no longer exists (sorted by
        ``created``; ``expires > created``).

    Returns
    -------
    polars.DataFrame
        One row per (point, predecessor) period: ``point``, ``previous`` (its predecessor's
        position, -1 while the point is the oldest), ``start`` and ``end`` (day indices,
        ``end`` exclusive).

    Examples
    --------
    A daily point kept 2 days, a monthly point kept 10, then two more daily points.

    >>> chain_segments([0, 1, 2, 3], [2, 10, 4, 5]).rows()
    [(0, -1, 0, 2), (1, 0, 1, 2), (1, -1, 2, 10), (2, 1, 2, 4), (3, 2, 3, 4), (3, 1, 4, 5)]
    """
    born = np.asarray(created, dtype=np.int64)
    dies = np.asarray(expires, dtype=np.int64)
    if born.size and (np.any(np.diff(born) < 0) or np.any(dies <= born)):
        raise ValueError("created must be sorted and every point must expire after it is made")
    outlives = _previous_longer_lived(dies)
    points = np.arange(born.size)
    previous, start = points - 1, born.copy()
    active = np.ones(born.size, dtype=bool)
    parts: list[tuple[npt.NDArray[np.int64], ...]] = []
    while active.any():
        p, q, s = points[active], previous[active], start[active]
        alone = q < 0
        end = np.where(alone, dies[p], np.minimum(dies[np.maximum(q, 0)], dies[p]))
        keep = end > s
        parts.append((p[keep], q[keep], s[keep], end[keep]))
        done = alone | (dies[np.maximum(q, 0)] >= dies[p])
        start[p] = np.maximum(s, end)
        previous[p] = np.where(done, q, outlives[np.maximum(q, 0)])
        active[p[done]] = False
    empty = np.zeros(0, np.int64)
    columns = [np.concatenate([empty] + [part[i] for part in parts]) for i in range(4)]
    frame = pl.DataFrame(dict(zip(("point", "previous", "start", "end"), columns, strict=True)))
    return frame.cast(pl.Int64).sort("point", "start")


def chain_storage_gb(
    created: npt.ArrayLike,
    expires: npt.ArrayLike,
    used_gb: npt.ArrayLike,
    daily_churn_gb: npt.ArrayLike,
    *,
    overlap: str | float = "trace",
    period_churn: PeriodChurn | None = None,
) -> npt.NDArray[np.float64]:
    """Data held by a chain of incremental recovery points on each day [GB] (S28).

    The oldest retained point holds the full copy (taken at the newest retained point's used
    size, so growth is counted once); every other retained point holds the distinct data
    changed since its predecessor (:func:`changed_gb`), and absorbs the changes of the points
    between them as those expire.

    Parameters
    ----------
    created, expires
        Day index each point is made and first day it is gone (sorted by ``created``).
    used_gb, daily_churn_gb
        Used data and distinct daily changes on each day of the timeline [GB] (arrays whose
        length is the number of days).
    overlap
        The churn overlap model of :func:`changed_gb`.
    period_churn
        Churn per point kind (:class:`PeriodChurn`, P6); None: the overlap model alone.

    Returns
    -------
    numpy.ndarray
        Stored GB at the end of each day.
    """
    used = np.asarray(used_gb, dtype=np.float64)
    churn = np.asarray(daily_churn_gb, dtype=np.float64)
    n = used.size
    born = np.asarray(created, dtype=np.int64)
    dies = np.minimum(np.asarray(expires, dtype=np.int64), n)
    storage = np.zeros(n)
    if born.size == 0:
        return storage
    segments = chain_segments(born, dies)
    linked = segments.filter(pl.col("previous") >= 0)
    point = linked["point"].to_numpy()
    size = changed_gb(
        used,
        churn,
        born[linked["previous"].to_numpy()],
        born[point],
        overlap,
        period_churn=period_churn,
    )
    change = np.zeros(n + 1)
    np.add.at(change, linked["start"].to_numpy(), size)
    np.add.at(change, linked["end"].to_numpy(), -size)
    # the full copy: the used size of the newest point alive on each day
    oldest = segments.filter(pl.col("previous") < 0)
    alive = np.zeros(n + 1)
    np.add.at(alive, oldest["start"].to_numpy(), 1)
    np.add.at(alive, oldest["end"].to_numpy(), -1)
    any_alive = np.cumsum(alive[:n]) > 0
    newest = _newest_alive(born, dies, n)
    full = np.where(any_alive, used[born[np.maximum(newest, 0)]], 0.0)
    return np.asarray(full + np.cumsum(change[:n]), dtype=np.float64)


def _newest_alive(
    born: npt.NDArray[np.int64], dies: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.int64]:
    """Position of the newest point alive at the end of each day (-1 if none)."""
    outlives = _previous_longer_lived(dies)
    day = np.arange(n)
    newest = np.searchsorted(born, day, side="right") - 1
    while True:
        dead = newest >= 0
        dead[dead] = dies[newest[dead]] <= day[dead]
        if not dead.any():
            return newest
        newest[dead] = outlives[newest[dead]]


def chain_gaps(
    created: npt.ArrayLike, expires: npt.ArrayLike, days: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The S28 chain as counts of increments by gap, for VMs of constant data and churn.

    With constant used data ``U`` and churn ``c`` a linked point's size depends only on the days
    since its predecessor, so the chain on each day is ``U x full + counts @ D(gaps)`` with
    ``D`` = :func:`distinct_change_gb`: what :func:`chain_storage_gb` gives, for any number of
    VMs sharing a policy at the cost of one (the fleet's vault over years).

    Parameters
    ----------
    created, expires
        Day index each point is made and first day it is gone (sorted by ``created``).
    days
        The timeline's length [days].

    Returns
    -------
    tuple
        ``gaps`` (the distinct gaps [days], G), ``counts`` (increments of each gap alive at the
        end of each day, shape (days, G)) and ``full`` (1.0 on days a point holds the full copy).

    Examples
    --------
    >>> gaps, counts, full = chain_gaps([0, 1, 2], [5, 5, 5], 5)
    >>> gaps.tolist(), counts[:, 0].tolist(), full.tolist()
    ([1], [0.0, 1.0, 2.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0])
    """
    born = np.asarray(created, dtype=np.int64)
    dies = np.minimum(np.asarray(expires, dtype=np.int64), days)
    keep = dies > born
    born, dies = born[keep], dies[keep]
    if born.size == 0:
        return np.zeros(0, np.int64), np.zeros((days, 0)), np.zeros(days)
    segments = chain_segments(born, dies)
    linked = segments.filter(pl.col("previous") >= 0)
    gap = born[linked["point"].to_numpy()] - born[linked["previous"].to_numpy()]
    gaps, which = np.unique(gap, return_inverse=True)
    change = np.zeros((days + 1, gaps.size))
    np.add.at(change, (linked["start"].to_numpy(), which), 1.0)
    np.add.at(change, (linked["end"].to_numpy(), which), -1.0)
    oldest = segments.filter(pl.col("previous") < 0)
    alive = np.zeros(days + 1)
    np.add.at(alive, oldest["start"].to_numpy(), 1.0)
    np.add.at(alive, oldest["end"].to_numpy(), -1.0)
    full = (np.cumsum(alive[:days]) > 0).astype(np.float64)
    return gaps, np.cumsum(change[:days], axis=0), full


def vault_points(
    policy: Policy,
    days: pl.Series,
    *,
    backing_up: npt.ArrayLike | None = None,
    frozen_from: dt.date | None = None,
) -> pl.DataFrame:
    """The vault recovery points made over a timeline and when each expires (Y2, Y3, S24).

    Returns the columns of :func:`point_expiry` for the points made, plus ``created_day`` and
    ``expires_day`` (indices into ``days``; ``expires_day`` is capped at the timeline's length,
    and points existing when protection stopped with data retained never expire).
    """
    _policy(policy)
    days = _timeline(days)
    n = days.len()
    if backing_up is None:
        active = np.ones(n, dtype=bool)
    else:
        flags = np.asarray(backing_up)
        if flags.dtype != bool or flags.ndim > 1 or (flags.ndim == 1 and flags.size != n):
            raise ValueError(
                f"backing_up must be True/False, one value or one per day ({n}); "
                f"found {flags.dtype} of shape {flags.shape}"
            )
        active = np.broadcast_to(flags, (n,))
    if frozen_from is not None:
        date_value("frozen_from", frozen_from)
    expiry = point_expiry(policy, days)
    made = expiry.select(_backup_day(policy)).to_series().to_numpy() & active
    start = days[0] if n else dt.date(2000, 1, 1)
    points = expiry.with_columns(
        created_day=pl.int_range(0, n, dtype=pl.Int64),
        expires_day=(pl.col("expires") - pl.lit(start)).dt.total_days(),
    ).filter(pl.Series(made))
    if frozen_from is not None:
        frozen = (frozen_from - start).days
        points = points.with_columns(
            expires_day=pl.when(pl.col("expires_day") >= frozen)
            .then(pl.lit(n, dtype=pl.Int64))
            .otherwise(pl.col("expires_day"))
        )
    # a point made on a day no retention rule keeps (a weekly run off the weekly days) is gone
    # at once
    return points.with_columns(expires_day=pl.col("expires_day").clip(upper_bound=n)).filter(
        pl.col("expires_day") > pl.col("created_day")
    )


def point_sizes_gb(
    policy: Policy,
    days: pl.Series,
    used_gb: npt.ArrayLike,
    daily_churn_gb: npt.ArrayLike,
    on: dt.date,
    *,
    overlap: str | float = "trace",
    period_churn: PeriodChurn | None = None,
) -> pl.DataFrame:
    """The actual data of each vault point retained on day ``on`` (S28).

    Returns ``created``, ``kept_by`` and ``actual_gb``: the full copy for the oldest point, the
    distinct data changed since the retained point before it for the others. Their sum is
    :func:`vault_storage_gb` on that day.

    >>> days = pl.date_range(dt.date(2026, 1, 1), dt.date(2026, 3, 31), "1d", eager=True)
    >>> p = Policy(daily_retention_days=7, weekly_retention_weeks=4)
    >>> sizes = point_sizes_gb(p, days, 100.0, 2.0, dt.date(2026, 3, 31), overlap="sequential")
    >>> sizes["actual_gb"].to_list()[:3]
    [100.0, 14.0, 14.0]
    """
    days = _timeline(days)
    n = days.len()
    used = _per_day("used_gb", used_gb, n)
    churn = _per_day("daily_churn_gb", daily_churn_gb, n)
    date_value("on", on)
    points = vault_points(policy, days)
    born = points["created_day"].to_numpy()
    day = (on - days[0]).days
    if not 0 <= day < n:
        raise ValueError(f"on={on} is outside the timeline {days[0]}..{days[-1]}")
    segments = chain_segments(born, points["expires_day"].to_numpy()).filter(
        (pl.col("start") <= day) & (pl.col("end") > day)
    )
    point = segments["point"].to_numpy()
    previous = segments["previous"].to_numpy()
    newest = int(point.max()) if point.size else 0
    full = used[born[newest]] if point.size else 0.0
    delta = changed_gb(
        used,
        churn,
        born[np.maximum(previous, 0)],
        born[point],
        overlap,
        period_churn=period_churn,
    )
    return pl.DataFrame(
        {
            "created": points["created"].gather(point),
            "kept_by": points["kept_by"].gather(point),
            "actual_gb": np.where(previous < 0, full, delta),
        }
    )


def vault_storage_gb(
    policy: Policy,
    days: pl.Series,
    used_gb: npt.ArrayLike,
    daily_churn_gb: npt.ArrayLike,
    *,
    backing_up: npt.ArrayLike | None = None,
    frozen_from: dt.date | None = None,
    overlap: str | float = "trace",
    period_churn: PeriodChurn | None = None,
) -> npt.NDArray[np.float64]:
    """Vault storage on each day of a timeline (S28).

    Parameters
    ----------
    policy
        The backup policy (its retention and, for weekly schedules, its backup days).
    days
        Consecutive dates; the first is the first successful backup.
    used_gb
        Used data on each day [GB] (a scalar applies to every day).
    daily_churn_gb
        Distinct data changed each day [GB] (a scalar applies to every day).
    backing_up
        Whether backups run on each day (default: every day); False after protection stops.
    frozen_from
        The day protection stopped with data retained: points that existed the day before
        never expire.
    overlap
        How the days' changes overlap (:func:`changed_gb`): ``"trace"`` (default, A32),
        ``"random"`` or ``"sequential"``.
    period_churn
        Churn per point kind (:class:`PeriodChurn`, P6); None: the overlap model alone.

    Returns
    -------
    numpy.ndarray
        Stored GB at the end of each day: the full copy plus, for every other retained point,
        the distinct data changed since the retained point before it (:func:`chain_storage_gb`).

    Examples
    --------
    Seven daily points of 2 GB churn on a 100 GB VM: the full copy plus six deltas.

    >>> days = pl.date_range(dt.date(2026, 1, 1), dt.date(2026, 1, 20), "1d", eager=True)
    >>> float(vault_storage_gb(Policy(daily_retention_days=7), days, 100.0, 2.0)[-1])
    112.0
    """
    days = _timeline(days)
    n = days.len()
    used = _per_day("used_gb", used_gb, n)
    churn = _per_day("daily_churn_gb", daily_churn_gb, n)
    points = vault_points(policy, days, backing_up=backing_up, frozen_from=frozen_from)
    return chain_storage_gb(
        points["created_day"].to_numpy(),
        points["expires_day"].to_numpy(),
        used,
        churn,
        overlap=overlap,
        period_churn=period_churn,
    )


def snapshot_storage_gb(
    policy_type: str,
    used_gb: npt.ArrayLike,
    daily_churn_gb: npt.ArrayLike,
    instant_restore_days: npt.ArrayLike,
    *,
    snapshots_per_day: int = 1,
    extra_snapshots: npt.ArrayLike = 0,
    overlap: str | float = "trace",
) -> npt.NDArray[np.float64]:
    """Instant Restore snapshot storage in steady state (P4, G8, G9).

    Standard policies keep incremental snapshots: about ``days x churn``. Enhanced policies (and
    Trusted Launch VMs under Standard, G8) keep a full first snapshot: about
    ``used + (days - 1) x churn``. With ``k`` snapshots a day each holds the changes of its
    interval, :func:`distinct_change_gb` over ``1/k`` of a day (``churn / k`` with sequential
    writes, more with overlap), and ``days x k + extra`` snapshots exist.

    Parameters
    ----------
    policy_type
        ``"standard"`` (incremental snapshots) or ``"enhanced"`` (first snapshot full).
    used_gb
        Used data of the VM [GB].
    daily_churn_gb
        Data changed per day [GB].
    instant_restore_days
        Snapshot retention [days]; an array gives the days of snapshots kept on each day, e.g.
        while they build up after the first backup.
    snapshots_per_day
        Snapshots taken a day (Enhanced hourly policies take several, Y2).
    extra_snapshots
        Expired snapshots not yet cleaned up, still billed (G9: one to three).
    overlap
        How changes overlap within a day (see :func:`distinct_change_gb`).

    Examples
    --------
    Microsoft's example: a 100 GB VM with 2% daily churn and 5 days of snapshots.

    >>> float(snapshot_storage_gb("standard", 100, 2, 5))
    10.0
    >>> float(snapshot_storage_gb("enhanced", 100, 2, 5))
    108.0
    """
    kind = choice("policy_type", policy_type, ("standard", "enhanced"))
    _pool_days(overlap)
    days = non_negative_array("instant_restore_days", instant_restore_days)
    used = non_negative_array("used_gb", used_gb)
    churn = non_negative_array("daily_churn_gb", daily_churn_gb)
    extra = non_negative_array("extra_snapshots", extra_snapshots)
    per_day = snapshots_per_day
    if isinstance(per_day, bool) or not isinstance(per_day, int) or not 1 <= per_day <= 24:
        raise ValueError(f"snapshots_per_day={per_day!r} must be a whole number 1..24")
    # each snapshot holds the distinct change of its share of the day (one formula, A32)
    delta = churn if per_day == 1 else distinct_change_gb(used, churn, 1.0 / per_day, overlap)
    count = days * per_day + np.where(days > 0, extra, 0.0)
    if kind == "standard":
        return np.asarray(count * delta, dtype=np.float64)
    return np.asarray(
        np.where(count > 0, used + np.maximum(count - 1, 0) * delta, 0.0), dtype=np.float64
    )
