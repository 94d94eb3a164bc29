"""Make datasets/history/: what a small estate recorded (jobs, Backup reports, its bill), drawn
from known parameters so the tests and notebook 08 know the truth.

Run: python datasets/make_history.py  (rewrites the files; the same seed gives the same files)

The estate is 10 daily-policy VMs of datasets/sample_fleet.csv (their rows are copied to
history/estate.csv), onboarded on 2025-11-01 (every VM's first backup that night). The "true"
world, written to history/generating_parameters.json:

- each VM's mean daily churn: its used data x its churn class's share (P6) x a factor drawn in
  [0.5, 1.5]; each day's churn that mean x a log-normal factor of mean 1 (sigma 0.2);
- each VM's throughput per disk, drawn in [3, 14] MB/s;
- the lag between snapshot and transfer: 0.6 x the project's assumed profile
  (datasets/peak_lag_profile.csv), each job's lag that x a log-normal factor of mean 1 (sigma
  0.15); each transfer takes the model's time x a log-normal factor of mean 1 (sigma 0.1);
  jobs start up to 6 minutes after the schedule hour (times are UTC, offset 0);
- every job follows the project's transfer model (vmbackup.transfer.backup_jobs) with those
  figures; four jobs fail, and the two VMs with the most allocated disk lose their Instant
  Restore snapshot on one day each (checksum fallback, S17).

The bill (a Cost Management export for 2025-12-22 to 2026-01-04, West Europe list prices in USD,
GRS vault) is the project's billing engine (vmbackup.fleet.fleet_bill_lines, vmbackup.billing)
on the true world, stored data times a compression factor in [0.98, 1.02] per VM, with three
planted differences from what the estate and its policies say:

1. vm-win-000 is not in the estate: it was retired in 2025 with "stop protection, retain data"
   (S24), so its protected instance and stored data are still billed;
2. vm-win-029's data grew to 52 GB: the estate file still says 48.6 GB, below the 50 GB
   boundary of the small protected instance (P1);
3. vm-lnx-004 keeps its daily points 90 days, not the 14 its policy (AgentlessDaily) says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import uuid
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vmbackup.billing import Event, meter_bill
from vmbackup.data import read_fleet, read_lag_profile, read_policies, read_prices
from vmbackup.fleet import fleet_plan
from vmbackup.reconcile import modelled_window_lines
from vmbackup.transfer import backup_jobs, extents_for

SEED = 20261201
OUT = Path(__file__).with_name("history")
ONBOARDED = dt.date(2025, 11, 1)
HISTORY_DAYS = 35
WINDOW = (dt.date(2025, 12, 22), dt.date(2026, 1, 4))
VMS = 10
RETIRED = "vm-win-000"
SOFT_DELETED = "vm-lnx-000"
PI_BOUNDARY = ("vm-win-029", 52.0)
LONG_RETENTION = ("vm-lnx-004", 90)
LAG_SCALE = 0.6
FRAGMENTATION = 0.3
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
VAULT_RG, VAULT = "rg-backup-weu", "rsv-weu-01"
VAULT_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{VAULT_RG}/providers/"
    f"Microsoft.RecoveryServices/vaults/{VAULT}"
)
VM_RG = "rg-apps-weu"
CLASS_SHARE = {"low": 0.02, "moderate": 0.04, "high": 0.07}  # P6, as vmbackup.churn
#: Columns of AddonAzureBackupJobs, CoreAzureBackup and AddonAzureBackupStorage as the Azure
#: Monitor table reference lists them (MicrosoftDocs/azure-reference-other, tables/includes,
#: ms.date 2024-07-30 and 2024-02-18), hidden columns (_BilledSize ...) left out.
JOB_TABLE = [
    "AdHocOrScheduledJob",
    "ArchiveTierStorageReplicationType",
    "AzureDataCenter",
    "BackupItemFriendlyName",
    "BackupItemId",
    "BackupItemUniqueId",
    "BackupManagementServerUniqueId",
    "BackupManagementType",
    "Category",
    "DatasourceFriendlyName",
    "DatasourceResourceId",
    "DatasourceSetFriendlyName",
    "DatasourceSetResourceId",
    "DatasourceSetType",
    "DatasourceType",
    "DataTransferredInMB",
    "ExtendedProperties",
    "JobDurationInSecs",
    "JobFailureCode",
    "JobOperation",
    "JobOperationSubType",
    "JobStartDateTime",
    "JobStatus",
    "JobUniqueId",
    "OperationName",
    "ProtectedContainerUniqueId",
    "RecoveryJobDestination",
    "RecoveryJobRPDateTime",
    "RecoveryJobRPLocation",
    "RecoveryLocationType",
    "ResourceGroupName",
    "ResourceId",
    "SchemaVersion",
    "SourceSystem",
    "State",
    "StorageReplicationType",
    "SubscriptionId",
    "TimeGenerated",
    "Type",
    "VaultName",
    "VaultTags",
    "VaultType",
    "VaultUniqueId",
]
ITEM_TABLE = [
    "AgentVersion",
    "ArchiveTierLatestRecoveryPointLocation",
    "ArchiveTierLatestRecoveryPointTime",
    "ArchiveTierOldestRecoveryPointLocation",
    "ArchiveTierOldestRecoveryPointTime",
    "ArchiveTierStorageConsumedInMBs",
    "ArchiveTierStorageReplicationType",
    "AzureBackupAgentVersion",
    "AzureDataCenter",
    "BackupItemAppVersion",
    "BackupItemFriendlyName",
    "BackupItemFrontEndSize",
    "BackupItemId",
    "BackupItemName",
    "BackupItemProtectionState",
    "BackupItemType",
    "BackupItemUniqueId",
    "BackupManagementServerName",
    "BackupManagementServerOSVersion",
    "BackupManagementServerType",
    "BackupManagementServerUniqueId",
    "BackupManagementServerVersion",
    "BackupManagementType",
    "BillingGroupFriendlyName",
    "BillingGroupUniqueId",
    "Category",
    "DatasourceFriendlyName",
    "DatasourceResourceGroupName",
    "DatasourceResourceId",
    "DatasourceSetFriendlyName",
    "DatasourceSetResourceId",
    "DatasourceSetType",
    "DatasourceSubscriptionId",
    "DatasourceType",
    "ExtendedProperties",
    "IsArchiveEnabled",
    "LatestRecoveryPointLocation",
    "LatestRecoveryPointTime",
    "OldestRecoveryPointLocation",
    "OldestRecoveryPointTime",
    "OperationName",
    "PolicyId",
    "PolicyName",
    "PolicyUniqueId",
    "ProtectedContainerFriendlyName",
    "ProtectedContainerLocation",
    "ProtectedContainerName",
    "ProtectedContainerOSType",
    "ProtectedContainerOSVersion",
    "ProtectedContainerProtectionState",
    "ProtectedContainerType",
    "ProtectedContainerUniqueId",
    "ProtectedContainerWorkloadType",
    "ProtectionGroupName",
    "ResourceGroupName",
    "ResourceId",
    "SchemaVersion",
    "SecondaryBackupProtectionState",
    "SourceSystem",
    "State",
    "StorageConsumedInMBs",
    "StorageReplicationType",
    "SubscriptionId",
    "TimeGenerated",
    "Type",
    "VaultName",
    "VaultTags",
    "VaultType",
    "VaultUniqueId",
]
STORAGE_TABLE = [
    "ArchiveTierStorageConsumedInMBs",
    "BackupItemUniqueId",
    "BackupManagementServerUniqueId",
    "BackupManagementType",
    "Category",
    "ExtendedProperties",
    "OperationName",
    "PreferredWorkloadOnVolume",
    "ProtectedContainerUniqueId",
    "ResourceId",
    "SchemaVersion",
    "SourceSystem",
    "State",
    "StorageAllocatedInMBs",
    "StorageConsumedInMBs",
    "StorageName",
    "StorageTotalSizeInGBs",
    "StorageType",
    "StorageUniqueId",
    "TimeGenerated",
    "Type",
    "VaultUniqueId",
    "VolumeFriendlyName",
]
#: Cost and usage details, Enterprise Agreement, version 2024-08-01 (MicrosoftDocs/azure-docs,
#: cost-management-billing/dataset-schema/cost-usage-details-ea.md, ms.date 2025-01-24).
COST_TABLE = [
    "InvoiceSectionName",
    "AccountName",
    "AccountOwnerId",
    "SubscriptionId",
    "SubscriptionName",
    "ResourceGroup",
    "ResourceLocation",
    "Date",
    "ProductName",
    "MeterCategory",
    "MeterSubCategory",
    "MeterId",
    "MeterName",
    "MeterRegion",
    "UnitOfMeasure",
    "Quantity",
    "EffectivePrice",
    "CostInBillingCurrency",
    "CostCenter",
    "ConsumedService",
    "ResourceId",
    "Tags",
    "OfferId",
    "AdditionalInfo",
    "ServiceInfo1",
    "ServiceInfo2",
    "ResourceName",
    "ReservationId",
    "ReservationName",
    "UnitPrice",
    "ProductOrderId",
    "ProductOrderName",
    "Term",
    "PublisherType",
    "PublisherName",
    "ChargeType",
    "Frequency",
    "PricingModel",
    "AvailabilityZone",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrencyCode",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "BillingProfileId",
    "BillingProfileName",
    "InvoiceSectionId",
    "IsAzureCreditEligible",
    "PartNumber",
    "PayGPrice",
    "PlanName",
    "ServiceFamily",
    "CostAllocationRuleName",
    "benefitId",
    "benefitName",
    "AccountId",
    "ResourceLocationNormalized",
]


def _uuid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _iso_duration(hours: float) -> str:
    return f"PT{hours * 3600:.4f}S"


def _item_id(vm: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"vmbackup-sample/{vm}"))


def _protected_item(vm: str) -> str:
    container = f"IaasVMContainerV2;{VM_RG};{vm}"
    return (
        f"{VAULT_ID}/backupFabrics/Azure/protectionContainers/{container}/protectedItems/"
        f"VM;iaasvmcontainerv2;{VM_RG};{vm}"
    )


def estate(vms: int = VMS) -> pl.DataFrame:
    """The sample fleet's rows of the estate's VMs: the first daily-policy VMs in file order,
    and the PI-boundary VM."""
    run_hour = {name: policy.run_hour for name, policy in read_policies().items()}
    fleet = read_fleet().with_columns(  # a blank start time is the policy's own (S1)
        schedule_hour=pl.col("schedule_hour").fill_null(
            pl.col("policy").replace_strict(run_hour, return_dtype=pl.Float64, default=None)
        )
    )
    daily = fleet.filter(pl.col("policy") != "EnhancedHourly")["vm_name"].unique(
        maintain_order=True
    )
    names = [*[n for n in daily.to_list() if n != PI_BOUNDARY[0]][: vms - 1], PI_BOUNDARY[0]]
    return fleet.filter(pl.col("vm_name").is_in(names))


def truth(fleet: pl.DataFrame, rng: np.random.Generator) -> dict[str, Any]:
    """The generating parameters: per VM churn and throughput, and the lag profile."""
    vms = (
        fleet.filter(pl.col("disk_role") != "temp")
        .group_by("vm_name", maintain_order=True)
        .agg(pl.col("churn_class", "policy").first(), used_gb=pl.col("used_gb").sum())
    )
    used = vms["used_gb"].to_numpy().copy()
    names = vms["vm_name"].to_list()
    used[names.index(PI_BOUNDARY[0])] = PI_BOUNDARY[1]
    share = np.array([CLASS_SHARE[c] for c in vms["churn_class"]])
    churn = used * share * rng.uniform(0.5, 1.5, len(names))
    throughput = rng.uniform(3.0, 14.0, len(names))
    return {
        "seed": SEED,
        "onboarded": ONBOARDED.isoformat(),
        "utc_offset_hours": 0.0,
        "fragmentation": FRAGMENTATION,
        "lag_profile_hours": [round(LAG_SCALE * x, 6) for x in read_lag_profile()],
        "vms": {
            name: {
                "used_gb": round(float(u), 3),
                "churn_gb_per_day": round(float(c), 6),
                "throughput_mb_s_per_disk": round(float(t), 6),
                "policy": p,
            }
            for name, u, c, t, p in zip(names, used, churn, throughput, vms["policy"], strict=True)
        },
        "planted": {
            "stopped_retained": RETIRED,
            "pi_boundary": PI_BOUNDARY[0],
            "long_retention": LONG_RETENTION[0],
            "long_retention_daily_days": LONG_RETENTION[1],
        },
    }


def _true_disks(fleet: pl.DataFrame, params: dict[str, Any]) -> pl.DataFrame:
    """The backed-up disks with their true used data (the PI-boundary VM grew)."""
    disks = fleet.filter(pl.col("disk_role") != "temp")
    grow = PI_BOUNDARY[1] / disks.filter(pl.col("vm_name") == PI_BOUNDARY[0])["used_gb"].sum()
    return disks.with_columns(
        used_gb=pl.when(pl.col("vm_name") == PI_BOUNDARY[0])
        .then(pl.col("used_gb") * grow)
        .otherwise(pl.col("used_gb"))
    )


def simulate_jobs(
    fleet: pl.DataFrame,
    params: dict[str, Any],
    rng: np.random.Generator,
    *,
    days: int = HISTORY_DAYS,
    churn_sigma: float = 0.2,
    lag_sigma: float = 0.15,
    transfer_sigma: float = 0.1,
    jitter_hours: float = 0.1,
    failures: int = 4,
    checksum_days: int = 2,
) -> pl.DataFrame:
    """One row per job of the history, timed by the project's transfer model (S9-S17)."""
    disks = _true_disks(fleet, params)
    vms = disks.group_by("vm_name", maintain_order=True).agg(
        pl.col("schedule_hour").first(), allocated_gb=pl.col("allocated_gb").sum()
    )
    names = vms["vm_name"].to_list()
    lag_true = np.array(params["lag_profile_hours"])
    failed = {
        (names[i], int(d))
        for i, d in zip(
            rng.choice(len(names), failures), rng.integers(1, days, failures), strict=True
        )
    }
    biggest = vms.sort("allocated_gb", descending=True)["vm_name"].head(checksum_days).to_list()
    missing = {(name, int(rng.integers(2, days))) for name in biggest}
    params["outliers"] = {
        kind: sorted([name, (ONBOARDED + dt.timedelta(days=day)).isoformat()] for name, day in jobs)
        for kind, jobs in (("failed", failed), ("checksum_fallback", missing))
    }
    frames = []
    for name, hour in zip(names, vms["schedule_hour"], strict=True):  # a few VMs: a script
        vm = params["vms"][name]
        own = disks.filter(pl.col("vm_name") == name)
        share = own["used_gb"] / own["used_gb"].sum()
        factor = np.exp(rng.normal(-0.5 * churn_sigma**2, churn_sigma, days))
        start = hour + rng.uniform(0.0, jitter_hours, days)
        rows = []
        for day in range(days):
            churn = vm["churn_gb_per_day"] * factor[day] * share
            rows.append(
                pl.DataFrame(
                    {
                        "vm": f"{name}#{day}",
                        "disk": own["disk_name"],
                        "used_gb": own["used_gb"],
                        "allocated_gb": own["allocated_gb"],
                        "churn_gb": churn,
                        "extents": extents_for(churn.to_numpy(), FRAGMENTATION),
                        "new_disk": False,
                        "start_hour": float(start[day] % 24),
                        "first_backup": day == 0,
                        "snapshot_missing": (name, day) in missing,
                    }
                )
            )
        timed = backup_jobs(
            pl.concat(rows),
            np.zeros(24),
            incremental_throughput_mb_s=vm["throughput_mb_s_per_disk"],
        )
        hour_of_snapshot = np.floor(timed["snapshot_at"].to_numpy()).astype(int) % 24
        lag = lag_true[hour_of_snapshot] * np.exp(rng.normal(-0.5 * lag_sigma**2, lag_sigma, days))
        transfer = (timed["end"] - timed["transfer_start"]).to_numpy() * np.exp(
            rng.normal(-0.5 * transfer_sigma**2, transfer_sigma, days)
        )
        frames.append(
            pl.DataFrame(
                {
                    "vm_name": name,
                    "day": np.arange(days),
                    "start_hours": start,
                    "snapshot_hours": (timed["snapshot_at"] - timed["start_hour"]).to_numpy(),
                    "lag_hours": lag,
                    "transfer_hours": transfer,
                    "sent_gb": timed["sent_gb"].to_numpy(),
                    "first_backup": np.arange(days) == 0,
                    "checksum": [(name, d) in missing for d in range(days)],
                    "failed": [(name, d) in failed for d in range(days)],
                }
            )
        )
    return pl.concat(frames)


