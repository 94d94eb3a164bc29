"""What the readers take from Azure's JSON, in the right units and vocabulary: disk sizes in GiB
(G14), monthly and yearly retention on dates 29-31 (G3), and each VM's power state."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import mutated

from vmbackup.data import (
    check_fleet,
    dataset_path,
    read_azure_estate,
    read_estate_disks,
    read_fleet,
    read_used_sizes,
)
from vmbackup.inventory import estate_disks, estate_to_fleet, size_text
from vmbackup.policy import MonthlyDay, Policy
from vmbackup.policy_json import policies_from_document, policy_from_arm, policy_to_arm
from vmbackup.retention import point_expiry, recovery_points
from vmbackup.schema import FLEET_COLUMNS, GB_PER_GIB, POWER_STATES

VMS = json.loads(dataset_path("azure/vms.json").read_text())
DISKS = json.loads(dataset_path("azure/disks.json").read_text())
SHAPES = dataset_path("policies/shapes/terraform_plan.json").parent
TF_PLAN = json.loads((SHAPES / "terraform_plan.json").read_text())
TF_DAILY = ["planned_values", "root_module", "resources", 1, "values"]
PUT_BODY = json.loads((SHAPES / "put_body_enhanced_daily.json").read_text())
ARM_MONTHLY = ["properties", "retentionPolicy", "monthlySchedule"]

#: 1,024 GiB (a P30 disk) in GB: 1024 x 2^30 / 10^9.
P30_GB = 1099.511627776


# --- G14: Azure's diskSizeGB is in GiB ----------------------------------------------------------


def test_g14_a_gib_is_1_073741824_gb() -> None:
    """G14: GB means 10^9 bytes, GiB 2^30 bytes."""
    assert GB_PER_GIB == 1.073741824
    p30 = 1024 * GB_PER_GIB
    assert p30 == pytest.approx(P30_GB, abs=1e-9)


def test_g14_a_p30_disk_of_1024_gib_is_1099_5_gb_in_the_fleet() -> None:
    """G14: the sample's sql-01-data0 has diskSizeGB 1024 (a P30): 1,099.511627776 GB, and its
    assumed used half is 549.8 GB, not 512."""
    fleet = estate_to_fleet(VMS, DISKS)
    disk = fleet.filter(pl.col("disk_name") == "sql-01-data0").row(0, named=True)
    assert disk["allocated_gb"] == pytest.approx(P30_GB, abs=1e-9)
    assert disk["used_gb"] == 549.8
    by_disk = dict(zip(fleet["disk_name"], fleet["allocated_gb"], strict=True))
    assert by_disk["web-01_OsDisk_1"] == pytest.approx(32.21225472, abs=1e-9)  # 30 GiB
    assert by_disk["files-01-data0"] == pytest.approx(2199.023255552, abs=1e-9)  # 2,048 GiB


def test_g14_an_unmanaged_disks_size_in_the_vm_is_gib_too() -> None:
    """G14: legacy-01's VHDs give diskSizeGb 30 and 128 in the VM's own storageProfile."""
    fleet = estate_to_fleet(VMS, DISKS).filter(pl.col("vm_name") == "legacy-01")
    assert fleet["allocated_gb"].to_list() == pytest.approx([32.21225472, 137.438953472])
    assert fleet["used_gb"].to_list() == [16.1, 68.7]


def test_g14_the_eligibility_table_holds_gb_too() -> None:
    """G14: ``estate_disks`` converts like ``estate_to_fleet``; where the disk list has no size,
    the VM's view of the disk (``diskSizeGB`` or ``diskSizeGb``) gives it, in GiB too."""
    table = read_estate_disks(dataset_path("azure/vms.json"), dataset_path("azure/disks.json"))
    sizes = dict(zip(table["disk_name"], table["allocated_gb"], strict=True))
    assert sizes["sql-01-data0"] == pytest.approx(P30_GB, abs=1e-9)
    assert sizes["legacy-01-data0"] == pytest.approx(137.438953472, abs=1e-9)
    no_size = [{k: v for k, v in d.items() if k != "diskSizeGB"} for d in DISKS]
    vms = copy.deepcopy(VMS)
    vms[1]["storageProfile"]["dataDisks"][0]["diskSizeGB"] = 4095
    del vms[1]["storageProfile"]["dataDisks"][0]["diskSizeGb"]
    fallback = estate_disks(vms, no_size).filter(pl.col("disk_name") == "sql-01-data0")
    assert fallback["allocated_gb"].item() == pytest.approx(4396.972769280, abs=1e-9)


