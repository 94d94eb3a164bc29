"""The bill as Azure charges today: dated agentless rule (G1), selective disks (G6), Trusted
Launch snapshots (G8), snapshot prices and clean-up lag (G9), archive tier (G7), cross-region
restore (G10), invoice lines per meter (P7)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from vmbackup.archive import archive_moves
from vmbackup.billing import (
    Event,
    meter_bill,
    monthly_bill,
    pi_fee_usd_per_month,
    snapshot_meter,
    whatif_bill,
)
from vmbackup.data import read_prices
from vmbackup.policy import Policy, TieringPolicy
from vmbackup.policy_json import policy_from_arm, policy_to_arm
from vmbackup.retention import vault_points

PRICES = read_prices(region="westeurope")
D = dt.date
ENHANCED = Policy(policy_type="enhanced", daily_retention_days=30)
AGENTLESS = Policy(policy_type="enhanced", daily_retention_days=30, consistency="crash")
LONG = Policy(daily_retention_days=30, monthly_retention_months=120)


def test_g1_agentless_half_a_pi_in_preview_full_pi_on_half_the_provisioned_size_at_ga() -> None:
    """G1, S27: the month decides: July 2025 is preview (0.5 PI on 47 GB used = 2.5 USD),
    August 2025 is GA (a full PI on 50% of 400 GB provisioned = 200 GB: 10 USD)."""
    events = [Event("protect", D(2025, 7, 1), used_gb=47), Event("first-backup", D(2025, 7, 1))]
    b = monthly_bill(
        events, until=D(2025, 8, 31), policy=AGENTLESS, prices=PRICES, provisioned_gb=400
    )
    assert b["rules"].to_list() == ["preview", "ga"]
    assert b["pi_fee_usd"].to_list() == pytest.approx([2.5, 10.0])
    with pytest.raises(ValueError, match="provisioned_gb=None: from GA"):
        monthly_bill(events, until=D(2025, 8, 31), policy=AGENTLESS, prices=PRICES)
    # before GA the provisioned size is not needed
    monthly_bill(events, until=D(2025, 7, 31), policy=AGENTLESS, prices=PRICES)


def test_g1_ga_fee_tiers_on_half_the_provisioned_size() -> None:
    """G1, P1: 100 GB provisioned counts 50 GB: the small instance; 1,100 GB counts 550 GB: 2."""
    day = D(2026, 1, 1)
    fees = pi_fee_usd_per_month([5, 5], PRICES, "crash", day=day, provisioned_gb=[100, 1100])
    assert fees.tolist() == [5.0, 20.0]


def _selective(policy: Policy, **options: object) -> dict[str, float]:
    b = whatif_bill(
        used_gb=300, prices=PRICES, policy=policy, months=2, daily_churn_fraction=0.02, **options
    )
    return b.row(1, named=True)


@pytest.mark.parametrize("kind", ["standard", "enhanced"])
def test_g6_selective_disk_example_under_each_policy_type(kind: str) -> None:
    """G6: a VM with 300 GB used, 200 GB of it on an excluded data disk. Standard: the PI counts
    all disks (300 GB), the vault the included 100 GB, snapshots all 300 GB. Enhanced: all
    three count the included 100 GB."""
    policy = Policy(policy_type=kind, daily_retention_days=30, instant_restore_days=5)
    whole, part = _selective(policy), _selective(policy, excluded_gb=200)
    assert part["vault_gb"] == pytest.approx(whole["vault_gb"] / 3)
    if kind == "standard":
        assert part["pi_size_gb"] == 300
        assert part["snapshot_gb"] == pytest.approx(whole["snapshot_gb"])
    else:
        assert part["pi_size_gb"] == 100
        assert part["snapshot_gb"] == pytest.approx(whole["snapshot_gb"] / 3)


def test_g6_standard_policy_with_only_the_os_disk_counts_the_os_disk_for_the_pi() -> None:
    """G6: under Standard, keeping only the OS disk makes the PI count it alone."""
    policy = Policy(daily_retention_days=30)
    row = _selective(policy, excluded_gb=260, os_disk_only=True)
    assert row["pi_size_gb"] == 40
    assert row["pi_fee_usd"] == pytest.approx(5.0)


def test_g8_trusted_launch_snapshots_are_billed_like_enhanced() -> None:
    """G8, P4: a Trusted Launch VM under Standard keeps a full first snapshot: 100 GB VM, 2%
    churn, 5 days: 108 GB (+ one lagging snapshot, G9) instead of 10 GB."""
    policy = Policy(instant_restore_days=5)
    plain = whatif_bill(
        used_gb=100, prices=PRICES, policy=policy, months=2, daily_churn_fraction=0.02
    )
    trusted = whatif_bill(
        used_gb=100,
        prices=PRICES,
        policy=policy,
        months=2,
        daily_churn_fraction=0.02,
        trusted_launch=True,
    )
    assert plain.row(1, named=True)["snapshot_gb"] == pytest.approx(12.0)
    assert trusted.row(1, named=True)["snapshot_gb"] == pytest.approx(110.0)


def test_g9_snapshot_prices_by_policy_type_never_by_media() -> None:
    """G9: East US: Enhanced snapshots at the Standard HDD incremental price (LRS and ZRS 0.05),
    a Standard policy's at its own row (0.12); the month of Microsoft's P4 example (100 GB, 2%,
    5 days: 10 GB under Standard, 108 GB under Enhanced) costs 1.20 and 5.40 USD, whatever
    the disks' media."""
    east = read_prices(region="eastus")
    assert east.snapshot_prices == {
        ("enhanced", "LRS"): 0.05,
        ("enhanced", "ZRS"): 0.05,
        ("standard", "LRS"): 0.12,
    }
    options = {"used_gb": 100, "prices": east, "months": 2, "daily_churn_fraction": 0.02}
    standard = whatif_bill(policy=Policy(instant_restore_days=5), **options)
    enhanced = whatif_bill(policy=Policy(policy_type="enhanced", instant_restore_days=5), **options)
    assert standard.row(1, named=True)["snapshot_storage_usd"] == pytest.approx(12.0 * 0.12)
    assert enhanced.row(1, named=True)["snapshot_storage_usd"] == pytest.approx(110.0 * 0.05)