def job_documents(jobs: pl.DataFrame, rng: np.random.Generator) -> list[dict[str, Any]]:
    """The jobs as ``az backup job list`` prints them (H1)."""
    documents = []
    for row in jobs.sort("day", "vm_name").iter_rows(named=True):
        day = dt.datetime.combine(ONBOARDED, dt.time(), dt.UTC) + dt.timedelta(days=row["day"])
        start = day + dt.timedelta(hours=row["start_hours"])
        snapshot_end = start + dt.timedelta(hours=row["snapshot_hours"])
        name = _uuid(rng)
        properties: dict[str, Any] = {
            "jobType": "AzureIaaSVMJob",
            "actionsInfo": [1] if not row["failed"] else [],
            "activityId": _uuid(rng),
            "backupManagementType": "AzureIaasVM",
            "containerName": f"iaasvmcontainerv2;{VM_RG};{row['vm_name']}",
            "entityFriendlyName": row["vm_name"],
            "isUserTriggered": False,
            "operation": "Backup",
            "virtualMachineVersion": "Compute",
        }
        if row["failed"]:
            end = snapshot_end + dt.timedelta(minutes=2)
            properties |= {
                "status": "Failed",
                "errorDetails": [
                    {
                        "errorCode": "UserErrorGuestAgentStatusUnavailable",
                        "errorString": "VM Agent unable to communicate with Azure Backup",
                        "recommendations": ["Ensure the VM agent is installed and running."],
                    }
                ],
                "extendedInfo": {
                    "tasksList": [
                        {
                            "taskId": "Take Snapshot",
                            "startTime": _iso(start),
                            "endTime": _iso(end),
                            "duration": _iso_duration((end - start).total_seconds() / 3600),
                            "status": "Failed",
                        },
                        {
                            "taskId": "Transfer data to vault",
                            "duration": "PT0S",
                            "status": "NotStarted",
                        },
                    ],
                    "propertyBag": {"VM Name": row["vm_name"], "Backup Size": "0 MB"},
                },
            }
        else:
            transfer_start = snapshot_end + dt.timedelta(hours=row["lag_hours"])
            end = transfer_start + dt.timedelta(hours=row["transfer_hours"])
            properties |= {
                "status": "Completed",
                "errorDetails": None,
                "extendedInfo": {
                    "tasksList": [
                        {
                            "taskId": "Take Snapshot",
                            "startTime": _iso(start),
                            "endTime": _iso(snapshot_end),
                            "duration": _iso_duration(row["snapshot_hours"]),
                            "status": "Completed",
                        },
                        {
                            "taskId": "Transfer data to vault",
                            "startTime": _iso(transfer_start),
                            "endTime": _iso(end),
                            "duration": _iso_duration(row["transfer_hours"]),
                            "status": "Completed",
                        },
                    ],
                    "propertyBag": {
                        "VM Name": row["vm_name"],
                        "Backup Size": f"{round(row['sent_gb'] * 1000)} MB",
                    },
                },
            }
        properties |= {
            "startTime": _iso(start),
            "endTime": _iso(end),
            "duration": _iso_duration((end - start).total_seconds() / 3600),
        }
        documents.append(
            {
                "id": f"{VAULT_ID}/backupJobs/{name}",
                "name": name,
                "properties": dict(sorted(properties.items())),
                "resourceGroup": VAULT_RG,
                "type": "Microsoft.RecoveryServices/vaults/backupJobs",
            }
        )
    return documents[::-1]  # newest first, as the service lists them


