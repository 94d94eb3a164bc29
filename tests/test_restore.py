"""Restore parallelism (S19, S20, S22, R2, R3): exact event-driven times, checked against simpy."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from restore_reference import simulate_with_simpy

from vmbackup.data import read_fleet
from vmbackup.restore import (
    DEFAULTS,
    account_bandwidth_mb_s,
    place,
    restore_plan,
    simulate_restore,
)

FLEET = read_fleet()
FORTY = FLEET.filter(
    pl.col("vm_name").is_in(FLEET["vm_name"].unique(maintain_order=True)[:40].to_list())
)


def disks(sizes: list[list[float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "vm_name": [f"vm{i}" for i, vm in enumerate(sizes) for _ in vm],
            "used_gb": [size for vm in sizes for size in vm],
        }
    )


def makespan(frame: pl.DataFrame, **kwargs: object) -> float:
    return float(simulate_restore(restore_plan(frame, **kwargs))["end_hours"].max())  # type: ignore[arg-type]


def test_one_disk_at_the_per_blob_rate() -> None:
    """R3: a lone disk restores at the per-blob rate (60 MB/s): 216 GB in one hour."""
    result = simulate_restore(restore_plan(disks([[216.0]])))
    assert result["end_hours"][0] == pytest.approx(1.0)


def test_s19_account_bandwidth_is_shared_by_the_disks_flowing_into_it() -> None:
    """S19: restore time depends on the account's IOPS and throughput, shared by its jobs."""
    twenty = disks([[100.0]] * 20)
    bandwidth = float(account_bandwidth_mb_s())
    expected = 20 * 100_000 / bandwidth / 3600  # all 20 share the account equally
    assert makespan(twenty, placement="one-account") == pytest.approx(expected)
    assert makespan(twenty, placement="per-vm") == pytest.approx(100_000 / 60 / 3600)


def test_s19_a_loaded_account_is_slower() -> None:
    """S19: other applications' load on the target account lengthens the restore."""
    twenty = disks([[100.0]] * 20)
    idle = makespan(twenty, placement="one-account")
    busy = makespan(twenty, placement="one-account", background_load=0.5)
    assert busy == pytest.approx(2 * idle)


def test_s19_the_vault_queues_jobs_beyond_its_concurrency() -> None:
    """S19: restore requests queue: with 2 slots, the third job starts when one ends."""
    result = simulate_restore(restore_plan(disks([[216.0], [108.0], [216.0]]), vault_concurrency=2))
    assert result["start_hours"].to_list() == pytest.approx([0.0, 0.0, 0.5])
    assert result["end_hours"].to_list() == pytest.approx([1.0, 0.5, 1.5])


def test_s20_one_account_per_vm_beats_one_shared_account() -> None:
    """S20: restoring 10 VMs into 10 accounts is faster than into one."""
    ten = FORTY.filter(
        pl.col("vm_name").is_in(FORTY["vm_name"].unique(maintain_order=True)[:10].to_list())
    )
    assert makespan(ten, placement="per-vm") < makespan(ten, placement="one-account")


def test_s22_an_account_saturates_at_about_ten_disks() -> None:
    """S22: beyond about 5-10 disks an account is the bottleneck (default calibration)."""
    alone = 100_000 / 60 / 3600  # one 100 GB disk at the per-blob rate
    times = [makespan(disks([[100.0]] * n), placement="one-account") for n in range(1, 21)]
    saturated_from = next(n for n, hours in enumerate(times, 1) if hours > alone * (1 + 1e-9))
    assert 5 <= saturated_from <= 12


def test_r2_snapshot_tier_restores_in_minutes_vault_tier_in_hours() -> None:
    """R2: from the snapshot tier in minutes; from the vault tier in hours."""
    vm = FORTY.filter(pl.col("vm_name") == FORTY["vm_name"][0])
    snapshot = makespan(vm, tier="snapshot")
    assert snapshot == DEFAULTS["snapshot_restore_hours"]
    assert snapshot < 1.0
    assert makespan(disks([[500.0]]), tier="vault") > 2.0


