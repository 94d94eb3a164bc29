"""Every public entry point keeps the input contract under generated bad input.

Each test takes a valid call, replaces one argument (or one cell, column or JSON field) with a
generated bad value, and checks the contract of ``tests/contract.py``: a ValueError naming the
field, or a finite and sensible result; never another exception, a hang, or a modified input.
The suite runs a modest number of cases in ``make test``; ``make fuzz`` runs 1,000 per entry
point (``HYPOTHESIS_PROFILE=fuzz``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from contract import bad_values, call_by_contract
from hypothesis import given
from hypothesis import strategies as st
from report_inputs import sample_inputs

from vmbackup import (
    billing,
    blocks,
    capacity,
    consistency,
    encryption,
    restore,
    restore_options,
    retention,
    transfer,
)
from vmbackup.calibrate import fit_history
from vmbackup.churn import trace_churn
from vmbackup.data import (
    dataset_path,
    read_fleet,
    read_msr_trace,
    read_policies,
    read_policy,
    read_prices,
)
from vmbackup.eligibility import scan_estate
from vmbackup.fleet import fleet_plan
from vmbackup.inventory import (
    apply_used_sizes,
    apply_vm_settings,
    estate_disks,
    estate_to_fleet,
    protected_items,
)
from vmbackup.lint import lint_policy
from vmbackup.onboarding import plan_onboarding
from vmbackup.policy import MonthlyDay, Policy
from vmbackup.policy_json import policies_from_document
from vmbackup.reconcile import reconcile, unplaced_backup_meters
from vmbackup.records import backup_meter, read_backup_jobs, read_cost_export
from vmbackup.report import plan_report
from vmbackup.timezones import describe_run_time, run_times

IMAGE = np.arange(5000, dtype=np.uint8)
FLEET = read_fleet().filter(
    pl.col("vm_name").is_in(read_fleet()["vm_name"].unique().sort().head(4))
)
TRACE = read_msr_trace().head(300)
LAG = [0.25] * 24
PRICES = read_prices(region="westeurope")
POLICY = read_policy(dataset_path("policies/standard_daily.json"))
POLICIES = read_policies()
ARM = json.loads(dataset_path("policies/standard_daily.json").read_text())
VMS = json.loads(dataset_path("azure/vms.json").read_text())
DISKS = json.loads(dataset_path("azure/disks.json").read_text())
ITEMS = json.loads(dataset_path("azure/items.json").read_text())
ESTATE = estate_to_fleet(VMS, DISKS)
USED_SIZES = pl.read_csv(dataset_path("azure/used_sizes.csv"))
VM_SETTINGS = pl.DataFrame(
    {
        "vm_name": ["web-01", "sql-01"],
        "churn_class": ["low", None],
        "churn_gb_per_day": [None, 38.0],
        "throughput_mb_s_per_disk": [None, 11.5],
        "schedule_hour": [22.0, None],
    }
)
DAYS = pl.date_range(dt.date(2026, 1, 1), dt.date(2026, 3, 1), "1d", eager=True)
ONE_VM_DISKS = [
    {"disk": "os", "used_gb": 30.0, "allocated_gb": 64.0, "churn_gb": 1.2, "extents": 900.0}
]
JOB_DISKS = pl.DataFrame(
    {
        "vm": ["a", "a", "b"],
        "disk": ["os", "data", "os"],
        "used_gb": [30.0, 200.0, 50.0],
        "allocated_gb": [64.0, 512.0, 128.0],
        "churn_gb": [1.0, 8.0, 2.0],
        "extents": [100.0, 2000.0, 10.0],
        "new_disk": [False, False, False],
        "start_hour": [22.5, 22.5, 1.0],
        "first_backup": [False, False, True],
        "snapshot_missing": [False, False, False],
    }
)
HISTORY_ESTATE = read_fleet(dataset_path("history/estate.csv"))
HISTORY_JOBS = read_backup_jobs(dataset_path("history/jobs.json")).head(120)
COSTS = read_cost_export(dataset_path("history/cost_export.csv")).head(60)

#: name -> (function, valid keyword arguments); each test replaces one argument.
KEYWORD_ENTRY_POINTS: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "decide": (consistency.decide, {"os": "windows", "power_state": "running"}),
    "backup_meter": (backup_meter, {"name": "LRS Data Stored", "backup_line": True}),
    "encryption_outcome": (
        encryption.encryption_outcome,
        {"sse": "platform-key", "ade": "bek", "disks": "managed", "permissions": ["vault-restore"]},
    ),
    "extents_for": (
        transfer.extents_for,
        {"churn_gb": [1.0, 2.0], "fragmentation": 0.5, "block_size_bytes": 65536},
    ),
    "backup_timeline": (
        transfer.backup_timeline,
        {
            "disks": ONE_VM_DISKS,
            "start_hour": 22.0,
            "lag_profile_hours": LAG,
            "first_backup": False,
            "snapshot_missing": False,
            "incremental_throughput_mb_s": 7.0,
        },
    ),
    "backup_jobs": (
        transfer.backup_jobs,
        {"disks": JOB_DISKS, "lag_profile_hours": LAG, "initial_throughput_mb_s": 20.0},
    ),
    "trace_churn": (
        trace_churn,
        {"trace": TRACE, "block_size_bytes": 65536, "day_start_hour": 22.0},
    ),
    "vm_space_check": (
        capacity.vm_space_check,
        {
            "allocated_gb": 1024.0,
            "used_gb": 700.0,
            "premium": True,
            "first_backup_done": False,
            "managed": False,
            "rules": "today",
            "account_allocated_gb": 2048.0,
            "capacity_gb": 35_000.0,
        },
    ),
    "premium_space_check": (
        capacity.premium_space_check,
        {"fleet": FLEET, "instant_restore": True, "rules": "today", "capacity_gb": 35_000.0},
    ),
    "account_space_check": (
        capacity.account_space_check,
        {"fleet": FLEET, "capacity_gb": 35_000.0},
    ),
    "account_bandwidth_mb_s": (
        restore.account_bandwidth_mb_s,
        {"throughput_mb_s": 7500.0, "iops": 20_000.0, "io_size_kib": 32.0, "background_load": 0.2},
    ),
    "place": (restore.place, {"disks_per_vm": [1, 3, 2], "placement": "balanced", "accounts": 2}),
    "restore": (
        lambda **kw: restore.simulate_restore(restore.restore_plan(**kw)),
        {
            "disks": FLEET,
            "placement": "round-robin",
            "accounts": 2,
            "background_load": 0.1,
            "tier": "vault",
            "disk_throughput_mb_s": 60.0,
            "account_iops": 20_000.0,
            "io_size_kib": 32.0,
            "vault_concurrency": 10,
            "region_class": "other",
            "disk_iops": 500.0,
        },
    ),
    "disk_rate_mb_s": (
        restore.disk_rate_mb_s,
        {
            "disks_on_account": [1, 5],
            "background_load": 0.2,
            "account_capacity_mb_s": 3125.0,
            "disk_capacity_mb_s": 62.9,
        },
    ),
    "estate_rto": (
        restore_options.estate_rto,
        {
            "fleet": FLEET,
            "policies": POLICIES,
            "option": "restore-disks",
            "recovery_point_age_days": 3.0,
            "accounts": 2,
            "placement": "balanced",
            "background_load": 0.1,
            "region_class": "major",
            "order": "smallest-first",
            "archived": False,
            "rehydration": "high",
            "vms_exist": True,
            "cross_region_enabled": True,
            "permissions": ["vault-restore"],
            "files_gb": 5.0,
            "alone": True,
            "target_requires_cmk": True,
            "create_vm_hours": 0.2,
        },
    ),
    "restore_options": (
        restore_options.restore_options,
        {
            "vm_disks": FLEET.filter(pl.col("vm_name") == FLEET["vm_name"][0]),
            "policies": POLICIES,
            "options": ["create-vm", "file-recovery"],
            "recovery_point_age_days": 3.0,
        },
    ),
    "Policy": (
        Policy,
        {
            "policy_type": "enhanced",
            "frequency": "daily",
            "run_hour": 21.0,
            "instant_restore_days": 7,
            "daily_retention_days": 30,
            "weekly_retention_weeks": 8,
            "monthly_retention_months": 12,
            "yearly_retention_years": 2,
            "weekly_days": ("Sunday",),
            "yearly_months": ("January",),
            "time_zone": "UTC",
            "rules": "today",
            "schedule_reference_date": dt.date(2026, 1, 1),
        },
    ),
    "run_times": (
        run_times,
        {
            "zone": "W. Europe Standard Time",
            "local_hour": 22.0,
            "start": dt.date(2026, 3, 28),
            "days": 3,
            "reference": dt.date(2026, 1, 1),
        },
    ),
    "describe_run_time": (
        describe_run_time,
        {
            "zone": "W. Europe Standard Time",
            "local_hour": 22.0,
            "start": dt.date(2026, 3, 28),
            "days": 3,
            "reference": dt.date(2026, 1, 1),
        },
    ),
    "MonthlyDay": (MonthlyDay, {"weekdays": ("Sunday",), "weeks": ("First",)}),
    "vault_storage_gb": (
        retention.vault_storage_gb,
        {"policy": POLICY, "days": DAYS, "used_gb": 100.0, "daily_churn_gb": 2.0},
    ),
    "distinct_change_gb": (
        retention.distinct_change_gb,
        {"used_gb": 100.0, "daily_churn_gb": 2.0, "days": 30, "overlap": "trace"},
    ),
    "distinct_change_gb_period": (
        retention.distinct_change_gb,
        {
            "used_gb": 100.0,
            "daily_churn_gb": 2.0,
            "days": 30,
            "period_churn": retention.PeriodChurn(0.1, 0.2, 0.4),
        },
    ),
    "PeriodChurn": (
        retention.PeriodChurn,
        {"weekly_churn_fraction": 0.1, "monthly_churn_fraction": 0.2, "yearly_churn_fraction": 0.4},
    ),
    "snapshot_storage_gb": (
        retention.snapshot_storage_gb,
        {
            "policy_type": "standard",
            "used_gb": 100.0,
            "daily_churn_gb": 2.0,
            "instant_restore_days": 5,
        },
    ),
    "recovery_points": (
        retention.recovery_points,
        {"policy": POLICY, "first_backup": dt.date(2026, 1, 1), "on": dt.date(2026, 6, 1)},
    ),
    "lint_policy": (lint_policy, {"policy": POLICY, "lag_profile_hours": LAG}),
    "estate_to_fleet": (
        estate_to_fleet,
        {"vms": VMS, "disks": DISKS, "used_fraction": 0.5, "schedule_hour": 22.5},
    ),
    "estate_disks": (estate_disks, {"vms": VMS, "disks": DISKS}),
    "manifest": (
        blocks.manifest,
        {"image": IMAGE, "block_size_bytes": 512, "chunk_bytes": 4096},
    ),
    "changed_blocks": (
        blocks.changed_blocks,
        {"new_image": IMAGE, "previous": IMAGE[::-1].copy(), "block_size_bytes": 512},
    ),
    "extents": (blocks.extents, {"changed": [True, True, False, True]}),
    "monthly_bill": (
        billing.monthly_bill,
        {
            "events": [
                billing.Event("protect", dt.date(2026, 1, 1), used_gb=200.0),
                billing.Event("first-backup", dt.date(2026, 1, 3)),
                billing.Event("stop", dt.date(2026, 3, 1)),
            ],
            "until": dt.date(2026, 4, 30),
            "policy": POLICY,
            "prices": PRICES,
            "daily_churn_fraction": 0.03,
            "redundancy": "GRS",
            "soft_delete_days": 14,
            "provisioned_gb": 400.0,
            "excluded_gb": 10.0,
            "trusted_launch": False,
            "snapshot_redundancy": "LRS",
            "cross_region_restore": False,
            "overlap": "random",
        },
    ),
    "whatif_bill": (
        billing.whatif_bill,
        {"used_gb": 500.0, "prices": PRICES, "policy": POLICY, "months": 3, "redundancy": "LRS"},
    ),
    "pi_fee_usd_per_month": (
        billing.pi_fee_usd_per_month,
        {"size_gb": [47.0, 501.0], "prices": PRICES, "consistency": "application"},
    ),
    "protected_instance_gb": (
        billing.protected_instance_gb,
        {"os_disk_used_gb": 17.0, "data_disks_used_gb": [30.0, 0.0], "temp_disk_used_gb": 5.0},
    ),
    "Event": (billing.Event, {"kind": "resize", "day": dt.date(2026, 1, 1), "used_gb": 10.0}),
    "fragmentation": (blocks.fragmentation, {"runs": [[0, 2], [3, 1]]}),
    "plan_onboarding": (
        plan_onboarding,
        {
            "plan": fleet_plan(FLEET, read_policies()),
            "lag_profile_hours": LAG,
            "protected": np.array([False, True, False, False]),
            "new_disk": np.arange(FLEET.filter(pl.col("disk_role") != "temp").height) == 1,
            "vault_ingest_mb_s": 700.0,
            "vms_per_vault": 2,
            "fragmentation": 0.3,
            "max_days": 30,
            "trigger": "on-demand",
            "initial_throughput_mb_s": 20.0,
        },
    ),
    "scan_estate": (scan_estate, {"disks": FLEET, "policies": read_policies()}),
    "plan_report": (plan_report, dict(sample_inputs())),
}


#: Other words a message may use for an argument (the command whose output it is).
ALIASES = {
    "vms": ("az vm list",),
    "disks": ("az disk list", "disk"),
    "new_image": ("image",),
    "previous": ("image", "manifest"),
}


@pytest.mark.parametrize("entry", sorted(KEYWORD_ENTRY_POINTS))
def test_every_entry_point_accepts_its_valid_call(entry: str) -> None:
    function, kwargs = KEYWORD_ENTRY_POINTS[entry]
    result = call_by_contract(function, **kwargs)
    assert not isinstance(result, ValueError), result


@pytest.mark.parametrize("entry", sorted(KEYWORD_ENTRY_POINTS))
@given(data=st.data())
def test_one_bad_argument_is_refused_by_name_or_harmless(entry: str, data: st.DataObject) -> None:
    """Any argument replaced by a generated bad value: a ValueError naming it, or a sane result."""
    function, kwargs = KEYWORD_ENTRY_POINTS[entry]
    name = data.draw(st.sampled_from(sorted(kwargs)), label="argument")
    value = data.draw(bad_values(), label="value")
    call_by_contract(function, **(kwargs | {name: value}), names=(name, *ALIASES.get(name, ())))


#: Table arguments: name -> (function, other kwargs, table argument, the table).
TABLE_ENTRY_POINTS: dict[str, tuple[Callable[..., Any], dict[str, Any], str, pl.DataFrame]] = {
    "backup_jobs": (transfer.backup_jobs, {"lag_profile_hours": LAG}, "disks", JOB_DISKS),
    "premium_space_check": (capacity.premium_space_check, {}, "fleet", FLEET),
    "account_space_check": (capacity.account_space_check, {}, "fleet", FLEET),
    "restore_plan": (
        lambda **kw: restore.simulate_restore(restore.restore_plan(**kw)),
        {"placement": "balanced", "accounts": 2},
        "disks",
        FLEET,
    ),
    "estate_rto": (restore_options.estate_rto, {"policies": POLICIES}, "fleet", FLEET),
    "trace_churn": (trace_churn, {"block_size_bytes": 4096}, "trace", TRACE),
    "fit_history": (
        fit_history,
        {"fleet": HISTORY_ESTATE, "lag_profile_hours": LAG},
        "jobs",
        HISTORY_JOBS,
    ),
    "reconcile": (
        lambda **kw: reconcile(HISTORY_ESTATE, read_policies(), PRICES, **kw),
        {},
        "costs",
        COSTS,
    ),
    "fleet_plan": (fleet_plan, {"policies": {POLICY}}, "fleet", FLEET),
    "apply_used_sizes": (
        lambda **kw: apply_used_sizes(ESTATE, **kw),
        {"label": "used sizes"},
        "sizes",
        USED_SIZES,
    ),
    "apply_vm_settings": (
        lambda **kw: apply_vm_settings(ESTATE, **kw),
        {"label": "VM settings"},
        "settings",
        VM_SETTINGS,
    ),
    "scan_estate": (scan_estate, {}, "disks", FLEET),
    "unplaced_backup_meters": (unplaced_backup_meters, {}, "costs", COSTS),
}


@st.composite
def damaged_tables(draw: st.DrawFn, table: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """A copy of ``table`` with one cell, one column or its rows damaged; and the column hit."""
    column = draw(st.sampled_from(table.columns))
    how = draw(st.sampled_from(["cell", "column-type", "drop", "empty", "nulls"]))
    if how == "drop":
        return table.drop(column), column
    if how == "empty":
        return table.clear(), column
    if how == "nulls":
        return table.with_columns(pl.lit(None).alias(column)), column
    if how == "column-type":
        replacement = draw(st.sampled_from([1, "x", 1.5, True]))
        return table.with_columns(pl.lit(replacement).alias(column)), column
    row = draw(st.integers(0, table.height - 1))
    values = table[column].to_list()
    dtype = table.schema[column]
    if dtype.is_numeric():
        values[row] = draw(st.sampled_from([float("nan"), float("inf"), -1.0, -1e30, 1e30, None]))
        series = pl.Series(column, values, dtype=pl.Float64, strict=False)
    elif dtype == pl.Boolean:
        values[row] = None
        series = pl.Series(column, values, dtype=pl.Boolean)
    elif dtype == pl.String:
        values[row] = draw(st.sampled_from([None, "", "unknown", "x" * 300]))
        series = pl.Series(column, values, dtype=dtype)
    else:  # dates and times: a blank
        values[row] = None
        series = pl.Series(column, values, dtype=dtype)
    return table.with_columns(series), column


@pytest.mark.parametrize("entry", sorted(TABLE_ENTRY_POINTS))
@given(data=st.data())
def test_a_damaged_table_is_refused_by_column_or_harmless(entry: str, data: st.DataObject) -> None:
    """One damaged cell, column or an empty table: a ValueError naming the column (or the
    table's emptiness), or a sane result."""
    function, kwargs, argument, table = TABLE_ENTRY_POINTS[entry]
    damaged, column = data.draw(damaged_tables(table), label="table")
    call_by_contract(
        function, **kwargs, **{argument: damaged}, names=(column, "no ", "empty", "holds no")
    )


# --- JSON documents ------------------------------------------------------------------------------


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    copied = json.loads(json.dumps(document))
    node = copied
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copied


JSON_VALUES = st.one_of(
    st.sampled_from([None, "", "x", -1, 0, 10**400, 1.5, True, [], {}, [5], [{}], {"a": 1}]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)

JSON_ENTRY_POINTS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "policy": (lambda doc: policies_from_document(doc, label="policy.json"), ARM),
    "terraform": (
        lambda doc: policies_from_document(doc, label="plan.json"),
        json.loads(dataset_path("policies/shapes/terraform_plan.json").read_text()),
    ),
    "estate": (lambda doc: estate_to_fleet(doc, DISKS), VMS),
    "estate_disks": (lambda doc: estate_disks(VMS, doc), DISKS),
    "items": (lambda doc: protected_items(doc, "items.json"), ITEMS),
}


@pytest.mark.parametrize("entry", sorted(JSON_ENTRY_POINTS))
@given(data=st.data())
def test_a_damaged_json_field_is_refused_or_harmless(entry: str, data: st.DataObject) -> None:
    """Any field of a policy, Terraform or estate document replaced by a generated value: a
    ValueError naming the document or field, or a sane result."""
    function, document = JSON_ENTRY_POINTS[entry]
    path = data.draw(st.sampled_from(_paths(document)), label="path")
    value = data.draw(JSON_VALUES, label="value")
    words = tuple(str(key) for key in path if isinstance(key, str))
    call_by_contract(
        function,
        _replace(document, path, value),
        names=(*words, "policy.json", "plan.json", "az vm list", "az disk list", "items.json"),
    )


def test_a_deeply_nested_or_huge_document_is_refused(tmp_path: Path) -> None:
    """Input classes of issue 18: deep nesting (RecursionError before) and huge integers."""
    from vmbackup.data import read_policy_file

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="deep.json: JSON nested too deeply"):
        read_policy_file(deep)
    huge = _replace(ARM, ("properties", "instantRpRetentionRangeInDays"), 10**400)
    with pytest.raises(ValueError, match="instant_restore_days=1000"):
        policies_from_document(huge)


