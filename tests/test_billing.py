"""The billing engine: PI size and fee, storage, proration, soft delete and the lifecycle
(S23-S28, P1-P5, P7)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmbackup.billing import (
    Event,
    monthly_bill,
    pi_fee_usd_per_month,
    pi_units,
    protected_instance_gb,
    whatif_bill,
)
from vmbackup.data import dataset_path, read_prices
from vmbackup.policy import Policy

PRICES = read_prices(region="westeurope")
POLICY = Policy(daily_retention_days=30)
D = dt.date


def bill(events: list[Event], until: dt.date, **kwargs: object) -> pl.DataFrame:
    args: dict[str, object] = {"policy": POLICY, "prices": PRICES} | kwargs
    return monthly_bill(events, until=until, **args)  # type: ignore[arg-type]


# --- protected instance --------------------------------------------------------------------------


def test_s26_seed_example_is_47_gb_without_the_temp_disk() -> None:
    """S26: OS 17 GB + data 30 GB + 0 GB = 47 GB; the 5 GB on the temp disk does not count."""
    assert protected_instance_gb(17, [30, 0], temp_disk_used_gb=5) == 47.0
    assert protected_instance_gb(17, [30, 0], temp_disk_used_gb=135) == 47.0


def test_s26_pi_size_uses_actual_data_not_disk_maximums() -> None:
    """S26: pricing uses the data on the disks, not their (32 TB) maximum size."""
    assert pi_fee_usd_per_month(protected_instance_gb(17, [30, 0]), PRICES) == 5.0


def test_p1_pi_tiers_and_started_500_gb_blocks() -> None:
    """P1: up to 50 GB $5; 50-500 GB $10; above, $10 per started 500 GB (501 GB: 2 PIs)."""
    sizes = [0, 47, 50, 50.1, 500, 501, 1000, 2000, 2001]
    assert pi_fee_usd_per_month(sizes, PRICES).tolist() == [5, 5, 5, 10, 10, 20, 20, 40, 50]
    assert pi_units([501, 2000]).tolist() == [2.0, 4.0]


def test_s27_agentless_is_charged_half_a_pi_in_preview() -> None:
    """S27: agentless crash-consistent: 0.5 PI per VM during preview (the seed's rule, and the
    rule of any day before GA)."""
    assert pi_fee_usd_per_month(47, PRICES, "crash") == 2.5
    assert pi_fee_usd_per_month(600, PRICES, "crash") == 10.0
    assert pi_fee_usd_per_month(47, PRICES, "crash", day=D(2025, 7, 31)) == 2.5


def test_pi_size_rejects_negative_sizes_naming_the_field() -> None:
    with pytest.raises(ValueError, match="os_disk_used_gb=-1 must be a finite number >= 0"):
        protected_instance_gb(-1)
    with pytest.raises(ValueError, match="data_disks_used_gb must be finite numbers >= 0"):
        protected_instance_gb(10, [5, -3])


# --- prices --------------------------------------------------------------------------------------


def test_p2_storage_prices_by_redundancy_from_the_data_file() -> None:
    """P2: West Europe LRS 0.0224, ZRS 0.028, GRS 0.0448, RA-GRS 0.0569 USD per GB-month."""
    assert PRICES.storage_usd_per_gb_month == {
        "LRS": 0.0224,
        "ZRS": 0.028,
        "GRS": 0.0448,
        "RA-GRS": 0.0569,
    }


def _prices_file(tmp_path: Path, extra: str) -> Path:
    text = dataset_path("prices.csv").read_text()
    path = tmp_path / "prices.csv"
    path.write_text(text + extra)
    return path


def test_p7_reservation_rows_are_rejected(tmp_path: Path) -> None:
    """P7: 'Backup Reserved Capacity' rows are 100 TB / 1 PB blocks, not per-GB prices."""
    row = (
        "westeurope,USD,Backup Reserved Capacity,Standard LRS Data Stored,100 TB/Month,,1500,x,"
        "2024\n"
    )
    with pytest.raises(ValueError, match="reserved-capacity price"):
        read_prices(_prices_file(tmp_path, row))


def test_p7_unknown_meters_are_rejected(tmp_path: Path) -> None:
    """P7: only the known Retail Prices API meters are accepted."""
    row = "westeurope,USD,Backup,Azure SQL Protected Instance,1/Month,,15,x,2024\n"
    with pytest.raises(ValueError, match="meter='Azure SQL Protected Instance' is not a known"):
        read_prices(_prices_file(tmp_path, row))


def test_a_price_file_without_a_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("region,meter,price\nwesteurope,Standard LRS Data Stored,0.02\n")
    with pytest.raises(ValueError, match=r"prices.csv: missing column\(s\)"):
        read_prices(path)


def test_a_user_can_swap_in_another_region(tmp_path: Path) -> None:
    rows = dataset_path("prices.csv").read_text().splitlines()
    mine = [r for r in rows[1:] if r.startswith("westeurope,USD,")]
    other = [r.replace("westeurope", "mars").replace(",0.0448,", ",0.04,") for r in mine]
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([rows[0], *mine, *other]) + "\n")
    assert read_prices(path, region="mars").storage_usd_per_gb_month["GRS"] == 0.04
    with pytest.raises(ValueError, match="region=None but the table holds"):
        read_prices(path)
    with pytest.raises(ValueError, match="region='venus' not in the price table"):
        read_prices(path, region="venus")
    with pytest.raises(ValueError, match="currency='EUR' not in the price table"):
        read_prices(path, region="mars", currency="EUR")


# --- lifecycle -----------------------------------------------------------------------------------


def test_s23_nothing_is_billed_before_the_first_successful_backup() -> None:
    """S23: billing starts with the first successful backup, for PI and storage alike."""
    b = bill(
        [Event("protect", D(2026, 1, 1), used_gb=47), Event("first-backup", D(2026, 2, 10))],
        D(2026, 2, 28),
    )
    january, february = b.row(0, named=True), b.row(1, named=True)
    assert january["total_usd"] == 0.0
    assert february["days_billed"] == 19
    assert february["pi_fee_usd"] == pytest.approx(5.0 * 19 / 28)
    assert february["vault_storage_usd"] > 0


def test_never_backed_up_successfully_costs_nothing() -> None:
    """S23: a protected VM whose backups never succeed is never billed."""
    b = bill([Event("protect", D(2026, 1, 1), used_gb=500)], D(2026, 6, 30))
    assert b["total_usd"].sum() == 0.0


def test_p3_a_month_partly_protected_is_prorated_by_days() -> None:
    """P3: usage is prorated by the days protected in the month."""
    b = bill(
        [Event("protect", D(2026, 4, 16), used_gb=47), Event("first-backup", D(2026, 4, 16))],
        D(2026, 5, 31),
    )
    assert b["pi_fee_usd"].to_list() == pytest.approx([5.0 * 15 / 30, 5.0])


def test_s24_s25_stop_with_data_retained_keeps_billing_at_the_last_backup_size() -> None:
    """S24, S25: after stop, billing continues; the PI size is the last successful backup's."""
    b = bill(
        [
            Event("protect", D(2026, 1, 1), used_gb=400),
            Event("first-backup", D(2026, 1, 1)),
            Event("resize", D(2026, 2, 1), used_gb=900),
            Event("stop", D(2026, 3, 1)),
        ],
        D(2026, 6, 30),
    )
    after = b.filter(pl.col("month") >= D(2026, 3, 1))
    assert after["pi_size_gb"].to_list() == [900.0] * 4
    assert after["pi_fee_usd"].to_list() == pytest.approx([20.0] * 4)
    assert after["vault_gb"].n_unique() == 1
    assert (after["vault_storage_usd"] > 0).all()


