"""Restore parallelism (S19, S20, S22, R2, R3): exact event-driven times, checked against simpy;
the seed's statements hold in small, unsaturated cases as well as large ones."""

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
    STORAGE_TARGETS,
    disk_rate_mb_s,
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


C_MAJOR = STORAGE_TARGETS["major"]["account_throughput_mb_s"]
BLOB = DEFAULTS["disk_throughput_mb_s"]


def test_r3_documented_targets_in_mb_s() -> None:
    """R3: 60 Gbps = 7,500 MB/s and 25 Gbps = 3,125 MB/s of ingress; 40,000 and 20,000
    requests/s; a page blob's 60 MiB/s = 62.91 MB/s (MiB, not MB) and 500 requests/s."""
    assert STORAGE_TARGETS["major"] == {"account_throughput_mb_s": 7500.0, "account_iops": 40_000.0}
    assert STORAGE_TARGETS["other"] == {"account_throughput_mb_s": 3125.0, "account_iops": 20_000.0}
    assert pytest.approx(62.91456) == BLOB
    assert DEFAULTS["disk_iops"] == 500


def test_r3_one_disk_at_the_page_blob_target() -> None:
    """R3: a lone disk restores at the page blob's 60 MiB/s: 216 GB in 216,000 / 62.91 s."""
    result = simulate_restore(restore_plan(disks([[216.0]])))
    assert result["end_hours"][0] == pytest.approx(216_000 / 62.91456 / 3600)


def test_r3_small_writes_make_the_request_targets_bind() -> None:
    """R3: at 64 KiB a write, a blob's 500 requests/s give 32.8 MB/s and an account's 40,000
    requests/s give 2,621 MB/s, below its ingress."""
    plan = restore_plan(disks([[100.0]]), io_size_kib=64)
    assert plan.disk_capacity_mb_s == pytest.approx(500 * 65536 / 1e6)
    assert plan.account_capacity_mb_s[0] == pytest.approx(40_000 * 65536 / 1e6)
    other = restore_plan(disks([[100.0]]), region_class="other")
    assert other.account_capacity_mb_s[0] == 3125.0


def test_s19_other_load_slows_even_a_single_disk() -> None:
    """S19, small and unsaturated: one 100 GB disk in an account that other applications use
    at 10% restores 1 / 0.9 times as long; at 50%, twice as long."""
    one = disks([[100.0]])
    idle = makespan(one)
    assert makespan(one, background_load=0.1) == pytest.approx(idle / 0.9)
    assert makespan(one, background_load=0.5) == pytest.approx(2 * idle)


def test_s19_other_load_slows_a_large_restore() -> None:
    """S19, large: 200 disks in one account; any other load lengthens the restore."""
    many = disks([[100.0]] * 200)
    idle = makespan(many, placement="one-account")
    assert makespan(many, placement="one-account", background_load=0.01) > idle * 1.005
    assert makespan(many, placement="one-account", background_load=0.3) == pytest.approx(idle / 0.7)


def test_s22_a_second_disk_on_an_account_slows_the_first() -> None:
    """S22, small and unsaturated: two disks (126 MB/s in a 7,500 MB/s account) each slow the
    other by the share c / C (0.84%); in two accounts each runs at the page blob's target."""
    two = disks([[100.0, 100.0]])
    shared = makespan(two, placement="one-account")
    apart = makespan(disks([[100.0], [100.0]]), placement="per-vm")
    assert apart == pytest.approx(100_000 / BLOB / 3600)
    assert shared == pytest.approx(apart * (1 + BLOB / C_MAJOR))
    assert shared > apart


def test_s22_every_disk_added_to_an_account_slows_the_others() -> None:
    """S22: the per-disk rate falls with every disk added, from the first to the hundredth;
    at 5 to 10 disks each has lost 2% to 7% (more in smaller regions and loaded accounts)."""
    rates = disk_rate_mb_s(np.arange(1, 201))
    assert (np.diff(rates) < 0).all()
    assert 0.02 < 1 - rates[4] / rates[0] < 0.04
    assert 0.06 < 1 - rates[9] / rates[0] < 0.08
    other = disk_rate_mb_s(10, account_capacity_mb_s=3125.0)
    assert 1 - other / rates[0] > 0.15


