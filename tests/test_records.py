"""Readers of what an estate records: job JSON, Backup reports and Cost Management exports
(items H1-H3)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from history_sample import generator, history_file

from vmbackup.records import (
    read_backup_jobs,
    read_cost_export,
    read_history,
    read_report_items,
    read_report_jobs,
    read_report_storage,
)

#: A job in the shape of the REST API's "Get Job Details" example (own values).
DETAILS: dict[str, Any] = {
    "id": "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/"
    "backupJobs/job-1",
    "name": "job-1",
    "type": "Microsoft.RecoveryServices/vaults/backupJobs",
    "properties": {
        "activityId": "a",
        "backupManagementType": "AzureIaasVM",
        "duration": "PT9.5S",
        "entityFriendlyName": "vm-a",
        "extendedInfo": {
            "propertyBag": {"VM Name": "vm-a"},
            "tasksList": [
                {"duration": "PT0S", "status": "InProgress", "taskId": "Take Snapshot"},
                {"duration": "PT0S", "status": "NotStarted", "taskId": "Transfer data to vault"},
            ],
        },
        "jobType": "AzureIaaSVMJob",
        "operation": "Backup",
        "startTime": "2026-01-05T22:31:07.014604Z",
        "status": "InProgress",
        "virtualMachineVersion": "Compute",
    },
}
#: A completed job as backup-azure-arm-userestapi-managejobs.md shows one: durations as .NET time
#: spans, seven decimals, the property bag's Backup Size (own values).
COMPLETED = {
    "id": "/subscriptions/s/resourceGroups/rg/providers/microsoft.recoveryservices/vaults/v/"
    "backupJobs/job-2",
    "name": "job-2",
    "type": "Microsoft.RecoveryServices/vaults/backupJobs",
    "properties": {
        "jobType": "AzureIaaSVMJob",
        "duration": "00:20:23.0896697",
        "actionsInfo": [1],
        "virtualMachineVersion": "Compute",
        "extendedInfo": {
            "tasksList": [
                {"taskId": "Take Snapshot", "duration": "00:00:00", "status": "Completed"},
                {"taskId": "Transfer data to vault", "duration": "00:00:00", "status": "Completed"},
            ],
            "propertyBag": {"VM Name": "vm-b", "Backup Size": "2332 MB"},
        },
        "entityFriendlyName": "vm-b",
        "backupManagementType": "AzureIaasVM",
        "operation": "Backup",
        "status": "Completed",
        "startTime": "2026-01-05T08:35:40.9488967Z",
        "endTime": "2026-01-05T08:56:04.0385664Z",
        "activityId": "b",
    },
}


def _write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_the_sample_job_list_reads_with_task_times_and_sizes() -> None:
    """H1: az backup job list output: one row per job, task times and the Backup Size."""
    jobs = read_backup_jobs(history_file("jobs.json"))
    assert jobs.height == 350
    assert jobs["vm_name"].n_unique() == 10
    done = jobs.filter(pl.col("status") == "Completed")
    assert done.height == 346
    assert done["transfer_start"].null_count() == 0
    assert (done["transfer_start"] >= done["start_time"]).all()
    gap = done.select(
        (pl.col("end_time") - pl.col("start_time")).dt.total_microseconds() / 3.6e9
        - pl.col("duration_hours")
    ).to_series()
    assert gap.abs().max() < 1e-6  # type: ignore[operator]
    assert jobs.filter(pl.col("status") == "Failed")["transferred_gb"].to_list() == [0.0] * 4


def test_rest_shapes_read_alike(tmp_path: Path) -> None:
    """H1: a REST list page, a list of pages, one job and an API example file hold the same
    job; ISO 8601 and .NET durations both read."""
    page = {"value": [DETAILS, COMPLETED], "nextLink": None}
    example = {"parameters": {}, "responses": {"200": {"body": page}}}
    frames = [
        read_backup_jobs(_write(tmp_path, f"{i}.json", document))
        for i, document in enumerate([page, [page], example, [DETAILS, COMPLETED]])
    ]
    for frame in frames[1:]:
        assert frame.drop("where").equals(frames[0].drop("where"))
    single = read_backup_jobs(_write(tmp_path, "one.json", COMPLETED)).row(0, named=True)
    assert single["transferred_gb"] == pytest.approx(2.332)
    assert single["duration_hours"] == pytest.approx((20 * 60 + 23.0896) / 3600, abs=1e-6)
    running = frames[0].row(0, named=True)
    assert running["status"] == "InProgress"
    assert running["end_time"] is None
    assert running["duration_hours"] == pytest.approx(9.5 / 3600)


def test_other_workloads_are_skipped(tmp_path: Path) -> None:
    other = json.loads(json.dumps(COMPLETED))
    other["properties"]["jobType"] = "AzureWorkloadJob"
    jobs = read_backup_jobs(_write(tmp_path, "mixed.json", [other, COMPLETED]))
    assert jobs["job_id"].to_list() == ["job-2"]
    with pytest.raises(ValueError, match="only.json: no Azure VM backup job"):
        read_backup_jobs(_write(tmp_path, "only.json", [other]))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("properties", "startTime"), "yesterday", r"properties.startTime='yesterday'"),
        (("properties", "duration"), "20 minutes", r"properties.duration='20 minutes'"),
        (
            ("properties", "extendedInfo", "propertyBag", "Backup Size"),
            "lots",
            r"propertyBag\['Backup Size'\]='lots' must be a size",
        ),
        (("properties", "entityFriendlyName"), "", "entityFriendlyName='' must be a non-empty"),
        (("properties", "endTime"), "2026-01-04T00:00:00Z", "endTime=.* is before startTime"),
        (("properties", "extendedInfo", "tasksList"), {"a": 1}, "tasksList=.* must be a list"),
    ],
)
def test_a_bad_job_field_is_named_by_its_json_path(
    tmp_path: Path, path: tuple[str, ...], value: object, message: str
) -> None:
    """Bad input names the file, the JSON path, the value and what is allowed."""
    document = json.loads(json.dumps(COMPLETED))
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValueError, match=rf"jobs.json: \[0\]\..*{message}"):
        read_backup_jobs(_write(tmp_path, "jobs.json", [document]))


def test_report_tables_read_and_keep_the_newest_record() -> None:
    """H2: CoreAzureBackup items (newest record per item), report jobs named through them (a
    Recovery Services vault leaves the flattened names blank), InProgress records replaced by
    the finished job's."""
    items = read_report_items(history_file("CoreAzureBackup.csv"))
    assert items.height == 11
    assert items.filter(pl.col("vm_name") == "vm-win-029")["front_end_gb"][0] == pytest.approx(52)
    with pytest.raises(ValueError, match="give the CoreAzureBackup export too"):
        read_report_jobs(history_file("AddonAzureBackupJobs.csv"))
    jobs = read_report_jobs(history_file("AddonAzureBackupJobs.csv"), items)
    raw = pl.read_csv(history_file("AddonAzureBackupJobs.csv"), infer_schema=False)
    assert raw.height > jobs.height == raw["JobUniqueId"].n_unique() == 350
    assert "InProgress" not in jobs["status"].to_list()
    from_json = read_backup_jobs(history_file("jobs.json"))
    both = jobs.join(from_json, on="job_id", suffix="_json")
    assert both.height == 350
    assert (both["vm_name"] == both["vm_name_json"]).all()
    assert (both["transferred_gb"] - both["transferred_gb_json"]).abs().max() < 1e-9  # type: ignore[operator]
    storage = read_report_storage(history_file("AddonAzureBackupStorage.csv"), items)
    assert storage.height == 11
    assert storage["vm_name"].null_count() == 0


