"""The fleet planner (S11, S13, S18, S23-S28): rollups, staggering, the Azure import, the CLI."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from conftest import mutated
from hypothesis import given, settings
from hypothesis import strategies as st

from vmbackup.cli import main
from vmbackup.data import (
    dataset_path,
    read_azure_estate,
    read_fleet,
    read_lag_profile,
    read_policies,
    read_prices,
)
from vmbackup.fleet import (
    fleet_plan,
    propose_stagger,
    scale_fleet,
    simulate_fleet,
    stagger_offsets,
)
from vmbackup.inventory import estate_to_fleet
from vmbackup.transfer import backup_jobs, extents_for

FLEET = read_fleet()
POLICIES = read_policies()
LAG = read_lag_profile()
PRICES = read_prices()
PLAN = fleet_plan(FLEET, POLICIES)
RESULT = simulate_fleet(PLAN, lag_profile_hours=LAG, days=14, prices=PRICES)
VMS = json.loads(dataset_path("azure/vms.json").read_text())
DISKS = json.loads(dataset_path("azure/disks.json").read_text())


def test_s1_every_vm_has_one_job_a_day_at_its_scheduled_time() -> None:
    """S1: backups run as jobs on the policy's schedule: its run time in its time zone, read on
    the plan's clock (UTC: the W. Europe policy's 22:30 is 21:30 in January)."""
    jobs = RESULT.jobs
    assert jobs.height == PLAN.vms * 14
    assert jobs.group_by("vm").len()["len"].unique().to_list() == [14]
    shift = {"DailyPolicy": -1.0, "EnhancedHourly": 8.0, "AgentlessDaily": 0.0}
    names = [p.name for p in PLAN.policies]
    offset = np.array([shift[n] for n in names])[PLAN.policy_index]
    scheduled = (PLAN.start_hour + offset)[jobs["vm"].to_numpy()] + 24 * jobs["day"].to_numpy()
    assert np.allclose(jobs["start_hours"].to_numpy(), scheduled, atol=1e-4)
    daily = next(p for p in PLAN.policies if p.name == "DailyPolicy")
    assert daily.time_zone == "W. Europe Standard Time"
    assert set(PLAN.start_hour[PLAN.policy_index == names.index("DailyPolicy")]) == {22.5}


def test_x2_default_vault_capacity_is_100_vms_at_the_incremental_rate() -> None:
    """X2: at most 100 VMs backed up concurrently per vault (the default ingest assumption)."""
    from vmbackup.fleet import DEFAULT_VAULT_INGEST_MB_S
    from vmbackup.transfer import DEFAULTS

    assert 100 * DEFAULTS["incremental_throughput_mb_s"] == DEFAULT_VAULT_INGEST_MB_S


def test_daily_rollups_equal_the_sum_of_jobs() -> None:
    jobs = RESULT.jobs
    recomputed = (
        jobs.group_by("day")
        .agg(
            pl.len().alias("jobs"),
            (~pl.col("met_window")).sum().alias("over_window"),
            pl.col("sent_gb").sum(),
            pl.col("duration_hours").max().alias("worst_hours"),
        )
        .sort("day")
    )
    assert recomputed["jobs"].to_list() == RESULT.daily["jobs"].to_list()
    assert recomputed["over_window"].to_list() == RESULT.daily["over_window"].to_list()
    assert np.allclose(recomputed["sent_gb"], RESULT.daily["sent_gb"], rtol=1e-5)
    assert recomputed["worst_hours"].to_list() == RESULT.daily["worst_hours"].to_list()


def test_s11_met_window_means_at_most_24_hours() -> None:
    """S11: a job meets its window when it takes at most 24 h."""
    jobs = RESULT.jobs
    assert (jobs["met_window"] == (jobs["duration_hours"] <= 24)).all()


def test_without_congestion_each_job_matches_the_single_vm_model() -> None:
    """The vectorised fleet equals vmbackup.transfer job by job when the vault is never full."""
    free = simulate_fleet(PLAN, lag_profile_hours=LAG, days=2, vault_ingest_mb_s=1e12)
    from vmbackup.fleet import FLEET_START, _churn, _schedule

    clock_start = _schedule(PLAN, FLEET_START, 2).base_hours % 24

    churn = _churn(PLAN, 2, 0, 0.5)
    disks = pl.DataFrame(
        {
            "vm": [PLAN.vm_names[i] for i in PLAN.disk_vm],
            "disk": [f"d{i}" for i in range(PLAN.disk_vm.size)],
            "used_gb": PLAN.disk_used_gb,
            "allocated_gb": PLAN.disk_allocated_gb,
            "churn_gb": churn[:, 1].astype(np.float64),
            "new_disk": False,
            "start_hour": clock_start[PLAN.disk_vm],
            "first_backup": False,
            "snapshot_missing": False,
        }
    )
    disks = disks.with_columns(extents=pl.Series(extents_for(disks["churn_gb"].to_numpy(), 0.3)))
    single = backup_jobs(disks, LAG)["total_hours"].to_numpy()
    fleet_day_1 = free.jobs.filter(pl.col("day") == 1)["duration_hours"].to_numpy()
    assert np.allclose(fleet_day_1, single, rtol=1e-4, atol=1e-4)


def test_s13_the_same_start_time_for_everyone_jams_the_vault() -> None:
    """S13: backing up many VMs at the same time causes traffic jams."""
    tight = simulate_fleet(PLAN, lag_profile_hours=LAG, days=7, vault_ingest_mb_s=100)
    loose = simulate_fleet(PLAN, lag_profile_hours=LAG, days=7, vault_ingest_mb_s=1e12)
    assert tight.jobs["duration_hours"].max() > loose.jobs["duration_hours"].max()
    assert (
        tight.jobs["duration_hours"].to_numpy() >= loose.jobs["duration_hours"].to_numpy() - 1e-4
    ).all()


def test_s13_staggering_spreads_the_peak_and_shortens_the_worst_job_on_the_sample() -> None:
    """S13: moving start times by minutes spreads the load."""
    offsets, comparison = propose_stagger(PLAN, lag_profile_hours=LAG)
    chosen = comparison.filter(pl.col("chosen")).row(0, named=True)
    baseline = comparison.row(0, named=True)
    assert chosen["worst_hours"] < baseline["worst_hours"]
    assert chosen["peak_transfers"] < baseline["peak_transfers"]
    assert np.abs(offsets).max() <= chosen["spread_minutes"] / 60 + 1e-9


@pytest.mark.parametrize(
    ("names", "settings_"),
    [
        (None, {}),
        (40, {"days": 5, "seed": 7, "vault_ingest_mb_s": 150.0, "vms_per_vault": 9}),
        (25, {"days": 3, "fragmentation": 0.9, "churn_sigma": 1.2, "spreads_minutes": (5, 240)}),
    ],
)
def test_propose_stagger_equals_a_full_simulation_per_spread(
    names: int | None, settings_: dict[str, Any]
) -> None:
    """S13: each candidate's worst job, jobs over the window and peak in flight are exactly
    what simulate_fleet gives with that spread's offsets (churn and transfer computed once)."""
    fleet = FLEET
    if names is not None:
        keep = FLEET["vm_name"].unique(maintain_order=True).to_list()[::3][:names]
        fleet = FLEET.filter(pl.col("vm_name").is_in(keep))
    plan = fleet_plan(fleet, POLICIES)
    offsets, comparison = propose_stagger(plan, lag_profile_hours=LAG, **settings_)
    simulate = {"days": 7} | {k: v for k, v in settings_.items() if k != "spreads_minutes"}
    spreads = (0, *settings_.get("spreads_minutes", (15, 30, 45, 60, 90, 120)))
    for row, spread in zip(comparison.iter_rows(named=True), spreads, strict=True):
        candidate = stagger_offsets(plan, spread) if spread else np.zeros(plan.vms)
        full = simulate_fleet(plan, lag_profile_hours=LAG, offsets_hours=candidate, **simulate)
        assert row["spread_minutes"] == spread
        assert row["worst_hours"] == float(full.jobs["duration_hours"].max())  # type: ignore[arg-type]
        assert row["over_window"] == int(full.daily["over_window"].sum())
        assert row["peak_transfers"] == float(full.concurrency.max())
        if row["chosen"]:
            assert np.array_equal(offsets, candidate)
    assert comparison["chosen"].sum() == 1


