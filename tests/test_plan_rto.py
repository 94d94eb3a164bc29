"""The plan's restore estimate: the RTO of every VM of the estate (issue 15 in the plan; R1, R2,
S19, S20), from ``python -m vmbackup plan`` and from :func:`vmbackup.planning.build_plan`."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from vmbackup.cli import main
from vmbackup.data import dataset_path
from vmbackup.planning import PlanOptions, build_plan

SAMPLE = str(dataset_path("sample_fleet.csv"))


def plan(**options: object):  # type: ignore[no-untyped-def]
    return build_plan(PlanOptions(fleet=SAMPLE, days=2, **options))  # type: ignore[arg-type]


def test_r2_last_nights_point_restores_from_snapshots_an_old_one_from_the_vault() -> None:
    recent, old = plan(), plan(restore_point_age_days=30)
    assert recent.restore_per_vm.height == old.restore_per_vm.height == 200
    assert set(recent.restore_per_vm["tier"]) == {"snapshot"}
    assert set(old.restore_per_vm["tier"]) == {"vault"}
    assert old.restore_per_vm["rto_hours"].max() > 5 * recent.restore_per_vm["rto_hours"].max()


def test_s20_fewer_target_accounts_restore_the_estate_later() -> None:
    one = plan(restore_point_age_days=30, restore_accounts=1)
    many = plan(restore_point_age_days=30, restore_accounts=50)
    assert one.restore_accounts == 1
    assert many.restore_accounts == 50
    assert one.restore_shared["rto_hours"].max() > many.restore_shared["rto_hours"].max()
    assert one.restore_shared["rto_hours"].median() > many.restore_shared["rto_hours"].median()


def test_the_rto_table_has_every_vm_with_its_own_and_shared_rto() -> None:
    table = plan(restore_point_age_days=30).rto_table()
    assert table.height == 200
    assert table["vm_name"].is_unique().all()
    assert (table["shared_rto_hours"] >= table["alone_hours"] - 1e-9).all()
    assert table.null_count()["rto_hours"][0] == 0


def test_the_cli_prints_and_writes_the_rto(tmp_path: Path) -> None:
    target = tmp_path / "rto.csv"
    out, err = io.StringIO(), io.StringIO()
    argv = ["plan", SAMPLE, "--days", "2", "--restore-age", "30", "--rto-out", str(target)]
    assert main(argv, out, err) == 0, err.getvalue()
    text = out.getvalue()
    assert "Restore of every protected VM at once (RTO" in text
    assert "create-vm from a point 30 days old" in text
    assert "every VM from the vault" in text
    written = pl.read_csv(target)
    assert written.height == 200
    assert f"Wrote the RTO of 200 VMs to {target}" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--restore-age", "-1"], "restore_point_age_days=-1.0"),
        (["--restore-accounts", "0"], "restore_accounts=0"),
    ],
)
def test_bad_restore_inputs_exit_2_naming_the_field(argv: list[str], message: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["plan", SAMPLE, *argv], out, err) == 2
    lines = [line for line in err.getvalue().splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert message in lines[0]


def test_the_report_carries_every_section_and_each_vms_rto(tmp_path: Path) -> None:
    """Issue 13/15: ``plan --report`` writes one self-contained page with every section, the
    slowest VMs' RTO, the onboarding waves and the eligibility scan."""
    from vmbackup.report import PLAN_SECTIONS

    target = tmp_path / "plan.html"
    out, err = io.StringIO(), io.StringIO()
    argv = ["plan", SAMPLE, "--days", "2", "--restore-age", "30", "--report", str(target)]
    assert main(argv, out, err) == 0, err.getvalue()
    page = target.read_text(encoding="utf-8")
    for heading in PLAN_SECTIONS:
        assert f">{heading}</h2>" in page
    slowest = plan(restore_point_age_days=30).restore_per_vm.sort("rto_hours").row(-1, named=True)
    assert slowest["vm_name"] in page
    assert "The slowest VMs to come back" in page
    assert "days until every VM is protected" in page
    assert "<script" not in page
    assert "http://" not in page


def test_g8_g11_the_plan_scans_azure_json_with_its_skus_and_security_types() -> None:
    """G8, G11: from ``az vm list -d`` / ``az disk list`` the plan's eligibility scan sees what
    the fleet table drops: an Ultra disk needs Enhanced, a confidential VM cannot be protected,
    a shared disk is refused under Standard."""
    estate = build_plan(
        PlanOptions(
            fleet=str(dataset_path("azure/eligibility_vms.json")),
            disks=str(dataset_path("azure/eligibility_disks.json")),
            days=2,
        )
    )
    assert estate.eligibility is not None
    scan = {row["vm_name"]: row for row in estate.eligibility.iter_rows(named=True)}
    assert scan["db-ultra-01"]["policy_type"] == "enhanced"
    assert scan["cluster-01"]["policy_type"] == "enhanced"
    assert scan["cvm-01"]["protectable"] is False
    assert scan["web-eph-01"]["protectable"] is False
    assert scan["file-01"]["policy_type"] == "standard"
    assert scan["db-ultra-01"]["assigned_ok"] is False  # DailyPolicy is a Standard policy