def test_report_exports_from_the_portal_read(tmp_path: Path) -> None:
    """Headers with a [UTC] suffix and the portal's M/D/YYYY, h:mm:ss AM dates read."""
    text = Path(history_file("CoreAzureBackup.csv")).read_text()
    header, *rows = text.splitlines()
    header = header.replace("TimeGenerated", "TimeGenerated [UTC]")
    rows = [r.replace("2025-11-01T23:00:00.000000Z", '"11/1/2025, 11:00:00.000 PM"') for r in rows]
    path = tmp_path / "core.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    assert read_report_items(path).equals(read_report_items(history_file("CoreAzureBackup.csv")))


def test_a_bad_report_value_names_its_line(tmp_path: Path) -> None:
    text = Path(history_file("AddonAzureBackupJobs.csv")).read_text().splitlines()
    items = read_report_items(history_file("CoreAzureBackup.csv"))
    columns = text[0].split(",")
    cells = text[3].split(",")
    cells[columns.index("DataTransferredInMB")] = "-5"
    path = tmp_path / "jobs.csv"
    path.write_text("\n".join([text[0], *text[1:3], ",".join(cells), *text[4:]]) + "\n")
    with pytest.raises(ValueError, match="jobs.csv: line 4: DataTransferredInMB='-5'"):
        read_report_jobs(path, items)
    state = Path(history_file("CoreAzureBackup.csv")).read_text().replace("Protected,", "Fine,", 1)
    (tmp_path / "core.csv").write_text(state)
    with pytest.raises(ValueError, match="core.csv: line 2: BackupItemProtectionState='Fine'"):
        read_report_items(tmp_path / "core.csv")


