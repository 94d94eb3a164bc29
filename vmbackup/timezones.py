"""Time zones of backup policies: Azure's Windows zone names and the IANA names polars knows.

A policy's ``timeZone`` (Y4) is a Windows time zone name, as Azure and Terraform write it
(``"W. Europe Standard Time"``, ``"UTC"``). :data:`WINDOWS_ZONES` maps each to the IANA zone of
the Unicode CLDR ``windowsZones.xml`` table (territory ``001``, the zone Windows itself uses for
that name), CLDR version 47 (read 2026-12 through Babel 2.18's copy of the table);
:func:`iana_zone` also accepts an IANA name as it is.

Azure keeps a VM backup's **UTC** time all year (G13: "Azure Backup doesn't support automatic
clock adjustment for daylight saving time for Azure VM backups. It doesn't shift the hour of the
backup forward or backwards", ``backup-support-matrix.md``, section "Daylight saving time
support", ms.date 2023-08-14): a policy's local run time is turned into UTC **once**, and that
UTC time holds on every day, so the job's local time moves by an hour when the zone changes its
clock (22:00 W. Europe time is 21:00 UTC in winter, and still 21:00 UTC, 23:00 local, in
summer). :func:`utc_offset_hours` gives the offset that fixes the UTC time,
:func:`clock_offset_hours` reads fixed UTC times on a plan's clock day by day (a clock zone
with summer time still moves them on that clock), and :func:`clock_shift_hours` does both;
:func:`run_times` and :func:`describe_run_time` show a run time in UTC and in local time.

Assumption A7 (our reading, not a documented statement): the offset that fixes the UTC time is
the zone's offset on the **reference date**: the date Azure stores with the run time
(``scheduleRunTimes`` is a date-time, e.g. ``"2026-01-01T21:00:00Z"``, read into
``Policy.schedule_reference_date``), else the plan's first day. The page says only that the
hour is not shifted; it does not say which offset the stored date-time is read with.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import bounded, date_value, whole

__all__ = [
    "WINDOWS_ZONES",
    "clock_offset_hours",
    "clock_shift_hours",
    "describe_run_time",
    "iana_zone",
    "run_times",
    "utc_offset_hours",
]

#: Windows time zone name -> IANA zone (Unicode CLDR windowsZones.xml, territory 001).
WINDOWS_ZONES: dict[str, str] = {
    "AUS Central Standard Time": "Australia/Darwin",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "Afghanistan Standard Time": "Asia/Kabul",
    "Alaskan Standard Time": "America/Anchorage",
    "Aleutian Standard Time": "America/Adak",
    "Altai Standard Time": "Asia/Barnaul",
    "Arab Standard Time": "Asia/Riyadh",
    "Arabian Standard Time": "Asia/Dubai",
    "Arabic Standard Time": "Asia/Baghdad",
    "Argentina Standard Time": "America/Buenos_Aires",
    "Astrakhan Standard Time": "Europe/Astrakhan",
    "Atlantic Standard Time": "America/Halifax",
    "Aus Central W. Standard Time": "Australia/Eucla",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Azores Standard Time": "Atlantic/Azores",
    "Bahia Standard Time": "America/Bahia",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Belarus Standard Time": "Europe/Minsk",
    "Bougainville Standard Time": "Pacific/Bougainville",
    "Canada Central Standard Time": "America/Regina",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "Caucasus Standard Time": "Asia/Yerevan",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "Central America Standard Time": "America/Guatemala",
    "Central Asia Standard Time": "Asia/Bishkek",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "Central Standard Time": "America/Chicago",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Chatham Islands Standard Time": "Pacific/Chatham",
    "China Standard Time": "Asia/Shanghai",
    "Cuba Standard Time": "America/Havana",
    "Dateline Standard Time": "Etc/GMT+12",
    "E. Africa Standard Time": "Africa/Nairobi",
    "E. Australia Standard Time": "Australia/Brisbane",
    "E. Europe Standard Time": "Europe/Chisinau",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Easter Island Standard Time": "Pacific/Easter",
    "Eastern Standard Time": "America/New_York",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "Egypt Standard Time": "Africa/Cairo",
    "Ekaterinburg Standard Time": "Asia/Yekaterinburg",
    "FLE Standard Time": "Europe/Kiev",
    "Fiji Standard Time": "Pacific/Fiji",
    "GMT Standard Time": "Europe/London",
    "GTB Standard Time": "Europe/Bucharest",
    "Georgian Standard Time": "Asia/Tbilisi",
    "Greenland Standard Time": "America/Godthab",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Haiti Standard Time": "America/Port-au-Prince",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "India Standard Time": "Asia/Calcutta",
    "Iran Standard Time": "Asia/Tehran",
    "Israel Standard Time": "Asia/Jerusalem",
    "Jordan Standard Time": "Asia/Amman",
    "Kaliningrad Standard Time": "Europe/Kaliningrad",
    "Korea Standard Time": "Asia/Seoul",
    "Libya Standard Time": "Africa/Tripoli",
    "Line Islands Standard Time": "Pacific/Kiritimati",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "Magadan Standard Time": "Asia/Magadan",
    "Magallanes Standard Time": "America/Punta_Arenas",
    "Marquesas Standard Time": "Pacific/Marquesas",
    "Mauritius Standard Time": "Indian/Mauritius",
    "Middle East Standard Time": "Asia/Beirut",
    "Montevideo Standard Time": "America/Montevideo",
    "Morocco Standard Time": "Africa/Casablanca",
    "Mountain Standard Time": "America/Denver",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Myanmar Standard Time": "Asia/Rangoon",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "Namibia Standard Time": "Africa/Windhoek",
    "Nepal Standard Time": "Asia/Katmandu",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Newfoundland Standard Time": "America/St_Johns",
    "Norfolk Standard Time": "Pacific/Norfolk",
    "North Asia East Standard Time": "Asia/Irkutsk",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "North Korea Standard Time": "Asia/Pyongyang",
    "Omsk Standard Time": "Asia/Omsk",
    "Pacific SA Standard Time": "America/Santiago",
    "Pacific Standard Time": "America/Los_Angeles",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "Pakistan Standard Time": "Asia/Karachi",
    "Paraguay Standard Time": "America/Asuncion",
    "Qyzylorda Standard Time": "Asia/Qyzylorda",
    "Romance Standard Time": "Europe/Paris",
    "Russia Time Zone 10": "Asia/Srednekolymsk",
    "Russia Time Zone 11": "Asia/Kamchatka",
    "Russia Time Zone 3": "Europe/Samara",
    "Russian Standard Time": "Europe/Moscow",
    "SA Eastern Standard Time": "America/Cayenne",
    "SA Pacific Standard Time": "America/Bogota",
    "SA Western Standard Time": "America/La_Paz",
    "SE Asia Standard Time": "Asia/Bangkok",
    "Saint Pierre Standard Time": "America/Miquelon",
    "Sakhalin Standard Time": "Asia/Sakhalin",
    "Samoa Standard Time": "Pacific/Apia",
    "Sao Tome Standard Time": "Africa/Sao_Tome",
    "Saratov Standard Time": "Europe/Saratov",
    "Singapore Standard Time": "Asia/Singapore",
    "South Africa Standard Time": "Africa/Johannesburg",
    "South Sudan Standard Time": "Africa/Juba",
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Sudan Standard Time": "Africa/Khartoum",
    "Syria Standard Time": "Asia/Damascus",
    "Taipei Standard Time": "Asia/Taipei",
    "Tasmania Standard Time": "Australia/Hobart",
    "Tocantins Standard Time": "America/Araguaina",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Tomsk Standard Time": "Asia/Tomsk",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Transbaikal Standard Time": "Asia/Chita",
    "Turkey Standard Time": "Europe/Istanbul",
    "Turks And Caicos Standard Time": "America/Grand_Turk",
    "US Eastern Standard Time": "America/Indianapolis",
    "US Mountain Standard Time": "America/Phoenix",
    "UTC": "Etc/UTC",
    "UTC+12": "Etc/GMT-12",
    "UTC+13": "Etc/GMT-13",
    "UTC-02": "Etc/GMT+2",
    "UTC-08": "Etc/GMT+8",
    "UTC-09": "Etc/GMT+9",
    "UTC-11": "Etc/GMT+11",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "Venezuela Standard Time": "America/Caracas",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Volgograd Standard Time": "Europe/Volgograd",
    "W. Australia Standard Time": "Australia/Perth",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "W. Europe Standard Time": "Europe/Berlin",
    "W. Mongolia Standard Time": "Asia/Hovd",
    "West Asia Standard Time": "Asia/Tashkent",
    "West Bank Standard Time": "Asia/Hebron",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Yakutsk Standard Time": "Asia/Yakutsk",
    "Yukon Standard Time": "America/Whitehorse",
}

_BY_LOWER = {name.lower(): zone for name, zone in WINDOWS_ZONES.items()}


def iana_zone(name: object, field: str = "time_zone") -> str:
    """The IANA zone of a policy's time zone: a Windows name (any case) mapped by
    :data:`WINDOWS_ZONES`, or an IANA name polars knows, returned as it is.

    >>> iana_zone("W. Europe Standard Time"), iana_zone("Asia/Tokyo")
    ('Europe/Berlin', 'Asia/Tokyo')
    >>> iana_zone("Mars Standard Time")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: time_zone='Mars Standard Time' is not a time zone: give a Windows zone name ...
    """
    if isinstance(name, str) and name.strip():
        key = name.strip()
        if key.lower() in _BY_LOWER:
            return _BY_LOWER[key.lower()]
        try:
            pl.Series([dt.datetime(2026, 1, 1)]).dt.replace_time_zone(key)
        except (pl.exceptions.PolarsError, ValueError):
            pass
        else:
            return key
    raise ValueError(
        f"{field}={name!r} is not a time zone: give a Windows zone name as Azure writes it "
        "(e.g. 'W. Europe Standard Time', 'UTC') or an IANA name (e.g. 'Europe/Berlin')"
    )


def _minutes(local_hours: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Times of day [h] as whole minutes (a scalar becomes one time)."""
    hours = np.atleast_1d(np.asarray(local_hours, dtype=np.float64))
    return np.round(hours * 60).astype(np.int64)