def test_g9_snapshot_meter_names_the_line_as_the_invoice_does() -> None:
    """G8, G9: the meter, product and redundancy of each snapshot kind; a Trusted Launch VM
    under Standard takes Enhanced's meter; ZRS by default, LRS when asked."""
    east = read_prices(region="eastus")
    assert snapshot_meter(east, "enhanced") == (
        "ZRS Snapshots",
        "Standard HDD Managed Disks",
        "ZRS",
        0.05,
    )
    assert snapshot_meter(east, "enhanced", redundancy="LRS")[0] == "LRS Snapshots"
    assert snapshot_meter(east, "standard", trusted_launch=True)[:2] == (
        "ZRS Snapshots",
        "Standard HDD Managed Disks",
    )
    assert snapshot_meter(east, "standard") == (
        "LRS Snapshots",
        "Instant Restore Snapshots (Standard policy)",
        "LRS",
        0.12,
    )
    with pytest.raises(ValueError, match="^snapshot_redundancy='GRS'"):
        snapshot_meter(east, "enhanced", redundancy="GRS")


def test_g9_enhanced_hourly_keeps_several_snapshots_a_day_and_up_to_three_extra() -> None:
    """Y2, G9: every 8 h in a 24 h window: 3 snapshots a day; clean-up lag of 24 h leaves 3
    more. 5 days: 15 + 3 snapshots: the first full, 17 increments of a third of a day's churn
    (sequential writes)."""
    policy = Policy(
        policy_type="enhanced",
        frequency="hourly",
        hourly_interval_hours=8,
        window_hours=24,
        instant_restore_days=5,
    )
    b = whatif_bill(
        used_gb=300,
        prices=PRICES,
        policy=policy,
        months=2,
        daily_churn_fraction=0.03,
        overlap="sequential",
    )
    assert b.row(1, named=True)["snapshot_gb"] == pytest.approx(300 + 17 * 9.0 / 3)


