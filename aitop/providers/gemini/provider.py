"""The Gemini CLI provider: hook frames and chat files in, aitop events out.

Chat files live under `<gemini dir>/tmp/<project>/chats/` (a session's own file, and its
subagents' in a directory named after it); a hook names its session's file. The chat
files are the accounting (`chats.py`); the hooks add what no file holds:

* a request that failed: `BeforeModel` fires once per request attempt, `AfterModel` once
  per chunk of its answer, both with the same `llm_request`; an attempt that got no chunk
  by the time it is sent again (a retry), or the turn is over (its end, a new prompt, a
  restart), got no answer: an API error. Attempts are told apart by their request, so
  subagents asking at the same time never pass for failures. (0.61.0 writes nothing of a
  failed request to the chat file, and `-p` exits on it without another hook: such an
  error is counted when the session is resumed.)
* how long a tool ran: `BeforeTool` and `AfterTool` carry no call id, but their
  `tool_input` is the call's `args` in the chat file byte for byte, so a duration is
  matched to the chat's call by (session, tool, input), in order;
* waiting for a permission (`Notification`), the start and end of prompts and sessions.
"""

from __future__ import annotations

import os
from collections import OrderedDict, deque
from typing import TypeVar

import msgspec

from aitop import events as ev
from aitop.log import log
from aitop.providers.base import Decoded, Outcome
from aitop.providers.dirwatch import DirWatch
from aitop.providers.follow import FollowedLogs, Queue
from aitop.providers.gemini import hooks
from aitop.providers.gemini.chats import (
    AGENT,
    SUFFIX,
    ChatReader,
    ProjectRoots,
    chat_files,
    session_of,
    tailer,
)
from aitop.providers.gemini.setup import Setup
from aitop.providers.timestamps import parse_time
from aitop.snapshot import Diagnostic
from aitop.wire import Envelope

SESSION_FILES_DEPTH = 3  # tmp/<project>/chats/session-….jsonl
MAX_TRACKED = 4096  # sessions awaiting an answer, tool inputs awaiting their match
MAX_PER_KEY = 64

ToolKey = tuple[str, str, int]  # (session, tool name, hash of its input)
Attempt = tuple[str, int]  # (session, hash of its llm_request)
T = TypeVar("T")

# After one of these, every request attempt of the turn with no chunk of answer got none.
_TURN_OVER = (hooks.BeforeAgent, hooks.AfterAgent, hooks.SessionStart, hooks.SessionEnd)


