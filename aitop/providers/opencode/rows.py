"""`message` rows into requests: the one place OpenCode's store becomes spend, for the live
reader and the history alike (so a session's report total is its live row's).

A row is decoded (counted, and set aside if it is not of the expected shape), stamped with
the time its request counts at (when it ended; while it runs, when its row was last
written), and its usage counted once per message id with the shared `Dedup`, growth-aware:
reading a row again, in any order, adds only what grew.
"""

from __future__ import annotations

from typing import NamedTuple

from msgspec import Struct

from aitop import events as ev
from aitop.providers.dedup import Dedup
from aitop.providers.opencode import records
from aitop.providers.opencode.records import Message, Where
from aitop.providers.opencode.sessions import text
from aitop.providers.opencode.store import Row

# the columns of a message row, in this order
MESSAGE_COLUMNS = "rowid, id, session_id, time_updated, data"


class ReaderStats(Struct):
    requests: int = 0
    duplicate_lines: int = 0
    rejected_lines: int = 0
    lines: int = 0
    bytes_read: int = 0


class Decoded(NamedTuple):
    message_id: str
    session_id: str
    message: Message
    when: float  # the time its request counts at (s)


class MessageRows:
    """Decodes and counts message rows; `owner` names the store to the dedup (the report
    tells the files that shared a request apart by it)."""

    def __init__(self, dedup: Dedup, owner: str = "") -> None:
        self.dedup = dedup
        self.owner = owner
        self.stats = ReaderStats()

    def decode(self, row: Row, now: float) -> Decoded | None:
        """A row of `MESSAGE_COLUMNS`; None (counted as rejected) if its data is not a
        message's."""
        _rowid, raw_id, raw_session, updated, data = row
        data = data if isinstance(data, bytes) else text(data).encode()
        self.stats.lines += 1
        self.stats.bytes_read += len(data)
        message = records.decode_message(data)
        if message is None:
            self.stats.rejected_lines += 1
            return None
        stamp = message.completed_ms
        if stamp is None:
            stamp = float(updated) if isinstance(updated, int | float) else now * 1000.0
        return Decoded(text(raw_id), text(raw_session), message, records.seconds(stamp, now))

    def count(self, decoded: Decoded, where: Where) -> ev.Request | None:
        """The request's usage (or its growth since it was last counted), if any."""
        message = decoded.message
        usage = records.spent(message)
        if usage is None:
            return None
        counted = self.dedup.add(decoded.message_id, usage, self.owner)
        if counted is None:
            self.stats.duplicate_lines += 1
            return None
        total, previous = counted
        if previous is None:
            self.stats.requests += 1
        return records.request(message, where, total, previous)
