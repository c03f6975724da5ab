"""The time a log line says it was written: what every agent's reader places its events at."""

from __future__ import annotations

from datetime import datetime


def parse_time(text: str | None, now: float) -> float:
    """The line's own time (ISO 8601), clamped to now; now when missing or unreadable."""
    if not text:
        return now
    try:
        when = datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        return now
    return min(when, now)
