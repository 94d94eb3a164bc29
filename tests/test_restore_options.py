"""How long until a VM is back: each restore option's preconditions and time (R1, R2, S30, G7,
G10), and an estate's RTO (S19, S20)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmbackup.data import read_fleet, read_policies
from vmbackup.encryption import PERMISSIONS
from vmbackup.policy import Policy
from vmbackup.restore import DEFAULTS
from vmbackup.restore_options import OPTION_DEFAULTS, OPTIONS, estate_rto, restore_options

POLICIES = {"std": Policy(name="std"), "enh": Policy(name="enh", policy_type="enhanced")}
BLOB = DEFAULTS["disk_throughput_mb_s"]
SNAPSHOT = DEFAULTS["snapshot_restore_hours"]
CREATE = OPTION_DEFAULTS["create_vm_hours"]
KEYS = OPTION_DEFAULTS["key_restore_hours"]


def vm(*sizes_gb: float, name: str = "vm0", policy: str = "std", **columns: object) -> pl.DataFrame:
    """One VM's disks (the first is the OS disk), with VM-level columns repeated."""
    frame = pl.DataFrame(
        {
            "vm_name": [name] * len(sizes_gb),
            "used_gb": list(sizes_gb),
            "policy": [policy] * len(sizes_gb),
            "disk_role": ["os"] + ["data"] * (len(sizes_gb) - 1),
        }
    )
    return frame.with_columns(**{k: pl.lit(v) for k, v in columns.items()})


def one(frame: pl.DataFrame, **kwargs: object) -> dict[str, object]:
    return estate_rto(frame, POLICIES, **kwargs).row(0, named=True)  # type: ignore[arg-type]


def copy_hours(gb: float) -> float:
    return gb * 1000 / BLOB / 3600


# --- R2: which tier ----------------------------------------------------------------------------


def test_r2_a_point_within_instant_restore_days_restores_from_its_snapshot() -> None:
    """R2/Y1: Standard keeps snapshots 2 days: a 1.9-day-old point restores in minutes, a
    2-day-old one from the vault in hours."""
    fresh = one(vm(500.0), recovery_point_age_days=1.9)
    old = one(vm(500.0), recovery_point_age_days=2.0)
    assert (fresh["tier"], old["tier"]) == ("snapshot", "vault")
    assert fresh["rto_hours"] == pytest.approx(SNAPSHOT + CREATE)
    assert old["rto_hours"] == pytest.approx(copy_hours(500.0) + CREATE)
    assert old["rto_hours"] > 2.0 > fresh["rto_hours"]


def test_r2_the_policy_decides_how_long_the_snapshot_is_there() -> None:
    """R2/Y2: Enhanced keeps 7 days by default: a 5-day-old point still has its snapshot."""
    assert one(vm(500.0, policy="enh"), recovery_point_age_days=5)["tier"] == "snapshot"
    assert one(vm(500.0, policy="std"), recovery_point_age_days=5)["tier"] == "vault"


# --- R1: each option, its precondition and its time ---------------------------------------------


def test_r1_create_vm_time_is_the_copy_and_the_new_vm() -> None:
    """R1: create-vm from the vault tier: the disks copied (in parallel, one account) and the
    VM created."""
    row = one(vm(300.0, 100.0), recovery_point_age_days=10)
    shared = BLOB / (1 + BLOB / DEFAULTS["account_throughput_mb_s"])  # two disks, one account
    assert row["status"] == "ok"
    # both share the account until the small disk ends, then the large one runs alone
    both = 100_000 / shared
    assert row["end_hours"] == pytest.approx((both + 200_000 / BLOB) / 3600)
    assert row["rto_hours"] == pytest.approx(row["end_hours"] + CREATE)
    assert row["alone_hours"] == pytest.approx(row["rto_hours"])


