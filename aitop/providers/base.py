"""What an agent's provider is: the one small interface the monitor talks to.

A provider turns its agent's inputs into aitop's events (`aitop.events`): the frames its
hooks (or plugin) send, and the logs the agent writes, read in budgeted slices. Nothing
after this layer knows an agent's field names or file formats. The shared mechanics a
provider calls (not subclasses) live beside this file: `tail.py` (following files by byte
offset), `dedup.py` (each request once), `dirwatch.py` (noticing new files).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import NamedTuple, Protocol

from msgspec import Struct

from aitop import events as ev
from aitop.snapshot import Diagnostic
from aitop.wire import Envelope


class Outcome(enum.Enum):
    OK = "ok"
    IGNORED = "ignored"  # a well-formed event aitop does not use
    MALFORMED = "malformed"


class Decoded(NamedTuple):
    outcome: Outcome
    events: list[ev.Event]
    reason: str = ""  # why it was malformed or ignored (for the debug log)


class Where(NamedTuple):
    """What a provider is made from: its agent's directory (the registry resolves it from
    the option, the environment or the default), the monitor's socket and environment
    (for what it can tell of its own set-up)."""

    directory: str
    socket_path: str
    environ: Mapping[str, str]


class LogStats(Struct, kw_only=True):
    """What a provider has read of its agent's logs (summed over agents in a snapshot)."""

    files: int = 0  # followed now
    lines: int = 0
    requests: int = 0
    duplicate_lines: int = 0
    rejected_lines: int = 0
    long_lines: int = 0
    unsafe_paths: int = 0
    restarts: int = 0
    bytes_read: int = 0


class Provider(Protocol):
    """One agent. Every method takes the time from the caller and never blocks for long:
    `work` reads at most `budget` bytes, and a file that cannot be read never holds it."""

    agent: str  # the envelope's agent name: "claude-code", "codex"

    def decode(self, payload: bytes, envelope: Envelope, now: float) -> Decoded:
        """A hook frame (or plugin event) as events; never raises."""
        ...

    def backfill(self, now: float, window_s: float) -> int:
        """At start-up: follow the logs written in the last `window_s`; how many."""
        ...

    def discover(self, now: float) -> int:
        """Follow logs no hook announced, written since the last call; how many."""
        ...

    def poll(self, now: float) -> None:
        """Once a tick: notice the followed logs that grew."""
        ...

    def pending(self) -> bool:
        """There are bytes to read (the loop then does not sleep)."""
        ...

    def work(self, now: float, budget: int) -> list[ev.Event]:
        """Read at most `budget` bytes; the events they hold."""
        ...

    def park(self, session_id: str) -> None:
        """The session left the table: stop polling its logs, keep where they were read to."""
        ...

    def forget(self, session_id: str) -> None:
        """The session is gone for good."""
        ...

    def stats(self) -> LogStats: ...

    def backlog(self) -> int:
        """Bytes known to be unread."""
        ...

    def unreadable(self) -> int:
        """Logs that could not be read at their last try (the log file says why)."""
        ...

    def watching(self) -> str:
        """How new logs are noticed (for the log file): "inotify", "polling"..."""
        ...

    def diagnostics(self, frames: int) -> list[Diagnostic]:
        """What it can tell of its set-up, in its agent's words: `info` for the empty
        screen, `warning`/`critical` (shown as alerts) for what is wrong, with the fix.
        `frames`: hook events received so far, all agents."""
        ...

    def close(self) -> None: ...
