"""Following OpenCode's store in short, bounded statements (the store is not a log file: no
tailer, no byte offsets).

What is read, and why it is enough (every statement uses an index or the rowid, with a
LIMIT, so its cost does not grow with the user's history):

1. New `message` rows: after the last rowid read (a row keeps its rowid when OpenCode
   updates it; new rows get larger ones). When the newest rows are deleted (an undo, a
   deleted session), SQLite gives their rowids to the next rows: at each poll the newest
   rowids read are checked (still there? still the same row?) and the cursor goes back
   to the first that is not.
2. Rows seen before they were final (a request starts with all-zero tokens and is updated
   when it ends, minutes later for a step that ran a subagent): read again by id at every
   poll until they are.
3. A session seen for the first time is read whole, with its subagents' sessions
   (`session.parent_id`), in slices by (`time_created`, `id`): its row counts the whole
   session, as a resumed Claude Code transcript does.
4. When a request is final, its `tool` parts (by `message_id`): its tool calls ran
   before it ended.

Every row is counted by its message id, growth-aware (the shared `Dedup`): reading a row
again, in any order, in any slices, adds only what grew. Never the `event` table, never
OpenCode's repeated `message.updated` events. Rows become requests in `rows.py`, sessions
their root's in `sessions.py`: the history (`history.py`) counts with the same two.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict, deque
from collections.abc import Sequence

from aitop import events as ev
from aitop.log import log
from aitop.providers.dedup import Dedup, Once
from aitop.providers.opencode import records
from aitop.providers.opencode.records import Where
from aitop.providers.opencode.rows import MESSAGE_COLUMNS, Decoded, MessageRows
from aitop.providers.opencode.sessions import IDS, Session, Sessions, text
from aitop.providers.opencode.store import Row, Store, TryLater

ROWS = 200  # rows per statement
STATEMENTS = 16  # at most, per slice of work (each is bounded: a slice is too)
PENDING_KEPT_S = 86_400.0  # a request still unfinished after a day: its OpenCode died
PROMPTS_KEPT = 10_000
SINCE_SLACK_S = 60.0  # rows are in rowid order only roughly by time (several processes)
TAIL = 64  # the newest rows read, checked at each poll: still there, still the same?

NEW_ROWS = f"SELECT {MESSAGE_COLUMNS} FROM message WHERE rowid > ? ORDER BY rowid LIMIT ?"
LAST_ROWID = "SELECT max(rowid) FROM message"
TAIL_IDS = "SELECT rowid, id FROM message WHERE rowid >= ? AND rowid <= ?"
FIRST_AT_OR_AFTER = (
    "SELECT rowid, time_created FROM message WHERE rowid >= ? ORDER BY rowid LIMIT 1"
)
FIRST_ROWID = "SELECT min(rowid) FROM message"
BY_ID = f"SELECT {MESSAGE_COLUMNS} FROM message WHERE id IN ({{}})"
# the index message_session_time_created_id_idx (session_id, time_created, id)
HISTORY = (
    f"SELECT {MESSAGE_COLUMNS}, time_created FROM message"
    " WHERE session_id = ?1 AND time_created >= ?2 AND (time_created > ?2 OR id > ?3)"
    " ORDER BY time_created, id LIMIT ?4"
)
CHILDREN = "SELECT id, parent_id, directory FROM session WHERE parent_id = ?"  # session_parent_idx
# part_message_id_id_idx; `instr` skips text and step parts without decoding them
TOOL_PARTS = (
    "SELECT message_id, data FROM part WHERE message_id IN ({})"
    ' AND instr(data, \'"type":"tool"\') > 0'
)


class _History:
    """Where the whole-session read of one session is."""

    __slots__ = ("children_listed", "created", "last_id", "session_id")

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.created = -1
        self.last_id = b""
        self.children_listed = False


class StoreReader:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows = MessageRows(Dedup())
        self.stats = self.rows.stats
        self.sessions = Sessions(store)
        self._once = Once()
        self._cursor: int | None = None  # the last message rowid read
        self._tail: OrderedDict[int, str] = OrderedDict()  # the newest rows read: rowid, id
        self._since: float | None = None  # at start-up: read rows created since
        self._due = False  # a poll asked for new rows
        self._recheck = False  # ... and for the unfinished ones
        self._blocked = False  # the store failed: nothing more until the next poll
        self._pending: OrderedDict[str, float] = OrderedDict()  # unfinished rows: first seen
        self._history: deque[_History] = deque()
        self._read_whole: set[str] = set()  # sessions read (or being read) whole
        self._parts: OrderedDict[str, Where] = OrderedDict()  # final requests: their tools
        self._prompts: OrderedDict[str, float] = OrderedDict()  # user message: created (ms)
        self._costs: dict[str, float] = {}  # OpenCode's own total, per root session
        self.found = 0  # root sessions seen for the first time (for discover's count)

    # --- what the provider asks ---------------------------------------------------------

    def start(self, since: float | None) -> None:
        """Read rows created since `since` (start-up), or from now on (None)."""
        self._since = since
        self._due = True

    def poll(self) -> None:
        self._due = self._recheck = True
        self._blocked = False

    def pending(self) -> bool:
        if self._blocked:
            return False
        return self._due or self._recheck or bool(self._history) or bool(self._parts)

    def work(self, now: float, budget: int) -> list[ev.Event]:
        """One slice: at most `budget` bytes of rows, a few bounded statements."""
        out: list[ev.Event] = []
        start = self.stats.bytes_read
        try:
            for _ in range(STATEMENTS):
                if self._blocked or self.stats.bytes_read - start >= budget:
                    break
                if self._due:
                    self._new_rows(now, out)
                elif self._recheck:
                    self._unfinished(now, out)
                elif self._history:
                    self._read_history(now, out)
                elif self._parts:
                    self._read_parts(now, out)
                else:
                    break
        except TryLater:  # stop this slice, try at the next poll
            self._blocked = True
        return out

    def forget(self, root: str) -> None:
        """The session left aitop for good: if it comes back, it is read whole again."""
        self._costs.pop(root, None)
        self._read_whole.discard(root)
        for session_id in list(self._read_whole):
            if self.sessions.root(session_id)[0] == root:
                self._read_whole.discard(session_id)

    def root_of(self, session_id: str, parent: str | None = None) -> tuple[str, str | None]:
        """(root session, its directory) of a session a plugin frame names; `parent` is the
        plugin's word on its parent. What is not known is looked up in the store (one
        statement by primary key per level); what the store cannot say yet (the plugin
        is a few ms ahead of it) is taken as a root."""
        if parent:
            self.sessions.learn(session_id, Session(parent, None))
        with contextlib.suppress(TryLater):
            self.sessions.resolve([session_id])
        return self.sessions.root(session_id)

    def learn_directory(self, session_id: str, directory: str) -> None:
        self.sessions.learn(session_id, Session(None, directory))

    # --- 1. new rows ----------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[object]) -> list[Row]:
        return self.store.query(sql, params)

    def _locate(self) -> int:
        """The rowid to read after: the last one (from now on), or the one before the first
        row created since `_since`, found by bisection on the rowid (rowids follow time
        closely; `SINCE_SLACK_S` covers several writers)."""
        (last,) = self._rows(LAST_ROWID, ())[0]
        if last is None:
            return 0
        if self._since is None:
            return int(last)
        since_ms = (self._since - SINCE_SLACK_S) * 1000.0
        (first,) = self._rows(FIRST_ROWID, ())[0]
        lo, hi = int(first), int(last) + 1
        while lo < hi:  # the first rowid >= lo whose row is recent is in [lo, hi]
            mid = (lo + hi) // 2
            found = self._rows(FIRST_AT_OR_AFTER, (mid,))
            if not found:
                hi = mid
                continue
            rowid, created = int(found[0][0]), found[0][1]
            if isinstance(created, int | float) and created < since_ms:
                lo = rowid + 1
            else:
                hi = mid  # no rows between mid and rowid: reading after mid - 1 finds it
        return lo - 1

    def _new_rows(self, now: float, out: list[ev.Event]) -> None:
        if self._cursor is None:
            self._cursor = self._locate()
        elif self._recheck:  # once a poll: were the newest rows read deleted?
            self._cursor = self._rewound(self._cursor)
        rows = self._rows(NEW_ROWS, (self._cursor, ROWS))
        self._messages(rows, now, out)
        for row in rows:
            self._tail[int(row[0])] = text(row[1])
        while len(self._tail) > TAIL:
            self._tail.popitem(last=False)
        if rows:
            self._cursor = int(rows[-1][0])
        if len(rows) < ROWS:
            self._due = False

    def _rewound(self, cursor: int) -> int:
        """Where to read after, once the newest rows were deleted (an undo, a deleted
        session): SQLite gives their rowids to the next rows. Rows read again are counted
        once all the same."""
        (last,) = self._rows(LAST_ROWID, ())[0]
        if last is None:
            self._tail.clear()
            return 0
        if int(last) < cursor:  # some are gone and no more came: the next reuse theirs
            self._tail.clear()
            return max(0, int(last) - TAIL)
        if not self._tail:
            return cursor
        first = next(iter(self._tail))
        current: dict[object, object] = dict(self._rows(TAIL_IDS, (first, cursor)))
        for rowid, message_id in self._tail.items():
            if text(current.get(rowid, b"")) != message_id:  # gone, or another row's now
                self._tail.clear()
                return rowid - 1
        return cursor

    # --- 2. rows that were not final ----------------------------------------------------

    def _unfinished(self, now: float, out: list[ev.Event]) -> None:
        self._recheck = False
        for message_id, first_seen in list(self._pending.items()):
            if now - first_seen > PENDING_KEPT_S:
                del self._pending[message_id]
                log.info("OpenCode request %s never finished: no longer followed", message_id)
        ids = list(self._pending)
        for at in range(0, len(ids), IDS):
            chunk = ids[at : at + IDS]
            rows = self._rows(BY_ID.format(",".join("?" * len(chunk))), chunk)
            seen = {text(row[1]) for row in rows}
            for gone in set(chunk) - seen:  # deleted (an undo): nothing more will come
                self._pending.pop(gone, None)
            self._messages(rows, now, out)

    # --- 3. whole sessions --------------------------------------------------------------

    def _read_history(self, now: float, out: list[ev.Event]) -> None:
        entry = self._history[0]
        if not entry.children_listed:
            for child_id, parent, directory in self._rows(CHILDREN, (entry.session_id,)):
                child = text(child_id)
                self.sessions.learn(child, Session(text(parent), text(directory)))
                if child not in self._read_whole:
                    self._read_whole.add(child)
                    self._history.append(_History(child))
            entry.children_listed = True
        rows = self._rows(HISTORY, (entry.session_id, entry.created, entry.last_id, ROWS))
        self._messages([row[:5] for row in rows], now, out)
        if rows:
            entry.created, entry.last_id = rows[-1][5], rows[-1][1]
        if len(rows) < ROWS:
            self._history.popleft()

    def _read_whole_session(self, root: str) -> None:
        if root not in self._read_whole:
            self._read_whole.add(root)
            self._history.append(_History(root))
            self.found += 1

    # --- 4. tool calls ------------------------------------------------------------------

    def _read_parts(self, now: float, out: list[ev.Event]) -> None:
        chunk = list(self._parts)[:IDS]
        rows = self._rows(TOOL_PARTS.format(",".join("?" * len(chunk))), chunk)
        wheres = {message_id: self._parts.pop(message_id) for message_id in chunk}
        for message_id, data in rows:
            self.stats.lines += 1
            self.stats.bytes_read += len(data)
            part = records.decode_part(data)
            if part is None:
                self.stats.rejected_lines += 1
                continue
            where = wheres.get(text(message_id))
            if where is not None:
                out.extend(records.tool_events(part, where, now))

    # --- rows -----------------------------------------------------------------------------

    def _messages(self, rows: list[Row], now: float, out: list[ev.Event]) -> None:
        self.sessions.resolve([text(row[2]) for row in rows])
        for row in rows:
            self._message(row, now, out)

    def _message(self, row: Row, now: float, out: list[ev.Event]) -> None:
        decoded = self.rows.decode(row, now)
        if decoded is None:
            self._pending.pop(text(row[1]), None)
            return
        message_id, session_id, message, when = decoded
        root, _ = self.sessions.root(session_id)
        self._read_whole_session(root)
        if not message.assistant:
            created = message.time.created if message.time is not None else None
            if message.role == "user" and created is not None:
                self._remember_prompt(message_id, created)
            return
        where = self.sessions.where(session_id, when)
        if where.subagent_id is not None and self._once.first("subagent\x1f" + session_id):
            out.append(ev.SubagentStarted(where.info, session_id, message.agent or ""))
        self._count(decoded, where, out)
        if not message.final:
            self._pending.setdefault(message_id, now)
            return
        self._pending.pop(message_id, None)
        self._finished(message_id, message, where, out)

    def _count(self, decoded: Decoded, where: Where, out: list[ev.Event]) -> None:
        request = self.rows.count(decoded, where)
        if request is not None:
            out.append(request)

    def _finished(
        self, message_id: str, message: records.Message, where: Where, out: list[ev.Event]
    ) -> None:
        """Counted once per request, whichever read sees it final first."""
        info, sub = where.info, where.subagent_id
        if message.api_error and self._once.first("error\x1f" + message_id):
            error = message.error
            status = error.data.statusCode if error is not None and error.data else None
            out.append(ev.ApiError(info, status, sub))
        if message.compaction and self._once.first("compaction\x1f" + message_id):
            # its summary request is in the store, counted like any other
            out.append(ev.Compacted(info, request_logged=True))
        if sub is None and records.ends_turn(message) and self._once.first("turn\x1f" + message_id):
            out.append(ev.TurnCompleted(info, duration_ms=self._turn_ms(message)))
        cost = records.own_cost(message)
        if cost > 0 and self._once.first("cost\x1f" + message_id):
            total = self._costs.get(info.session_id, 0.0) + cost
            self._costs[info.session_id] = total
            out.append(ev.AgentCostReport(info, total, running=True))
        if self._once.first("parts\x1f" + message_id):
            self._parts[message_id] = where

    def _remember_prompt(self, message_id: str, created_ms: float) -> None:
        self._prompts[message_id] = created_ms
        if len(self._prompts) > PROMPTS_KEPT:
            self._prompts.popitem(last=False)

    def _turn_ms(self, message: records.Message) -> float | None:
        """From the prompt the answer replies to, to the answer's end."""
        asked = self._prompts.get(message.parentID or "")
        done = message.completed_ms
        if asked is None or done is None:
            return None
        return max(0.0, done - asked)