def test_no_input_is_modified_by_a_valid_call() -> None:
    """Every keyword entry point leaves its arguments as they were (checked by the contract)."""
    for function, kwargs in KEYWORD_ENTRY_POINTS.values():
        call_by_contract(function, **kwargs)
    for function, kwargs, argument, table in TABLE_ENTRY_POINTS.values():
        call_by_contract(function, **kwargs, **{argument: table})
    assert np.all(np.asarray(LAG) == 0.25)


# --- readers on damaged copies of the shipped files ----------------------------------------------


def _reader(name: str) -> Callable[[Path], Any]:
    from vmbackup import data, records

    items = records.read_report_items(dataset_path("history/CoreAzureBackup.csv"))

    readers: dict[str, Callable[[Path], Any]] = {
        "sample_fleet.csv": data.read_fleet,
        "msr_sample_trace.csv": data.read_msr_trace,
        "peak_lag_profile.csv": data.read_lag_profile,
        "prices.csv": lambda p: data.read_prices(p, region="westeurope"),
        "standard_daily.json": data.read_policy_file,
        "terraform_plan.json": data.read_policy_file,
        "vms.json": lambda p: data.read_azure_estate(p, dataset_path("azure/disks.json")),
        "retail_prices_sample.json": lambda p: data.read_retail_prices([p]),
        "jobs.json": records.read_backup_jobs,
        "AddonAzureBackupJobs.csv": lambda p: records.read_report_jobs(p, items),
        "CoreAzureBackup.csv": records.read_report_items,
        "AddonAzureBackupStorage.csv": records.read_report_storage,
        "cost_export.csv": records.read_cost_export,
        "cost_export_focus.csv": records.read_cost_export,
        "items.json": data.read_protected_items,
        "used_sizes.csv": lambda p: data.read_used_sizes(p, ESTATE),
        "vm_settings.csv": lambda p: data.read_vm_settings(p, ESTATE),
    }
    return readers[name]


