"""Onboarding: first backups in waves under the vault's ingest (S2, S11-S15, S23)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from vmbackup.data import read_fleet, read_lag_profile, read_policies
from vmbackup.fleet import FleetPlan, fleet_plan
from vmbackup.onboarding import Onboarding, plan_onboarding
from vmbackup.policy import Policy
from vmbackup.transfer import backup_jobs

FLAT_LAG = [0.5] * 24
STANDARD = Policy(policy_type="standard", run_hour=10.0)
AGENTLESS = Policy(policy_type="enhanced", run_hour=10.0, consistency="crash")


def estate(
    disks: list[tuple[str, float]],
    *,
    hour: float = 10.0,
    churn: str = "low",
    policy: str = "p",
) -> pl.DataFrame:
    """A fleet table: one (vm_name, used_gb) per disk; the first disk of a VM is its OS disk."""
    rows, seen = [], set()
    for vm, used in disks:
        rows.append(
            {
                "vm_name": vm,
                "policy": policy,
                "schedule_hour": hour,
                "churn_class": churn,
                "disk_role": "data" if vm in seen else "os",
                "disk_type": "standard",
                "used_gb": used,
                "allocated_gb": max(2 * used, 32.0),
            }
        )
        seen.add(vm)
    return pl.DataFrame(rows)


def plan_of(disks: list[tuple[str, float]], policy: Policy = STANDARD, **kw: Any) -> FleetPlan:
    return fleet_plan(estate(disks, **kw), {"p": policy})


@pytest.fixture(scope="module")
def sample() -> tuple[FleetPlan, Onboarding]:
    plan = fleet_plan(read_fleet(), read_policies())
    return plan, plan_onboarding(plan, lag_profile_hours=read_lag_profile())


def lone_job_hours(used_gb: float, *, first_backup: bool = True, **options: float) -> float:
    """The transfer model's job for one single-disk VM at 10:00 with the flat lag."""
    frame = pl.DataFrame(
        {
            "vm": ["a"],
            "disk": ["os"],
            "used_gb": [used_gb],
            "allocated_gb": [max(2 * used_gb, 32.0)],
            "churn_gb": [0.0],
            "extents": [0.0],
            "new_disk": [False],
            "start_hour": [10.0],
            "first_backup": [first_backup],
            "snapshot_missing": [False],
        }
    )
    return float(backup_jobs(frame, FLAT_LAG, **options)["total_hours"][0])


def test_s12_first_backup_duration_is_the_transfer_models() -> None:
    """S12, S14: a lone VM's first backup lasts what vmbackup.transfer says (extension install,
    lag, all used data at the initial throughput), to within its own steady-state reserve."""
    result = plan_onboarding(plan_of([("a", 500.0)]), lag_profile_hours=FLAT_LAG)
    row = result.vms.row(0, named=True)
    assert row["kind"] == "first backup"
    assert row["duration_hours"] == pytest.approx(lone_job_hours(500.0), rel=1e-3)
    assert row["wave_day"] == 0


