"""What Azure reports and what the architect measures, read into the fleet: backup items (policy,
protection state, last backup), measured used sizes and per-VM settings; errors name the JSON
path or the row."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import mutated

from vmbackup.data import (
    dataset_path,
    read_azure_estate,
    read_fleet,
    read_protected_items,
    read_used_sizes,
    read_vm_settings,
)
from vmbackup.inventory import (
    apply_used_sizes,
    apply_vm_settings,
    assign_protection,
    estate_to_fleet,
    protected_items,
)

ITEMS = json.loads(dataset_path("azure/items.json").read_text())
VMS = json.loads(dataset_path("azure/vms.json").read_text())
DISKS = json.loads(dataset_path("azure/disks.json").read_text())
ESTATE = estate_to_fleet(VMS, DISKS)


def test_the_sample_items_match_the_sample_estate() -> None:
    """The sample's items name the VMs of datasets/azure/vms.json by ARM id (and one retired
    VM), with the vault's policies of datasets/azure/policies.json."""
    items = read_protected_items(dataset_path("azure/items.json"))
    ids = {vm["id"].lower() for vm in VMS}
    assert items.filter(pl.col("vm_id").is_in(list(ids)))["vm_name"].to_list() == [
        "web-01",
        "sql-01",
        "files-01",
    ]
    policies = {doc["name"] for doc in json.loads(dataset_path("azure/policies.json").read_text())}
    assert set(items["policy"]) <= policies


def test_items_give_policy_state_and_whether_the_first_backup_is_done() -> None:
    """S12, S23: an IRPending item's lastBackupTime of 2001-01-01 is Azure's placeholder: no
    backup yet; the policy is the last segment of policyId."""
    items = protected_items(ITEMS, "items.json").sort("vm_name")
    assert items.select("vm_name", "policy", "protection_state", "first_backup_done").rows() == [
        ("app-old-01", "DailyPolicy", "ProtectionStopped", True),
        ("files-01", "WeeklyFiles", "Protected", True),
        ("sql-01", "EnhancedHourly", "IRPending", False),
        ("web-01", "DailyPolicy", "Protected", True),
    ]
    assert items.filter(pl.col("vm_name") == "sql-01")["last_backup_time"][0] is None
    web = items.filter(pl.col("vm_name") == "web-01")["last_backup_time"][0]
    assert (web.year, web.hour, web.minute, web.tzname()) == (2026, 21, 52, "UTC")


def test_the_rest_list_and_one_item_read_like_the_cli_list() -> None:
    """Y4: a REST list ({"value": [...]}) and a single item read like az's list."""
    as_list = protected_items(ITEMS, "a").drop("item")
    assert protected_items({"value": ITEMS, "nextLink": None}, "b").drop("item").equals(as_list)
    one = protected_items(ITEMS[0], "c")
    assert one["item"].to_list() == ["c: item"]
    assert one.drop("item").equals(as_list.head(1))


def test_items_of_other_workloads_are_skipped() -> None:
    sql = copy.deepcopy(ITEMS[0])
    sql["properties"]["protectedItemType"] = "AzureVmWorkloadSQLDatabase"
    sql["properties"]["workloadType"] = "SQLDataBase"
    assert protected_items([sql, ITEMS[1]], "x")["vm_name"].to_list() == ["sql-01"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ([1, "properties"], KeyError, r"items.json: \[1\].properties: missing, or not an object"),
        (
            [0, "properties", "protectionState"],
            "Asleep",
            r"\[0\].properties.protectionState='Asleep' is not allowed; choose one of 'Invalid'",
        ),
        (
            [0, "properties", "policyId"],
            None,
            r"\[0\].properties.policyId: missing; an item in state 'Protected'",
        ),
        (
            [2, "properties", "lastBackupTime"],
            "yesterday",
            r"\[2\].properties.lastBackupTime='yesterday' must be an ISO 8601 time",
        ),
        ([3, "properties", "friendlyName"], "", r"\[3\].properties.friendlyName=''"),
        (
            [0, "properties", "policyId"],
            "/subscriptions/x/policies/P",
            r"\[0\].properties.policyId='/subscriptions/x/policies/P': expected .*backupPolicies",
        ),
        ([2], "text", r"items.json: \[2\]: 'text' is not an object"),
    ],
)
def test_broken_items_name_the_json_path(path: list[Any], value: Any, message: str) -> None:
    broken = mutated(ITEMS, path, value)
    if path == [0, "properties", "policyId"] and value is None:
        broken[0]["properties"].pop("policyName")
    with pytest.raises(ValueError, match=message):
        protected_items(broken, "items.json")


