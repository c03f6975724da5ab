"""The Claude Code provider: hook frames and transcripts in, aitop events out.

It knows which transcript files belong to which session (the hook's
`transcript_path`, and the subagent files next to it), reads the ones a hook just
named, polls the others each tick, and backfills recent ones at start-up. Reading is
done in slices so that a large first read never holds up the loop.
"""

from __future__ import annotations

from aitop import events as ev
from aitop.log import log
from aitop.providers.claude_code import hooks
from aitop.providers.claude_code.setup import Setup
from aitop.providers.claude_code.transcript import (
    READ_CHUNK,
    Tailer,
    TailStats,
    recent_transcripts,
    session_of,
)
from aitop.snapshot import Diagnostic
from aitop.wire import Envelope

AGENTS = ("claude-code", "codex")  # Codex hooks share Claude Code's field names


class ClaudeCode:
    def __init__(self, projects_dir: str, setup: Setup | None = None) -> None:
        self.tailer = Tailer(projects_dir)
        self._dirty: dict[str, None] = {}  # ordered set: files a hook has just named
        self.setup = setup
        self._said_outside: set[str] = set()

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

    def discover(self, now: float, window_s: float = 900.0) -> int:
        """Follow every transcript modified in the last `window_s` that is not followed
        yet: at start-up (backfill), and now and then for sessions no hook announced
        (hooks not installed, or installed after the session started). How many."""
        found = 0
        for path in recent_transcripts(self.tailer.projects_dir, now - window_s):
            owner = session_of(path)
            if owner is None or self.tailer.is_watched(path):
                continue
            if self.tailer.watch(path, owner[0], owner[1]):
                self._dirty[path] = None
                found += 1
        return found

    def poll(self) -> None:
        """Once a tick: notice the files that grew without a hook saying so."""
        for path in self.tailer.poll():
            self._dirty[path] = None

    def pending(self) -> bool:
        return bool(self._dirty) or bool(self.tailer.behind())

    def work(self, now: float, budget: int = READ_CHUNK) -> list[ev.Event]:
        """Read at most `budget` bytes: the files hooks named first, then the backlog."""
        for path in self.tailer.behind():
            self._dirty.setdefault(path, None)
        events: list[ev.Event] = []
        start = self.tailer.stats.bytes_read
        while self._dirty:
            left = budget - (self.tailer.stats.bytes_read - start)
            if left <= 0:
                break
            path = next(iter(self._dirty))
            del self._dirty[path]
            events.extend(self.tailer.read(path, now, left))
            if self.tailer.is_behind(path):
                self._dirty[path] = None  # to the back of the queue: fair to the others
        return events

    def forget(self, session_id: str) -> None:
        self.tailer.forget_session(session_id)

    @property
    def stats(self) -> TailStats:
        return self.tailer.stats

    def diagnostics(self, frames: int) -> list[Diagnostic]:
        """Its set-up, in its own words (see setup.py); `frames`: hook events received."""
        outside = self.tailer.outside
        for root in outside.keys() - self._said_outside:
            self._said_outside.add(root)
            log.warning(
                "Claude Code writes transcripts under %s, outside %s: start aitop with"
                " --claude-dir %s",
                root,
                self.tailer.projects_dir,
                root,
            )
        if self.setup is None:
            return []
        return self.setup.diagnostics(frames, self.tailer.stats.files, outside)
