"""Snapshot consistency: which level a VM backup gets, and why (items S2-S8, L1-L3).

The rules are data: :data:`LEVEL_RULES` and :data:`EXTENSION_RULES` are ordered tables whose
first matching row decides. :func:`decide` reads them for one VM and explains the chain of rules;
:func:`decide_frame` evaluates the same tables as polars expressions for many VMs at once; and
:func:`decision_table` lists every combination of inputs with its outcome.

Interpretations where the service description is silent or ambiguous (each is tested):

- A *running* VM whose provisioning state is ``failed`` or ``unavailable`` gets a crash-consistent
  backup, as a stopped one does: the provisioning note gives crash for these states without
  naming a power state, and extension commands cannot run on such a VM. If the extension is
  missing it is not installed.
- ``creating`` or ``deleting`` means the service retries later, whatever the power state or the
  policy, agentless included: nothing is snapshotted now (level None, ``retry`` True).
- Windows with *all* VSS writers failing, or VSS unavailable, is an application/file-system
  snapshot that failed, so the backup is crash-consistent (S6); *some* writers failing gives
  file-system consistency (S4).
- Full VSS truncates application logs only when the snapshot is application-consistent (all
  writers succeeded); a VSS copy backup never does.
- Linux scripts with wrong permissions do not run (L2) and the backup is file-system consistent;
  scripts that fail or time out give file-system consistency with ``continue_backup_on_failure``
  True, and with False the job fails and is retried (L3): level None, ``retry`` True.
- Agentless (``policy_consistency="crash"``) is crash-consistent for running and stopped VMs alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from vmbackup._checks import choice, flag

__all__ = [
    "CONTINUE_BACKUP_ON_FAILURE",
    "EXTENSION_OUTCOMES",
    "EXTENSION_RULES",
    "INPUTS",
    "LEVELS",
    "LEVEL_RULES",
    "Decision",
    "Rule",
    "decide",
    "decide_frame",
    "decision_table",
    "rules_frame",
]

Level = Literal["application", "file-system", "crash"]

#: The allowed values of every input of :func:`decide`, in a fixed order; the first is the default
#: where a default exists.
INPUTS: dict[str, tuple[str, ...] | tuple[bool, ...]] = {
    "os": ("windows", "linux"),
    "power_state": ("running", "stopped", "deallocated"),
    "provisioning_state": ("succeeded", "failed", "unavailable", "creating", "deleting"),
    "policy_consistency": ("application", "crash"),
    "extension_installed": (False, True),
    "vss_writers": ("all-succeeded", "some-failed", "all-failed"),
    "vss_mode": ("full", "copy"),
    "linux_scripts": ("not-configured", "succeeded", "failed", "timed-out", "wrong-permissions"),
    "continue_backup_on_failure": (True, False),
}

#: L1: ``continueBackupOnFailure`` defaults to true in VMSnapshotScriptPluginConfig.json.
CONTINUE_BACKUP_ON_FAILURE = True

#: What restoring from each level means (the seed's consistency table, in the project's words).
LEVELS: dict[str, str] = {
    "application": (
        "The VM boots with no corruption or loss, and applications start in a consistent state: "
        "memory and pending I/O were flushed by VSS writers (Windows) or pre/post scripts (Linux)."
    ),
    "file-system": (
        "The VM boots with no corruption or loss, because all files were captured at the same "
        "instant; applications must run their own fix-up to make their data consistent."
    ),
    "crash": (
        "The VM boots and runs a disk check to repair errors; writes still in memory or in the "
        "host's read/write cache were never on disk and are lost; applications verify their data "
        "themselves, e.g. a database rolls back using its transaction log."
    ),
}

#: The possible outcomes for the backup extension.
EXTENSION_OUTCOMES = ("none", "installed-now", "already-there", "cannot-install-stopped")


@dataclass(frozen=True)
class Rule:
    """One row of a rule table: when every condition holds, the outcome applies.

    ``when`` maps an input name to the values it must take; inputs not named are free.
    """

    item: str
    when: Mapping[str, tuple[object, ...]]
    outcome: str | None
    reason: str
    retry: bool = False

    def matches(self, inputs: Mapping[str, object]) -> bool:
        return all(inputs[name] in values for name, values in self.when.items())

    def expression(self) -> pl.Expr:
        """The rule's condition as a polars expression over the input columns."""
        conditions = [pl.col(name).is_in(list(values)) for name, values in self.when.items()]
        return pl.all_horizontal(conditions) if conditions else pl.lit(True)


