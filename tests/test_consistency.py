"""The snapshot-consistency engine, rule by rule (S2-S8, L1-L3), exhaustively and by property."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmbackup.consistency import (
    EXTENSION_OUTCOMES,
    INPUTS,
    decide,
    decide_frame,
    decision_table,
)

TABLE = decision_table()
inputs = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in INPUTS.items()})


# --- the seed's consistency table, one row at a time -------------------------------------------


def test_s4_windows_all_vss_writers_succeeded_is_application_consistent() -> None:
    """S4: Windows, running, all VSS writers succeeded: application-consistent."""
    d = decide(os="windows", vss_writers="all-succeeded")
    assert (d.level, d.retry) == ("application", False)
    assert d.reasons[-2].startswith("S4:")


def test_s4_windows_some_vss_writers_failed_is_file_system_consistent() -> None:
    """S4: Windows, running, some VSS writers failed: file-system consistent."""
    assert decide(os="windows", vss_writers="some-failed").level == "file-system"


def test_s5_linux_scripts_configured_and_succeeded_is_application_consistent() -> None:
    """S5: Linux with pre/post scripts that ran successfully: application-consistent."""
    assert decide(os="linux", linux_scripts="succeeded").level == "application"


def test_s5_linux_without_scripts_is_file_system_consistent() -> None:
    """S5: Linux default (no scripts): file-system consistent."""
    d = decide(os="linux", linux_scripts="not-configured")
    assert d.level == "file-system"
    assert any(r.startswith("S5:") for r in d.reasons)


@pytest.mark.parametrize("outcome", ["failed", "timed-out"])
def test_s5_l3_linux_scripts_failed_with_continue_is_file_system_consistent(outcome: str) -> None:
    """S5, L3: scripts failed or timed out, continueBackupOnFailure true: file-system consistent."""
    d = decide(os="linux", linux_scripts=outcome, continue_backup_on_failure=True)
    assert (d.level, d.retry) == ("file-system", False)
    assert any(r.startswith("L3:") for r in d.reasons)


@pytest.mark.parametrize("outcome", ["failed", "timed-out"])
def test_l3_linux_scripts_failed_without_continue_fails_and_retries(outcome: str) -> None:
    """L3 (interpretation): continueBackupOnFailure false: the job fails, no level, retried."""
    d = decide(os="linux", linux_scripts=outcome, continue_backup_on_failure=False)
    assert (d.level, d.retry) == (None, True)


def test_l1_continue_backup_on_failure_defaults_to_true() -> None:
    """L1: continueBackupOnFailure defaults to true, so a failed script does not stop backups."""
    assert decide(os="linux", linux_scripts="failed").level == "file-system"


def test_l2_scripts_with_wrong_permissions_do_not_run() -> None:
    """L2: config not 600 / scripts not 700 root-owned: scripts skipped, file-system consistent."""
    d = decide(os="linux", linux_scripts="wrong-permissions")
    assert d.level == "file-system"
    assert any(r.startswith("L2:") for r in d.reasons)


@pytest.mark.parametrize("os", ["windows", "linux"])
@pytest.mark.parametrize("power", ["stopped", "deallocated"])
def test_s6_stopped_vm_with_provisioning_succeeded_is_file_system_consistent(
    os: str, power: str
) -> None:
    """S6: not running, provisioning succeeded: file-system consistent (no writes while stopped)."""
    d = decide(os=os, power_state=power, provisioning_state="succeeded", extension_installed=True)
    assert d.level == "file-system"


@pytest.mark.parametrize("provisioning", ["failed", "unavailable"])
@pytest.mark.parametrize("power", ["stopped", "deallocated"])
def test_s6_stopped_vm_with_provisioning_failed_or_unavailable_is_crash_consistent(
    provisioning: str, power: str
) -> None:
    """S6: not running, provisioning failed or unavailable: crash-consistent."""
    d = decide(os="windows", power_state=power, provisioning_state=provisioning)
    assert d.level == "crash"


@pytest.mark.parametrize("provisioning", ["creating", "deleting"])
@pytest.mark.parametrize("power", ["running", "stopped", "deallocated"])
@pytest.mark.parametrize("policy", ["application", "crash"])
def test_s6_provisioning_creating_or_deleting_means_retry(
    provisioning: str, power: str, policy: str
) -> None:
    """S6: provisioning creating or deleting: the service is retrying; no level yet."""
    d = decide(
        os="linux", power_state=power, provisioning_state=provisioning, policy_consistency=policy
    )
    assert (d.level, d.retry) == (None, True)
    assert d.extension in ("none", "already-there")


@pytest.mark.parametrize("provisioning", ["failed", "unavailable"])
def test_s6_interpretation_running_vm_with_failed_provisioning_is_crash_consistent(
    provisioning: str,
) -> None:
    """S6 (interpretation): a running VM in a failed/unavailable provisioning state: crash."""
    d = decide(os="windows", provisioning_state=provisioning)
    assert (d.level, d.extension) == ("crash", "none")


def test_s6_interpretation_all_vss_writers_failed_is_crash_consistent() -> None:
    """S6 (interpretation): all VSS writers failed or VSS unavailable: the app/fs snapshot
    failed, so crash-consistent."""
    d = decide(os="windows", vss_writers="all-failed")
    assert d.level == "crash"
    assert not d.truncates_logs


@pytest.mark.parametrize("power", ["running", "stopped", "deallocated"])
def test_s2_agentless_is_crash_consistent_and_installs_nothing(power: str) -> None:
    """S2: the agentless opt-in needs no agent: crash-consistent, no extension."""
    d = decide(os="windows", power_state=power, policy_consistency="crash")
    assert (d.level, d.extension, d.vm_changes) == ("crash", "none", ())


def test_s3_extension_installed_on_first_backup_only_if_running() -> None:
    """S3: the extension is installed during the first backup, and only on a running VM."""
    assert decide(os="linux").extension == "installed-now"
    assert decide(os="linux", extension_installed=True).extension == "already-there"
    for power in ("stopped", "deallocated"):
        assert decide(os="linux", power_state=power).extension == "cannot-install-stopped"


def test_s4_full_vss_truncates_logs_and_copy_keeps_them() -> None:
    """S4: full VSS (default) truncates application logs; VSS copy keeps them."""
    full = decide(os="windows", extension_installed=True)
    copy = decide(os="windows", extension_installed=True, vss_mode="copy")
    assert full.truncates_logs
    assert "application logs truncated (full VSS backup)" in full.vm_changes
    assert not copy.truncates_logs
    assert copy.level == "application"


def test_s8_windows_first_backup_installs_vc_redist_sets_vss_and_adds_service() -> None:
    """S8: first install on Windows: VC++ 2013 redistributable, VSS automatic, IaaSVmProvider."""
    changes = decide(os="windows", vss_mode="copy").vm_changes
    assert len(changes) == 3
    assert "Visual C++ 2013" in changes[0]
    assert "automatic" in changes[1]
    assert "IaaSVmProvider" in changes[2]
    assert decide(os="windows", extension_installed=True, vss_mode="copy").vm_changes == ()
    assert decide(os="linux").vm_changes == ()


def test_s7_crash_consistent_outcomes_say_the_host_cache_is_not_captured() -> None:
    """S7: crash-consistent captures only what is on disk, not the host cache."""
    d = decide(os="linux", policy_consistency="crash")
    assert d.reasons[-1].startswith("S7:")
    assert not any(r.startswith("S7:") for r in decide(os="linux").reasons)


# --- the whole table ---------------------------------------------------------------------------


def test_the_table_holds_every_combination_once() -> None:
    expected = 1
    for values in INPUTS.values():
        expected *= len(values)
    assert TABLE.height == expected
    assert TABLE.select(list(INPUTS)).unique().height == expected


def test_every_combination_yields_a_well_formed_outcome_equal_to_decide() -> None:
    """Exhaustive: the vectorised table and the one-VM ``decide`` agree on all 7,200 inputs."""
    for row in TABLE.iter_rows(named=True):
        d = decide(**{name: row[name] for name in INPUTS})
        assert (d.level, d.retry, d.extension, d.truncates_logs) == (
            row["level"],
            row["retry"],
            row["extension"],
            row["truncates_logs"],
        )
        assert d.level in ("application", "file-system", "crash", None)
        assert d.retry == (d.level is None)
        assert d.extension in EXTENSION_OUTCOMES
        assert d.reasons
        assert all(r[:1] in "SL" and ":" in r[:4] for r in d.reasons)
        assert d.reasons[-1 if d.level != "crash" else -2].startswith(row["rule"])


@given(inputs)
def test_a_stopped_vm_is_never_application_consistent(case: dict[str, object]) -> None:
    case["power_state"] = "stopped"
    assert decide(**case).level != "application"  # type: ignore[arg-type]


@given(inputs)
def test_agentless_never_installs_the_extension(case: dict[str, object]) -> None:
    case["policy_consistency"] = "crash"
    assert decide(**case).extension != "installed-now"  # type: ignore[arg-type]


@given(inputs, st.sampled_from(["not-configured", "failed", "timed-out", "wrong-permissions"]))
def test_linux_without_successful_scripts_is_never_application_consistent(
    case: dict[str, object], scripts: str
) -> None:
    case.update(os="linux", linux_scripts=scripts)
    assert decide(**case).level != "application"  # type: ignore[arg-type]


@given(inputs)
def test_only_full_vss_on_windows_truncates_logs(case: dict[str, object]) -> None:
    d = decide(**case)  # type: ignore[arg-type]
    if d.truncates_logs:
        assert (case["os"], case["vss_mode"], d.level) == ("windows", "full", "application")


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("os", "macos"),
        ("os", "Windoze"),
        ("power_state", "sleeping"),
        ("provisioning_state", "succeded"),
        ("policy_consistency", "app"),
        ("vss_writers", "none"),
        ("vss_mode", "partial"),
        ("linux_scripts", "ok"),
    ],
)
def test_unknown_values_raise_naming_the_argument_and_the_allowed_values(
    argument: str, value: str
) -> None:
    case: dict[str, object] = {"os": "windows", argument: value}
    with pytest.raises(ValueError, match=rf"^{argument}={value!r} is not allowed") as raised:
        decide(**case)  # type: ignore[arg-type]
    for allowed in INPUTS[argument]:
        assert repr(allowed) in str(raised.value)


def test_spelling_variants_of_allowed_values_are_accepted() -> None:
    assert decide(os=" Linux ", linux_scripts="Timed_Out").level == "file-system"


@pytest.mark.parametrize("argument", ["extension_installed", "continue_backup_on_failure"])
def test_flags_must_be_booleans(argument: str) -> None:
    with pytest.raises(ValueError, match=rf"{argument}='yes' must be True or False"):
        decide(os="linux", **{argument: "yes"})  # type: ignore[arg-type]


def test_decide_frame_names_a_missing_column_and_a_bad_value() -> None:
    frame = TABLE.select(list(INPUTS)).head(2)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['os'\]"):
        decide_frame(frame.drop("os"))
    with pytest.raises(ValueError, match=r"power_state='asleep' is not allowed"):
        decide_frame(frame.with_columns(power_state=pl.lit("asleep")))


def test_decide_frame_does_not_modify_its_input() -> None:
    frame = TABLE.select(list(INPUTS)).head(5)
    before = frame.clone()
    decide_frame(frame)
    assert frame.equals(before)