def test_s24_billing_stops_when_the_data_is_deleted() -> None:
    """S24: billing stops only when protection is stopped and all data is deleted."""
    b = bill(
        [
            Event("protect", D(2026, 1, 1), used_gb=100),
            Event("first-backup", D(2026, 1, 1)),
            Event("stop", D(2026, 2, 1)),
            Event("delete", D(2026, 3, 1)),
        ],
        D(2026, 6, 30),
    )
    assert b.filter(pl.col("month") >= D(2026, 3, 1))["total_usd"].to_list() == [0.0] * 4


def test_g5_soft_delete_bills_all_but_the_last_14_days_as_stop_with_retained_data() -> None:
    """G5, P5: soft-deleted data is kept 14-180 days; the last 14 are free, the days before them
    are billed like stop protection with data retained: PI and storage."""
    events = [
        Event("protect", D(2026, 1, 1), used_gb=100),
        Event("first-backup", D(2026, 1, 1)),
        Event("stop", D(2026, 2, 1)),
        Event("delete", D(2026, 3, 1)),
    ]
    free = bill(events, D(2026, 4, 30), soft_delete_days=14)
    kept = bill(events, D(2026, 4, 30), soft_delete_days=30)
    march_free, march_kept = free.row(2, named=True), kept.row(2, named=True)
    assert march_free["total_usd"] == 0.0
    assert march_kept["days_billed"] == 16  # 1-16 March billed, 17-30 March free
    assert march_kept["pi_fee_usd"] == pytest.approx(10.0 * 16 / 31)
    february = kept.row(1, named=True)
    assert march_kept["vault_storage_usd"] == pytest.approx(february["vault_storage_usd"] * 16 / 31)
    with pytest.raises(ValueError, match="soft_delete_days=200 must be a whole number in 14..180"):
        bill(events, D(2026, 4, 30), soft_delete_days=200)


