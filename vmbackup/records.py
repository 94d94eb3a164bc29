"""Readers for what an estate already records: its backup jobs, its Backup reports and its bill
(items H1-H3).

Like :mod:`vmbackup.data` (whose file helpers it uses), this module reads files and checks them
at the boundary; every message names the file, the line or JSON path, the value and what is
allowed. The models (:mod:`vmbackup.calibrate`, :mod:`vmbackup.reconcile`) take the tables it
returns and never read a file.

Shapes, as documented by Microsoft (read 2026-11):

- **Jobs** (H1): what ``az backup job list`` (and ``az backup job show``) prints, or the REST
  ``backupJobs`` list (``{"value": [...], "nextLink": ...}``) or one job: resources whose
  ``properties`` are an ``AzureIaaSVMJob`` (``entityFriendlyName``, ``operation``, ``status``,
  ``startTime``, ``endTime``, ``duration``, ``extendedInfo.tasksList`` with ``taskId``,
  ``startTime``, ``endTime``, ``duration``, ``status``, and ``extendedInfo.propertyBag`` with
  ``"Backup Size": "2332 MB"``). A duration of zero (``00:00:00``, ``PT0S``) on a task, or on a
  job without ``endTime``, is Azure's placeholder for "not timed yet": it is read as unknown
  (null), never as zero, and the job's ``where`` says so. Sources: Azure/azure-rest-api-specs,
  ``specification/recoveryservicesbackup/.../examples/2025-02-01/Common/ListJobsWithAllSupportedFilters.json``
  and ``GetJobDetails.json`` (durations as ISO 8601, ``PT12.42S``); MicrosoftDocs/azure-docs
  ``articles/backup/backup-azure-arm-userestapi-managejobs.md`` (ms.date 2018-08-03: a completed
  VM backup job with its property bag, durations as .NET time spans, ``00:20:23.0896697``). Both
  duration spellings are read. *Assumption*: the ``Transfer data to vault`` task starts when the
  transfer starts, after the wait for the vault (S11); its ``startTime`` is not in every example.
- **Backup reports** (H2): the resource-specific tables that vault diagnostics send to Log
  Analytics, exported as CSV (one column per field, the field names as headers):
  ``AddonAzureBackupJobs`` (``JobUniqueId``, ``JobOperation``, ``JobStatus``,
  ``JobStartDateTime``, ``JobDurationInSecs``, ``DataTransferredInMB``, ``BackupItemUniqueId``),
  ``CoreAzureBackup`` (``BackupItemUniqueId``, ``BackupItemFriendlyName``,
  ``BackupItemProtectionState``, ``BackupItemFrontEndSize``, ``State``) and
  ``AddonAzureBackupStorage`` (``BackupItemUniqueId``, ``StorageConsumedInMBs``). Sources:
  MicrosoftDocs/azure-docs ``articles/backup/backup-azure-reports-data-model.md`` ("Data model
  for Azure Backup diagnostics events", ms.date 2019-10-30), and the Azure Monitor table
  reference, MicrosoftDocs/azure-reference-other ``azure-monitor-ref/tables/includes/``
  ``addonazurebackupjobs-include.md`` and ``coreazurebackup-include.md`` (ms.date 2024-07-30),
  ``addonazurebackupstorage-include.md`` (ms.date 2024-02-18). A table holds several records per
  job or item (one per state change); as Microsoft's sample queries do
  (``summarize arg_max(TimeGenerated, *) by ...``), the newest record of each wins. Header
  suffixes such as ``TimeGenerated [UTC]`` (the portal's CSV export) are read as the field.
  The legacy **AzureDiagnostics** mode (one table for every event, ``Category``
  ``AzureBackupReport``, each field suffixed by its type: ``JobStatus_s``, ``JobUniqueId_g``,
  ``JobDurationInSecs_s``; backup-azure-reports-data-model.md) is read alike: the suffixes are
  dropped and each reader keeps its events by ``OperationName`` (Job, BackupItem,
  StorageAssociation), so one export gives jobs, items and storage.
  *Assumptions*: MB means 10^6 bytes; ``BackupItemFrontEndSize`` is in MB; a soft-deleted item
  shows ``State`` ``Deleted`` on its ``BackupItem`` record (the page's example values of State are
  Active and Deleted).
- **Cost** (H3): a Cost Management cost-and-usage export (CSV). Columns as in MicrosoftDocs/
  azure-docs ``articles/cost-management-billing/dataset-schema/cost-usage-details-ea.md``
  (Enterprise Agreement, version 2024-08-01, ms.date 2025-01-24; MCA files name the same fields
  in camelCase, read alike): ``Date`` (MM/DD/YYYY or ISO), ``MeterCategory``, ``MeterName``,
  ``ProductName``, ``UnitOfMeasure``, ``Quantity``, ``UnitPrice``, ``CostInBillingCurrency``,
  ``BillingCurrencyCode``, ``ResourceId``, ``ChargeType``. The VM a line concerns is read from
  its ``ResourceId``: a protected item (``.../protectedItems/VM;iaasvmcontainerv2;<rg>;<vm>``), an
  Instant Restore restore point collection (``.../restorePointCollections/AzureBackup_<vm>_<n>``,
  the naming Microsoft documents for moving backed-up VMs), or a VM. *Assumption*: Backup's
  meters are billed per protected item; a line that names only the vault has no VM and counts in
  the comparisons per meter and month, not per VM.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from vmbackup._checks import flag, instance
from vmbackup.billing import KNOWN_METERS, PI_METER
from vmbackup.calibrate import JOB_COLUMNS
from vmbackup.data import read_csv, read_json
from vmbackup.reconcile import COST_COLUMNS, ITEM_STATES, unplaced_backup_meters

__all__ = [
    "COST_COLUMNS",
    "ITEM_STATES",
    "JOB_COLUMNS",
    "History",
    "backup_meter",
    "read_backup_jobs",
    "read_cost_export",
    "read_history",
    "read_report_items",
    "read_report_jobs",
    "read_report_storage",
    "unplaced_backup_meters",
]

_TASK_SNAPSHOT = "take snapshot"
_TASK_TRANSFER = "transfer data to vault"
_SIZE_UNITS = {"b": 1e-9, "kb": 1e-6, "mb": 1e-3, "gb": 1.0, "tb": 1e3}
_JOB_SCHEMA: dict[str, pl.DataType] = {
    "job_id": pl.String(),
    "vm_name": pl.String(),
    "operation": pl.String(),
    "status": pl.String(),
    "start_time": pl.Datetime("us", "UTC"),
    "end_time": pl.Datetime("us", "UTC"),
    "duration_hours": pl.Float64(),
    "snapshot_hours": pl.Float64(),
    "transfer_start": pl.Datetime("us", "UTC"),
    "transfer_hours": pl.Float64(),
    "transferred_gb": pl.Float64(),
    "where": pl.String(),
}


# --- jobs as az / REST print them (H1) -----------------------------------------------------------


_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_TIMESPAN = re.compile(r"^(?:(?P<d>\d+)\.)?(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)$")


def _duration_hours(value: object, where: str) -> float:
    """A duration as ISO 8601 (``PT1H2M3.5S``) or a .NET time span (``1.02:03:04.5``) [h]."""
    if isinstance(value, str):
        text = value.strip()
        for pattern in (_ISO_DURATION, _TIMESPAN):
            found = pattern.match(text)
            if found and text not in ("P", "PT"):
                parts = {k: float(v) for k, v in found.groupdict(default="0").items()}
                return parts["d"] * 24 + parts["h"] + parts["m"] / 60 + parts["s"] / 3600
    raise ValueError(
        f"{where}={value!r} must be a duration: ISO 8601 ('PT1H2M3S') or 'hh:mm:ss[.fffffff]'"
    )


def _instant(value: object, where: str) -> dt.datetime:
    """An ISO 8601 date-time as a UTC datetime (naive times are taken as UTC)."""
    if isinstance(value, str):
        text = value.strip()
        fraction = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", text)
        if fraction:  # .NET writes 7 decimals; Python reads at most 6
            text = f"{fraction[1]}.{fraction[2][:6]}{fraction[3]}"
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            if (
                dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
                <= moment
                <= dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
            ):
                return moment.astimezone(dt.UTC)
    raise ValueError(f"{where}={value!r} must be an ISO 8601 date-time between 1990 and 2200")


def _size_gb(value: object, where: str) -> float:
    """A size as the property bag writes it (``"2332 MB"``) [GB, 10^9 bytes]."""
    if isinstance(value, str):
        found = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B)\s*$", value, re.IGNORECASE)
        if found:
            return float(found[1]) * _SIZE_UNITS[found[2].lower()]
    raise ValueError(f"{where}={value!r} must be a size such as '2332 MB' (B, KB, MB, GB or TB)")


def _text_field(node: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = node.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}.{key}={value!r} must be a non-empty text")
    return value.strip()


def _jobs_in(document: Any, label: str) -> list[tuple[str, Any]]:
    """The job resources of a document, each with its JSON path."""
    if isinstance(document, dict) and isinstance(document.get("responses"), dict):
        body = document["responses"].get("200", {})  # an API example file
        if isinstance(body, dict) and "body" in body:
            return _jobs_in(body["body"], label)
    if isinstance(document, dict) and "properties" in document:
        return [(label, document)]
    if isinstance(document, dict) and isinstance(document.get("value"), list):
        return [(f"{label}: value[{i}]", job) for i, job in enumerate(document["value"])]
    if isinstance(document, list):
        found: list[tuple[str, Any]] = []
        for i, entry in enumerate(document):
            if isinstance(entry, dict) and isinstance(entry.get("value"), list):  # pages
                found += [(f"{label}: [{i}].value[{j}]", j_) for j, j_ in enumerate(entry["value"])]
            else:
                found.append((f"{label}: [{i}]", entry))
        return found
    raise ValueError(
        f"{label}: expected 'az backup job list' output (a list of jobs), a REST backupJobs "
        f"list ({{'value': [...]}}) or one job; found {type(document).__name__}"
    )


def jobs_from_document(document: Any, label: str = "jobs.json") -> tuple[pl.DataFrame, int]:
    """The Azure VM backup jobs of a parsed ``az backup job list`` / REST document (H1).

    Returns the job table (:data:`JOB_COLUMNS`) and the number of other jobs skipped (other
    workloads, whose ``jobType`` is not ``AzureIaaSVMJob``).
    """
    rows: list[dict[str, Any]] = []
    skipped = 0
    for where, job in _jobs_in(document, label):
        if not isinstance(job, dict) or not isinstance(job.get("properties"), dict):
            raise ValueError(f"{where} must be a job resource with 'properties'; found {job!r:.60}")
        props = job["properties"]
        at = f"{where}.properties"
        kind = props.get("jobType")
        if kind is not None and kind != "AzureIaaSVMJob":
            skipped += 1
            continue
        start = _instant(props.get("startTime"), f"{at}.startTime")
        end_raw = props.get("endTime")
        end = _instant(end_raw, f"{at}.endTime") if end_raw is not None else None
        if end is not None and end < start:
            raise ValueError(f"{at}.endTime={end_raw!r} is before startTime; it must be after")
        duration = (
            _duration_hours(props["duration"], f"{at}.duration")
            if props.get("duration") is not None
            else None
        )
        if duration == 0 and end_raw is None:
            duration = None  # a placeholder duration of a job still running: unknown
        if end is not None:
            duration = (end - start).total_seconds() / 3600
        row: dict[str, Any] = {
            "job_id": str(job.get("name") or job.get("id") or where),
            "vm_name": _text_field(props, "entityFriendlyName", at),
            "operation": _text_field(props, "operation", at),
            "status": _text_field(props, "status", at),
            "start_time": start,
            "end_time": end,
            "duration_hours": duration,
            "snapshot_hours": None,
            "transfer_start": None,
            "transfer_hours": None,
            "transferred_gb": None,
            "where": where,
        }
        info = props.get("extendedInfo")
        if info is not None:
            if not isinstance(info, dict):
                raise ValueError(f"{at}.extendedInfo={info!r:.60} must be an object")
            _tasks(info.get("tasksList"), f"{at}.extendedInfo.tasksList", row)
            bag = info.get("propertyBag")
            if bag is not None and not isinstance(bag, dict):
                raise ValueError(f"{at}.extendedInfo.propertyBag={bag!r:.60} must be an object")
            if bag and bag.get("Backup Size") is not None:
                row["transferred_gb"] = _size_gb(
                    bag["Backup Size"], f"{at}.extendedInfo.propertyBag['Backup Size']"
                )
        rows.append(row)
    return pl.DataFrame(rows, schema=_JOB_SCHEMA), skipped


def _tasks(tasks: object, where: str, row: dict[str, Any]) -> None:
    """Fill a job row's snapshot and transfer times from its task list."""
    if tasks is None:
        return
    if not isinstance(tasks, list):
        raise ValueError(f"{where}={tasks!r:.60} must be a list of tasks")
    for i, task in enumerate(tasks):
        at = f"{where}[{i}]"
        if not isinstance(task, dict):
            raise ValueError(f"{at}={task!r:.60} must be a task object")
        name = str(task.get("taskId", "")).strip().lower()
        if name not in (_TASK_SNAPSHOT, _TASK_TRANSFER) or task.get("duration") is None:
            continue
        hours = _duration_hours(task["duration"], f"{at}.duration")
        if hours == 0:  # Azure's placeholder for a task not (yet) timed: unknown, not zero
            row["where"] += f" (placeholder {at.rsplit('.', 1)[-1]}.duration {task['duration']!r}"
            row["where"] += " read as unknown)"
            continue
        if name == _TASK_SNAPSHOT:
            row["snapshot_hours"] = hours
        else:
            row["transfer_hours"] = hours
            if task.get("startTime") is not None:
                begin = _instant(task["startTime"], f"{at}.startTime")
                if begin < row["start_time"]:
                    raise ValueError(
                        f"{at}.startTime={task['startTime']!r} is before the job's startTime"
                    )
                row["transfer_start"] = begin


