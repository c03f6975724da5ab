"""Which log files changed under a directory tree, without walking the tree each time.

The agents keep every session's log for weeks: tens of thousands of files for a heavy
user. Walking and stat-ing them all every few seconds made an idle aitop cost grow with
the user's history. Instead:

* with inotify (Linux, through ctypes: no dependency), the kernel tells us which files
  were created or written; the cost of a check is one `read()` that finds nothing;
* without it (another system, or no watches left), each check compares the mtimes of
  the directories (a new file changes its directory's mtime; their number grows with
  projects, not sessions), and a full sweep now and then finds files that were only
  appended to (a resumed session).

The files of interest sit `depth` levels below the root (Claude Code's
`projects/<project>/<session>.jsonl`: 2); the directories above them are watched.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct
from collections.abc import Iterator

from aitop.log import log

CHECK_S = 5.0  # without inotify: directory mtimes compared this often
SWEEP_S = 60.0  # without inotify: every file's mtime, this often
MARGIN_S = 2.0  # mtimes have coarse clocks on some file systems: look back a little more
MAX_WATCHED_DIRS = 100_000

_IN_MODIFY = 0x2
_IN_CLOSE_WRITE = 0x8
_IN_MOVED_TO = 0x80
_IN_CREATE = 0x100
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_Q_OVERFLOW = 0x4000
_IN_IGNORED = 0x8000
_IN_ONLYDIR = 0x1000000
_IN_DONT_FOLLOW = 0x2000000
_IN_ISDIR = 0x40000000
_FILE_EVENTS = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE
_DIR_MASK = _FILE_EVENTS | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR | _IN_DONT_FOLLOW
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then the name, NUL-padded
_READ_SIZE = 1 << 16


class _Inotify:
    """The three calls, from the C library already loaded into the interpreter."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._add = libc.inotify_add_watch  # AttributeError where there is none
        self._add.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        self._add.restype = ctypes.c_int
        init = libc.inotify_init1
        init.argtypes = (ctypes.c_int,)
        init.restype = ctypes.c_int
        fd = init(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        self.fd = fd

    def add(self, path: str) -> int:
        wd = int(self._add(self.fd, os.fsencode(path), _DIR_MASK))
        if wd < 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        return wd

    def events(self) -> Iterator[tuple[int, int, bytes]]:
        """(wd, mask, name) of every event queued, without waiting."""
        while True:
            try:
                data = os.read(self.fd, _READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                return
            at = 0
            while at + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, at)
                name = data[at + _EVENT.size : at + _EVENT.size + length].rstrip(b"\0")
                at += _EVENT.size + length
                yield wd, mask, name

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class DirWatch:
    def __init__(
        self, root: str, depth: int, suffix: str | tuple[str, ...], *, use_inotify: bool = True
    ) -> None:
        self.root = root
        self.depth = depth  # of the files, below root
        self.suffix = suffix  # or suffixes
        self._use_inotify = use_inotify
        self._inotify: _Inotify | None = None
        self._dirs: dict[str, int] = {}  # directory -> its depth below root
        self._by_wd: dict[int, str] = {}
        self._mtimes: dict[str, float] = {}  # polled directories -> mtime at last check
        self._started = False
        self._next_check = 0.0
        self._next_sweep = 0.0
        self._last_check = 0.0
        self._last_sweep = 0.0
        self._overflowed = False

    @property
    def mode(self) -> str:
        if not self._started:
            return "not started"
        return "inotify" if self._inotify is not None else "polling"

    def start(self, now: float) -> None:
        """Watch the tree from now on. A root that does not exist yet is looked for at
        every check, and watched from when it appears."""
        if self._use_inotify and self._inotify is None:
            try:
                self._inotify = _Inotify()
            except (AttributeError, OSError) as exc:
                log.info("no inotify (%s): checking %s every %.0f s", exc, self.root, CHECK_S)
        if not os.path.isdir(self.root):
            return
        self._started = True
        self._last_check = self._last_sweep = now
        self._next_check = now + CHECK_S
        self._next_sweep = now + SWEEP_S
        for _ in self._add_tree(self.root, 0, since=None, report=False):
            pass  # only the directories: what is already there is the backfill's

    def close(self) -> None:
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
        self._dirs.clear()
        self._by_wd.clear()
        self._mtimes.clear()
        self._started = False

    def changed(self, now: float) -> list[str]:
        """Files of interest created or written since the last call (maybe a few more:
        the caller skips the ones it already follows)."""
        if not self._started:
            if now >= self._next_check:
                self._next_check = now + CHECK_S
                self.start(now)
                if self._started:  # it appeared: whatever is in it is new
                    return list(self._files_under(self.root, 0, since=None))
            return []
        found: dict[str, None] = {}
        if self._inotify is not None:
            for path in self._drain():
                found[path] = None
        if self._mtimes and now >= self._next_check:
            since = self._last_check - MARGIN_S
            self._last_check, self._next_check = now, now + CHECK_S
            for path in self._check_polled(since):
                found[path] = None
        if self._overflowed or (self._inotify is None and now >= self._next_sweep):
            # the kernel's queue overflowed, or no inotify: look at every file's mtime
            since = self._last_sweep - MARGIN_S
            self._overflowed = False
            self._last_sweep, self._next_sweep = now, now + SWEEP_S
            for path in self._files_under(self.root, 0, since=since):
                found[path] = None
        return list(found)

    # --- directories ------------------------------------------------------------------

    def _add_tree(
        self, directory: str, level: int, since: float | None, report: bool = True
    ) -> Iterator[str]:
        """Watch `directory` and the directories below it down to the files' parents;
        the files of interest found there modified at or after `since` (None: all of
        them, as in a directory that has just appeared), unless not `report`."""
        if level >= self.depth or directory in self._dirs or len(self._dirs) >= MAX_WATCHED_DIRS:
            return
        self._watch(directory, level)
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    yield from self._add_tree(entry.path, level + 1, since, report)
                elif report and self._interesting(entry, level + 1, since):
                    yield entry.path
            except OSError:
                continue

    def _watch(self, directory: str, level: int) -> None:
        self._dirs[directory] = level
        if self._inotify is not None:
            try:
                self._by_wd[self._inotify.add(directory)] = directory
                return
            except OSError as exc:  # ENOSPC: no watches left; the rest is polled
                log.info("cannot watch %s (%s): checking it every %.0f s", directory, exc, CHECK_S)
        try:
            self._mtimes[directory] = os.stat(directory).st_mtime
        except OSError:
            self._mtimes[directory] = 0.0

    def _interesting(self, entry: os.DirEntry[str], level: int, since: float | None) -> bool:
        if level != self.depth or not entry.name.endswith(self.suffix):
            return False
        if not entry.is_file(follow_symlinks=False):
            return False
        return since is None or entry.stat(follow_symlinks=False).st_mtime >= since

    def _files_under(self, directory: str, level: int, since: float | None) -> Iterator[str]:
        """Every file of interest below `directory` (modified at or after `since`),
        watching any directory not watched yet."""
        if directory not in self._dirs:
            yield from self._add_tree(directory, level, since)
            return
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False) and level + 1 < self.depth:
                    yield from self._files_under(entry.path, level + 1, since)
                elif self._interesting(entry, level + 1, since):
                    yield entry.path
            except OSError:
                continue

    def _check_polled(self, since: float) -> Iterator[str]:
        """Polled directories whose mtime moved: a file was added or removed there."""
        for directory, seen in list(self._mtimes.items()):
            try:
                mtime = os.stat(directory).st_mtime
            except OSError:
                self._forget(directory)
                continue
            if mtime != seen:
                self._mtimes[directory] = mtime
                yield from self._files_under(directory, self._dirs[directory], since)

    def _forget(self, directory: str) -> None:
        self._dirs.pop(directory, None)
        self._mtimes.pop(directory, None)

    # --- inotify ----------------------------------------------------------------------

    def _drain(self) -> Iterator[str]:
        assert self._inotify is not None
        for wd, mask, raw in self._inotify.events():
            if mask & _IN_Q_OVERFLOW:
                self._overflowed = True
                continue
            directory = self._by_wd.get(wd)
            if directory is None:
                continue
            if mask & (_IN_IGNORED | _IN_DELETE_SELF | _IN_MOVE_SELF):
                del self._by_wd[wd]
                self._forget(directory)
                continue
            if not raw:
                continue
            path = os.path.join(directory, os.fsdecode(raw))
            level = self._dirs.get(directory, 0) + 1
            if mask & _IN_ISDIR:
                if mask & (_IN_CREATE | _IN_MOVED_TO) and level < self.depth:
                    yield from self._add_tree(path, level, since=None)
            elif level == self.depth and path.endswith(self.suffix):
                yield path