def test_s22_large_piles_slow_each_disk_further() -> None:
    """S22, large: 100 disks in one account take longer than 50 (and than 100 in two)."""
    fifty = makespan(disks([[100.0]] * 50), placement="one-account")
    hundred = makespan(disks([[100.0]] * 100), placement="one-account")
    split = makespan(disks([[100.0]] * 100), placement="round-robin", accounts=2)
    sigma = BLOB / C_MAJOR
    assert hundred == pytest.approx(fifty * (1 + 99 * sigma) / (1 + 49 * sigma))
    assert hundred > fifty * 1.25
    assert split == pytest.approx(fifty)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 5000),
    load=st.floats(0, 0.99),
    account=st.floats(1, 10_000),
)
def test_disks_of_one_account_never_exceed_what_it_can_take(
    n: int, load: float, account: float
) -> None:
    """S19, R3: n disks together stay below C (1 - u), and each below its page blob target."""
    rate = float(disk_rate_mb_s(n, background_load=load, account_capacity_mb_s=account))
    assert n * rate <= account * (1 - load) * (1 + 1e-12)
    assert rate <= BLOB * (1 - load) * (1 + 1e-12)
    assert rate > 0


def test_s20_two_vms_finish_sooner_in_two_accounts() -> None:
    """S20, small: two one-disk VMs, far below any saturation: two accounts beat one."""
    pair = disks([[300.0], [150.0]])
    one = simulate_restore(restore_plan(pair, placement="one-account"))["end_hours"].to_numpy()
    own = simulate_restore(restore_plan(pair, placement="per-vm"))["end_hours"].to_numpy()
    assert (own < one).all()


def test_s20_one_account_per_vm_beats_one_shared_account() -> None:
    """S20, large: the 40 VMs (144 disks) finish sooner, the median VM 1.5 times sooner, with
    one account per VM; the last VM only a little (its largest disk ends alone either way)."""
    shared = simulate_restore(restore_plan(FORTY, placement="one-account"))["end_hours"]
    own = simulate_restore(restore_plan(FORTY, placement="per-vm"))["end_hours"]
    assert (own.to_numpy() <= shared.to_numpy() + 1e-9).all()
    assert shared.median() / own.median() == pytest.approx(1.52, abs=0.01)  # type: ignore[operator]
    assert 1.0 < shared.max() / own.max() < 1.1  # type: ignore[operator]


def test_s19_the_vault_queues_jobs_beyond_its_concurrency() -> None:
    """S19: restore requests queue: with 2 slots, the third job starts when one ends."""
    three = disks([[216.0], [108.0], [216.0]])
    result = simulate_restore(restore_plan(three, vault_concurrency=2, disk_throughput_mb_s=60.0))
    assert result["start_hours"].to_list() == pytest.approx([0.0, 0.0, 0.5])
    assert result["end_hours"].to_list() == pytest.approx([1.0, 0.5, 1.5])


def test_a_job_enters_the_queue_when_it_is_ready() -> None:
    """A job that is not ready (a rehydrating point) lets a later, ready job take the slot."""
    three = disks([[216.0], [108.0], [216.0]]).with_columns(ready_hours=pl.Series([2.0, 0.0, 0.25]))
    result = simulate_restore(restore_plan(three, vault_concurrency=1, disk_throughput_mb_s=60.0))
    assert result["start_hours"].to_list() == pytest.approx([2.0, 0.0, 0.5])
    assert result["end_hours"].to_list() == pytest.approx([3.0, 0.5, 1.5])
    assert result["ready_hours"].to_list() == [2.0, 0.0, 0.25]


def test_r2_snapshot_tier_restores_in_minutes_vault_tier_in_hours() -> None:
    """R2: from the snapshot tier in minutes; from the vault tier in hours."""
    vm = FORTY.filter(pl.col("vm_name") == FORTY["vm_name"][0])
    snapshot = makespan(vm, tier="snapshot")
    assert snapshot == DEFAULTS["snapshot_restore_hours"]
    assert snapshot < 1.0
    assert makespan(disks([[500.0]]), tier="vault") > 2.0


