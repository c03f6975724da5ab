"""Exact token accounting from Codex's rollout files (0.171.0; tests/fixtures/codex).

`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread>.jsonl`, one file per thread
(a subagent gets its own; `exec resume` appends to the same file), each line
`{"timestamp", "ordinal", "type", "payload"}`; rollouts idle for a week become `.jsonl.zst`.
The shared tailer follows them; this reader turns their lines into events. The rules, each
proven against the mock's log of every response (tests/e2e/test_real_codex.py):

1. Every `token_usage_record` once per `(thread_id, response_id)`, globally (forks and
   resumes copy lines), with the model of the last `turn_context` before it in the same
   file. Its usage is OpenAI's: `input_tokens` include the cached ones (and the cache
   writes: `total_tokens` = input + output); reasoning is inside output.
2. A file without records (older Codex): the advances of `token_count`'s cumulative
   `total_token_usage`, only where it grew; never `last_token_usage`, which Codex
   re-emits (summing it is 37-51 % over on the captures).
3. A forked child replays its parent's history first (`subagent_history_start_ordinal`):
   those lines are not its own.
4. A session is the root thread: a subagent's file names it in `session_meta.session_id`.
5. Compactions are ordinary records (unlike Claude Code, nothing is missing); a
   `compacted` line is one compaction. A turn that failed ends in `task_complete.error`:
   an API error (per failed turn). Tool calls are the `item_completed` command and patch
   items, whose ids are the hooks' `tool_use_id`s, with their outcome and duration.
6. Every `token_count` row (with `info` or without) carries `rate_limits`, the plan's
   windows from the API's headers (primary: 300 minutes, secondary: 10080, as
   `window_minutes` says): the plan limits, current at the line's time. They are
   decoded on their own, so that a shape aitop does not expect costs them, not the usage.
`decode_line` is pure: `aitop report` reads the same lines the same way.
"""

from __future__ import annotations

import os
import re
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from aitop import events as ev
from aitop.providers import summary
from aitop.providers.dedup import Dedup, Once
from aitop.providers.tail import ZSTD_SUFFIX, Followed, Tailer
from aitop.providers.timestamps import parse_time
from aitop.surrogates import printable

AGENT = "codex"
VENDOR = "openai"
SUFFIXES = (".jsonl", ".jsonl" + ZSTD_SUFFIX)

Tok = Annotated[int, Meta(ge=0, le=10_000_000)]
Total = Annotated[int, Meta(ge=0, le=10**13)]  # a thread's running total
Id = Annotated[str, Meta(max_length=256)]
Name = Annotated[str, Meta(max_length=256)]
Millis = Annotated[float, Meta(ge=0, le=1e12)]  # a duration
EpochMillis = Annotated[float, Meta(ge=0, le=1e15)]  # a time: ms since 1970


class _Usage(Struct):
    input_tokens: Tok = 0
    cached_input_tokens: Tok = 0
    cache_write_input_tokens: Tok = 0
    output_tokens: Tok = 0
    reasoning_output_tokens: Tok = 0


class _TotalUsage(Struct):
    input_tokens: Total = 0
    cached_input_tokens: Total = 0
    cache_write_input_tokens: Total = 0
    output_tokens: Total = 0
    reasoning_output_tokens: Total = 0
    total_tokens: Total = 0


class _TokenInfo(Struct):
    total_token_usage: _TotalUsage | None = None
    model_context_window: Total | None = None


class _Item(Struct):
    type: Name = ""
    id: Id | None = None
    status: Name | None = None
    exit_code: int | None = None
    command: list[Annotated[str, Meta(max_length=1_000_000)]] | None = None  # a command's
    changes: dict[Annotated[str, Meta(max_length=4096)], msgspec.Raw] | None = None  # patch


class _Error(Struct):
    message: Annotated[str, Meta(max_length=100_000)] = ""


class _Settings(Struct):
    model: Name | None = None
    service_tier: Name | None = None


class _RateWindow(Struct):
    used_percent: Annotated[float, Meta(ge=0, le=1000)]
    window_minutes: Annotated[int, Meta(ge=1, le=10_000_000)] | None = None
    resets_at: Annotated[float, Meta(ge=0, le=1e11)] | None = None  # epoch seconds
    resets_in_seconds: Annotated[float, Meta(ge=0, le=1e9)] | None = None  # older Codex


class _RateLimits(Struct):
    limit_id: Name | None = None
    primary: _RateWindow | None = None
    secondary: _RateWindow | None = None
    plan_type: Name | None = None