def test_s30_create_vm_is_refused_for_an_ade_encrypted_vm() -> None:
    """S30/R1: an ADE-encrypted VM cannot be created from a point: blocked, no hours."""
    row = one(vm(100.0, ade="bek"), option="create-vm")
    assert row["status"] == "blocked"
    assert row["rto_hours"] is None
    assert "use restore-disks" in str(row["findings"])


def test_r1_restore_disks_then_a_vm_from_the_template() -> None:
    """R1: restore-disks takes the copy and the template deployment."""
    row = one(vm(200.0), option="restore-disks", recovery_point_age_days=3)
    assert row["rto_hours"] == pytest.approx(copy_hours(200.0) + CREATE)


def test_s30_an_encrypted_vm_restores_only_with_the_key_permissions() -> None:
    """S30: restore-disks of a BEK+KEK VM needs the key-vault permissions; with them the keys
    are restored first (their time is added), without them the VM is blocked."""
    encrypted = vm(200.0, ade="bek-kek")
    allowed = one(encrypted, option="restore-disks", recovery_point_age_days=3)
    assert allowed["status"] == "ok"
    assert allowed["rto_hours"] == pytest.approx(copy_hours(200.0) + CREATE + KEYS)
    assert "S30: keys and secrets are restored" in str(allowed["findings"])
    refused = one(
        encrypted, option="restore-disks", permissions=["vault-restore", "keyvault-restore-secrets"]
    )
    assert refused["status"] == "blocked"
    assert "S30: the user lacks keyvault-restore-keys" in str(refused["findings"])
    assert refused["rto_hours"] is None


def test_s30_an_unencrypted_vm_needs_only_the_vault_permission() -> None:
    """S30: without ADE, restoring needs vault-restore only."""
    assert one(vm(50.0), permissions=["vault-restore"])["status"] == "ok"
    assert one(vm(50.0), permissions=[])["status"] == "blocked"


@pytest.mark.parametrize(
    ("frame", "kwargs", "finding"),
    [
        (vm(100.0, ade="bek"), {}, "only for unencrypted VMs"),
        (vm(100.0, managed=False), {}, "only for managed disks"),
        (vm(100.0), {"vms_exist": False}, "needs the VM to still exist"),
        (vm(100.0), {"recovery_point_age_days": 0.2}, "transfer to the vault has completed"),
    ],
)
def test_r1_replace_disks_preconditions(
    frame: pl.DataFrame, kwargs: dict[str, object], finding: str
) -> None:
    """R1: replace existing is for unencrypted managed VMs that still exist, once the point is
    in the vault (4.8 h is under S11's 8 h)."""
    row = one(frame, option="replace-disks", **kwargs)
    assert row["status"] == "blocked"
    assert finding in str(row["findings"])


def test_r1_replace_disks_time_includes_the_snapshot_of_the_existing_vm() -> None:
    """R1: Azure snapshots the existing VM first, then the disks are replaced."""
    row = one(vm(100.0), option="replace-disks", recovery_point_age_days=1)
    pre = OPTION_DEFAULTS["replace_snapshot_hours"]
    assert row["status"] == "ok"
    assert row["start_hours"] == pytest.approx(pre)
    assert row["rto_hours"] == pytest.approx(pre + SNAPSHOT + CREATE)


def test_g10_cross_region_needs_it_enabled_and_a_replicated_point() -> None:
    """G10: off by default; a point 12 h old is not yet in the secondary region (8 h to the
    vault, up to 12 h more); a 1-day-old one is."""
    assert "needs a GRS vault" in str(one(vm(100.0), option="cross-region")["findings"])
    young = one(
        vm(100.0), option="cross-region", cross_region_enabled=True, recovery_point_age_days=0.5
    )
    assert young["status"] == "blocked"
    assert "not yet in the secondary region" in str(young["findings"])
    ready = one(vm(100.0), option="cross-region", cross_region_enabled=True)
    assert ready["status"] == "ok"