@pytest.mark.parametrize(
    ("placement", "accounts", "load", "slots"),
    [
        ("one-account", 1, 0.0, 100),
        ("one-account", 1, 0.4, 7),
        ("round-robin", 3, 0.0, 10),
        ("balanced", 4, 0.2, 5),
        ("per-vm", 1, 0.0, 3),
    ],
)
def test_same_finish_times_as_the_simpy_reference(
    placement: str, accounts: int, load: float, slots: int
) -> None:
    """The event heap and a plain simpy model give the same finish time for every VM."""
    plan = restore_plan(
        FORTY, placement=placement, accounts=accounts, background_load=load, vault_concurrency=slots
    )
    ours = simulate_restore(plan)["end_hours"].to_numpy()
    assert np.allclose(ours, simulate_with_simpy(plan), rtol=1e-9, atol=1e-9)


def test_total_restored_bytes_equal_the_vms_data() -> None:
    """Every OS and data disk is restored, the temp disk never."""
    plan = restore_plan(FORTY)
    backed_up = FORTY.filter(pl.col("disk_role") != "temp")["used_gb"].sum()
    assert plan.disk_mb.sum() == pytest.approx(backed_up * 1000)
    assert len(plan.vm_names) == 40


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.lists(st.floats(0, 2000), min_size=1, max_size=4), min_size=1, max_size=25),
    accounts=st.integers(1, 8),
)
def test_more_accounts_never_make_the_restore_slower(
    sizes: list[list[float]], accounts: int
) -> None:
    """For the balanced placement, one more account never makes any VM finish later.

    Balanced placements refine each other (an account is split, nothing is added), and disks
    sharing an account equally only speed up when they lose company. This holds when the vault
    does not queue: with a queue, a job that ends sooner starts the next one sooner, which can
    then compete with others (see the notebook's round-robin curve for a non-monotone case).
    """
    frame = disks(sizes)
    fewer = simulate_restore(restore_plan(frame, placement="balanced", accounts=accounts))
    more = simulate_restore(restore_plan(frame, placement="balanced", accounts=accounts + 1))
    assert (
        more["end_hours"].to_numpy() <= fewer["end_hours"].to_numpy() * (1 + 1e-9) + 1e-12
    ).all()


def test_balanced_placements_refine_each_other() -> None:
    disk_counts = (
        FLEET.filter(pl.col("disk_role") != "temp")
        .group_by("vm_name", maintain_order=True)
        .len()["len"]
    )
    for k in range(1, 30):
        coarse, fine = place(disk_counts, "balanced", k), place(disk_counts, "balanced", k + 1)
        pairs = pl.DataFrame({"coarse": coarse, "fine": fine}).unique()
        assert pairs.group_by("fine").len()["len"].max() == 1  # each new account lies in one old


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.lists(st.floats(0, 2000), min_size=1, max_size=4), min_size=1, max_size=25),
    load=st.floats(0, 0.95),
)
def test_a_loaded_account_is_never_faster(sizes: list[list[float]], load: float) -> None:
    frame = disks(sizes)
    idle = simulate_restore(restore_plan(frame, placement="one-account"))["end_hours"].to_numpy()
    busy = simulate_restore(restore_plan(frame, placement="one-account", background_load=load))
    assert (busy["end_hours"].to_numpy() >= idle - 1e-9).all()