def _blank(columns: list[str]) -> dict[str, str]:
    return dict.fromkeys(columns, "")


def report_jobs(documents: list[dict[str, Any]], rng: np.random.Generator) -> pl.DataFrame:
    """The jobs as the AddonAzureBackupJobs table, exported from Log Analytics as CSV (H2). A
    Recovery Services vault leaves the flattened item columns blank; a few jobs also have their
    earlier InProgress record."""
    rows = []
    for job in documents[::-1]:
        p = job["properties"]
        start = dt.datetime.fromisoformat(p["startTime"])
        end = dt.datetime.fromisoformat(p["endTime"])
        size = p["extendedInfo"]["propertyBag"]["Backup Size"].split()[0]
        row = _blank(JOB_TABLE) | {
            "AdHocOrScheduledJob": "Scheduled",
            "BackupItemUniqueId": _item_id(p["entityFriendlyName"]),
            "BackupManagementType": "IaaSVM",
            "Category": "AddonAzureBackupJobs",
            "DataTransferredInMB": size,
            "JobDurationInSecs": f"{(end - start).total_seconds():.0f}",
            "JobFailureCode": (p.get("errorDetails") or [{}])[0].get("errorCode", "Success"),
            "JobOperation": "Backup",
            "JobOperationSubType": "Recovery point_Snapshot and Vault",
            "JobStartDateTime": _iso(start),
            "JobStatus": p["status"],
            "JobUniqueId": job["name"],
            "OperationName": "Job",
            "ProtectedContainerUniqueId": _item_id("container/" + p["entityFriendlyName"]),
            "ResourceId": VAULT_ID.upper(),
            "SchemaVersion": "V2",
            "SourceSystem": "Azure",
            "State": "Active",
            "TimeGenerated": _iso(end + dt.timedelta(minutes=float(rng.uniform(5, 30)))),
            "Type": "AddonAzureBackupJobs",
            "VaultUniqueId": _item_id(VAULT),
        }
        if rng.random() < 0.05:  # the record of the job while it ran
            rows.append(
                row
                | {
                    "JobStatus": "InProgress",
                    "DataTransferredInMB": "",
                    "JobDurationInSecs": "",
                    "JobFailureCode": "",
                    "TimeGenerated": _iso(start + dt.timedelta(minutes=5)),
                }
            )
        rows.append(row)
    return pl.DataFrame(rows).select(JOB_TABLE)