def test_g10_cross_region_restores_from_the_vault_tier_even_when_a_snapshot_exists() -> None:
    """G10: snapshots are not replicated: the secondary region restores from the vault tier,
    into its own accounts (a smaller paired region takes longer when disks share one)."""
    frame = vm(400.0, 400.0)
    primary = one(frame, option="create-vm", recovery_point_age_days=1)
    secondary = one(frame, option="cross-region", cross_region_enabled=True)
    assert primary["tier"] == "snapshot"
    assert secondary["tier"] == "vault"
    assert secondary["rto_hours"] > 1.0 > primary["rto_hours"]
    smaller = one(frame, option="cross-region", cross_region_enabled=True, region_class="other")
    assert smaller["rto_hours"] > secondary["rto_hours"]


def test_g7_g10_no_cross_region_restore_from_archive() -> None:
    """G7/G10: a point in the archive tier does not restore cross-region (once rehydrated it
    does: tests/test_restore_rules.py)."""
    row = one(
        vm(100.0),
        option="cross-region",
        cross_region_enabled=True,
        archived=True,
        recovery_point_age_days=200,
    )
    assert row["status"] == "blocked"
    assert "no cross-region restore from the archive tier" in str(row["findings"])


def test_g7_an_archived_point_is_rehydrated_first() -> None:
    """G7: standard priority adds up to 15 h before the job can queue; high priority 10 GiB an
    hour."""
    frame = vm(40.0, 10.0)
    standard = one(frame, archived=True, recovery_point_age_days=200)
    high = one(frame, archived=True, recovery_point_age_days=200, rehydration="high")
    assert standard["tier"] == "archive"
    assert standard["rehydrate_hours"] == 15.0
    assert standard["start_hours"] == pytest.approx(15.0)
    gib = 50e9 / 2**30
    assert high["rehydrate_hours"] == pytest.approx(gib / 10)
    assert standard["rto_hours"] - high["rto_hours"] == pytest.approx(15.0 - gib / 10)
    assert "G7: the archived point is rehydrated first" in str(standard["findings"])


def test_g7_high_priority_is_never_slower_than_standard() -> None:
    """G7: at 10 GiB an hour a 700 GB point would take 65 h; high priority is capped at the
    standard 15 h (an assumption: the page gives no standard-priority rate)."""
    row = one(vm(700.0), archived=True, recovery_point_age_days=200, rehydration="high")
    assert row["rehydrate_hours"] == 15.0


def test_g7_an_archived_point_is_at_least_three_months_old() -> None:
    """G7: a point spends 3 months in the standard tier first: younger and archived is bad
    input."""
    with pytest.raises(ValueError, match="archived=True: an archived point is at least 93 days"):
        estate_rto(vm(1.0), POLICIES, archived=True, recovery_point_age_days=30)


def test_r1_file_recovery_time_is_the_mount_and_the_copy() -> None:
    """R1: file recovery mounts the point and copies the files: 100 GB at 60 MiB/s."""
    row = one(vm(900.0), option="file-recovery", files_gb=100.0)
    assert row["rto_hours"] == pytest.approx(OPTION_DEFAULTS["mount_hours"] + copy_hours(100.0))
    assert row["account"] is None


def test_r1_a_copy_longer_than_the_script_mounts_again() -> None:
    """R1: the script is invalid after 12 h: 3,000 GB (13.2 h of copying) needs two mounts."""
    row = one(vm(5000.0), option="file-recovery", files_gb=3000.0)
    assert row["rto_hours"] == pytest.approx(2 * OPTION_DEFAULTS["mount_hours"] + copy_hours(3000))


@pytest.mark.parametrize(
    ("frame", "kwargs", "finding"),
    [
        (vm(100.0, ade="bek"), {}, "not supported for ADE-encrypted VMs"),
        (vm(100.0), {"archived": True, "recovery_point_age_days": 100}, "cannot read an archived"),
    ],
)
def test_r1_file_recovery_preconditions(
    frame: pl.DataFrame, kwargs: dict[str, object], finding: str
) -> None:
    """R1/G7: no file recovery from ADE-encrypted VMs or archived points."""
    row = one(frame, option="file-recovery", **kwargs)
    assert row["status"] == "blocked"
    assert finding in str(row["findings"])


