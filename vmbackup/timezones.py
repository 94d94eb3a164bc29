"""Time zones of backup policies: Azure's Windows zone names and the IANA names polars knows.

A policy's ``timeZone`` (Y4) is a Windows time zone name, as Azure and Terraform write it
(``"W. Europe Standard Time"``, ``"UTC"``). :data:`WINDOWS_ZONES` maps each to the IANA zone of
the Unicode CLDR ``windowsZones.xml`` table (territory ``001``, the zone Windows itself uses for
that name), CLDR version 47 (read 2026-12 through Babel 2.18's copy of the table);
:func:`iana_zone` also accepts an IANA name as it is.

:func:`clock_shift_hours` turns local times of day in a policy's zone into the hours of a plan's
clock zone, day by day, so summer time moves a schedule as Azure runs it (S1).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["WINDOWS_ZONES", "clock_shift_hours", "iana_zone"]

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


def clock_shift_hours(
    zone: str, clock_zone: str, start: dt.date, days: int, local_hours: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Hours [h] to add to a local time of day in ``zone`` to read it on the clock of
    ``clock_zone``, for each local time in ``local_hours`` [h since local midnight, may pass 24]
    on each of ``days`` days from ``start``: shape (len(local_hours), days).

    Both zones are IANA names (:func:`iana_zone`). A local time that does not exist (the hour
    skipped when summer time begins) runs when the clock has jumped, at the instant the hour
    before it maps to plus one hour; an ambiguous one (the repeated hour in autumn) runs the
    first time.

    >>> clock_shift_hours("Europe/Berlin", "Etc/UTC", dt.date(2026, 3, 28), 2, [22.5]).tolist()
    [[-1.0, -2.0]]
    """
    hours = np.atleast_1d(np.asarray(local_hours, dtype=np.float64))
    minutes = np.round(hours * 60).astype(np.int64)
    day = np.arange(days, dtype=np.int64)
    naive = pl.Series(
        "local",
        (np.datetime64(start, "m") + day[None, :] * 1440 + minutes[:, None])
        .ravel()
        .astype("datetime64[us]"),
    )

    def shift(local: pl.Series) -> pl.Series:
        clock = (
            local.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone(clock_zone)
            .dt.replace_time_zone(None)
        )
        return (clock - local).dt.total_minutes() / 60.0

    result = shift(naive)
    if result.null_count():
        before = shift(naive - dt.timedelta(hours=1))  # the offset before the jump
        result = result.fill_null(before)
    return result.to_numpy().reshape(hours.size, days).astype(np.float64)