def test_sent_and_transfer_hours_follow_each_vms_disks() -> None:
    """Per VM-day: data sent is the sum of its disks' churn; the job's transfer is its slowest
    disk's (VMs of 1 to 9 disks), however the VMs are split into blocks, and a VM without
    disks to back up sends nothing."""
    from vmbackup.fleet import FLEET_START, FleetPlan, _churn, _disk_hours, _schedule, _transfers

    churn = _churn(PLAN, 4, 2, 0.5)
    per_disk = pl.DataFrame(
        {"vm": np.repeat(PLAN.disk_vm, 4), "day": np.tile(np.arange(4), PLAN.disk_vm.size)}
    ).with_columns(
        gb=pl.Series(churn.ravel().astype(np.float64)),
        hours=pl.Series(_disk_hours(churn, 0.3).ravel()),
    )
    expected = per_disk.group_by("vm", "day").agg(pl.col("gb").sum(), pl.col("hours").max())
    expected = expected.sort("vm", "day")
    assert np.bincount(PLAN.disk_vm).max() >= 5
    for blocks in ([(0, PLAN.vms)], [(0, 1), (1, 77), (77, 150), (150, PLAN.vms)]):
        transfer_hours, sent_gb, _rate, _churn_gb = _transfers(
            PLAN,
            _schedule(PLAN, FLEET_START, 4),
            blocks,
            days=4,
            seed=2,
            churn_sigma=0.5,
            fragmentation=0.3,
        )
        assert np.allclose(sent_gb.ravel(), expected["gb"].to_numpy(), rtol=1e-12)
        assert np.array_equal(transfer_hours.ravel(), expected["hours"].to_numpy())
    # a VM whose disks are all temporary has nothing to send and never loads the vault
    bare = FleetPlan(
        **{
            **PLAN.__dict__,
            "vm_names": (*PLAN.vm_names, "bare"),
            "start_hour": np.r_[PLAN.start_hour, 1.0],
            "churn_share": np.r_[PLAN.churn_share, 0.01],
            "policy_index": np.r_[PLAN.policy_index, 0],
            "pi_size_gb": np.r_[PLAN.pi_size_gb, 0.0],
            "vm_premium": np.r_[PLAN.vm_premium, False],
            "vm_trusted_launch": np.r_[PLAN.vm_trusted_launch, False],
            "vm_deallocated": np.r_[PLAN.vm_deallocated, False],
        }
    )
    with_bare = simulate_fleet(bare, lag_profile_hours=LAG, days=14, prices=PRICES)
    assert with_bare.jobs.filter(pl.col("vm") == PLAN.vms)["sent_gb"].to_list() == [0.0] * 14
    assert with_bare.jobs.filter(pl.col("vm") < PLAN.vms).equals(RESULT.jobs)
    assert np.array_equal(with_bare.concurrency, RESULT.concurrency)