def test_two_items_for_one_vm_and_a_document_that_is_not_items_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[4\]: a second item for VM 'web-01'"):
        protected_items([*ITEMS, ITEMS[0]], "items.json")
    with pytest.raises(ValueError, match="expected the JSON of 'az backup item list'"):
        protected_items({"items": []}, "items.json")


def test_the_items_reader_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "vault.json"
    path.write_text(json.dumps(mutated(ITEMS, [1, "properties", "protectionState"], 7)))
    with pytest.raises(ValueError, match=r"vault.json: \[1\].properties.protectionState=7"):
        read_protected_items(path)


def test_assign_protection_by_id_lists_the_unprotected_and_the_orphans() -> None:
    """S24: a VM without an item (legacy-01) is not protected; an item without a VM
    (app-old-01, stopped) is returned apart; a stopped item's VM gets no policy."""
    fleet, orphans = assign_protection(ESTATE, protected_items(ITEMS, "items"))
    per_vm = fleet.unique("vm_name", maintain_order=True)
    assert per_vm.select("vm_name", "policy", "protection_state", "first_backup_done").rows() == [
        ("web-01", "DailyPolicy", "Protected", True),
        ("sql-01", "EnhancedHourly", "IRPending", False),
        ("files-01", "WeeklyFiles", "Protected", True),
        ("legacy-01", None, "NotProtected", None),
    ]
    assert orphans["vm_name"].to_list() == ["app-old-01"]
    stopped = mutated(ITEMS, [0, "properties", "protectionState"], "ProtectionStopped")
    fleet, _ = assign_protection(ESTATE, protected_items(stopped, "items"))
    web = fleet.filter(pl.col("vm_name") == "web-01").row(0, named=True)
    assert (web["policy"], web["protection_state"]) == (None, "ProtectionStopped")


def test_assign_protection_matches_a_csv_fleet_by_name() -> None:
    """A fleet CSV has no ARM ids: items match by VM name (any case)."""
    fleet = read_fleet()
    names = fleet["vm_name"].unique(maintain_order=True)[:2].to_list()
    items = copy.deepcopy(ITEMS[:2])
    for item, name in zip(items, names, strict=True):
        item["properties"]["friendlyName"] = name.upper()
    assigned, orphans = assign_protection(fleet, protected_items(items, "items"))
    protected = assigned.filter(pl.col("policy").is_not_null())["vm_name"].unique().sort()
    assert protected.to_list() == sorted(names)
    assert orphans.height == 0


def test_an_item_of_another_vm_with_the_same_name_does_not_match() -> None:
    """Two VMs may share a name in different resource groups: with ids on both sides, the
    ids decide."""
    other = mutated(
        ITEMS,
        [0, "properties", "virtualMachineId"],
        ITEMS[0]["properties"]["virtualMachineId"].replace("rg-app", "rg-other"),
    )
    fleet, orphans = assign_protection(ESTATE, protected_items(other, "items"))
    assert fleet.filter(pl.col("vm_name") == "web-01")["protection_state"][0] == "NotProtected"
    assert "web-01" in orphans["vm_name"].to_list()


