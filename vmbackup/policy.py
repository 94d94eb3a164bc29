"""Backup policies: schedule, Instant Restore and long-term retention (items S29, Y1-Y4).

A :class:`Policy` is validated on creation against the service's limits. :func:`policy_from_arm`
reads the JSON that ARM and ``az backup policy show`` return (V1 Standard and V2 Enhanced);
the caller reads the file (``vmbackup.data.read_json``), so this module does no I/O.

Dates are ``datetime.date``; times of day are hours since midnight in the policy's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from vmbackup._checks import choice

__all__ = [
    "HOURLY_INTERVALS_HOURS",
    "MAX_RECOVERY_POINTS",
    "WEEKDAYS",
    "MonthlyDay",
    "Policy",
    "policy_from_arm",
]

#: Y2: an Enhanced policy can back up every 4, 6, 8 or 12 hours.
HOURLY_INTERVALS_HOURS = (4, 6, 8, 12)
#: Y3: at most 9,999 recovery points per protected item.
MAX_RECOVERY_POINTS = 9999
#: Y1/Y2: Instant Restore retention in days, (min, max, default) by policy type.
INSTANT_RESTORE_DAYS = {"standard": (1, 5, 2), "enhanced": (1, 30, 7)}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKS_OF_MONTH = ("First", "Second", "Third", "Fourth", "Last")


@dataclass(frozen=True)
class MonthlyDay:
    """Which day of a month keeps a monthly or yearly recovery point.

    Either a weekday in a week of the month (``weekday="Sunday", week="First"``), or a date
    (``day_of_month=1``), or the last day of the month (``last=True``).
    """

    weekday: str | None = None
    week: str | None = None
    day_of_month: int | None = None
    last: bool = False

    def __post_init__(self) -> None:
        if self.weekday is not None or self.week is not None:
            choice("weekday", self.weekday, WEEKDAYS)
            choice("week", self.week, WEEKS_OF_MONTH)
        elif not self.last and (self.day_of_month is None or not 1 <= self.day_of_month <= 28):
            raise ValueError(
                f"day_of_month={self.day_of_month!r} must be 1..28 (or set last=True, or a "
                "weekday and week)"
            )

    def expression(self, day: pl.Expr) -> pl.Expr:
        """A boolean polars expression: whether each date in ``day`` is the chosen day."""
        if self.weekday is not None and self.week is not None:
            right_weekday = day.dt.weekday() == WEEKDAYS.index(self.weekday) + 1
            if self.week == "Last":
                return right_weekday & (day.dt.offset_by("7d").dt.month() != day.dt.month())
            week = WEEKS_OF_MONTH.index(self.week)
            return right_weekday & ((day.dt.day() - 1) // 7 == week)
        if self.last:
            return day.dt.offset_by("1d").dt.month() != day.dt.month()
        return day.dt.day() == self.day_of_month

    def matches(self, day: dt.date) -> bool:
        """Whether ``day`` is the chosen day of its month.

        >>> MonthlyDay(weekday="Sunday", week="First").matches(dt.date(2026, 11, 1))
        True
        """
        frame = pl.DataFrame({"day": [day]})
        return bool(frame.select(self.expression(pl.col("day")))[0, 0])


@dataclass(frozen=True)
class Policy:
    """A VM backup policy.

    Parameters
    ----------
    name
        The policy's name.
    policy_type
        ``"standard"`` (V1: one backup a day or week) or ``"enhanced"`` (V2: also hourly).
    frequency
        ``"daily"``, ``"weekly"`` or ``"hourly"`` (Enhanced only).
    run_hour
        Time of day of a daily or weekly backup, or the window start of an hourly one [h].
    run_days
        Weekdays of a weekly backup (names from :data:`WEEKDAYS`).
    hourly_interval_hours
        Hours between backups of an hourly schedule: 4, 6, 8 or 12 [h].
    window_hours
        Length of an hourly schedule's window, 4 to 24 and a multiple of the interval [h].
    instant_restore_days
        Days a recovery point's snapshot is kept (Standard 1-5, default 2; Enhanced 1-30,
        default 7) [days].
    daily_retention_days, weekly_retention_weeks, monthly_retention_months, yearly_retention_years
        How long each kind of recovery point is kept; None when the policy keeps none.
    weekly_days
        Which weekday's point is kept as the weekly one.
    monthly_day, yearly_day
        Which day of the month keeps the monthly (and, in ``yearly_months``, yearly) point.
    yearly_months
        Months whose chosen day keeps the yearly point.
    consistency
        ``"application"`` (agent-based) or ``"crash"`` (agentless, ``OnlyCrashConsistent``).
    time_zone
        The schedule's time zone name, as in the policy JSON.
    """

    name: str = "DefaultPolicy"
    policy_type: str = "standard"
    frequency: str = "daily"
    run_hour: float = 22.5
    run_days: tuple[str, ...] = ()
    hourly_interval_hours: int | None = None
    window_hours: int | None = None
    instant_restore_days: int | None = None
    daily_retention_days: int | None = 30
    weekly_retention_weeks: int | None = None
    weekly_days: tuple[str, ...] = ("Sunday",)
    monthly_retention_months: int | None = None
    monthly_day: MonthlyDay = field(
        default_factory=lambda: MonthlyDay(weekday="Sunday", week="First")
    )
    yearly_retention_years: int | None = None
    yearly_months: tuple[str, ...] = ("January",)
    yearly_day: MonthlyDay = field(
        default_factory=lambda: MonthlyDay(weekday="Sunday", week="First")
    )
    consistency: str = "application"
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "policy_type", choice("policy_type", self.policy_type, ("standard", "enhanced")))
        set_(self, "frequency", choice("frequency", self.frequency, ("daily", "weekly", "hourly")))
        set_(self, "consistency", choice("consistency", self.consistency, ("application", "crash")))
        set_(self, "run_days", tuple(choice("run_days", d, WEEKDAYS) for d in self.run_days))
        set_(
            self, "weekly_days", tuple(choice("weekly_days", d, WEEKDAYS) for d in self.weekly_days)
        )
        set_(
            self,
            "yearly_months",
            tuple(choice("yearly_months", m, MONTHS) for m in self.yearly_months),
        )
        if not (isinstance(self.run_hour, int | float) and 0 <= self.run_hour < 24):
            raise ValueError(f"run_hour={self.run_hour!r} must be an hour of the day in [0, 24)")
        low, high, default = INSTANT_RESTORE_DAYS[self.policy_type]
        if self.instant_restore_days is None:
            set_(self, "instant_restore_days", default)
        elif not (
            isinstance(self.instant_restore_days, int) and low <= self.instant_restore_days <= high
        ):
            raise ValueError(
                f"instant_restore_days={self.instant_restore_days!r} must be {low}..{high} for a "
                f"{self.policy_type} policy"
            )
        self._check_schedule()
        self._check_retention()

    def _check_schedule(self) -> None:
        if self.frequency == "weekly" and not self.run_days:
            raise ValueError("run_days=() must name at least one weekday for a weekly schedule")
        if self.frequency != "hourly":
            return
        if self.policy_type != "enhanced":
            raise ValueError(
                "frequency='hourly' is allowed only for policy_type='enhanced' (Standard policies "
                "back up once a day or week)"
            )
        if self.hourly_interval_hours not in HOURLY_INTERVALS_HOURS:
            raise ValueError(
                f"hourly_interval_hours={self.hourly_interval_hours!r} must be one of "
                f"{HOURLY_INTERVALS_HOURS}"
            )
        window = self.window_hours
        if not (
            isinstance(window, int)
            and 4 <= window <= 24
            and window % self.hourly_interval_hours == 0
        ):
            raise ValueError(
                f"window_hours={window!r} must be 4..24 and a multiple of "
                f"hourly_interval_hours={self.hourly_interval_hours}"
            )

    def _check_retention(self) -> None:
        counts = {
            "daily_retention_days": (self.daily_retention_days, 1, 9999),
            "weekly_retention_weeks": (self.weekly_retention_weeks, 1, 5163),
            "monthly_retention_months": (self.monthly_retention_months, 1, 1188),
            "yearly_retention_years": (self.yearly_retention_years, 1, 99),
        }
        for name, (value, low, high) in counts.items():
            if value is not None and not (isinstance(value, int) and low <= value <= high):
                raise ValueError(
                    f"{name}={value!r} must be a whole number in {low}..{high}, or None"
                )
        if self.frequency == "daily" and self.daily_retention_days is None:
            raise ValueError("daily_retention_days=None: a daily schedule must keep daily points")
        if self.frequency == "weekly" and self.weekly_retention_weeks is None:
            raise ValueError(
                "weekly_retention_weeks=None: a weekly schedule must keep weekly points"
            )
        if self.max_recovery_points() > MAX_RECOVERY_POINTS:
            raise ValueError(
                f"this retention keeps up to {self.max_recovery_points()} recovery points; "
                f"the service allows {MAX_RECOVERY_POINTS} per protected item (Y3)"
            )

    def backups_per_day(self) -> int:
        """Scheduled backups on a backup day: 1, or window / interval for hourly (Y2)."""
        if self.frequency == "hourly":
            assert self.window_hours is not None
            assert self.hourly_interval_hours is not None
            return self.window_hours // self.hourly_interval_hours
        return 1

    def backup_hours(self) -> tuple[float, ...]:
        """Times of day of the scheduled backups [h since midnight].

        >>> Policy(policy_type="enhanced", frequency="hourly", run_hour=8,
        ...        hourly_interval_hours=4, window_hours=12).backup_hours()
        (8.0, 12.0, 16.0)
        """
        step = self.hourly_interval_hours or 24
        return tuple(float((self.run_hour + i * step) % 24) for i in range(self.backups_per_day()))

    def is_backup_day(self, day: dt.date) -> bool:
        """Whether the schedule backs up on ``day``."""
        return self.frequency != "weekly" or WEEKDAYS[day.weekday()] in self.run_days

    def max_recovery_points(self) -> int:
        """An upper bound on recovery points kept at once in the vault (for the Y3 limit)."""
        total = self.daily_retention_days or 0
        if self.weekly_retention_weeks:
            total += self.weekly_retention_weeks * len(self.weekly_days)
        total += self.monthly_retention_months or 0
        total += (self.yearly_retention_years or 0) * len(self.yearly_months)
        return total


# --- ARM / az CLI JSON (Y4) ----------------------------------------------------------------------


def _get(node: Mapping[str, Any], path: str, key: str, required: bool = True) -> Any:
    if not isinstance(node, Mapping):
        raise ValueError(f"policy JSON: {path} must be an object, found {type(node).__name__}")
    if key not in node or (required and node[key] is None):
        if required:
            raise ValueError(f"policy JSON: missing field {path}.{key}")
        return None
    return node[key]


def _hour_of(stamp: Any, path: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(
            f"policy JSON: {path}={stamp!r} is not an ISO date-time like '2026-01-01T22:30:00Z'"
        ) from error
    return moment.hour + moment.minute / 60


def _count(node: Any, path: str, unit: str) -> int | None:
    if node is None:
        return None
    duration = _get(node, path, "retentionDuration")
    count = _get(duration, f"{path}.retentionDuration", "count")
    kind = _get(duration, f"{path}.retentionDuration", "durationType")
    if kind != unit:
        raise ValueError(
            f"policy JSON: {path}.retentionDuration.durationType={kind!r}; expected {unit!r}"
        )
    if not isinstance(count, int) or isinstance(count, bool):
        raise ValueError(
            f"policy JSON: {path}.retentionDuration.count={count!r} must be an integer"
        )
    return count


def _monthly_day(node: Mapping[str, Any], path: str) -> MonthlyDay:
    kind = _get(node, path, "retentionScheduleFormatType")
    if kind == "Weekly":
        weekly = _get(node, path, "retentionScheduleWeekly")
        days = _get(weekly, f"{path}.retentionScheduleWeekly", "daysOfTheWeek")
        weeks = _get(weekly, f"{path}.retentionScheduleWeekly", "weeksOfTheMonth")
        return MonthlyDay(weekday=days[0], week=weeks[0])
    if kind == "Daily":
        daily = _get(node, path, "retentionScheduleDaily")
        dates = _get(daily, f"{path}.retentionScheduleDaily", "daysOfTheMonth")
        first = dates[0]
        if first.get("isLast"):
            return MonthlyDay(last=True)
        return MonthlyDay(day_of_month=first.get("date"))
    raise ValueError(
        f"policy JSON: {path}.retentionScheduleFormatType={kind!r}; expected 'Weekly' or 'Daily'"
    )


def policy_from_arm(document: Mapping[str, Any]) -> Policy:
    """Build a :class:`Policy` from an Azure VM backup policy as ARM or ``az`` prints it (Y4).

    Parameters
    ----------
    document
        The parsed JSON: a resource with ``properties``, or the ``properties`` object itself.

    Raises
    ------
    ValueError
        A field is missing, has an unsupported value, or the policy is not an Azure VM policy;
        the message gives the field's path in the JSON.
    """
    if not isinstance(document, Mapping):
        raise ValueError(
            f"policy JSON: the top level must be an object, found {type(document).__name__}"
        )
    props = document.get("properties", document)
    name = str(document.get("name", "policy"))
    kind = _get(props, "properties", "backupManagementType")
    if kind != "AzureIaasVM":
        raise ValueError(
            f"policy JSON: properties.backupManagementType={kind!r}; only 'AzureIaasVM' (VM "
            "backup) policies are supported"
        )
    version = props.get("policyType") or "V1"
    if version not in ("V1", "V2"):
        raise ValueError(f"policy JSON: properties.policyType={version!r}; expected 'V1' or 'V2'")
    schedule = _get(props, "properties", "schedulePolicy")
    sp = "properties.schedulePolicy"
    schedule_type = _get(schedule, sp, "schedulePolicyType")
    expected_type = "SimpleSchedulePolicyV2" if version == "V2" else "SimpleSchedulePolicy"
    if schedule_type != expected_type:
        raise ValueError(
            f"policy JSON: {sp}.schedulePolicyType={schedule_type!r}; a {version} policy uses "
            f"{expected_type!r}"
        )
    frequency = _get(schedule, sp, "scheduleRunFrequency")
    if frequency not in ("Daily", "Weekly", "Hourly"):
        raise ValueError(
            f"policy JSON: {sp}.scheduleRunFrequency={frequency!r}; expected 'Daily', 'Weekly' "
            "or 'Hourly'"
        )
    args: dict[str, Any] = {
        "name": name,
        "policy_type": "enhanced" if version == "V2" else "standard",
        "frequency": frequency.lower(),
        "time_zone": props.get("timeZone") or "UTC",
    }
    if frequency == "Hourly":
        hourly = _get(schedule, sp, "hourlySchedule")
        args["hourly_interval_hours"] = _get(hourly, f"{sp}.hourlySchedule", "interval")
        args["window_hours"] = _get(hourly, f"{sp}.hourlySchedule", "scheduleWindowDuration")
        start = _get(hourly, f"{sp}.hourlySchedule", "scheduleWindowStartTime")
        args["run_hour"] = _hour_of(start, f"{sp}.hourlySchedule.scheduleWindowStartTime")
    else:
        where = schedule
        where_path = sp
        if version == "V2":
            key = "dailySchedule" if frequency == "Daily" else "weeklySchedule"
            where = _get(schedule, sp, key)
            where_path = f"{sp}.{key}"
        times = _get(where, where_path, "scheduleRunTimes")
        if not isinstance(times, Sequence) or isinstance(times, str) or not times:
            raise ValueError(f"policy JSON: {where_path}.scheduleRunTimes must be a non-empty list")
        args["run_hour"] = _hour_of(times[0], f"{where_path}.scheduleRunTimes[0]")
        if frequency == "Weekly":
            args["run_days"] = tuple(_get(where, where_path, "scheduleRunDays"))
    retention = _get(props, "properties", "retentionPolicy")
    rp = "properties.retentionPolicy"
    retention_type = _get(retention, rp, "retentionPolicyType")
    if retention_type != "LongTermRetentionPolicy":
        raise ValueError(
            f"policy JSON: {rp}.retentionPolicyType={retention_type!r}; expected "
            "'LongTermRetentionPolicy'"
        )
    args["daily_retention_days"] = _count(
        retention.get("dailySchedule"), f"{rp}.dailySchedule", "Days"
    )
    weekly = retention.get("weeklySchedule")
    args["weekly_retention_weeks"] = _count(weekly, f"{rp}.weeklySchedule", "Weeks")
    if weekly:
        args["weekly_days"] = tuple(_get(weekly, f"{rp}.weeklySchedule", "daysOfTheWeek"))
    monthly = retention.get("monthlySchedule")
    args["monthly_retention_months"] = _count(monthly, f"{rp}.monthlySchedule", "Months")
    if monthly:
        args["monthly_day"] = _monthly_day(monthly, f"{rp}.monthlySchedule")
    yearly = retention.get("yearlySchedule")
    args["yearly_retention_years"] = _count(yearly, f"{rp}.yearlySchedule", "Years")
    if yearly:
        args["yearly_months"] = tuple(_get(yearly, f"{rp}.yearlySchedule", "monthsOfYear"))
        args["yearly_day"] = _monthly_day(yearly, f"{rp}.yearlySchedule")
    if props.get("instantRpRetentionRangeInDays") is not None:
        args["instant_restore_days"] = props["instantRpRetentionRangeInDays"]
    consistency = props.get("snapshotConsistencyType") or "Default"
    if consistency not in ("Default", "OnlyCrashConsistent"):
        raise ValueError(
            f"policy JSON: properties.snapshotConsistencyType={consistency!r}; expected "
            "'Default' or 'OnlyCrashConsistent'"
        )
    args["consistency"] = "crash" if consistency == "OnlyCrashConsistent" else "application"
    try:
        return Policy(**args)
    except ValueError as error:
        raise ValueError(f"policy JSON ({name}): {error}") from error