@pytest.mark.parametrize("shift_hours", [-24.0, -23.5, 48.0, 200.0])
def test_jobs_shifted_by_whole_days_or_off_the_horizon_keep_their_durations(
    shift_hours: float,
) -> None:
    """A start moved before day 0 or past the simulated horizon keeps its lag (by hour of day)
    and, with a vault that never fills, its duration; the transfers in flight move with it."""
    free = {"lag_profile_hours": LAG, "days": 3, "vault_ingest_mb_s": 1e12}
    base = simulate_fleet(PLAN, **free)
    whole_days = shift_hours % 24 == 0
    offsets = np.where(np.arange(PLAN.vms) % 2 == 0, shift_hours, 0.0)
    shifted = simulate_fleet(PLAN, offsets_hours=offsets, **free)
    moved = np.repeat(offsets != 0, 3)
    durations = shifted.jobs["duration_hours"].to_numpy()
    before = base.jobs["duration_hours"].to_numpy()
    assert np.array_equal(durations[~moved], before[~moved])
    if whole_days:
        assert np.allclose(durations[moved], before[moved], atol=1e-5)
    else:  # half an hour earlier: the lag of the snapshot's hour of day
        assert not np.allclose(durations[moved], before[moved], atol=1e-5)
    starts = shifted.jobs["start_hours"].to_numpy()
    assert np.allclose(
        starts - base.jobs["start_hours"].to_numpy(), np.where(moved, shift_hours, 0)
    )
    assert not np.array_equal(shifted.concurrency, base.concurrency)


