"""Issue 27, step 1: Backup lines spelt as Cost analysis and the Retail Prices API spell them are
placed on the project's meters, a Backup line the model cannot place is never silent, and
Terraform's consistency and tiering are read (items H3, P7, Y4, G7)."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from history_sample import history_file

from vmbackup.billing import KNOWN_METERS
from vmbackup.calibrate import fit_history
from vmbackup.cli import main
from vmbackup.data import dataset_path, read_fleet, read_lag_profile, read_policies, read_prices
from vmbackup.policy_json import policies_from_document
from vmbackup.reconcile import reconcile
from vmbackup.records import backup_meter, read_cost_export, read_history

#: The sample export's meters and the spellings Cost analysis and the Retail Prices API use.
SPELLINGS = {
    "Azure VM Protected Instance": "Azure VM Protected Instances",
    "Standard GRS Data Stored": "GRS Data Stored",
    "LRS Snapshots": "LRS Snapshot",
    "ZRS Snapshots": "ZRS Snapshots",
}


@pytest.mark.parametrize(
    ("billed", "meter"),
    [
        ("Azure VM Protected Instance", "Azure VM Protected Instance"),
        ("Azure VM Protected Instances", "Azure VM Protected Instance"),
        ("azure vm  protected instances", "Azure VM Protected Instance"),
        ("LRS Data Stored", "Standard LRS Data Stored"),
        ("ZRS Data Stored", "Standard ZRS Data Stored"),
        ("GRS Data Stored", "Standard GRS Data Stored"),
        ("RA-GRS Data Stored", "Standard RA-GRS Data Stored"),
        ("Standard RA-GRS Data Stored", "Standard RA-GRS Data Stored"),
        ("Archive GRS Data Stored", "Archive GRS Data Stored"),
        ("LRS Snapshots", "LRS Snapshots"),
        ("ZRS Snapshot", "ZRS Snapshots"),
        ("Standard Policy Snapshots", "Standard Policy Snapshots"),
        ("Archive ZRS Data Stored", None),  # archive is LRS or GRS only (G7)
        ("Hot LRS Data Stored", None),
        ("SQL Server in Azure VM Protected Instances", None),
        ("Egress", None),
    ],
)
def test_h3_every_spelling_of_a_backup_meter_is_placed(billed: str, meter: str | None) -> None:
    """H3, P7: singular or plural, with or without 'Standard', any case."""
    assert backup_meter(billed) == meter
    assert meter is None or meter in KNOWN_METERS


def test_h3_data_stored_on_another_services_line_is_not_backup() -> None:
    """H3: 'LRS Data Stored' is also a Storage meter; on a Storage line it is not Backup's."""
    assert backup_meter("LRS Data Stored", backup_line=False) is None
    assert backup_meter("Archive LRS Data Stored", backup_line=False) is None
    assert backup_meter("Azure VM Protected Instances", backup_line=False) == (
        "Azure VM Protected Instance"
    )


def _respelt(tmp_path: Path, name: str = "analysis.csv") -> Path:
    raw = pl.read_csv(history_file("cost_export.csv"), infer_schema=False)
    raw.with_columns(pl.col("MeterName").replace(SPELLINGS)).write_csv(tmp_path / name)
    return tmp_path / name


def test_h3_a_respelt_export_reads_like_the_original(tmp_path: Path) -> None:
    """H3: the sample export with Cost analysis spellings gives the same lines, meters, kinds
    and amounts as the original."""
    original = read_cost_export(history_file("cost_export.csv"))
    respelt = read_cost_export(_respelt(tmp_path))
    assert respelt.equals(original)
    assert sorted(respelt["meter"].unique()) == [
        "Azure VM Protected Instance",
        "LRS Snapshots",
        "Standard GRS Data Stored",
        "ZRS Snapshots",
    ]


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    estate = read_fleet(history_file("estate.csv"))
    history = read_history(
        [
            history_file(n)
            for n in ("jobs.json", "CoreAzureBackup.csv", "AddonAzureBackupStorage.csv")
        ]
    )
    return {
        "fleet": estate,
        "policies": read_policies(),
        "prices": read_prices(region="westeurope"),
        "fit": fit_history(history.jobs, estate, lag_profile_hours=read_lag_profile()),
        "items": history.items,
        "storage": history.storage,
    }


def _findings(sample: dict[str, Any], costs: pl.DataFrame) -> list[tuple[Any, ...]]:
    result = reconcile(
        sample["fleet"],
        sample["policies"],
        sample["prices"],
        costs,
        fit=sample["fit"],
        items=sample["items"],
        storage=sample["storage"],
    )
    return result.findings.select("vm_name", "meter", "item", "difference").rows()


