"""S21: room for the first backup on premium storage; the sample fleet and its checks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmbackup.capacity import account_space_check, premium_space_check, vm_space_check
from vmbackup.data import FLEET_SCHEMA, dataset_path, read_fleet

FLEET = read_fleet()


def test_s21_premium_needs_half_the_allocated_space_free_before_the_first_backup() -> None:
    """S21: premium + Instant Restore: 50% of the allocated storage free, first backup only."""
    ok = vm_space_check(allocated_gb=1024, used_gb=512, rules="seed")
    short = vm_space_check(allocated_gb=1024, used_gb=700, rules="seed")
    assert (ok.status, ok.shortfall_gb) == ("ok", 0.0)
    assert (short.status, short.required_free_gb, short.free_gb) == ("short", 512.0, 324.0)
    assert short.shortfall_gb == 188.0
    assert short.grow_by_gb == 376.0  # 2 x 700 - 1024: then 700 of 1400 is used
    assert "free 188.0 GB" in short.advice


def test_s21_the_rule_no_longer_applies_after_the_first_backup() -> None:
    """S21: the 50% free space is not needed once the first backup has completed."""
    assert vm_space_check(
        allocated_gb=100, used_gb=99, first_backup_done=True, rules="seed"
    ).status == ("not-applicable")


def test_s21_standard_disks_and_no_instant_restore_are_exempt() -> None:
    """S21 applies to premium storage with Instant Restore only."""
    assert (
        vm_space_check(allocated_gb=100, used_gb=99, premium=False, rules="seed").status
        == "not-applicable"
    )
    assert vm_space_check(
        allocated_gb=100, used_gb=99, instant_restore=False, rules="seed"
    ).status == ("not-applicable")


def test_s21_fleet_check_matches_the_single_vm_check_for_every_vm() -> None:
    """S21 vectorised: every VM's row equals the one-VM computation."""
    checks = premium_space_check(FLEET, rules="seed")
    assert checks.height == FLEET["vm_name"].n_unique()
    premium = FLEET.filter((pl.col("disk_role") != "temp") & (pl.col("disk_type") == "premium"))
    totals = premium.group_by("vm_name").agg(pl.col("allocated_gb").sum(), pl.col("used_gb").sum())
    for row in totals.join(checks, on="vm_name").iter_rows(named=True):
        single = vm_space_check(
            allocated_gb=row["allocated_gb"], used_gb=row["used_gb"], rules="seed"
        )
        assert row["status"] == single.status
        assert row["shortfall_gb"] == pytest.approx(single.shortfall_gb)
    standard_only = checks.filter(pl.col("premium_allocated_gb") == 0)
    assert (standard_only["status"] == "not-applicable").all()


def test_s21_temp_disks_do_not_count() -> None:
    """S21/S26: the temporary disk is not backed up, so it is not part of the check."""
    vm = FLEET.filter(pl.col("vm_name") == FLEET["vm_name"][0])
    grown = vm.with_columns(
        pl.when(pl.col("disk_role") == "temp")
        .then(1e6)
        .otherwise(pl.col("allocated_gb"))
        .alias("allocated_gb")
    )
    assert premium_space_check(vm, rules="seed").equals(premium_space_check(grown, rules="seed"))


def test_s21_first_backup_done_exempts_listed_vms() -> None:
    checks = premium_space_check(FLEET, rules="seed")
    short = checks.filter(pl.col("status") == "short")["vm_name"]
    done = pl.DataFrame({"vm_name": short, "first_backup_done": [True] * short.len()})
    after = premium_space_check(FLEET, rules="seed", first_backup_done=done)
    assert after.filter(pl.col("status") == "short").height == 0


def test_s21_s22_accounts_of_unmanaged_disks() -> None:
    """S21 per premium account; S22: 5 or more disks on one account are flagged."""
    accounts = account_space_check(FLEET)
    assert set(accounts["storage_account"]) == set(
        FLEET.filter(~pl.col("managed") & (pl.col("disk_role") != "temp"))["storage_account"]
    )
    assert (accounts["crowded"] == (accounts["disks"] >= 5)).all()
    tight = account_space_check(FLEET, capacity_gb=3000)
    row = tight.filter(pl.col("storage_account") == "stlegacy02p").row(0, named=True)
    assert row["status"] == "short"
    assert row["shortfall_gb"] == pytest.approx(
        row["allocated_gb"] * 0.5 - (3000 - row["allocated_gb"])
    )