def report_items(
    params: dict[str, Any], vault_gb: dict[str, float], soft_deleted: bool
) -> pl.DataFrame:
    """CoreAzureBackup's BackupItem records (two per item: onboarding and the window's end)."""
    rows = []
    states = dict.fromkeys(params["vms"], ("Protected", "Active"))
    states[RETIRED] = ("ProtectionStopped", "Active")
    if soft_deleted:
        states[SOFT_DELETED] = ("ProtectionStopped", "Deleted")
    sizes = {name: vm["used_gb"] for name, vm in params["vms"].items()}
    sizes[RETIRED] = 180.0
    sizes[SOFT_DELETED] = 95.0
    for when in (ONBOARDED, WINDOW[1]):
        for name, (protection, state) in states.items():
            policy = params["vms"].get(name, {}).get("policy", "DailyPolicy")
            rows.append(
                _blank(ITEM_TABLE)
                | {
                    "BackupItemFriendlyName": name,
                    "BackupItemFrontEndSize": f"{sizes[name] * 1000:.0f}",
                    "BackupItemName": f"VM;iaasvmcontainerv2;{VM_RG};{name}",
                    "BackupItemProtectionState": protection,
                    "BackupItemType": "VM",
                    "BackupItemUniqueId": _item_id(name),
                    "BackupManagementType": "IaaSVM",
                    "Category": "CoreAzureBackup",
                    "OperationName": "BackupItem",
                    "PolicyName": policy,
                    "ResourceId": VAULT_ID.upper(),
                    "SchemaVersion": "V2",
                    "SourceSystem": "Azure",
                    "State": state,
                    "StorageConsumedInMBs": f"{vault_gb.get(name, 0.0) * 1000:.0f}",
                    "StorageReplicationType": "GeoRedundant",
                    "TimeGenerated": _iso(dt.datetime.combine(when, dt.time(23, 0), dt.UTC)),
                    "Type": "CoreAzureBackup",
                    "VaultName": VAULT,
                    "VaultUniqueId": _item_id(VAULT),
                }
            )
    return pl.DataFrame(rows).select(ITEM_TABLE)