def test_h3_reconcile_finds_the_same_over_a_respelt_export(
    sample: dict[str, Any], tmp_path: Path
) -> None:
    """H3: before issue 27 the respelt lines fell into 'other'; now the findings are equal."""
    original = _findings(sample, read_cost_export(history_file("cost_export.csv")))
    respelt = _findings(sample, read_cost_export(_respelt(tmp_path)))
    assert respelt == original
    assert {row[0] for row in original} == {"vm-win-000", "vm-win-029", "vm-lnx-004"}


def test_h3_an_unplaced_backup_meter_is_a_finding_and_never_silent(
    sample: dict[str, Any], tmp_path: Path
) -> None:
    """H3: a Backup line the model cannot place (another workload's meter) is listed as a
    finding with its amount, and the CLI exits 1, even when everything else matches."""
    raw = pl.read_csv(history_file("cost_export.csv"), infer_schema=False)
    sql = raw.head(2).with_columns(
        MeterName=pl.lit("SQL Server in Azure VM Protected Instances"),
        CostInBillingCurrency=pl.Series(["3.5", "1.5"]),
    )
    pl.concat([raw, sql]).write_csv(tmp_path / "bill.csv")
    costs = read_cost_export(tmp_path / "bill.csv")
    rows = _findings(sample, costs)
    unplaced = [r for r in rows if r[1] == "SQL Server in Azure VM Protected Instances"]
    assert unplaced == [(None, "SQL Server in Azure VM Protected Instances", "H3", 5.0)]
    out, err = io.StringIO(), io.StringIO()
    argv = [
        "reconcile",
        "--estate",
        history_file("estate.csv"),
        "--costs",
        str(tmp_path / "bill.csv"),
        "--min-difference",
        "1000000",
    ]
    assert main(argv, out=out, err=err) == 1, err.getvalue()
    text = out.getvalue()
    assert "Differences: none" not in text
    assert "SQL Server in Azure VM Protected Instances" in text


def test_h3_a_bill_of_only_unplaced_backup_lines_names_them(tmp_path: Path) -> None:
    raw = pl.read_csv(history_file("cost_export.csv"), infer_schema=False).head(3)
    raw.with_columns(MeterName=pl.lit("Azure Files Protected Instances")).write_csv(
        tmp_path / "files.csv"
    )
    with pytest.raises(ValueError, match="^files.csv: no Azure VM backup meter found") as error:
        read_cost_export(tmp_path / "files.csv")
    assert str(error.value).endswith(
        "Backup lines with meters it could not place: ['Azure Files Protected Instances']"
    )


TF_PLAN = json.loads(dataset_path("policies/shapes/terraform_plan.json").read_text())


def _tf_daily(**values: Any) -> dict[str, Any]:
    document = copy.deepcopy(TF_PLAN)
    document["planned_values"]["root_module"]["resources"][1]["values"].update(values)
    return document


def _daily(document: dict[str, Any]) -> Any:
    found = policies_from_document(document, label="plan.json")
    return next(p.policy for p in found if p.policy.name == "tf-daily")


def test_y4_terraform_consistency_type_reads_as_arm_does() -> None:
    """Y4, S2: consistency_type = "OnlyCrashConsistent" is crash-consistent (it was read as
    application-consistent); "Default", null and absent are application-consistent."""
    crash = _daily(_tf_daily(consistency_type="OnlyCrashConsistent", policy_type="V2"))
    assert (crash.consistency, crash.policy_type) == ("crash", "enhanced")
    for value in ("Default", None):
        assert _daily(_tf_daily(consistency_type=value)).consistency == "application"
    assert _daily(TF_PLAN).consistency == "application"
    start = "plan.json: planned_values.root_module.resources[1].values.consistency_type='CrashOnly'"
    with pytest.raises(ValueError, match="^" + re.escape(start)):
        _daily(_tf_daily(consistency_type="CrashOnly"))


