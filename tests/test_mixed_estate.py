"""Issue 24's acceptance: a mixed estate replanned (premium and standard disks, two time zones,
a Trusted Launch VM under each policy type, a deallocated VM), and one VM checked by hand
against Microsoft's pages and the price rows (G8, G9, G13, G14, G15, P1, P4, S28)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest

from vmbackup.billing import whatif_bill
from vmbackup.capacity import premium_space_check
from vmbackup.data import read_lag_profile, read_prices
from vmbackup.fleet import fleet_bill_lines, fleet_plan, simulate_fleet
from vmbackup.policy import Policy
from vmbackup.timezones import run_times

PRICES = read_prices(region="westeurope")
STANDARD = Policy(
    name="std",
    run_hour=22.5,
    time_zone="W. Europe Standard Time",
    daily_retention_days=7,
    schedule_reference_date=dt.date(2026, 1, 1),
)
ENHANCED = Policy(
    name="enh",
    policy_type="enhanced",
    run_hour=1.0,
    time_zone="Eastern Standard Time",
    daily_retention_days=7,
    schedule_reference_date=dt.date(2026, 1, 1),
)
START = dt.date(2026, 3, 1)


def _vm(name: str, policy: str, disk_type: str, **extra: Any) -> list[dict[str, Any]]:
    base = {
        "vm_name": name,
        "os": "linux",
        "vm_size": "Standard_D2s_v5",
        "cores": 2,
        "memory_gb": 8.0,
        "policy": policy,
        "churn_class": "low",
        "managed": True,
        "storage_account": None,
        "security_type": "Standard",
        "power_state": "running",
    } | extra
    return [
        base | {"disk_name": f"{name}-os", "disk_role": "os", "disk_type": disk_type,
                "allocated_gb": 128.0, "used_gb": 40.0},
        base | {"disk_name": f"{name}-data", "disk_role": "data", "disk_type": disk_type,
                "allocated_gb": 1024.0, "used_gb": 60.0},
    ]  # fmt: skip


ESTATE = pl.DataFrame(
    [
        *_vm("std-premium", "std", "premium"),
        *_vm("std-standard", "std", "standard"),
        *_vm("enh-premium", "enh", "premium"),
        *_vm("enh-standard", "enh", "standard"),
        *_vm("tl-std", "std", "premium", security_type="TrustedLaunch"),
        *_vm("tl-enh", "enh", "premium", security_type="TrustedLaunch"),
        *_vm("off", "std", "standard", power_state="deallocated"),
    ]
)


@pytest.fixture(scope="module")
def lines() -> pl.DataFrame:
    plan = fleet_plan(ESTATE, [STANDARD, ENHANCED])
    churn = plan.churn_share * plan.pi_size_gb
    found = fleet_bill_lines(plan, churn, START, 61, PRICES)
    names = pl.Series("vm_name", plan.vm_names)
    return found.with_columns(vm_name=names.gather(found["vm"]))


def _snapshot(lines: pl.DataFrame, vm: str) -> dict[str, Any]:
    april = lines.filter(
        (pl.col("vm_name") == vm)
        & pl.col("meter").str.contains("Snapshots")
        & (pl.col("month") == dt.date(2026, 4, 1))
    )
    rows = april.to_dicts()
    return rows[0] if rows else {}


def test_g9_snapshots_priced_by_policy_type_never_by_the_disks_media(lines: pl.DataFrame) -> None:
    """G9: a premium and a standard VM under the same policy pay the same snapshot price and
    the same amount; Standard at its own row (0.12), Enhanced at Standard HDD ZRS (0.05)."""
    for policy, meter, price in (
        ("std", "LRS Snapshots", 0.12),
        ("enh", "ZRS Snapshots", 0.05),
    ):
        premium, standard = (
            _snapshot(lines, f"{policy}-premium"),
            _snapshot(lines, f"{policy}-standard"),
        )
        assert (premium["meter"], premium["unit_price"]) == (meter, price)
        assert (standard["meter"], standard["unit_price"]) == (meter, price)
        assert premium["cost"] == pytest.approx(standard["cost"])


def test_g8_trusted_launch_billed_as_enhanced_under_either_policy(lines: pl.DataFrame) -> None:
    """G8.2: a Trusted Launch VM under Standard keeps Enhanced snapshots (first one full, Standard
    HDD price): its April line equals the Trusted Launch VM's under Enhanced... apart from the
    Instant Restore days each policy keeps (Standard's default 2, Enhanced's 7)."""
    tl_std, plain_std = _snapshot(lines, "tl-std"), _snapshot(lines, "std-premium")
    assert (tl_std["meter"], tl_std["unit_price"]) == ("ZRS Snapshots", 0.05)
    # 100 GB used, 2% a day: full first snapshot + 1 increment of IR 2, + 1 clean-up (G9.5)
    assert tl_std["quantity"] == pytest.approx(100 + 2 * 2.0)
    assert plain_std["quantity"] == pytest.approx(3 * 2.0)  # 2 kept + 1 clean-up, increments
    tl_enh = _snapshot(lines, "tl-enh")
    assert tl_enh["quantity"] == pytest.approx(100 + 7 * 2.0)  # IR 7: full + 6 + 1 clean-up


def test_a_deallocated_vm_has_no_churn_so_no_snapshot_increments(lines: pl.DataFrame) -> None:
    """A deallocated VM writes nothing: its Standard snapshots hold no increments, its vault only
    the full copy, its protected-instance fee stays (S24)."""
    assert _snapshot(lines, "off") == {}
    april = lines.filter((pl.col("vm_name") == "off") & (pl.col("month") == dt.date(2026, 4, 1)))
    by_meter = dict(zip(april["meter"], april["quantity"], strict=True))
    assert by_meter["Standard GRS Data Stored"] == pytest.approx(100.0)
    assert by_meter["Azure VM Protected Instance"] == pytest.approx(1.0)


def test_g13_utc_start_hours_stay_put_across_both_summer_time_changes() -> None:
    """G13: Standard's 22:30 W. Europe stays 21:30 UTC across 2026-03-29; Enhanced's 01:00
    Eastern stays 06:00 UTC across 2026-03-08; the simulated jobs start at those UTC hours."""
    plan = fleet_plan(ESTATE, [STANDARD, ENHANCED], time_zone="UTC")
    result = simulate_fleet(
        plan,
        lag_profile_hours=read_lag_profile(),
        start=dt.date(2026, 3, 1),
        days=35,
        prices=PRICES,
    )
    jobs = result.jobs.with_columns(hour=pl.col("start_hours") - 24 * pl.col("day"))
    names = np.array(plan.vm_names)[jobs["vm"].to_numpy()]
    for vm, hour in (("std-standard", 21.5), ("enh-standard", 6.0)):
        hours = jobs.filter(pl.Series(names == vm))["hour"].round(2).unique().to_list()
        assert hours == [hour], vm
    table = run_times("W. Europe Standard Time", 22.5, dt.date(2026, 3, 28), 3, dt.date(2026, 1, 1))
    assert table["utc_hour"].to_list() == [21.5, 21.5, 21.5]
    assert table["local_hour"].to_list() == [22.5, 23.5, 23.5]


def test_g15_no_spurious_premium_shortfall_on_managed_disks() -> None:
    """G15: every premium disk here is managed: today's rule finds nothing to check and no
    shortfall; the seed's S21 still checks them (1,152 GB allocated, 100 GB used: enough free)."""
    today = premium_space_check(ESTATE)
    assert today.filter(pl.col("status") == "short").height == 0
    seed = premium_space_check(ESTATE, rules="seed")
    assert seed.filter(pl.col("status") == "short").height == 0