def utc_offset_hours(zone: str, on: dt.date, local_hours: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The UTC offset [h] (local time minus UTC) of ``zone`` at each local time of day in
    ``local_hours`` [h since the local midnight of ``on``, may pass 24] on the date ``on``:
    the offset that turns a policy's run time into the UTC time Azure keeps (G13, A7).

    ``zone`` is an IANA name (:func:`iana_zone`). A local time that does not exist on that date
    (the hour skipped when summer time begins) takes the offset before the jump (it runs when
    the clock has jumped); an ambiguous one (the hour repeated in autumn) the first.

    >>> on = dt.date
    >>> utc_offset_hours("Europe/Berlin", on(2026, 1, 1), [22.0, 22.5]).tolist()
    [1.0, 1.0]
    >>> utc_offset_hours("Europe/Berlin", on(2026, 7, 1), 22.0).tolist()
    [2.0]
    >>> utc_offset_hours("Europe/Berlin", on(2026, 3, 29), 2.5).tolist()  # skipped in spring
    [1.0]
    """
    minutes = _minutes(local_hours)
    naive = pl.Series("local", (np.datetime64(on, "m") + minutes).astype("datetime64[us]"))

    def offset(local: pl.Series) -> pl.Series:
        utc = (
            local.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
            .dt.replace_time_zone(None)
        )
        return (local - utc).dt.total_minutes() / 60.0

    result = offset(naive)
    if result.null_count():
        result = result.fill_null(offset(naive - dt.timedelta(hours=1)))  # before the jump
    return result.to_numpy().astype(np.float64)


def clock_offset_hours(
    clock_zone: str, start: dt.date, days: int, utc_hours: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """The UTC offset [h] of ``clock_zone`` at each fixed UTC time of day in ``utc_hours`` [h
    since midnight UTC, may be negative or pass 24] on each of ``days`` days from ``start``:
    shape (len(utc_hours), days). Added to the UTC time, it reads the instant on that clock; a
    clock zone with summer time moves a fixed UTC time by an hour on its own change date.

    >>> clock_offset_hours("Europe/Berlin", dt.date(2026, 3, 28), 3, [21.0]).tolist()
    [[1.0, 2.0, 2.0]]
    >>> clock_offset_hours("Etc/UTC", dt.date(2026, 3, 28), 2, [21.0]).tolist()
    [[0.0, 0.0]]
    """
    minutes = _minutes(utc_hours)
    day = np.arange(days, dtype=np.int64)
    utc = pl.Series(
        "utc",
        (np.datetime64(start, "m") + day[None, :] * 1440 + minutes[:, None])
        .ravel()
        .astype("datetime64[us]"),
    )
    clock = utc.dt.replace_time_zone("UTC").dt.convert_time_zone(clock_zone)
    offset = (clock.dt.replace_time_zone(None) - utc).dt.total_minutes() / 60.0
    return offset.to_numpy().reshape(minutes.size, days).astype(np.float64)


def clock_shift_hours(
    zone: str,
    clock_zone: str,
    start: dt.date,
    days: int,
    local_hours: npt.ArrayLike,
    reference: dt.date | None = None,
) -> npt.NDArray[np.float64]:
    """Hours [h] to add to a run time of day in ``zone`` to read Azure's job on the clock of
    ``clock_zone``, for each run time in ``local_hours`` [h since local midnight, may pass 24]
    on each of ``days`` days from ``start``: shape (len(local_hours), days).

    Azure keeps the UTC time (G13): each run time is turned into UTC once, with the offset of
    ``zone`` on ``reference`` (default ``start``; assumption A7, see the module notes), and
    that UTC time holds every day; only the clock zone's own summer time moves it on the clock.
    Both zones are IANA names (:func:`iana_zone`).

    >>> day = dt.date(2026, 3, 28)  # W. Europe moves its clock on 2026-03-29
    >>> clock_shift_hours("Europe/Berlin", "Etc/UTC", day, 2, [22.5]).tolist()
    [[-1.0, -1.0]]
    >>> clock_shift_hours("Europe/Berlin", "Europe/Berlin", day, 2, [22.5]).tolist()
    [[0.0, 1.0]]
    >>> clock_shift_hours("Europe/Berlin", "Etc/UTC", day, 2, 22.5, dt.date(2026, 7, 1)).tolist()
    [[-2.0, -2.0]]
    """
    hours = _minutes(local_hours) / 60.0
    offset = utc_offset_hours(zone, start if reference is None else reference, hours)
    return clock_offset_hours(clock_zone, start, days, hours - offset) - offset[:, None]


def run_times(
    zone: str,
    local_hour: float,
    start: dt.date,
    days: int,
    reference: dt.date | None = None,
) -> pl.DataFrame:
    """A policy's run time as Azure keeps it (G13), day by day: one row per day from
    ``start`` with ``date``, ``utc_hour`` (fixed) and ``local_hour`` (it moves when ``zone``
    changes its clock) [h since midnight, 0-24].

    Parameters
    ----------
    zone
        The policy's time zone (a Windows name as Azure writes it, or an IANA name).
    local_hour
        The policy's run time in ``zone`` [h, 0-24).
    start, days
        The first day and the number of days (1 to 3,660).
    reference
        The date whose UTC offset fixes the UTC time (``Policy.schedule_reference_date``);
        None: ``start`` (assumption A7).

    Raises
    ------
    ValueError
        A zone that is not one, a time outside [0, 24), a date that is not a
        ``datetime.date`` or a bad number of days, naming the argument.

    Examples
    --------
    >>> run_times("W. Europe Standard Time", 22.0, dt.date(2026, 3, 28), 3, dt.date(2026, 1, 1))
    shape: (3, 3)
    ┌────────────┬──────────┬────────────┐
    │ date       ┆ utc_hour ┆ local_hour │
    │ ---        ┆ ---      ┆ ---        │
    │ date       ┆ f64      ┆ f64        │
    ╞════════════╪══════════╪════════════╡
    │ 2026-03-28 ┆ 21.0     ┆ 22.0       │
    │ 2026-03-29 ┆ 21.0     ┆ 23.0       │
    │ 2026-03-30 ┆ 21.0     ┆ 23.0       │
    └────────────┴──────────┴────────────┘
    """
    iana = iana_zone(zone, "zone")
    hour = bounded("local_hour", local_hour, 0.0, 24.0)
    if hour >= 24:
        raise ValueError(f"local_hour={local_hour!r} must be an hour of the day in [0, 24)")
    date_value("start", start)
    whole("days", days, 1, 3660)
    ref = start if reference is None else date_value("reference", reference)
    utc = hour - utc_offset_hours(iana, ref, hour)[0]
    local = utc + clock_offset_hours(iana, start, days, utc)[0]
    dates = np.datetime64(start, "D") + np.arange(days)
    return pl.DataFrame(
        {
            "date": dates,
            "utc_hour": np.full(days, utc % 24),
            "local_hour": local % 24,
        },
        schema={"date": pl.Date, "utc_hour": pl.Float64, "local_hour": pl.Float64},
    )


def _clock(hour: float) -> str:
    """``22.5`` -> ``'22:30'``."""
    minutes = round(hour * 60) % 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def describe_run_time(
    zone: str,
    local_hour: float,
    start: dt.date,
    days: int = 365,
    reference: dt.date | None = None,
) -> str:
    """One line: a policy's run time in UTC and in local time over ``days`` days from
    ``start``, with the dates its local time moves (G13; arguments as :func:`run_times`).

    >>> describe_run_time("W. Europe Standard Time", 22.0, dt.date(2026, 1, 1))
    'fixed at 21:00 UTC (22:00 W. Europe Standard Time at its offset of 2026-01-01, A7); \
local time 22:00 to 2026-03-28, 23:00 from 2026-03-29, 22:00 from 2026-10-25 (G13: Azure does \
not adjust for summer time)'
    >>> describe_run_time("Tokyo Standard Time", 22.0, dt.date(2026, 1, 1))
    'fixed at 13:00 UTC (22:00 Tokyo Standard Time)'
    """
    table = run_times(zone, local_hour, start, days, reference)
    ref = start if reference is None else reference
    utc = _clock(table["utc_hour"][0])
    name = zone.strip()
    if utc == _clock(local_hour) and table["local_hour"].n_unique() == 1:
        return f"fixed at {utc} UTC" + ("" if name.upper() == "UTC" else f" ({name})")
    segments = (
        table.with_columns(segment=pl.col("local_hour").rle_id())
        .group_by("segment", maintain_order=True)
        .agg(
            pl.col("date").first(),
            pl.col("date").last().alias("last"),
            pl.col("local_hour").first(),
        )
    )
    if segments.height == 1:
        return f"fixed at {utc} UTC ({_clock(local_hour)} {name})"
    parts = [
        (
            f"{_clock(row['local_hour'])} to {row['last']:%Y-%m-%d}"
            if i == 0
            else f"{_clock(row['local_hour'])} from {row['date']:%Y-%m-%d}"
        )
        for i, row in enumerate(segments.iter_rows(named=True))
    ]
    return (
        f"fixed at {utc} UTC ({_clock(local_hour)} {name} at its offset of {ref:%Y-%m-%d}, A7); "
        "local time " + ", ".join(parts) + " (G13: Azure does not adjust for summer time)"
    )
