"""Issue 27, Deliver 1 and 3: the shapes users really have, read into the same models, chosen
by content; a refused document names the shape it saw (items H1, H2, Y4, G14)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from history_sample import history_file

from vmbackup.data import dataset_path, read_azure_estate, read_policy_file
from vmbackup.records import jobs_from_document, read_history

VMS = json.loads(dataset_path("azure/vms.json").read_text())
DISKS = json.loads(dataset_path("azure/disks.json").read_text())
POLICIES = json.loads(dataset_path("azure/policies.json").read_text())

#: Top-level fields of a resource in ARM; everything else lives under ``properties``.
_TOP = ("id", "name", "type", "location", "resourceGroup", "sku", "tags", "zones", "managedBy")


def _arm(resource: dict[str, Any]) -> dict[str, Any]:
    """A flattened resource (``az vm list -d``) in ARM's shape, fields under properties."""
    top = {k: v for k, v in resource.items() if k in _TOP}
    props = {k: v for k, v in resource.items() if k not in _TOP and k != "powerState"}
    if "powerState" in resource:  # ARM with the instance view
        state = resource["powerState"].split()[-1]
        props["instanceView"] = {"statuses": [{"code": f"PowerState/{state}"}]}
    return top | {"properties": props}


def _graph(resource: dict[str, Any]) -> dict[str, Any]:
    """A Resource Graph row: ARM's shape, power state under properties.extended."""
    arm = _arm(resource)
    view = arm["properties"].pop("instanceView", None)
    if view is not None:
        code = view["statuses"][0]["code"]
        arm["properties"]["extended"] = {"instanceView": {"powerState": {"code": code}}}
    return arm


def _write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("shape", "vms", "disks"),
    [
        ("REST list", {"value": [_arm(v) for v in VMS]}, {"value": [_arm(d) for d in DISKS]}),
        (
            "az graph query",
            {"count": len(VMS), "data": [_graph(v) for v in VMS], "skip_token": None},
            {"count": len(DISKS), "data": [_arm(d) for d in DISKS]},
        ),
        ("az rest pages as a list", [_arm(v) for v in VMS], [_arm(d) for d in DISKS]),
    ],
)
def test_g14_vm_and_disk_json_under_properties_reads_like_az_vm_list(
    shape: str, vms: Any, disks: Any, tmp_path: Path
) -> None:
    """G14: ARM, az rest and Resource Graph JSON give the same fleet as az vm list -d: names,
    sizes (GiB converted to GB), disk types, power states."""
    expected = read_azure_estate(dataset_path("azure/vms.json"), dataset_path("azure/disks.json"))
    found = read_azure_estate(_write(tmp_path, "v.json", vms), _write(tmp_path, "d.json", disks))
    assert found.equals(expected), shape
    assert found["power_state"].to_list() == expected["power_state"].to_list()
    assert found["allocated_gb"].sum() == pytest.approx(expected["allocated_gb"].sum())


def test_an_unknown_vm_document_names_the_shape_it_saw(tmp_path: Path) -> None:
    path = _write(tmp_path, "v.json", {"vms": VMS})
    with pytest.raises(ValueError, match=re.escape("v.json: az vm list: expected a list of")):
        read_azure_estate(path)
    with pytest.raises(ValueError, match="found an object with keys 'vms'"):
        read_azure_estate(path)


def test_a_field_present_as_null_is_reported_as_null(tmp_path: Path) -> None:
    """Deliver 3: null is not missing."""
    vms = copy.deepcopy(VMS)
    vms[0]["hardwareProfile"]["vmSize"] = None
    with pytest.raises(ValueError, match=r"field hardwareProfile\.vmSize is null; a value"):
        read_azure_estate(_write(tmp_path, "v.json", vms), dataset_path("azure/disks.json"))
    del vms[0]["hardwareProfile"]["vmSize"]
    with pytest.raises(ValueError, match=r"missing field hardwareProfile\.vmSize"):
        read_azure_estate(_write(tmp_path, "v.json", vms), dataset_path("azure/disks.json"))
    policy = copy.deepcopy(POLICIES[0])
    policy["properties"]["schedulePolicy"]["scheduleRunFrequency"] = None
    with pytest.raises(
        ValueError,
        match=re.escape("p.json: properties.schedulePolicy.scheduleRunFrequency is null"),
    ):
        read_policy_file(_write(tmp_path, "p.json", policy))


@pytest.mark.parametrize(
    "document",
    [
        {"value": POLICIES},
        {"value": POLICIES, "nextLink": None},
        {"count": 3, "data": POLICIES},
        {"parameters": {"vaultName": "v"}, "responses": {"200": {"body": {"value": POLICIES}}}},
    ],
    ids=["rest-list", "rest-list-nextlink", "graph", "api-example"],
)
def test_y4_policy_lists_in_every_shape(document: Any, tmp_path: Path) -> None:
    """Y4: a REST list, Resource Graph output and a REST API list example read as
    'az backup policy list' does: the same names, frequencies and retention."""
    expected = read_policy_file(dataset_path("azure/policies.json"))
    found = read_policy_file(_write(tmp_path, "p.json", document))
    assert [s.policy for s in found] == [s.policy for s in expected]
    assert [s.policy.name for s in found] == ["DailyPolicy", "WeeklyFiles", "EnhancedHourly"]


