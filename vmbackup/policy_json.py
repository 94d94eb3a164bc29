"""Policies from every JSON shape they come in, and back to ARM JSON (Y4, G1-G4).

Azure VM backup policies reach a planner in four shapes, all read into the one
:class:`vmbackup.policy.Policy` model:

- the resource as ARM and ``az backup policy show`` print it (``{"name", "properties"}``);
- the body of a REST ``PUT .../backupPolicies/{name}`` request (``{"properties": ...}``), or a
  REST API example file of the public spec (``{"parameters": {"policyName", "parameters"}}``);
- Terraform's ``azurerm_backup_policy_vm`` resources in ``terraform show -json`` output, from a
  plan (``planned_values``) or a state (``values``), root module and child modules.

Errors name the JSON path of the bad field (``properties.instantRpRetentionRangeInDays``,
``planned_values.root_module.resources[0].values.retention_daily[0].count``), its value and what
Azure allows. Parsing never modifies the document. The caller reads the file
(:func:`vmbackup.data.read_policy_file`); this module does no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vmbackup.policy import MonthlyDay, Policy, TieringPolicy, service_findings

__all__ = [
    "ARM_SCHEDULE_DATE",
    "SourcedPolicy",
    "policies_from_document",
    "policy_from_arm",
    "policy_from_terraform",
    "policy_to_arm",
]


@dataclass(frozen=True)
class SourcedPolicy:
    """A policy with where it came from.

    Parameters
    ----------
    policy
        The policy (checked against its rules unless read with ``enforce=False``).
    shape
        ``"arm"``, ``"put-body"``, ``"rest-example"`` or ``"terraform"``.
    where
        Its place in the document (``""`` for a whole-document policy, or a Terraform address).
    paths
        Policy field -> JSON path of the field in the document, for messages.
    """

    policy: Policy
    shape: str
    where: str
    paths: dict[str, str]


class _Path:
    """Reads fields of a JSON document and names their path in errors."""

    def __init__(self, label: str) -> None:
        self.label = label

    def fail(self, path: str, message: str) -> ValueError:
        return ValueError(f"{self.label}: {path}{message}")

    def obj(self, node: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(node, Mapping):
            raise self.fail(path, f" must be an object, found {type(node).__name__}")
        return node

    def get(self, node: Any, path: str, key: str, required: bool = True) -> Any:
        node = self.obj(node, path)
        value = node.get(key)
        if value is None and required:
            where = f"{path}.{key}" if path else key
            if key in node:  # present as null: say so, it is not missing
                raise self.fail(where, " is null; a value is required")
            raise self.fail(where, ": missing field")
        return value

    def names(self, node: Any, path: str, key: str) -> tuple[str, ...]:
        value = self.get(node, path, key)
        where = f"{path}.{key}" if path else key
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            raise self.fail(where, f"={value!r} must be a non-empty list of names")
        if not all(isinstance(v, str) for v in value):
            raise self.fail(where, f"={value!r} must hold names (strings)")
        return tuple(value)

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"={value!r} must be a whole number")
        return value


def _clock_of(reader: _Path, stamp: Any, path: str) -> float:
    """A Terraform ``HH:MM`` as hours since midnight (it carries no date)."""
    text = str(stamp)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return int(match[1]) + int(match[2]) / 60
    raise reader.fail(path, f"={stamp!r} is not a time of day like '23:00'")


def _run_time(
    reader: _Path, stamp: Any, path: str, args: dict[str, Any], paths: dict[str, str]
) -> None:
    """Read an ARM run time (an ISO date-time) into ``args``: its time of day is the run time
    in the policy's zone (``run_hour``), its date the schedule's reference date
    (``schedule_reference_date``; G13, A7: the offset of that date fixes the UTC hour)."""
    try:
        moment = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        raise reader.fail(
            path, f"={stamp!r} is not an ISO date-time like '2026-01-01T22:30:00Z'"
        ) from None
    args["run_hour"] = moment.hour + moment.minute / 60
    args["schedule_reference_date"] = moment.date()
    paths["run_hour"] = paths["schedule_reference_date"] = path


def _build(
    reader: _Path, args: dict[str, Any], paths: dict[str, str], enforce: bool, rules: str
) -> Policy:
    """Build the policy; name the JSON path of any field it rejects."""
    try:
        policy = Policy(**args, rules=rules, enforce=False)
    except ValueError as error:
        text = str(error)
        name = re.match(r"(\w+)=", text)
        path = paths.get(name[1], "") if name else ""
        raise reader.fail(path, f": {text}" if path else text) from None
    if enforce:  # only what Azure refuses on a documented rule; risks are the linter's
        broken = [f for f in service_findings(policy) if f.severity == "refused"]
        if broken:
            lines = [f"{paths.get(f.field, f.field)}: {f.message}" for f in broken]
            raise ValueError(
                f"{reader.label}: {'; '.join(lines)} (Azure refuses this under the "
                f"{rules!r} rules; read it with enforce=False to lint it)"
            )
        policy = Policy(**args, rules=rules)
    return policy


# --- ARM, az CLI and REST request bodies ---------------------------------------------------------


def _arm_count(reader: _Path, node: Any, path: str, unit: str) -> int | None:
    if node is None:
        return None
    duration = reader.get(node, path, "retentionDuration")
    where = f"{path}.retentionDuration"
    kind = reader.get(duration, where, "durationType")
    if kind != unit:
        raise reader.fail(f"{where}.durationType", f"={kind!r}; expected {unit!r}")
    return reader.integer(reader.get(duration, where, "count"), f"{where}.count")


def _arm_monthly_day(reader: _Path, node: Any, path: str) -> MonthlyDay:
    kind = reader.get(node, path, "retentionScheduleFormatType")
    if kind == "Weekly":
        weekly = reader.get(node, path, "retentionScheduleWeekly")
        where = f"{path}.retentionScheduleWeekly"
        days = reader.names(weekly, where, "daysOfTheWeek")
        weeks = reader.names(weekly, where, "weeksOfTheMonth")
        try:
            return MonthlyDay(weekdays=days, weeks=weeks)
        except ValueError as error:
            raise reader.fail(where, f": {error}") from None
    if kind == "Daily":
        daily = reader.get(node, path, "retentionScheduleDaily")
        where = f"{path}.retentionScheduleDaily.daysOfTheMonth"
        dates = reader.get(daily, f"{path}.retentionScheduleDaily", "daysOfTheMonth")
        if isinstance(dates, str) or not isinstance(dates, Sequence) or not dates:
            raise reader.fail(where, f"={dates!r} must be a non-empty list of days")
        numbers: list[int] = []
        last = False
        for i, entry in enumerate(dates):
            entry = reader.obj(entry, f"{where}[{i}]")
            if entry.get("isLast") is True:
                last = True
            else:
                numbers.append(reader.integer(entry.get("date"), f"{where}[{i}].date"))
        try:
            return MonthlyDay(days_of_month=tuple(numbers), last=last)
        except ValueError as error:
            raise reader.fail(where, f": {error}") from None
    raise reader.fail(
        f"{path}.retentionScheduleFormatType", f"={kind!r}; expected 'Weekly' or 'Daily'"
    )


def _arm_paths(props: str, version: str, frequency: str) -> dict[str, str]:
    sp, rp = f"{props}.schedulePolicy", f"{props}.retentionPolicy"
    runs = sp if version == "V1" else f"{sp}.weeklySchedule"
    return {
        "name": "name",
        "policy_type": f"{props}.policyType",
        "frequency": f"{sp}.scheduleRunFrequency",
        "run_hour": f"{sp}.scheduleRunTimes[0]",
        "run_days": f"{runs}.scheduleRunDays",
        "hourly_interval_hours": f"{sp}.hourlySchedule.interval",
        "window_hours": f"{sp}.hourlySchedule.scheduleWindowDuration",
        "instant_restore_days": f"{props}.instantRpRetentionRangeInDays",
        "daily_retention_days": f"{rp}.dailySchedule.retentionDuration.count",
        "weekly_retention_weeks": f"{rp}.weeklySchedule.retentionDuration.count",
        "weekly_days": f"{rp}.weeklySchedule.daysOfTheWeek",
        "monthly_retention_months": f"{rp}.monthlySchedule.retentionDuration.count",
        "yearly_retention_years": f"{rp}.yearlySchedule.retentionDuration.count",
        "yearly_months": f"{rp}.yearlySchedule.monthsOfYear",
        "consistency": f"{props}.snapshotConsistencyType",
        "time_zone": f"{props}.timeZone",
        "retention": rp,
    }


def _arm_policy(
    reader: _Path, props: Any, where: str, name: str, enforce: bool, rules: str
) -> tuple[Policy, dict[str, str]]:
    props = reader.obj(props, where)
    kind = reader.get(props, where, "backupManagementType")
    if kind != "AzureIaasVM":
        raise reader.fail(
            f"{where}.backupManagementType",
            f"={kind!r}; only 'AzureIaasVM' (VM backup) policies are supported",
        )
    version = props.get("policyType") or "V1"
    if version not in ("V1", "V2"):
        raise reader.fail(f"{where}.policyType", f"={version!r}; expected 'V1' or 'V2'")
    sp = f"{where}.schedulePolicy"
    schedule = reader.get(props, where, "schedulePolicy")
    schedule_type = reader.get(schedule, sp, "schedulePolicyType")
    expected = "SimpleSchedulePolicyV2" if version == "V2" else "SimpleSchedulePolicy"
    if schedule_type != expected:
        raise reader.fail(
            f"{sp}.schedulePolicyType",
            f"={schedule_type!r}; a {version} policy uses {expected!r}",
        )
    frequency = reader.get(schedule, sp, "scheduleRunFrequency")
    if frequency not in ("Daily", "Weekly", "Hourly"):
        raise reader.fail(
            f"{sp}.scheduleRunFrequency", f"={frequency!r}; expected 'Daily', 'Weekly' or 'Hourly'"
        )
    time_zone = props.get("timeZone") or "UTC"
    args: dict[str, Any] = {
        "name": name,
        "policy_type": "enhanced" if version == "V2" else "standard",
        "frequency": frequency.lower(),
        "time_zone": time_zone,
    }
    paths = _arm_paths(where, version, frequency)
    if frequency == "Hourly":
        hp = f"{sp}.hourlySchedule"
        hourly = reader.get(schedule, sp, "hourlySchedule")
        args["hourly_interval_hours"] = reader.integer(
            reader.get(hourly, hp, "interval"), f"{hp}.interval"
        )
        args["window_hours"] = reader.integer(
            reader.get(hourly, hp, "scheduleWindowDuration"), f"{hp}.scheduleWindowDuration"
        )
        start = reader.get(hourly, hp, "scheduleWindowStartTime")
        _run_time(reader, start, f"{hp}.scheduleWindowStartTime", args, paths)
    else:
        node, path = schedule, sp
        if version == "V2":
            key = "dailySchedule" if frequency == "Daily" else "weeklySchedule"
            node, path = reader.get(schedule, sp, key), f"{sp}.{key}"
        times = reader.get(node, path, "scheduleRunTimes")
        if isinstance(times, str) or not isinstance(times, Sequence) or not times:
            raise reader.fail(f"{path}.scheduleRunTimes", " must be a non-empty list")
        _run_time(reader, times[0], f"{path}.scheduleRunTimes[0]", args, paths)
        if frequency == "Weekly":
            args["run_days"] = reader.names(node, path, "scheduleRunDays")
            paths["run_days"] = f"{path}.scheduleRunDays"
    rp = f"{where}.retentionPolicy"
    retention = reader.get(props, where, "retentionPolicy")
    retention_type = reader.get(retention, rp, "retentionPolicyType")
    if retention_type != "LongTermRetentionPolicy":
        raise reader.fail(
            f"{rp}.retentionPolicyType", f"={retention_type!r}; expected 'LongTermRetentionPolicy'"
        )
    args["daily_retention_days"] = _arm_count(
        reader, retention.get("dailySchedule"), f"{rp}.dailySchedule", "Days"
    )
    weekly = retention.get("weeklySchedule")
    args["weekly_retention_weeks"] = _arm_count(reader, weekly, f"{rp}.weeklySchedule", "Weeks")
    if weekly:
        args["weekly_days"] = reader.names(weekly, f"{rp}.weeklySchedule", "daysOfTheWeek")
    monthly = retention.get("monthlySchedule")
    args["monthly_retention_months"] = _arm_count(
        reader, monthly, f"{rp}.monthlySchedule", "Months"
    )
    if monthly:
        args["monthly_day"] = _arm_monthly_day(reader, monthly, f"{rp}.monthlySchedule")
    yearly = retention.get("yearlySchedule")
    args["yearly_retention_years"] = _arm_count(reader, yearly, f"{rp}.yearlySchedule", "Years")
    if yearly:
        args["yearly_months"] = reader.names(yearly, f"{rp}.yearlySchedule", "monthsOfYear")
        args["yearly_day"] = _arm_monthly_day(reader, yearly, f"{rp}.yearlySchedule")
    if props.get("instantRpRetentionRangeInDays") is not None:
        args["instant_restore_days"] = reader.integer(
            props["instantRpRetentionRangeInDays"], f"{where}.instantRpRetentionRangeInDays"
        )
    consistency = props.get("snapshotConsistencyType") or "Default"
    if consistency not in ("Default", "OnlyCrashConsistent"):
        raise reader.fail(
            f"{where}.snapshotConsistencyType",
            f"={consistency!r}; expected 'Default' or 'OnlyCrashConsistent'",
        )
    args["consistency"] = "crash" if consistency == "OnlyCrashConsistent" else "application"
    if props.get("tieringPolicy") is not None:
        args["tiering"] = _arm_tiering(reader, props["tieringPolicy"], f"{where}.tieringPolicy")
        paths["tiering"] = f"{where}.tieringPolicy.ArchivedRP"
    return _build(reader, args, paths, enforce, rules), paths


#: Days per ``durationType`` of a tiering duration (months of 31 days, as retention counts, G3).
_TIER_UNIT_DAYS = {"Days": 1, "Weeks": 7, "Months": 31, "Years": 365}


def _arm_tiering(reader: _Path, node: Any, where: str) -> TieringPolicy:
    """``tieringPolicy.ArchivedRP`` (G7): ``tieringMode`` and, for TierAfter, the duration."""
    archived = reader.get(reader.obj(node, where), where, "ArchivedRP")
    path = f"{where}.ArchivedRP"
    mode = reader.get(archived, path, "tieringMode")
    if mode not in ("DoNotTier", "TierAfter", "TierRecommended"):
        raise reader.fail(
            f"{path}.tieringMode",
            f"={mode!r}; expected 'DoNotTier', 'TierAfter' or 'TierRecommended'",
        )
    if mode != "TierAfter":
        return TieringPolicy(mode)
    count = reader.integer(reader.get(archived, path, "duration"), f"{path}.duration")
    unit = reader.get(archived, path, "durationType")
    if unit not in _TIER_UNIT_DAYS:
        raise reader.fail(
            f"{path}.durationType", f"={unit!r}; expected one of {list(_TIER_UNIT_DAYS)}"
        )
    try:
        return TieringPolicy(mode, after_days=count * _TIER_UNIT_DAYS[unit])
    except ValueError as error:
        raise reader.fail(f"{path}.duration", f": {error}") from None


def policy_from_arm(
    document: Mapping[str, Any],
    *,
    label: str = "policy JSON",
    enforce: bool = True,
    rules: str = "today",
) -> Policy:
    """Build a :class:`Policy` from an Azure VM backup policy as ARM or ``az`` prints it (Y4).

    Parameters
    ----------
    document
        The parsed JSON: a resource with ``properties``, a PUT request body, or the
        ``properties`` object itself.
    label
        What the messages call the document (a file name).
    enforce, rules
        As for :class:`Policy`: whether breaking a rule of ``rules`` is an error.

    Raises
    ------
    ValueError
        A field is missing or has an unsupported value, or Azure would refuse the policy; the
        message gives the field's JSON path.

    Examples
    --------
    >>> body = {"properties": {"backupManagementType": "AzureIaasVM",
    ...     "schedulePolicy": {"schedulePolicyType": "SimpleSchedulePolicy",
    ...         "scheduleRunFrequency": "Daily", "scheduleRunTimes": ["2026-01-01T21:00:00Z"]},
    ...     "retentionPolicy": {"retentionPolicyType": "LongTermRetentionPolicy",
    ...         "dailySchedule": {"retentionDuration": {"count": 3, "durationType": "Days"}}}}}
    >>> policy_from_arm(body)
    Traceback (most recent call last):
    ...
    ValueError: policy JSON: properties.retentionPolicy.dailySchedule.retentionDuration.count: \