SHIPPED = {
    "sample_fleet.csv": "sample_fleet.csv",
    "msr_sample_trace.csv": "msr_sample_trace.csv",
    "peak_lag_profile.csv": "peak_lag_profile.csv",
    "prices.csv": "prices.csv",
    "standard_daily.json": "policies/standard_daily.json",
    "terraform_plan.json": "policies/shapes/terraform_plan.json",
    "vms.json": "azure/vms.json",
    "retail_prices_sample.json": "retail_prices_sample.json",
    "jobs.json": "history/jobs.json",
    "AddonAzureBackupJobs.csv": "history/AddonAzureBackupJobs.csv",
    "CoreAzureBackup.csv": "history/CoreAzureBackup.csv",
    "AddonAzureBackupStorage.csv": "history/AddonAzureBackupStorage.csv",
    "cost_export.csv": "history/cost_export.csv",
    "cost_export_focus.csv": "history/cost_export_focus.csv",
    "items.json": "azure/items.json",
    "used_sizes.csv": "azure/used_sizes.csv",
    "vm_settings.csv": "azure/vm_settings.csv",
}


@st.composite
def damaged_bytes(draw: st.DrawFn, original: bytes) -> bytes:
    """The file cut short, with bytes changed, a line dropped or doubled, or re-encoded."""
    how = draw(st.sampled_from(["cut", "flip", "drop-line", "double-line", "junk-line", "utf16"]))
    lines = original.splitlines(keepends=True)
    if how == "cut":
        return original[: draw(st.integers(0, len(original)))]
    if how == "flip":
        changed = bytearray(original)
        for _ in range(draw(st.integers(1, 5))):
            changed[draw(st.integers(0, len(changed) - 1))] = draw(st.integers(0, 255))
        return bytes(changed)
    if how == "drop-line":
        index = draw(st.integers(0, len(lines) - 1))
        return b"".join(lines[:index] + lines[index + 1 :])
    if how == "double-line":
        index = draw(st.integers(0, len(lines) - 1))
        return b"".join(lines[: index + 1] + lines[index:])
    if how == "junk-line":
        index = draw(st.integers(0, len(lines)))
        junk = draw(st.sampled_from([b",,,\n", b"nan,inf,-1\n", b"\x00\x01\n", b'"\n', b"}\n"]))
        return b"".join([*lines[:index], junk, *lines[index:]])
    return original.decode("utf-8").encode("utf-16")


