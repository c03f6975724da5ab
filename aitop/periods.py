"""Calendar periods in a time zone: the days, weeks and months `aitop report` groups by
and the budgets count in, and the 5-hour blocks of subscription limits. Pure: every
function takes the time; the zone is an object built once.

A request's day is the calendar date its time has on the zone's clocks (so a day is not
always 24 hours, and where clocks go back over midnight, an hour belongs to the day
before again). Every zone change since 1972 in the time zone database falls on a whole
minute and every offset is whole minutes, so the day of a minute's first instant is the
day of all of it: days are computed once per minute.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Mapping
from typing import Literal, get_args

from aitop.errors import AitopError, ExitCode

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)
BLOCK_S = 5 * 3600  # a subscription's usage window
HOUR_S = 3600
_MAX_CACHED_MINUTES = 1 << 16


class Zone:
    """A time zone's calendar: the local date of an instant, the first instant of a date."""

    def __init__(self, tz: dt.tzinfo, name: str) -> None:
        self.tz = tz
        self.name = name
        self._days: dict[int, int] = {}

    def day(self, when: float) -> int:
        """The local date of `when` (Unix seconds), as a proleptic Gregorian ordinal."""
        minute = int(when // 60)
        day = self._days.get(minute)
        if day is None:
            if len(self._days) >= _MAX_CACHED_MINUTES:
                self._days.clear()
            local = dt.datetime.fromtimestamp(minute * 60, self.tz)
            day = self._days[minute] = local.toordinal()
        return day

    def start(self, day: int) -> float:
        """The first instant whose local date is `day` (midnight, or the end of a gap that
        skips it)."""
        date = dt.date.fromordinal(day)
        midnight = dt.datetime(date.year, date.month, date.day, tzinfo=self.tz)
        when = midnight.timestamp()  # fold=0: the earlier of two midnights; after a gap
        # a skipped midnight maps into the day before with some zones' rules: step on
        while self.day(when) < day:
            when = (when // 60 + 1) * 60
        return when


def zone(name: str | None, environ: Mapping[str, str]) -> Zone:
    """The zone named (an IANA name such as Europe/Paris), else the local one: $TZ, else
    /etc/localtime, else UTC."""
    if name:
        return Zone(_named(name, f"--tz {name}"), name)
    tz = environ.get("TZ")
    if tz:
        key = tz.removeprefix(":")
        if os.path.isabs(key):
            return Zone(_from_file(key, f"TZ={tz}"), _key_of(key) or key)
        return Zone(_named(key, f"TZ={tz}"), key)
    if os.path.exists("/etc/localtime"):
        local = _key_of(os.path.realpath("/etc/localtime"))
        return Zone(_from_file("/etc/localtime", "/etc/localtime"), local or "local")
    return Zone(dt.UTC, "UTC")


def _named(key: str, said: str) -> dt.tzinfo:
    if key.upper() in ("UTC", "Z"):
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise AitopError(
            f"{said}: no such time zone",
            "give an IANA name such as Europe/Paris or America/New_York",
            ExitCode.USAGE,
        ) from None


def _from_file(path: str, said: str) -> dt.tzinfo:
    try:
        with open(path, "rb") as handle:
            return zoneinfo.ZoneInfo.from_file(handle)
    except (OSError, ValueError):
        raise AitopError(
            f"{said}: not a time zone file", "give --tz NAME, e.g. --tz Europe/Paris"
        ) from None


def _key_of(path: str) -> str | None:
    """`/usr/share/zoneinfo/Europe/Paris` -> `Europe/Paris`."""
    marker = "/zoneinfo/"
    at = path.find(marker)
    return path[at + len(marker) :] if at >= 0 else None


# --- periods ------------------------------------------------------------------------------


def week(day: int, first_weekday: int) -> int:
    """The first day of the week `day` is in (weeks start on `first_weekday`, 0 = Monday)."""
    return day - (dt.date.fromordinal(day).weekday() - first_weekday) % 7


def month(day: int) -> int:
    """The first day of the month `day` is in."""
    return dt.date.fromordinal(day).replace(day=1).toordinal()


def next_month(first: int) -> int:
    date = dt.date.fromordinal(first)
    year, index = divmod(date.year * 12 + date.month, 12)  # the month after, 0-based
    return dt.date(year, index + 1, 1).toordinal()


def iso_date(day: int) -> str:
    return dt.date.fromordinal(day).isoformat()


def parse_date(text: str, said: str) -> int:
    """`2026-11-22` or `20261122` as a day ordinal; a clear error otherwise."""
    try:
        if len(text) == 8 and text.isdigit():
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:])).toordinal()
        return dt.date.fromisoformat(text).toordinal()
    except ValueError:
        raise AitopError(
            f"{said}: {text!r} is not a date", "give it as YYYY-MM-DD", ExitCode.USAGE
        ) from None


def block_starts(hours: list[int]) -> list[int]:
    """The 5-hour blocks that the active UTC hours (sorted, each an hour's index since the
    epoch) fall in, by the rule subscription limits go by: a block starts at the whole
    hour of the first request after the last block ended, and lasts five hours. The start
    of each hour's block, in seconds, in the order of `hours`."""
    starts: list[int] = []
    end = -1
    start = 0
    for hour in hours:
        at = hour * HOUR_S
        if at >= end:
            start, end = at, at + BLOCK_S
        starts.append(start)
    return starts