daily_retention_days=3: at least 7 days (G3.1, daily-retention-min) (Azure refuses this under \
the 'today' rules; read it with enforce=False to lint it)
    >>> policy_from_arm(body, rules="seed").daily_retention_days
    3
    """
    found = policies_from_document(document, label=label, enforce=enforce, rules=rules)
    if len(found) != 1:
        raise ValueError(f"{label}: holds {len(found)} policies; expected one")
    return found[0].policy


# --- Terraform -----------------------------------------------------------------------------------


def _tf_block(reader: _Path, values: Mapping[str, Any], key: str, path: str) -> Any:
    """A Terraform nested block: a list of at most one object in ``terraform show -json``."""
    block = values.get(key)
    if block is None or block == []:
        return None
    if isinstance(block, Mapping):
        return block
    if isinstance(block, Sequence) and not isinstance(block, str) and len(block) == 1:
        return reader.obj(block[0], f"{path}.{key}[0]")
    raise reader.fail(f"{path}.{key}", f"={block!r} must be a list holding one block")


def _tf_monthly_day(reader: _Path, block: Mapping[str, Any], path: str) -> MonthlyDay:
    weekdays, weeks = block.get("weekdays") or [], block.get("weeks") or []
    days, last = block.get("days") or [], bool(block.get("include_last_days"))
    for key, value in (("weekdays", weekdays), ("weeks", weeks), ("days", days)):
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise reader.fail(f"{path}.{key}", f"={value!r} must be a list")
    try:
        if weekdays or weeks:
            return MonthlyDay(weekdays=tuple(weekdays), weeks=tuple(weeks))
        return MonthlyDay(days_of_month=tuple(days), last=last)
    except ValueError as error:
        raise reader.fail(path, f": {error}") from None


def policy_from_terraform(
    values: Mapping[str, Any],
    *,
    label: str = "terraform JSON",
    path: str = "values",
    enforce: bool = True,
    rules: str = "today",
) -> SourcedPolicy:
    """Build a policy from the ``values`` of an ``azurerm_backup_policy_vm`` resource.

    The attributes follow the provider's documented schema: ``backup`` (``frequency``, ``time``
    as ``HH:MM``, ``hour_interval``, ``hour_duration``, ``weekdays``), ``retention_daily`` /
    ``_weekly`` / ``_monthly`` / ``_yearly`` blocks, ``instant_restore_retention_days``,
    ``policy_type`` (``V1``/``V2``), ``timezone``, ``consistency_type`` (``OnlyCrashConsistent``:
    crash-consistent, agentless; ``Default`` or absent: application-consistent, as
    ``snapshotConsistencyType`` in ARM, Y4) and ``tiering_policy[0].archived_restore_point[0]``
    (``mode``, ``duration``, ``duration_type``: ARM's ``tieringPolicy.ArchivedRP``, G7). The
    provider's acceptance test ``TestAccBackupProtectionPolicyVM_tieringPolicy``
    (hashicorp/terraform-provider-azurerm,
    ``internal/services/recoveryservices/backup_policy_vm_resource_test.go``) writes
    ``mode = "TierAfter"``, ``duration = 5``, ``duration_type = "Months"``.
    """
    reader = _Path(label)
    values = reader.obj(values, path)
    backup = _tf_block(reader, values, "backup", path)
    if backup is None:
        raise reader.fail(f"{path}.backup", ": missing block")
    bp = f"{path}.backup[0]"
    frequency = reader.get(backup, bp, "frequency")
    if frequency not in ("Daily", "Weekly", "Hourly"):
        raise reader.fail(f"{bp}.frequency", f"={frequency!r}; expected Daily, Weekly or Hourly")
    version = values.get("policy_type") or "V1"
    if version not in ("V1", "V2"):
        raise reader.fail(f"{path}.policy_type", f"={version!r}; expected 'V1' or 'V2'")
    args: dict[str, Any] = {
        "name": str(reader.get(values, path, "name")),
        "policy_type": "enhanced" if version == "V2" else "standard",
        "frequency": frequency.lower(),
        "time_zone": values.get("timezone") or "UTC",
        "run_hour": _clock_of(reader, reader.get(backup, bp, "time"), f"{bp}.time"),
    }
    paths = {
        "name": f"{path}.name",
        "policy_type": f"{path}.policy_type",
        "frequency": f"{bp}.frequency",
        "run_hour": f"{bp}.time",
        "run_days": f"{bp}.weekdays",
        "hourly_interval_hours": f"{bp}.hour_interval",
        "window_hours": f"{bp}.hour_duration",
        "instant_restore_days": f"{path}.instant_restore_retention_days",
        "daily_retention_days": f"{path}.retention_daily[0].count",
        "weekly_retention_weeks": f"{path}.retention_weekly[0].count",
        "weekly_days": f"{path}.retention_weekly[0].weekdays",
        "monthly_retention_months": f"{path}.retention_monthly[0].count",
        "yearly_retention_years": f"{path}.retention_yearly[0].count",
        "yearly_months": f"{path}.retention_yearly[0].months",
        "time_zone": f"{path}.timezone",
        "retention": path,
    }
    if frequency == "Hourly":
        args["hourly_interval_hours"] = reader.integer(
            reader.get(backup, bp, "hour_interval"), f"{bp}.hour_interval"
        )
        args["window_hours"] = reader.integer(
            reader.get(backup, bp, "hour_duration"), f"{bp}.hour_duration"
        )
    if frequency == "Weekly":
        args["run_days"] = reader.names(backup, bp, "weekdays")
    if values.get("instant_restore_retention_days") is not None:
        args["instant_restore_days"] = reader.integer(
            values["instant_restore_retention_days"], f"{path}.instant_restore_retention_days"
        )
    kinds: tuple[tuple[str, str, Callable[[Mapping[str, Any], str], None]], ...] = (
        ("retention_daily", "daily_retention_days", lambda b, p: None),
        (
            "retention_weekly",
            "weekly_retention_weeks",
            lambda b, p: args.update(weekly_days=reader.names(b, p, "weekdays")),
        ),
        (
            "retention_monthly",
            "monthly_retention_months",
            lambda b, p: args.update(monthly_day=_tf_monthly_day(reader, b, p)),
        ),
        (
            "retention_yearly",
            "yearly_retention_years",
            lambda b, p: args.update(
                yearly_months=reader.names(b, p, "months"),
                yearly_day=_tf_monthly_day(reader, b, p),
            ),
        ),
    )
    for key, name, extra in kinds:
        block = _tf_block(reader, values, key, path)
        args[name] = None
        if block is not None:
            where = f"{path}.{key}[0]"
            args[name] = reader.integer(reader.get(block, where, "count"), f"{where}.count")
            extra(block, where)
    consistency = values.get("consistency_type") or "Default"
    if consistency not in ("Default", "OnlyCrashConsistent"):
        raise reader.fail(
            f"{path}.consistency_type",
            f"={consistency!r}; expected 'Default' or 'OnlyCrashConsistent'",
        )
    args["consistency"] = "crash" if consistency == "OnlyCrashConsistent" else "application"
    paths["consistency"] = f"{path}.consistency_type"
    tiering = _tf_block(reader, values, "tiering_policy", path)
    if tiering is not None:
        tp = f"{path}.tiering_policy[0]"
        archived = _tf_block(reader, tiering, "archived_restore_point", tp)
        if archived is not None:
            ap = f"{tp}.archived_restore_point[0]"
            args["tiering"] = _tf_tiering(reader, archived, ap)
            paths["tiering"] = ap
    policy = _build(reader, args, paths, enforce, rules)
    return SourcedPolicy(policy, "terraform", path, paths)


def _tf_tiering(reader: _Path, archived: Mapping[str, Any], path: str) -> TieringPolicy:
    """``archived_restore_point``: Terraform's ``mode``, ``duration`` and ``duration_type``
    read as ARM's ``tieringMode``, ``duration`` and ``durationType`` (G7)."""
    mode = reader.get(archived, path, "mode")
    if mode not in ("DoNotTier", "TierAfter", "TierRecommended"):
        raise reader.fail(
            f"{path}.mode", f"={mode!r}; expected 'DoNotTier', 'TierAfter' or 'TierRecommended'"
        )
    if mode != "TierAfter":
        return TieringPolicy(mode)
    count = reader.integer(reader.get(archived, path, "duration"), f"{path}.duration")
    unit = reader.get(archived, path, "duration_type")
    if unit not in _TIER_UNIT_DAYS:
        raise reader.fail(
            f"{path}.duration_type", f"={unit!r}; expected one of {list(_TIER_UNIT_DAYS)}"
        )
    try:
        return TieringPolicy(mode, after_days=count * _TIER_UNIT_DAYS[unit])
    except ValueError as error:
        raise reader.fail(f"{path}.duration", f": {error}") from None


def _tf_modules(reader: _Path, module: Any, path: str) -> list[tuple[Any, str]]:
    """Every resource of a module and its child modules, with its JSON path."""
    module = reader.obj(module, path)
    found = []
    resources = module.get("resources") or []
    if not isinstance(resources, Sequence):
        raise reader.fail(f"{path}.resources", " must be a list")
    found += [(r, f"{path}.resources[{i}]") for i, r in enumerate(resources)]
    children = module.get("child_modules") or []
    if not isinstance(children, Sequence):
        raise reader.fail(f"{path}.child_modules", " must be a list")
    for i, child in enumerate(children):
        found += _tf_modules(reader, child, f"{path}.child_modules[{i}]")
    return found


# --- every shape ---------------------------------------------------------------------------------


def policies_from_document(
    document: Any,
    *,
    label: str = "policy JSON",
    enforce: bool = True,
    rules: str = "today",
    default_name: str = "policy",
) -> list[SourcedPolicy]:
    """Every VM backup policy in a parsed JSON document, whatever its shape.

    Parameters
    ----------
    document
        ARM / ``az`` output (one policy, or a list as ``az backup policy list`` prints), a PUT
        request body, a REST API example file, or ``terraform show -json`` output.
    label
        What messages call the document (usually its file name).
    enforce, rules
        As for :class:`Policy`.
    default_name
        The name of a policy whose document gives none (a PUT body: the name is in the URL).

    Returns
    -------
    list of SourcedPolicy
        In document order; a Terraform document may hold several policies.

    Raises
    ------
    ValueError
        Unknown shape, a broken field (named by its JSON path), or no policy at all.
    """
    reader = _Path(label)
    if isinstance(document, Sequence) and not isinstance(document, str):
        return _policy_list(reader, document, "", enforce, rules)
    document = reader.obj(document, "the top level")
    for key in ("value", "data"):  # a REST list; 'az graph query' output
        if isinstance(document.get(key), list) and "properties" not in document:
            return _policy_list(reader, document[key], key, enforce, rules)
    responses = document.get("responses")
    body = responses.get("200", {}).get("body") if isinstance(responses, Mapping) else None
    wrapped = document.get("parameters")
    if isinstance(body, Mapping) and not (
        isinstance(wrapped, Mapping) and "parameters" in wrapped
    ):  # a REST API example of a GET or a list: the policies are in the response
        found = policies_from_document(
            body,
            label=f"{label}: responses.200.body",
            enforce=enforce,
            rules=rules,
            default_name=default_name,
        )
        return [SourcedPolicy(p.policy, "rest-example", p.where, p.paths) for p in found]
    if "format_version" in document and ("planned_values" in document or "values" in document):
        top = "planned_values" if "planned_values" in document else "values"
        root = reader.get(reader.get(document, "", top), top, "root_module")
        policies = []
        for resource, path in _tf_modules(reader, root, f"{top}.root_module"):
            resource = reader.obj(resource, path)
            if resource.get("type") != "azurerm_backup_policy_vm":
                continue
            values = reader.get(resource, path, "values")
            sourced = policy_from_terraform(
                values, label=label, path=f"{path}.values", enforce=enforce, rules=rules
            )
            address = str(resource.get("address") or path)
            policies.append(SourcedPolicy(sourced.policy, "terraform", address, sourced.paths))
        if not policies:
            raise reader.fail(top, ": no azurerm_backup_policy_vm resource in this document")
        return policies
    if "parameters" in document and "properties" not in document:
        outer = reader.obj(document["parameters"], "parameters")
        body = reader.get(outer, "parameters", "parameters")
        name = str(outer.get("policyName") or "policy")
        props = reader.get(body, "parameters.parameters", "properties")
        where = "parameters.parameters.properties"
        policy, paths = _arm_policy(reader, props, where, name, enforce, rules)
        return [SourcedPolicy(policy, "rest-example", "parameters.parameters", paths)]
    if "properties" in document:
        name = str(document.get("name") or default_name)
        shape = "arm" if "name" in document or "id" in document else "put-body"
        policy, paths = _arm_policy(
            reader, document["properties"], "properties", name, enforce, rules
        )
        return [SourcedPolicy(policy, shape, "", paths)]
    if "backupManagementType" in document:
        policy, paths = _arm_policy(reader, document, "properties", default_name, enforce, rules)
        return [SourcedPolicy(policy, "arm", "", paths)]
    raise reader.fail(
        "the top level",
        " is not a policy: expected ARM / az JSON ('properties'), a REST request body or "
        "example ('parameters'), or 'terraform show -json' output ('format_version')",
    )


def _policy_list(
    reader: _Path, items: Sequence[Any], base: str, enforce: bool, rules: str
) -> list[SourcedPolicy]:
    """The VM policies of a list (``az backup policy list``, REST ``value``, Resource Graph
    ``data``). Policies of other workloads (``backupManagementType`` other than
    ``AzureIaasVM``: SQL in a VM, file shares) are skipped. A broken VM policy refuses the
    whole list: the message names it by position and name and says how many others read, so
    nothing is planned on a silently shortened list."""
    found: list[SourcedPolicy] = []
    broken: list[tuple[str, str]] = []
    others = 0
    for i, item in enumerate(items):
        at = f"{base}[{i}]"
        item = reader.obj(item, at)
        props = reader.get(item, at, "properties")
        kind = props.get("backupManagementType") if isinstance(props, Mapping) else None
        if isinstance(kind, str) and kind != "AzureIaasVM":
            others += 1
            continue
        name = str(item.get("name") or f"policy{i + 1}")
        try:
            policy, paths = _arm_policy(reader, props, f"{at}.properties", name, enforce, rules)
        except ValueError as error:
            broken.append((f"{at} ({name!r})", str(error)))
            continue
        found.append(SourcedPolicy(policy, "arm", at, paths))
    if broken:
        where, message = broken[0]
        more = f" ({len(broken) - 1} more broken)" if len(broken) > 1 else ""
        raise ValueError(
            f"{message} [policy {where}{more}; the other {len(found)} VM policies of the list "
            "read; fix or remove it]"
        )
    if not found:
        skipped = f": its {others} policies are of other workloads" if others else ""
        raise reader.fail(
            base, f" holds no VM backup policy (backupManagementType AzureIaasVM){skipped}"
        )
    return found


# --- back to ARM ---------------------------------------------------------------------------------


#: The date written with a run time when a policy has no ``schedule_reference_date``: ARM
#: stores a date-time, and this date's offset then fixes the UTC hour (G13, A7).
ARM_SCHEDULE_DATE = dt.date(2026, 1, 1)


def _stamp(hour: float, on: dt.date | None) -> str:
    minutes = round(hour * 60)
    day = ARM_SCHEDULE_DATE if on is None else on
    return f"{day:%Y-%m-%d}T{minutes // 60:02d}:{minutes % 60:02d}:00Z"


def _arm_day(day: MonthlyDay) -> dict[str, Any]:
    if day.weekdays:
        return {
            "retentionScheduleFormatType": "Weekly",
            "retentionScheduleWeekly": {
                "daysOfTheWeek": list(day.weekdays),
                "weeksOfTheMonth": list(day.weeks),
            },
            "retentionScheduleDaily": None,
        }
    dates = [{"date": d, "isLast": False} for d in day.days_of_month]
    if day.last:
        dates.append({"date": 0, "isLast": True})
    return {
        "retentionScheduleFormatType": "Daily",
        "retentionScheduleDaily": {"daysOfTheMonth": dates},
        "retentionScheduleWeekly": None,
    }


def _duration(count: int, unit: str) -> dict[str, Any]:
    return {"retentionDuration": {"count": count, "durationType": unit}}


def policy_to_arm(policy: Policy) -> dict[str, Any]:
    """The ARM JSON of ``policy`` (the shape ``az backup policy show`` prints; Y4).

    Reading the result with :func:`policy_from_arm` gives the same policy back, its
    ``schedule_reference_date`` included. ARM stores the run time as a date-time: a policy
    without a reference date is written with :data:`ARM_SCHEDULE_DATE` and reads back with it
    (G13, A7: that date's offset then fixes the run time's UTC hour).

    >>> p = Policy(daily_retention_days=14, instant_restore_days=3,
    ...            schedule_reference_date=dt.date(2026, 7, 1))
    >>> policy_to_arm(p)["properties"]["schedulePolicy"]["scheduleRunTimes"]
    ['2026-07-01T22:30:00Z']
    >>> policy_from_arm(policy_to_arm(p)) == p
    True
    >>> policy_from_arm(policy_to_arm(Policy())).schedule_reference_date
    datetime.date(2026, 1, 1)
    """
    v2 = policy.policy_type == "enhanced"
    run: dict[str, list[str]] = {
        "scheduleRunTimes": [_stamp(policy.run_hour, policy.schedule_reference_date)]
    }
    if policy.frequency == "weekly":
        run["scheduleRunDays"] = list(policy.run_days)
    schedule: dict[str, Any] = {
        "schedulePolicyType": "SimpleSchedulePolicyV2" if v2 else "SimpleSchedulePolicy",
        "scheduleRunFrequency": policy.frequency.capitalize(),
    }
    if policy.frequency == "hourly":
        schedule["hourlySchedule"] = {
            "interval": policy.hourly_interval_hours,
            "scheduleWindowDuration": policy.window_hours,
            "scheduleWindowStartTime": _stamp(policy.run_hour, policy.schedule_reference_date),
        }
    elif v2:
        schedule["dailySchedule" if policy.frequency == "daily" else "weeklySchedule"] = run
    else:
        schedule.update(run)
    retention: dict[str, Any] = {"retentionPolicyType": "LongTermRetentionPolicy"}
    if policy.daily_retention_days is not None:
        retention["dailySchedule"] = _duration(policy.daily_retention_days, "Days")
    if policy.weekly_retention_weeks is not None:
        retention["weeklySchedule"] = {
            "daysOfTheWeek": list(policy.weekly_days),
            **_duration(policy.weekly_retention_weeks, "Weeks"),
        }
    if policy.monthly_retention_months is not None:
        retention["monthlySchedule"] = {
            **_arm_day(policy.monthly_day),
            **_duration(policy.monthly_retention_months, "Months"),
        }
    if policy.yearly_retention_years is not None:
        retention["yearlySchedule"] = {
            "monthsOfYear": list(policy.yearly_months),
            **_arm_day(policy.yearly_day),
            **_duration(policy.yearly_retention_years, "Years"),
        }
    return {
        "name": policy.name,
        "type": "Microsoft.RecoveryServices/vaults/backupPolicies",
        "properties": {
            "backupManagementType": "AzureIaasVM",
            "policyType": "V2" if v2 else "V1",
            "instantRpRetentionRangeInDays": policy.instant_restore_days,
            "schedulePolicy": schedule,
            "retentionPolicy": retention,
            "snapshotConsistencyType": (
                "OnlyCrashConsistent" if policy.consistency == "crash" else "Default"
            ),
            "timeZone": policy.time_zone,
            **_tiering_arm(policy),
        },
    }


def _tiering_arm(policy: Policy) -> dict[str, Any]:
    if policy.tiering is None:
        return {}
    rule: dict[str, Any] = {"tieringMode": policy.tiering.mode}
    if policy.tiering.after_days is not None:
        rule.update(duration=policy.tiering.after_days, durationType="Days")
    return {"tieringPolicy": {"ArchivedRP": rule}}
