"""OpenCode's store rows → aitop events (1.18.33; tests/fixtures/opencode/README.md).

OpenCode keeps everything in one SQLite file. The rows aitop reads:

* `message` (`id`, `session_id`, times in ms, `data` JSON): a `role:"assistant"` row is ONE
  API request (one step), written when the request starts with all-zero tokens and
  updated when it ends (`tokens`, `finish`, `time.completed`) or fails (`error`, tokens 0).
  Its `tokens` are that request's usage: `input` = uncached prompt tokens, `cache.read`,
  `cache.write`, `output` WITHOUT reasoning, `reasoning` apart (an OpenAI model's
  reasoning tokens; Anthropic's thinking is inside `output`). `cost` is OpenCode's own
  price for it: 0 for a model without a configured `cost`. A `summary:true` row is a
  compaction's request (counted like any other).
* `part` rows of type `tool` (`tool`, `callID` = the provider's tool-use id, `state`:
  `status` completed|error, `time.start/end`, `metadata.exit` for bash: a non-zero exit is
  `completed` with `exit` set; a tool that threw is `error`).
* `session` (`id`, `parent_id` for a subagent's session, `directory`).

The title request (`small_model`, one per new session) is in no row: aitop cannot count it.
Everything here is pure: the store reader hands in rows and the session they belong to.
"""

from __future__ import annotations

import math
from typing import Annotated, NamedTuple, TypeVar

import msgspec
from msgspec import Meta, Struct

from aitop import events as ev
from aitop.providers.opencode.tools import summarize_raw
from aitop.surrogates import without_surrogates

AGENT = "opencode"
T = TypeVar("T")

Tok = Annotated[int, Meta(ge=0, le=10_000_000)]
Millis = Annotated[float, Meta(ge=0, le=1e14)]
Id = Annotated[str, Meta(max_length=256)]
Name = Annotated[str, Meta(max_length=256)]
Status = Annotated[int, Meta(ge=0, le=999)]
Exit = Annotated[int, Meta(ge=-(2**31), le=2**31)]

# OpenCode's providers whose models aitop prices by that vendor's rules; any other
# provider (a custom one, OpenRouter, OpenCode Zen...) leaves it to the model id
VENDORS = {"anthropic": "anthropic", "openai": "openai", "google": "google"}
# How a request ended (the AI SDK's finish reasons) when the answer goes on after it
_TURN_GOES_ON = frozenset({"tool-calls", "unknown"})
# Errors that are not a failed API request: the user stopped it
_NOT_API_ERRORS = frozenset({"MessageAbortedError"})


class _Cache(Struct):
    read: Tok = 0
    write: Tok = 0


class _Tokens(Struct):
    input: Tok = 0
    output: Tok = 0
    reasoning: Tok = 0
    cache: _Cache | None = None


class _Time(Struct):
    created: Millis | None = None
    completed: Millis | None = None


class _ErrorData(Struct):
    statusCode: Status | None = None


class _Error(Struct):
    name: Name = ""
    data: _ErrorData | None = None


class Message(Struct):
    """The fields aitop reads of a `message` row's `data` (the rest is skipped)."""

    role: Name = ""
    parentID: Id | None = None
    modelID: Name | None = None
    providerID: Name | None = None
    agent: Name | None = None
    cost: float | None = None
    tokens: _Tokens | None = None
    time: _Time | None = None
    finish: Name | None = None
    summary: msgspec.Raw = msgspec.Raw(b"null")  # `true` on a compaction's reply
    error: _Error | None = None

    @property
    def assistant(self) -> bool:
        return self.role == "assistant"

    @property
    def completed_ms(self) -> float | None:
        return self.time.completed if self.time is not None else None

    @property
    def final(self) -> bool:
        """Nothing more will be written to it: it ended or failed."""
        return not self.assistant or self.completed_ms is not None or self.error is not None

    @property
    def compaction(self) -> bool:
        return bytes(self.summary) == b"true"

    @property
    def api_error(self) -> bool:
        return self.error is not None and self.error.name not in _NOT_API_ERRORS


class _ToolTime(Struct):
    start: Millis | None = None
    end: Millis | None = None


class _ToolState(Struct):
    status: Name = ""
    time: _ToolTime | None = None
    metadata: msgspec.Raw = msgspec.Raw(b"null")  # anything; only `exit` is read
    input: msgspec.Raw = msgspec.Raw(b"null")  # only what names what the call works on


class Part(Struct):
    """The fields aitop reads of a `part` row's `data` (tool calls only)."""

    type: Name = ""
    tool: Name | None = None
    callID: Id | None = None
    state: _ToolState | None = None


class _Exit(Struct):
    exit: Exit | None = None


_message_decoder = msgspec.json.Decoder(Message)
_part_decoder = msgspec.json.Decoder(Part)
_exit_decoder = msgspec.json.Decoder(_Exit)