def report_storage(vault_gb: dict[str, float]) -> pl.DataFrame:
    """AddonAzureBackupStorage's StorageAssociation records at the window's end."""
    rows = [
        _blank(STORAGE_TABLE)
        | {
            "BackupItemUniqueId": _item_id(name),
            "BackupManagementType": "IaaSVM",
            "Category": "AddonAzureBackupStorage",
            "OperationName": "StorageAssociation",
            "ResourceId": VAULT_ID.upper(),
            "SchemaVersion": "V2",
            "SourceSystem": "Azure",
            "State": "Active",
            "StorageConsumedInMBs": f"{gb * 1000:.0f}",
            "StorageType": "Cloud",
            "StorageUniqueId": _item_id("storage/" + VAULT),
            "TimeGenerated": _iso(dt.datetime.combine(WINDOW[1], dt.time(23, 30), dt.UTC)),
            "Type": "AddonAzureBackupStorage",
            "VaultUniqueId": _item_id(VAULT),
        }
        for name, gb in sorted(vault_gb.items())
    ]
    return pl.DataFrame(rows).select(STORAGE_TABLE)


def _window_lines(plan: Any, churn: np.ndarray, prices: Any) -> pl.DataFrame:
    """The engine's lines for the window's days only (vmbackup.reconcile.modelled_window_lines)."""
    return modelled_window_lines(plan, churn, ONBOARDED, WINDOW, prices, "GRS")


