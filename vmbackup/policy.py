"""Backup policies: schedule, Instant Restore and long-term retention (items S29, Y1-Y3, G1-G4).

A :class:`Policy` is checked on creation against the service's limits. Which limits apply is
itself data: :data:`POLICY_RULES` holds two dated rule sets,

- ``"seed"``: the limits of the service description this course teaches (Y1, Y2): hourly every
  4, 6, 8 or 12 hours in a window that is a multiple of the interval; Instant Restore 1-5 days
  (Standard) or 1-30 days (Enhanced); calendar months for monthly retention;
- ``"today"`` (the default): the limits Azure enforces as its current pages document them (G1-G4):
  24-hourly schedules too; Instant Restore capped by the hourly interval and by the vault
  retention, fixed at 5 days for Standard weekly schedules and 5-20 days for Enhanced weekly
  ones; daily retention of at least 7 days; crash-consistent (agentless) only on Enhanced; a
  month of retention counted as 31 days.

:func:`service_findings` lists every rule a policy breaks under a rule set (the linter uses it
to report them all at once); ``Policy(..., enforce=False)`` builds a policy that breaks them,
so that it can be linted or compared. Reading policies from JSON (ARM, a REST request body,
Terraform) is :mod:`vmbackup.policy_json`'s job; this module does no I/O.

Dates are ``datetime.date``; times of day are hours since midnight in the policy's time zone.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from vmbackup._checks import choice, date_value
from vmbackup.catalogue import STATUSES, rule

__all__ = [
    "MAX_RECOVERY_POINTS",
    "MONTHS",
    "POLICY_RULES",
    "WEEKDAYS",
    "WEEKS_OF_MONTH",
    "Finding",
    "MonthlyDay",
    "Policy",
    "PolicyRules",
    "TieringPolicy",
    "service_findings",
]

#: Y3: at most 9,999 recovery points per protected item.
MAX_RECOVERY_POINTS = 9999
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
#: Largest retention counts the portal offers (days, weeks, months, years); Y3's 9,999 points
#: bounds their sum.
MAX_RETENTION_COUNTS = {"daily": 9999, "weekly": 5163, "monthly": 1188, "yearly": 99}


@dataclass(frozen=True)
class PolicyRules:
    """The limits Azure puts on a VM backup policy at one point in time.

    Parameters
    ----------
    name
        ``"seed"`` or ``"today"``.
    as_of
        When this rule set was read from its sources (ISO date).
    sources
        The pages the limits come from, with their ``ms.date``.
    hourly_intervals_hours
        Allowed hours between backups of an Enhanced hourly schedule [h].
    window_multiple_of_interval
        Whether an hourly window must be a whole number of intervals long.
    instant_restore_days
        ``(policy_type, frequency) -> (min, max, default)`` Instant Restore retention [days].
    hourly_instant_restore_max_days
        The largest Instant Restore retention per hourly interval [days]; empty: no cap.
    instant_restore_within_retention
        Whether Instant Restore may not outlast the vault retention of the scheduled points.
    min_daily_retention_days
        The shortest daily retention Azure accepts [days].
    crash_consistent_policy_types
        Policy types that may be agentless crash-consistent (``OnlyCrashConsistent``).
    days_per_month
        Days a month of monthly retention lasts; None: calendar months.
    """

    name: str
    as_of: str
    sources: tuple[str, ...]
    hourly_intervals_hours: tuple[int, ...]
    window_multiple_of_interval: bool
    instant_restore_days: dict[tuple[str, str], tuple[int, int, int]]
    hourly_instant_restore_max_days: dict[int, int]
    instant_restore_within_retention: bool
    min_daily_retention_days: int
    crash_consistent_policy_types: tuple[str, ...]
    days_per_month: int | None


_SEED_IR = {"standard": (1, 5, 2), "enhanced": (1, 30, 7)}

#: The two rule sets a policy can be checked against; ``"today"`` is the default.
POLICY_RULES: dict[str, PolicyRules] = {
    "seed": PolicyRules(
        name="seed",
        # the service description is undated; it still calls agentless backup a preview (S27),
        # so it predates the agentless GA page of 2025-07-25
        as_of="before 2025-07-25",
        sources=(
            "the service description (../shared/seed), items Y1-Y3 of domain-facts.md",
            "backup-instant-restore-capability.md (ms.date 2019-04-23): Instant Restore 1-5 days",
        ),
        hourly_intervals_hours=(4, 6, 8, 12),
        window_multiple_of_interval=True,
        instant_restore_days={
            (kind, frequency): _SEED_IR[kind]
            for kind in ("standard", "enhanced")
            for frequency in ("daily", "weekly", "hourly")
        },
        hourly_instant_restore_max_days={},
        instant_restore_within_retention=False,
        min_daily_retention_days=1,
        crash_consistent_policy_types=("standard", "enhanced"),
        days_per_month=None,
    ),
    "today": PolicyRules(
        name="today",
        as_of="2026-11-30",
        sources=(
            "G2: backup-azure-vms-enhanced-policy.md (ms.date 2025-06-11; 2023-03-15 version: "
            "'4, 6, 8, 12 and 24 hours'; Instant Restore maximum falls as snapshots per day rise, "
            "30 days at 12 h)",
            "G2: backup-support-matrix-iaas.md (ms.date 2023-07-05): same hourly rule",
            "G2/G3: backup-instant-restore-capability.md (ms.date 2024-04-03): Standard 1-5 days "
            "(default 2), Enhanced 1-30 (default 7), 5 days fixed for weekly policies; a vault "
            "point cannot be deleted before its snapshot",
            "G3: terraform-provider-azurerm website/docs/r/backup_policy_vm (retention_daily "
            "7-9999: 'Azure previously allowed 1 ... must now be at least 7'; "
            "instant_restore_retention_days must be 5 for Weekly)",
            "G1: backup-azure-vms-agentless-multi-disk-crash-consistent-overview.md (2025-07-25): "
            "Enhanced policy only",
        ),
        hourly_intervals_hours=(4, 6, 8, 12, 24),
        # G4: Microsoft's own PowerShell example uses a 23 h window at 4 h; Terraform checks the
        # multiple. Azure's rule is followed; the linter warns that Terraform would refuse it.
        window_multiple_of_interval=False,
        instant_restore_days={
            ("standard", "daily"): (1, 5, 2),
            ("standard", "weekly"): (5, 5, 5),
            ("enhanced", "daily"): (1, 30, 7),
            ("enhanced", "hourly"): (1, 30, 7),
            ("enhanced", "weekly"): (5, 20, 5),
        },
        # G2.3 (unverified): a 2025 page's draft note gives 17 days at 4 h, 22 at 6 h, 30 at
        # 12 h; no figure for 8 h (the 6 h one assumed); 24 h: 30 days. Past them: a risk.
        hourly_instant_restore_max_days={4: 17, 6: 22, 8: 22, 12: 30, 24: 30},
        instant_restore_within_retention=True,
        min_daily_retention_days=7,
        crash_consistent_policy_types=("enhanced",),
        days_per_month=31,
    ),
}


@dataclass(frozen=True)
class Finding:
    """One rule a policy breaks or risks, for the linter and for error messages.

    Parameters
    ----------
    rule
        A short name of the rule (``"instant-restore-range"``).
    item
        The fact it comes from (``"G2"``, ``"Y3"``).
    field
        The policy field concerned (``"instant_restore_days"``).
    value
        The policy's value.
    allowed
        What Azure allows (or advises), in words.
    severity
        ``"refused"`` (Azure rejects the policy: only on a documented rule, or on the seed's
        own rule under the ``"seed"`` rule set), ``"risk"`` or ``"advice"``.
    """

    rule: str
    item: str
    field: str
    value: Any
    allowed: str
    severity: str = "refused"

    @property
    def status(self) -> str:
        """How sure the project is of the rule behind the finding: the catalogue's status of its
        item (of the least sure one when it names several, ``"G8/G11"``)."""
        statuses = [rule(part).status for part in self.item.split("/")]
        return max(statuses, key=STATUSES.index)

    @property
    def message(self) -> str:
        """One line: the field, its value, what is allowed, the item and (for a risk) the
        status of the rule behind it."""
        tail = f"{self.item}, {self.rule}"
        if self.severity != "refused":
            tail = f"{self.item} {self.status}, {self.rule}"
        return f"{self.field}={self.value!r}: {self.allowed} ({tail})"


def _severity(item: str, rules: str, *, recommendation: bool = False) -> str:
    """``"refused"`` when the catalogue documents ``item`` as a rule Azure enforces (or, under
    the seed's rule set, when the seed states it), else ``"risk"``: a finding never says Azure
    refuses on an assumption, an unverified figure or a recommendation."""
    if recommendation:
        return "risk"
    status = rule(item).status
    if status == "documented" or (rules == "seed" and status == "seed only"):
        return "refused"
    return "risk"


def _names(field_: str, values: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list):
        raise ValueError(f"{field_}={values!r} must be a list of names from {allowed}")
    return tuple(choice(field_, v, allowed) for v in values)


@dataclass(frozen=True)
class MonthlyDay:
    """Which days of a month keep a monthly or yearly recovery point.

    Either weekdays in weeks of the month (``weekdays=("Sunday",), weeks=("First",)``: every
    combination counts), or dates (``days_of_month=(1, 15)``) and/or the last day of the month
    (``last=True``).

    Dates run 1..31: the portal offers 1..28 and "Last", but Terraform's
    ``azurerm_backup_policy_vm`` accepts ``days`` 1..31 with ``include_last_days`` (G3), and the
    REST schema's ``daysOfTheMonth[].date`` is an integer with no stated range.

    ASSUMPTION (no Microsoft page says what happens): in a month that lacks the date (31 in
    April, 30 and 31 in February, 29 in February of a common year) no point is kept on that date
    that month; the date does not move to the month's last day (``last=True`` keeps that one).

    >>> day = MonthlyDay(days_of_month=(31,))
    >>> day.matches(dt.date(2027, 3, 31)), day.matches(dt.date(2027, 4, 30))
    (True, False)
    """

    weekdays: tuple[str, ...] = ()
    weeks: tuple[str, ...] = ()
    days_of_month: tuple[int, ...] = ()
    last: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "weekdays", _names("weekdays", self.weekdays, WEEKDAYS))
        set_(self, "weeks", _names("weeks", self.weeks, WEEKS_OF_MONTH))
        if not isinstance(self.days_of_month, tuple | list):
            raise ValueError(f"days_of_month={self.days_of_month!r} must be a list of dates 1..31")
        set_(self, "days_of_month", tuple(self.days_of_month))
        if not isinstance(self.last, bool):
            raise ValueError(f"last={self.last!r} must be True or False")
        if self.weekdays or self.weeks:
            if not (self.weekdays and self.weeks) or self.days_of_month or self.last:
                raise ValueError(
                    f"weekdays={self.weekdays!r}, weeks={self.weeks!r}: give both weekdays and "
                    "weeks of the month, or else dates (days_of_month / last), not a mix"
                )
            return
        for day in self.days_of_month:
            if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31:
                raise ValueError(
                    f"days_of_month={self.days_of_month!r}: each date must be 1..31 (use "
                    "last=True for the month's last day)"
                )
        if not self.days_of_month and not self.last:
            raise ValueError(
                "MonthlyDay() names no day: give weekdays and weeks, days_of_month, or last=True"
            )

    @property
    def days_per_month(self) -> int:
        """How many days of each month keep a point (an upper bound: dates may coincide with the
        last day, and a month may lack a date 29-31)."""
        if self.weekdays:
            return len(self.weekdays) * len(self.weeks)
        return len(set(self.days_of_month)) + int(self.last)

    def expression(self, day: pl.Expr) -> pl.Expr:
        """A boolean polars expression: whether each date in ``day`` is a chosen day (a date the
        month lacks, such as 31 in April, matches no day of that month: see the class notes)."""
        if self.weekdays:
            numbers = [WEEKDAYS.index(w) + 1 for w in self.weekdays]
            right_weekday = day.dt.weekday().is_in(numbers)
            in_week = pl.lit(False)
            for week in self.weeks:
                if week == "Last":
                    in_week = in_week | (day.dt.offset_by("7d").dt.month() != day.dt.month())
                else:
                    in_week = in_week | ((day.dt.day() - 1) // 7 == WEEKS_OF_MONTH.index(week))
            return right_weekday & in_week
        chosen = day.dt.day().is_in(list(self.days_of_month))
        if self.last:
            chosen = chosen | (day.dt.offset_by("1d").dt.month() != day.dt.month())
        return chosen

    def matches(self, day: dt.date) -> bool:
        """Whether ``day`` is a chosen day of its month.

        >>> MonthlyDay(weekdays=("Sunday",), weeks=("First",)).matches(dt.date(2026, 11, 1))
        True
        """
        frame = pl.DataFrame({"day": [day]})
        return bool(frame.select(self.expression(pl.col("day")))[0, 0])


#: G7: ``tieringPolicy.ArchivedRP.tieringMode`` values; ``TierAfter`` needs a duration.
TIERING_MODES = ("DoNotTier", "TierAfter", "TierRecommended")


@dataclass(frozen=True)
class TieringPolicy:
    """When a policy moves monthly and yearly points to the vault-archive tier (G7).

    ``mode`` is ``"DoNotTier"``, ``"TierAfter"`` (every eligible point, ``after_days`` after it
    was made; at least 3 months) or ``"TierRecommended"`` (only points whose move saves money).
    The billing of archive lives in :mod:`vmbackup.archive`.

    >>> TieringPolicy("TierAfter", after_days=93).after_days
    93
    """

    mode: str = "DoNotTier"
    after_days: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", choice("mode", self.mode, TIERING_MODES))
        days = self.after_days
        if self.mode != "TierAfter":
            if days is not None:
                raise ValueError(f"after_days={days!r}: only mode='TierAfter' takes a duration")
            return
        if isinstance(days, bool) or not isinstance(days, int) or days < 93:
            raise ValueError(
                f"after_days={days!r} must be a whole number of days >= 93: a VM point spends "
                "at least 3 months in the standard tier before it can move (G7)"
            )


def _first_sunday() -> MonthlyDay:
    return MonthlyDay(weekdays=("Sunday",), weeks=("First",))


def _count(name: str, value: Any, high: int) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name}={value!r} must be a whole number >= 1, or None")
    if value is not None and value > high:
        raise ValueError(f"{name}={value!r} must be at most {high} (the portal's largest)")


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
        Hours between backups of an hourly schedule: 4, 6, 8, 12 or (today) 24 [h].
    window_hours
        Length of an hourly schedule's window, 4 to 24 [h].
    instant_restore_days
        Days a recovery point's snapshot is kept; None takes the rule set's default (Standard
        2, Enhanced 7, weekly 5) [days].
    daily_retention_days, weekly_retention_weeks, monthly_retention_months, yearly_retention_years
        How long each kind of recovery point is kept; None when the policy keeps none.
    weekly_days
        Which weekdays' points are kept as weekly ones.
    monthly_day, yearly_day
        Which days of the month keep the monthly (and, in ``yearly_months``, yearly) points.
    yearly_months
        Months whose chosen days keep the yearly points.
    consistency
        ``"application"`` (agent-based) or ``"crash"`` (agentless, ``OnlyCrashConsistent``).
    time_zone
        The schedule's time zone name, as in the policy JSON.
    rules
        The rule set of :data:`POLICY_RULES` the policy is checked against and retention is
        counted by: ``"today"`` (default) or ``"seed"``.
    tiering
        The policy's ``tieringPolicy`` (vault-archive tier, G7); None: no tiering.
    enforce
        If True (default), a policy that breaks a rule of ``rules`` raises ValueError; False
        keeps it (for the linter, or to show what Azure would refuse).
    schedule_reference_date
        The date Azure stores with the run time (the date of ``scheduleRunTimes``, read from
        ARM / az JSON); None: none known. Azure keeps the run time's UTC hour all year (G13);
        its offset on this date fixes that UTC hour, else the plan's first day does
        (assumption A7, ``vmbackup.timezones``).
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
    monthly_day: MonthlyDay = field(default_factory=_first_sunday)
    yearly_retention_years: int | None = None
    yearly_months: tuple[str, ...] = ("January",)
    yearly_day: MonthlyDay = field(default_factory=_first_sunday)
    consistency: str = "application"
    time_zone: str = "UTC"
    rules: str = "today"
    enforce: bool = True
    tiering: TieringPolicy | None = None
    schedule_reference_date: dt.date | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "rules", choice("rules", self.rules, tuple(POLICY_RULES)))
        set_(self, "policy_type", choice("policy_type", self.policy_type, ("standard", "enhanced")))
        set_(self, "frequency", choice("frequency", self.frequency, ("daily", "weekly", "hourly")))
        set_(self, "consistency", choice("consistency", self.consistency, ("application", "crash")))
        set_(self, "run_days", _names("run_days", self.run_days, WEEKDAYS))
        set_(self, "weekly_days", _names("weekly_days", self.weekly_days, WEEKDAYS))
        set_(self, "yearly_months", _names("yearly_months", self.yearly_months, MONTHS))
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name={self.name!r} must be a non-empty string")
        if not isinstance(self.time_zone, str) or not self.time_zone.strip():
            raise ValueError(f"time_zone={self.time_zone!r} must be a time zone name")
        if not isinstance(self.enforce, bool):
            raise ValueError(f"enforce={self.enforce!r} must be True or False")
        if self.schedule_reference_date is not None:
            date_value("schedule_reference_date", self.schedule_reference_date)
        if self.tiering is not None and not isinstance(self.tiering, TieringPolicy):
            raise ValueError(f"tiering={self.tiering!r} must be a TieringPolicy or None")
        for day in ("monthly_day", "yearly_day"):
            if not isinstance(getattr(self, day), MonthlyDay):
                raise ValueError(f"{day}={getattr(self, day)!r} must be a MonthlyDay")
        hour = self.run_hour
        if isinstance(hour, bool) or not isinstance(hour, int | float) or not 0 <= hour < 24:
            raise ValueError(f"run_hour={hour!r} must be an hour of the day in [0, 24)")
        self._check_structure()
        # a rule with no retention has no days: keep the defaults, so equal policies compare equal
        if self.weekly_retention_weeks is None:
            set_(self, "weekly_days", ("Sunday",))
        if self.monthly_retention_months is None:
            set_(self, "monthly_day", _first_sunday())
        if self.yearly_retention_years is None:
            set_(self, "yearly_months", ("January",))
            set_(self, "yearly_day", _first_sunday())
        if self.instant_restore_days is None:
            set_(self, "instant_restore_days", self.limits.instant_restore_days[self._ir_key][2])
        _count("instant_restore_days", self.instant_restore_days, 366)
        if self.enforce:
            broken = [f for f in service_findings(self) if f.severity == "refused"]
            if broken:
                rules = f"under the {self.rules!r} rules"
                raise ValueError("; ".join(f.message for f in broken) + f" ({rules})")

    @property
    def limits(self) -> PolicyRules:
        """The rule set this policy follows (``POLICY_RULES[self.rules]``)."""
        return POLICY_RULES[self.rules]

    @property
    def _ir_key(self) -> tuple[str, str]:
        return (self.policy_type, self.frequency)

    def _check_structure(self) -> None:
        """What any rule set requires: a schedule that can run and retention that exists."""
        if self.frequency == "weekly" and not self.run_days:
            raise ValueError("run_days=() must name at least one weekday for a weekly schedule")
        if self.frequency == "hourly":
            if self.policy_type != "enhanced":
                raise ValueError(
                    "frequency='hourly' is allowed only for policy_type='enhanced' (Standard "
                    "policies back up once a day or week, Y1)"
                )
            interval, window = self.hourly_interval_hours, self.window_hours
            if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
                raise ValueError(
                    f"hourly_interval_hours={interval!r} must be one of "
                    f"{self.limits.hourly_intervals_hours}"
                )
            if isinstance(window, bool) or not isinstance(window, int) or not 4 <= window <= 24:
                raise ValueError(f"window_hours={window!r} must be a whole number of hours 4..24")
        elif self.hourly_interval_hours is not None or self.window_hours is not None:
            raise ValueError(
                f"hourly_interval_hours={self.hourly_interval_hours!r}, window_hours="
                f"{self.window_hours!r}: only an hourly schedule has an interval and a window"
            )
        for kind, value in (
            ("daily_retention_days", self.daily_retention_days),
            ("weekly_retention_weeks", self.weekly_retention_weeks),
            ("monthly_retention_months", self.monthly_retention_months),
            ("yearly_retention_years", self.yearly_retention_years),
        ):
            _count(kind, value, MAX_RETENTION_COUNTS[kind.split("_")[0]])
        if self.frequency != "weekly" and self.daily_retention_days is None:
            raise ValueError(
                f"daily_retention_days=None: a {self.frequency} schedule must keep daily points"
            )
        if self.frequency == "weekly" and self.weekly_retention_weeks is None:
            raise ValueError(
                "weekly_retention_weeks=None: a weekly schedule must keep weekly points"
            )
        if self.weekly_retention_weeks is not None and not self.weekly_days:
            raise ValueError("weekly_days=() must name the weekdays whose points are kept")
        if self.yearly_retention_years is not None and not self.yearly_months:
            raise ValueError("yearly_months=() must name the months whose points are kept")

    def backups_per_day(self) -> int:
        """Scheduled backups on a backup day: 1, or one per started interval of the window (Y2).

        A 24 h window at 4 h makes 6 backups; a 23 h window at 4 h makes 6 too (G4: the last
        starts 20 h after the window opens).

        >>> Policy(policy_type="enhanced", frequency="hourly", hourly_interval_hours=4,
        ...        window_hours=23).backups_per_day()
        6
        """
        if self.frequency == "hourly":
            assert self.window_hours is not None
            assert self.hourly_interval_hours is not None
            return math.ceil(self.window_hours / self.hourly_interval_hours)
        return 1

    def backup_hours(self) -> tuple[float, ...]:
        """Times of day of the scheduled backups [h since midnight].

        >>> Policy(policy_type="enhanced", frequency="hourly", run_hour=8,
        ...        hourly_interval_hours=4, window_hours=12).backup_hours()
        (8.0, 12.0, 16.0)
        """
        step = self.hourly_interval_hours or 24
        return tuple(float((self.run_hour + i * step) % 24) for i in range(self.backups_per_day()))

    def rpo_hours(self) -> float:
        """Longest time between two scheduled backups (snapshots) [h]: the policy's RPO.

        >>> Policy().rpo_hours()
        24.0
        >>> Policy(frequency="weekly", run_days=("Sunday", "Wednesday"),
        ...        daily_retention_days=None, weekly_retention_weeks=4).rpo_hours()
        96.0
        """
        if self.frequency == "weekly":
            days = sorted(WEEKDAYS.index(d) for d in self.run_days)
            gaps = [(b - a) % 7 or 7 for a, b in zip(days, days[1:] + days[:1], strict=True)]
            return float(24 * max(gaps))
        if self.frequency == "hourly":
            assert self.hourly_interval_hours is not None
            span = self.hourly_interval_hours * (self.backups_per_day() - 1)
            return float(max(self.hourly_interval_hours, 24 - span))
        return 24.0

    def is_backup_day(self, day: dt.date) -> bool:
        """Whether the schedule backs up on ``day``."""
        return self.frequency != "weekly" or WEEKDAYS[day.weekday()] in self.run_days

    def vault_retention_days(self) -> int:
        """How long the scheduled (daily or weekly) vault points are kept [days]."""
        if self.frequency == "weekly":
            return 7 * (self.weekly_retention_weeks or 0)
        return self.daily_retention_days or 0

    def max_recovery_points(self) -> int:
        """An upper bound on recovery points kept at once in the vault (for the Y3 limit)."""
        total = self.daily_retention_days or 0 if self.frequency != "weekly" else 0
        if self.weekly_retention_weeks:
            total += self.weekly_retention_weeks * len(self.weekly_days)
        total += (self.monthly_retention_months or 0) * self.monthly_day.days_per_month
        total += (
            (self.yearly_retention_years or 0)
            * len(self.yearly_months)
            * self.yearly_day.days_per_month
        )
        return total


def service_findings(policy: Policy, rules: str | None = None) -> list[Finding]:
    """Every rule of a rule set that ``policy`` breaks: ``refused`` where the rule is documented
    (the catalogue's status), ``risk`` where it is unverified or only a recommendation (G2.3,
    G2.4).

    Parameters
    ----------
    policy
        The policy (built with ``enforce=False`` to hold a policy that breaks rules).
    rules
        ``"today"`` or ``"seed"``; default: the policy's own.

    Examples
    --------
    >>> p = Policy(policy_type="enhanced", frequency="hourly", hourly_interval_hours=4,
    ...            window_hours=24, instant_restore_days=30, enforce=False)
    >>> [(f.rule, f.severity, f.status) for f in service_findings(p)]
    [('instant-restore-hourly-max', 'risk', 'unverified')]
    >>> service_findings(p, rules="seed")
    []
    """
    limits = POLICY_RULES[choice("rules", rules or policy.rules, tuple(POLICY_RULES))]
    today = limits.name == "today"
    found: list[Finding] = []

    def add(name: str, item: str, field_: str, value: Any, allowed: str, **kw: bool) -> None:
        found.append(
            Finding(name, item, field_, value, allowed, _severity(item, limits.name, **kw))
        )

    key = (policy.policy_type, policy.frequency)
    ir = policy.instant_restore_days
    if policy.frequency == "hourly":
        interval, window = policy.hourly_interval_hours, policy.window_hours
        assert interval is not None
        assert window is not None
        if interval not in limits.hourly_intervals_hours:
            shown = ", ".join(map(str, limits.hourly_intervals_hours))
            add(
                "hourly-interval",
                "G2.1" if today else "Y2",
                "hourly_interval_hours",
                interval,
                f"Azure allows every {shown} h",
            )
        elif limits.window_multiple_of_interval and window % interval:
            add(
                "window-multiple",
                "Y2",
                "window_hours",
                window,
                f"the window must be a multiple of the {interval} h interval",
            )
        cap = limits.hourly_instant_restore_max_days.get(interval)
        if cap is not None and ir is not None and ir > cap:
            add(
                "instant-restore-hourly-max",
                "G2.3",
                "instant_restore_days",
                ir,
                f"a 2025 Microsoft page gives at most {cap} days with backups every {interval} h"
                + (" (no figure for 8 h: the 6 h one assumed)" if interval == 8 else "")
                + "; Azure's own REST example keeps 30 days at 4 h",
            )
    low, high, _ = limits.instant_restore_days[key]
    if ir is not None and not low <= ir <= high:
        allowed = f"exactly {low}" if low == high else f"{low}..{high}"
        if today:
            item = "G2.5" if policy.frequency == "weekly" else "G2.2"
        else:
            item = "Y1" if policy.policy_type == "standard" else "Y2"
        add(
            "instant-restore-range",
            item,
            "instant_restore_days",
            ir,
            f"{allowed} days for a {policy.policy_type} {policy.frequency} policy",
        )
    if limits.instant_restore_within_retention and ir is not None:
        kept = policy.vault_retention_days()
        if ir > kept:
            add(
                "instant-restore-within-retention",
                "G2.4",
                "instant_restore_days",
                ir,
                f"Microsoft recommends keeping vault points longer than snapshots; the scheduled "
                f"vault points are kept {kept} days",
                recommendation=True,
            )
    daily = policy.daily_retention_days
    if daily is not None and daily < limits.min_daily_retention_days:
        add(
            "daily-retention-min",
            "G3.1",
            "daily_retention_days",
            daily,
            f"at least {limits.min_daily_retention_days} days",
        )
    if (
        policy.consistency == "crash"
        and policy.policy_type not in limits.crash_consistent_policy_types
    ):
        add(
            "agentless-enhanced-only",
            "G1.3",
            "consistency",
            policy.consistency,
            "agentless crash-consistent backup needs an Enhanced policy",
        )
    points = policy.max_recovery_points()
    if points > MAX_RECOVERY_POINTS:
        add(
            "recovery-point-limit",
            "Y3",
            "retention",
            points,
            f"at most {MAX_RECOVERY_POINTS} recovery points per protected item",
        )
    return found