def test_g5_microsoft_example_60_days_recovered_after_52() -> None:
    """G5: 60 days of soft delete: the first 46 are billed, the last 14 free (the page's example
    recovers after 52 days: 46 billed, the last 6 free)."""
    events = [
        Event("protect", D(2026, 1, 1), used_gb=100),
        Event("first-backup", D(2026, 1, 1)),
        Event("stop", D(2026, 1, 31)),
        Event("delete", D(2026, 2, 1)),
    ]
    b = bill(events, D(2026, 6, 30), soft_delete_days=60)
    assert b["days_billed"].to_list() == [31, 28, 18, 0, 0, 0]  # 28 + 18 = 46 soft days billed


def test_s28_and_p2_storage_cost_follows_stored_gb_and_redundancy() -> None:
    """S28, P2: storage bill = stored GB x the redundancy's price per GB-month."""
    month = whatif_bill(
        used_gb=100,
        prices=PRICES,
        policy=Policy(daily_retention_days=7),
        months=2,
        daily_churn_fraction=0.02,
    )
    february = month.row(1, named=True)
    assert february["vault_gb"] == pytest.approx(112.0)
    assert february["vault_storage_usd"] == pytest.approx(112.0 * 0.0448)
    lrs = whatif_bill(
        used_gb=100,
        prices=PRICES,
        policy=Policy(daily_retention_days=7),
        months=2,
        daily_churn_fraction=0.02,
        redundancy="LRS",
    )
    assert lrs.row(1, named=True)["vault_storage_usd"] == pytest.approx(112.0 * 0.0224)


def test_p4_g9_snapshot_storage_standard_vs_enhanced_with_clean_up_lag() -> None:
    """P4, G9: Standard ~ days x churn, Enhanced ~ size + (days - 1) x churn, billed as
    snapshots; clean-up lag (24 h) leaves one more daily snapshot, billed too (n + 1)."""
    standard = Policy(instant_restore_days=5)
    enhanced = Policy(policy_type="enhanced", instant_restore_days=5)
    s = whatif_bill(
        used_gb=100, prices=PRICES, policy=standard, months=2, daily_churn_fraction=0.02
    )
    e = whatif_bill(
        used_gb=100, prices=PRICES, policy=enhanced, months=2, daily_churn_fraction=0.02
    )
    assert s.row(1, named=True)["snapshot_gb"] == pytest.approx(10.0 + 2.0)
    assert e.row(1, named=True)["snapshot_gb"] == pytest.approx(108.0 + 2.0)
    # Enhanced keeps ZRS snapshots (G8), HDD by default: 0.05 per GB-month like LRS (G9)
    assert e.row(1, named=True)["snapshot_storage_usd"] == pytest.approx(110.0 * 0.05)


