"""Which recovery points exist, and how much vault and snapshot storage they take (S28, P4, Y1-Y3).

Storage model (interpretation of S28, "the sum of the actual data in each recovery point"):

- The vault holds one full copy of the data (the used size at the newest recovery point) plus,
  for every other retained point, that point's delta: the data changed on its day (churn). With
  N points of constant size and churn that is ``used + (N - 1) x churn``.
- New data (growth) is part of the full copy, so it never disappears while points reference it;
  a point kept longer (weekly, monthly) is charged one day's churn, not the changes of the days
  between it and its neighbour (an underestimate when few daily points are kept).
- Monthly retention counts 31-day months under today's rules (G3) and calendar months under the
  seed's; see :func:`point_expiry`.
- A point is retained until the latest of the expiries that apply to it: daily, weekly (if made
  on a weekly day), monthly and yearly (if made on the chosen day of the month / year).
- An Enhanced policy sends only the day's last backup to the vault (Y2): one vault point a day.

All functions work on whole timelines at once (polars / numpy), never a loop over days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import choice, non_negative_array
from vmbackup.policy import MONTHS, WEEKDAYS, Policy

__all__ = [
    "point_expiry",
    "recovery_points",
    "snapshot_storage_gb",
    "vault_storage_gb",
]


def _kinds(policy: Policy, day: pl.Expr) -> dict[str, pl.Expr]:
    """For each retention kind, whether a point made on ``day`` is kept under it."""
    weekday_names = pl.lit(list(WEEKDAYS)).list.get(day.dt.weekday().cast(pl.Int64) - 1)
    kinds = {"daily": pl.lit(policy.daily_retention_days is not None)}
    kinds["weekly"] = pl.lit(policy.weekly_retention_weeks is not None) & weekday_names.is_in(
        list(policy.weekly_days)
    )
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


def vault_storage_gb(
    policy: Policy,
    days: pl.Series,
    used_gb: npt.ArrayLike,
    daily_churn_gb: npt.ArrayLike,
    *,
    backing_up: npt.ArrayLike | None = None,
    frozen_from: dt.date | None = None,
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

    Returns
    -------
    numpy.ndarray
        Stored GB at the end of each day.

    Examples
    --------
    Seven daily points of 2 GB churn on a 100 GB VM: the full copy plus six deltas.

    >>> days = pl.date_range(dt.date(2026, 1, 1), dt.date(2026, 1, 20), "1d", eager=True)
    >>> float(vault_storage_gb(Policy(daily_retention_days=7), days, 100.0, 2.0)[-1])
    112.0
    """
    n = days.len()
    used = np.broadcast_to(np.asarray(used_gb, dtype=np.float64), (n,))
    churn = np.broadcast_to(np.asarray(daily_churn_gb, dtype=np.float64), (n,))
    active = (
        np.ones(n, dtype=bool)
        if backing_up is None
        else np.broadcast_to(np.asarray(backing_up, dtype=bool), (n,))
    )
    expiry = point_expiry(policy, days)
    made = expiry.select(_backup_day(policy)).to_series().to_numpy() & active
    created = np.flatnonzero(made)
    storage = np.zeros(n)
    if created.size == 0:
        return storage
    start = days[0]
    expires = (expiry["expires"] - start).dt.total_days().to_numpy()[created]
    if frozen_from is not None:
        expires = np.where(expires >= (frozen_from - start).days, n, expires)
    expires = np.minimum(expires, n).astype(np.int64)
    # the newest point is held in full; every other retained point holds its own day's churn
    delta = churn[created]
    change = np.zeros(n + 1)
    np.add.at(change, created, delta)
    np.add.at(change, expires, -delta)
    alive_sum = np.cumsum(change[:n])
    # the oldest point alive on day t: the first point whose running-max expiry exceeds t
    oldest = np.searchsorted(np.maximum.accumulate(expires), np.arange(n), side="right")
    newest = np.searchsorted(created, np.arange(n), side="right") - 1
    has_point = (newest >= 0) & (oldest < created.size)
    oldest = np.minimum(oldest, created.size - 1)
    newest = np.maximum(newest, 0)
    storage = np.where(has_point, used[created[newest]] + alive_sum - delta[oldest], 0.0)
    return storage


def snapshot_storage_gb(
    policy_type: str,
    used_gb: npt.ArrayLike,
    daily_churn_gb: npt.ArrayLike,
    instant_restore_days: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Instant Restore snapshot storage in steady state (P4).

    Standard policies keep incremental snapshots: about ``days x churn``. Enhanced policies keep
    a full first snapshot: about ``used + (days - 1) x churn``.

    Parameters
    ----------
    policy_type
        ``"standard"`` or ``"enhanced"``.
    used_gb
        Used data of the VM [GB].
    daily_churn_gb
        Data changed per day [GB].
    instant_restore_days
        Snapshot retention [days]; an array gives the snapshots kept on each day, e.g. while
        they build up after the first backup.

    Examples
    --------
    Microsoft's example: a 100 GB VM with 2% daily churn and 5 days of snapshots.

    >>> float(snapshot_storage_gb("standard", 100, 2, 5))
    10.0
    >>> float(snapshot_storage_gb("enhanced", 100, 2, 5))
    108.0
    """
    kind = choice("policy_type", policy_type, ("standard", "enhanced"))
    days = non_negative_array("instant_restore_days", instant_restore_days)
    used = non_negative_array("used_gb", used_gb)
    churn = non_negative_array("daily_churn_gb", daily_churn_gb)
    if kind == "standard":
        return np.asarray(days * churn, dtype=np.float64)
    return np.asarray(used + np.maximum(days - 1, 0) * churn, dtype=np.float64)
