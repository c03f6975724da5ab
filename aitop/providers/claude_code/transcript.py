"""Exact token accounting from Claude Code's transcript JSONL files.

Hook payloads carry no token counts; the transcripts do. The rules (DESIGN.md,
"Accounting"), each with a test:

1. Tail, never re-read: a byte offset per file, only appended bytes, only whole lines
   (a partial last line waits for the next read); a file smaller than its offset, or
   another inode under the same path, was replaced: start over (dedup keeps that
   exact). First sight reads from the start in bounded chunks, so a huge transcript
   never freezes the loop.
2. Count every API request once: each content block of a response is its own line,
   all with the same `message.id`, `requestId` and usage. The key is that pair,
   global across files (resumed and forked sessions copy lines); a repeated key whose
   usage grew adds only the difference. A prefilter on the raw bytes skips lines that
   cannot matter before any decoding.
3. Place each request at its own `timestamp`, clamped to now.
Paths arrive in messages, so they are untrusted: absolute, `.jsonl`, a regular file
owned by us, under the Claude projects directory after resolving links.
"""

from __future__ import annotations

import os
import stat
from collections import OrderedDict
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from aitop import events as ev
from aitop.surrogates import without_surrogates

AGENT = "claude-code"
MAX_LINE = 16 << 20  # an assistant line is at most ~1 MB (128k output tokens); skip longer
READ_CHUNK = 1 << 20
MAX_FILES = 4096
MAX_SEEN_KEYS = 2_000_000  # ~one per API request ever read; far beyond any real history

Tok = Annotated[int, Meta(ge=0, le=10_000_000)]
Id = Annotated[str, Meta(max_length=128)]
Name = Annotated[str, Meta(max_length=256)]


class _CacheCreation(Struct):
    ephemeral_5m_input_tokens: Tok = 0
    ephemeral_1h_input_tokens: Tok = 0


class _Usage(Struct):
    input_tokens: Tok = 0
    output_tokens: Tok = 0
    cache_creation_input_tokens: Tok = 0
    cache_read_input_tokens: Tok = 0
    cache_creation: _CacheCreation | None = None
    speed: Name | None = None
    inference_geo: Name | None = None


class _Block(Struct):
    type: Name = ""
    id: Id | None = None  # tool_use
    name: Name | None = None  # tool_use
    tool_use_id: Id | None = None  # tool_result
    is_error: bool | None = None  # tool_result


class _Message(Struct):
    id: Id | None = None
    model: Name | None = None
    usage: _Usage | None = None
    stop_reason: Name | None = None
    content: str | list[_Block] | None = None


class _CompactMetadata(Struct):
    preTokens: Annotated[int, Meta(ge=0)] | None = None


class _Line(Struct):
    type: Name = ""
    subtype: Name | None = None
    message: _Message | None = None
    requestId: Id | None = None
    timestamp: Name | None = None
    uuid: Id | None = None
    isSidechain: bool = False
    isApiErrorMessage: bool = False
    apiErrorStatus: int | None = None
    cwd: Annotated[str, Meta(max_length=4096)] | None = None
    totalCostUSD: Annotated[float, Meta(ge=0, le=1e9)] | None = None
    compactMetadata: _CompactMetadata | None = None


_line_decoder = msgspec.json.Decoder(_Line)

# A line can matter only if it holds one of these; everything else (the large
# api-request-shape and file-history-snapshot lines among them) is skipped unparsed.
_MARKERS = (b'"assistant"', b'"tool_result"', b'"cost-state"', b'"compact_boundary"')


def _may_matter(line: bytes) -> bool:
    return any(marker in line for marker in _MARKERS)


