"""OpenCode's store as history (`aitop report`, the budgets): every request in its one SQLite
file, read from the first row on in bounded statements by rowid, then decoded, placed in its
root session and counted by the live reader's own parts (`rows.py`, `sessions.py`): the same
rule, the same attribution of subagents, the same dedup key (the message id).

A request still running when it is read counts what its row says so far (nothing, until it
ends): the history is the store as it was when read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

from aitop import events as ev
from aitop.providers.base import LogFile
from aitop.providers.dedup import Dedup
from aitop.providers.opencode.reader import NEW_ROWS
from aitop.providers.opencode.records import AGENT
from aitop.providers.opencode.rows import MessageRows
from aitop.providers.opencode.sessions import Sessions, text
from aitop.providers.opencode.store import Store, TryLater, db_path

# The reading's budget is in bytes, as for the agents' log files; the store is read in rows.
# A message row's data is 150 to 850 bytes in the captures (an assistant row about 380), so
# a statement asks for one row per ROW_BYTES of the budget left (at least one: a read always
# moves on), at most ROWS_MAX; the bytes counted are those of the rows' data.
ROW_BYTES = 512
ROWS_MAX = 1000
# A reader of a WAL store is kept waiting only for moments (a writer resetting the WAL, a
# recovery): each statement waits up to BUSY_TIMEOUT_S (short: the budgets read on the
# monitor's loop), and a read that finds the store busy says "not done" so that the next one
# tries again, BUSY_TRIES times in a row at most; then the store is reported as unreadable.
BUSY_TIMEOUT_S = 0.02
BUSY_TRIES = 50

RETENTION = (
    "OpenCode keeps every session in its store until it is deleted in OpenCode (opencode"
    " session delete, its session list); it deletes none by age"
)


class OpenCodeHistory:
    agent = AGENT

    def __init__(self, data_dir: str, environ: Mapping[str, str]) -> None:
        self.path = db_path(os.path.abspath(data_dir), environ)

    def log_files(self) -> list[LogFile]:
        """The store, as one file: its size and last change are its -wal's too (OpenCode
        does not checkpoint on exit: the newest rows are often only there)."""
        if self.path is None:
            return []
        try:
            info = os.stat(self.path)
        except OSError:
            return []
        if not stat.S_ISREG(info.st_mode):
            return []
        size, mtime = info.st_size, info.st_mtime
        try:
            wal = os.stat(self.path + "-wal")
        except OSError:
            pass
        else:
            size += wal.st_size
            mtime = max(mtime, wal.st_mtime)
        # every session is in it: no session of its own; a group of its own
        return [LogFile(self.path, "", None, size, mtime, self.path)]

    def reader(self, dedup: Dedup) -> StoreHistory:
        return StoreHistory(dedup)

    def retention(self) -> str:
        return RETENTION


class _Reading:
    """Where the reading of one store is."""

    def __init__(self, path: str, dedup: Dedup) -> None:
        self.store = Store(path, busy_timeout_s=BUSY_TIMEOUT_S)
        self.rows = MessageRows(dedup, owner=path)
        self.sessions = Sessions(self.store)
        self.cursor = 0  # the last rowid read
        self.busy = 0  # tries in a row that found the store busy


class StoreHistory:
    """A `base.LogReader` of OpenCode stores (one, in practice): never raises; a store that
    cannot be read is in `unreadable()` with the reason, what was read of it counted."""

    def __init__(self, dedup: Dedup) -> None:
        self.dedup = dedup
        self._readings: dict[str, _Reading] = {}
        self._unreadable: list[tuple[str, str]] = []
        self._bytes = 0

    def read(self, file: LogFile, now: float, budget: int) -> tuple[list[ev.Event], bool]:
        reading = self._readings.get(file.path)
        if reading is None:
            reading = self._readings[file.path] = _Reading(file.path, self.dedup)
        events: list[ev.Event] = []
        stats = reading.rows.stats
        start = stats.bytes_read
        try:
            while stats.bytes_read - start < budget:
                left = budget - (stats.bytes_read - start)
                limit = max(1, min(ROWS_MAX, -(-left // ROW_BYTES)))
                rows = reading.store.query(NEW_ROWS, (reading.cursor, limit))
                reading.sessions.resolve([text(row[2]) for row in rows])
                reading.busy = 0
                for row in rows:
                    decoded = reading.rows.decode(row, now)
                    if decoded is None or not decoded.message.assistant:
                        continue
                    where = reading.sessions.where(decoded.session_id, decoded.when)
                    request = reading.rows.count(decoded, where)
                    if request is not None:
                        events.append(request)
                if rows:
                    reading.cursor = int(rows[-1][0])
                if len(rows) < limit:
                    return events, self._done(file.path)
        except TryLater:
            store = reading.store
            if store.last_kind == "busy" and reading.busy < BUSY_TRIES:
                reading.busy += 1
            else:
                why = store.last_failure or "could not be read"
                if store.last_kind == "busy":
                    why += f" (tried {reading.busy + 1} times)"
                self._unreadable.append((file.path, why))
                return events, self._done(file.path)
        finally:
            self._bytes += stats.bytes_read - start
        return events, False

    def _done(self, path: str) -> bool:
        reading = self._readings.pop(path)
        reading.store.close()
        return True

    def unreadable(self) -> list[tuple[str, str]]:
        return list(self._unreadable)

    def bytes_read(self) -> int:
        return self._bytes