def test_y4_other_workloads_are_skipped_and_one_bad_policy_is_named(tmp_path: Path) -> None:
    """Deliver 3: SQL and file-share policies are not VM policies (skipped); a broken VM policy
    refuses the list, naming it by position and name and saying the others read."""
    sql = {"name": "SqlPolicy", "properties": {"backupManagementType": "AzureWorkload"}}
    found = read_policy_file(_write(tmp_path, "p.json", {"value": [sql, *POLICIES]}))
    assert [s.where for s in found] == ["value[1]", "value[2]", "value[3]"]
    broken = copy.deepcopy(POLICIES)
    broken[1]["properties"]["schedulePolicy"]["scheduleRunFrequency"] = "Monthly"
    with pytest.raises(ValueError, match=r"^p\.json: value\[1\]\.properties\.schedulePolicy") as e:
        read_policy_file(_write(tmp_path, "p.json", {"value": broken}))
    assert str(e.value).endswith(
        "[policy value[1] ('WeeklyFiles'); the other 2 VM policies of the list read; fix or "
        "remove it]"
    )
    with pytest.raises(ValueError, match=r"^p\.json: value holds no VM backup policy"):
        read_policy_file(_write(tmp_path, "p.json", {"value": [sql]}))


def _job(**tasks: str) -> dict[str, Any]:
    return {
        "name": "j1",
        "properties": {
            "jobType": "AzureIaaSVMJob",
            "entityFriendlyName": "vm-a",
            "operation": "Backup",
            "status": "InProgress",
            "startTime": "2026-01-05T22:00:00Z",
            "duration": "00:00:00",
            "extendedInfo": {
                "tasksList": [
                    {"taskId": name.replace("_", " "), "duration": value, "status": "InProgress"}
                    for name, value in tasks.items()
                ]
            },
        },
    }


def test_h1_placeholder_durations_are_unknown_not_zero() -> None:
    """H1: a task or a running job timed 00:00:00 is Azure's placeholder: read as null, and the
    job's 'where' says so; a real duration is kept."""
    jobs, _ = jobs_from_document(
        _job(Take_Snapshot="00:15:00", Transfer_data_to_vault="00:00:00"), "jobs.json"
    )
    row = jobs.row(0, named=True)
    assert row["snapshot_hours"] == 0.25
    assert row["transfer_hours"] is None
    assert row["duration_hours"] is None
    assert row["where"] == (
        "jobs.json (placeholder tasksList[1].duration '00:00:00' read as unknown)"
    )


def _diagnostics(tmp_path: Path) -> Path:
    """The three sample report tables as one legacy AzureDiagnostics export."""
    keep = {"Category", "OperationName", "TimeGenerated", "ResourceId", "SourceSystem", "Type"}
    frames = []
    for name in ("AddonAzureBackupJobs.csv", "CoreAzureBackup.csv", "AddonAzureBackupStorage.csv"):
        table = pl.read_csv(history_file(name), infer_schema=False)
        suffix = {
            c: c if c in keep else f"{c}_{'g' if c.endswith('UniqueId') else 's'}"
            for c in table.columns
        }
        table = table.rename(suffix).with_columns(
            Category=pl.lit("AzureBackupReport"), Type=pl.lit("AzureDiagnostics")
        )
        frames.append(table)
    path = tmp_path / "AzureDiagnostics.csv"
    pl.concat(frames, how="diagonal").write_csv(path)
    return path


def test_h2_a_legacy_azure_diagnostics_export_reads_like_the_three_tables(tmp_path: Path) -> None:
    """H2: one AzureDiagnostics export (suffixed columns, Category AzureBackupReport) gives the
    same jobs, items and storage as the resource-specific tables."""
    names = ("AddonAzureBackupJobs.csv", "CoreAzureBackup.csv", "AddonAzureBackupStorage.csv")
    expected = read_history([history_file(n) for n in names])
    found = read_history([_diagnostics(tmp_path)])
    assert found.items is not None
    assert expected.items is not None
    assert found.items.sort("item_id").equals(expected.items.sort("item_id"))
    assert found.storage is not None
    assert expected.storage is not None
    assert found.storage.sort("item_id").equals(expected.storage.sort("item_id"))
    same = ["job_id", "vm_name", "operation", "status", "start_time", "duration_hours"]
    assert found.jobs.select(same).sort("job_id").equals(expected.jobs.select(same).sort("job_id"))
    assert found.sources[0].endswith("(AzureDiagnostics, the legacy mode of Backup reports)")
