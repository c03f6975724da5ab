"""Which followed files to read next, in budgeted slices: shared by every provider whose
agent writes log files (the tailer reads one file; this decides the order).

Files a hook has just named go first, then the ones that grew on their own, then the
backlog of first reads; each file is read at most once a call, so a file that gives
nothing (it cannot be opened, it was deleted) never keeps the caller waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

from aitop import events as ev
from aitop.providers.base import LogStats
from aitop.providers.dirwatch import DirWatch
from aitop.providers.tail import Tailer


class Queue:
    def __init__(self, tailer: Tailer) -> None:
        self.tailer = tailer
        self._dirty: dict[str, None] = {}  # ordered set: files to read next

    def follow(self, path: str, session_id: str, subagent_id: str | None = None) -> bool:
        """Follow `path` (if it is safe) and read it soon. False for an unsafe path."""
        if self.tailer.watch(path, session_id, subagent_id):
            self._dirty[path] = None
            return True
        return False

    def poll(self, now: float) -> None:
        """Once a tick: notice the files that grew without a hook saying so."""
        for path in self.tailer.poll(now):
            self._dirty[path] = None

    def pending(self) -> bool:
        return bool(self._dirty) or bool(self.tailer.behind())

    def work(self, now: float, budget: int) -> list[ev.Event]:
        """Read at most `budget` bytes: the files named first, then the backlog."""
        for path in self.tailer.behind():
            self._dirty.setdefault(path, None)
        events: list[ev.Event] = []
        start = self.tailer.stats.bytes_read
        for path in list(self._dirty):
            left = budget - (self.tailer.stats.bytes_read - start)
            if left <= 0:
                break
            del self._dirty[path]
            events.extend(self.tailer.read(path, now, left))
            if self.tailer.is_behind(path):
                self._dirty[path] = None  # to the back of the queue: fair to the others
        return events

    def park(self, session_id: str) -> None:
        """The session left the table: stop polling its files, remember their offsets."""
        self.tailer.park_session(session_id)
        self._drop_unwatched()

    def forget(self, session_id: str) -> None:
        self.tailer.forget_session(session_id)
        self._drop_unwatched()

    def _drop_unwatched(self) -> None:
        for path in list(self._dirty):
            if self.tailer.followed(path) is None:
                del self._dirty[path]

    def stats(self, reader_stats: Any) -> LogStats:
        """The tailer's counts and the reader's (requests, duplicates, rejected lines)."""
        tail = self.tailer.stats
        return LogStats(
            files=tail.files,
            lines=tail.lines,
            long_lines=tail.long_lines,
            unsafe_paths=tail.unsafe_paths,
            restarts=tail.restarts,
            bytes_read=tail.bytes_read,
            **msgspec.structs.asdict(reader_stats),
        )


class _Reader(Protocol):
    @property
    def stats(self) -> Any: ...


class FollowedLogs:
    """The `Provider` methods of an agent that writes log files, the same for each: its
    files are read through one `Queue` over one `Tailer`, parsed by `reader`, and found
    by its `watches` (the first says how). A provider sets the four in `__init__`."""

    queue: Queue
    tailer: Tailer
    reader: _Reader
    watches: Sequence[DirWatch]

    def poll(self, now: float) -> None:
        self.queue.poll(now)

    def pending(self) -> bool:
        return self.queue.pending()

    def work(self, now: float, budget: int) -> list[ev.Event]:
        return self.queue.work(now, budget)

    def park(self, session_id: str) -> None:
        self.queue.park(session_id)

    def forget(self, session_id: str) -> None:
        self.queue.forget(session_id)

    def stats(self) -> LogStats:
        return self.queue.stats(self.reader.stats)

    def backlog(self) -> int:
        return self.tailer.backlog()

    def unreadable(self) -> int:
        return self.tailer.unreadable()

    def watching(self) -> str:
        return self.watches[0].mode

    def close(self) -> None:
        for watch in self.watches:
            watch.close()
