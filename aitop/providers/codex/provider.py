"""The Codex provider: hook frames and rollouts in, aitop events out.

Rollouts live under `$CODEX_HOME/sessions/YYYY/MM/DD/` (and, once archived, flat in
`$CODEX_HOME/archived_sessions/`), plain or compressed (`.jsonl.zst`: the plain twin wins
when both exist). A hook names the rollout of the thread it is about; a subagent's file
is followed for its root session, which the file's first line names.
"""

from __future__ import annotations

import os

import msgspec

from aitop import events as ev
from aitop.providers.base import Decoded, Outcome
from aitop.providers.codex import hooks
from aitop.providers.codex.history import rollouts
from aitop.providers.codex.rollout import (
    AGENT,
    SUFFIXES,
    RolloutReader,
    plain_twin,
    tailer,
    thread_of,
)
from aitop.providers.dirwatch import DirWatch
from aitop.providers.follow import FollowedLogs, Queue
from aitop.providers.tail import ZSTD_SUFFIX
from aitop.snapshot import Diagnostic
from aitop.wire import HOOK, Envelope

SESSIONS_DEPTH = 4  # sessions/YYYY/MM/DD/rollout-….jsonl
ARCHIVED_DEPTH = 1  # archived_sessions/rollout-….jsonl


class Codex(FollowedLogs):
    agent = AGENT

    def __init__(self, codex_home: str, *, use_inotify: bool = True) -> None:
        home = os.path.abspath(codex_home)
        self.sessions_dir = os.path.join(home, "sessions")
        self.archived_dir = os.path.join(home, "archived_sessions")
        self.reader = RolloutReader()
        self.tailer = tailer((self.sessions_dir, self.archived_dir), self.reader)
        self.queue = Queue(self.tailer)
        self.watches = [
            DirWatch(self.sessions_dir, SESSIONS_DEPTH, SUFFIXES, use_inotify=use_inotify),
            DirWatch(self.archived_dir, ARCHIVED_DEPTH, SUFFIXES, use_inotify=use_inotify),
        ]

    # --- hooks ----------------------------------------------------------------------

    def decode(self, payload: bytes, envelope: Envelope, now: float) -> Decoded:
        if envelope.kind != HOOK:  # Codex has no status line command: its limits are logged
            return Decoded(Outcome.IGNORED, [], f"a frame of kind {envelope.kind!r}")
        decoded = hooks.decode(payload, envelope, now)
        if not decoded.events:
            return decoded
        return decoded._replace(events=[self._follow(event) for event in decoded.events])

    def _follow(self, event: ev.Event) -> ev.Event:
        """Read the rollouts this event is about; a tool event inside a subagent's thread
        (its hook names the subagent's rollout) is the subagent's."""
        info = event.session
        if isinstance(event, ev.SubagentStarted | ev.SubagentStopped) and event.transcript_path:
            self.queue.follow(event.transcript_path, info.session_id, event.subagent_id)
        if not info.transcript_path:
            return event
        self.queue.follow(info.transcript_path, info.session_id)
        followed = self.tailer.followed(info.transcript_path)
        if (
            isinstance(event, ev.ToolStarted | ev.ToolFinished)
            and followed is not None
            and followed.subagent_id is not None
        ):
            return msgspec.structs.replace(event, subagent_id=followed.subagent_id)
        return event

    # --- rollouts -------------------------------------------------------------------

    def backfill(self, now: float, window_s: float = 900.0) -> int:
        for watch in self.watches:
            watch.start(now)  # first: a file written during the walk is not missed
        found = 0
        for root, depth in ((self.sessions_dir, SESSIONS_DEPTH), (self.archived_dir, 1)):
            for path in _recent(root, depth, now - window_s):
                found += self._discovered(path)
        return found

    def discover(self, now: float) -> int:
        found = 0
        for watch in self.watches:
            for path in watch.changed(now):
                found += self._discovered(path)
        return found

    def _discovered(self, path: str) -> int:
        thread = thread_of(path)
        if thread is None or self.tailer.is_watched(path):
            return 0
        twin = plain_twin(path)
        if twin is not None and os.path.exists(twin):
            return 0  # the plain file holds all of it, and more
        return int(self.queue.follow(path, thread))

    def diagnostics(self, frames: int) -> list[Diagnostic]:
        home = os.path.dirname(self.sessions_dir)
        if not os.path.isdir(home):
            return []  # Codex not used here: nothing to say
        followed = self.tailer.stats.files
        text = (
            f"Codex rollouts: following {followed} under {self.sessions_dir}."
            if followed
            else f"Codex rollouts: none written in the last 15 minutes under {self.sessions_dir}."
        )
        return [Diagnostic("codex:rollouts", "info", text)]


def _recent(root: str, depth: int, since: float) -> list[str]:
    """Rollouts `depth` levels below `root` modified at or after `since`, oldest first."""
    found: list[tuple[float, str]] = []
    for entry in rollouts(root, depth):
        try:
            mtime = entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if mtime >= since:
            found.append((mtime, entry.path))
    found.sort(key=lambda item: (item[0], item[1].endswith(ZSTD_SUFFIX)))
    return [path for _, path in found]
