"""The backup job timeline and its calibration against the service description (S9-S18)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmbackup.data import read_lag_profile
from vmbackup.transfer import DEFAULTS, Timeline, backup_jobs, backup_timeline, extents_for

LAG = read_lag_profile()
OFF_PEAK, PEAK = 12.0, 23.0


def disk(
    name: str,
    used: float,
    churn: float = 0.0,
    *,
    allocated: float | None = None,
    extents: float = 1.0,
    new: bool = False,
) -> dict[str, object]:
    return {
        "disk": name,
        "used_gb": used,
        "allocated_gb": allocated or max(used, 1.0) * 2,
        "churn_gb": churn,
        "extents": extents,
        "new_disk": new,
    }


def test_s18_more_than_200_gb_of_daily_churn_takes_more_than_8_hours() -> None:
    """S18: a disk with over 200 GB of churn takes more than 8 h, even off-peak and contiguous."""
    t = backup_timeline(
        [disk("os", 30, 1), disk("data", 900, 201)], start_hour=OFF_PEAK, lag_profile_hours=LAG
    )
    assert t.total_hours > 8


def test_s11_an_everyday_incremental_ends_well_within_24_hours_even_at_peak() -> None:
    """S11: a few % churn of a 500 GB VM, started at the busiest hour, ends well inside 24 h."""
    vm = [disk("os", 100, 3, extents=20_000), disk("data", 400, 12, extents=80_000)]
    t = backup_timeline(vm, start_hour=PEAK, lag_profile_hours=LAG)
    assert t.met_window
    assert t.total_hours < 12
    assert t.phases.filter(pl.col("phase") == "wait for vault")["end_hour"][0] - t.phases.filter(
        pl.col("phase") == "wait for vault"
    )["start_hour"][0] == pytest.approx(8.0)


def test_s11_the_lag_never_exceeds_8_hours() -> None:
    """S11: at peak, snapshots can wait up to 8 hours for the vault."""
    assert LAG.max() == 8.0
    with pytest.raises(ValueError, match="exceeds the 8.0 h of S11"):
        backup_timeline([disk("os", 10)], start_hour=1, lag_profile_hours=[9.0] * 24)


def test_s12_a_2_tb_first_backup_exceeds_24_hours() -> None:
    """S12: the first backup copies all used data and can exceed 24 h (2 TB here)."""
    t = backup_timeline(
        [disk("os", 48), disk("data", 2000, allocated=2048)],
        start_hour=OFF_PEAK,
        lag_profile_hours=LAG,
        first_backup=True,
    )
    assert not t.met_window
    assert t.total_hours > 24


def test_s12_the_first_backup_depends_on_when_it_is_processed() -> None:
    """S12: the same first backup takes longer when it starts at the peak."""
    vm = [disk("os", 30), disk("data", 200)]
    quiet = backup_timeline(vm, start_hour=OFF_PEAK, lag_profile_hours=LAG, first_backup=True)
    busy = backup_timeline(vm, start_hour=PEAK, lag_profile_hours=LAG, first_backup=True)
    assert busy.total_hours > quiet.total_hours


def test_s14_preparation_installs_the_extension_on_the_first_backup_only() -> None:
    """S14: preparation counts: extension install (first backup) and the snapshot trigger."""
    first = backup_timeline(
        [disk("os", 10)], start_hour=OFF_PEAK, lag_profile_hours=LAG, first_backup=True
    )
    later = backup_timeline([disk("os", 10, 0.1)], start_hour=OFF_PEAK, lag_profile_hours=LAG)

    def prep_hours(timeline: Timeline) -> float:
        row = timeline.phases.filter(pl.col("phase") == "preparation").row(0, named=True)
        return float(row["end_hour"] - row["start_hour"])

    assert prep_hours(first) == pytest.approx(
        DEFAULTS["extension_install_hours"] + DEFAULTS["snapshot_hours"]
    )
    assert prep_hours(later) == pytest.approx(DEFAULTS["snapshot_hours"])


def test_s9_disks_transfer_in_parallel() -> None:
    """S9: each disk is backed up in parallel: the job lasts as long as its slowest disk."""
    one = backup_timeline([disk("a", 500, 50)], start_hour=OFF_PEAK, lag_profile_hours=LAG)
    four = backup_timeline(
        [disk(n, 500, 50) for n in "abcd"], start_hour=OFF_PEAK, lag_profile_hours=LAG
    )
    assert four.total_hours == pytest.approx(one.total_hours)
    transfers = four.phases.filter(pl.col("phase") == "transfer")
    assert transfers["start_hour"].n_unique() == 1


def test_s10_only_changed_data_is_sent_incrementally() -> None:
    """S10: an incremental backup sends the delta, not the whole disk."""
    jobs = backup_jobs(
        pl.DataFrame([disk("d", 800, 12)]).with_columns(
            vm=pl.lit("v"),
            start_hour=pl.lit(OFF_PEAK),
            first_backup=pl.lit(False),
            snapshot_missing=pl.lit(False),
        ),
        LAG,
    )
    assert jobs["sent_gb"][0] == 12


def test_s15_adding_a_disk_lengthens_the_job_and_can_pass_24_hours() -> None:
    """S15: a new disk is replicated in full beside the others' deltas."""
    base = [disk("os", 60, 2), disk("data", 400, 10)]
    before = backup_timeline(base, start_hour=OFF_PEAK, lag_profile_hours=LAG)
    small = backup_timeline(
        [*base, disk("new", 300, new=True)], start_hour=OFF_PEAK, lag_profile_hours=LAG
    )
    large = backup_timeline(
        [*base, disk("new", 2500, allocated=4096, new=True)],
        start_hour=OFF_PEAK,
        lag_profile_hours=LAG,
    )
    assert small.total_hours > before.total_hours
    assert large.total_hours > 24
    assert any(n.startswith("S15") for n in small.notes)