@pytest.mark.parametrize("name", sorted(SHIPPED))
@given(data=st.data())
def test_a_damaged_file_is_refused_by_name_or_read(
    name: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every reader on a damaged copy of its shipped file: a ValueError starting with the file's
    name (and naming the line or field), or a sane table."""
    original = dataset_path(SHIPPED[name]).read_bytes()
    damaged = data.draw(damaged_bytes(original), label="bytes")
    folder = tmp_path_factory.mktemp("damaged")
    path = folder / name
    path.write_bytes(damaged)
    result = call_by_contract(_reader(name), path, names=(name,))
    if isinstance(result, ValueError):
        assert str(result).startswith((name, f"path={str(path)!r}")), result


@pytest.mark.parametrize("name", sorted(SHIPPED))
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_files_saved_by_powershell_read_the_same(name: str, encoding: str, tmp_path: Path) -> None:
    """Readers accept UTF-8 with a byte-order mark and UTF-16 (PowerShell's Out-File), and
    CRLF line ends."""
    text = dataset_path(SHIPPED[name]).read_text(encoding="utf-8")
    path = tmp_path / name
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    expected = _reader(name)(dataset_path(SHIPPED[name]))
    got = _reader(name)(path)
    if isinstance(expected, pl.DataFrame):
        assert got.equals(expected)
    elif isinstance(expected, np.ndarray):
        assert np.array_equal(got, expected)
    elif isinstance(expected, list):
        assert [s.policy for s in got] == [s.policy for s in expected]
    elif hasattr(expected, "reservations"):  # a Retail Prices import
        assert got.rows.equals(expected.rows)
        assert (got.reservations, got.skipped) == (expected.reservations, expected.skipped)
    else:
        assert got == expected


def test_a_truncated_empty_or_inconsistent_manifest_is_refused(tmp_path: Path) -> None:
    """Issue 18: a truncated or empty manifest (BadZipFile, EOFError before), block size 0."""
    from vmbackup.blocks import Manifest, manifest

    saved = manifest(np.arange(10_000, dtype=np.uint8), 512).save(tmp_path / "m.npz")
    raw = saved.read_bytes()
    for name, content in (("empty.npz", b""), ("cut.npz", raw[: len(raw) // 2]), ("x.npz", b"PK")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=f"{name}' is not a saved block manifest"):
            Manifest.load(tmp_path / name)
    np.savez(tmp_path / "zero.npz", block_size_bytes=0, size_bytes=10, checksums=np.zeros(1))
    with pytest.raises(ValueError, match="block_size_bytes=0 must be"):
        Manifest.load(tmp_path / "zero.npz")
    np.savez(tmp_path / "short.npz", block_size_bytes=512, size_bytes=10_000, checksums=[1, 2])
    with pytest.raises(ValueError, match="needs 20 checksums, found 2"):
        Manifest.load(tmp_path / "short.npz")
    assert Manifest.load(saved).blocks == 20


# --- the command line ----------------------------------------------------------------------------


def _cli(*argv: str) -> tuple[int, str, str]:
    import io

    from vmbackup.cli import main

    out, err = io.StringIO(), io.StringIO()
    with __import__("contract").time_guard(120):
        code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _assert_one_line_error(code: int, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith(("error:", "internal error"))]
    assert len(lines) == 1, err
    assert lines[0].startswith("error:"), err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["plan"],
        ["plan", "nope.csv"],
        ["plan", "{fleet}", "--days", "x"],
        ["plan", "{fleet}", "--days", "0"],
        ["plan", "{fleet}", "--days", "-3"],
        ["plan", "{fleet}", "--days", "100000"],
        ["plan", "{fleet}", "--redundancy", "grs2"],
        ["plan", "{fleet}", "--region", "mars"],
        ["plan", "{fleet}", "--out", "/nonexistent/folder/jobs.parquet"],
        ["plan", "{fleet}", "--disks", "{vms}"],
        ["plan", "{vms}", "--used-fraction", "nan", "--disks", "{disks}"],
        ["plan", "{vms}", "--used-fraction", "1.5", "--disks", "{disks}"],
        ["plan", "{fleet}", "--policy", "{broken}"],
        ["plan", "{broken}"],
        ["lint"],
        ["lint", "{broken}"],
        ["lint", "{fleet}"],
        ["lint", "{policy}", "--estate", "{vms}"],
        ["prices", "import", "{policy}"],
        ["reconcile", "--estate", "{fleet}", "--costs", "{policy}"],
        ["reconcile", "--estate", "{fleet}", "--costs", "{costs}", "--history", "{broken}"],
        ["nonsense"],
    ],
)
def test_the_cli_answers_bad_input_with_one_line_and_exit_2(
    argv: list[str], tmp_path: Path
) -> None:
    """Issue 18: exit 2 and one line on stderr, never a traceback, for bad input or output."""
    broken = tmp_path / "broken.json"
    broken.write_text('{"properties": ')
    names = {
        "fleet": str(dataset_path("sample_fleet.csv")),
        "vms": str(dataset_path("azure/vms.json")),
        "disks": str(dataset_path("azure/disks.json")),
        "policy": str(dataset_path("policies/standard_daily.json")),
        "broken": str(broken),
        "costs": str(dataset_path("history/cost_export.csv")),
    }
    code, _, err = _cli(*(word.format(**names) for word in argv))
    _assert_one_line_error(code, err)


def test_the_cli_debug_flag_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a file"):
        _cli("plan", str(tmp_path / "nope.csv"), "--debug")


@given(fleet=damaged_bytes(dataset_path("sample_fleet.csv").read_bytes()))
def test_the_cli_on_a_damaged_fleet_plans_or_refuses_in_one_line(
    fleet: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("cli") / "fleet.csv"
    path.write_bytes(fleet)
    code, out, err = _cli("plan", str(path), "--days", "2")
    if code == 0:
        assert "Cost per month" in out
    else:
        _assert_one_line_error(code, err)


# --- the what-if apps: an error is a message in the app, never an exception ----------------------


def _apps() -> dict[str, tuple[Callable[..., Any], dict[str, Any], list[str]]]:
    from vmbackup import apps

    fleet = read_fleet()
    return {
        "lifecycle": (
            apps.lifecycle_update,
            {"prices": PRICES},
            ["used_gb", "first_backup_month", "grow_to_gb", "stop_month", "soft_delete_days"],
        ),
        "billing_whatif": (
            apps.billing_whatif_update,
            {"prices": PRICES},
            [
                "used_gb",
                "daily_churn_percent",
                "daily_retention_days",
                "redundancy",
                "instant_restore_days",
                "provisioned_gb",
            ],
        ),
        "premium_space": (
            apps.premium_space_update,
            {},
            ["allocated_gb", "used_gb", "premium", "managed", "first_backup_done", "rules"],
        ),
        "restore": (
            apps.restore_update,
            {"fleet": fleet, "policies": POLICIES},
            [
                "vms",
                "accounts",
                "placement",
                "background_load_percent",
                "vault_concurrency",
                "recovery_point_age_days",
                "region_class",
                "option",
            ],
        ),
        "transfer": (
            apps.transfer_update,
            {"lag_profile_hours": LAG},
            ["churn_os_gb", "fragmentation", "start_hour", "first_backup"],
        ),
        "fleet": (
            apps.fleet_update,
            {
                "fleet": fleet,
                "policies": __import__("vmbackup.data").data.read_policies(),
                "lag_profile_hours": LAG,
            },
            ["fleet_copies", "vault_ingest_mb_s", "spread_minutes", "days"],
        ),
        "policy": (
            apps.policy_update,
            {"prices": PRICES, "lag_profile_hours": LAG},
            ["run_hour", "instant_restore_days", "daily_retention_days", "used_gb", "rules"],
        ),
    }


APPS = _apps()


@pytest.mark.parametrize("app", sorted(APPS))
@given(data=st.data())
def test_an_app_shows_bad_input_as_a_message_never_a_traceback(
    app: str, data: st.DataObject
) -> None:
    """Issue 18: a widget shows the model's message in its output area; no exception escapes."""
    update, fixed, controls = APPS[app]
    name = data.draw(st.sampled_from(controls), label="control")
    value = data.draw(bad_values(), label="value")
    from contract import time_guard

    with time_guard():
        result, text, ax = update(**fixed, **{name: value})
    assert isinstance(text, str)
    if result is None:
        assert "Input not accepted" in text
        assert ax is None