def test_the_cost_export_marks_backup_and_snapshot_lines() -> None:
    """H3: vault meters and snapshot meters, the VM of each line from its resource ID."""
    costs = read_cost_export(history_file("cost_export.csv"))
    assert costs["currency"].unique().to_list() == ["USD"]
    assert costs["date"].min() == dt.date(2025, 12, 22)
    assert costs["date"].max() == dt.date(2026, 1, 4)
    assert costs["vm_name"].null_count() == 0
    assert set(costs["vm_name"]) == {*generator().estate()["vm_name"], "vm-win-000"}
    snapshots = costs.filter(pl.col("kind") == "snapshot")
    assert set(snapshots["meter"]) == {"LRS Snapshots", "ZRS Snapshots"}
    assert (costs["cost"] - costs["quantity"] * costs["unit_price"]).abs().max() < 1e-6  # type: ignore[operator]


def test_cost_exports_in_other_spellings_read(tmp_path: Path) -> None:
    """MCA files (camelCase fields, ISO dates); other charges and meters; vault-level lines."""
    raw = pl.read_csv(history_file("cost_export.csv"), infer_schema=False).head(6)
    mca = raw.rename({c: c[0].lower() + c[1:] for c in raw.columns}).with_columns(
        date=pl.col("date").str.to_date("%m/%d/%Y").cast(pl.String)
    )
    vault = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
    extra = mca.head(2).with_columns(
        chargeType=pl.Series(["Purchase", "Usage"]),
        meterName=pl.Series(["Azure VM Protected Instance", "Egress"]),
    )
    whole_vault = mca.head(1).with_columns(resourceId=pl.lit(vault))
    pl.concat([mca, extra, whole_vault]).write_csv(tmp_path / "mca.csv")
    costs = read_cost_export(tmp_path / "mca.csv")
    assert costs.height == 8
    assert costs.filter(pl.col("kind") == "other")["meter"].to_list() == ["Egress"]
    assert costs["vm_name"].null_count() == 1
    assert costs["date"].min() == dt.date(2025, 12, 22)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Quantity", "many", "line 3: Quantity='many' must be a finite number >= 0"),
        ("Date", "31/12/2025", "line 3: Date='31/12/2025' must be a date"),
        ("BillingCurrencyCode", "EUR", r"lines in several currencies \['EUR', 'USD'\]"),
    ],
)
def test_a_bad_cost_line_is_named(tmp_path: Path, column: str, value: str, message: str) -> None:
    raw = pl.read_csv(history_file("cost_export.csv"), infer_schema=False).head(5)
    raw = raw.with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit(value))
        .otherwise(pl.col(column))
        .alias(column)
    )
    raw.write_csv(tmp_path / "bill.csv")
    with pytest.raises(ValueError, match=f"bill.csv: {message}"):
        read_cost_export(tmp_path / "bill.csv")


def test_a_bill_without_backup_meters_is_refused(tmp_path: Path) -> None:
    raw = pl.read_csv(history_file("cost_export.csv"), infer_schema=False).head(3)
    raw.with_columns(MeterName=pl.lit("Egress")).write_csv(tmp_path / "bill.csv")
    with pytest.raises(ValueError, match="bill.csv: no Azure VM backup meter"):
        read_cost_export(tmp_path / "bill.csv")
    raw.drop("CostInBillingCurrency").write_csv(tmp_path / "nocost.csv")
    with pytest.raises(ValueError, match="nocost.csv: missing column"):
        read_cost_export(tmp_path / "nocost.csv")


def test_history_files_are_recognised_by_shape(tmp_path: Path) -> None:
    """Any mix of files: each by its shape; a job in two files counts once."""
    names = [
        "jobs.json",
        "AddonAzureBackupJobs.csv",
        "CoreAzureBackup.csv",
        "AddonAzureBackupStorage.csv",
    ]
    history = read_history([history_file(n) for n in names])
    assert history.jobs.height == 350
    assert history.jobs["transfer_start"].null_count() == 4  # the JSON's jobs win
    assert history.items is not None
    assert history.storage is not None
    assert len(history.sources) == 4
    with pytest.raises(ValueError, match="no job history"):
        read_history([history_file("CoreAzureBackup.csv")])
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="x.csv: not a backup history file"):
        read_history([tmp_path / "x.csv"])