def test_g14_the_largest_disk_32767_gib_is_35183_3_gb() -> None:
    """G14: the largest (P80) disk is 32,767 GiB, 35,183.298 GB (a GB limit is set against it)."""
    disks = copy.deepcopy(DISKS)
    disks[3]["diskSizeGB"] = 32767
    fleet = estate_to_fleet(VMS, disks)
    disk = fleet.filter(pl.col("disk_name") == "sql-01-data0")
    assert disk["allocated_gb"].item() == pytest.approx(35183.298347008, abs=1e-9)


def test_g14_a_share_of_one_is_the_whole_disk_never_above_it() -> None:
    """G14: 127 GiB is 136.365211648 GB; 100% used must not round up to 136.4 GB (which would
    exceed the disk and be refused)."""
    fleet = read_azure_estate(
        dataset_path("azure/vms.json"), dataset_path("azure/disks.json"), used_fraction=1.0
    )
    sql_os = fleet.filter(pl.col("disk_name") == "sql-01_OsDisk_1").row(0, named=True)
    assert sql_os["used_gb"] == sql_os["allocated_gb"] == pytest.approx(136.365211648, abs=1e-9)
    assert (fleet["used_gb"] <= fleet["allocated_gb"]).all()
    assert fleet.filter(pl.col("disk_name") == "sql-01-data0")["used_gb"].item() == 1099.5


def _sizes(tmp_path: Path, used_gb: float) -> Path:
    path = tmp_path / "used.csv"
    path.write_text(f"vm_name,disk_name,used_gb\nsql-01,sql-01-data0,{used_gb}\n")
    return path


@pytest.mark.parametrize("used_gb", [1024.6, 1099.5])
def test_g14_used_data_above_1024_gb_fits_a_1024_gib_disk(tmp_path: Path, used_gb: float) -> None:
    """G14: a used-size file in GB on a 1,024 GiB disk: 1,024.6 GB (refused while the size was
    taken as GB) and 1,099.5 GB (just under 1,099.51) fit."""
    estate = estate_to_fleet(VMS, DISKS)
    fleet = read_used_sizes(_sizes(tmp_path, used_gb), estate)
    disk = fleet.filter(pl.col("disk_name") == "sql-01-data0").row(0, named=True)
    assert disk["used_gb"] == used_gb
    assert disk["used_gb_assumed"] is False
    assert disk["allocated_gb"] == pytest.approx(P30_GB, abs=1e-9)


def test_g14_used_data_above_the_gib_size_is_refused_in_both_units(tmp_path: Path) -> None:
    """G14, clear errors: 1,100 GB used on a 1,024 GiB (1,099.5 GB) disk is refused, naming the
    file, the row, the VM, the disk and both sizes with their units."""
    estate = estate_to_fleet(VMS, DISKS)
    with pytest.raises(ValueError, match="^used.csv: ") as raised:
        read_used_sizes(_sizes(tmp_path, 1100.0), estate)
    assert str(raised.value) == (
        "used.csv: row 2: vm_name='sql-01', disk_name='sql-01-data0': used_gb=1100.0 GB exceeds "
        "the disk's allocated size, 1024 GiB (1099.5 GB)"
    )


def test_g14_size_text_gives_both_units() -> None:
    """G14: a size read from Azure printed as Azure gave it (GiB) and as the fleet holds it."""
    assert size_text(P30_GB) == "1024 GiB (1099.5 GB)"
    assert size_text(32.21225472) == "30 GiB (32.2 GB)"
    assert size_text(128.0) == "119.21 GiB (128.0 GB)"


def test_g14_a_fleet_row_above_its_disk_names_both_sizes_in_gb() -> None:
    """G14, clear errors: the fleet check says the unit of both sizes."""
    fleet = estate_to_fleet(VMS, DISKS).with_columns(
        used_gb=pl.when(pl.col("disk_name") == "sql-01-data0")
        .then(1100.0)
        .otherwise(pl.col("used_gb"))
    )
    with pytest.raises(
        ValueError,
        match=r"^vms.json: row 3 \(sql-01-data0\): used_gb=1100.0 exceeds "
        r"allocated_gb=1099.511627776 \(both in GB\)$",
    ):
        check_fleet(fleet, "vms.json")


