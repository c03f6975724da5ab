"""Follow log files the way `tail -f` does: by byte offset, whole lines only, in slices.

Every agent appends JSON lines to files (Claude Code's transcripts, Codex's rollouts,
Gemini's chat files); this module owns what they have in common, and hands the complete
lines of each file to the agent's `Reader`:

1. Tail, never re-read: a byte offset per file, only appended bytes, only whole lines (a
   partial last line waits for the next read); a file smaller than its offset, or another
   inode under the same path, was replaced: start over (the readers' dedup keeps that
   exact). First sight reads from the start in bounded chunks, so a huge file never
   freezes the loop. A line longer than `max_line` is skipped and counted.
2. Paths arrive in messages, so they are untrusted: absolute, with one of the agent's
   suffixes, under one of its roots after resolving links, a regular file of ours,
   opened `O_NOFOLLOW | O_NONBLOCK`; anything else is refused and counted.
3. A file that cannot be read (another user's, `chmod 000`, deleted mid-read) is counted,
   logged once with the reason and tried again after a doubling wait: never holds a loop.
4. A session's files can be parked (its session left the table) and taken up again from
   their offsets when it comes back.
5. `.zst` files (Codex compresses idle rollouts) are decompressed as they are read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from typing import Any, Protocol

from msgspec import Struct

from aitop import events as ev
from aitop.log import log

READ_CHUNK = 1 << 20
MAX_LINE = 16 << 20  # an assistant line is at most ~1 MB (128k output tokens); skip longer
MAX_FILES = 4096
MAX_PARKED = 20_000  # files of sessions that left the table, kept to resume where they were
MAX_REJECTED = 10_000
MAX_OUTSIDE_HOMES = 16  # a flood of made-up paths cannot grow the count of them
RETRY_FIRST_S = 1.0  # a file that cannot be read is tried again after this, then twice as
RETRY_MAX_S = 60.0  # long each time, up to this
ZSTD_SUFFIX = ".zst"
_ZSTD_SHARE = 8  # compressed bytes read per slice: this fraction of the budget (~10x out)


class TailStats(Struct):
    files: int = 0
    lines: int = 0
    long_lines: int = 0
    unsafe_paths: int = 0
    restarts: int = 0
    bytes_read: int = 0


class Followed:
    """One file followed by offset. `state` is the reader's own, per file; a reader that
    learns the file's session from its content (Codex) may set `session_id`."""

    __slots__ = (
        "caught_up",
        "identity",
        "inflater",
        "live",
        "offset",
        "partial",
        "path",
        "problem",
        "retry_at",
        "session_id",
        "size_seen",
        "skipping",
        "state",
        "subagent_id",
        "wait_s",
        "written",
    )

    def __init__(self, path: str, session_id: str, subagent_id: str | None) -> None:
        self.path = path
        self.session_id = session_id
        self.subagent_id = subagent_id
        self.offset = 0
        self.partial = b""
        self.skipping = False  # inside a line longer than max_line: drop up to its end
        self.identity: tuple[int, int] | None = None  # (st_dev, st_ino)
        self.size_seen = 0  # the size at the last stat: unread bytes = size_seen - offset
        self.problem: str | None = None  # why the last try to read it failed
        self.retry_at = 0.0  # not tried again before this (wall clock), while it fails
        self.wait_s = 0.0  # the last wait before a retry: doubles with each failure
        self.inflater: Any = None  # a zstd decompression stream, for .zst files
        self.state: Any = None
        self.caught_up = False  # a read has reached its end: later bytes are new ones
        self.live = False  # the bytes being handed over were written just now, not before
        self.written = 0.0  # the file's mtime at this read: when its latest bytes were

    def backing_off(self, now: float) -> bool:
        return self.problem is not None and now < self.retry_at


class Reader(Protocol):
    """An agent's reading of its log lines into events (with its own dedup)."""

    def follow(self, file: Followed) -> None:
        """A file is followed from its start: set up its `state`."""
        ...

    def lines(self, file: Followed, lines: list[bytes], now: float) -> list[ev.Event]:
        """Complete lines of `file`, in order: the events they hold."""
        ...