def read_backup_jobs(path: str | Path) -> pl.DataFrame:
    """Read Azure VM backup jobs from ``az backup job list`` / REST JSON (H1).

    Parameters
    ----------
    path
        The JSON file.

    Returns
    -------
    polars.DataFrame
        One row per Azure VM backup job (:data:`JOB_COLUMNS`): ``job_id``, ``vm_name``,
        ``operation``, ``status``, ``start_time`` and ``end_time`` (UTC), ``duration_hours``
        [h], ``snapshot_hours`` and ``transfer_hours`` (the tasks' durations [h]),
        ``transfer_start`` (UTC), ``transferred_gb`` (the property bag's ``Backup Size`` [GB]),
        ``where`` (the job's JSON path). Jobs of other workloads are left out.

    Raises
    ------
    ValueError
        Naming the file, the JSON path, the value and what is allowed.

    Examples
    --------
    >>> from vmbackup.data import dataset_path
    >>> jobs = read_backup_jobs(dataset_path("history/jobs.json"))
    >>> jobs["vm_name"].n_unique(), jobs.height > 100
    (10, True)
    """
    file = Path(path)
    frame, _skipped = jobs_from_document(read_json(file), file.name)
    if frame.height == 0:
        raise ValueError(f"{file.name}: no Azure VM backup job (jobType 'AzureIaaSVMJob') found")
    return frame