def test_g14_a_missing_size_names_its_unit() -> None:
    """Clear errors: a managed disk without ``diskSizeGB`` is named, with the unit Azure uses."""
    disks = mutated(DISKS, [3, "diskSizeGB"])
    with pytest.raises(
        ValueError, match=r"az disk list: 'sql-01-data0': missing field diskSizeGB \(.* in GiB\)"
    ):
        estate_to_fleet(VMS, disks)


# --- G3: monthly and yearly points on dates 29-31 -----------------------------------------------


@pytest.mark.parametrize("day", [1, 28, 29, 30, 31])
def test_g3_a_date_1_to_31_is_accepted(day: int) -> None:
    """G3: Terraform accepts monthly and yearly days 1..31."""
    assert MonthlyDay(days_of_month=(day,)).days_of_month == (day,)
    assert MonthlyDay(days_of_month=(day,)).matches(dt.date(2027, 1, day))


@pytest.mark.parametrize("day", [0, 32, -1])
def test_g3_a_date_outside_1_to_31_is_refused(day: int) -> None:
    """G3, clear errors: 0 and 32 are no date of a month; the message says what is allowed."""
    with pytest.raises(
        ValueError,
        match=rf"^days_of_month=\({day},\): each date must be 1..31 \(use last=True for the "
        r"month's last day\)$",
    ):
        MonthlyDay(days_of_month=(day,))


def _monthly_points(days_of_month: tuple[int, ...], year: int) -> list[dt.date]:
    """The monthly points kept from daily backups through ``year``."""
    policy = Policy(
        daily_retention_days=7,
        monthly_retention_months=60,
        monthly_day=MonthlyDay(days_of_month=days_of_month),
    )
    points = recovery_points(policy, dt.date(year, 1, 1), dt.date(year, 12, 31))
    return points.filter(pl.col("monthly"))["created"].to_list()


def test_g3_the_31st_keeps_seven_points_a_year() -> None:
    """G3, ASSUMPTION: a month without a 31st keeps no monthly point that month (it does not
    move to the 30th)."""
    assert _monthly_points((31,), 2027) == [
        dt.date(2027, 1, 31),
        dt.date(2027, 3, 31),
        dt.date(2027, 5, 31),
        dt.date(2027, 7, 31),
        dt.date(2027, 8, 31),
        dt.date(2027, 10, 31),
        dt.date(2027, 12, 31),
    ]


def test_g3_the_29th_skips_february_of_a_common_year_only() -> None:
    """G3, ASSUMPTION: 2027 has no 29 February (11 points); 2028 has one (12 points)."""
    common = _monthly_points((29,), 2027)
    assert len(common) == 11
    assert [d.month for d in common] == [1, *range(3, 13)]
    leap = _monthly_points((29,), 2028)
    assert len(leap) == 12
    assert leap[1] == dt.date(2028, 2, 29)


def test_g3_the_30th_and_the_last_day_keep_one_point_where_they_coincide() -> None:
    """G3: 30 plus "last" keeps 30 April once, and 28 February 2027 (the last day) though
    February has no 30th."""
    day = MonthlyDay(days_of_month=(30,), last=True)
    february_to_april = pl.date_range(dt.date(2027, 2, 1), dt.date(2027, 4, 30), "1d", eager=True)
    chosen = february_to_april.filter(
        pl.select(day.expression(pl.lit(february_to_april))).to_series()
    )
    assert chosen.to_list() == [
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 30),
        dt.date(2027, 3, 31),
        dt.date(2027, 4, 30),
    ]


def test_g3_a_yearly_point_on_29_february_exists_in_leap_years_only() -> None:
    """G3, ASSUMPTION: yearly retention on 29 February keeps nothing in 2027, one in 2028."""
    policy = Policy(
        daily_retention_days=7,
        yearly_retention_years=10,
        yearly_months=("February",),
        yearly_day=MonthlyDay(days_of_month=(29,)),
    )
    days = pl.date_range(dt.date(2027, 1, 1), dt.date(2028, 12, 31), "1d", eager=True)
    yearly = point_expiry(policy, days).filter(pl.col("yearly"))
    assert yearly["created"].to_list() == [dt.date(2028, 2, 29)]
    assert yearly["expires"].to_list() == [dt.date(2038, 2, 28)]