def test_g7_terraform_tiering_policy_is_read() -> None:
    """G7: tiering_policy.archived_restore_point as the provider's acceptance test writes it
    (TierAfter, 5 Months: 155 days), TierRecommended, and an empty block."""
    block = {
        "archived_restore_point": [{"duration": 5, "duration_type": "Months", "mode": "TierAfter"}]
    }
    tiering = _daily(_tf_daily(tiering_policy=[block])).tiering
    assert (tiering.mode, tiering.after_days) == ("TierAfter", 155)
    recommended = [
        {
            "archived_restore_point": [
                {"mode": "TierRecommended", "duration": None, "duration_type": None}
            ]
        }
    ]
    assert _daily(_tf_daily(tiering_policy=recommended)).tiering.mode == "TierRecommended"
    assert _daily(TF_PLAN).tiering is None
    bad = [
        {
            "archived_restore_point": [
                {"duration": 2, "duration_type": "Months", "mode": "TierAfter"}
            ]
        }
    ]
    start = (
        "plan.json: planned_values.root_module.resources[1].values.tiering_policy[0]"
        ".archived_restore_point[0].duration"
    )
    with pytest.raises(ValueError, match="^" + re.escape(start)):
        _daily(_tf_daily(tiering_policy=bad))


# --- every cost-export flavour (issue 27, Deliver 1) ---------------------------------------------


def test_h3_the_focus_export_of_the_sample_reads_like_the_actual_cost_export() -> None:
    """H3: datasets/history/cost_export_focus.csv (make_history.py renders the same bill in
    FOCUS 1.0 columns) gives the same dates, meters, kinds, quantities, costs, currency,
    resources and VMs; its unit is FOCUS's ConsumedUnit ('GB/Month', not '1 GB/Month')."""
    actual = read_cost_export(history_file("cost_export.csv"))
    focus = read_cost_export(history_file("cost_export_focus.csv"))
    same = ["date", "month", "meter", "meter_category", "quantity", "cost", "currency"]
    same += ["resource_id", "vm_name", "kind", "line", "unit_price"]
    assert focus.select(same).equals(actual.select(same))
    first = focus.row(0, named=True)
    assert (first["meter"], first["unit"], first["cost"]) == (
        "Azure VM Protected Instance",
        "/Month",
        0.1612903,
    )


def test_h3_reconcile_over_the_focus_export_gives_the_same_differences(
    sample: dict[str, Any],
) -> None:
    """Issue 27, done when: the same findings (VM, meter, item, amount) over both exports."""
    actual = _findings(sample, read_cost_export(history_file("cost_export.csv")))
    focus = _findings(sample, read_cost_export(history_file("cost_export_focus.csv")))
    assert focus == actual
    assert sorted(row[2] for row in focus) == ["P1", "S24", "S28, Y3"]


def _flavour(tmp_path: Path, renames: dict[str, str], **changes: Any) -> pl.DataFrame:
    raw = pl.read_csv(history_file("cost_export.csv"), infer_schema=False).head(4)
    raw = raw.rename(renames).with_columns(**changes)
    raw.write_csv(tmp_path / "flavour.csv")
    return read_cost_export(tmp_path / "flavour.csv")


def test_h3_ea_mca_and_pay_as_you_go_column_sets_read_alike(tmp_path: Path) -> None:
    """H3: older EA files (Cost, BillingCurrency, Product), pay-as-you-go (UsageDateTime,
    PreTaxCost, InstanceId, UsageQuantity) and MCA (camelCase) give the same lines."""
    original = _flavour(tmp_path, {})
    older_ea = _flavour(
        tmp_path,
        {"CostInBillingCurrency": "Cost", "BillingCurrencyCode": "BillingCurrency"},
    )
    assert older_ea.drop("product").equals(original.drop("product"))
    payg = _flavour(
        tmp_path,
        {
            "Date": "UsageDateTime",
            "CostInBillingCurrency": "PreTaxCost",
            "ResourceId": "InstanceId",
            "Quantity": "UsageQuantity",
            "BillingCurrencyCode": "Currency",
        },
    )
    assert payg.equals(original)
    raw = pl.read_csv(history_file("cost_export.csv"), infer_schema=False).head(4)
    assert payg["cost"].to_list() == [float(c) for c in raw["CostInBillingCurrency"]]
    assert payg["meter"].to_list() == raw["MeterName"].to_list()


def test_h3_a_refused_export_says_which_shape_it_saw(tmp_path: Path) -> None:
    raw = pl.read_csv(history_file("cost_export_focus.csv"), infer_schema=False).head(3)
    raw.drop("BilledCost", "EffectiveCost").write_csv(tmp_path / "focus.csv")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "focus.csv: missing column(s) "
            "['CostInBillingCurrency/Cost/PreTaxCost/BilledCost/EffectiveCost'] "
            "(the header looks like a FOCUS cost export)"
        ),
    ):
        read_cost_export(tmp_path / "focus.csv")