def test_s13_identical_vms_alone_in_identical_vaults_finish_together() -> None:
    """S13, X2: each vault's traffic jam is its own, so three identical VMs, each alone in a
    vault, take equally long (every vault reads its own bins), and less than when they share
    one vault."""
    one = FLEET.filter(pl.col("vm_name") == FLEET["vm_name"][0])
    plan = fleet_plan(scale_fleet(one, 3), POLICIES)
    jammed = {"lag_profile_hours": LAG, "days": 2, "churn_sigma": 0.0, "vault_ingest_mb_s": 1.0}
    alone = simulate_fleet(plan, vms_per_vault=1, **jammed).jobs
    shared = simulate_fleet(plan, vms_per_vault=3, **jammed).jobs
    for day in (0, 1):
        hours = alone.filter(pl.col("day") == day)["duration_hours"].to_list()
        assert hours == [hours[0]] * 3
        assert shared.filter(pl.col("day") == day)["duration_hours"].min() > hours[0]


def test_a_plan_whose_disks_are_not_grouped_by_vm_is_refused() -> None:
    from vmbackup.fleet import FleetPlan

    shuffled = FleetPlan(**{**PLAN.__dict__, "disk_vm": PLAN.disk_vm[::-1].copy()})
    with pytest.raises(ValueError, match="plan.disk_vm must list each VM's disks together"):
        simulate_fleet(shuffled, lag_profile_hours=LAG, days=2)


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 1000),
    count=st.integers(5, 60),
    capacity=st.sampled_from([50.0, 200.0, 700.0]),
)
def test_staggering_never_lengthens_the_worst_job(seed: int, count: int, capacity: float) -> None:
    names = FLEET["vm_name"].unique(maintain_order=True).sample(count, seed=seed).to_list()
    plan = fleet_plan(FLEET.filter(pl.col("vm_name").is_in(names)), POLICIES)
    offsets, _comparison = propose_stagger(
        plan, lag_profile_hours=LAG, days=5, seed=seed, vault_ingest_mb_s=capacity
    )
    before = simulate_fleet(
        plan, lag_profile_hours=LAG, days=5, seed=seed, vault_ingest_mb_s=capacity
    )
    after = simulate_fleet(
        plan,
        lag_profile_hours=LAG,
        days=5,
        seed=seed,
        vault_ingest_mb_s=capacity,
        offsets_hours=offsets,
    )
    assert after.jobs["duration_hours"].max() <= before.jobs["duration_hours"].max() + 1e-6


def test_the_same_seed_gives_the_same_month() -> None:
    again = simulate_fleet(PLAN, lag_profile_hours=LAG, days=14, prices=PRICES)
    other = simulate_fleet(PLAN, lag_profile_hours=LAG, days=14, prices=PRICES, seed=1)
    assert again.jobs.equals(RESULT.jobs)
    assert not other.jobs.equals(RESULT.jobs)


def test_y2_hourly_policies_send_at_their_last_backup() -> None:
    """Y2: an Enhanced hourly policy sends one vault point a day, after its last backup."""
    hourly = next(i for i, p in enumerate(PLAN.policies) if p.frequency == "hourly")
    vm = int(np.flatnonzero(PLAN.policy_index == hourly)[0])
    policy = PLAN.policies[hourly]
    assert policy.time_zone == "UTC"
    assert PLAN.start_hour[vm] == policy.run_hour == policy.backup_hours()[0]
    starts = RESULT.jobs.filter(pl.col("vm") == vm)["start_hours"].to_numpy()
    assert np.allclose(starts % 24, policy.backup_hours()[-1])
    assert RESULT.jobs.filter(pl.col("vm") == vm)["snapshots"].unique().to_list() == [3]