def test_measured_used_sizes_replace_the_assumed_ones() -> None:
    """S21, S26: measured sizes replace the 50% assumption and are marked measured."""
    fleet = read_used_sizes(
        dataset_path("azure/used_sizes.csv"),
        read_azure_estate(dataset_path("azure/vms.json"), dataset_path("azure/disks.json")),
    )
    sql = fleet.filter(pl.col("vm_name") == "sql-01")
    assert sql["used_gb"].to_list() == [52.3, 731.0, 288.5]
    assert not sql["used_gb_assumed"].any()
    legacy = fleet.filter(pl.col("vm_name") == "legacy-01")
    assert legacy["used_gb_assumed"].all()
    # G14: half of 30 GiB (32.2 GB) and of 128 GiB (137.4 GB), rounded to 0.1 GB
    assert legacy["used_gb"].to_list() == [16.1, 68.7]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"disk_name": ["nope"], "used_gb": [1.0]}, "row 2: disk_name='nope' is not a disk"),
        (
            {"disk_name": ["web-01-data0", "web-01-data0"], "used_gb": [1.0, 2.0]},
            "row 3: disk_name='web-01-data0' is listed twice",
        ),
        (
            {"disk_name": ["web-01-data0"], "used_gb": [300.0]},
            r"row 2: vm_name='web-01', disk_name='web-01-data0': used_gb=300.0 GB exceeds the "
            r"disk's allocated size, 256 GiB \(274.9 GB\)",
        ),
        ({"disk_name": ["web-01-data0"], "used_gb": [-1.0]}, "used_gb=-1.0 must be"),
        ({"vm_name": ["sql-01"], "disk_name": ["web-01-data0"], "used_gb": [1.0]}, "not a disk"),
    ],
)
def test_bad_used_sizes_name_the_row(rows: dict[str, list[Any]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_used_sizes(ESTATE, pl.DataFrame(rows), label="sizes.csv")


def test_a_disk_name_shared_by_two_vms_needs_the_vm_name() -> None:
    twin = ESTATE.with_columns(
        disk_name=pl.when(pl.col("disk_name") == "sql-01-data0")
        .then(pl.lit("web-01-data0"))
        .otherwise(pl.col("disk_name"))
    )
    with pytest.raises(ValueError, match="belongs to several VMs; add a vm_name column"):
        apply_used_sizes(twin, pl.DataFrame({"disk_name": ["web-01-data0"], "used_gb": [1.0]}))
    done = apply_used_sizes(
        twin,
        pl.DataFrame({"vm_name": ["sql-01"], "disk_name": ["web-01-data0"], "used_gb": [9.0]}),
    )
    assert done.filter(pl.col("vm_name") == "sql-01")["used_gb"].to_list()[1] == 9.0


def test_vm_settings_set_churn_throughput_and_start_time(tmp_path: Path) -> None:
    """P6, S1: per-VM churn (class or GB a day), throughput and a start time HH:MM."""
    path = tmp_path / "settings.csv"
    path.write_text(
        "vm_name,churn_class,churn_gb_per_day,throughput_mb_s_per_disk,start_time\n"
        "web-01,High,,,23:45\nsql-01,,38,11.5,\n"
    )
    fleet = read_vm_settings(path, ESTATE).unique("vm_name", maintain_order=True)
    assert fleet.select(
        "vm_name", "churn_class", "churn_gb_per_day", "throughput_mb_s_per_disk", "schedule_hour"
    ).rows() == [
        ("web-01", "high", None, None, 23.75),
        ("sql-01", "moderate", 38.0, 11.5, None),
        ("files-01", "moderate", None, None, None),
        ("legacy-01", "moderate", None, None, None),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vm_name,start_time\nweb-01,24:00\n", "row 2: start_time='24:00' must be a time of day"),
        ("vm_name,start_time\nweb-01,7pm\n", "row 2: start_time='7pm' must be a time of day"),
        ("vm_name,churn_class\nweb-01,wild\n", r"churn_class='wild' must be one of"),
        ("vm_name,churn_gb_per_day\nweb-01,-3\n", r"churn_gb_per_day=-3.0 must be"),
        ("vm_name,throughput_mb_s_per_disk\nweb-01,0\n", "throughput_mb_s_per_disk=0.0 must be"),
        ("vm_name\nweb-01\nweb-01\n", "row 3: vm_name='web-01' is listed twice"),
        ("vm_name\nghost\n", "row 2: vm_name='ghost' is not a VM of the estate"),
        ("name\nweb-01\n", r"missing column\(s\) \['vm_name'\]"),
    ],
)
def test_bad_vm_settings_name_the_row(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "settings.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_vm_settings(path, ESTATE)


def test_settings_tables_from_python_are_checked_too() -> None:
    with pytest.raises(ValueError, match=r"VM settings: row 2 \(web-01\): schedule_hour=24.0"):
        apply_vm_settings(ESTATE, pl.DataFrame({"vm_name": ["web-01"], "schedule_hour": [24.0]}))


def test_az_estates_start_at_the_policys_time_with_assumed_used_sizes() -> None:
    """S1: nothing in Azure's VM JSON says when a VM is backed up: the column stays blank (the
    policy decides) unless the caller overrides it; used sizes are marked assumed."""
    assert ESTATE["schedule_hour"].is_null().all()
    assert ESTATE["used_gb_assumed"].all()
    assert ESTATE["vm_id"].str.starts_with("/subscriptions/").all()
    pinned = estate_to_fleet(VMS, DISKS, schedule_hour=3.5)
    assert pinned["schedule_hour"].unique().to_list() == [3.5]


def test_an_items_policy_is_the_last_segment_of_its_id_even_with_a_trailing_slash() -> None:
    """Backup items: ``policyId`` ending in a slash still names the policy by its last segment,
    and a name is kept whole (a policy called 'NightlyX' is not cut to 'Nightly')."""
    items = copy.deepcopy(ITEMS)
    base = items[0]["properties"]["policyId"].rsplit("/", 1)[0]
    items[0]["properties"]["policyId"] = base + "/NightlyX/"
    items[0]["properties"].pop("policyName", None)  # the id alone names it
    got = protected_items(items)
    assert got["policy"][0] == "NightlyX"


def test_broken_items_are_named_items_when_no_file_name_is_given() -> None:
    """Clear errors: without a file name, an error in the items names them ``items``."""
    with pytest.raises(ValueError, match=r"^items: "):
        protected_items({"not": "a list"})
    assert protected_items(ITEMS).height == len(ITEMS)


def test_g11_a_disks_sku_comes_from_the_disk_list_before_the_vms_view_of_it() -> None:
    """G11: the disk list's ``sku.name`` is the disk's SKU (the VM's ``storageAccountType`` is
    only a fallback); premium SKUs make premium disks in the fleet (S21)."""
    from vmbackup.inventory import estate_disks

    vms = copy.deepcopy(VMS)
    vms[0]["storageProfile"]["osDisk"]["managedDisk"]["storageAccountType"] = "Standard_LRS"
    disks = estate_disks(vms, DISKS)
    os_disk = disks.filter(pl.col("disk_name") == vms[0]["storageProfile"]["osDisk"]["name"])
    assert os_disk["disk_sku"].item() == "Premium_LRS"
    fleet = estate_to_fleet(VMS, DISKS)
    assert set(fleet["disk_type"]) == {"premium", "standard"}
    premium = fleet.filter(pl.col("vm_name") == "web-01")["disk_type"]
    assert premium.to_list() == ["premium", "premium"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"used_fraction": -0.5}, "used_fraction"),
        ({"churn_class": "extreme"}, "churn_class"),
    ],
)
def test_estate_to_fleet_names_a_bad_assumption(kwargs: dict[str, Any], field: str) -> None:
    """Clear errors: a bad default for the gaps is refused, naming the argument."""
    with pytest.raises(ValueError, match=rf"^{field}="):
        estate_to_fleet(VMS, DISKS, **kwargs)