def _tf_monthly(**block: Any) -> Any:
    monthly = {"count": 7, "weekdays": None, "weeks": None} | block
    return mutated(TF_PLAN, [*TF_DAILY, "retention_monthly"], [monthly])


def test_g3_terraform_days_29_to_31_and_the_last_day_are_read() -> None:
    """G3: ``retention_monthly`` ``days = [29, 30, 31]`` with ``include_last_days``."""
    document = _tf_monthly(days=[29, 30, 31], include_last_days=True)
    policy = next(
        s.policy
        for s in policies_from_document(document, label="tf.json")
        if s.where.endswith("daily")
    )
    assert policy.monthly_day == MonthlyDay(days_of_month=(29, 30, 31), last=True)


@pytest.mark.parametrize("day", [0, 32])
def test_g3_a_terraform_day_outside_1_to_31_is_named_by_its_path(day: int) -> None:
    """G3, clear errors: the JSON path of the block, the value and the allowed range."""
    with pytest.raises(
        ValueError,
        match=rf"^tf.json: planned_values.root_module.resources\[1\].values.retention_monthly\[0\]"
        rf": days_of_month=\({day},\): each date must be 1..31",
    ):
        policies_from_document(_tf_monthly(days=[day], include_last_days=False), label="tf.json")


def _arm_dates(*dates: dict[str, Any]) -> Any:
    return mutated(
        PUT_BODY,
        [*ARM_MONTHLY, "retentionScheduleDaily"],
        {"daysOfTheMonth": list(dates)},
    )


def test_g3_arm_dates_29_to_31_are_read_and_written_back() -> None:
    """G3: ARM ``daysOfTheMonth`` dates 29-31 read into the policy and round-trip to ARM."""
    document = _arm_dates({"date": 31, "isLast": False}, {"date": 29, "isLast": False})
    policy = policy_from_arm(document)
    assert policy.monthly_day == MonthlyDay(days_of_month=(31, 29))
    again = policy_from_arm(policy_to_arm(policy))
    assert again.monthly_day == MonthlyDay(days_of_month=(31, 29))


@pytest.mark.parametrize("day", [0, 32])
def test_g3_an_arm_date_outside_1_to_31_is_named_by_its_path(day: int) -> None:
    """G3, clear errors: a date 0 that is not ``isLast``, or 32, named with its JSON path."""
    with pytest.raises(
        ValueError,
        match=rf"^body.json: properties.retentionPolicy.monthlySchedule.retentionScheduleDaily."
        rf"daysOfTheMonth: days_of_month=\({day},\): each date must be 1..31",
    ):
        policy_from_arm(_arm_dates({"date": day, "isLast": False}), label="body.json")


# --- power state --------------------------------------------------------------------------------


def _with_power(value: Any, vm: int = 0) -> Any:
    return mutated(VMS, [vm, "powerState"], value)


def _power(vms: Any) -> dict[str, str | None]:
    fleet = estate_to_fleet(vms, DISKS)
    return dict(fleet.select("vm_name", "power_state").unique(maintain_order=True).iter_rows())


def test_the_sample_estates_power_states_are_read() -> None:
    """``az vm list -d``'s ``powerState``: files-01 is deallocated, the others running."""
    fleet = read_azure_estate(dataset_path("azure/vms.json"), dataset_path("azure/disks.json"))
    assert fleet.schema["power_state"] == pl.String
    assert dict(fleet.select("vm_name", "power_state").unique(maintain_order=True).iter_rows()) == {
        "web-01": "running",
        "sql-01": "running",
        "files-01": "deallocated",
        "legacy-01": "running",
    }


@pytest.mark.parametrize(
    ("shown", "state"),
    [
        ("VM running", "running"),
        ("VM starting", "running"),
        ("VM stopped", "stopped"),
        ("VM stopping", "stopped"),
        ("VM deallocated", "deallocated"),
        ("VM deallocating", "deallocated"),
        ("vm Deallocated", "deallocated"),
    ],
)
def test_power_state_from_az_vm_list(shown: str, state: str) -> None:
    """A transitional state counts as the one it ends in; on every disk row of the VM."""
    fleet = estate_to_fleet(_with_power(shown, vm=1), DISKS)
    sql = fleet.filter(pl.col("vm_name") == "sql-01")
    assert sql["power_state"].to_list() == [state, state, state]


