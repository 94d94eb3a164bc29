"""The vault-archive tier: which recovery points move, when, and what they then hold (G7).

Source: ``MicrosoftDocs/azure-docs`` ``articles/backup/archive-tier-support.md`` (ms.date
2023-04-15), the ``tieringPolicy`` of the policy REST schema (``ArchivedRP.tieringMode``
``TierAfter`` with ``duration`` / ``durationType``, ``TierRecommended``, ``DoNotTier``) and the
Terraform ``tiering_policy`` block. The rules as this module applies them:

- Only monthly and yearly points of a VM may move (the retention that keeps the point longest is
  monthly or yearly); daily and weekly ones never do.
- A point must have spent at least 3 months in the standard tier and have at least 6 months of
  retention left when it moves.
- ``TierAfter``: every eligible point moves ``duration`` after it was made (at least 3 months).
- ``TierRecommended``: a point moves at 3 months only if archiving it saves money. A VM's points
  are incremental and an archived point is converted to a **full** point, so the standard tier
  only sheds the data unique to that point (its changes that the next kept point overwrote);
  the point moves when that saving, at the standard price, exceeds its full size at the archive
  price. Azure's own recommendation set is not published; this is the project's reading of the
  page's explanation (low churn: archiving costs more), tested in ``tests/test_archive.py``.
- A point leaving archive (expiry or deletion) less than 180 days after it moved is charged for
  the rest of the 180 days at the archive price, pro rata.
- The page disagrees with itself on stopped protection ("Stop protection and retain data"
  allows tiering recommended points; its FAQ says points cannot move once protection stops):
  the FAQ is followed, no point moves after protection stops; archived points then stay.
- Cross-region restore never reads archive, so archive storage is billed at the Archive LRS or
  GRS price, never RA-GRS (G10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import choice
from vmbackup.policy import TIERING_MODES
from vmbackup.retention import PeriodChurn, chain_segments, changed_gb

__all__ = [
    "ARCHIVE_EARLY_DELETION_DAYS",
    "ARCHIVE_MIN_LEFT_DAYS",
    "ARCHIVE_MIN_STANDARD_DAYS",
    "TIERING_MODES",
    "ArchivePlan",
    "archive_moves",
]

#: G7: an archived point is charged as if it stayed at least this long [days].
ARCHIVE_EARLY_DELETION_DAYS = 180
#: G7: time a VM point must spend in the standard tier first: 3 months [days, 31-day months].
ARCHIVE_MIN_STANDARD_DAYS = 3 * 31
#: G7: retention a point must have left when it moves: 6 months [days, 31-day months].
ARCHIVE_MIN_LEFT_DAYS = 6 * 31


@dataclass(frozen=True)
class ArchivePlan:
    """Where each vault point lives: ``move_day`` (-1: never moves) and its full size.

    Attributes
    ----------
    points
        One row per vault point: ``created_day``, ``expires_day``, ``move_day`` (day index it
        moves to archive, -1 if never), ``full_gb`` (its size once converted to a full point)
        and ``saving_gb`` (standard-tier data it frees, the recommendation's test).
    """

    points: pl.DataFrame

    def standard_expires(self) -> npt.NDArray[np.int64]:
        """Day each point leaves the standard tier (moved or expired)."""
        moved = self.points["move_day"].to_numpy()
        expires = self.points["expires_day"].to_numpy()
        return np.where(moved >= 0, moved, expires).astype(np.int64)

    def archive_gb(self, n: int) -> npt.NDArray[np.float64]:
        """Archive-tier data at the end of each of ``n`` days [GB]."""
        moved = self.points.filter(pl.col("move_day") >= 0)
        change = np.zeros(n + 1)
        np.add.at(change, moved["move_day"].to_numpy(), moved["full_gb"].to_numpy())
        np.add.at(
            change,
            np.minimum(moved["expires_day"].to_numpy(), n),
            -moved["full_gb"].to_numpy(),
        )
        return np.asarray(np.cumsum(change[:n]), dtype=np.float64)

    def early_deletion_gb_days(self, gone_day: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """GB-days charged because archived points leave before 180 days (per point).

        Parameters
        ----------
        gone_day
            Day index each point leaves archive (its expiry, or the day its data is deleted).
        """
        moved = self.points["move_day"].to_numpy()
        stay = np.asarray(gone_day, dtype=np.int64) - moved
        short = np.clip(ARCHIVE_EARLY_DELETION_DAYS - stay, 0, None)
        charged = np.where(moved >= 0, short * self.points["full_gb"].to_numpy(), 0.0)
        return np.asarray(charged, dtype=np.float64)


def archive_moves(
    points: pl.DataFrame,
    used_gb: npt.ArrayLike,
    daily_churn_gb: npt.ArrayLike,
    *,
    mode: str,
    after_days: int | None = None,
    last_move_day: int | None = None,
    standard_price: float = 1.0,
    archive_price: float = 0.1,
    overlap: str | float = "trace",
    period_churn: PeriodChurn | None = None,
) -> ArchivePlan:
    """Decide which vault points move to archive and when (G7).

    Parameters
    ----------
    points
        Vault points as :func:`vmbackup.retention.vault_points` returns them (``created_day``,
        ``expires_day``, ``kept_by``).
    used_gb, daily_churn_gb
        Used data and distinct daily changes on each day of the timeline [GB] (arrays).
    mode
        ``"DoNotTier"``, ``"TierAfter"`` or ``"TierRecommended"``.
    after_days
        For ``TierAfter``: days after creation a point moves (at least 93, three 31-day months).
    last_move_day
        No point moves on or after this day index (protection stopped); None: no limit.
    standard_price, archive_price
        Prices per GB-month of the two tiers (only their ratio matters), for the recommendation.
    overlap
        Overlap model of the days' changes (:func:`vmbackup.retention.distinct_change_gb`;
        default the trace-fitted pool, A32).
    period_churn
        Churn per point kind (:class:`vmbackup.retention.PeriodChurn`, P6); None: the model.

    Returns
    -------
    ArchivePlan

    Examples
    --------
    A monthly point made on day 0 and kept a year moves after 100 days under ``TierAfter``.

    >>> pts = pl.DataFrame({"created_day": [0], "expires_day": [372], "kept_by": ["monthly"]})
    >>> plan = archive_moves(pts, np.full(400, 100.0), np.full(400, 2.0), mode="TierAfter",
    ...                      after_days=100)
    >>> plan.points["move_day"].to_list()
    [100]
    """
    kind = choice("mode", mode, TIERING_MODES)
    used = np.asarray(used_gb, dtype=np.float64)
    churn = np.asarray(daily_churn_gb, dtype=np.float64)
    created = points["created_day"].to_numpy().astype(np.int64)
    expires = points["expires_day"].to_numpy().astype(np.int64)
    n = used.size
    if kind == "TierAfter":
        if isinstance(after_days, bool) or not isinstance(after_days, int):
            raise ValueError(
                f"after_days={after_days!r} must be a whole number of days for TierAfter"
            )
        if after_days < ARCHIVE_MIN_STANDARD_DAYS:
            raise ValueError(
                f"after_days={after_days}: a VM point must spend at least "
                f"{ARCHIVE_MIN_STANDARD_DAYS} days (3 months) in the standard tier (G7)"
            )
        delay = after_days
    else:
        delay = ARCHIVE_MIN_STANDARD_DAYS
    move = created + delay
    long_kind = points["kept_by"].is_in(["monthly", "yearly"]).to_numpy()
    eligible = long_kind & (expires - move >= ARCHIVE_MIN_LEFT_DAYS) & (move < n)
    if last_move_day is not None:
        eligible &= move < last_move_day
    if kind == "DoNotTier":
        eligible[:] = False
    full = used[np.minimum(created, n - 1)] if n else np.zeros(created.size)
    saving = _unique_data_gb(created, expires, move, eligible, used, churn, overlap, period_churn)
    if kind == "TierRecommended":
        eligible &= saving * standard_price > full * archive_price
    frame = pl.DataFrame(
        {
            "created_day": created,
            "expires_day": expires,
            "move_day": np.where(eligible, move, -1).astype(np.int64),
            "full_gb": full,
            "saving_gb": saving,
        }
    )
    return ArchivePlan(frame)


def _unique_data_gb(
    created: npt.NDArray[np.int64],
    expires: npt.NDArray[np.int64],
    move: npt.NDArray[np.int64],
    candidate: npt.NDArray[np.bool_],
    used: npt.NDArray[np.float64],
    churn: npt.NDArray[np.float64],
    overlap: str | float,
    period_churn: PeriodChurn | None = None,
) -> npt.NDArray[np.float64]:
    """Standard-tier data a point frees when it leaves on ``move``: D(q,p) + D(p,r) - D(q,r),
    with q and r the retained points before and after it that day (D: changed data)."""
    saving = np.zeros(created.size)
    which = np.flatnonzero(candidate)
    if which.size == 0:
        return saving
    segments = chain_segments(created, np.minimum(expires, used.size))
    # predecessor on the move day
    point = segments["point"].to_numpy()
    on_move = (segments["start"].to_numpy() <= move[point]) & (
        move[point] < segments["end"].to_numpy()
    )
    q = np.full(created.size, -1)
    q[point[on_move]] = segments["previous"].to_numpy()[on_move]
    # successor on the move day: the first later point still retained then
    later = (created[None, :] > created[which, None]) & (expires[None, :] > move[which, None])
    has_next = later.any(axis=1)
    r = np.where(has_next, later.argmax(axis=1), -1)
    p = which
    qp, rp = q[p], r

    def change(older: npt.ArrayLike, newer: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return changed_gb(used, churn, older, newer, overlap, period_churn=period_churn)

    d_qp = np.where(qp >= 0, change(np.maximum(qp, 0), created[p]), 0.0)
    d_pr = np.where(rp >= 0, change(created[p], created[np.maximum(rp, 0)]), 0.0)
    d_qr = np.where(
        (qp >= 0) & (rp >= 0),
        change(np.maximum(qp, 0), created[np.maximum(rp, 0)]),
        np.where(qp >= 0, d_qp, d_pr),
    )
    # the oldest point (q < 0) holds the full copy, which passes to the next point: only the
    # next point's delta disappears
    saving[p] = np.where(qp >= 0, d_qp + d_pr - d_qr, d_pr)
    # every model's distinct change is subadditive, D(q,r) <= D(q,p) + D(p,r): clip rounding
    saving[p] = np.maximum(saving[p], 0.0)
    return saving
