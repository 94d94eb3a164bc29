"""Make datasets/change_windows.csv and datasets/change_curve.csv: the overlap model's fit (A32).

Run: python datasets/make_change_curve.py  (the same trace gives the same files)

1. ``change_windows.csv``: every window of whole days of ``msr_sample_trace.csv`` (the VM's
   disks together, 64 KiB blocks, days from 00:00 UTC): the sum of its days' churns, the
   distinct bytes it changed, and what the fitted pool model gives.
2. ``change_curve.csv``: the fitted curve: distinct change over 1 to 3,650 days in days of
   churn, with the fitted pool (``pool_days``) on every row, next to the sequential bound.

The fitted pool is ``vmbackup.retention.TRACE_POOL_DAYS`` (rounded to 0.1 day); a test
recomputes both files and the constant from the trace.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from vmbackup.churn import change_windows, fit_pool_days
from vmbackup.data import read_msr_trace
from vmbackup.retention import pool_curve

HERE = Path(__file__).parent
TRACE = "msr_sample_trace.csv"


def make() -> tuple[pl.DataFrame, pl.DataFrame, float]:
    windows = change_windows(read_msr_trace(HERE / TRACE))
    pool = round(fit_pool_days(windows), 1)
    fitted = windows.with_columns(
        pool_days=pl.lit(pool),
        model_bytes=(
            pl.col("mean_daily_bytes") * pool_curve(windows["days"].to_numpy(), pool)
        ).round(0),
        trace=pl.lit(TRACE),
    )
    days = np.arange(1, 3651)
    curve = pl.DataFrame(
        {
            "days": days,
            "pool_days": pool,
            "distinct_days_of_churn": pool_curve(days, pool).round(6),
            "sequential_days_of_churn": days.astype(np.float64),
            "trace": TRACE,
        }
    )
    return fitted, curve, pool


if __name__ == "__main__":
    windows, curve, pool = make()
    windows.write_csv(HERE / "change_windows.csv")
    curve.write_csv(HERE / "change_curve.csv")
    print(f"pool {pool} days of churn; wrote change_windows.csv and change_curve.csv")