# --- Backup reports exported from Log Analytics (H2) ---------------------------------------------


def _raw_csv(file: Path) -> pl.DataFrame:
    """A CSV file as text columns, its headers without suffixes such as `` [UTC]``."""
    frame = read_csv(file, {})
    names = [re.sub(r"\s*\[[^\]]*\]\s*$", "", c).strip() for c in frame.columns]
    if "Category" in names and any(re.search(r"_[sgdtb]$", n) for n in names):
        # Log Analytics' legacy AzureDiagnostics mode: one table for every event, each field
        # suffixed by its type (JobStatus_s, JobUniqueId_g, JobDurationInSecs_s, ...)
        plain = set(names)
        names = [n[:-2] if re.search(r"_[sgdtb]$", n) and n[:-2] not in plain else n for n in names]
    if len({n.lower() for n in names}) != len(names):
        raise ValueError(f"{file.name}: a column appears twice in the header {frame.columns}")
    return frame.rename(dict(zip(frame.columns, names, strict=True)))


def _columns(
    frame: pl.DataFrame, file: Path, required: Sequence[str], optional: Sequence[str]
) -> pl.DataFrame:
    """Select ``required`` (and present ``optional``) columns by name, any case."""
    lookup = {c.lower(): c for c in frame.columns}
    missing = [c for c in required if c.lower() not in lookup]
    if missing:
        raise ValueError(
            f"{file.name}: missing column(s) {missing}; required: {list(required)}, found "
            f"{frame.columns[:12]}{' ...' if frame.width > 12 else ''}"
        )
    wanted = [c for c in (*required, *optional) if c.lower() in lookup]
    return frame.select(pl.col(lookup[c.lower()]).alias(c) for c in wanted)