def test_s26_s23_the_bill_uses_pi_sizes_and_retained_storage() -> None:
    """S26, P1: the PI fee sums each VM's fee on its used data; storage grows with retention."""
    month = RESULT.monthly.row(0, named=True)
    assert month["days"] == 14
    assert month["pi_fee_usd"] > 0
    assert month["total_usd"] == pytest.approx(
        month["pi_fee_usd"] + month["vault_storage_usd"] + month["snapshot_storage_usd"]
    )
    assert month["vault_gb"] > PLAN.pi_size_gb.sum()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": 0}, "days=0 must be a whole number"),
        ({"vault_ingest_mb_s": 0.0}, "vault_ingest_mb_s=0.0 must be a finite number > 0"),
        ({"fragmentation": 2.0}, r"fragmentation=2.0 must be a number in \[0, 1\]"),
        ({"vms_per_vault": 0}, r"vms_per_vault=0 must be a whole number in 1\.\."),
        (
            {"vms_per_vault": 1001},
            r"vms_per_vault=1001: a Recovery Services vault protects at most 1,000 VMs \(G16\)",
        ),
        ({"lag_profile_hours": [1.0] * 23}, "lag_profile_hours must hold 24 values"),
    ],
)
def test_bad_simulation_input_is_named(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"lag_profile_hours": LAG} | kwargs
    with pytest.raises(ValueError, match=message):
        simulate_fleet(PLAN, **args)


def test_an_unknown_policy_is_named() -> None:
    """With several policies, each VM's must be among them; the message names VM and policy."""
    two = {"Other": POLICIES["EnhancedHourly"], "DailyPolicy": POLICIES["DailyPolicy"]}
    with pytest.raises(ValueError, match=r"vm_name='vm-win-002' uses policy='AgentlessDaily'"):
        fleet_plan(FLEET, two)


# --- importing an Azure estate -------------------------------------------------------------------


def test_azure_json_maps_to_the_fleet_schema() -> None:
    fleet = read_azure_estate(dataset_path("azure/vms.json"), dataset_path("azure/disks.json"))
    assert fleet["vm_name"].unique(maintain_order=True).to_list() == [
        "web-01",
        "sql-01",
        "files-01",
        "legacy-01",
    ]
    sql = fleet.filter(pl.col("vm_name") == "sql-01")
    # G14: diskSizeGB 127, 1024 and 512 are GiB; the fleet holds GB (x 2^30 / 10^9)
    assert sql["allocated_gb"].to_list() == pytest.approx(
        [136.365211648, 1099.511627776, 549.755813888]
    )
    assert sql["disk_type"].unique().to_list() == ["premium"]
    assert sql["cores"][0] == 8
    legacy = fleet.filter(pl.col("vm_name") == "legacy-01")
    assert legacy["storage_account"].unique().to_list() == ["stlegacyvhds01"]
    assert not legacy["managed"].any()
    files = fleet.filter(pl.col("vm_name") == "files-01")
    assert files["disk_type"].to_list() == ["standard", "standard"]
    assert (fleet["used_gb"] == (fleet["allocated_gb"] * 0.5).round(1)).all()


def _break(path: list[Any], value: Any = KeyError) -> Any:
    return mutated(VMS, path, value)