def test_bill_columns_and_rollup() -> None:
    b = whatif_bill(used_gb=47, prices=PRICES, policy=POLICY)
    assert b.columns == [
        "month",
        "days_billed",
        "pi_size_gb",
        "vault_gb",
        "archive_gb",
        "snapshot_gb",
        "pi_fee_usd",
        "vault_storage_usd",
        "archive_storage_usd",
        "snapshot_storage_usd",
        "rules",
        "total_usd",
    ]
    assert b.height == 12
    parts = (
        b["pi_fee_usd"]
        + b["vault_storage_usd"]
        + b["archive_storage_usd"]
        + b["snapshot_storage_usd"]
    )
    assert np.allclose(parts.to_numpy(), b["total_usd"].to_numpy())


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [Event("first-backup", D(2026, 1, 1))],
            "events must start with a 'protect' event giving used_gb",
        ),
        (
            [Event("protect", D(2026, 2, 1), used_gb=1), Event("first-backup", D(2026, 1, 1))],
            "events must be in date order",
        ),
        (
            [
                Event("protect", D(2026, 1, 1), used_gb=1),
                Event("first-backup", D(2026, 1, 2)),
                Event("delete", D(2026, 1, 3)),
            ],
            "'delete' needs a 'stop' first: backup data is deleted after protection stops",
        ),
        (
            [
                Event("protect", D(2026, 1, 1), used_gb=1),
                Event("protect", D(2026, 1, 2), used_gb=1),
            ],
            "event kind='protect' appears twice; it can happen once",
        ),
    ],
)
def test_impossible_lifecycles_are_rejected(events: list[Event], message: str) -> None:
    """S23-S25: a lifecycle that cannot happen is refused with the whole reason."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        bill(events, D(2026, 12, 31))


def test_event_fields_are_checked() -> None:
    with pytest.raises(ValueError, match="kind='pause' is not allowed"):
        Event("pause", D(2026, 1, 1))
    with pytest.raises(ValueError, match="a 'resize' event needs used_gb"):
        Event("resize", D(2026, 1, 1))
    with pytest.raises(ValueError, match="used_gb=-4 must be a finite number >= 0"):
        Event("protect", D(2026, 1, 1), used_gb=-4)


def test_bad_redundancy_and_churn_are_rejected() -> None:
    with pytest.raises(ValueError, match="redundancy='GZRS' is not allowed"):
        whatif_bill(used_gb=10, prices=PRICES, policy=POLICY, redundancy="GZRS")
    with pytest.raises(ValueError, match="daily_churn_fraction=1.5 must be between 0 and 1"):
        whatif_bill(used_gb=10, prices=PRICES, policy=POLICY, daily_churn_fraction=1.5)


# --- properties ----------------------------------------------------------------------------------

sizes = st.floats(0, 5000)
churns = st.floats(0, 0.2)
retentions = st.integers(7, 120)  # G3: at least 7 days today


@settings(max_examples=30, deadline=None)
@given(size=sizes, churn=churns, days=retentions, grow=st.floats(0, 2000), more=st.integers(0, 60))
def test_the_bill_is_never_negative_and_never_falls_when_size_or_retention_grow(
    size: float, churn: float, days: int, grow: float, more: int
) -> None:
    def total(used: float, retention: int) -> np.ndarray:
        b = whatif_bill(
            used_gb=used,
            prices=PRICES,
            policy=Policy(daily_retention_days=retention),
            daily_churn_fraction=churn,
            months=3,
        )
        return b["total_usd"].to_numpy()

    base = total(size, days)
    assert (base >= 0).all()
    assert (total(size + grow, days) >= base - 1e-9).all()
    assert (total(size, days + more) >= base - 1e-9).all()


@settings(max_examples=20, deadline=None)
@given(
    size=sizes,
    churn=churns,
    first=st.integers(0, 80),
    stop=st.integers(1, 80),
    gap=st.integers(1, 80),
)
def test_zero_before_the_first_success_and_after_deletion(
    size: float, churn: float, first: int, stop: int, gap: int
) -> None:
    start = D(2026, 1, 1)
    events = [
        Event("protect", start, used_gb=size),
        Event("first-backup", start + dt.timedelta(days=first)),
        Event("stop", start + dt.timedelta(days=first + stop)),
        Event("delete", start + dt.timedelta(days=first + stop + gap)),
    ]
    until = start + dt.timedelta(days=first + stop + gap + 60)
    b = bill(events, until, daily_churn_fraction=churn)
    before = b.filter(pl.col("month").dt.offset_by("1mo") <= events[1].day)
    after = b.filter(pl.col("month") > events[3].day)
    assert (before["total_usd"] == 0).all()
    assert (after["total_usd"] == 0).all()
    assert (b["total_usd"] >= 0).all()


def test_p2_the_prices_say_how_old_each_row_is() -> None:
    """P2: prices carry their dates; a bill says the range of the rows it used, not one date."""
    prices = read_prices(region="westeurope")
    dated = prices.dated()
    assert dated.startswith(f"{prices.rows.height} rows dated {prices.rows['as_of'].min()} to ")
    assert prices.as_of == prices.rows["as_of"].max()
    assert len(prices.sources().splitlines()) == prices.rows.height