def usage_of(raw: _Usage) -> ev.Usage:
    cache = raw.cache_creation
    if cache is not None and (cache.ephemeral_5m_input_tokens or cache.ephemeral_1h_input_tokens):
        write_5m, write_1h = cache.ephemeral_5m_input_tokens, cache.ephemeral_1h_input_tokens
    else:  # no split given: all cache writes are 5-minute ones
        write_5m, write_1h = raw.cache_creation_input_tokens, 0
    return ev.Usage(
        input_tokens=raw.input_tokens,
        output_tokens=raw.output_tokens,
        cache_read_tokens=raw.cache_read_input_tokens,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
    )


def parse_time(text: str | None, now: float) -> float:
    """The line's own time, clamped to now; now when missing or unreadable."""
    if not text:
        return now
    try:
        when = datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        return now
    return min(when, now)


class TailStats(Struct):
    files: int = 0
    lines: int = 0
    requests: int = 0
    duplicate_lines: int = 0
    rejected_lines: int = 0
    long_lines: int = 0
    unsafe_paths: int = 0
    restarts: int = 0
    bytes_read: int = 0


class _File:
    __slots__ = (
        "cwd",
        "identity",
        "last_time",
        "offset",
        "open_calls",
        "partial",
        "path",
        "session_id",
        "size_seen",
        "skipping",
        "subagent_id",
    )

    def __init__(self, path: str, session_id: str, subagent_id: str | None) -> None:
        self.path = path
        self.session_id = session_id
        self.subagent_id = subagent_id
        self.offset = 0
        self.partial = b""
        self.skipping = False  # inside a line longer than MAX_LINE: drop up to its end
        self.identity: tuple[int, int] | None = None  # (st_dev, st_ino)
        self.size_seen = 0  # the size at the last stat: unread bytes = size_seen - offset
        self.cwd: str | None = None
        self.last_time: float | None = None  # for lines that carry no timestamp
        self.open_calls: set[str] = set()  # tool calls started here, awaiting their result


class Dedup:
    """Usage already counted per (message.id, requestId), global across files, and the
    file that first counted it (a resumed or forked session copies lines into another)."""

    def __init__(self, limit: int = MAX_SEEN_KEYS) -> None:
        self._seen: OrderedDict[str, tuple[ev.Usage, str]] = OrderedDict()
        self._limit = limit

    def add(
        self, key: str, usage: ev.Usage, owner: str = ""
    ) -> tuple[ev.Usage, ev.Usage | None] | None:
        """(total, previous) when the key brings something new; None for a pure copy."""
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = (usage, owner)
            if len(self._seen) > self._limit:
                self._seen.popitem(last=False)
            return usage, None
        previous, first_owner = seen
        if previous.covers(usage):
            return None
        total = previous.union(usage)
        self._seen[key] = (total, first_owner)
        return total, previous

    def owner(self, key: str) -> str | None:
        """The file that first counted `key`, if any did."""
        seen = self._seen.get(key)
        return None if seen is None else seen[1]

    def __len__(self) -> int:
        return len(self._seen)