@pytest.mark.parametrize(
    ("vms", "message"),
    [
        (_break([0, "hardwareProfile"]), r"VM 1 \('web-01'\): missing field hardwareProfile"),
        (
            _break([1, "storageProfile", "osDisk"]),
            r"VM 2 \('sql-01'\): missing field storageProfile.osDisk",
        ),
        (_break([0, "name"]), "VM 1: missing field name"),
        (_break([0, "storageProfile", "osDisk", "osType"], "BSD"), "osType='bsd' is not allowed"),
        (
            _break([1, "storageProfile", "dataDisks", 0, "managedDisk", "id"], "/x/disks/nope"),
            "managed disk id not found in az disk list",
        ),
        (_break([3, "storageProfile", "osDisk", "vhd"]), "missing field vhd"),
        ({"value": []}, "az vm list: the list holds no virtual machine"),  # a REST list, empty
        ([], "the list holds no virtual machine"),
    ],
)
def test_broken_azure_json_names_the_missing_field(vms: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        estate_to_fleet(vms, DISKS)


def test_the_import_does_not_modify_its_input() -> None:
    before = copy.deepcopy(VMS)
    estate_to_fleet(VMS, DISKS, used_fraction=0.7)
    assert before == VMS


# --- the command line ----------------------------------------------------------------------------


def test_cli_plan_prints_the_summary_and_writes_jobs(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "jobs.parquet"
    code = main(
        ["plan", str(dataset_path("sample_fleet.csv")), "--days", "10", "--out", str(target)],
        out,
        err,
    )
    text = out.getvalue()
    assert code == 0
    assert "Fleet: 200 VMs" in text
    assert "Backups over 10 days: 2,000 jobs" in text
    assert "Cost per month (USD):" in text
    # G15: today's rule checks only the 8 VMs on unmanaged premium disks; 73 on managed ones are
    # not applicable (the seed's S21 found 43 of 81 short: --space-rules seed)
    assert (
        "Premium space before the first backup (G15, today's rule: unmanaged premium disks, per "
        "storage account): 0 of 8 VMs on unmanaged premium disks short, 0.0 GB to free" in text
    )
    assert "73 VMs on managed premium disks: not applicable" in text
    assert "Restore of every protected VM at once (RTO" in text
    assert "Staggering (S13)" in text
    assert "6/6 done" in err.getvalue()
    jobs = pl.read_parquet(target)
    assert jobs.height == 2000
    assert {"vm_name", "duration_hours", "met_window", "offset_hours"} <= set(jobs.columns)


def test_cli_reads_azure_json_and_one_policy(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [
            "plan",
            str(dataset_path("azure/vms.json")),
            "--disks",
            str(dataset_path("azure/disks.json")),
            "--policy",
            str(dataset_path("policies/enhanced_hourly.json")),
            "--days",
            "3",
        ],
        out,
        err,
    )
    assert code == 0, err.getvalue()
    assert "Fleet: 4 VMs" in out.getvalue()
    assert "Policies: EnhancedHourly" in out.getvalue()


def test_cli_reports_bad_input_without_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "fleet.csv"
    broken.write_text(dataset_path("sample_fleet.csv").read_text().replace(",linux,", ",plan9,", 1))
    out, err = io.StringIO(), io.StringIO()
    assert main(["plan", str(broken)], out, err) == 2
    assert "error: fleet.csv: row 2" in err.getvalue()
    assert "os='plan9' must be one of ['windows', 'linux']" in err.getvalue()
    assert "Traceback" not in err.getvalue()


def test_python_dash_m_runs(tmp_path: Path) -> None:
    import subprocess
    import sys

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "vmbackup",
            "plan",
            str(dataset_path("sample_fleet.csv")),
            "--days",
            "2",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "Fleet: 200 VMs" in run.stdout


def test_the_cli_imports_no_model_until_a_command_runs() -> None:
    """``--help`` and argument errors answer without importing polars, numpy or the models."""
    import subprocess
    import sys

    heavy = "('polars', 'numpy', 'vmbackup.fleet', 'vmbackup.data')"
    probe = (
        "import sys, contextlib, io\n"
        "import vmbackup, vmbackup.cli\n"
        "for argv in (['--help'], ['plan'], ['plan', 'f.csv', '--days', 'x']):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()),"
        " contextlib.redirect_stderr(io.StringIO()):\n"
        "        vmbackup.cli.main(argv)\n"
        f"print([m for m in {heavy} if m in sys.modules])\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", run.stdout
    assert (
        subprocess.run(
            [sys.executable, "-m", "vmbackup", "--help"], capture_output=True, check=False
        ).returncode
        == 0
    )
