"""The ``plan`` command end to end: Azure's JSON, backup items, several policies, the inputs an
architect controls, the assumptions printed, and the :class:`EstatePlan` behind the text."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vmbackup.cli import main, print_plan
from vmbackup.data import dataset_path
from vmbackup.planning import EstatePlan, PlanOptions, build_plan

AZURE = {
    name: str(dataset_path(f"azure/{name}"))
    for name in ("vms.json", "disks.json", "items.json", "policies.json")
}
AZURE |= {
    "used_sizes.csv": str(dataset_path("azure/used_sizes.csv")),
    "vm_settings.csv": str(dataset_path("azure/vm_settings.csv")),
}
ESTATE = ["plan", AZURE["vms.json"], "--disks", AZURE["disks.json"]]
WITH_ITEMS = [*ESTATE, "--items", AZURE["items.json"], "--policy", AZURE["policies.json"]]


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def jobs(tmp_path: Path, *argv: str) -> pl.DataFrame:
    target = tmp_path / f"jobs{len(list(tmp_path.iterdir()))}.parquet"
    code, _, err = cli(*argv, "--days", "7", "--out", str(target))
    assert code == 0, err
    return pl.read_parquet(target)


def policy_file(tmp_path: Path, name: str, **change: object) -> str:
    """The sample DailyPolicy with some ARM fields changed, as a file."""
    doc = json.loads(dataset_path("policies/standard_daily.json").read_text())
    schedule = doc["properties"]["schedulePolicy"]
    for key, value in change.items():
        schedule[key] = value
    doc["name"] = name
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_the_readme_commands_plan_the_sample_estate_end_to_end() -> None:
    """S1, S12, S21, G15, S24: the az JSON, the vault's items and its policies, with measured
    sizes and VM settings: each VM on its own policy, the unprotected VM and the orphaned item
    listed, the first backup of the IRPending VM planned; premium space not applicable to its
    managed disks under today's rule (G15), and S21 decided on measured sizes under the
    seed's."""
    code, out, err = cli(
        *WITH_ITEMS,
        "--used-sizes",
        AZURE["used_sizes.csv"],
        "--vm-settings",
        AZURE["vm_settings.csv"],
        "--days",
        "14",
    )
    assert code == 0, err
    assert "Fleet: 3 VMs, 7 disks to back up" in out
    assert "WeeklyFiles: standard weekly on Sunday, Wednesday at 01:00" in out
    assert "Not protected, left out of the plan (1): legacy-01 (NotProtected)" in out
    assert "Backup items with no VM in the estate (1): app-old-01 (ProtectionStopped)" in out
    assert "policy: each VM's backup item (its policyId)" in out
    assert "used size: measured for every disk" in out
    assert "1 first backups (S12)" in out
    assert "not applicable: no VM on unmanaged premium disks awaits its first backup (G15)" in out
    assert "1 VM on managed premium disks: not applicable" in out  # sql-01, IRPending
    assert "sql-01: free" not in out
    assert "6/6 done" in err
    code, seed, err = cli(
        *WITH_ITEMS,
        "--used-sizes",
        AZURE["used_sizes.csv"],
        "--days",
        "2",
        "--space-rules",
        "seed",
    )
    assert code == 0, err
    assert "(S21, the seed's rule: every VM with premium disks): 1 of 1 VMs" in seed
    # G14: sql-01's premium disks are 1,663 GiB = 1,785.6 GB; 1,071.8 GB used, half needed free
    assert "sql-01: free 179.0 GB" in seed