class Tailer:
    """Follows transcript files by byte offset and turns new lines into events."""

    def __init__(self, projects_dir: str, agent: str = AGENT, max_line: int = MAX_LINE) -> None:
        self.projects_dir = os.path.abspath(projects_dir)
        self.agent = agent
        self.max_line = max_line
        self.stats = TailStats()
        self.dedup = Dedup()
        self._files: dict[str, _File] = {}
        self._rejected: set[str] = set()
        self._real_root: str | None = None
        self._once: set[str] = set()  # compaction and API-error line ids already counted
        self._behind: set[str] = set()  # files known to hold unread bytes
        # transcripts refused only for being outside the projects directory, by the Claude
        # directory they are in: the agent writes elsewhere (another CLAUDE_CONFIG_DIR)
        self.outside: dict[str, int] = {}

    # --- which files ----------------------------------------------------------------

    def watch(self, path: str, session_id: str, subagent_id: str | None = None) -> bool:
        """Follow `path` for a session. False (and counted once) for an unsafe path."""
        known = self._files.get(path)
        if known is not None:
            return True
        if path in self._rejected or not self._plausible(path) or len(self._files) >= MAX_FILES:
            self._note_outside(path)
            self._reject(path)
            return False
        self._files[path] = _File(path, session_id, subagent_id)
        self.stats.files = len(self._files)
        return True

    def forget_session(self, session_id: str) -> None:
        for path in [p for p, f in self._files.items() if f.session_id == session_id]:
            del self._files[path]
            self._behind.discard(path)
        self.stats.files = len(self._files)

    def watched(self) -> list[str]:
        return list(self._files)

    def is_watched(self, path: str) -> bool:
        return path in self._files or path in self._rejected

    def _plausible(self, path: str) -> bool:
        """The lexical checks; the resolved path is checked again at every read."""
        if not os.path.isabs(path) or not path.endswith(".jsonl") or "\0" in path:
            return False
        normal = os.path.normpath(path)
        return normal.startswith(self.projects_dir + os.sep)

    def _note_outside(self, path: str) -> None:
        if path in self._rejected:
            return
        if not os.path.isabs(path) or not path.endswith(".jsonl") or "\0" in path:
            return
        if os.path.normpath(path).startswith(self.projects_dir + os.sep):
            return
        root = claude_dir_of(path)
        if root in self.outside or len(self.outside) < 16:  # a flood of made-up paths: bounded
            self.outside[root] = self.outside.get(root, 0) + 1

    def _reject(self, path: str) -> None:
        if path not in self._rejected:
            if len(self._rejected) < 10_000:
                self._rejected.add(path)
            self.stats.unsafe_paths += 1

    def _root(self) -> str:
        if self._real_root is None:
            self._real_root = os.path.realpath(self.projects_dir)
        return self._real_root

    # --- reading ----------------------------------------------------------------------

    def backlog(self) -> int:
        """Bytes known to be unread, over all files (from the last stat of each)."""
        return sum(max(0, f.size_seen - f.offset) for f in self._files.values())

    def behind(self) -> list[str]:
        """Files known to hold unread bytes (a first sight not yet read to the end)."""
        return list(self._behind)

    def is_behind(self, path: str) -> bool:
        return path in self._behind

    def poll(self) -> list[str]:
        """Stat every watched file; the paths that have unread bytes."""
        grown = []
        for path, state in self._files.items():
            try:
                state.size_seen = os.stat(path).st_size
            except OSError:
                continue
            if state.size_seen != state.offset:  # grown, or shrunk: read() starts over
                grown.append(path)
                self._behind.add(path)
        return grown

    def read(self, path: str, now: float, budget: int = READ_CHUNK) -> list[ev.Event]:
        """Read at most `budget` new bytes of one watched file; the events they hold."""
        state = self._files.get(path)
        if state is None:
            self._behind.discard(path)
            return []
        data = self._read_bytes(state, budget)
        if state.offset < state.size_seen and path in self._files:
            self._behind.add(path)
        else:
            self._behind.discard(path)
        if not data:
            return []
        return self._lines(state, data, now)

    def _read_bytes(self, state: _File, budget: int) -> bytes:
        real = os.path.realpath(state.path)
        if not real.startswith(self._root() + os.sep):
            self._drop_unsafe(state)
            return b""
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return b""  # not there yet, or gone: try again later
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
                self._drop_unsafe(state)
                return b""
            identity = (info.st_dev, info.st_ino)
            if state.identity is not None and (
                identity != state.identity or info.st_size < state.offset
            ):
                # replaced or truncated: start over; dedup keeps the counts exact
                state.offset, state.partial, state.skipping = 0, b"", False
                self.stats.restarts += 1
            state.identity = identity
            state.size_seen = info.st_size
            want = min(budget, info.st_size - state.offset)
            if want <= 0:
                return b""
            data = os.pread(fd, want, state.offset)
        except OSError:
            return b""
        finally:
            os.close(fd)
        state.offset += len(data)
        self.stats.bytes_read += len(data)
        return data

    def _drop_unsafe(self, state: _File) -> None:
        self._files.pop(state.path, None)
        self._behind.discard(state.path)
        self.stats.files = len(self._files)
        self._reject(state.path)

    def _lines(self, state: _File, data: bytes, now: float) -> list[ev.Event]:
        out: list[ev.Event] = []
        start = 0
        if state.skipping:
            end = data.find(b"\n")
            if end < 0:
                return out
            state.skipping = False
            start = end + 1
        last = data.rfind(b"\n")
        if last < start:
            self._keep_partial(state, data[start:])
            return out
        head = state.partial + data[start:last] if state.partial else data[start:last]
        state.partial = b""
        for line in head.split(b"\n"):
            self.stats.lines += 1
            if len(line) > self.max_line:
                self.stats.long_lines += 1
                continue
            if _may_matter(line):
                self._line(state, line, now, out)
        self._keep_partial(state, data[last + 1 :])
        return out

    def _keep_partial(self, state: _File, tail: bytes) -> None:
        if len(state.partial) + len(tail) > self.max_line:
            state.partial, state.skipping = b"", True
            self.stats.long_lines += 1
        else:
            state.partial += tail

    # --- one line ---------------------------------------------------------------------

    def _line(self, state: _File, raw: bytes, now: float, out: list[ev.Event]) -> None:
        try:
            if not raw.isascii():
                raw.decode("utf-8")  # msgspec checks only the strings it decodes
            try:
                line = _line_decoder.decode(raw)
            except msgspec.DecodeError:
                repaired = without_surrogates(raw)
                if repaired is None:
                    raise
                line = _line_decoder.decode(repaired)
        # msgspec raises UnicodeDecodeError on bad UTF-8 in a field it reads, and
        # RecursionError when nesting goes deeper than it can recurse
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            self.stats.rejected_lines += 1
            return
        if line.cwd and state.cwd is None:
            state.cwd = line.cwd
        kind = line.type
        if kind == "assistant" and line.message is not None:
            self._assistant(state, line, line.message, now, out)
        elif kind == "user" and line.message is not None:
            self._tool_results(state, line, line.message, now, out)
        elif kind == "system" and line.subtype == "compact_boundary":
            if line.uuid and self._first_time("compact:" + line.uuid):
                meta = line.compactMetadata
                out.append(
                    ev.Compacted(
                        self._info(state, line, now),
                        pre_tokens=meta.preTokens if meta is not None else None,
                    )
                )
        elif kind == "cost-state" and line.totalCostUSD is not None:
            out.append(ev.AgentCostReport(self._info(state, line, now), line.totalCostUSD))

    def _assistant(
        self, state: _File, line: _Line, message: _Message, now: float, out: list[ev.Event]
    ) -> None:
        if line.isApiErrorMessage or message.model == "<synthetic>":
            if line.isApiErrorMessage and self._first_time(
                "error:" + (message.id or line.uuid or "")
            ):
                out.append(
                    ev.ApiError(
                        self._info(state, line, now), line.apiErrorStatus, state.subagent_id
                    )
                )
            return
        key = message.id + "\x1f" + (line.requestId or "") if message.id else None
        if isinstance(message.content, list):
            # a response first counted from another file was copied here (resume, fork):
            # its tool calls happened there, once
            copied = key is not None and self.dedup.owner(key) not in (None, state.path)
            for block in message.content:
                if block.type == "tool_use" and block.id and block.name and not copied:
                    state.open_calls.add(block.id)
                    out.append(
                        ev.ToolStarted(
                            self._info(state, line, now), block.id, block.name, state.subagent_id
                        )
                    )
        if message.usage is None or key is None or not message.model:
            return
        counted = self.dedup.add(key, usage_of(message.usage), state.path)
        if counted is None:
            self.stats.duplicate_lines += 1
            return
        total, previous = counted
        if previous is None:
            self.stats.requests += 1
        out.append(
            ev.Request(
                self._info(state, line, now),
                model=message.model,
                usage=total,
                previous=previous,
                subagent_id=state.subagent_id,
                # older Claude Code wrote subagent turns into the main file, marked so
                sidechain=line.isSidechain or state.subagent_id is not None,
                speed=message.usage.speed,
                inference_geo=message.usage.inference_geo,
                stop_reason=message.stop_reason,
            )
        )

    def _tool_results(
        self, state: _File, line: _Line, message: _Message, now: float, out: list[ev.Event]
    ) -> None:
        if not isinstance(message.content, list):
            return
        for block in message.content:
            # only the results of calls this file started: the others are copies
            if block.type == "tool_result" and block.tool_use_id in state.open_calls:
                state.open_calls.discard(block.tool_use_id)
                out.append(
                    ev.ToolFinished(
                        self._info(state, line, now),
                        block.tool_use_id,
                        None,
                        not block.is_error,
                        state.subagent_id,
                    )
                )

    def _first_time(self, key: str) -> bool:
        if key in self._once:
            return False
        if len(self._once) < 1_000_000:
            self._once.add(key)
        return True

    def _info(self, state: _File, line: _Line, now: float) -> ev.SessionInfo:
        if line.timestamp:
            when = state.last_time = parse_time(line.timestamp, now)
        else:  # e.g. cost-state: it belongs with the line before it
            when = now if state.last_time is None else state.last_time
        return ev.SessionInfo(
            agent=self.agent,
            session_id=state.session_id,
            time=when,
            cwd=state.cwd,
            transcript_path=None if state.subagent_id else state.path,
        )