def _numbers(frame: pl.DataFrame, file: Path, column: str, *, low: float | None = 0.0) -> pl.Series:
    """A text column as finite numbers (blank: null); ValueError naming the line and value."""
    raw = frame[column]
    text = raw.str.strip_chars()
    values = text.cast(pl.Float64, strict=False)
    bad = (values.is_null() & text.is_not_null() & (text != "")) | ~values.is_finite().fill_null(
        True
    )
    if low is not None:
        bad = bad | (values < low).fill_null(False)
    if bad.any():
        row = int(bad.arg_true()[0])
        allowed = "a finite number" + (f" >= {low:g}" if low is not None else "")
        raise ValueError(
            f"{file.name}: line {_line(frame, row)}: {column}={raw[row]!r} must be {allowed}"
        )
    return values


def _line(frame: pl.DataFrame, row: int) -> int:
    """The file line of a row (the ``_line`` column where rows were filtered or reordered)."""
    return int(frame["_line"][row]) if "_line" in frame.columns else row + 2


_DATETIME_FORMATS = ("%m/%d/%Y, %I:%M:%S%.f %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S")


def _times(frame: pl.DataFrame, file: Path, column: str, *, required: bool = True) -> pl.Series:
    """A text column of date-times (ISO 8601 or the portal's ``M/D/YYYY, h:mm:ss AM``) in UTC."""
    raw = frame[column]
    text = raw.str.strip_chars()
    parsed = [text.str.to_datetime(strict=False, time_zone="UTC", time_unit="us")]
    parsed += [
        text.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC")
        for f in _DATETIME_FORMATS
    ]
    values = pl.select(pl.coalesce(parsed)).to_series()
    blank = text.is_null() | (text == "")
    bad = values.is_null() & ~blank
    if required:
        bad = bad | blank
    if bad.any():
        row = int(bad.arg_true()[0])
        raise ValueError(
            f"{file.name}: line {_line(frame, row)}: {column}={raw[row]!r} must be a date-time "
            "(ISO 8601, or M/D/YYYY, h:mm:ss AM as the portal exports it)"
        )
    return values.alias(column)


def _or_nulls(frame: pl.DataFrame, column: str, dtype: Any) -> pl.Series:
    """A column of the frame, or nulls of ``dtype`` when the export has no such column."""
    if column in frame.columns:
        return frame[column]
    return pl.Series(column, [None] * frame.height, dtype=dtype)