def invoice(
    fleet: pl.DataFrame,
    params: dict[str, Any],
    rng: np.random.Generator,
    *,
    soft_deleted: bool = False,
    snapshots: bool = True,
) -> tuple[pl.DataFrame, dict[str, float]]:
    """The window's invoice lines per VM, meter and month in the true world (and each VM's
    stored data [GB] at the window's end)."""
    prices = read_prices(region="westeurope")
    policies = read_policies()
    own = params["vms"][LONG_RETENTION[0]]["policy"]
    longer = dataclasses.replace(
        policies[own],
        name=f"{own} kept longer",
        daily_retention_days=LONG_RETENTION[1],
    )
    policies[longer.name] = longer
    disks = _true_disks(fleet, params)
    true_fleet = pl.concat([disks, fleet.filter(pl.col("disk_role") == "temp")]).with_columns(
        policy=pl.when(pl.col("vm_name") == LONG_RETENTION[0])
        .then(pl.lit(longer.name))
        .otherwise(pl.col("policy"))
    )
    plan = fleet_plan(true_fleet, policies)
    churn = np.array([params["vms"][n]["churn_gb_per_day"] for n in plan.vm_names])
    lines = _window_lines(plan, churn, prices).with_columns(
        vm_name=pl.lit(pl.Series(plan.vm_names)).gather(pl.col("vm"))
    )
    # retired VMs: the single-VM engine with their lifecycles (S24, G5)
    daily = policies["DailyPolicy"]
    lifecycles = {
        RETIRED: [
            Event("protect", dt.date(2025, 3, 1), used_gb=180.0),
            Event("first-backup", dt.date(2025, 3, 1)),
            Event("stop", dt.date(2025, 10, 15)),
        ]
    }
    options: dict[str, dict[str, Any]] = {RETIRED: {}}
    if soft_deleted:
        lifecycles[SOFT_DELETED] = [
            Event("protect", dt.date(2025, 2, 1), used_gb=95.0),
            Event("first-backup", dt.date(2025, 2, 1)),
            Event("stop", dt.date(2025, 11, 20)),
            Event("delete", dt.date(2025, 12, 10)),
        ]
        options[SOFT_DELETED] = {"soft_delete_days": 180}
    retired = []
    for name, events in lifecycles.items():
        bill = meter_bill(
            events,
            until=WINDOW[1],
            policy=daily,
            prices=prices,
            vm=name,
            redundancy="GRS",
            **options[name],
        )
        head = meter_bill(
            events,
            until=WINDOW[0] - dt.timedelta(days=1),
            policy=daily,
            prices=prices,
            vm=name,
            redundancy="GRS",
            **options[name],
        )
        keys = ["month", "vm", "meter", "product", "unit", "unit_price"]
        part = bill.join(head, on=keys, how="left", suffix="_before").with_columns(
            quantity=pl.col("quantity") - pl.col("quantity_before").fill_null(0.0),
            cost=pl.col("cost") - pl.col("cost_before").fill_null(0.0),
        )
        retired.append(
            part.filter(pl.col("quantity") > 1e-9).select(
                *keys[:-1], "unit_price", "quantity", "cost", vm_name=pl.col("vm")
            )
        )
    lines = pl.concat(
        [
            lines.select(
                "month", "vm_name", "meter", "product", "unit", "unit_price", "quantity", "cost"
            ),
            *(
                r.select(
                    "month", "vm_name", "meter", "product", "unit", "unit_price", "quantity", "cost"
                )
                for r in retired
            ),
        ]
    )
    names = lines["vm_name"].unique(maintain_order=True).to_list()
    compression = dict(zip(names, rng.uniform(0.98, 1.02, len(names)), strict=True))
    stored = pl.col("meter").str.ends_with("Data Stored")
    lines = lines.with_columns(
        quantity=pl.when(stored)
        .then(pl.col("quantity") * pl.col("vm_name").replace_strict(compression))
        .otherwise(pl.col("quantity"))
    ).with_columns(cost=pl.col("quantity") * pl.col("unit_price"))
    if not snapshots:
        lines = lines.filter(~pl.col("meter").str.ends_with("Snapshots"))
    days = (WINDOW[1] - WINDOW[0]).days + 1
    vault = (
        lines.filter(stored)
        .group_by("vm_name")
        .agg(
            gb=pl.col("quantity").sum() / days * 31  # the window's mean (both months have 31 days)
        )
    )
    return lines, dict(zip(vault["vm_name"], vault["gb"], strict=True))