# --- finding transcripts on disk (backfill) ------------------------------------------


def session_of(path: str) -> tuple[str, str | None] | None:
    """(session_id, subagent_id) from a transcript's place under the projects dir."""
    directory, name = os.path.split(path)
    if not name.endswith(".jsonl"):
        return None
    stem = name[: -len(".jsonl")]
    if os.path.basename(directory) == "subagents" and stem.startswith("agent-"):
        session_dir = os.path.dirname(directory)
        return os.path.basename(session_dir), stem[len("agent-") :]
    return stem, None


def claude_dir_of(path: str) -> str:
    """The Claude directory a transcript is in: `<dir>/projects/<project>/<session>.jsonl`
    (or a subagent's file below the session); else the transcript's own directory."""
    parts = os.path.normpath(path).split(os.sep)
    for depth in (3, 5):  # a session's file, a subagent's
        if len(parts) > depth and parts[-depth] == "projects":
            return os.sep.join(parts[:-depth]) or os.sep
    return os.path.dirname(path)


def recent_transcripts(projects_dir: str, since: float) -> list[str]:
    """Transcripts (main and subagent files) modified at or after `since`, oldest first."""
    found: list[tuple[float, str]] = []
    try:
        projects = list(os.scandir(projects_dir))
    except OSError:
        return []
    for project in projects:
        if not project.is_dir(follow_symlinks=False):
            continue
        try:
            entries = list(os.scandir(project.path))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and entry.name.endswith(".jsonl"):
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                    if mtime >= since:
                        found.append((mtime, entry.path))
                elif entry.is_dir(follow_symlinks=False):
                    found.extend(_recent_subagents(entry.path, since))
            except OSError:
                continue
    found.sort()
    return [path for _, path in found]


def _recent_subagents(session_dir: str, since: float) -> list[tuple[float, str]]:
    found = []
    try:
        entries = list(os.scandir(os.path.join(session_dir, "subagents")))
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith("agent-") and entry.name.endswith(".jsonl"):
            try:
                if entry.is_file(follow_symlinks=False):
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                    if mtime >= since:
                        found.append((mtime, entry.path))
            except OSError:
                continue
    return found
