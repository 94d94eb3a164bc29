"""Issue 27, Deliver 2: the public test corpus (tests/corpus/, pinned in MANIFEST.csv). Every file
is read field by field against what it says, or refused for a reason it really has (items H1,
H3, Y4, G2, G7, G14). No test touches the network."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from vmbackup.data import (
    read_azure_estate,
    read_estate_disks,
    read_policy_file,
    read_protected_items,
)
from vmbackup.lint import lint_policy
from vmbackup.records import read_backup_jobs, read_cost_export
from vmbackup.schema import GB_PER_GIB

CORPUS = Path(__file__).with_name("corpus")


def test_the_manifest_pins_every_file_and_only_them() -> None:
    manifest = pl.read_csv(CORPUS / "MANIFEST.csv")
    assert manifest.columns == ["file", "repository", "path", "commit", "what it is"]
    files = {p.name for p in CORPUS.iterdir() if p.name != "MANIFEST.csv"}
    assert set(manifest["file"]) == files
    assert all(re.fullmatch(r"[0-9a-f]{40}", c) for c in manifest["commit"])
    assert set(manifest["repository"]) == {
        "Azure/azure-rest-api-specs",
        "microsoft/finops-toolkit",
        "hashicorp/terraform-provider-azurerm",
    }


def test_h1_the_rest_job_list_example() -> None:
    """H1: one AzureIaaSVMJob in progress: no end time, duration PT12.4272909S."""
    jobs = read_backup_jobs(CORPUS / "ListJobsWithAllSupportedFilters.json")
    assert jobs.height == 1
    job = jobs.row(0, named=True)
    assert job["job_id"] == "00000000-0000-0000-0000-000000000000"
    assert (job["vm_name"], job["operation"], job["status"]) == ("testvm", "Backup", "InProgress")
    assert job["start_time"] == dt.datetime(2017, 8, 3, 5, 31, 7, 14604, tzinfo=dt.UTC)
    assert job["end_time"] is None
    assert job["duration_hours"] == pytest.approx(12.4272909 / 3600)
    assert job["where"] == "ListJobsWithAllSupportedFilters.json: value[0]"


def test_the_rest_protected_item_example() -> None:
    """The item of the REST example: Protected under testPolicy1, last backup 2018-01-22."""
    items = read_protected_items(CORPUS / "ProtectedItemOperationResults.json")
    item = items.row(0, named=True)
    assert items.height == 1
    assert (item["vm_name"], item["policy"], item["protection_state"]) == (
        "netvmtestv2vm1",
        "testPolicy1",
        "Protected",
    )
    assert item["vm_id"].endswith("/microsoft.compute/virtualmachines/netvmtestv2vm1")
    assert item["last_backup_time"] == dt.datetime(2018, 1, 22, 12, 25, 32, 48723, tzinfo=dt.UTC)
    assert item["first_backup_done"] is True


def test_y4_g2_the_v2_hourly_example_reads_with_its_30_days_as_a_risk() -> None:
    """Y4, G2.3: the example keeps 30 Instant Restore days at 4-hourly backups, above the
    17 days of a 2025 draft note (unverified): read, never refused; the linter names the risk.
    Every field is the file's."""
    (found,) = read_policy_file(CORPUS / "IaaS_v2_hourly.json")
    risks = [(f.rule, f.severity, f.status) for f in lint_policy(found.policy)]
    assert ("instant-restore-hourly-max", "risk", "unverified") in risks
    policy = found.policy
    assert found.shape == "rest-example"
    assert (policy.name, policy.policy_type, policy.frequency) == (
        "v2-daily-sample",
        "enhanced",
        "hourly",
    )
    assert (policy.hourly_interval_hours, policy.window_hours) == (4, 16)
    assert policy.instant_restore_days == 30
    assert policy.consistency == "crash"
    assert policy.time_zone == "India Standard Time"
    assert (policy.daily_retention_days, policy.weekly_retention_weeks) == (180, 12)
    assert (policy.monthly_retention_months, policy.yearly_retention_years) == (60, 10)
    assert policy.weekly_days == ("Sunday",)
    assert policy.yearly_months == ("January",)


def test_g7_the_terraform_tiering_acceptance_config() -> None:
    """G7, Y4: the provider's tieringPolicy() config as a plan: weekly at 23:00 on four days,
    42 weeks / 7 months / 77 years, TierAfter 5 months (5 x 31 = 155 days)."""
    (found,) = read_policy_file(CORPUS / "terraform_tiering_policy_plan.json")
    policy = found.policy
    assert found.where == "azurerm_backup_policy_vm.test"
    assert (policy.name, policy.policy_type, policy.frequency, policy.run_hour) == (
        "acctest-bpvm-230101",
        "standard",
        "weekly",
        23.0,
    )
    assert policy.run_days == ("Sunday", "Wednesday", "Friday", "Saturday")
    assert policy.weekly_retention_weeks == 42
    assert policy.monthly_retention_months == 7
    assert policy.monthly_day.weeks == ("First", "Last")
    assert policy.yearly_retention_years == 77
    assert policy.yearly_months == ("January", "July")
    assert policy.daily_retention_days is None
    assert policy.tiering is not None
    assert (policy.tiering.mode, policy.tiering.after_days) == ("TierAfter", 155)
    assert policy.consistency == "application"
    assert policy.time_zone == "UTC"


def test_g14_the_rest_vm_example_reads_its_disks_in_gib() -> None:
    """G14: the VM example's disks (fields under properties) as the eligibility table: sizes
    30, 30 and 100 GiB converted to GB, Premium_LRS from the VM's own view."""
    disks = read_estate_disks(
        CORPUS / "VirtualMachine_Get.json", CORPUS / "Disk_ListByResourceGroup.json"
    )
    assert disks["vm_name"].to_list() == ["myVM"] * 3
    assert disks["disk_name"].to_list() == ["myOsDisk", "myDataDisk0", "myDataDisk1"]
    assert disks["disk_role"].to_list() == ["os", "data", "data"]
    assert disks["disk_sku"].to_list() == ["Premium_LRS"] * 3
    assert disks["allocated_gb"].to_list() == pytest.approx(
        [30 * GB_PER_GIB, 30 * GB_PER_GIB, 100 * GB_PER_GIB]
    )
    assert disks["security_type"].to_list() == ["Standard"] * 3


def test_g14_the_vm_example_cannot_be_planned_without_its_disks() -> None:
    """The disk example lists other disks (myManagedDisk2) than the VM's: the estate is refused
    by the VM's first disk, as the files really differ."""
    with pytest.raises(
        ValueError,
        match=re.escape(
            "VirtualMachine_Get.json: az vm list: VM 1 ('myVM') os disk 'myOsDisk': managed "
            "disk id not found in az disk list"
        ),
    ):
        read_azure_estate(
            CORPUS / "VirtualMachine_Get.json", CORPUS / "Disk_ListByResourceGroup.json"
        )


def test_h3_the_finops_toolkit_ea_export_has_no_backup_line() -> None:
    """H3: an older EA column set (Cost, BillingCurrency, Product) is read, and refused because
    none of its lines (a reservation, VM hours, a P4 disk) is a Backup meter."""
    with pytest.raises(
        ValueError, match=re.escape("EA_ActualCost_Small.csv: no Azure VM backup meter found")
    ) as refused:
        read_cost_export(CORPUS / "EA_ActualCost_Small.csv")
    assert "could not place" not in str(refused.value)