def test_s12_a_large_first_backup_exceeds_24_hours() -> None:
    """S12: the first backup of 2.5 TB on one disk takes more than a day; 100 GB does not."""
    result = plan_onboarding(
        plan_of([("big", 2500.0), ("small", 100.0)]), lag_profile_hours=FLAT_LAG
    )
    assert result.over_24h["vm_name"].to_list() == ["big"]
    big = result.vms.filter(pl.col("vm_name") == "big").row(0, named=True)
    assert big["duration_hours"] > 24
    assert big["first_success_day"] == int(big["end_hours"] // 24) >= 1


def test_s14_agentless_first_backup_installs_no_extension() -> None:
    """S2, S14: the agent-based first backup installs the extension (0.5 h); an agentless
    crash-consistent policy's does not, so it ends that much earlier."""
    agent = plan_onboarding(plan_of([("a", 300.0)]), lag_profile_hours=FLAT_LAG)
    crash = plan_onboarding(plan_of([("a", 300.0)], AGENTLESS), lag_profile_hours=FLAT_LAG)
    gap = agent.vms["duration_hours"][0] - crash.vms["duration_hours"][0]
    assert gap == pytest.approx(0.5, abs=0.01)
    slower = plan_onboarding(
        plan_of([("a", 300.0)]), lag_profile_hours=FLAT_LAG, extension_install_hours=2.0
    )
    assert slower.vms["duration_hours"][0] == pytest.approx(
        agent.vms["duration_hours"][0] + 1.5, abs=0.01
    )


def test_s15_a_new_disk_on_a_protected_vm() -> None:
    """S15: a disk added to a protected VM is copied in full beside the others' deltas; the VM
    keeps its billing start (day 0) and only it gets a job."""
    plan = plan_of([("a", 50.0), ("a", 3000.0), ("b", 80.0)])
    added = np.array([False, True, False])
    result = plan_onboarding(
        plan,
        lag_profile_hours=FLAT_LAG,
        protected=np.array([True, True]),
        new_disk=added,
    )
    a, b = result.vms.row(0, named=True), result.vms.row(1, named=True)
    assert a["kind"] == "new disk"
    assert b["kind"] == "protected"
    assert a["over_24h"]
    assert a["sent_gb"] > 3000.0
    assert a["first_success_day"] == 0
    assert b["first_success_day"] == 0
    assert b["wave_day"] is None
    assert b["duration_hours"] is None
    assert result.days_to_protected == 0
    # a new disk on a VM that is not protected yet changes nothing: its first backup copies all
    unprotected = plan_onboarding(plan, lag_profile_hours=FLAT_LAG, new_disk=added)
    assert set(unprotected.vms["kind"]) == {"first backup"}


def test_s23_billing_starts_on_the_day_of_the_first_success() -> None:
    """S23: each VM's bill starts on the day its first backup succeeds; VMs already protected
    are billed from day 0; the estate is protected the day after the last first success."""
    plan = plan_of([("a", 2500.0), ("b", 100.0), ("c", 40.0)])
    result = plan_onboarding(
        plan, lag_profile_hours=FLAT_LAG, protected=np.array([False, False, True])
    )
    rows = result.vms
    new = rows.filter(pl.col("kind") == "first backup")
    assert (new["first_success_day"] == (new["end_hours"] // 24).cast(pl.Int64)).all()
    assert (new["first_success_day"] >= new["wave_day"]).all()
    assert rows.filter(pl.col("vm_name") == "c")["first_success_day"].to_list() == [0]
    assert result.days_to_protected == new["first_success_day"].max() + 1  # type: ignore[operator]
    assert result.waves["protected_vms"].to_list()[-1] == 3


def test_waves_follow_the_vaults_capacity() -> None:
    """S13, X2: a vault that ingests 45 MB/s takes two 20 MB/s first backups at once: six
    one-disk VMs of 200 GB (about 3 h each) go in three waves of two, each done within its day.
    (Hours are the model's grain: jobs much shorter than an hour are averaged over it.)"""
    plan = plan_of([(f"vm{i}", 200.0) for i in range(6)])
    result = plan_onboarding(plan, lag_profile_hours=FLAT_LAG, vault_ingest_mb_s=45.0)
    assert result.waves["vms"].to_list() == [2, 2, 2]
    assert result.days_to_protected == 3 == result.lower_bound_days
    roomy = plan_onboarding(plan, lag_profile_hours=FLAT_LAG, vault_ingest_mb_s=700.0)
    assert roomy.waves["vms"].to_list() == [6]
    assert roomy.days_to_protected == 1


def test_a_vm_too_wide_for_the_vault_runs_alone() -> None:
    """S9: a VM's disks transfer in parallel; three disks at 20 MB/s ask more than a 45 MB/s
    vault: that VM runs with no other first backup of its vault, and is flagged."""
    plan = plan_of([("wide", 200.0)] * 3 + [("x", 200.0), ("y", 200.0)])
    result = plan_onboarding(plan, lag_profile_hours=FLAT_LAG, vault_ingest_mb_s=45.0)
    rows = {r["vm_name"]: r for r in result.vms.iter_rows(named=True)}
    assert not rows["wide"]["within_capacity"]
    assert rows["x"]["within_capacity"]
    assert rows["y"]["within_capacity"]
    wide = rows["wide"]
    for other in ("x", "y"):
        overlap = min(wide["end_hours"], rows[other]["end_hours"]) - max(
            wide["start_hours"], rows[other]["start_hours"]
        )
        assert overlap <= 0
    assert wide["jam_delay_hours"] > 0  # it asks 60 MB/s of 45: slowed by the overload


def test_vaults_are_planned_independently() -> None:
    """Vaults are planned at once but apart: two identical vaults get identical waves."""
    disks = [(f"vm{i}", 100.0 + 30 * i) for i in range(5)]
    one = plan_onboarding(plan_of(disks), lag_profile_hours=FLAT_LAG, vault_ingest_mb_s=45.0)
    twice = estate(disks)
    both = pl.concat([twice, twice.with_columns(pl.col("vm_name") + "-b")])
    two = plan_onboarding(
        fleet_plan(both, {"p": STANDARD}),
        lag_profile_hours=FLAT_LAG,
        vault_ingest_mb_s=45.0,
        vms_per_vault=5,
    )
    days = two.vms["wave_day"].to_list()
    assert days[:5] == days[5:] == one.vms["wave_day"].to_list()
    assert two.vms["vault"].to_list() == [0] * 5 + [1] * 5


def test_longest_first_backup_starts_on_day_0(sample: tuple[FleetPlan, Onboarding]) -> None:
    """LPT: the longest first backup of the sample estate runs in the first wave."""
    _plan, result = sample
    longest = result.vms.sort("duration_hours", descending=True).row(0, named=True)
    assert longest["wave_day"] == 0


def test_s11_the_sample_keeps_its_steady_state(sample: tuple[FleetPlan, Onboarding]) -> None:
    """S11, S13: onboarding the 200-VM sample never asks a vault more than it ingests, and the
    steady-state jobs of protected VMs stay as they would be without onboarding."""
    _plan, result = sample
    hourly = result.hourly
    assert (
        hourly["onboarding_mb_s"] + hourly["steady_mb_s"] <= hourly["capacity_mb_s"] + 1e-3
    ).all()
    assert result.steady_over_window == 0
    assert result.worst_steady_hours <= 24
    assert any("without onboarding" in note for note in result.notes)


def test_the_sample_reports_days_and_waves(sample: tuple[FleetPlan, Onboarding]) -> None:
    """S12, S23: the 200-VM sample: every VM protected after a number of days no lower than
    the bound, each VM in one wave, the waves' VMs adding up to the estate."""
    plan, result = sample
    assert result.vms.height == plan.vms
    assert result.waves["vms"].sum() == plan.vms
    assert result.lower_bound_days <= result.days_to_protected
    assert result.days_to_protected == result.vms["first_success_day"].max() + 1  # type: ignore[operator]
    assert result.over_24h.height > 0  # the sample holds TB-sized disks (S12)
    assert result.waves["protected_vms"].is_sorted()


def test_x3_on_demand_triggers_spread_vms_that_share_a_schedule() -> None:
    """S13, X3: six VMs scheduled at the same hour share a 45 MB/s vault two at a time. At
    their scheduled hour that takes three days; triggered on demand at hours the plan picks,
    they are all protected on day 0, never more than two at once."""
    plan = plan_of([(f"vm{i}", 200.0) for i in range(6)])
    options = {"lag_profile_hours": FLAT_LAG, "vault_ingest_mb_s": 45.0}
    scheduled = plan_onboarding(plan, **options)
    on_demand = plan_onboarding(plan, trigger="on-demand", **options)
    assert scheduled.days_to_protected == 3
    assert set(scheduled.vms["trigger_hour"]) == {10.0}
    assert on_demand.trigger == "on-demand"
    assert on_demand.days_to_protected == 1
    assert on_demand.vms["trigger_hour"].n_unique() == 3  # three pairs, one after the other
    hourly = on_demand.hourly
    assert (hourly["onboarding_mb_s"] <= hourly["capacity_mb_s"] + 1e-6).all()
    assert any("on demand" in note for note in on_demand.notes)


def test_x3_on_demand_never_takes_longer(sample: tuple[FleetPlan, Onboarding]) -> None:
    """X3, S23: on the sample, triggering first backups on demand protects every VM no later
    than at their scheduled hours, within the vault's ingest, and no sooner than the bound."""
    plan, scheduled = sample
    on_demand = plan_onboarding(plan, lag_profile_hours=read_lag_profile(), trigger="on-demand")
    assert on_demand.lower_bound_days <= on_demand.days_to_protected
    assert on_demand.days_to_protected <= scheduled.days_to_protected
    hourly = on_demand.hourly
    assert (
        hourly["onboarding_mb_s"] + hourly["steady_mb_s"] <= hourly["capacity_mb_s"] + 1e-3
    ).all()
    rows = on_demand.vms
    assert (rows["first_success_day"] == (rows["end_hours"] // 24).cast(pl.Int64)).all()
    assert ((rows["trigger_hour"] % 1) == 0).all()  # whole hours


def test_s15_a_new_disk_on_demand() -> None:
    """S15, X3: a protected VM's new disk, triggered on demand: no extension to install, the
    job is the new disk's full copy beside the others' deltas."""
    plan = plan_of([("a", 50.0), ("a", 1000.0)])
    result = plan_onboarding(
        plan,
        lag_profile_hours=FLAT_LAG,
        protected=np.array([True]),
        new_disk=np.array([False, True]),
        trigger="on-demand",
    )
    row = result.vms.row(0, named=True)
    assert row["kind"] == "new disk"
    assert row["sent_gb"] > 1000.0
    assert row["first_success_day"] == 0


def test_an_estate_already_protected_needs_no_waves() -> None:
    """A protected estate without new disks: no job, protected from day 0."""
    plan = plan_of([("a", 10.0), ("b", 20.0)])
    result = plan_onboarding(plan, lag_profile_hours=FLAT_LAG, protected=np.array([True, True]))
    assert result.days_to_protected == 0
    assert result.lower_bound_days == 0
    assert result.waves["vms"].sum() == 0
    assert result.over_24h.height == 0


def test_a_vault_whose_steady_state_overflows_is_refused() -> None:
    """S11: a vault whose incremental jobs alone need more than it ingests in a day has no
    room for first backups: the error names the capacity."""
    plan = plan_of([(f"vm{i}", 4000.0) for i in range(3)], churn="high")
    with pytest.raises(ValueError, match="vault_ingest_mb_s"):
        plan_onboarding(plan, lag_profile_hours=FLAT_LAG, vault_ingest_mb_s=1.0)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"protected": np.array([True])}, "protected"),
        ({"protected": [1, 0]}, "protected"),
        ({"new_disk": np.array([True, "x"])}, "new_disk"),
        ({"vault_ingest_mb_s": 0}, "vault_ingest_mb_s"),
        ({"vms_per_vault": 0}, "vms_per_vault"),
        ({"fragmentation": 1.5}, "fragmentation"),
        ({"max_days": 0}, "max_days"),
        ({"lag_profile_hours": [9.0] * 24}, "lag_profile_hours"),
        ({"lag_profile_hours": [1.0] * 23}, "lag_profile_hours"),
        ({"throughput": 3.0}, "throughput"),
        ({"initial_throughput_mb_s": -1.0}, "initial_throughput_mb_s"),
        ({"plan": "vms.csv"}, "plan"),
        ({"trigger": "sometimes"}, "trigger"),
    ],
)
def test_bad_input_names_the_field(options: dict[str, Any], field: str) -> None:
    """Bad input: a ValueError naming the field."""
    arguments = {"plan": plan_of([("a", 10.0), ("b", 20.0)]), "lag_profile_hours": FLAT_LAG}
    with pytest.raises(ValueError, match=field):
        plan_onboarding(**(arguments | options))


def test_s1_first_backups_run_at_the_policys_time_on_the_plans_clock_like_the_fleet() -> None:
    """S1: DailyPolicy runs at 22:30 W. Europe time, 21:30 on the plan's UTC clock in January;
    the onboarding's scheduled first backups and the fleet's jobs start at the same hour."""
    from vmbackup.fleet import clock_start_hours, simulate_fleet

    plan = fleet_plan(read_fleet(), read_policies())
    daily = np.array([plan.policies[i].name == "DailyPolicy" for i in plan.policy_index])
    assert np.allclose(clock_start_hours(plan)[daily], 21.5)
    waves = plan_onboarding(plan, lag_profile_hours=read_lag_profile())
    assert np.allclose(waves.vms["trigger_hour"].to_numpy()[daily], 21.5)
    jobs = simulate_fleet(plan, lag_profile_hours=read_lag_profile(), days=1).jobs
    first = jobs.filter(pl.col("day") == 0).sort("vm")["start_hours"].to_numpy()
    assert np.allclose(first[daily[jobs.filter(pl.col("day") == 0).sort("vm")["vm"]]], 21.5)


def test_x2_first_backups_that_fill_the_vault_exactly_run_together() -> None:
    """X2: two 20 MB/s first backups fit a vault that ingests 40 MB/s together (two waves of two
    for four VMs); at 39 MB/s they go one a day."""
    plan = plan_of([(f"vm{i}", 200.0) for i in range(4)])
    exact = plan_onboarding(plan, lag_profile_hours=FLAT_LAG, vault_ingest_mb_s=40.0)
    assert exact.waves["vms"].to_list() == [2, 2]
    short = plan_onboarding(plan, lag_profile_hours=FLAT_LAG, vault_ingest_mb_s=39.0)
    assert short.waves["vms"].to_list() == [1, 1, 1, 1]