_NOT_RUNNING = ("stopped", "deallocated")
_TRANSIENT = ("creating", "deleting")
_BROKEN = ("failed", "unavailable")
_AGENT = {"policy_consistency": ("application",)}
_RUNNING_OK = {**_AGENT, "power_state": ("running",), "provisioning_state": ("succeeded",)}

#: The consistency level, first matching row wins (S2, S4, S5, S6, L2, L3).
LEVEL_RULES: tuple[Rule, ...] = (
    Rule(
        "S6",
        {"provisioning_state": _TRANSIENT},
        None,
        "the VM's provisioning state is creating or deleting, so the service retries the backup "
        "later; no snapshot is taken now",
        retry=True,
    ),
    Rule(
        "S2",
        {"policy_consistency": ("crash",)},
        "crash",
        "the policy opts into agentless crash-consistent backups: a multi-disk snapshot is taken "
        "with no agent or extension in the VM",
    ),
    Rule(
        "S6",
        {**_AGENT, "power_state": _NOT_RUNNING, "provisioning_state": ("succeeded",)},
        "file-system",
        "the VM is not running and its provisioning state succeeded: nothing writes while it is "
        "stopped, so the snapshot is file-system consistent",
    ),
    Rule(
        "S6",
        {**_AGENT, "power_state": _NOT_RUNNING, "provisioning_state": _BROKEN},
        "crash",
        "the VM is not running and its provisioning state is failed or unavailable: the backup "
        "is crash-consistent",
    ),
    Rule(
        "S6",
        {**_AGENT, "power_state": ("running",), "provisioning_state": _BROKEN},
        "crash",
        "interpretation: the provisioning state is failed or unavailable, which gives a "
        "crash-consistent backup even though the VM runs (extension commands cannot run)",
    ),
    Rule(
        "S4",
        {**_RUNNING_OK, "os": ("windows",), "vss_writers": ("all-succeeded",)},
        "application",
        "Windows VM running: VSS coordinated the snapshot and all VSS writers succeeded, so it "
        "is application-consistent",
    ),
    Rule(
        "S4",
        {**_RUNNING_OK, "os": ("windows",), "vss_writers": ("some-failed",)},
        "file-system",
        "Windows VM running: some VSS writers failed, so the service falls back to a "
        "file-system consistent snapshot",
    ),
    Rule(
        "S6",
        {**_RUNNING_OK, "os": ("windows",), "vss_writers": ("all-failed",)},
        "crash",
        "interpretation: every VSS writer failed (or VSS is unavailable), so the "
        "application/file-system snapshot failed and the backup is crash-consistent",
    ),
    Rule(
        "S5",
        {**_RUNNING_OK, "os": ("linux",), "linux_scripts": ("succeeded",)},
        "application",
        "Linux VM running: the pre- and post-scripts are configured and succeeded, so the "
        "recovery point is marked application-consistent (the scripts' author answers for it)",
    ),
    Rule(
        "S5",
        {**_RUNNING_OK, "os": ("linux",), "linux_scripts": ("not-configured",)},
        "file-system",
        "Linux VM running without pre/post scripts: file-system consistent, the Linux default",
    ),
    Rule(
        "L2",
        {**_RUNNING_OK, "os": ("linux",), "linux_scripts": ("wrong-permissions",)},
        "file-system",
        "the script config is not mode 600 or the scripts not 700 and root-owned, so the scripts "
        "do not run and the backup is file-system consistent",
    ),
    Rule(
        "L3",
        {
            **_RUNNING_OK,
            "os": ("linux",),
            "linux_scripts": ("failed", "timed-out"),
            "continue_backup_on_failure": (True,),
        },
        "file-system",
        "a pre/post script failed or timed out and continueBackupOnFailure is true, so the "
        "backup goes on, file-system consistent",
    ),
    Rule(
        "L3",
        {
            **_RUNNING_OK,
            "os": ("linux",),
            "linux_scripts": ("failed", "timed-out"),
            "continue_backup_on_failure": (False,),
        },
        None,
        "a pre/post script failed or timed out and continueBackupOnFailure is false, so the "
        "backup fails and is retried",
        retry=True,
    ),
)