_rate_limits_decoder = msgspec.json.Decoder(_RateLimits)
MAIN_LIMIT = "codex"  # the limit every Codex login has; others are named by their id
# a window without its length: Codex's primary is the 5-hour one, its secondary the week
DEFAULT_MINUTES = {"primary": 300, "secondary": 10_080}


class Payload(Struct):
    """The fields aitop reads of every payload kind it uses (the rest is skipped)."""

    type: Name | None = None  # of an event_msg
    # session_meta
    id: Id | None = None
    session_id: Id | None = None
    cwd: Annotated[str, Meta(max_length=4096)] | None = None
    subagent_history_start_ordinal: Annotated[int, Meta(ge=0)] | None = None
    # turn_context
    model: Name | None = None
    # token_usage_record
    thread_id: Id | None = None
    response_id: Id | None = None
    usage: _Usage | None = None
    # event_msg: token_count, task_started, task_complete, item_completed, settings
    info: _TokenInfo | None = None
    model_context_window: Total | None = None
    turn_id: Id | None = None
    duration_ms: Millis | None = None
    time_to_first_token_ms: Millis | None = None
    error: _Error | None = None
    item: _Item | None = None
    started_at_ms: EpochMillis | None = None
    completed_at_ms: EpochMillis | None = None
    thread_settings: _Settings | None = None
    rate_limits: msgspec.Raw = msgspec.Raw()  # token_count's: decoded on its own


class Line(Struct):
    type: Name = ""
    timestamp: Name | None = None
    ordinal: Annotated[int, Meta(ge=0)] | None = None
    payload: Payload | None = None


_line_decoder = msgspec.json.Decoder(Line)

# A line can matter only if it holds one of these; the large ones (response items with
# the conversation, compactions' replacement history) are mostly skipped unparsed: the
# tailer hands the reader only the lines that hold one (see tail.Reader).
MARKERS = (
    b'"session_meta"',
    b'"turn_context"',
    b'"token_usage_record"',
    b'"token_count"',
    b'"task_started"',
    b'"task_complete"',
    b'"CommandExecution"',
    b'"FileChange"',
    b'"thread_settings_applied"',
    b'"compacted"',
)
# the lines that can hold usage, or say how to price it (model, service tier), or whose
# thread it is: enough for spend alone
USAGE_MARKERS = (
    b'"session_meta"',
    b'"turn_context"',
    b'"token_usage_record"',
    b'"token_count"',
    b'"thread_settings_applied"',
)
# The hooks' names for what these items are (PreToolUse's tool_name), so that a call
# reported by both is one row in the Tools tab.
TOOL_NAMES = {"CommandExecution": "Bash", "FileChange": "apply_patch"}


def decode_line(raw: bytes) -> Line | None:
    """One rollout line, decoded (pure); None for a line that is not of the expected shape."""
    try:
        if not raw.isascii():
            raw.decode("utf-8")
        return _line_decoder.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None


def usage_of(raw: _Usage) -> ev.Usage:
    """OpenAI's usage, normalised: the cached and cache-written prompt tokens are taken out
    of `input_tokens` (which holds them), reasoning stays inside output."""
    cached = min(raw.cached_input_tokens, raw.input_tokens)
    written = min(raw.cache_write_input_tokens, raw.input_tokens - cached)
    return ev.Usage(
        input_tokens=raw.input_tokens - cached - written,
        output_tokens=raw.output_tokens,
        cache_read_tokens=cached,
        cache_write_5m_tokens=written,
        reasoning_tokens=min(raw.reasoning_output_tokens, raw.output_tokens),
    )


def _difference(now: _TotalUsage, before: _TotalUsage) -> _Usage:
    return _Usage(
        input_tokens=max(0, now.input_tokens - before.input_tokens),
        cached_input_tokens=max(0, now.cached_input_tokens - before.cached_input_tokens),
        cache_write_input_tokens=max(
            0, now.cache_write_input_tokens - before.cache_write_input_tokens
        ),
        output_tokens=max(0, now.output_tokens - before.output_tokens),
        reasoning_output_tokens=max(
            0, now.reasoning_output_tokens - before.reasoning_output_tokens
        ),
    )


class ReaderStats(Struct):
    requests: int = 0
    duplicate_lines: int = 0
    rejected_lines: int = 0


class _State:
    """What a rollout's earlier lines say about its later ones."""

    __slots__ = (
        "cwd",
        "has_records",
        "last_time",
        "model",
        "own_from",
        "seen_meta",
        "service_tier",
        "thread_id",
        "total",
        "window",
    )

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self.seen_meta = False
        self.own_from = 0  # a forked child's own lines start at this ordinal
        self.cwd: str | None = None
        self.model: str | None = None
        self.window: int | None = None
        self.service_tier: str | None = None
        self.has_records = False  # rule 1 applies; token_count totals are not counted
        self.total = _TotalUsage()  # rule 2: the last cumulative total counted
        self.last_time: float | None = None