class Gemini(FollowedLogs):
    agent = AGENT

    def __init__(
        self, gemini_dir: str, setup: Setup | None = None, *, use_inotify: bool = True
    ) -> None:
        self.gemini_dir = os.path.abspath(gemini_dir)
        self.tmp_dir = os.path.join(self.gemini_dir, "tmp")
        self.reader = ChatReader(project_root=ProjectRoots(self.tmp_dir))
        self.tailer = tailer(self.tmp_dir, self.reader)
        self.queue = Queue(self.tailer)
        self.dirwatch = DirWatch(self.tmp_dir, SESSION_FILES_DEPTH, SUFFIX, use_inotify=use_inotify)
        self.watches = (self.dirwatch,)
        self.setup = setup
        self._asking: OrderedDict[Attempt, float] = OrderedDict()  # unanswered -> its time
        self._tool_starts: OrderedDict[ToolKey, deque[float]] = OrderedDict()
        self._durations: OrderedDict[ToolKey, deque[float]] = OrderedDict()  # not matched yet
        self._untimed: OrderedDict[ToolKey, deque[str]] = OrderedDict()  # chat calls waiting
        self._said_outside: set[str] = set()

    # --- hooks ----------------------------------------------------------------------

    def decode(self, payload: bytes, envelope: Envelope, now: float) -> Decoded:
        hook = hooks.decode(payload)
        if isinstance(hook, Decoded):
            return hook
        session = hooks.session_info(hook, envelope, now)
        if hook.transcript_path:
            self.queue.follow(hook.transcript_path, hook.session_id)
        events = self._failed_request(hook, session, now)
        events += hooks.to_events(hook, session)
        events += self._tool_timing(hook, session, now)
        return Decoded(Outcome.OK, events)

    def _failed_request(
        self, hook: hooks.Payload, session: ev.SessionInfo, now: float
    ) -> list[ev.Event]:
        """API errors for the request attempts this hook shows got no answer; this hook's
        own attempt, if it is one, awaits its answer."""
        if isinstance(hook, hooks.BeforeModel | hooks.AfterModel):
            attempt = (hook.session_id, hash(bytes(hook.llm_request)))
            asked = self._asking.pop(attempt, None)
            if isinstance(hook, hooks.AfterModel):
                return []
            _put(self._asking, attempt, now)
            return [] if asked is None else [self._api_error(session, asked)]
        if not isinstance(hook, _TURN_OVER):
            return []
        unanswered = [a for a in self._asking if a[0] == hook.session_id]
        return [self._api_error(session, self._asking.pop(a)) for a in unanswered]

    @staticmethod
    def _api_error(session: ev.SessionInfo, asked: float) -> ev.Event:
        return ev.ApiError(msgspec.structs.replace(session, time=asked))

    def _tool_timing(
        self, hook: hooks.Payload, session: ev.SessionInfo, now: float
    ) -> list[ev.Event]:
        if not isinstance(hook, hooks.BeforeTool | hooks.AfterTool):
            return []
        raw = bytes(hook.tool_input)
        if not raw:
            return []
        key = (hook.session_id, hook.tool_name, hash(raw))
        when = parse_time(hook.timestamp, now)
        if isinstance(hook, hooks.BeforeTool):
            _push(self._tool_starts, key, when)
            return []
        started = _pop(self._tool_starts, key)
        if started is None:
            return []
        duration_ms = max(0.0, when - started) * 1000.0
        call = _pop(self._untimed, key)
        if call is None:  # the chat file has not shown the call yet
            _push(self._durations, key, duration_ms)
            return []
        return [ev.ToolFinished(session, call, hook.tool_name, None, None, duration_ms)]

    # --- chat files -----------------------------------------------------------------

    def backfill(self, now: float, window_s: float = 900.0) -> int:
        """At start-up: follow every chat file modified in the last `window_s`, and watch
        the directories for the ones that change from now on. How many."""
        self.dirwatch.start(now)  # first: a file written during the walk is not missed
        found = 0
        for path in recent_chats(self.tmp_dir, now - window_s):
            found += self._discovered(path)
        return found

    def discover(self, now: float) -> int:
        """Follow the chat files written since the last call that nothing follows yet, and
        new subagent files of the sessions followed. How many."""
        found = 0
        for path in self.dirwatch.changed(now):
            found += self._discovered(path)
        for path in self.tailer.watched():
            file = self.tailer.followed(path)
            if file is not None and file.subagent_id is None:
                found += self._new_subagents(path, file.session_id)
        return found

    def _new_subagents(self, main_path: str, session_id: str) -> int:
        found = 0
        try:
            entries = list(os.scandir(os.path.join(os.path.dirname(main_path), session_id)))
        except (OSError, ValueError):
            return 0
        for entry in entries:
            if entry.name.endswith(SUFFIX):
                found += self._discovered(entry.path)
        return found

    def _discovered(self, path: str) -> int:
        owner = session_of(path)
        if owner is None or self.tailer.is_watched(path):
            return 0
        return int(self.queue.follow(path, owner[0], owner[1]))

    def work(self, now: float, budget: int) -> list[ev.Event]:
        return self._timed(super().work(now, budget))

    def _timed(self, events: list[ev.Event]) -> list[ev.Event]:
        """The chat's tool calls with the durations their hooks measured, where known; a
        call whose hooks have not come yet waits for them (`_tool_timing`)."""
        timed: dict[str, float] = {}
        out: list[ev.Event] = []
        for event in events:
            if isinstance(event, ev.ToolStarted) and event.input_digest is not None:
                key = (event.session.session_id, event.name, event.input_digest)
                duration = _pop(self._durations, key)
                if duration is None:
                    _push(self._untimed, key, event.tool_use_id)
                else:
                    timed[event.tool_use_id] = duration
            elif isinstance(event, ev.ToolFinished) and event.tool_use_id in timed:
                duration_ms = timed.pop(event.tool_use_id)
                event = msgspec.structs.replace(event, duration_ms=duration_ms)
            out.append(event)
        return out

    def forget(self, session_id: str) -> None:
        super().forget(session_id)
        for attempt in [a for a in self._asking if a[0] == session_id]:
            del self._asking[attempt]
        for table in (self._tool_starts, self._durations, self._untimed):
            for key in [k for k in table if k[0] == session_id]:
                del table[key]

    def diagnostics(self, frames: int) -> list[Diagnostic]:
        outside = self.tailer.outside
        for root in outside.keys() - self._said_outside:
            self._said_outside.add(root)
            log.warning(
                "Gemini CLI writes chat files under %s, outside %s: start aitop with"
                " --gemini-dir %s",
                root,
                self.gemini_dir,
                root,
            )
        if self.setup is None:
            return []
        return self.setup.diagnostics(frames, self.tailer.stats.files, outside)


def _put(table: OrderedDict[Attempt, float], key: Attempt, value: float) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > MAX_TRACKED:
        table.popitem(last=False)


def _push(table: OrderedDict[ToolKey, deque[T]], key: ToolKey, value: T) -> None:
    queue = table.get(key)
    if queue is None:
        queue = table[key] = deque(maxlen=MAX_PER_KEY)
        while len(table) > MAX_TRACKED:
            table.popitem(last=False)
    queue.append(value)


def _pop(table: OrderedDict[ToolKey, deque[T]], key: ToolKey) -> T | None:
    queue = table.get(key)
    if not queue:
        return None
    value = queue.popleft()
    if not queue:
        del table[key]
    return value


def recent_chats(tmp_dir: str, since: float) -> list[str]:
    """Chat files (sessions' and subagents') modified at or after `since`, oldest first."""
    found = sorted((f.mtime, f.path) for f in chat_files(tmp_dir) if f.mtime >= since)
    return [path for _, path in found]