def decode_message(data: bytes) -> Message | None:
    """A `message` row's data (pure); None for one that is not of the expected shape."""
    return _decode(_message_decoder, data)


def decode_part(data: bytes) -> Part | None:
    """A `part` row's data (pure); None for one that is not of the expected shape."""
    return _decode(_part_decoder, data)


def _decode(decoder: msgspec.json.Decoder[T], data: bytes) -> T | None:
    """JavaScript may cut a string inside an emoji and write a lone surrogate escape,
    which msgspec refuses even where it skips: those are mended and tried again."""
    try:
        if not data.isascii():
            data.decode("utf-8")
        return decoder.decode(data)
    except UnicodeDecodeError:
        return None
    except msgspec.DecodeError:
        repaired = without_surrogates(data)
        return None if repaired is None else _decode(decoder, repaired)
    except RecursionError:
        return None


def usage_of(tokens: _Tokens) -> ev.Usage:
    """OpenCode's tokens in aitop's terms: its output leaves reasoning out, aitop's holds it
    (priced once, at the output rate, as OpenCode prices it too)."""
    cache = tokens.cache or _Cache()
    return ev.Usage(
        input_tokens=tokens.input,
        output_tokens=tokens.output + tokens.reasoning,
        cache_read_tokens=cache.read,
        cache_write_5m_tokens=cache.write,
        reasoning_tokens=tokens.reasoning,
    )


def spent(message: Message) -> ev.Usage | None:
    """What the request spent so far, or None while there is nothing to count: a request
    still running (all zero until it ends) or one that failed without usage."""
    usage = usage_of(message.tokens) if message.tokens is not None else ev.ZERO_USAGE
    if usage != ev.ZERO_USAGE:
        return usage
    if message.completed_ms is not None and message.error is None:
        return usage  # it ended and its provider reported nothing: still a request
    return None


def own_cost(message: Message) -> float:
    """OpenCode's price of the request (0 when the model has none configured)."""
    cost = message.cost
    if cost is None or not math.isfinite(cost) or cost < 0:
        return 0.0
    return cost


def stop_reason(finish: str | None) -> str | None:
    return "max_tokens" if finish == "length" else finish


def ends_turn(message: Message) -> bool:
    """The main thread's answer is done: a final reply that is not a compaction's."""
    return (
        message.assistant
        and message.completed_ms is not None
        and message.error is None
        and not message.compaction
        and message.finish is not None
        and message.finish not in _TURN_GOES_ON
    )


class Where(NamedTuple):
    """Which aitop session a row is part of: its root session's info, and the subagent
    (the row's own session) when it is a child's."""

    info: ev.SessionInfo
    subagent_id: str | None


def request(
    message: Message, where: Where, usage: ev.Usage, previous: ev.Usage | None
) -> ev.Request:
    provider = message.providerID or ""
    return ev.Request(
        where.info,
        model=message.modelID or "unknown",
        usage=usage,
        previous=previous,
        subagent_id=where.subagent_id,
        sidechain=where.subagent_id is not None,
        stop_reason=stop_reason(message.finish),
        vendor=VENDORS.get(provider),
    )


def tool_events(part: Part, where: Where, now: float) -> list[ev.Event]:
    """A tool call of the store: started, and finished once it has ended, each at its own
    time (clamped to `now`)."""
    if part.type != "tool" or not part.callID or part.state is None:
        return []
    state = part.state
    times = state.time or _ToolTime()
    info = where.info
    started_at = seconds(times.start, now) if times.start is not None else info.time
    events: list[ev.Event] = [
        ev.ToolStarted(
            msgspec.structs.replace(info, time=started_at),
            part.callID,
            part.tool or "(unknown)",
            where.subagent_id,
            summary=summarize_raw(part.tool or "", bytes(state.input)),
        )
    ]
    if state.status not in ("completed", "error"):
        return events
    ok = state.status == "completed" and exit_code(state.metadata) in (None, 0)
    duration = None
    if times.start is not None and times.end is not None:
        duration = max(0.0, times.end - times.start)
    ended_at = seconds(times.end, now) if times.end is not None else started_at
    events.append(
        ev.ToolFinished(
            msgspec.structs.replace(info, time=ended_at),
            part.callID,
            part.tool or None,
            ok,
            where.subagent_id,
            duration,
        )
    )
    return events


def seconds(millis: float, now: float) -> float:
    """A store time (ms since the epoch) as aitop's (s), never later than `now`."""
    return min(now, millis / 1000.0)


def exit_code(metadata: msgspec.Raw) -> int | None:
    """A bash call's exit status, where its metadata says one (anything else: None)."""
    raw = bytes(metadata)
    if b'"exit"' not in raw:
        return None
    try:
        return _exit_decoder.decode(raw).exit
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
