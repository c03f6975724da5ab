"""The Claude Code provider: hook frames and transcripts in, aitop events out.

It knows which transcript files belong to which session (the hook's
`transcript_path`, and the subagent files next to it), reads the ones a hook just
named, polls the others each tick, backfills recent ones at start-up, and notices
sessions no hook announced (a directory watch: the cost does not grow with the
user's history). Reading is done in slices so that a large first read never holds
up the loop.
"""

from __future__ import annotations

import os

from aitop import events as ev
from aitop.providers.claude_code import hooks
from aitop.providers.claude_code.transcript import (
    READ_CHUNK,
    Tailer,
    TailStats,
    recent_transcripts,
    session_of,
)
from aitop.providers.dirwatch import DirWatch
from aitop.wire import Envelope

AGENTS = ("claude-code", "codex")  # Codex hooks share Claude Code's field names


SESSION_FILES_DEPTH = 2  # projects/<project>/<session>.jsonl


class ClaudeCode:
    def __init__(self, projects_dir: str, *, use_inotify: bool = True) -> None:
        self.tailer = Tailer(projects_dir)
        self.dirwatch = DirWatch(
            self.tailer.projects_dir, SESSION_FILES_DEPTH, ".jsonl", use_inotify=use_inotify
        )
        self._dirty: dict[str, None] = {}  # ordered set: files a hook has just named

    # --- hooks ----------------------------------------------------------------------

    def decode(
        self, payload: bytes, envelope: Envelope, now: float
    ) -> tuple[hooks.Outcome, list[ev.Event], str]:
        if envelope.agent not in AGENTS:
            return hooks.Outcome.MALFORMED, [], f"unknown agent {envelope.agent!r}"
        outcome, events, reason = hooks.decode(payload, envelope, now)
        if envelope.agent == "claude-code":
            for event in events:
                self._follow(event)
        return outcome, events, reason

    def _follow(self, event: ev.Event) -> None:
        """Read the transcripts this event is about, now and while they grow."""
        info = event.session
        if info.transcript_path and self.tailer.watch(info.transcript_path, info.session_id):
            self._dirty[info.transcript_path] = None
        sub = getattr(event, "subagent_id", None)
        if sub is None:
            return
        path = getattr(event, "transcript_path", None) or hooks.subagent_path(
            info.transcript_path, info.session_id, sub
        )
        if path and self.tailer.watch(path, info.session_id, sub):
            self._dirty[path] = None

    # --- transcripts ----------------------------------------------------------------

    def backfill(self, now: float, window_s: float = 900.0) -> int:
        """At start-up: follow every transcript modified in the last `window_s`, and
        watch the directories for the ones that change from now on. How many."""
        self.dirwatch.start(now)  # first: a file written during the walk is not missed
        found = 0
        for path in recent_transcripts(self.tailer.projects_dir, now - window_s):
            found += self._discovered(path)
        return found

    def discover(self, now: float) -> int:
        """Follow the transcripts written since the last call that nothing follows yet
        (sessions no hook announced: hooks not installed, or installed after the
        session started), and new subagent files of the sessions followed. How many."""
        found = 0
        for path in self.dirwatch.changed(now):
            found += self._discovered(path)
        for path in self.tailer.watched():
            if "/subagents/" not in path:  # a main transcript: its subagents sit beside it
                found += self._new_subagents(path)
        return found

    def _new_subagents(self, main_path: str) -> int:
        found = 0
        try:
            entries = list(os.scandir(main_path[: -len(".jsonl")] + "/subagents"))
        except OSError:
            return 0
        for entry in entries:
            if entry.name.startswith("agent-") and entry.name.endswith(".jsonl"):
                found += self._discovered(entry.path)
        return found

    def _discovered(self, path: str) -> int:
        owner = session_of(path)
        if owner is None or self.tailer.is_watched(path):
            return 0
        if self.tailer.watch(path, owner[0], owner[1]):
            self._dirty[path] = None
            return 1
        return 0

    def poll(self, now: float) -> None:
        """Once a tick: notice the files that grew without a hook saying so."""
        for path in self.tailer.poll(now):
            self._dirty[path] = None

    def pending(self) -> bool:
        return bool(self._dirty) or bool(self.tailer.behind())

    def work(self, now: float, budget: int = READ_CHUNK) -> list[ev.Event]:
        """Read at most `budget` bytes: the files hooks named first, then the backlog.
        Each file is read at most once a call, so a file that gives nothing (it cannot
        be opened, it was deleted) never keeps the caller waiting."""
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
            if not self.tailer.is_watched(path):
                del self._dirty[path]

    def close(self) -> None:
        self.dirwatch.close()

    @property
    def stats(self) -> TailStats:
        return self.tailer.stats