class RolloutReader:
    """Codex's rollout lines into events: a `tail.Reader`.

    `usage_only` (the report, the budgets): only the lines that hold usage or say how to
    price it; the same decoding, dedup and events otherwise."""

    def __init__(self, *, dedup: Dedup | None = None, usage_only: bool = False) -> None:
        self.stats = ReaderStats()
        self.dedup = Dedup() if dedup is None else dedup
        self.markers = USAGE_MARKERS if usage_only else MARKERS
        self._once = Once()

    def follow(self, file: Followed) -> None:
        file.state = _State(file.session_id)

    def lines(self, file: Followed, lines: list[bytes], now: float) -> list[ev.Event]:
        """`lines`: the lines of `file` that hold a marker, in order."""
        out: list[ev.Event] = []
        for raw in lines:
            line = decode_line(raw)
            if line is None or line.payload is None:
                self.stats.rejected_lines += 1
                continue
            self._line(file, line, line.payload, now, out)
        return out

    def _line(
        self, file: Followed, line: Line, payload: Payload, now: float, out: list[ev.Event]
    ) -> None:
        state: _State = file.state
        kind = line.type
        if kind == "session_meta":
            self._meta(file, state, payload)
            return
        if line.ordinal is not None and line.ordinal < state.own_from:
            return  # a forked child's copy of its parent's history
        when = self._time(state, line, now)
        if kind == "turn_context":
            state.model = payload.model or state.model
            state.cwd = payload.cwd or state.cwd
        elif kind == "token_usage_record":
            self._record(file, state, payload, when, out)
        elif kind == "compacted":
            if self._once.first(f"compact:{state.thread_id}:{line.ordinal}:{line.timestamp}"):
                # its summary request is a response of the rollout like any other
                out.append(ev.Compacted(self._info(file, state, when), request_logged=True))
        elif kind == "event_msg":
            self._event(file, state, payload, when, out)

    def _meta(self, file: Followed, state: _State, payload: Payload) -> None:
        if state.seen_meta or not payload.id:
            return  # a forked child's second session_meta is its parent's, replayed
        state.seen_meta = True
        state.thread_id = payload.id
        state.own_from = payload.subagent_history_start_ordinal or 0
        state.cwd = payload.cwd
        root = payload.session_id or payload.id
        # the session is the root thread; a subagent's thread is its subagent
        file.session_id = root
        file.subagent_id = payload.id if payload.id != root else None

    def _time(self, state: _State, line: Line, now: float) -> float:
        if line.timestamp:
            state.last_time = parse_time(line.timestamp, now)
            return state.last_time
        return now if state.last_time is None else state.last_time

    def _record(
        self, file: Followed, state: _State, payload: Payload, when: float, out: list[ev.Event]
    ) -> None:
        state.has_records = True
        if payload.usage is None or not payload.response_id:
            return
        thread = payload.thread_id or state.thread_id
        self._request(file, state, thread + "\x1f" + payload.response_id, payload.usage, when, out)

    def _request(
        self,
        file: Followed,
        state: _State,
        key: str,
        raw: _Usage,
        when: float,
        out: list[ev.Event],
    ) -> None:
        counted = self.dedup.add(key, usage_of(raw), file.path)
        if counted is None:
            self.stats.duplicate_lines += 1
            return
        total, previous = counted
        if previous is None:
            self.stats.requests += 1
        out.append(
            ev.Request(
                self._info(file, state, when),
                model=state.model or "gpt-5",  # Codex of Sept 2025 wrote no turn_context
                usage=total,
                previous=previous,
                subagent_id=file.subagent_id,
                sidechain=file.subagent_id is not None,
                service_tier=state.service_tier,
                vendor=VENDOR,
                context_window=state.window,
            )
        )

    def _event(
        self, file: Followed, state: _State, payload: Payload, when: float, out: list[ev.Event]
    ) -> None:
        kind = payload.type
        if kind == "token_count":
            self._limits(file, state, payload, when, out)
            info = payload.info
            if info is None:
                return
            state.window = info.model_context_window or state.window
            totals = info.total_token_usage
            if totals is not None and not state.has_records:
                self._advance(file, state, totals, when, out)
        elif kind == "task_started":
            state.window = payload.model_context_window or state.window
        elif kind == "thread_settings_applied" and payload.thread_settings is not None:
            state.service_tier = payload.thread_settings.service_tier
        elif kind == "task_complete":
            turn = payload.turn_id or ""
            if not self._once.first(f"turn:{state.thread_id}:{turn}"):
                return
            session = self._info(file, state, when)
            if payload.error is not None:
                out.append(ev.ApiError(session, subagent_id=file.subagent_id))
            elif file.subagent_id is None:
                out.append(
                    ev.TurnCompleted(session, payload.duration_ms, payload.time_to_first_token_ms)
                )
        elif kind == "item_completed" and payload.item is not None:
            self._tool(file, state, payload, when, out)

    def _limits(
        self, file: Followed, state: _State, payload: Payload, when: float, out: list[ev.Event]
    ) -> None:
        """Rule 6: the plan's windows as of this line."""
        raw = bytes(payload.rate_limits)
        if raw in (b"", b"null"):
            return
        try:
            limits = _rate_limits_decoder.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            self.stats.rejected_lines += 1
            return
        windows = []
        for name, window in (("primary", limits.primary), ("secondary", limits.secondary)):
            if window is None:
                continue
            resets = window.resets_at
            if resets is None and window.resets_in_seconds is not None:
                resets = when + window.resets_in_seconds
            windows.append(
                ev.LimitWindow(
                    window.window_minutes or DEFAULT_MINUTES[name],
                    min(100.0, window.used_percent),
                    resets,
                )
            )
        if not windows:
            return
        scope = limits.limit_id if limits.limit_id not in (None, MAIN_LIMIT) else None
        out.append(
            ev.PlanLimits(
                self._info(file, state, when), tuple(windows), plan=limits.plan_type, scope=scope
            )
        )

    def _advance(
        self,
        file: Followed,
        state: _State,
        totals: _TotalUsage,
        when: float,
        out: list[ev.Event],
    ) -> None:
        """Rule 2: what the running total grew by, only when it grew."""
        if totals.total_tokens <= state.total.total_tokens:
            return
        spent = _difference(totals, state.total)
        state.total = totals
        key = f"{state.thread_id}\x1ftotal:{totals.total_tokens}"
        self._request(file, state, key, spent, when, out)

    def _tool(
        self, file: Followed, state: _State, payload: Payload, when: float, out: list[ev.Event]
    ) -> None:
        item = payload.item
        assert item is not None
        name = TOOL_NAMES.get(item.type)
        if name is None or not item.id:
            return
        info = self._info(file, state, when)
        duration = None
        if payload.started_at_ms is not None and payload.completed_at_ms is not None:
            duration = max(0.0, payload.completed_at_ms - payload.started_at_ms)
        ok = item.status == "completed" and item.exit_code in (None, 0)
        if item.command:  # ["/bin/bash", "-lc", "the script"]
            said = summary.command(item.command[-1])
        elif item.changes:
            said = summary.clean(", ".join(os.path.basename(path) for path in item.changes))
        else:
            said = None
        out.append(ev.ToolStarted(info, item.id, name, file.subagent_id, summary=said))
        out.append(ev.ToolFinished(info, item.id, name, ok, file.subagent_id, duration))

    def _info(self, file: Followed, state: _State, when: float) -> ev.SessionInfo:
        return ev.SessionInfo(
            agent=AGENT,
            session_id=file.session_id,
            time=when,
            cwd=state.cwd,
            transcript_path=None if file.subagent_id else file.path,
        )


def tailer(
    roots: tuple[str, ...], reader: RolloutReader | None = None, *, history: bool = False
) -> Tailer:
    return Tailer(
        roots,
        SUFFIXES,
        reader or RolloutReader(),
        # history (the report, the budgets) reads whole files once, and shows no line count
        count_lines=not history,
        reuse_buffer=history,
    )


_THREAD = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl")


def thread_of(path: str) -> str | None:
    """The thread id in a rollout's name (`rollout-<time>-<uuid>.jsonl[.zst]`); the file's
    first line says which session it belongs to."""
    name = os.path.basename(path)
    if not name.startswith("rollout-") or not name.endswith(SUFFIXES):
        return None
    found = _THREAD.search(name)
    return found.group(1) if found else printable(name.removesuffix(ZSTD_SUFFIX))


def plain_twin(path: str) -> str | None:
    """For `x.jsonl.zst`, `x.jsonl`: when both exist the plain one is read (Codex writes it
    back out to append to it, and deletes the compressed one after)."""
    return path.removesuffix(ZSTD_SUFFIX) if path.endswith(ZSTD_SUFFIX) else None