def test_r2_each_vm_may_have_its_own_tier() -> None:
    """R2: a per-VM tier column: the snapshot VM takes minutes and leaves the account alone."""
    two = disks([[100.0], [100.0]]).with_columns(tier=pl.Series(["snapshot", "vault"]))
    result = simulate_restore(restore_plan(two, placement="one-account"))
    assert result["tier"].to_list() == ["snapshot", "vault"]
    assert result["end_hours"].to_list() == pytest.approx(
        [DEFAULTS["snapshot_restore_hours"], 100_000 / BLOB / 3600]
    )


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


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.lists(st.floats(0, 500), min_size=1, max_size=3), min_size=1, max_size=12),
    ready=st.lists(st.sampled_from([0.0, 0.0, 0.5, 1.0, 3.0]), min_size=12, max_size=12),
    snapshot=st.lists(st.booleans(), min_size=12, max_size=12),
    slots=st.integers(1, 4),
    accounts=st.integers(1, 3),
)
def test_ready_times_and_tiers_match_the_simpy_reference(
    sizes: list[list[float]], ready: list[float], snapshot: list[bool], slots: int, accounts: int
) -> None:
    """Jobs that wait for a ready time, and snapshot-tier jobs among vault-tier ones, finish when
    the simpy model says."""
    frame = disks(sizes)
    vm = frame["vm_name"].str.slice(2).cast(pl.Int64)
    frame = frame.with_columns(
        ready_hours=pl.Series(ready).gather(vm),
        tier=pl.Series(["snapshot" if s else "vault" for s in snapshot]).gather(vm),
    )
    plan = restore_plan(frame, placement="round-robin", accounts=accounts, vault_concurrency=slots)
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
        ({"region_class": "moon"}, "region_class='moon' is not allowed; choose one of 'major'"),
        (
            {"placement": "balanced", "accounts": 3, "background_load": [0.1, 0.2]},
            r"background_load has shape \(2,\); give one value, or one per account \(3\)",
        ),
        (
            {"placement": "per-vm", "background_load": [0.1, 0.2]},
            "give one value, or one for placement='per-vm'",
        ),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        restore_plan(FORTY, **kwargs)  # type: ignore[arg-type]


def test_bad_per_vm_columns_are_named() -> None:
    with pytest.raises(ValueError, match=r"row 0 \(vm0\): ready_hours=-1.0 must be a finite"):
        restore_plan(disks([[5.0]]).with_columns(ready_hours=pl.lit(-1.0)))
    with pytest.raises(ValueError, match=r"tier='archive' must be one of \['vault', 'snapshot'\]"):
        restore_plan(disks([[5.0]]).with_columns(tier=pl.lit("archive")))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"disks_on_account": 0}, "disks_on_account=0 must be whole numbers >= 1"),
        ({"disks_on_account": 1.5}, "disks_on_account=1.5 must be whole numbers >= 1"),
        ({"disks_on_account": 2, "background_load": 1.0}, "background_load=1.0 must be below 1"),
        ({"disks_on_account": 2, "account_capacity_mb_s": 0.0}, "account_capacity_mb_s=0.0"),
        ({"disks_on_account": 2, "disk_capacity_mb_s": -1}, "disk_capacity_mb_s=-1 must be"),
        (
            {"disks_on_account": [1, 2], "background_load": [0.1, 0.2, 0.3]},
            "must be scalars or arrays of one length",
        ),
    ],
)
def test_disk_rate_refuses_bad_input_by_name(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        disk_rate_mb_s(**kwargs)  # type: ignore[arg-type]


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


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"background_load": -0.1}, "background_load"), ({"io_size_kib": 0}, "io_size_kib")],
)
def test_an_accounts_bandwidth_names_a_bad_argument(kwargs: dict[str, float], field: str) -> None:
    """Clear errors: a negative load or a zero I/O size is refused, naming the argument; the
    defaults give the account's bandwidth."""
    from vmbackup.restore import account_bandwidth_mb_s

    assert float(account_bandwidth_mb_s()) > 0
    with pytest.raises(ValueError, match=rf"^{field}"):
        account_bandwidth_mb_s(**kwargs)
