"""Exact token accounting from Claude Code's transcript JSONL files.

Hook payloads carry no token counts; the transcripts do. The shared tailer
(`providers/tail.py`) follows the files by offset and hands this reader their complete
lines. The rules (DESIGN.md, "Accounting"), each with a test:

1. Count every API request once: each content block of a response is its own line,
   all with the same `message.id`, `requestId` and usage. The key is that pair,
   global across files (resumed and forked sessions copy lines); a repeated key whose
   usage grew adds only the difference (`providers/dedup.py`). A prefilter on the raw
   bytes skips lines that cannot matter before any decoding.
2. Place each request at its own `timestamp`, clamped to now.
3. A main-thread answer with a stop reason that ends the turn is a turn.
`decode_line` is pure: `aitop report` reads the same lines the same way.
"""

from __future__ import annotations

import os
import re
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from aitop import events as ev
from aitop.providers.claude_code.tools import ToolInput, summarize
from aitop.providers.dedup import Dedup, Once
from aitop.providers.tail import Followed, Tailer
from aitop.providers.timestamps import parse_time
from aitop.surrogates import printable, without_surrogates

AGENT = "claude-code"
VENDOR = "anthropic"  # whose prices a request is priced at
# A response that ends with any other stop reason ends the turn (Claude Code then runs
# its Stop hook: over every captured session, one Stop per such main-thread response).
_TURN_GOES_ON = frozenset({"tool_use", "pause_turn"})

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
    input: ToolInput | None = None  # tool_use: only what names its target (tools.py)
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


class Line(Struct):
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


_line_decoder = msgspec.json.Decoder(Line)

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


class ReaderStats(Struct):
    requests: int = 0
    duplicate_lines: int = 0
    rejected_lines: int = 0


class _State:
    """What one transcript's earlier lines say about its later ones."""

    __slots__ = ("cwd", "last_input", "last_time", "open_calls")

    def __init__(self) -> None:
        self.cwd: str | None = None
        self.last_time: float | None = None  # for lines that carry no timestamp
        self.open_calls: set[str] = set()  # tool calls started here, awaiting their result
        self.last_input: str | None = None  # the timestamp of the latest user line: the
        # prompt or the tool results the next request sends


class TranscriptReader:
    """Claude Code's transcript lines into events: a `tail.Reader`."""

    def __init__(self, agent: str = AGENT) -> None:
        self.agent = agent
        self.stats = ReaderStats()
        self.dedup = Dedup()
        self._once = Once()  # compaction and API-error line ids already counted

    def follow(self, file: Followed) -> None:
        file.state = _State()

    def lines(self, file: Followed, lines: list[bytes], now: float) -> list[ev.Event]:
        out: list[ev.Event] = []
        for raw in lines:
            if _SENT.search(raw, 0, 400):  # its time only, without decoding it (the key is early)
                stamp = _timestamp(raw)
                if stamp is not None:
                    file.state.last_input = stamp
            if _may_matter(raw):
                line = decode_line(raw)
                if line is None:
                    self.stats.rejected_lines += 1
                else:
                    self._line(file, line, now, out)
        return out

    # --- one line ---------------------------------------------------------------------

    def _line(self, file: Followed, line: Line, now: float, out: list[ev.Event]) -> None:
        state: _State = file.state
        if line.cwd and state.cwd is None:
            state.cwd = line.cwd
        kind = line.type
        if kind == "assistant" and line.message is not None:
            self._assistant(file, line, line.message, now, out)
        elif kind == "user" and line.message is not None:
            self._tool_results(file, line, line.message, now, out)
        elif kind == "system" and line.subtype == "compact_boundary":
            if line.uuid and self._once.first("compact:" + line.uuid):
                meta = line.compactMetadata
                out.append(
                    ev.Compacted(
                        self._info(file, line, now),
                        pre_tokens=meta.preTokens if meta is not None else None,
                    )
                )
        elif kind == "cost-state" and line.totalCostUSD is not None:
            out.append(ev.AgentCostReport(self._info(file, line, now), line.totalCostUSD))

    def _assistant(
        self, file: Followed, line: Line, message: _Message, now: float, out: list[ev.Event]
    ) -> None:
        state: _State = file.state
        if line.isApiErrorMessage or message.model == "<synthetic>":
            if line.isApiErrorMessage and self._once.first(
                "error:" + (message.id or line.uuid or "")
            ):
                out.append(
                    ev.ApiError(self._info(file, line, now), line.apiErrorStatus, file.subagent_id)
                )
            return
        key = message.id + "\x1f" + (line.requestId or "") if message.id else None
        if isinstance(message.content, list):
            # a response first counted from another file was copied here (resume, fork):
            # its tool calls happened there, once
            copied = key is not None and self.dedup.owner(key) not in (None, file.path)
            for block in message.content:
                if block.type == "tool_use" and block.id and block.name and not copied:
                    state.open_calls.add(block.id)
                    out.append(
                        ev.ToolStarted(
                            self._info(file, line, now),
                            block.id,
                            block.name,
                            file.subagent_id,
                            summary=summarize(block.name, block.input),
                        )
                    )
        if message.usage is None or key is None or not message.model:
            return
        counted = self.dedup.add(key, usage_of(message.usage), file.path)
        if counted is None:
            self.stats.duplicate_lines += 1
            return
        total, previous = counted
        if previous is None:
            self.stats.requests += 1
        sidechain = line.isSidechain or file.subagent_id is not None
        info = self._info(file, line, now)
        out.append(
            ev.Request(
                info,
                model=strip_selection(message.model),
                usage=total,
                previous=previous,
                subagent_id=file.subagent_id,
                # older Claude Code wrote subagent turns into the main file, marked so
                sidechain=sidechain,
                speed=message.usage.speed,
                inference_geo=message.usage.inference_geo,
                stop_reason=message.stop_reason,
                vendor=VENDOR,
                started=_sent(state.last_input, info.time) if previous is None else None,
                # its lines are written once the whole answer is in: when aitop follows the
                # file as it grows, the file's time then is when the answer was complete
                answered=file.written if file.live and previous is None else None,
            )
        )
        reason = message.stop_reason
        if (
            previous is None
            and not sidechain
            and reason is not None
            and reason not in _TURN_GOES_ON
        ):
            out.append(ev.TurnCompleted(info))

    def _tool_results(
        self, file: Followed, line: Line, message: _Message, now: float, out: list[ev.Event]
    ) -> None:
        if not isinstance(message.content, list):
            return
        state: _State = file.state
        for block in message.content:
            # only the results of calls this file started: the others are copies
            if block.type == "tool_result" and block.tool_use_id in state.open_calls:
                state.open_calls.discard(block.tool_use_id)
                out.append(
                    ev.ToolFinished(
                        self._info(file, line, now),
                        block.tool_use_id,
                        None,
                        not block.is_error,
                        file.subagent_id,
                    )
                )

    def _info(self, file: Followed, line: Line, now: float) -> ev.SessionInfo:
        state: _State = file.state
        if line.timestamp:
            when = state.last_time = parse_time(line.timestamp, now)
        else:  # e.g. cost-state: it belongs with the line before it
            when = now if state.last_time is None else state.last_time
        return ev.SessionInfo(
            agent=self.agent,
            session_id=file.session_id,
            time=when,
            cwd=state.cwd,
            transcript_path=None if file.subagent_id else file.path,
        )