def test_every_assumption_that_fills_a_gap_is_printed() -> None:
    """Azure's JSON has no used size, churn or policy: the header says what fills them. Today's
    premium-space rule (G15) needs no used size (managed disks: not applicable); the seed's
    S21 does not pretend to know (a premium VM 'at 50%' is not checked)."""
    code, out, _ = cli(*ESTATE, "--days", "2")
    assert code == 0
    assert "used size: 50% of allocated, assumed for 9 of 9 disks" in out
    assert "'moderate' where nothing says, assumed" in out
    assert "policy: every VM under 'DailyPolicy' (no backup items given), assumed" in out
    assert (
        "(G15, today's rule: unmanaged premium disks, per storage account): not applicable" in out
    )
    assert "not checked" not in out
    assert "S21 needs measured sizes" not in out
    code, seed, _ = cli(*ESTATE, "--days", "2", "--space-rules", "seed")
    assert code == 0
    assert "S21 needs measured sizes (--used-sizes)" in seed
    assert "): 0 of 0 VMs with premium disks short" in seed
    assert "2 premium VMs not checked: their used size is assumed" in seed
    assert "web-01 above 154 GB" in seed  # G14: half of 30 + 256 GiB = 307.1 GB


def test_s1_the_policy_flag_drives_the_schedule(tmp_path: Path) -> None:
    """S1: the same estate with its one policy at 22:30 and at 12:00 (the complaint of
    issue 13): every job moves, and the plan changes."""
    late = policy_file(tmp_path, "Mine", scheduleRunTimes=["2026-01-01T22:30:00Z"])
    noon = policy_file(tmp_path, "Noon", scheduleRunTimes=["2026-01-01T12:00:00Z"])
    a = jobs(tmp_path, *ESTATE, "--policy", late)
    b = jobs(tmp_path, *ESTATE, "--policy", noon)
    assert np.allclose(a["start_hours"] - b["start_hours"], 10.5)
    assert not np.allclose(a["duration_hours"], b["duration_hours"])
    _, text, _ = cli(*ESTATE, "--policy", noon, "--days", "2")
    assert "policy: Noon for every protected VM (one policy given)" in text


def test_y1_a_weekly_policy_from_the_flag_runs_on_its_days(tmp_path: Path) -> None:
    """Y1: a weekly policy given with --policy runs each VM on its weekdays only."""
    path = tmp_path / "weekly.json"
    doc = json.loads(dataset_path("azure/policies.json").read_text())[1]
    path.write_text(json.dumps(doc))
    table = jobs(tmp_path, *ESTATE, "--policy", str(path))
    assert set(table["day"].to_list()) == {3, 6}  # Sunday 4 and Wednesday 7 January 2026


def test_several_policy_flags_and_items_assign_each_vm(tmp_path: Path) -> None:
    """Y4: --policy repeats; with the items each VM follows its own (the hourly VM takes 3
    snapshots a day, the weekly one runs twice a week)."""
    folder = tmp_path / "split"
    folder.mkdir()
    names = []
    for doc in json.loads(dataset_path("azure/policies.json").read_text()):
        names.append(str(folder / f"{doc['name']}.json"))
        Path(names[-1]).write_text(json.dumps(doc))
    argv = [*ESTATE, "--items", AZURE["items.json"]]
    for name in names:
        argv += ["--policy", name]
    table = jobs(tmp_path, *argv)
    per_vm = table.group_by("vm_name").agg(pl.len(), pl.col("snapshots").max()).sort("vm_name")
    assert per_vm.rows() == [("files-01", 2, 1), ("sql-01", 7, 3), ("web-01", 7, 1)]


def test_churn_class_and_start_time_flags_change_the_plan(tmp_path: Path) -> None:
    """P6, S1: --churn-class sets every VM's class; --start-time moves every VM's start."""
    low = jobs(tmp_path, *ESTATE, "--churn-class", "low")
    high = jobs(tmp_path, *ESTATE, "--churn-class", "high")
    assert high["sent_gb"].sum() == pytest.approx(low["sent_gb"].sum() * 0.07 / 0.02, rel=1e-4)
    moved = jobs(tmp_path, *ESTATE, "--start-time", "03:15")
    assert np.allclose(moved["start_hours"].to_numpy() % 24, 2.25)  # W. Europe in January