def test_g10_cross_region_restore_bills_the_vault_at_the_ra_grs_price() -> None:
    """G10: cross-region restore on a GRS vault: storage at the RA-GRS price."""
    grs = whatif_bill(used_gb=200, prices=PRICES, policy=ENHANCED, months=2)
    crr = whatif_bill(
        used_gb=200, prices=PRICES, policy=ENHANCED, months=2, cross_region_restore=True
    )
    ratio = PRICES.storage_usd_per_gb_month["RA-GRS"] / PRICES.storage_usd_per_gb_month["GRS"]
    assert crr["vault_storage_usd"].to_list() == pytest.approx(
        (grs["vault_storage_usd"] * ratio).to_list()
    )
    with pytest.raises(ValueError, match="cross_region_restore=True needs a GRS vault"):
        whatif_bill(
            used_gb=200,
            prices=PRICES,
            policy=ENHANCED,
            redundancy="LRS",
            cross_region_restore=True,
        )


# --- archive -------------------------------------------------------------------------------------


def _days(years: int) -> pl.Series:
    return pl.date_range(D(2026, 1, 1), D(2026 + years, 1, 1), "1d", eager=True, closed="left")


def test_g7_only_monthly_and_yearly_points_move_after_their_time_in_standard() -> None:
    """G7: TierAfter 100 days: monthly points move 100 days after they are made, if at least
    6 months of retention are left; daily points never move."""
    days = _days(2)
    n = days.len()
    points = vault_points(LONG, days)
    plan = archive_moves(
        points, np.full(n, 100.0), np.full(n, 2.0), mode="TierAfter", after_days=100
    ).points.with_columns(kept_by=points["kept_by"])
    moved = plan.filter(pl.col("move_day") >= 0)
    assert set(moved["kept_by"]) == {"monthly"}
    assert (moved["move_day"] - moved["created_day"] == 100).all()
    assert (moved["expires_day"] - moved["move_day"] >= 186).all()
    with pytest.raises(ValueError, match="at least 93 days"):
        archive_moves(points, np.full(n, 100.0), np.full(n, 2.0), mode="TierAfter", after_days=30)


def test_g7_recommended_moves_points_only_when_archiving_saves_money() -> None:
    """G7: an archived point becomes full: at low churn it frees little standard data and is
    not recommended; at high churn (random overlap) it is."""
    days = _days(2)
    n = days.len()
    points = vault_points(LONG, days)
    price = PRICES.storage_usd_per_gb_month["GRS"], PRICES.archive_usd_per_gb_month["GRS"]

    def moved(churn: float) -> int:
        plan = archive_moves(
            points,
            np.full(n, 100.0),
            np.full(n, churn),
            mode="TierRecommended",
            standard_price=price[0],
            archive_price=price[1],
        )
        return int((plan.points["move_day"] >= 0).sum())

    assert moved(0.05) == 0
    assert moved(20.0) > 0


def test_g7_archived_points_are_full_and_early_deletion_is_charged() -> None:
    """G7: deleting data whose points were archived less than 180 days before charges the rest
    of the 180 days at the archive price."""
    policy = Policy(
        daily_retention_days=30,
        monthly_retention_months=24,
        tiering=TieringPolicy("TierAfter", after_days=93),
    )
    events = [
        Event("protect", D(2026, 1, 1), used_gb=500),
        Event("first-backup", D(2026, 1, 1)),
        Event("stop", D(2026, 7, 1)),
        Event("delete", D(2026, 8, 1)),
    ]
    b = monthly_bill(events, until=D(2026, 12, 31), policy=policy, prices=PRICES)
    april = b.filter(pl.col("month") == D(2026, 4, 1)).row(0, named=True)
    assert april["archive_gb"] > 0
    assert april["archive_gb"] % 500 == pytest.approx(0, abs=1e-6) or april["archive_gb"] < 500
    august = b.filter(pl.col("month") == D(2026, 8, 1)).row(0, named=True)
    assert august["archive_storage_usd"] > 0  # early deletion charged on the delete day
    assert b.filter(pl.col("month") > D(2026, 8, 1))["archive_storage_usd"].sum() == 0


