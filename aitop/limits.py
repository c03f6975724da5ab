"""Plan limits: the official figures of each agent's windows, their recent history, and
the pace forecast. Pure: nothing here reads a clock; every function takes `now`.

A reading is what the agent last heard from its vendor: the share of a window used and
when the window resets. The figures only ever rise within a window's period, and start
again from nothing once it resets, so:

* a period is known by its reset time: a reading whose reset is elsewhere (by more than
  `SAME_PERIOD_S`) belongs to another period, and a newer one starts a new history;
* a reading seen before its window reset says nothing of the window now: it is stale,
  and is never shown as current;
* the pace is the rise of the use over the last `pace_s` seconds (the use is a step
  function of time: between readings it stays what the last one said), per second of
  wall time, idle time included; at that pace the window fills at `now + left / pace`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import NamedTuple

SAME_PERIOD_S = 300.0  # reset times closer than this are one period (rounding, clock skew)
HISTORY_S = 6 * 3600.0  # readings kept per window, behind the latest one
MAX_POINTS = 512  # and at most this many (the oldest go first)
MIN_SPAN_S = 60.0  # a pace needs at least this much time behind it
FULL = 100.0
DEFAULT_PACE_S = 900.0  # the last 15 minutes
FAR_S = 366 * 86_400.0  # a fill further away than this is no forecast (no window is as long)


class Reading(NamedTuple):
    seen_at: float  # when the figures were current (Unix seconds)
    used_pct: float
    resets_at: float | None


class Forecast(NamedTuple):
    pct_per_hour: float | None  # the pace; None: too little history to tell
    full_at: float | None  # when the window fills at that pace; None: it does not rise


NO_FORECAST = Forecast(None, None)


def window_name(minutes: int) -> str:
    """How people call a window: 300 → 5h, 10080 → 7d, 90 → 90m."""
    if minutes > 0 and minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes > 0 and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def same_period(a: float | None, b: float | None) -> bool:
    """Two readings' reset times name the same period (unknown matches anything)."""
    return a is None or b is None or abs(a - b) <= SAME_PERIOD_S


def is_stale(latest: Reading, minutes: int, now: float) -> bool:
    """The window has reset since this reading (or, with no reset time, the reading is
    older than the window itself): its figures are not the window's now."""
    if latest.resets_at is not None:
        return now >= latest.resets_at and latest.seen_at < latest.resets_at
    return now - latest.seen_at > minutes * 60


def forecast(readings: Sequence[Reading], now: float, pace_s: float = DEFAULT_PACE_S) -> Forecast:
    """The pace of the window from its readings (one period, oldest first), and when it
    fills at that pace."""
    if not readings:
        return NO_FORECAST
    latest = readings[-1]
    horizon = now - pace_s
    # the use at the horizon: the last reading at or before it; without one, the first
    # reading, and the span is only what the history covers
    at = bisect.bisect_right([r.seen_at for r in readings], horizon)
    if at > 0:
        base, span = readings[at - 1], pace_s
    else:
        base, span = readings[0], now - readings[0].seen_at
    if span < MIN_SPAN_S:
        return NO_FORECAST
    rise = latest.used_pct - base.used_pct
    per_second = max(0.0, rise / span)
    pct_per_hour = per_second * 3600
    if latest.used_pct >= FULL:
        return Forecast(pct_per_hour, latest.seen_at)
    if per_second <= 0 or (FULL - latest.used_pct) / per_second > FAR_S:
        return Forecast(pct_per_hour, None)
    return Forecast(pct_per_hour, now + (FULL - latest.used_pct) / per_second)


class Track:
    """One window's readings: the latest, and the history of its current period."""

    __slots__ = ("history", "plan")

    def __init__(self) -> None:
        self.history: list[Reading] = []  # oldest first, one period
        self.plan: str | None = None

    @property
    def latest(self) -> Reading | None:
        return self.history[-1] if self.history else None

    def add(self, reading: Reading, plan: str | None = None) -> None:
        """A reading, in any order (logs are read late, several at once)."""
        latest = self.latest
        if latest is not None and not same_period(reading.resets_at, latest.resets_at):
            if reading.seen_at <= latest.seen_at:
                return  # an older period's: nothing the window is now
            self.history = []
        if plan:
            self.plan = plan
        history = self.history
        at = bisect.bisect_left([r.seen_at for r in history], reading.seen_at)
        if at < len(history) and history[at].seen_at == reading.seen_at:
            history[at] = reading  # the same moment, said twice: the later word
        else:
            history.insert(at, reading)
        newest = history[-1].seen_at
        keep_from = bisect.bisect_left([r.seen_at for r in history], newest - HISTORY_S)
        keep_from = max(keep_from, len(history) - MAX_POINTS)
        if keep_from > 0:
            del history[:keep_from]
