"""Changed blocks over real bytes (S10, S16) and daily churn from an MSR-format trace."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmbackup.blocks import Manifest, changed_blocks, extents, fragmentation, manifest
from vmbackup.churn import trace_churn
from vmbackup.data import dataset_path, read_msr_trace

BLOCK = 4096


def image(blocks: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=blocks * BLOCK, dtype=np.uint8)


def test_s10_only_the_blocks_written_are_found_changed() -> None:
    """S10: checksums per block find exactly the blocks whose bytes changed."""
    old = image(64)
    new = old.copy()
    for block in (3, 4, 40):
        new[block * BLOCK + 7] ^= 0xFF
    assert np.flatnonzero(changed_blocks(new, old, block_size_bytes=BLOCK)).tolist() == [3, 4, 40]


def test_s10_manifest_saved_and_loaded_like_the_previous_backups_checksums(tmp_path: Path) -> None:
    """S10: compare against the kept checksums, reading only the new image."""
    old = image(32)
    saved = manifest(old, BLOCK).save(tmp_path / "previous.npz")
    kept = Manifest.load(saved)
    assert kept.blocks == 32
    new = old.copy()
    new[10 * BLOCK] ^= 1
    assert np.flatnonzero(changed_blocks(new, kept)).tolist() == [10]


def test_files_buffers_and_arrays_give_the_same_manifest(tmp_path: Path) -> None:
    data = image(20)
    path = tmp_path / "disk.img"
    path.write_bytes(data.tobytes())
    by_file = manifest(path, BLOCK, chunk_bytes=3 * BLOCK)
    by_bytes = manifest(data.tobytes(), BLOCK)
    by_array = manifest(data, BLOCK, chunk_bytes=BLOCK)
    assert np.array_equal(by_file.checksums, by_bytes.checksums)
    assert np.array_equal(by_file.checksums, by_array.checksums)
    assert by_file.size_bytes == data.size


def test_streaming_reads_a_file_larger_than_the_chunk_in_pieces(tmp_path: Path) -> None:
    """Memory stays bounded: a 64 MiB image is read in 1 MiB chunks with the same result."""
    path = tmp_path / "big.img"
    rng = np.random.default_rng(1)
    with path.open("wb") as handle:
        for _ in range(64):
            handle.write(rng.integers(0, 256, size=1 << 20, dtype=np.uint8).tobytes())
    small = manifest(path, 65536, chunk_bytes=1 << 20)
    large = manifest(path, 65536, chunk_bytes=1 << 26)
    assert small.blocks == 1024
    assert np.array_equal(small.checksums, large.checksums)


def test_a_grown_image_counts_new_blocks_as_changed() -> None:
    old = image(8)
    new = np.concatenate([old, image(2, seed=5)])
    assert np.flatnonzero(changed_blocks(new, old, block_size_bytes=BLOCK)).tolist() == [8, 9]


def test_s16_extents_and_fragmentation() -> None:
    """S16: contiguous changes form one extent; scattered changes form many."""
    contiguous = np.zeros(100, dtype=bool)
    contiguous[10:30] = True
    scattered = np.zeros(100, dtype=bool)
    scattered[0:100:5] = True
    assert extents(contiguous).tolist() == [[10, 20]]
    assert fragmentation(extents(contiguous)) == 0.0
    assert extents(scattered).shape == (20, 2)
    assert fragmentation(extents(scattered)) == 1.0
    assert extents(np.array([7, 3, 4, 5, 9])).tolist() == [[3, 3], [7, 1], [9, 1]]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.booleans(), max_size=300))
def test_extents_cover_exactly_the_changed_blocks(mask: list[bool]) -> None:
    runs = extents(np.array(mask, dtype=bool))
    covered = np.zeros(len(mask), dtype=bool)
    for start, length in runs:
        assert not covered[start : start + length].any()
        covered[start : start + length] = True
    assert covered.tolist() == mask
    assert 0.0 <= fragmentation(runs) <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"block_size_bytes": 1000}, "block_size_bytes=1000 must be a power of two"),
        ({"block_size_bytes": 256}, "block_size_bytes=256 must be a whole number >= 512"),
    ],
)
def test_bad_block_sizes_are_named(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        manifest(bytes(10), **kwargs)


def test_bad_images_and_manifests_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a file"):
        manifest(tmp_path / "missing.img")
    with pytest.raises(ValueError, match="is not a path, a bytes-like buffer or an array"):
        manifest(12345)  # type: ignore[arg-type]
    junk = tmp_path / "junk.npz"
    junk.write_text("not a manifest")
    with pytest.raises(ValueError, match="is not a saved block manifest"):
        Manifest.load(junk)
    with pytest.raises(ValueError, match="differs from the manifest's 4096"):
        changed_blocks(bytes(8192), manifest(bytes(8192), 4096), block_size_bytes=8192)


# --- traces -------------------------------------------------------------------------------------

TRACE = read_msr_trace()


def test_the_sample_trace_is_in_the_msr_format() -> None:
    assert TRACE.columns == [
        "timestamp",
        "hostname",
        "disk_number",
        "type",
        "offset_bytes",
        "size_bytes",
        "response_time_s",
    ]
    assert TRACE["timestamp"].min().date() == dt.date(2026, 11, 2)
    assert set(TRACE["type"]) == {"Read", "Write"}
    first = dataset_path("msr_sample_trace.csv").read_text().splitlines()[0].split(",")
    ticks = int(first[0])
    assert TRACE["timestamp"][0] == dt.datetime(1601, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        microseconds=ticks // 10
    )


def test_distinct_changed_bytes_never_exceed_written_bytes() -> None:
    """A block written ten times is sent once: daily churn <= bytes written (at 4 KiB blocks)."""
    days = trace_churn(TRACE, 4096)
    assert days.height == 6  # 3 days x 2 disks
    assert (days["changed_bytes"] <= days["written_bytes"] + 4096 * days["writes"]).all()
    log_disk = days.filter(pl.col("disk_number") == 1)
    assert (log_disk["changed_bytes"] < log_disk["written_bytes"]).all()


def test_bigger_blocks_mean_more_changed_bytes_but_fewer_extents() -> None:
    small, large = trace_churn(TRACE, 4096), trace_churn(TRACE, 1 << 20)
    assert (large["changed_bytes"] >= small["changed_bytes"]).all()
    assert (large["extents"] <= small["extents"]).all()


def test_the_bulk_load_day_stands_out() -> None:
    days = trace_churn(TRACE).filter(pl.col("disk_number") == 1)
    assert days["changed_bytes"].arg_max() == 1
    assert days["fragmentation"][1] < days["fragmentation"][0]


def test_trace_churn_matches_a_direct_count_on_a_tiny_trace() -> None:
    at = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    trace = pl.DataFrame(
        {
            "timestamp": [at, at, at, at + dt.timedelta(days=1)],
            "hostname": "h",
            "disk_number": 0,
            "type": ["Write", "Write", "Read", "Write"],
            "offset_bytes": [0, 4096, 0, 100 * 4096],
            "size_bytes": [8192, 4096, 4096, 4096],
        }
    )
    days = trace_churn(trace, 4096)
    assert days["changed_blocks"].to_list() == [2, 1]
    assert days["written_bytes"].to_list() == [12288, 4096]
    assert days["extents"].to_list() == [1, 1]


def test_broken_trace_lines_are_named(tmp_path: Path) -> None:
    good = dataset_path("msr_sample_trace.csv").read_text().splitlines()[:3]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([good[0], good[1].replace(",Write,", ",Erase,"), good[2]]) + "\n")
    with pytest.raises(ValueError, match="line 2: Type='Erase'; expected Read or Write"):
        read_msr_trace(bad)
    short = tmp_path / "short.csv"
    short.write_text("1,2,3\n")
    with pytest.raises(ValueError, match="3 columns; an MSR trace line has 7"):
        read_msr_trace(short)


def test_p6_churn_classes_span_the_typical_2_to_7_percent_a_day() -> None:
    """P6: typical daily churn is 2 to 7% of the used data."""
    from vmbackup.churn import CHURN_CLASS_FRACTION

    shares = CHURN_CLASS_FRACTION
    assert min(shares.values()) == 0.02
    assert max(shares.values()) == 0.07
    assert shares["low"] < shares["moderate"] < shares["high"]