def test_every_option_for_one_vm() -> None:
    """R1: one row per option, each with its tier and its time or its reason."""
    table = restore_options(vm(300.0, 100.0), POLICIES, recovery_point_age_days=3)
    assert table["option"].to_list() == list(OPTIONS)
    assert table.filter(pl.col("status") == "ok")["option"].to_list() == [
        "create-vm",
        "restore-disks",
        "replace-disks",
        "file-recovery",
    ]
    with pytest.raises(ValueError, match="vm_disks holds 2 VMs; give the disks of one VM"):
        restore_options(pl.concat([vm(1.0), vm(1.0, name="b")]), POLICIES)


# --- estates ------------------------------------------------------------------------------------

FLEET = read_fleet()
SAMPLE_POLICIES = read_policies()


def test_s20_an_estate_comes_back_sooner_with_one_account_per_vm() -> None:
    """S20 on the 200-VM sample from the vault tier: no VM later, the median sooner."""
    own = estate_rto(FLEET, SAMPLE_POLICIES, recovery_point_age_days=10)
    shared = estate_rto(
        FLEET, SAMPLE_POLICIES, recovery_point_age_days=10, placement="balanced", accounts=5
    )
    assert (own["rto_hours"] <= shared["rto_hours"] + 1e-9).all()
    assert own["rto_hours"].median() < shared["rto_hours"].median()  # type: ignore[operator]


def test_s19_an_estate_into_loaded_accounts_takes_longer() -> None:
    """S19: 20% other load on every target account slows every vault-tier VM by 1 / 0.8."""
    idle = estate_rto(FLEET, SAMPLE_POLICIES, recovery_point_age_days=10)
    busy = estate_rto(FLEET, SAMPLE_POLICIES, recovery_point_age_days=10, background_load=0.2)
    copy = idle["alone_hours"] - CREATE
    assert (busy["alone_hours"] - CREATE).to_numpy() == pytest.approx(copy.to_numpy() / 0.8)


def test_the_queue_order_changes_who_waits() -> None:
    """S19: with few vault slots, restoring the smallest VMs first brings most VMs back
    sooner; the order column is the place in the queue."""
    kwargs = {"recovery_point_age_days": 10, "vault_concurrency": 5}
    small = estate_rto(FLEET, SAMPLE_POLICIES, order="smallest-first", **kwargs)
    large = estate_rto(FLEET, SAMPLE_POLICIES, order="largest-first", **kwargs)
    assert small["rto_hours"].median() < large["rto_hours"].median()  # type: ignore[operator]
    assert sorted(small["order"].to_list()) == list(range(1, 201))
    first = small.filter(pl.col("order") == 1)
    assert first["data_gb"][0] == small["data_gb"].min()


def test_alone_hours_can_be_left_out_for_a_large_estate() -> None:
    """alone=False skips the second simulation: the same RTO, no alone_hours."""
    kwargs = {"recovery_point_age_days": 10}
    both = estate_rto(FLEET, SAMPLE_POLICIES, **kwargs)
    estate_only = estate_rto(FLEET, SAMPLE_POLICIES, alone=False, **kwargs)
    assert estate_only["rto_hours"].equals(both["rto_hours"])
    assert estate_only["alone_hours"].null_count() == 200