def test_hand_check_one_standard_vm_for_a_month() -> None:
    """Hand check of one VM against the pages (West Europe, USD): 100 GB used, 2% a day, a
    Standard daily policy keeping 7 daily points and 2 days of snapshots, GRS vault. February:
    - PI (P1): 100 GB is over 50 and up to 500 GB: one unit, 10.00 USD;
    - vault (S28): a full 100 GB + 6 daily increments of 2 GB = 112 GB x 0.0448 = 5.0176 USD;
    - snapshots (P4, G9.2, G9.5): 2 kept increments + 1 awaiting clean-up = 6 GB x 0.12 =
      0.72 USD (a premium disk changes nothing, G9);
    total 15.7376 USD. Under Enhanced the snapshots are 100 + 6 x 2 + 2 = 114 GB x 0.05 = 5.70."""
    month = whatif_bill(
        used_gb=100,
        prices=PRICES,
        policy=Policy(daily_retention_days=7),
        months=2,
        daily_churn_fraction=0.02,
        redundancy="GRS",
    ).row(1, named=True)
    assert month["pi_fee_usd"] == pytest.approx(10.0)
    assert month["vault_gb"] == pytest.approx(112.0)
    assert month["vault_storage_usd"] == pytest.approx(5.0176)
    assert month["snapshot_gb"] == pytest.approx(6.0)
    assert month["snapshot_storage_usd"] == pytest.approx(0.72)
    assert month["total_usd"] == pytest.approx(15.7376)
    enhanced = whatif_bill(
        used_gb=100,
        prices=PRICES,
        policy=Policy(policy_type="enhanced", daily_retention_days=7),
        months=2,
        daily_churn_fraction=0.02,
        redundancy="GRS",
    ).row(1, named=True)
    assert enhanced["snapshot_storage_usd"] == pytest.approx(114 * 0.05)