class Tailer:
    """Follows files by byte offset and hands their new lines to a `Reader`."""

    def __init__(
        self,
        roots: tuple[str, ...],
        suffixes: tuple[str, ...],
        reader: Reader,
        max_line: int = MAX_LINE,
        home_of: Callable[[str], str] | None = None,
    ) -> None:
        """`home_of`: the agent directory a log path is in, for paths refused only for
        being outside the roots (the agent writes elsewhere: a user's mismatched
        setting); they are counted by that directory in `outside`."""
        self.roots = tuple(os.path.abspath(root) for root in roots)
        self.suffixes = suffixes
        self.reader = reader
        self.max_line = max_line
        self.home_of = home_of
        self.outside: dict[str, int] = {}
        self.stats = TailStats()
        self._files: dict[str, Followed] = {}
        self._parked: dict[str, Followed] = {}  # files of sessions that left the table
        self._rejected: set[str] = set()
        self._real_roots: tuple[str, ...] | None = None
        self._behind: set[str] = set()  # files known to hold unread bytes

    # --- which files ----------------------------------------------------------------

    def watch(self, path: str, session_id: str, subagent_id: str | None = None) -> bool:
        """Follow `path` for a session. False (and counted once) for an unsafe path."""
        if path in self._files:
            return True
        parked = self._parked.pop(path, None)
        if parked is not None:  # its session is back: go on from where it was left
            self._files[path] = parked
            self.stats.files = len(self._files)
            return True
        if path in self._rejected or not self._plausible(path) or len(self._files) >= MAX_FILES:
            self._note_outside(path)
            self._reject(path)
            return False
        file = Followed(path, session_id, subagent_id)
        self.reader.follow(file)
        self._files[path] = file
        self.stats.files = len(self._files)
        return True

    def park_session(self, session_id: str) -> None:
        """The session left the table: stop polling its files, but keep where each was
        read to, so that if it comes back nothing is read or counted twice."""
        for path in [p for p, f in self._files.items() if f.session_id == session_id]:
            self._parked[path] = self._files.pop(path)
            self._behind.discard(path)
        while len(self._parked) > MAX_PARKED:
            del self._parked[next(iter(self._parked))]  # the longest parked
        self.stats.files = len(self._files)

    def forget_session(self, session_id: str) -> None:
        for table in (self._files, self._parked):
            for path in [p for p, f in table.items() if f.session_id == session_id]:
                del table[path]
                self._behind.discard(path)
        self.stats.files = len(self._files)

    def watched(self) -> list[str]:
        return list(self._files)

    def followed(self, path: str) -> Followed | None:
        return self._files.get(path)

    def is_watched(self, path: str) -> bool:
        return path in self._files or path in self._rejected

    def _plausible(self, path: str) -> bool:
        """The lexical checks; the resolved path is checked again at every read."""
        if not os.path.isabs(path) or not path.endswith(self.suffixes) or "\0" in path:
            return False
        normal = os.path.normpath(path)
        return any(normal.startswith(root + os.sep) for root in self.roots)

    def _note_outside(self, path: str) -> None:
        if self.home_of is None or path in self._rejected:
            return
        if not os.path.isabs(path) or not path.endswith(self.suffixes) or "\0" in path:
            return
        normal = os.path.normpath(path)
        if any(normal.startswith(root + os.sep) for root in self.roots):
            return
        home = self.home_of(path)
        if home in self.outside or len(self.outside) < MAX_OUTSIDE_HOMES:
            self.outside[home] = self.outside.get(home, 0) + 1

    def _reject(self, path: str) -> None:
        if path not in self._rejected:
            if len(self._rejected) < MAX_REJECTED:
                self._rejected.add(path)
            self.stats.unsafe_paths += 1

    def _real(self) -> tuple[str, ...]:
        if self._real_roots is None:
            self._real_roots = tuple(os.path.realpath(root) for root in self.roots)
        return self._real_roots

    # --- reading ----------------------------------------------------------------------

    def backlog(self) -> int:
        """Bytes known to be unread, over all files (from the last stat of each)."""
        return sum(max(0, f.size_seen - f.offset) for f in self._files.values())

    def unreadable(self) -> int:
        """Files that could not be read at their last try (the log says which and why)."""
        return sum(1 for f in self._files.values() if f.problem is not None)

    def behind(self) -> list[str]:
        """Files known to hold unread bytes (a first sight not yet read to the end)."""
        return list(self._behind)

    def is_behind(self, path: str) -> bool:
        return path in self._behind

    def poll(self, now: float) -> list[str]:
        """Stat every watched file; the paths that have unread bytes. A file that could
        not be read waits for its retry time."""
        grown = []
        for path, file in self._files.items():
            if file.backing_off(now):
                continue
            try:
                file.size_seen = os.stat(path).st_size
            except OSError:
                continue
            if file.size_seen != file.offset:  # grown, or shrunk: read() starts over
                grown.append(path)
                self._behind.add(path)
        return grown

    def read(self, path: str, now: float, budget: int = READ_CHUNK) -> list[ev.Event]:
        """Read at most `budget` new bytes of one watched file; the events they hold.
        A file that cannot be read is counted, logged, and left alone until its retry
        time (doubling each failure): it never holds the caller's loop."""
        file = self._files.get(path)
        if file is None or file.backing_off(now):
            self._behind.discard(path)
            return []
        try:
            data = self._read_bytes(file, budget)
        except OSError as exc:
            self._failed(file, exc, now)
            return []
        if file.problem is not None:
            self._recovered(file)
        if file.offset < file.size_seen and path in self._files:
            self._behind.add(path)
        else:
            self._behind.discard(path)
        if not data:
            return []
        lines = self._lines(file, data)
        return self.reader.lines(file, lines, now) if lines else []

    def _read_bytes(self, file: Followed, budget: int) -> bytes:
        """The next bytes of the file (b"" when there are none, or when it was dropped as
        unsafe); OSError when it cannot be read."""
        real = os.path.realpath(file.path)
        if not any(real.startswith(root + os.sep) for root in self._real()):
            self._drop_unsafe(file)
            return b""
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            if file.identity is None and file.size_seen == 0:
                return b""  # not written yet (a hook can name it first): not a problem
            raise
        compressed = file.path.endswith(ZSTD_SUFFIX)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
                self._drop_unsafe(file)
                return b""
            identity = (info.st_dev, info.st_ino)
            if file.identity is not None and (
                identity != file.identity or info.st_size < file.offset
            ):
                # replaced or truncated: start over; the reader's dedup keeps it exact
                file.offset, file.partial, file.skipping, file.inflater = 0, b"", False, None
                file.caught_up = False
                self.stats.restarts += 1
            file.identity = identity
            file.size_seen = info.st_size
            file.live, file.written = file.caught_up, info.st_mtime
            want = min(budget // _ZSTD_SHARE if compressed else budget, info.st_size - file.offset)
            if want <= 0:
                return b""
            data = os.pread(fd, max(1, want), file.offset)
        finally:
            os.close(fd)
        if not data:  # shorter than fstat said a moment ago: cut since; stat it anew
            file.size_seen = file.offset
        file.offset += len(data)
        file.caught_up = file.offset >= info.st_size
        self.stats.bytes_read += len(data)
        return _inflate(file, data) if compressed else data

    def _failed(self, file: Followed, exc: OSError, now: float) -> None:
        first = file.problem is None
        file.problem = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        wait = RETRY_FIRST_S if first else min(RETRY_MAX_S, 2 * file.wait_s)
        file.wait_s = wait
        file.retry_at = now + wait
        self._behind.discard(file.path)
        if first:
            log.warning("cannot read %s: %s; trying again later", file.path, file.problem)
        else:
            log.debug("still cannot read %s: %s", file.path, file.problem)

    def _recovered(self, file: Followed) -> None:
        log.info("%s can be read again", file.path)
        file.problem = None
        file.wait_s = 0.0

    def _drop_unsafe(self, file: Followed) -> None:
        self._files.pop(file.path, None)
        self._behind.discard(file.path)
        self.stats.files = len(self._files)
        self._reject(file.path)

    def _lines(self, file: Followed, data: bytes) -> list[bytes]:
        """The complete lines `data` ends, counted; long ones skipped and counted."""
        start = 0
        if file.skipping:
            end = data.find(b"\n")
            if end < 0:
                return []
            file.skipping = False
            start = end + 1
        last = data.rfind(b"\n")
        if last < start:
            self._keep_partial(file, data[start:])
            return []
        head = file.partial + data[start:last] if file.partial else data[start:last]
        file.partial = b""
        lines = head.split(b"\n")
        self.stats.lines += len(lines)
        if any(len(line) > self.max_line for line in lines):
            kept = [line for line in lines if len(line) <= self.max_line]
            self.stats.long_lines += len(lines) - len(kept)
            lines = kept
        self._keep_partial(file, data[last + 1 :])
        return lines

    def _keep_partial(self, file: Followed, tail: bytes) -> None:
        if len(file.partial) + len(tail) > self.max_line:
            file.partial, file.skipping = b"", True
            self.stats.long_lines += 1
        else:
            file.partial += tail


def _inflate(file: Followed, data: bytes) -> bytes:
    """Decompressed bytes of a .zst file, read a slice at a time."""
    if file.inflater is None:
        import zstandard  # only where a compressed log is met: no start-up cost otherwise

        file.inflater = zstandard.ZstdDecompressor().decompressobj()
    try:
        out: bytes = file.inflater.decompress(data)
    except Exception as exc:  # zstandard.ZstdError: not zstd after all, or cut short
        raise OSError(errno.EILSEQ, f"not a zstd stream: {exc}") from None
    return out
