"""Reading whole log files for history (the report, the budgets) with the shared tailer:
the same path checks, slicing, partial lines and .zst handling as the live monitor's,
handed to the agent's own reader."""

from __future__ import annotations

from aitop import events as ev
from aitop.providers.base import LogFile
from aitop.providers.tail import Tailer


class TailedLogs:
    """A `base.LogReader` over a tailer: a file is followed when first read and dropped
    once read to its end, so memory does not grow with the number of files."""

    def __init__(self, tailer: Tailer) -> None:
        self.tailer = tailer
        self._unreadable: list[tuple[str, str]] = []

    def read(self, file: LogFile, now: float, budget: int) -> tuple[list[ev.Event], bool]:
        tailer = self.tailer
        path = file.path
        followed = tailer.followed(path)
        if followed is None:
            if not tailer.watch(path, file.session_id, file.subagent_id):
                self._unreadable.append((path, "not a log file of the agent's, or unsafe"))
                return [], True
            followed = tailer.followed(path)
            assert followed is not None
            followed.size_seen = file.size  # known unread: read() goes on until the end
        events = tailer.read(path, now, budget)
        if tailer.is_behind(path):
            return events, False
        if tailer.followed(path) is None:  # dropped: not a regular file of this user's
            self._unreadable.append((path, "not a regular file of yours: left alone"))
        elif followed.problem is not None:
            self._unreadable.append((path, followed.problem))
        tailer.unwatch(path)
        return events, True

    def unreadable(self) -> list[tuple[str, str]]:
        return list(self._unreadable)

    def bytes_read(self) -> int:
        return self.tailer.stats.bytes_read