def _newest(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """The newest record of each ``key`` (by ``TimeGenerated`` when the table has it)."""
    if "TimeGenerated" in frame.columns:
        frame = frame.sort("TimeGenerated", maintain_order=True, nulls_last=False)
    return frame.unique(key, keep="last", maintain_order=True)


def _only(frame: pl.DataFrame, column: str, values: Sequence[str]) -> pl.DataFrame:
    """Rows whose ``column`` (if the table has it) is one of ``values`` (any case)."""
    if column not in frame.columns:
        return frame
    wanted = [v.lower() for v in values]
    return frame.filter(frame[column].str.strip_chars().str.to_lowercase().is_in(wanted))


def read_report_items(path: str | Path) -> pl.DataFrame:
    """Read the ``CoreAzureBackup`` table exported from Log Analytics (H2): backup items.

    Returns
    -------
    polars.DataFrame
        One row per backup item (its newest ``BackupItem`` record): ``item_id``, ``vm_name``
        (``BackupItemFriendlyName``), ``protection_state`` (one of :data:`ITEM_STATES`),
        ``state`` (``Active``, ``Deleted``), ``front_end_gb`` (``BackupItemFrontEndSize`` [GB],
        null when blank), ``policy_name`` (null when absent).

    Examples
    --------
    >>> from vmbackup.data import dataset_path
    >>> items = read_report_items(dataset_path("history/CoreAzureBackup.csv"))
    >>> items.filter(pl.col("protection_state") == "ProtectionStopped")["vm_name"].to_list()
    ['vm-win-000']
    """
    file = Path(path)
    frame = _columns(
        _raw_csv(file),
        file,
        ("BackupItemUniqueId", "BackupItemFriendlyName", "BackupItemProtectionState"),
        (
            "OperationName",
            "TimeGenerated",
            "State",
            "BackupItemFrontEndSize",
            "PolicyName",
            "BackupItemType",
        ),
    )
    frame = frame.with_row_index("_line", 2)
    if "TimeGenerated" in frame.columns:
        frame = frame.with_columns(_times(frame, file, "TimeGenerated", required=False))
    frame = _only(_only(frame, "OperationName", ["BackupItem"]), "BackupItemType", ["VM"])
    front = (
        _numbers(frame, file, "BackupItemFrontEndSize") / 1000
        if "BackupItemFrontEndSize" in frame.columns
        else pl.Series([None] * frame.height, dtype=pl.Float64)
    )
    table = pl.DataFrame(
        {
            "item_id": frame["BackupItemUniqueId"].str.strip_chars(),
            "vm_name": frame["BackupItemFriendlyName"].str.strip_chars(),
            "protection_state": frame["BackupItemProtectionState"].str.strip_chars(),
            "state": _or_nulls(frame, "State", pl.String).str.strip_chars(),
            "front_end_gb": front,
            "policy_name": _or_nulls(frame, "PolicyName", pl.String),
            "TimeGenerated": _or_nulls(frame, "TimeGenerated", pl.Datetime("us", "UTC")),
        }
    )
    lookup = {state.lower(): state for state in ITEM_STATES}
    states = table["protection_state"].str.to_lowercase().replace_strict(lookup, default=None)
    blank = table["item_id"].fill_null("").eq("") | table["vm_name"].fill_null("").eq("")
    bad = states.is_null() | blank
    if bad.any():
        row = int(bad.arg_true()[0])
        if blank[row]:
            raise ValueError(
                f"{file.name}: line {_line(frame, row)}: a BackupItem record needs its "
                "BackupItemUniqueId and BackupItemFriendlyName"
            )
        raise ValueError(
            f"{file.name}: line {_line(frame, row)}: BackupItemProtectionState="
            f"{table['protection_state'][row]!r} must be one of {list(ITEM_STATES)}"
        )
    table = table.with_columns(protection_state=states)
    return _newest(table, "item_id").drop("TimeGenerated")


def read_report_storage(path: str | Path, items: pl.DataFrame | None = None) -> pl.DataFrame:
    """Read the ``AddonAzureBackupStorage`` table exported from Log Analytics (H2).

    Returns
    -------
    polars.DataFrame
        One row per backup item (its newest ``StorageAssociation`` record): ``item_id``,
        ``vm_name`` (from ``items``, :func:`read_report_items`; null without), ``time`` (UTC;
        null when the export has no TimeGenerated) and ``storage_gb`` (``StorageConsumedInMBs``
        [GB]).
    """
    file = Path(path)
    frame = _columns(
        _raw_csv(file),
        file,
        ("BackupItemUniqueId", "StorageConsumedInMBs"),
        ("OperationName", "TimeGenerated"),
    )
    frame = _only(frame, "OperationName", ["StorageAssociation"])
    stored = _numbers(frame, file, "StorageConsumedInMBs") / 1000
    time = (
        _times(frame, file, "TimeGenerated", required=False)
        if "TimeGenerated" in frame.columns
        else pl.Series("TimeGenerated", [None] * frame.height, dtype=pl.Datetime("us", "UTC"))
    )
    table = pl.DataFrame(
        {
            "item_id": frame["BackupItemUniqueId"].str.strip_chars(),
            "TimeGenerated": time,
            "storage_gb": stored,
        }
    ).filter(pl.col("storage_gb").is_not_null())
    table = _newest(table, "item_id").rename({"TimeGenerated": "time"})
    names = (
        items.select("item_id", "vm_name")
        if items is not None
        else pl.DataFrame(schema={"item_id": pl.String, "vm_name": pl.String})
    )
    return table.join(names, on="item_id", how="left").select(
        "item_id", "vm_name", "time", "storage_gb"
    )


def read_report_jobs(path: str | Path, items: pl.DataFrame | None = None) -> pl.DataFrame:
    """Read the ``AddonAzureBackupJobs`` table exported from Log Analytics (H2) as a job table.

    The VM of a job is its ``BackupItemFriendlyName`` where the export has one (Backup vaults'
    flattened schema), else the friendly name of its ``BackupItemUniqueId`` in ``items``
    (:func:`read_report_items`, from ``CoreAzureBackup``). Reports carry no task times: the
    table's ``snapshot_hours``, ``transfer_start`` and ``transfer_hours`` are null, and
    :func:`vmbackup.calibrate.fit_history` fits the lag from durations.

    Returns
    -------
    polars.DataFrame
        As :func:`read_backup_jobs` (:data:`JOB_COLUMNS`); ``where`` names the CSV line.
    """
    file = Path(path)
    frame = _columns(
        _raw_csv(file),
        file,
        (
            "JobUniqueId",
            "JobOperation",
            "JobStatus",
            "JobStartDateTime",
            "JobDurationInSecs",
            "DataTransferredInMB",
            "BackupItemUniqueId",
        ),
        ("OperationName", "TimeGenerated", "BackupItemFriendlyName", "BackupManagementType"),
    ).with_row_index("_line", 2)
    frame = _only(frame, "OperationName", ["Job"])
    if "BackupManagementType" in frame.columns:
        kind = frame["BackupManagementType"].str.to_lowercase().fill_null("")
        frame = frame.filter(kind.str.contains("iaasvm") | (kind == ""))
    if "TimeGenerated" in frame.columns:
        frame = frame.with_columns(_times(frame, file, "TimeGenerated", required=False))
    frame = _newest(frame, "JobUniqueId")
    start = _times(frame, file, "JobStartDateTime")
    seconds = _numbers(frame, file, "JobDurationInSecs")
    transferred = _numbers(frame, file, "DataTransferredInMB") / 1000
    name = (
        frame["BackupItemFriendlyName"].str.strip_chars()
        if "BackupItemFriendlyName" in frame.columns
        else pl.Series([None] * frame.height, dtype=pl.String)
    )
    name = name.replace("", None)
    table = pl.DataFrame(
        {
            "job_id": frame["JobUniqueId"].str.strip_chars(),
            "item_id": frame["BackupItemUniqueId"].str.strip_chars(),
            "vm_name": name,
            "operation": frame["JobOperation"].str.strip_chars(),
            "status": frame["JobStatus"].str.strip_chars(),
            "start_time": start,
            "duration_hours": seconds / 3600,
            "transferred_gb": transferred,
            "line": frame["_line"],
        }
    )
    if items is not None:
        table = table.join(
            items.select("item_id", pl.col("vm_name").alias("_item_vm")), on="item_id", how="left"
        ).with_columns(pl.coalesce("vm_name", "_item_vm").alias("vm_name"))
    unnamed = table.filter(pl.col("vm_name").is_null())
    if unnamed.height:
        row = unnamed.row(0, named=True)
        raise ValueError(
            f"{file.name}: line {row['line']}: BackupItemUniqueId={row['item_id']!r} names no VM: "
            "the export has no BackupItemFriendlyName; give the CoreAzureBackup export too"
        )
    return table.select(
        "job_id",
        "vm_name",
        "operation",
        "status",
        "start_time",
        end_time=pl.col("start_time")
        + pl.duration(microseconds=(pl.col("duration_hours") * 3.6e9).round().cast(pl.Int64)),
        duration_hours="duration_hours",
        snapshot_hours=pl.lit(None, pl.Float64),
        transfer_start=pl.lit(None, pl.Datetime("us", "UTC")),
        transfer_hours=pl.lit(None, pl.Float64),
        transferred_gb="transferred_gb",
        where=pl.lit(f"{file.name}: line ") + pl.col("line").cast(pl.String),
    )


# --- Cost Management exports (H3) ----------------------------------------------------------------

#: Each field of a cost line and the columns that hold it in the export shapes, first found
#: wins: EA (PascalCase; ``Cost`` and ``Product`` in older files), MCA (camelCase, read alike),
#: pay-as-you-go (``UsageDateTime``, ``PreTaxCost``, ``InstanceId``), and FOCUS 1.0 and
#: 1.0-preview (``ChargePeriodStart``, ``SkuMeter`` / ``x_SkuMeterName``, ``ConsumedQuantity``
#: / ``UsageQuantity``, ``BilledCost``, ``BillingCurrency``, ``ChargeCategory``;
#: cost-usage-details-focus.md, ms.date 2025-01-24).
_COST_FIELDS: dict[str, tuple[str, ...]] = {
    "Date": ("Date", "UsageDateTime", "ChargePeriodStart"),
    "MeterName": ("MeterName", "SkuMeter", "x_SkuMeterName"),
    "Quantity": ("Quantity", "UsageQuantity", "ConsumedQuantity", "PricingQuantity"),
    "Cost": ("CostInBillingCurrency", "Cost", "PreTaxCost", "BilledCost", "EffectiveCost"),
    "ResourceId": ("ResourceId", "InstanceId"),
    "MeterCategory": ("MeterCategory", "x_SkuMeterCategory", "ServiceName"),
    "ProductName": ("ProductName", "Product", "x_SkuDescription", "ChargeDescription"),
    "UnitOfMeasure": ("UnitOfMeasure", "ConsumedUnit", "UsageUnit", "PricingUnit"),
    "ChargeType": ("ChargeType", "ChargeCategory"),
    "Currency": ("BillingCurrencyCode", "BillingCurrency", "Currency"),
    "UnitPrice": ("UnitPrice", "EffectivePrice", "x_EffectiveUnitPrice", "x_BilledUnitPrice"),
}
_COST_REQUIRED = ("Date", "MeterName", "Quantity", "Cost", "ResourceId")


def _cost_shape(columns: Sequence[str]) -> str:
    """The export shape a header looks like, for messages."""
    names = {c.lower() for c in columns}
    if "chargeperiodstart" in names or "billedcost" in names:
        return "a FOCUS cost export"
    if "costinbillingcurrency" in names and "CostInBillingCurrency" not in columns:
        return "an MCA cost export (camelCase)"
    if "costinbillingcurrency" in names or "cost" in names:
        return "an EA cost export (actual or amortized)"
    if "pretaxcost" in names or "usagedatetime" in names:
        return "a pay-as-you-go usage export"
    if "metername" in names:
        return "an EA, MCA or pay-as-you-go cost export"
    return "a table of no known cost export shape (EA, MCA, pay-as-you-go or FOCUS)"


_SNAPSHOT_METERS = tuple(m for m in KNOWN_METERS if m.endswith("Snapshots"))
_PI_SPELLING = re.compile(r"(?i)^azure\s+vm\s+protected\s+instances?$")
_STORED_SPELLING = re.compile(
    r"(?i)^(?:(?P<tier>standard|archive)\s+)?(?P<red>lrs|zrs|grs|ra-grs)\s+data\s+stored$"
)
_SNAPSHOT_SPELLING = re.compile(r"(?i)^(?P<red>lrs|zrs)\s+snapshots?$")


def backup_meter(name: str, *, backup_line: bool = True) -> str | None:
    """The project's meter (:data:`vmbackup.billing.KNOWN_METERS`) a billed meter name stands
    for, or None (H3, P7).

    Cost exports, Cost analysis and the Retail Prices API spell Backup's meters several ways:
    ``Azure VM Protected Instance`` or ``... Instances``; ``Standard LRS Data Stored`` or
    ``LRS Data Stored`` (likewise ZRS, GRS, RA-GRS; ``Archive LRS/GRS Data Stored``);
    ``LRS Snapshots`` / ``ZRS Snapshot``. Case and spacing do not matter. ``... Data Stored``
    names are also meters of Azure Storage (``Archive LRS Data Stored`` of blob storage, ``LRS
    Data Stored`` of files and tables), so they are placed only on a line that is not another
    service's (``backup_line`` False: its MeterCategory or ServiceName names another service
    and its resource is not a Recovery Services vault).

    >>> backup_meter("Azure VM Protected Instances")
    'Azure VM Protected Instance'
    >>> backup_meter("RA-GRS Data Stored"), backup_meter("LRS Data Stored", backup_line=False)
    ('Standard RA-GRS Data Stored', None)
    >>> backup_meter("Hot LRS Data Stored") is None
    True
    """
    instance("name", name, str, "a meter name (text)")
    backup_line = flag("backup_line", backup_line)
    text = " ".join(name.split())
    if _PI_SPELLING.match(text):
        return PI_METER
    snapshot = _SNAPSHOT_SPELLING.match(text)
    if snapshot:
        return f"{snapshot['red'].upper()} Snapshots"
    stored = _STORED_SPELLING.match(text)
    if stored and backup_line:
        tier = (stored["tier"] or "standard").capitalize()
        meter = f"{tier} {stored['red'].upper()} Data Stored"
        return meter if meter in KNOWN_METERS else None
    if text in KNOWN_METERS and not stored:
        return text
    return None


_VM_IN_ID = (
    re.compile(r"(?i)/protecteditems/vm;[^;/]*;[^;/]*;(?P<vm>[^;/]+)$"),
    re.compile(r"(?i)/restorepointcollections/azurebackup_(?P<vm>.+)_\d+$"),
    re.compile(r"(?i)/virtualmachines/(?P<vm>[^/]+)$"),
)


def vm_of_resource(resource_id: str) -> str | None:
    """The VM a cost line concerns, from its ARM resource ID (None for a vault).

    >>> vm_of_resource("/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices"
    ...     "/vaults/v/backupFabrics/Azure/protectionContainers/IaasVMContainerV2;rg;vm-a"
    ...     "/protectedItems/VM;iaasvmcontainerv2;rg;vm-a")
    'vm-a'
    >>> vm_of_resource("/subscriptions/s/resourceGroups/AzureBackupRG_westeurope_1/providers"
    ...     "/Microsoft.Compute/restorePointCollections/AzureBackup_vm-b_123456789")
    'vm-b'
    """
    text = resource_id.strip().rstrip("/")
    for pattern in _VM_IN_ID:
        found = pattern.search(text)
        if found:
            return found["vm"]
    return None


def read_cost_export(path: str | Path) -> pl.DataFrame:
    """Read a Cost Management cost-and-usage export (CSV) and mark the backup lines (H3).

    Only usage lines (``ChargeType`` Usage, when the export has the column) are kept. Each line
    is of kind ``backup`` (a vault meter of P7: protected instances, stored data), ``snapshot``
    (Instant Restore snapshot meters, billed by the managed-disk service) or ``other``.

    Returns
    -------
    polars.DataFrame
        :data:`COST_COLUMNS`: ``date``, ``month``, ``meter``, ``meter_category``, ``product``,
        ``unit``, ``quantity``, ``unit_price`` (null if absent), ``cost``, ``currency``,
        ``resource_id``, ``vm_name`` (from the resource ID; null for a vault-level line),
        ``kind``, ``line`` (the CSV line).

    Raises
    ------
    ValueError
        A missing column, a value that is not a number or a date (naming the line), or lines in
        more than one currency.

    Examples
    --------
    >>> from vmbackup.data import dataset_path
    >>> costs = read_cost_export(dataset_path("history/cost_export.csv"))
    >>> sorted(costs["kind"].unique().to_list()), costs["currency"][0]
    (['backup', 'snapshot'], 'USD')
    """
    file = Path(path)
    raw = _raw_csv(file)
    shape = _cost_shape(raw.columns)
    lookup = {c.lower(): c for c in raw.columns}
    chosen = {
        field: next((lookup[n.lower()] for n in names if n.lower() in lookup), None)
        for field, names in _COST_FIELDS.items()
    }
    missing = ["/".join(_COST_FIELDS[field]) for field in _COST_REQUIRED if chosen[field] is None]
    if missing:
        raise ValueError(
            f"{file.name}: missing column(s) {missing} (the header looks like {shape}); found "
            f"{raw.columns[:12]}{' ...' if raw.width > 12 else ''}"
        )
    frame = raw.select(
        pl.col(column).alias(field) for field, column in chosen.items() if column is not None
    ).with_row_index("_line", 2)
    if "ChargeType" in frame.columns:
        frame = frame.filter(
            frame["ChargeType"].str.strip_chars().str.to_lowercase().fill_null("usage") == "usage"
        )
    # messages name the file's own columns (ChargePeriodStart, BilledCost, ...)
    date_column, cost_column = str(chosen["Date"]), str(chosen["Cost"])
    quantity_column = str(chosen["Quantity"])
    frame = frame.rename({"Date": date_column, "Cost": cost_column, "Quantity": quantity_column})
    price_column = "UnitPrice" if "UnitPrice" in frame.columns else None
    currency_column = "Currency" if "Currency" in frame.columns else None
    dates = _dates(frame, file, date_column)
    quantity = _numbers(frame, file, quantity_column)
    cost = _numbers(frame, file, cost_column, low=None)
    price = _numbers(frame, file, price_column) if price_column else None
    billed_meter = frame["MeterName"].str.strip_chars().fill_null("")
    resource = frame["ResourceId"].str.strip_chars().fill_null("")

    def text(column: str) -> pl.Series:
        if column in frame.columns:
            return frame[column].str.strip_chars().fill_null("")
        return pl.Series([""] * frame.height, dtype=pl.String)

    meter, kind = _place_meters(billed_meter, text("MeterCategory"), resource)

    currency = text(currency_column) if currency_column else text("_none_")
    table = pl.DataFrame(
        {
            "date": dates,
            "meter": meter,
            "kind": kind,
            "meter_category": text("MeterCategory"),
            "product": text("ProductName"),
            "unit": text("UnitOfMeasure"),
            "quantity": quantity,
            "unit_price": price if price is not None else [None] * frame.height,
            "cost": cost,
            "currency": pl.select(
                pl.when(currency == "").then(pl.lit("USD")).otherwise(currency)
            ).to_series(),
            "resource_id": resource,
            "line": frame["_line"].cast(pl.Int64),
        },
        schema_overrides={"unit_price": pl.Float64},
    ).with_columns(
        month=pl.col("date").dt.truncate("1mo"),
        vm_name=pl.coalesce(
            pl.col("resource_id").str.strip_chars_end("/").str.extract(pattern.pattern, 1)
            for pattern in _VM_IN_ID
        ),
    )
    blank = table.filter(pl.col("quantity").is_null() | pl.col("cost").is_null())
    if blank.height:
        line = blank["line"][0]
        raise ValueError(f"{file.name}: line {line}: Quantity and the cost must not be blank")
    currencies = table["currency"].unique().to_list()
    if len(currencies) > 1:
        raise ValueError(
            f"{file.name}: lines in several currencies {sorted(currencies)}; export one "
            "billing currency at a time"
        )
    if table.filter(pl.col("kind") != "other").height == 0:
        looking = unplaced_backup_meters(table)
        seen = f"; Backup lines with meters it could not place: {looking}" if looking else ""
        raise ValueError(
            f"{file.name}: no Azure VM backup meter found (MeterName one of {list(KNOWN_METERS)}, "
            f"or a spelling of one){seen}"
        )
    return table.select(list(COST_COLUMNS))


def _place_meters(
    billed: pl.Series, category: pl.Series, resource: pl.Series
) -> tuple[pl.Series, pl.Series]:
    """Each line's meter (the project's name where :func:`backup_meter` places it, else as
    billed) and its kind: ``snapshot``, ``backup`` or ``other``."""
    other_service = (category != "") & (category.str.to_lowercase() != "backup")
    vault = resource.str.to_lowercase().str.contains("/microsoft.recoveryservices/", literal=True)
    backup_line = ~other_service | vault
    pairs = pl.DataFrame({"billed": billed, "backup_line": backup_line})
    placed: dict[tuple[str, bool], str | None] = {
        (name, flag): backup_meter(name, backup_line=flag)
        for name, flag in pairs.unique().iter_rows()
    }
    meters = [placed[(name, flag)] for name, flag in pairs.iter_rows()]
    kinds = [
        "other" if m is None else "snapshot" if m in _SNAPSHOT_METERS else "backup" for m in meters
    ]
    names = [m if m is not None else name for m, name in zip(meters, billed, strict=True)]
    return pl.Series("meter", names, dtype=pl.String), pl.Series("kind", kinds, dtype=pl.String)


def _dates(frame: pl.DataFrame, file: Path, column: str) -> pl.Series:
    """A text column of dates: MM/DD/YYYY (as Cost Management writes them) or ISO."""
    raw = frame[column]
    text = raw.str.strip_chars().str.replace(r"[T ].*$", "")
    values = pl.select(
        pl.coalesce(
            text.str.to_date("%m/%d/%Y", strict=False), text.str.to_date("%Y-%m-%d", strict=False)
        )
    ).to_series()
    bad = values.is_null() | (values < dt.date(1990, 1, 1)) | (values > dt.date(2200, 1, 1))
    if bad.any():
        row = int(bad.arg_true()[0])
        raise ValueError(
            f"{file.name}: line {_line(frame, row)}: {column}={raw[row]!r} must be a date "
            "(MM/DD/YYYY or "
            "YYYY-MM-DD) between 1990 and 2200"
        )
    return values.alias("date")


# --- several files at once -----------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """What an estate recorded, read from one or more files (:func:`read_history`).

    Attributes
    ----------
    jobs
        The job table (:data:`JOB_COLUMNS`), from job JSON and/or ``AddonAzureBackupJobs``.
    items
        ``CoreAzureBackup`` backup items (:func:`read_report_items`), or None.
    storage
        ``AddonAzureBackupStorage`` per item (:func:`read_report_storage`), or None.
    sources
        One line per file read: its name, what it held and how many rows.
    """

    jobs: pl.DataFrame
    items: pl.DataFrame | None
    storage: pl.DataFrame | None
    sources: tuple[str, ...]


def _kind_of(file: Path) -> str:
    if file.suffix.lower() == ".json":
        return "jobs"
    header = _raw_csv(file).columns
    names = {c.lower() for c in header}
    if "jobuniqueid" in names and "backupitemprotectionstate" in names:
        return "diagnostics"
    if "jobuniqueid" in names:
        return "report-jobs"
    if "backupitemprotectionstate" in names:
        return "items"
    if "storageconsumedinmbs" in names:
        return "storage"
    raise ValueError(
        f"{file.name}: not a backup history file: expected job JSON ('az backup job list') or a "
        "CSV export of AddonAzureBackupJobs, CoreAzureBackup or AddonAzureBackupStorage"
    )


def read_history(paths: Sequence[str | Path]) -> History:
    """Read job history and Backup report tables, whatever mix of files is given (H1, H2).

    Each file is recognised by its shape: JSON is a job list (:func:`read_backup_jobs`); a CSV
    is ``AddonAzureBackupJobs`` (it has ``JobUniqueId``), ``CoreAzureBackup``
    (``BackupItemProtectionState``) or ``AddonAzureBackupStorage`` (``StorageConsumedInMBs``).
    Report jobs are named through ``CoreAzureBackup`` when the export does not name them. A job
    found in two files (same ``job_id``) counts once.

    Raises
    ------
    ValueError
        No file, a file of no known shape, or no job in any file.
    """
    files = [Path(p) for p in paths]
    if not files:
        raise ValueError("history: no file given; give job JSON or Backup report CSV files")
    kinds = [(file, _kind_of(file)) for file in files]
    items_files = [f for f, k in kinds if k in ("items", "diagnostics")]
    items = pl.concat([read_report_items(f) for f in items_files]) if items_files else None
    frames, sources = [], []
    storage_frames = []
    for file, kind in kinds:
        if kind == "jobs":
            table = read_backup_jobs(file)
            frames.append(table)
            sources.append(f"{file.name}: {table.height} jobs (az backup job list / REST)")
        elif kind == "report-jobs":
            table = read_report_jobs(file, items)
            frames.append(table)
            sources.append(f"{file.name}: {table.height} jobs (AddonAzureBackupJobs)")
        elif kind == "diagnostics":
            table = read_report_jobs(file, items)
            frames.append(table)
            store = read_report_storage(file, items)
            storage_frames.append(store)
            count = items.height if items is not None else 0
            sources.append(
                f"{file.name}: {table.height} jobs, {count} backup items, storage of "
                f"{store.height} items (AzureDiagnostics, the legacy mode of Backup reports)"
            )
        elif kind == "storage":
            table = read_report_storage(file, items)
            storage_frames.append(table)
            sources.append(
                f"{file.name}: storage of {table.height} items (AddonAzureBackupStorage)"
            )
        else:
            count = items.height if items is not None else 0
            sources.append(f"{file.name}: {count} backup items (CoreAzureBackup)")
    if not frames:
        raise ValueError(
            f"{', '.join(f.name for f in files)}: no job history; give 'az backup job list' "
            "JSON or an AddonAzureBackupJobs export"
        )
    jobs = pl.concat(frames).unique("job_id", keep="first", maintain_order=True)
    storage = pl.concat(storage_frames) if storage_frames else None
    return History(jobs=jobs, items=items, storage=storage, sources=tuple(sources))