def test_the_clock_zone_flag_reads_times_on_another_clock(tmp_path: Path) -> None:
    """S1: on a Berlin clock the W. Europe policy's 22:30 is 22:30."""
    utc = jobs(tmp_path, *ESTATE)
    berlin = jobs(tmp_path, *ESTATE, "--time-zone", "Europe/Berlin")
    assert np.allclose(berlin["start_hours"] - utc["start_hours"], 1.0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--start-time", "25:00"], "--start-time='25:00' must be a time of day HH:MM"),
        (["--time-zone", "Mars/Olympus"], "time_zone='Mars/Olympus' is not a time zone"),
        (["--items", "{broken_items}"], r"items.json: \[1\].properties.protectionState='Gone'"),
        (["--used-sizes", "{bad_sizes}"], "sizes.csv: row 2: disk_name='nope' is not a disk"),
        (["--vm-settings", "{bad_settings}"], "settings.csv: row 2: vm_name='ghost' is not a VM"),
        (
            ["--items", "{items}"],
            "vm_name='files-01' uses policy='WeeklyFiles', which is not given",
        ),
    ],
)
def test_bad_plan_inputs_exit_2_with_one_line(
    extra: list[str], message: str, tmp_path: Path
) -> None:
    items = json.loads(dataset_path("azure/items.json").read_text())
    items[1]["properties"]["protectionState"] = "Gone"
    (tmp_path / "items.json").write_text(json.dumps(items))
    (tmp_path / "sizes.csv").write_text("disk_name,used_gb\nnope,3\n")
    (tmp_path / "settings.csv").write_text("vm_name,churn_class\nghost,low\n")
    names = {
        "broken_items": str(tmp_path / "items.json"),
        "bad_sizes": str(tmp_path / "sizes.csv"),
        "bad_settings": str(tmp_path / "settings.csv"),
        "items": AZURE["items.json"],
    }
    code, _, err = cli(*ESTATE, *(word.format(**names) for word in extra))
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert re.search(message, lines[0]), lines[0]


def test_the_plan_is_one_object_the_printer_reads() -> None:
    """The command's results live in one EstatePlan; printing it gives the command's text."""
    estate = build_plan(
        PlanOptions(
            fleet=AZURE["vms.json"],
            disks=AZURE["disks.json"],
            items=AZURE["items.json"],
            policies=(AZURE["policies.json"],),
            used_sizes=AZURE["used_sizes.csv"],
            days=7,
        )
    )
    assert isinstance(estate, EstatePlan)
    assert estate.plan.vm_names == ("web-01", "sql-01", "files-01")
    assert estate.unprotected["vm_name"].to_list() == ["legacy-01"]
    assert estate.unmatched_items["vm_name"].to_list() == ["app-old-01"]
    # G15: an all-managed estate has no premium shortfall under today's rule
    assert estate.premium_space["status"].unique().to_list() == ["not-applicable"]
    assert {a.topic for a in estate.assumptions} >= {"policy", "used size", "churn", "vault"}
    assert estate.bill_lines()["cost"].sum() == pytest.approx(
        estate.result.monthly["total_usd"].sum()
    )
    assert estate.jobs_table().height == estate.result.jobs.height
    text = io.StringIO()
    print_plan(estate, text)
    code, out, _ = cli(
        *WITH_ITEMS, "--used-sizes", AZURE["used_sizes.csv"], "--days", "7", "--seed", "0"
    )
    assert code == 0
    assert out.startswith(text.getvalue())


def test_an_estate_with_nothing_protected_yet_still_plans(tmp_path: Path) -> None:
    """S21, G15, S24: before anything is protected there are no jobs, no bill and nothing to
    restore, but premium space before the first backups is checked (today's rule: the 8 VMs on
    unmanaged premium disks, all in accounts with room) and every VM is listed."""
    from vmbackup.data import read_fleet

    path = tmp_path / "new.csv"
    read_fleet().with_columns(policy=pl.lit("")).write_csv(path)
    code, out, err = cli("plan", str(path), "--days", "3")
    assert code == 0, err
    assert "Fleet: 0 VMs" in out
    assert "Policies: none in use" in out
    assert "Not protected, left out of the plan (200)" in out
    assert "Backups over 3 days: 0 jobs" in out
    assert "0 of 8 VMs on unmanaged premium disks short, 0.0 GB to free" in out
