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
from aitop.log import log
from aitop.providers.base import Decoded, Outcome
from aitop.providers.claude_code import hooks, statusline
from aitop.providers.claude_code.setup import Setup
from aitop.providers.claude_code.transcript import (
    AGENT,
    TranscriptReader,
    recent_transcripts,
    session_of,
    tailer,
)
from aitop.providers.dirwatch import DirWatch
from aitop.providers.follow import FollowedLogs, Queue
from aitop.snapshot import Diagnostic
from aitop.wire import HOOK, STATUSLINE, Envelope

SESSION_FILES_DEPTH = 2  # projects/<project>/<session>.jsonl


class ClaudeCode(FollowedLogs):
    agent = AGENT

    def __init__(
        self, projects_dir: str, setup: Setup | None = None, *, use_inotify: bool = True
    ) -> None:
        self.reader = TranscriptReader()
        self.tailer = tailer(projects_dir, self.reader)
        self.projects_dir = self.tailer.roots[0]
        self.dirwatch = DirWatch(
            self.projects_dir, SESSION_FILES_DEPTH, ".jsonl", use_inotify=use_inotify
        )
        self.watches = (self.dirwatch,)
        self.queue = Queue(self.tailer)
        self.setup = setup
        self._said_outside: set[str] = set()

    # --- hooks ----------------------------------------------------------------------

    def decode(self, payload: bytes, envelope: Envelope, now: float) -> Decoded:
        if envelope.kind == HOOK:
            decoded = hooks.decode(payload, envelope, now)
        elif envelope.kind == STATUSLINE:  # `aitop statusline`: limits and its own figures
            decoded = statusline.decode(payload, envelope, now)
        else:
            return Decoded(Outcome.IGNORED, [], f"a frame of kind {envelope.kind!r}")
        for event in decoded.events:
            self._follow(event)
        return decoded

    def _follow(self, event: ev.Event) -> None:
        """Read the transcripts this event is about, now and while they grow."""
        info = event.session
        if info.transcript_path:
            self.queue.follow(info.transcript_path, info.session_id)
        sub = getattr(event, "subagent_id", None)
        if sub is None:
            return
        path = getattr(event, "transcript_path", None) or hooks.subagent_path(
            info.transcript_path, info.session_id, sub
        )
        if path:
            self.queue.follow(path, info.session_id, sub)

    # --- transcripts ----------------------------------------------------------------

    def backfill(self, now: float, window_s: float = 900.0) -> int:
        """At start-up: follow every transcript modified in the last `window_s`, and
        watch the directories for the ones that change from now on. How many."""
        self.dirwatch.start(now)  # first: a file written during the walk is not missed
        found = 0
        for path in recent_transcripts(self.projects_dir, now - window_s):
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
        return int(self.queue.follow(path, owner[0], owner[1]))

    def diagnostics(self, frames: int) -> list[Diagnostic]:
        """Its set-up, in its own words (see setup.py); `frames`: hook events received."""
        outside = self.tailer.outside
        for root in outside.keys() - self._said_outside:
            self._said_outside.add(root)
            log.warning(
                "Claude Code writes transcripts under %s, outside %s: start aitop with"
                " --claude-dir %s",
                root,
                self.projects_dir,
                root,
            )
        if self.setup is None:
            return []
        return self.setup.diagnostics(frames, self.tailer.stats.files, outside)
