"""Make datasets/msr_sample_trace.csv: a small, seeded block I/O trace in the MSR Cambridge format.

Run: python datasets/make_msr_trace.py  (the same seed gives the same file)

Format (as the public MSR Cambridge traces, SNIA IOTTA): CSV without header, one I/O a line:
Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime; Timestamp in Windows FILETIME
(100 ns ticks since 1601-01-01 UTC), Type Read or Write, Offset and Size in bytes, ResponseTime
in ticks. Three days of a made-up server "vmbkp01":

- disk 0 (a 32 GiB OS disk): small random writes (4-16 KiB) concentrated on a few hot regions,
  plus reads;
- disk 1 (a 128 GiB database disk): a circular 128 MiB transaction log written in 64 KiB appends,
  random 8 KiB page updates over the data area, and a nightly 2 GiB bulk load on day 2.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

SEED = 1601
OUT = Path(__file__).with_name("msr_sample_trace.csv")
START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
EPOCH_TICKS = 116_444_736_000_000_000  # 1970-01-01 in FILETIME ticks
KIB, GIB = 1024, 1024**3


def _ticks(seconds: np.ndarray) -> np.ndarray:
    base = int(START.timestamp()) * 10_000_000 + EPOCH_TICKS
    return base + (seconds * 10_000_000).astype(np.int64)


def make(seed: int = SEED) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    days = 3
    horizon = days * 86_400.0
    # disk 0: OS disk, hot-spot random writes and reads
    n = 6_000
    hot = rng.choice(8, size=n, p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05])
    offset = (hot * 4 * GIB + rng.integers(0, 256 * 1024, size=n) * 4 * KIB).astype(np.int64)
    parts.append(
        pl.DataFrame(
            {
                "t": np.sort(rng.uniform(0, horizon, n)),
                "disk": 0,
                "type": rng.choice(["Write", "Read"], size=n, p=[0.6, 0.4]),
                "offset": offset,
                "size": rng.choice([4, 8, 16], size=n) * KIB,
            }
        )
    )
    # disk 1: the log, sequential 64 KiB appends that wrap in a 128 MiB region (rewritten daily)
    n = 9_000
    log_offset = 100 * GIB + (np.arange(n) * 64 * KIB) % (128 * 1024 * KIB)
    parts.append(
        pl.DataFrame(
            {
                "t": np.sort(rng.uniform(0, horizon, n)),
                "disk": 1,
                "type": "Write",
                "offset": log_offset.astype(np.int64),
                "size": 64 * KIB,
            }
        )
    )
    # disk 1: random 8 KiB page updates over a 60 GiB data area
    n = 7_000
    parts.append(
        pl.DataFrame(
            {
                "t": np.sort(rng.uniform(0, horizon, n)),
                "disk": 1,
                "type": "Write",
                "offset": (rng.integers(0, 60 * GIB // (8 * KIB), size=n) * 8 * KIB).astype(
                    np.int64
                ),
                "size": 8 * KIB,
            }
        )
    )
    # disk 1: a 2 GiB bulk load in 1 MiB writes on the night of day 2
    n = 2048
    parts.append(
        pl.DataFrame(
            {
                "t": 86_400 + 2 * 3600 + np.arange(n) * 1.5,
                "disk": 1,
                "type": "Write",
                "offset": (70 * GIB + np.arange(n) * 1024 * KIB).astype(np.int64),
                "size": 1024 * KIB,
            }
        )
    )
    trace = pl.concat(parts, how="vertical_relaxed").sort("t", maintain_order=True)
    return trace.select(
        pl.Series("Timestamp", _ticks(trace["t"].to_numpy())),
        pl.lit("vmbkp01").alias("Hostname"),
        pl.col("disk").cast(pl.Int64).alias("DiskNumber"),
        pl.col("type").alias("Type"),
        pl.col("offset").alias("Offset"),
        pl.col("size").cast(pl.Int64).alias("Size"),
        pl.Series("ResponseTime", rng.integers(500, 200_000, size=trace.height)),
    )


if __name__ == "__main__":
    trace = make()
    trace.write_csv(OUT, include_header=False)
    print(f"wrote {OUT} ({trace.height} I/Os)")