def test_the_shipped_history_is_reproducible() -> None:
    """datasets/history/ is what make_history.py writes from its seed."""
    made = generator().generate()
    assert made["jobs"] == json.loads(Path(history_file("jobs.json")).read_text())
    assert made["estate"].equals(pl.read_csv(history_file("estate.csv")))
    for key, name in (
        ("report_jobs", "AddonAzureBackupJobs.csv"),
        ("items", "CoreAzureBackup.csv"),
        ("storage", "AddonAzureBackupStorage.csv"),
        ("costs", "cost_export.csv"),
        ("focus", "cost_export_focus.csv"),
    ):
        shipped = pl.read_csv(history_file(name), infer_schema=False).fill_null("")
        assert made[key].equals(shipped), name
    assert made["truth"] == json.loads(Path(history_file("generating_parameters.json")).read_text())


def test_h2_a_backup_vaults_report_names_its_vms_keeps_vm_jobs_and_reads_like_the_job_list(
    tmp_path: Path,
) -> None:
    """H2: a Backup vault's flattened export names each job's VM itself (no CoreAzureBackup
    needed); a workload job (SQL in a VM) is not a VM backup; each job ends its duration after
    it starts; and the table has the job list's columns and types, so the fit reads either."""
    header = (
        "OperationName,JobUniqueId,JobOperation,JobStatus,JobStartDateTime,JobDurationInSecs,"
        "DataTransferredInMB,BackupItemUniqueId,BackupItemFriendlyName,BackupManagementType"
    )
    rows = [
        "Job,j1,Backup,Completed,2025-11-01T22:00:00Z,5400,1200,i1,vm-a,IaaSVM",
        "Job,j2,Backup,Completed,2025-11-01T23:00:00Z,60,5,i2,sqldb-01,AzureWorkload",
    ]
    path = tmp_path / "jobs.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    jobs = read_report_jobs(path)
    assert jobs["vm_name"].to_list() == ["vm-a"]
    assert jobs["end_time"].item() - jobs["start_time"].item() == dt.timedelta(hours=1.5)
    assert jobs["transferred_gb"].item() == pytest.approx(1.2)
    from_json = read_backup_jobs(history_file("jobs.json"))
    assert jobs.schema == from_json.schema


def test_h2_storage_records_keep_their_time_and_the_documented_columns() -> None:
    """H2: each item's newest AddonAzureBackupStorage record, with the time it was generated."""
    items = read_report_items(history_file("CoreAzureBackup.csv"))
    storage = read_report_storage(history_file("AddonAzureBackupStorage.csv"), items)
    assert storage.columns == ["item_id", "vm_name", "time", "storage_gb"]
    assert storage["time"].null_count() == 0
    assert storage["time"].dtype == pl.Datetime("us", "UTC")


def test_h3_cost_lines_keep_their_product_and_meter_category() -> None:
    """H3: each cost line keeps the export's ProductName and MeterCategory (the report groups by
    them); the sample's backup lines are the Backup product."""
    costs = read_cost_export(history_file("cost_export.csv"))
    assert costs["product"].null_count() == 0
    assert costs["meter_category"].null_count() == 0
    assert "Backup" in costs["product"].to_list()


def test_job_times_read_naive_as_utc_and_keep_between_1990_and_2200() -> None:
    """Job times: a time without a zone is UTC, one with a zone is moved to UTC; 1990-01-01 and
    2200-01-01 are the ends of what is accepted (a typo'd year is refused, naming the field)."""
    from vmbackup.records import _instant

    utc = dt.UTC
    assert _instant("2025-11-01T22:00:00", "t") == dt.datetime(2025, 11, 1, 22, tzinfo=utc)
    assert _instant("2025-11-01T22:00:00+01:00", "t") == dt.datetime(2025, 11, 1, 21, tzinfo=utc)
    assert _instant("1990-01-01T00:00:00Z", "t") == dt.datetime(1990, 1, 1, tzinfo=utc)
    assert _instant("2200-01-01T00:00:00Z", "t") == dt.datetime(2200, 1, 1, tzinfo=utc)
    for outside in ("1989-12-31T23:59:59Z", "2200-01-01T00:00:01Z", "2200-01-01T12:00:00Z"):
        with pytest.raises(ValueError, match=r"^startTime=.* between 1990 and 2200"):
            _instant(outside, "startTime")