#: What happens to the backup extension, first matching row wins (S2, S3, S6).
EXTENSION_RULES: tuple[Rule, ...] = (
    Rule(
        "S2",
        {"policy_consistency": ("crash",), "extension_installed": (False,)},
        "none",
        "agentless backups need no extension, and none is installed",
    ),
    Rule(
        "S2",
        {"policy_consistency": ("crash",), "extension_installed": (True,)},
        "already-there",
        "an extension is already in the VM, but the agentless backup does not use it",
    ),
    Rule(
        "S3",
        {"extension_installed": (True,)},
        "already-there",
        "the backup extension is already installed",
    ),
    Rule(
        "S6",
        {"provisioning_state": _TRANSIENT},
        "none",
        "the extension is not installed while the service waits to retry",
    ),
    Rule(
        "S3",
        {"power_state": _NOT_RUNNING},
        "cannot-install-stopped",
        "the extension cannot be installed because the VM is not running",
    ),
    Rule(
        "S6",
        {"provisioning_state": _BROKEN},
        "none",
        "interpretation: the extension is not installed while the provisioning state is failed "
        "or unavailable",
    ),
    Rule(
        "S3",
        {},
        "installed-now",
        "the VM is running, so the backup extension is installed during this first backup",
    ),
)

_TRUNCATE_REASON = (
    "S4: full VSS mode (the default) truncates application logs such as SQL Server's; choose VSS "
    "copy mode to keep them"
)
_CACHE_REASON = "S7: only data already on disk is captured; the host read/write cache is not"
_WINDOWS_SETUP = (
    "Visual C++ 2013 Redistributable (x64) 12.0.40660 installed",
    "Volume Shadow Copy Service startup set to automatic",
    "Windows service IaaSVmProvider added",
)


@dataclass(frozen=True)
class Decision:
    """The outcome of one backup attempt's consistency decision.

    Attributes
    ----------
    level
        ``"application"``, ``"file-system"`` or ``"crash"``; None when the job is retried.
    retry
        True when no recovery point is made now and the service tries again.
    extension
        One of :data:`EXTENSION_OUTCOMES`.
    truncates_logs
        True when a full VSS backup truncates application logs (S4).
    vm_changes
        What the backup changes inside the VM (S8 on a Windows first install; logs truncated).
    reasons
        The chain of rules that led here, each starting with its item (``"S6: ..."``).
    """

    level: Level | None
    retry: bool
    extension: str
    truncates_logs: bool
    vm_changes: tuple[str, ...]
    reasons: tuple[str, ...]


def _first(rules: tuple[Rule, ...], inputs: Mapping[str, object]) -> Rule:
    for rule in rules:
        if rule.matches(inputs):
            return rule
    raise AssertionError(f"no rule matches {dict(inputs)}")  # the tables end in catch-alls


def _normalise(raw: Mapping[str, object]) -> dict[str, object]:
    inputs: dict[str, object] = {}
    for name, allowed in INPUTS.items():
        value = raw[name]
        if isinstance(allowed[0], bool):
            inputs[name] = flag(name, value)
        else:
            inputs[name] = choice(name, value, allowed)
    return inputs


