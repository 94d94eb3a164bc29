"""The fleet's bill comes from the same engine as one VM's bill (issue 12): per month, VM and
invoice meter (P7), with the dated agentless rule (G1), the S28 chain and G8/G9 snapshots."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from vmbackup.billing import Event, monthly_bill, pi_fee_usd_per_month, snapshot_meter
from vmbackup.data import read_fleet, read_lag_profile, read_policies, read_prices
from vmbackup.fleet import FLEET_START, fleet_bill_lines, fleet_plan, simulate_fleet

PRICES = read_prices(region="westeurope")
POLICIES = read_policies()
FLEET = read_fleet()
LAG = read_lag_profile()


def one_vm(policy: str) -> pl.DataFrame:
    vm = FLEET.filter(pl.col("policy") == policy)["vm_name"][0]
    return FLEET.filter(pl.col("vm_name") == vm)


def test_p7_the_lines_add_up_to_the_monthly_bill() -> None:
    """P7: summed over VMs and meters, the invoice lines are the month's bill."""
    plan = fleet_plan(FLEET, POLICIES)
    result = simulate_fleet(plan, lag_profile_hours=LAG, days=45, prices=PRICES)
    assert result.meters is not None
    by_month = result.meters.group_by("month").agg(pl.col("cost").sum()).sort("month")
    assert by_month["cost"].to_list() == pytest.approx(result.monthly["total_usd"].to_list())
    # the vault's size at each month's end: known, growing as points accumulate
    vault_gb = result.monthly["vault_gb"]
    assert vault_gb.null_count() == 0
    assert 0 < vault_gb[0] < vault_gb[1]
    assert set(result.meters["meter"]) == {
        "Azure VM Protected Instance",
        "Standard GRS Data Stored",
        "LRS Snapshots",  # a Standard policy's, as Azure's invoice names them (G9.2)
        "ZRS Snapshots",
    }


def test_g1_an_agentless_vm_pays_a_full_pi_on_half_its_provisioned_size_today() -> None:
    """G1 (and S27 before GA): the fleet charges the dated agentless rule, like one VM's bill."""
    fleet = one_vm("AgentlessDaily")
    plan = fleet_plan(fleet, POLICIES)
    churn = np.full(plan.vms, 2.0)
    provisioned = float(fleet.filter(pl.col("disk_role") != "temp")["allocated_gb"].sum())
    for start, expected in (
        (
            dt.date(2024, 6, 1),
            pi_fee_usd_per_month(plan.pi_size_gb, PRICES, "crash", day=dt.date(2024, 6, 1)),
        ),
        (
            FLEET_START,
            pi_fee_usd_per_month(
                plan.pi_size_gb, PRICES, "crash", day=FLEET_START, provisioned_gb=provisioned
            ),
        ),
    ):
        lines = fleet_bill_lines(plan, churn, start, 30, PRICES)
        pi = lines.filter(pl.col("meter") == "Azure VM Protected Instance")
        month_days = (start.replace(month=start.month % 12 + 1, day=1) - dt.timedelta(days=1)).day
        assert pi["cost"].sum() == pytest.approx(float(expected[0]) * 30 / month_days)


@pytest.mark.parametrize("overlap", [None, "sequential", "random"])
def test_s28_one_vms_vault_cost_is_its_own_bill(overlap: str | None) -> None:
    """S28: the fleet's vault lines for one VM equal its single-VM bill, by default (both take
    the trace-fitted overlap, A32; the fleet used the sequential bound until issue 25) and
    with either named model chosen on both sides."""
    fleet = one_vm("DailyPolicy")
    plan = fleet_plan(fleet, POLICIES)
    used = float(plan.pi_size_gb[0])
    churn_gb = 0.03 * used
    chosen = {} if overlap is None else {"overlap": overlap}
    lines = fleet_bill_lines(plan, np.array([churn_gb]), FLEET_START, 59, PRICES, "LRS", **chosen)
    bill = monthly_bill(
        [Event("protect", FLEET_START, used_gb=used), Event("first-backup", FLEET_START)],
        until=FLEET_START + dt.timedelta(days=58),
        policy=POLICIES["DailyPolicy"],
        prices=PRICES,
        daily_churn_fraction=0.03,
        redundancy="LRS",
        **chosen,
    )
    vault = lines.filter(pl.col("meter") == "Standard LRS Data Stored").sort("month")
    assert vault["cost"].to_list() == pytest.approx(bill["vault_storage_usd"].to_list())
    pi = lines.filter(pl.col("meter") == "Azure VM Protected Instance").sort("month")
    assert pi["cost"].to_list() == pytest.approx(bill["pi_fee_usd"].to_list())


def test_g8_g9_snapshots_priced_by_policy_type_not_media() -> None:
    """G8, G9: Enhanced snapshots on the Standard HDD ZRS meter, Standard ones on their own row,
    whatever the disks' media: premium VMs pay the same price as standard ones."""
    plan = fleet_plan(FLEET, POLICIES)
    lines = fleet_bill_lines(plan, np.full(plan.vms, 1.0), FLEET_START, 30, PRICES)
    snaps = lines.filter(pl.col("meter").str.contains("Snapshots"))
    enhanced = {i for i, p in enumerate(plan.policies) if p.policy_type == "enhanced"}
    assert plan.vm_premium is not None
    assert plan.vm_premium.any()
    assert not plan.vm_premium.all()
    kinds = set()
    for row in snaps.iter_rows(named=True):
        kind = "enhanced" if plan.policy_index[row["vm"]] in enhanced else "standard"
        meter, product, _, price = snapshot_meter(PRICES, kind)
        assert (row["meter"], row["product"], row["unit_price"]) == (meter, product, price)
        kinds.add((kind, bool(plan.vm_premium[row["vm"]])))
    assert kinds == {(k, m) for k in ("enhanced", "standard") for m in (False, True)}