def test_blocked_vms_take_no_place_in_the_queue() -> None:
    """Unmanaged VMs cannot replace disks: they are blocked, unordered and without hours."""
    table = estate_rto(FLEET, SAMPLE_POLICIES, option="replace-disks")
    blocked = table.filter(pl.col("status") == "blocked")
    assert blocked.height == 22
    assert blocked["order"].null_count() == blocked.height
    assert blocked["rto_hours"].null_count() == blocked.height
    assert table["order"].drop_nulls().sort().to_list() == list(range(1, 179))


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.floats(0, 3000), min_size=1, max_size=30),
    age=st.floats(0, 400),
    option=st.sampled_from(OPTIONS),
    archived=st.booleans(),
    accounts=st.integers(1, 6),
    placement=st.sampled_from(["one-account", "per-vm", "round-robin", "balanced"]),
    load=st.floats(0, 0.9),
)
def test_hours_are_never_nan_or_negative(
    sizes: list[float],
    age: float,
    option: str,
    archived: bool,
    accounts: int,
    placement: str,
    load: float,
) -> None:
    """Any estate, point and option: hours are finite and >= 0, null only when blocked; the
    RTO is never below the time alone."""
    frame = pl.DataFrame(
        {
            "vm_name": [f"vm{i // 2}" for i in range(len(sizes))],
            "used_gb": sizes,
            "policy": ["std" if i % 3 else "enh" for i in range(len(sizes))],
        }
    )
    table = estate_rto(
        frame,
        POLICIES,
        option=option,
        recovery_point_age_days=max(age, 93.0) if archived else age,
        archived=archived,
        accounts=accounts,
        placement=placement,
        background_load=load,
        cross_region_enabled=True,
    )
    hours = [c for c in table.columns if c.endswith("_hours")]
    ok = table.filter(pl.col("status") == "ok")
    for column in hours:
        values = ok[column].to_numpy()
        assert np.isfinite(values).all(), column
        assert (values >= 0).all(), column
        assert table.filter(pl.col("status") == "blocked")[column].null_count() == (
            table.height - ok.height
        )
    assert (ok["rto_hours"] >= ok["alone_hours"] - 1e-9).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"option": "teleport"}, "option='teleport' is not allowed; choose one of 'create-vm'"),
        ({"recovery_point_age_days": -1}, "recovery_point_age_days=-1 must be a finite number"),
        ({"rehydration": "urgent"}, "rehydration='urgent' is not allowed; choose one of"),
        ({"permissions": ["root"]}, "permissions='root' is not allowed; choose one of"),
        ({"permissions": "vault-restore"}, "permissions='vault-restore' must be a list"),
        ({"files_gb": -3.0}, "files_gb=-3.0 must be a finite number >= 0"),
        ({"order": "random"}, "order='random' is not allowed; choose one of 'fleet'"),
        ({"archived": "yes"}, "archived='yes' must be True or False"),
        ({"warp": 9}, r"unknown option\(s\) \['warp'\]; choose from \['create_vm_hours'"),
        ({"mount_hours": 12.0}, "mount_hours=12.0 must be below mount_valid_hours=12.0"),
        ({"file_copy_mb_s": 0}, "file_copy_mb_s=0 must be a finite number > 0"),
        ({"vault_concurrency": 0}, "vault_concurrency=0 must be a whole number"),
        ({"placement": "scatter"}, "placement='scatter' is not allowed"),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        estate_rto(vm(10.0), POLICIES, **kwargs)  # type: ignore[arg-type]


def test_an_unknown_policy_or_a_bad_column_is_named() -> None:
    with pytest.raises(ValueError, match=r"VM 'vm0': policy='gold' is not among the policies"):
        estate_rto(vm(10.0, policy="gold"), POLICIES)
    with pytest.raises(ValueError, match=r"row 0 \(vm0\): ade='luks' must be one of"):
        estate_rto(vm(10.0, ade="luks"), POLICIES)
    with pytest.raises(ValueError, match=r"policies\['x'\] must be a vmbackup.policy.Policy"):
        estate_rto(vm(10.0), {"x": "daily"})  # type: ignore[dict-item]


def test_every_permission_is_the_default() -> None:
    """S30: the default user holds every permission (a restore operator)."""
    assert one(vm(10.0, ade="bek-kek"), option="restore-disks")["status"] == "ok"
    assert len(PERMISSIONS) == 4