def test_a_vm_part_that_is_not_an_object_is_named_by_its_path() -> None:
    """Clear errors: a VM whose ``securityProfile`` is not a JSON object is named by its place
    in the list and the key (the eligibility scan reads it)."""
    from vmbackup.inventory import estate_disks

    vms = copy.deepcopy(VMS)
    vms[0]["securityProfile"] = ["not", "an", "object"]
    with pytest.raises(ValueError, match=r"^az vm list: VM 1 securityProfile: \['not'"):
        estate_disks(vms, DISKS)


def test_two_vms_of_one_name_are_refused_naming_the_file(tmp_path: Path) -> None:
    """Clear errors: the fleet read from Azure's JSON is checked like a fleet file, and an error
    names the file the user gave (two VMs of one name make two OS disks for one VM)."""
    from vmbackup.data import read_azure_estate

    vms = copy.deepcopy(VMS)
    vms[1]["name"] = vms[0]["name"]
    path = tmp_path / "vms.json"
    path.write_text(json.dumps(vms))
    disks = dataset_path("azure/disks.json")
    with pytest.raises(ValueError, match=r"^vms\.json: vm_name='web-01' has 2 OS disks"):
        read_azure_estate(path, disks)
    assert read_azure_estate(dataset_path("azure/vms.json"), disks)["vm_name"].n_unique() == 4