@given(st.integers(0, 100_000), st.floats(0, 1))
def test_shortfall_is_never_negative_and_zero_iff_half_is_free(
    allocated: int, share: float
) -> None:
    used = float(round(allocated * share))
    check = vm_space_check(allocated_gb=allocated, used_gb=used, rules="seed")
    assert check.shortfall_gb >= 0
    assert (check.shortfall_gb == 0) == (2 * used <= allocated)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"allocated_gb": -1, "used_gb": 0}, "allocated_gb=-1 must be a finite number >= 0"),
        ({"allocated_gb": 10, "used_gb": 20}, "used_gb=20 exceeds allocated_gb=10"),
        (
            {"allocated_gb": 10, "used_gb": 5, "premium": "yes"},
            "premium='yes' must be True or False",
        ),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        vm_space_check(**kwargs)  # type: ignore[arg-type]


# --- the sample fleet -----------------------------------------------------------------------------


def test_sample_fleet_is_realistic_and_reproducible() -> None:
    """The sample fleet: 200 VMs, mostly 1-4 cores (X5), one OS and one temp disk each."""
    vms = FLEET.unique("vm_name")
    assert vms.height == 200
    assert vms.filter(pl.col("cores") <= 4).height / vms.height > 0.8
    roles = FLEET.group_by("vm_name").agg((pl.col("disk_role") == "temp").sum().alias("temp"))
    assert (roles["temp"] == 1).all()
    import importlib.util

    spec = importlib.util.spec_from_file_location("make", dataset_path("make_sample_fleet.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    remade = module.make()
    assert remade.select(list(FLEET_SCHEMA)).equals(FLEET.select(list(FLEET_SCHEMA)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("vm_name,", "name,", 1), r"missing column\(s\) \['vm_name'\]"),
        (
            lambda t: t.replace(",linux,", ",solaris,", 1),
            r"os='solaris' must be one of \['windows', 'linux'\]",
        ),
        (
            lambda t: t.replace(",30.0,10.4", ",30.0,-10.4", 1),
            "used_gb=-10.4 must be a finite number >= 0",
        ),
        (
            lambda t: t.replace(",30.0,10.4", ",30.0,40.4", 1),
            "used_gb=40.4 exceeds allocated_gb=30.0",
        ),
        (
            lambda t: t.replace("DailyPolicy,,", "DailyPolicy,25.0,", 1),
            r"schedule_hour=25.0 must be a finite number in \[0, 24\)",
        ),
    ],
)
def test_a_broken_fleet_file_names_the_row_and_field(
    tmp_path: Path, change: object, message: str
) -> None:
    path = tmp_path / "fleet.csv"
    path.write_text(change(dataset_path("sample_fleet.csv").read_text()))  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        read_fleet(path)


def test_x1_more_than_32_data_disks_is_rejected(tmp_path: Path) -> None:
    """X1: up to 32 data disks per VM."""
    vm = FLEET.filter(pl.col("vm_name") == "vm-lnx-001")
    data = vm.filter(pl.col("disk_role") == "data")
    extra = pl.concat(
        [data.with_columns(pl.lit(f"vm-lnx-001-extra{i}").alias("disk_name")) for i in range(33)]
    )
    path = tmp_path / "fleet.csv"
    pl.concat([vm.filter(pl.col("disk_role") != "data"), extra]).write_csv(path)
    with pytest.raises(ValueError, match=r"has 33 data disks; a VM has at most 32 \(X1\)"):
        read_fleet(path)


def test_s21_short_by_half_a_gb_is_short_and_exactly_half_free_is_ok() -> None:
    """S21 at its boundary: exactly 50% free is enough; 0.5 GB less is not, and says so."""
    assert vm_space_check(allocated_gb=1024, used_gb=512, rules="seed").status == "ok"
    nearly = vm_space_check(allocated_gb=1024, used_gb=512.5, rules="seed")
    assert (nearly.status, nearly.shortfall_gb) == ("short", 0.5)