def test_placements() -> None:
    assert place([2, 2, 2], "one-account").tolist() == [0, 0, 0]
    assert place([2, 2, 2], "per-vm").tolist() == [0, 1, 2]
    balanced = place([8, 1, 1, 1, 1, 1, 1, 1, 1], "balanced", 2)
    load = np.bincount(balanced, weights=[8, 1, 1, 1, 1, 1, 1, 1, 1])
    assert abs(load[0] - load[1]) <= 8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"placement": "random"}, "placement='random' is not allowed"),
        (
            {"placement": "round-robin", "accounts": 0},
            r"accounts=0 must be a whole number in 1\.\.1000000",
        ),
        ({"background_load": 1.0}, "background_load=1.0 must be below 1"),
        ({"background_load": -0.1}, "background_load must be finite numbers >= 0"),
        ({"tier": "archive"}, "tier='archive' is not allowed"),
        ({"vault_concurrency": 0}, r"vault_concurrency=0 must be a whole number in 1\.\."),
        ({"disk_speed": 3}, r"unknown option\(s\) \['disk_speed'\]"),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        restore_plan(FORTY, **kwargs)  # type: ignore[arg-type]


def test_missing_columns_and_negative_sizes_are_named() -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) \['used_gb'\]"):
        restore_plan(pl.DataFrame({"vm_name": ["a"]}))
    with pytest.raises(ValueError, match=r"row 0 \(vm0\): used_gb=-5.0 must be a finite number"):
        restore_plan(disks([[-5.0]]))


def test_the_input_table_is_not_modified() -> None:
    before = FORTY.clone()
    simulate_restore(restore_plan(FORTY, placement="balanced", accounts=3))
    assert FORTY.equals(before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"disk_throughput_mb_s": 0},
            r"disk_throughput_mb_s=0 must be a number in \[0.1, 100000\]",
        ),
        ({"io_size_kib": 0}, r"io_size_kib=0 must be a number in \[0.5, 4096\]"),
        ({"account_iops": 0}, r"account_iops=0 must be a number in \[1, 1e\+08\]"),
        ({"account_throughput_mb_s": 0.0}, "account_throughput_mb_s=0.0 must be a number in"),
        ({"placement": "balanced", "accounts": 10_000_000}, "accounts=10000000 must be a whole"),
    ],
)
def test_parameters_that_would_never_finish_are_refused(
    kwargs: dict[str, object], message: str
) -> None:
    """Issue 18: a restore with no throughput, no I/O size, no IOPS or ten million accounts
    used to run forever; each is refused by name."""
    with pytest.raises(ValueError, match=message):
        simulate_restore(restore_plan(FORTY, **kwargs))  # type: ignore[arg-type]


def test_more_accounts_than_vms_finish_like_one_per_vm() -> None:
    """S20: accounts beyond one per VM stay empty; the plan is bounded and as fast as per-VM."""
    many = simulate_restore(restore_plan(FORTY, placement="balanced", accounts=100_000))
    own = simulate_restore(restore_plan(FORTY, placement="per-vm"))
    assert many["end_hours"].max() == pytest.approx(own["end_hours"].max())


def _balanced_reference(disks: np.ndarray, accounts: int) -> np.ndarray:
    """The placement rule spelled out the slow way: split the heaviest account (lowest number
    on a tie) among those holding two VMs or more, dealing its VMs A B B A by size."""
    result = np.zeros(disks.size, dtype=np.int64)
    for new in range(1, accounts):
        load = np.bincount(result, weights=disks, minlength=new)
        members = np.bincount(result, minlength=new)
        candidates = np.flatnonzero(members >= 2)
        if candidates.size == 0:
            break
        heaviest = candidates[np.argmax(load[candidates])]
        inside = np.flatnonzero(result == heaviest)
        ranked = inside[np.argsort(-disks[inside], kind="stable")]
        turn = np.arange(ranked.size) % 4
        result[ranked[(turn == 1) | (turn == 2)]] = new
    return result


@settings(max_examples=60, deadline=None)
@given(
    disks=st.lists(st.integers(1, 12), min_size=1, max_size=80),
    accounts=st.integers(1, 120),
)
def test_s22_balanced_placement_matches_the_rule_spelled_out(
    disks: list[int], accounts: int
) -> None:
    """S22: the heap-based placement is the same as splitting the heaviest account each time."""
    array = np.asarray(disks)
    assert np.array_equal(
        place(array, "balanced", accounts), _balanced_reference(array, min(accounts, len(disks)))
    )
