"""Alerts on plan limits: a window past a configured level, and a window that, at the
recent pace, fills before it resets. Pure functions of the snapshot's `limits` rows and
`now`, plus one small memory owned by the monitor's loop (like the alert log).

Each alert rings once per window period: its id names the period (the window's reset
time), so the next period's is a new alert. The use only rises within a period, so a
level once passed stays passed; the pace can slow and pick up again, so the pace alert,
once it has cleared, is not raised again in the same period (that is the memory).
Figures that are stale (the window has reset since) raise nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from msgspec import Meta, Struct, field

from aitop.providers.registry import label
from aitop.snapshot import Alert, LimitRow

Percent = Annotated[float, Meta(gt=0, le=100)]
CRITICAL = "critical"
WARNING = "warning"


class LimitSettings(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The `[limits]` table of config.toml."""

    levels: Annotated[list[Percent], Meta(max_length=10)] = field(  # % of a window
        default_factory=lambda: [80.0, 95.0]
    )
    forecast: bool = True  # alert when a window fills before it resets at the recent pace
    pace_minutes: Annotated[float, Meta(ge=1, le=1440)] = 15.0  # the pace is over this long


DEFAULT = LimitSettings()
PeriodKey = tuple[str, str | None, str, str]  # agent, scope, window, period


def limit_name(row: LimitRow) -> str:
    """`claude 5h`, `codex 7d`, `codex premium 5h`."""
    scope = f" {row.scope}" if row.scope else ""
    return f"{label(row.agent)}{scope} {row.window}"


def span(seconds: float) -> str:
    """A time to come, short: 45s, 48m, 1h26m, 4d 2h."""
    seconds = int(max(0.0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86_400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86_400}d {seconds % 86_400 // 3600}h"


def pct(value: float) -> str:
    """37 %, 34.6 %: as precise as the vendor said it."""
    return f"{value:.1f}".removesuffix(".0") + " %"


def _period(row: LimitRow) -> str:
    return "" if row.resets_at_ts is None else str(int(row.resets_at_ts))


def _key(row: LimitRow) -> PeriodKey:
    return (row.agent, row.scope, row.window, _period(row))


def _id(kind: str, row: LimitRow, *extra: str) -> str:
    return ":".join((kind, row.agent, row.scope or "", row.window, *extra, _period(row)))


def _resets(row: LimitRow, now: float) -> str:
    if row.resets_at_ts is None:
        return ""
    return f", resets in {span(row.resets_at_ts - now)}"


def level_alerts(rows: Sequence[LimitRow], settings: LimitSettings, now: float) -> list[Alert]:
    """For each current window past a level: one alert, for the highest level passed."""
    levels = sorted(set(settings.levels))
    out = []
    for row in rows:
        if row.stale:
            continue
        passed = [level for level in levels if row.used_pct >= level]
        if not passed:
            continue
        level = passed[-1]
        top = level == levels[-1] or row.used_pct >= 100
        what = "reached" if row.used_pct >= 100 else f"{pct(row.used_pct)} used"
        out.append(
            Alert(
                _id("limit", row, f"{level:g}"),
                CRITICAL if top else WARNING,
                f"{limit_name(row)} limit {what} (alert at {pct(level)}){_resets(row, now)}",
            )
        )
    return out


class LimitAlerts:
    """The limit alerts of each snapshot, with the memory that keeps the pace alert to one
    per window period. The monitor's loop owns the one instance."""

    def __init__(self, settings: LimitSettings = DEFAULT) -> None:
        self.settings = settings
        self._paced: set[PeriodKey] = set()  # a pace alert is on for these
        self._done: dict[PeriodKey, float] = {}  # ...and has cleared: its reset time

    def update(self, rows: Sequence[LimitRow], now: float) -> list[Alert]:
        found = level_alerts(rows, self.settings, now)
        if self.settings.forecast:
            found.extend(self._pace(rows, now))
        return found

    def _pace(self, rows: Sequence[LimitRow], now: float) -> list[Alert]:
        out = []
        paced = set()
        for row in rows:
            key = _key(row)
            if row.stale or key in self._done or row.used_pct >= 100:
                continue
            full, resets = row.full_at_ts, row.resets_at_ts
            if full is None or resets is None or full >= resets:
                continue
            paced.add(key)
            minutes = f"{self.settings.pace_minutes:g}"
            out.append(
                Alert(
                    _id("limit_pace", row),
                    WARNING,
                    f"{limit_name(row)} limit: at the pace of the last {minutes} min"
                    f" ({pct(row.used_pct)} used) it is full in {span(full - now)},"
                    f" before it resets in {span(resets - now)}",
                )
            )
        for key in self._paced - paced:  # cleared: not again in this period
            reset = float(key[3]) if key[3] else float("inf")
            self._done[key] = reset
        self._paced = paced
        # forget periods that are over
        for key in [key for key, reset in self._done.items() if reset <= now]:
            del self._done[key]
        return out