def test_g7_tiering_policy_is_read_from_policy_json() -> None:
    """G7, Y4: tieringPolicy.ArchivedRP with TierAfter 3 months = 93 days; round trip."""
    policy = Policy(daily_retention_days=30, monthly_retention_months=60)
    body = policy_to_arm(policy)
    body["properties"]["tieringPolicy"] = {
        "ArchivedRP": {"tieringMode": "TierAfter", "duration": 3, "durationType": "Months"}
    }
    read = policy_from_arm(body)
    assert read.tiering == TieringPolicy("TierAfter", after_days=93)
    assert policy_from_arm(policy_to_arm(read)) == read
    body["properties"]["tieringPolicy"]["ArchivedRP"]["tieringMode"] = "Sometimes"
    with pytest.raises(ValueError, match="tieringPolicy.ArchivedRP.tieringMode"):
        policy_from_arm(body)


# --- invoice lines -------------------------------------------------------------------------------


def test_p7_meter_lines_add_up_to_the_monthly_bill_and_use_invoice_meter_names() -> None:
    """P7: per VM and meter, with the meter names of the Retail Prices API / invoice."""
    policy = Policy(
        daily_retention_days=30,
        monthly_retention_months=120,
        yearly_retention_years=10,
        tiering=TieringPolicy("TierAfter", after_days=93),
    )
    events = [Event("protect", D(2026, 1, 1), used_gb=800), Event("first-backup", D(2026, 1, 1))]
    args = {"until": D(2035, 12, 31), "policy": policy, "prices": PRICES}
    monthly = monthly_bill(events, **args)  # type: ignore[arg-type]
    lines = meter_bill(events, vm="app01", **args)  # type: ignore[arg-type]
    per_month = lines.group_by("month").agg(pl.col("cost").sum()).sort("month")
    assert per_month["cost"].to_list() == pytest.approx(monthly["total_usd"].to_list())
    assert set(lines["meter"]) == {
        "Azure VM Protected Instance",
        "Standard GRS Data Stored",
        "Archive GRS Data Stored",
        "LRS Snapshots",
    }
    assert set(lines["vm"]) == {"app01"}
    totals = lines.group_by("meter").agg(pl.col("cost").sum()).sort("meter")
    print(totals)  # the 10-year bill with archive, per meter
    assert monthly.height == 120


def test_g8_enhanced_snapshots_default_to_zrs_and_standard_to_lrs() -> None:
    """G8: Enhanced keeps snapshots on ZRS, Standard on LRS: without an explicit redundancy the
    snapshot line is priced so (SSD in East US: ZRS 0.198, LRS 0.132 per GB-month)."""
    east = read_prices(region="eastus")
    options = {"used_gb": 100, "prices": east, "months": 2, "daily_churn_fraction": 0.02}
    for policy, redundancy in (
        (Policy(instant_restore_days=5), "LRS"),
        (
            Policy(
                policy_type="enhanced",
                frequency="hourly",
                hourly_interval_hours=12,
                window_hours=24,
                instant_restore_days=5,
            ),
            "ZRS",
        ),
    ):
        default = whatif_bill(policy=policy, **options)
        explicit = whatif_bill(policy=policy, snapshot_redundancy=redundancy, **options)
        assert (
            default["snapshot_storage_usd"].to_list() == explicit["snapshot_storage_usd"].to_list()
        )
        assert default["snapshot_storage_usd"][1] > 0


def test_g10_p7_cross_region_restore_lines_use_the_ra_grs_meter() -> None:
    """G10, P7: with cross-region restore the vault's invoice line is the RA-GRS meter, spelled
    as the Retail Prices API spells it."""
    events = [Event("protect", D(2026, 1, 1), used_gb=200), Event("first-backup", D(2026, 1, 1))]
    args = {"until": D(2026, 2, 28), "policy": ENHANCED, "prices": PRICES}
    lines = meter_bill(events, cross_region_restore=True, **args)  # type: ignore[arg-type]
    assert "Standard RA-GRS Data Stored" in set(lines["meter"])
    assert "Standard GRS Data Stored" not in set(lines["meter"])
