"""The bill over years: steady state, year totals and when the vault stops growing (S28, P7).

A plan's bill month by month (the fleet's :func:`vmbackup.fleet.horizon_bill` or one VM's
:func:`vmbackup.billing.monthly_bill`) says little by itself over ten years; an architect asks
four things of it, which :func:`horizon_summary` answers:

- the month the vault stops growing: the first month after which the vault never grows by more
  than ``tolerance`` (2%: month-end sizes swing by about 1.5% as points come and go) and that
  has at least 12 months after it in the horizon (a yearly point added each year is growth);
  None when it is still growing;
- the steady monthly cost: the mean of the last 12 months once the vault has stopped growing;
- the first-year and three-year totals (None when the horizon is shorter);
- the vault at the end of the horizon.

Pure: it reads a monthly table, never a file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from vmbackup._checks import Column, bounded, check_frame

__all__ = ["HorizonSummary", "horizon_summary"]

#: What :func:`horizon_summary` reads from a monthly bill.
MONTHLY_COLUMNS = {
    "month": Column("date"),
    "vault_gb": Column("float", low=0),
    "total_usd": Column("float", low=0),
}


@dataclass(frozen=True)
class HorizonSummary:
    """What a bill over years comes to (see the module notes).

    Attributes
    ----------
    months
        Months in the bill.
    first_year_usd, three_year_usd
        Totals of the first 12 and 36 months (the prices' currency), None if shorter.
    steady_month_usd
        Mean monthly cost of the last 12 months once the vault has stopped growing, else None.
    last_month_usd
        The last month's cost.
    vault_stops_growing
        First day of the month from which the vault stops growing, or None (still growing).
    final_vault_gb
        The vault in the last month [GB].
    """

    months: int
    first_year_usd: float | None
    three_year_usd: float | None
    steady_month_usd: float | None
    last_month_usd: float
    vault_stops_growing: dt.date | None
    final_vault_gb: float


def horizon_summary(monthly: pl.DataFrame, *, tolerance: float = 0.02) -> HorizonSummary:
    """Steady state, year totals and when the vault stops growing, from a monthly bill.

    Parameters
    ----------
    monthly
        One row per month in order: ``month`` (date), ``vault_gb`` [GB] and ``total_usd``.
    tolerance
        Growth below this share of the vault counts as none (0 to 0.5; default 2%).

    Examples
    --------
    >>> months = pl.date_range(dt.date(2026, 1, 1), dt.date(2027, 12, 1), "1mo", eager=True)
    >>> vault = [100.0 + 10 * min(i, 6) for i in range(24)]
    >>> s = horizon_summary(pl.DataFrame({"month": months, "vault_gb": vault,
    ...                                   "total_usd": [v / 10 for v in vault]}))
    >>> s.vault_stops_growing, s.steady_month_usd, s.first_year_usd
    (datetime.date(2026, 7, 1), 16.0, 171.0)
    """
    frame = check_frame(monthly, MONTHLY_COLUMNS, name="monthly")
    tol = bounded("tolerance", tolerance, 0.0, 0.5)
    if frame.height == 0:
        raise ValueError("monthly has no rows; give one row per month")
    vault = frame["vault_gb"].to_numpy()
    cost = frame["total_usd"].to_numpy()
    n = vault.size
    # the most the vault holds from each month on; a month needs a year after it to show the
    # vault stopped, and every month after it (with a year after it) must show it too
    ahead = np.maximum.accumulate(vault[::-1])[::-1]
    limit = max(n - 12, 0)
    flat = ahead[:limit] <= vault[:limit] * (1.0 + tol) + 1e-9
    settled = np.flatnonzero(np.logical_and.accumulate(flat[::-1])[::-1])
    stop = int(settled[0]) if settled.size else None
    return HorizonSummary(
        months=n,
        first_year_usd=float(cost[:12].sum()) if n >= 12 else None,
        three_year_usd=float(cost[:36].sum()) if n >= 36 else None,
        steady_month_usd=float(cost[-12:].mean()) if stop is not None else None,
        last_month_usd=float(cost[-1]),
        vault_stops_growing=frame["month"][stop] if stop is not None else None,
        final_vault_gb=float(vault[-1]),
    )