def decide(
    *,
    os: str,
    power_state: str = "running",
    provisioning_state: str = "succeeded",
    policy_consistency: str = "application",
    extension_installed: bool = False,
    vss_writers: str = "all-succeeded",
    vss_mode: str = "full",
    linux_scripts: str = "not-configured",
    continue_backup_on_failure: bool = CONTINUE_BACKUP_ON_FAILURE,
) -> Decision:
    """Decide the consistency of one VM backup and explain why.

    Parameters
    ----------
    os
        ``"windows"`` or ``"linux"``.
    power_state
        ``"running"``, ``"stopped"`` or ``"deallocated"``.
    provisioning_state
        ``"succeeded"``, ``"failed"``, ``"unavailable"``, ``"creating"`` or ``"deleting"``.
    policy_consistency
        ``"application"``: the default agent-based policy (application- or file-system-consistent);
        ``"crash"``: the agentless crash-consistent opt-in (S2).
    extension_installed
        Whether the backup extension is already in the VM (it is after a first backup, S3).
    vss_writers
        Windows only: ``"all-succeeded"``, ``"some-failed"`` or ``"all-failed"`` (which also
        stands for VSS being unavailable).
    vss_mode
        Windows only: ``"full"`` (the default, truncates logs) or ``"copy"`` (keeps logs).
    linux_scripts
        Linux only: ``"not-configured"``, ``"succeeded"``, ``"failed"``, ``"timed-out"`` or
        ``"wrong-permissions"`` (L1, L2).
    continue_backup_on_failure
        Linux only: the scripts' ``continueBackupOnFailure`` setting (L1, default True).

    Returns
    -------
    Decision
        The level (None when retried), the extension outcome, log truncation and the reasons.

    Notes
    -----
    See the module docstring for the interpretations where the service description is silent.

    Examples
    --------
    >>> decide(os="windows").level
    'application'
    >>> d = decide(os="linux", power_state="stopped", provisioning_state="failed")
    >>> d.level, d.extension
    ('crash', 'cannot-install-stopped')
    >>> decide(os="linux", linux_scripts="timed-out", continue_backup_on_failure=False).retry
    True
    """
    inputs = _normalise(
        {
            "os": os,
            "power_state": power_state,
            "provisioning_state": provisioning_state,
            "policy_consistency": policy_consistency,
            "extension_installed": extension_installed,
            "vss_writers": vss_writers,
            "vss_mode": vss_mode,
            "linux_scripts": linux_scripts,
            "continue_backup_on_failure": continue_backup_on_failure,
        }
    )
    level_rule = _first(LEVEL_RULES, inputs)
    extension_rule = _first(EXTENSION_RULES, inputs)
    level: Level | None = level_rule.outcome  # type: ignore[assignment]
    truncates = _truncates_logs(inputs, level)
    reasons = [f"{extension_rule.item}: {extension_rule.reason}"]
    changes: list[str] = []
    if extension_rule.outcome == "installed-now" and inputs["os"] == "windows":
        reasons.append("S8: the first backup prepares Windows for VSS-based snapshots")
        changes.extend(_WINDOWS_SETUP)
    reasons.append(f"{level_rule.item}: {level_rule.reason}")
    if truncates:
        reasons.append(_TRUNCATE_REASON)
        changes.append("application logs truncated (full VSS backup)")
    if level == "crash":
        reasons.append(_CACHE_REASON)
    return Decision(
        level=level,
        retry=level_rule.retry,
        extension=str(extension_rule.outcome),
        truncates_logs=truncates,
        vm_changes=tuple(changes),
        reasons=tuple(reasons),
    )


def _truncates_logs(inputs: Mapping[str, object], level: str | None) -> bool:
    return inputs["os"] == "windows" and level == "application" and inputs["vss_mode"] == "full"


