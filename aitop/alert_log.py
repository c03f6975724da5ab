"""The alert log: when each alert began and when it cleared, since aitop started.

Alerts are a pure function of one snapshot, so an alert that lasted fifteen seconds
would leave no trace; this is the memory of them. The monitor's loop owns the one
instance and updates it once per snapshot with that snapshot's alerts and `now`.
Bounded: the oldest cleared entries go first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from aitop.aggregate import iso
from aitop.snapshot import Alert, AlertLogEntry

KEPT = 200  # cleared alerts remembered; the ones still on are always kept


class _Entry:
    __slots__ = ("began", "cleared", "id", "message", "severity")

    def __init__(self, alert: Alert, began: float) -> None:
        self.id = alert.id
        self.severity = alert.severity
        self.message = alert.message
        self.began = began
        self.cleared: float | None = None

    def frozen(self) -> AlertLogEntry:
        return AlertLogEntry(
            id=self.id,
            severity=self.severity,
            message=self.message,
            began=iso(self.began),
            cleared=None if self.cleared is None else iso(self.cleared),
            began_ts=self.began,
            cleared_ts=self.cleared,
        )


class AlertLog:
    def __init__(self, kept: int = KEPT) -> None:
        self._on: dict[str, _Entry] = {}  # by id, in the order they began
        self._cleared: deque[_Entry] = deque(maxlen=kept)

    def update(self, alerts: Sequence[Alert], now: float) -> None:
        """The alerts of the latest snapshot: new ids begin, missing ids clear."""
        current = {alert.id: alert for alert in alerts}
        for key in [key for key in self._on if key not in current]:
            entry = self._on.pop(key)
            entry.cleared = now
            self._cleared.append(entry)
        for key, alert in current.items():
            known = self._on.get(key)
            if known is None:
                self._on[key] = _Entry(alert, now)
            else:  # the same condition, said with today's numbers
                known.severity, known.message = alert.severity, alert.message

    def entries(self) -> list[AlertLogEntry]:
        """Every alert still on and the latest cleared ones, the most recent first."""
        everything = [*self._cleared, *self._on.values()]
        everything.sort(key=lambda entry: entry.began, reverse=True)
        return [entry.frozen() for entry in everything]