def cost_export(lines: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The invoice lines as a Cost Management export: one line per day, resource and meter."""
    dates = pl.date_range(WINDOW[0], WINDOW[1], "1d", eager=True)
    days = pl.DataFrame({"date": dates}).with_columns(
        month=pl.col("date").dt.truncate("1mo"),
        share=1.0 / pl.len().over(pl.col("date").dt.truncate("1mo")),
    )
    daily = lines.join(days, on="month").with_columns(quantity=pl.col("quantity") * pl.col("share"))
    meter_ids = {m: _uuid(rng) for m in sorted(lines["meter"].unique().to_list())}
    rows = []
    for row in daily.sort("date", "vm_name", "meter").iter_rows(named=True):
        snapshot = row["meter"].endswith("Snapshots")
        vm = row["vm_name"]
        if snapshot:
            group = "AzureBackupRG_westeurope_1"
            number = zlib.crc32(vm.encode()) % 10**11
            resource = (
                f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/"
                f"Microsoft.Compute/restorePointCollections/AzureBackup_{vm}_{number}"
            )
        else:
            group, resource = VAULT_RG, _protected_item(vm)
        quantity = round(row["quantity"], 8)
        rows.append(
            _blank(COST_TABLE)
            | {
                "InvoiceSectionName": "Infrastructure",
                "AccountName": "Platform team",
                "AccountOwnerId": "platform@contoso.example",
                "SubscriptionId": SUBSCRIPTION,
                "SubscriptionName": "contoso-production",
                "ResourceGroup": group,
                "ResourceLocation": "westeurope",
                "Date": row["date"].strftime("%m/%d/%Y"),
                "ProductName": row["product"],
                "MeterCategory": "Storage" if snapshot else "Backup",
                "MeterId": meter_ids[row["meter"]],
                "MeterName": row["meter"],
                "MeterRegion": "EU West",
                "UnitOfMeasure": row["unit"],
                "Quantity": f"{quantity:.8f}",
                "EffectivePrice": f"{row['unit_price']:g}",
                "CostInBillingCurrency": f"{quantity * row['unit_price']:.8f}",
                "ConsumedService": "Microsoft.Compute"
                if snapshot
                else "Microsoft.RecoveryServices",
                "ResourceId": resource,
                "OfferId": "MS-AZR-0017P",
                "ResourceName": resource.rsplit("/", 1)[-1],
                "UnitPrice": f"{row['unit_price']:g}",
                "PublisherType": "Azure",
                "PublisherName": "Microsoft",
                "ChargeType": "Usage",
                "Frequency": "UsageBased",
                "PricingModel": "OnDemand",
                "BillingAccountId": "12345678",
                "BillingAccountName": "Contoso",
                "BillingCurrencyCode": "USD",
                "BillingPeriodStartDate": row["month"].strftime("%m/%d/%Y"),
                "BillingPeriodEndDate": (
                    pl.Series([row["month"]]).dt.month_end()[0].strftime("%m/%d/%Y")
                ),
                "BillingProfileId": "12345678",
                "BillingProfileName": "Contoso",
                "InvoiceSectionId": "1234",
                "IsAzureCreditEligible": "True",
                "PayGPrice": f"{row['unit_price']:g}",
                "ServiceFamily": "Storage",
                "AccountId": "987654",
                "ResourceLocationNormalized": "westeurope",
            }
        )
    return pl.DataFrame(rows).select(COST_TABLE)


#: FOCUS 1.0 cost and usage details, the 96 columns in their order (MicrosoftDocs/azure-docs,
#: cost-management-billing/dataset-schema/cost-usage-details-focus.md, "Version 1.0", ms.date
#: 2025-01-24).
FOCUS_TABLE = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
    "x_AccountId",
    "x_AccountName",
    "x_AccountOwnerId",
    "x_BilledCostInUsd",
    "x_BilledUnitPrice",
    "x_BillingAccountId",
    "x_BillingAccountName",
    "x_BillingExchangeRate",
    "x_BillingExchangeRateDate",
    "x_BillingProfileId",
    "x_BillingProfileName",
    "x_ContractedCostInUsd",
    "x_CostAllocationRuleName",
    "x_CostCenter",
    "x_CustomerId",
    "x_CustomerName",
    "x_EffectiveCostInUsd",
    "x_EffectiveUnitPrice",
    "x_InvoiceId",
    "x_InvoiceIssuerId",
    "x_InvoiceSectionId",
    "x_InvoiceSectionName",
    "x_ListCostInUsd",
    "x_PartnerCreditApplied",
    "x_PartnerCreditRate",
    "x_PricingBlockSize",
    "x_PricingCurrency",
    "x_PricingSubcategory",
    "x_PricingUnitDescription",
    "x_PublisherCategory",
    "x_PublisherId",
    "x_ResellerId",
    "x_ResellerName",
    "x_ResourceGroupName",
    "x_ResourceType",
    "x_ServicePeriodEnd",
    "x_ServicePeriodStart",
    "x_SkuDescription",
    "x_SkuDetails",
    "x_SkuIsCreditEligible",
    "x_SkuMeterCategory",
    "x_SkuMeterId",
    "x_SkuMeterName",
    "x_SkuMeterSubcategory",
    "x_SkuOfferId",
    "x_SkuOrderId",
    "x_SkuOrderName",
    "x_SkuPartNumber",
    "x_SkuRegion",
    "x_SkuServiceFamily",
    "x_SkuTerm",
    "x_SkuTier",
]


def _focus_time(text: str) -> str:
    """MM/DD/YYYY as FOCUS 1.0r2 writes a date-time (UTC, with seconds)."""
    return dt.datetime.strptime(text, "%m/%d/%Y").strftime("%Y-%m-%dT00:00:00Z")


def focus_export(costs: pl.DataFrame) -> pl.DataFrame:
    """The same bill as :func:`cost_export` rendered as a FOCUS 1.0 export: one row per row of
    the actual-cost export, each field carried to its FOCUS column (Date -> ChargePeriodStart,
    MeterName -> x_SkuMeterName, Quantity -> ConsumedQuantity and PricingQuantity,
    CostInBillingCurrency -> BilledCost and EffectiveCost, ...). Pay-as-you-go list prices, no
    commitment discounts: billed, effective, contracted and list cost are equal."""
    rows = []
    for row in costs.iter_rows(named=True):
        day = dt.datetime.strptime(row["Date"], "%m/%d/%Y").date()
        period_end = (pl.Series([day]).dt.month_end()[0] + dt.timedelta(days=1)).strftime(
            "%Y-%m-%dT00:00:00Z"
        )
        unit = row["UnitOfMeasure"].removeprefix("1 ").removeprefix("1")
        snapshot = row["MeterCategory"] == "Storage"
        rows.append(
            _blank(FOCUS_TABLE)
            | {
                "BilledCost": row["CostInBillingCurrency"],
                "BillingAccountId": row["BillingAccountId"],
                "BillingAccountName": row["BillingAccountName"],
                "BillingAccountType": "Billing Account",
                "BillingCurrency": row["BillingCurrencyCode"],
                "BillingPeriodEnd": period_end,
                "BillingPeriodStart": _focus_time(row["BillingPeriodStartDate"]),
                "ChargeCategory": row["ChargeType"],
                "ChargeDescription": row["ProductName"],
                "ChargeFrequency": "Usage-Based",
                "ChargePeriodEnd": (day + dt.timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z"),
                "ChargePeriodStart": _focus_time(row["Date"]),
                "ConsumedQuantity": row["Quantity"],
                "ConsumedUnit": unit,
                "ContractedCost": row["CostInBillingCurrency"],
                "ContractedUnitPrice": row["UnitPrice"],
                "EffectiveCost": row["CostInBillingCurrency"],
                "InvoiceIssuerName": "Microsoft",
                "ListCost": row["CostInBillingCurrency"],
                "ListUnitPrice": row["PayGPrice"],
                "PricingCategory": "Standard",
                "PricingQuantity": row["Quantity"],
                "PricingUnit": unit,
                "ProviderName": "Microsoft",
                "PublisherName": row["PublisherName"],
                "RegionId": row["ResourceLocation"],
                "RegionName": "West Europe",
                "ResourceId": row["ResourceId"],
                "ResourceName": row["ResourceName"],
                "ResourceType": "Restore Point Collections" if snapshot else "Protected items",
                "ServiceCategory": "Storage",
                "ServiceName": "Storage Accounts" if snapshot else "Backup",
                "SkuId": row["MeterId"],
                "SkuPriceId": row["MeterId"],
                "SubAccountId": f"/subscriptions/{row['SubscriptionId']}",
                "SubAccountName": row["SubscriptionName"],
                "SubAccountType": "Subscription",
                "x_AccountId": row["AccountId"],
                "x_AccountName": row["AccountName"],
                "x_AccountOwnerId": row["AccountOwnerId"],
                "x_BilledCostInUsd": row["CostInBillingCurrency"],
                "x_BilledUnitPrice": row["UnitPrice"],
                "x_BillingAccountId": row["BillingAccountId"],
                "x_BillingAccountName": row["BillingAccountName"],
                "x_BillingExchangeRate": "1",
                "x_BillingProfileId": row["BillingProfileId"],
                "x_BillingProfileName": row["BillingProfileName"],
                "x_EffectiveCostInUsd": row["CostInBillingCurrency"],
                "x_EffectiveUnitPrice": row["EffectivePrice"],
                "x_InvoiceSectionId": row["InvoiceSectionId"],
                "x_InvoiceSectionName": row["InvoiceSectionName"],
                "x_ListCostInUsd": row["CostInBillingCurrency"],
                "x_PricingBlockSize": "1",
                "x_PricingCurrency": row["BillingCurrencyCode"],
                "x_PricingUnitDescription": row["UnitOfMeasure"],
                "x_PublisherCategory": "Cloud Provider",
                "x_ResourceGroupName": row["ResourceGroup"],
                "x_ResourceType": row["ConsumedService"],
                "x_ServicePeriodEnd": (day + dt.timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z"),
                "x_ServicePeriodStart": _focus_time(row["Date"]),
                "x_SkuDescription": row["ProductName"],
                "x_SkuIsCreditEligible": row["IsAzureCreditEligible"],
                "x_SkuMeterCategory": row["MeterCategory"],
                "x_SkuMeterId": row["MeterId"],
                "x_SkuMeterName": row["MeterName"],
                "x_SkuOfferId": row["OfferId"],
                "x_SkuRegion": row["MeterRegion"],
                "x_SkuServiceFamily": row["ServiceFamily"],
            }
        )
    return pl.DataFrame(rows).select(FOCUS_TABLE)


def generate(
    seed: int = SEED,
    *,
    fleet: pl.DataFrame | None = None,
    soft_deleted: bool = False,
    snapshots: bool = True,
    **job_options: Any,
) -> dict[str, Any]:
    """Everything the history folder holds, in memory: ``estate``, ``jobs`` (the ``az backup
    job list`` document), ``report_jobs``, ``items``, ``storage``, ``costs``, ``focus`` (the same
    bill as a FOCUS 1.0 export; frames as written) and ``truth`` (the generating parameters).
    ``job_options`` go to :func:`simulate_jobs`;
    ``fleet`` replaces the estate (it must hold the planted VMs)."""
    rng = np.random.default_rng(seed)
    fleet = estate() if fleet is None else fleet
    params = truth(fleet, rng)
    jobs = simulate_jobs(fleet, params, rng, **job_options)
    documents = job_documents(jobs, rng)
    lines, vault_gb = invoice(fleet, params, rng, soft_deleted=soft_deleted, snapshots=snapshots)
    report = report_jobs(documents, rng)
    costs = cost_export(lines, rng)
    return {
        "estate": fleet,
        "jobs": documents,
        "report_jobs": report,
        "items": report_items(params, vault_gb, soft_deleted),
        "storage": report_storage(vault_gb),
        "costs": costs,
        "focus": focus_export(costs),
        "truth": params,
    }


def write(folder: Path, made: dict[str, Any]) -> None:
    """Write the generated files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    made["estate"].write_csv(folder / "estate.csv")
    (folder / "jobs.json").write_text(json.dumps(made["jobs"], indent=2) + "\n")
    made["report_jobs"].write_csv(folder / "AddonAzureBackupJobs.csv")
    made["items"].write_csv(folder / "CoreAzureBackup.csv")
    made["storage"].write_csv(folder / "AddonAzureBackupStorage.csv")
    made["costs"].write_csv(folder / "cost_export.csv")
    made["focus"].write_csv(folder / "cost_export_focus.csv")
    (folder / "generating_parameters.json").write_text(json.dumps(made["truth"], indent=2) + "\n")


if __name__ == "__main__":
    made = generate()
    write(OUT, made)
    print(
        f"wrote {OUT}: {len(made['jobs'])} jobs of {made['estate']['vm_name'].n_unique()} VMs, "
        f"{made['costs'].height} cost lines"
    )