def test_a_vm_without_a_power_state_has_a_blank_one() -> None:
    """No ``powerState`` and no instance view: null, not a guess; ``VM unknown`` too."""
    assert _power(_with_power(KeyError))["web-01"] is None
    assert _power(_with_power(None))["web-01"] is None
    assert _power(_with_power("VM unknown"))["web-01"] is None
    every = [{k: v for k, v in vm.items() if k != "powerState"} for vm in VMS]
    fleet = estate_to_fleet(every, DISKS)
    assert fleet["power_state"].null_count() == fleet.height
    assert fleet.schema["power_state"] == pl.String
    assert check_fleet(fleet, "vms.json")["power_state"].null_count() == fleet.height


@pytest.mark.parametrize("where", [["instanceView"], ["properties", "instanceView"]])
def test_power_state_from_an_instance_view(where: list[str]) -> None:
    """ARM with the instance view: the ``PowerState/`` status code (the provisioning state beside
    it is not a power state)."""
    view = {
        "statuses": [
            {"code": "ProvisioningState/succeeded", "displayStatus": "Provisioning succeeded"},
            {"code": "PowerState/deallocated", "displayStatus": "VM deallocated"},
        ]
    }
    vms = copy.deepcopy(VMS)
    del vms[0]["powerState"]
    node = vms[0]
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = view
    assert _power(vms)["web-01"] == "deallocated"


@pytest.mark.parametrize(
    ("vms", "message"),
    [
        (
            _with_power("VM exploded"),
            r"^az vm list: VM 1 \('web-01'\): powerState='VM exploded' is not a VM power state",
        ),
        (
            _with_power(3, vm=2),
            r"^az vm list: VM 3 \('files-01'\): powerState=3 is not a VM power state",
        ),
        (
            mutated(
                mutated(VMS, [1, "powerState"]),
                [1, "instanceView"],
                {"statuses": [{"code": "PowerState/exploded"}]},
            ),
            r"^az vm list: VM 2 \('sql-01'\): instanceView.statuses\[0\].code="
            r"'PowerState/exploded' is not a VM power state",
        ),
        (
            mutated(
                mutated(VMS, [1, "powerState"]),
                [1, "instanceView"],
                {"statuses": [{"code": "PowerState/running"}, {"code": "PowerState/stopped"}]},
            ),
            r"^az vm list: VM 2 \('sql-01'\): instanceView.statuses holds two power states",
        ),
    ],
)
def test_a_bad_power_state_names_the_vm_and_the_value(vms: Any, message: str) -> None:
    """Clear errors: the VM (position and name), the field and the value."""
    with pytest.raises(ValueError, match=message):
        estate_to_fleet(vms, DISKS)


def test_a_bad_power_state_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "vms.json"
    path.write_text(json.dumps(_with_power("VM exploded")))
    with pytest.raises(ValueError, match=r"^vms.json: az vm list: VM 1 \('web-01'\): powerState="):
        read_azure_estate(path, dataset_path("azure/disks.json"))


def test_power_state_is_an_optional_fleet_column() -> None:
    """The fleet schema: ``power_state`` optional, blank allowed, one of three values."""
    spec = FLEET_COLUMNS["power_state"]
    assert (spec.required, spec.nullable, spec.allowed) == (False, True, POWER_STATES)
    assert POWER_STATES == ("running", "stopped", "deallocated")
    fleet = read_fleet()
    assert "power_state" not in fleet.columns  # the sample fleet has none: still a fleet


def test_a_fleet_file_power_state_is_checked(tmp_path: Path) -> None:
    """A fleet CSV may give ``power_state`` (any case, blank allowed); a bad one names the row
    and the value."""
    header, *disks = dataset_path("sample_fleet.csv").read_text().splitlines()[:4]
    assert {line.split(",")[0] for line in disks} == {"vm-lnx-001"}  # its OS, data, temp disks
    good = tmp_path / "fleet.csv"
    good.write_text("\n".join([f"{header},power_state", *(f"{d},Deallocated" for d in disks)]))
    assert read_fleet(good)["power_state"].to_list() == ["deallocated"] * 3
    blank = tmp_path / "blank.csv"
    blank.write_text("\n".join([f"{header},power_state", *(f"{d}," for d in disks)]))
    assert read_fleet(blank)["power_state"].to_list() == [None] * 3
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([f"{header},power_state", *(f"{d},exploded" for d in disks)]))
    with pytest.raises(ValueError, match=r"^bad.csv: row 2 .*power_state='exploded'"):
        read_fleet(bad)