def _chain(rules: tuple[Rule, ...], column: str) -> pl.Expr:
    """A struct of ``column`` (the outcome), ``{column}_item`` and ``{column}_retry`` taken from
    the first matching rule, as one ``when/then`` chain per field."""
    fields: dict[str, Callable[[Rule], pl.Expr]] = {
        column: lambda rule: pl.lit(rule.outcome, dtype=pl.String),
        f"{column}_item": lambda rule: pl.lit(rule.item, dtype=pl.String),
        f"{column}_retry": lambda rule: pl.lit(rule.retry, dtype=pl.Boolean),
    }
    exprs = []
    for name, value_of in fields.items():
        chain: Any = pl
        for rule in rules:
            chain = chain.when(rule.expression()).then(value_of(rule))
        exprs.append(chain.alias(name))
    return pl.struct(exprs)


def decide_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Vectorised :func:`decide`: one row per VM in, the same rows with outcome columns out.

    Parameters
    ----------
    frame
        One column per input of :func:`decide` (see :data:`INPUTS`); values as :func:`decide`
        accepts them after normalisation (lower case, ``-`` not ``_``).

    Returns
    -------
    polars.DataFrame
        ``frame`` plus ``level``, ``retry``, ``extension``, ``truncates_logs`` and ``rule`` (the
        item of the rule that set the level).

    Raises
    ------
    ValueError
        A column is missing or holds a value outside :data:`INPUTS`.
    """
    missing = [name for name in INPUTS if name not in frame.columns]
    if missing:
        raise ValueError(f"missing column(s) {missing}; decide_frame needs {list(INPUTS)}")
    for name, allowed in INPUTS.items():
        bad = frame.filter(~pl.col(name).is_in(list(allowed)) | pl.col(name).is_null())
        if bad.height:
            raise ValueError(
                f"{name}={bad[name][0]!r} is not allowed; choose one of "
                + ", ".join(repr(v) for v in allowed)
            )
    out = frame.with_columns(
        _chain(LEVEL_RULES, "level").struct.unnest(),
        _chain(EXTENSION_RULES, "extension").struct.unnest(),
    )
    return (
        out.rename({"level_retry": "retry", "level_item": "rule"})
        .with_columns(
            truncates_logs=(pl.col("os") == "windows")
            & (pl.col("level") == "application").fill_null(False)
            & (pl.col("vss_mode") == "full"),
        )
        .select(*frame.columns, "level", "retry", "extension", "truncates_logs", "rule")
    )


def rules_frame(rules: tuple[Rule, ...] = LEVEL_RULES) -> pl.DataFrame:
    """A rule table as a DataFrame: order, item, conditions, outcome and reason.

    >>> rules_frame().columns
    ['order', 'item', 'when', 'outcome', 'reason']
    """
    return pl.DataFrame(
        {
            "order": list(range(1, len(rules) + 1)),
            "item": [r.item for r in rules],
            "when": [
                "; ".join(f"{k} in {list(v)}" for k, v in r.when.items()) or "otherwise"
                for r in rules
            ],
            "outcome": [r.outcome or "retry" for r in rules],
            "reason": [r.reason for r in rules],
        }
    )


def decision_table() -> pl.DataFrame:
    """Every combination of :data:`INPUTS` with its outcome, as a polars DataFrame.

    Returns
    -------
    polars.DataFrame
        One row per combination (7,200 rows): the inputs, then ``level``, ``retry``,
        ``extension``, ``truncates_logs`` and ``rule``.

    Examples
    --------
    >>> table = decision_table()
    >>> table.height
    7200
    >>> sorted(table["level"].drop_nulls().unique().to_list())
    ['application', 'crash', 'file-system']
    """
    combos = list(itertools.product(*INPUTS.values()))
    columns = {name: [combo[i] for combo in combos] for i, name in enumerate(INPUTS)}
    return decide_frame(pl.DataFrame(columns))