def test_s16_scattered_changes_take_longer_than_contiguous_ones() -> None:
    """S16: the same bytes in more extents back up more slowly."""
    contiguous = backup_timeline(
        [disk("d", 500, 20, extents=1)], start_hour=OFF_PEAK, lag_profile_hours=LAG
    )
    scattered = backup_timeline(
        [disk("d", 500, 20, extents=300_000)], start_hour=OFF_PEAK, lag_profile_hours=LAG
    )
    assert scattered.total_hours > contiguous.total_hours


def test_s17_deleted_snapshot_on_a_multi_tb_disk_exceeds_24_hours_or_fails() -> None:
    """S17: without the Instant Restore snapshot the backup falls back to checksum comparison."""
    vm = [disk("os", 60, 1), disk("data", 3000, 40, allocated=4096)]
    normal = backup_timeline(vm, start_hour=OFF_PEAK, lag_profile_hours=LAG)
    fallback = backup_timeline(
        vm, start_hour=OFF_PEAK, lag_profile_hours=LAG, snapshot_missing=True
    )
    assert normal.met_window
    assert fallback.total_hours > 24 or fallback.failed
    assert "checksum scan" in fallback.phases["phase"].to_list()
    huge = backup_timeline(
        [disk("data", 7000, 40, allocated=8192)],
        start_hour=OFF_PEAK,
        lag_profile_hours=LAG,
        snapshot_missing=True,
    )
    assert huge.failed


def test_vectorised_jobs_match_single_timelines() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for v in range(30):
        start = float(rng.uniform(0, 24))
        first, missing = bool(rng.random() < 0.2), bool(rng.random() < 0.1)
        for d in range(int(rng.integers(1, 5))):
            used = float(rng.uniform(1, 2000))
            rows.append(
                disk(
                    f"d{d}",
                    used,
                    float(rng.uniform(0, used * 0.1)),
                    extents=float(rng.integers(1, 10**5)),
                    new=bool(rng.random() < 0.1),
                )
                | {
                    "vm": f"vm{v}",
                    "start_hour": start,
                    "first_backup": first,
                    "snapshot_missing": missing,
                }
            )
    frame = pl.DataFrame(rows)
    jobs = backup_jobs(frame, LAG)
    for vm, group in frame.group_by("vm", maintain_order=True):
        row = group.row(0, named=True)
        single = backup_timeline(
            group.drop("vm", "start_hour", "first_backup", "snapshot_missing"),
            start_hour=row["start_hour"],
            lag_profile_hours=LAG,
            first_backup=row["first_backup"],
            snapshot_missing=row["snapshot_missing"],
        )
        job = jobs.filter(pl.col("vm") == vm[0]).row(0, named=True)
        assert single.total_hours == pytest.approx(job["total_hours"])
        assert single.met_window == job["met_window"]


@settings(max_examples=40, deadline=None)
@given(
    churn=st.floats(0, 500),
    more=st.floats(0, 500),
    start=st.floats(0, 23.99),
    extents=st.floats(1, 1e6),
)
def test_more_churn_never_makes_the_job_shorter(
    churn: float, more: float, start: float, extents: float
) -> None:
    a = backup_timeline(
        [disk("d", 2000, churn, extents=extents)], start_hour=start, lag_profile_hours=LAG
    )
    b = backup_timeline(
        [disk("d", 2000, churn + more, extents=extents)], start_hour=start, lag_profile_hours=LAG
    )
    assert b.total_hours >= a.total_hours


def test_extents_from_fragmentation() -> None:
    assert extents_for(6.5536, 0.0).tolist() == 1.0
    assert extents_for(6.5536, 1.0).tolist() == 100_000.0
    with pytest.raises(ValueError, match="fragmentation=1.5 must be between 0 and 1"):
        extents_for(1.0, 1.5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"churn_gb": -1.0}, r"disks: row 0 \(d\): churn_gb=-1.0 must be a finite number >= 0"),
        ({"used_gb": 5000.0}, "used_gb=5000.0 exceeds allocated_gb"),
    ],
)
def test_bad_disks_are_named(change: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        backup_timeline([disk("d", 100, 1) | change], start_hour=1, lag_profile_hours=LAG)


def test_bad_start_hour_profile_and_options_are_named() -> None:
    with pytest.raises(ValueError, match=r"start_hour=25 must be an hour of the day in \[0, 24\)"):
        backup_timeline([disk("d", 100, 1)], start_hour=25, lag_profile_hours=LAG)
    with pytest.raises(ValueError, match="needs one value per hour"):
        backup_timeline([disk("d", 100, 1)], start_hour=1, lag_profile_hours=[1.0] * 12)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['speed'\]"):
        backup_timeline([disk("d", 100, 1)], start_hour=1, lag_profile_hours=LAG, speed=3.0)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['extents'\]"):
        backup_timeline(
            [{"disk": "d", "used_gb": 1, "allocated_gb": 2, "churn_gb": 0}],
            start_hour=1,
            lag_profile_hours=LAG,
        )


def test_x2_initial_throughput_is_the_older_160_mbps_planning_figure() -> None:
    """X2: best-case initial backup about 160 Mbps = 20 MB/s per disk."""
    assert DEFAULTS["initial_throughput_mb_s"] * 8 == 160