# a request is sent right after its `api-request` line, its inputs (a prompt, tool
# results) in the `user` lines just before
_SENT = re.compile(rb'"type":"(?:user|api-request)"')
_STAMP = b'"timestamp":"'


def _timestamp(raw: bytes) -> str | None:
    """A line's `timestamp`, read from its bytes."""
    at = raw.find(_STAMP)
    if at < 0:
        return None
    start = at + len(_STAMP)
    end = raw.find(b'"', start, start + 40)
    return raw[start:end].decode("ascii", "replace") if end > 0 else None


def _sent(last_input: str | None, answered: float) -> float | None:
    """When a request was sent: its inputs' line, written just before (Claude Code writes
    the response's lines once its whole answer is in). None when unknown or unlikely."""
    if last_input is None:
        return None
    sent = parse_time(last_input, answered)
    return sent if sent <= answered else None


def tailer(projects_dir: str, reader: TranscriptReader | None = None) -> Tailer:
    """A tailer of Claude Code's transcripts under `projects_dir`."""
    return Tailer((projects_dir,), (".jsonl",), reader or TranscriptReader(), home_of=claude_dir_of)


def decode_line(raw: bytes) -> Line | None:
    """One transcript line, decoded: pure, and None for a line that is not JSON of the
    expected shape (bad UTF-8, nesting too deep, wrong types)."""
    try:
        if not raw.isascii():
            raw.decode("utf-8")  # msgspec checks only the strings it decodes
        try:
            return _line_decoder.decode(raw)
        except msgspec.DecodeError:
            repaired = without_surrogates(raw)
            if repaired is None:
                raise
            return _line_decoder.decode(repaired)
    # msgspec raises UnicodeDecodeError on bad UTF-8 in a field it reads, and
    # RecursionError when nesting goes deeper than it can recurse
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None


def strip_selection(model: str) -> str:
    """`claude-opus-5-5[1m]` (the 1M-context selection) is the model `claude-opus-5-5`."""
    return model.removesuffix("[1m]").removesuffix("[1M]")


# --- finding transcripts on disk (backfill) ------------------------------------------


def session_of(path: str) -> tuple[str, str | None] | None:
    """(session_id, subagent_id) from a transcript's place under the projects dir. A name
    that is not UTF-8 gives an id with `\\xNN` for each such byte (see `printable`)."""
    directory, name = os.path.split(path)
    if not name.endswith(".jsonl"):
        return None
    stem = name[: -len(".jsonl")]
    if os.path.basename(directory) == "subagents" and stem.startswith("agent-"):
        session_dir = os.path.dirname(directory)
        return printable(os.path.basename(session_dir)), printable(stem[len("agent-") :])
    return printable(stem), None


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
