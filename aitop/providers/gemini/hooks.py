"""Gemini CLI hook payloads → aitop events (0.61.0; tests/fixtures/gemini/runs).

Gemini CLI runs `aitop hook --agent gemini` for its 11 hook events, one at a time and
waiting for each. Every payload has `session_id` (the main session's, also for what a
subagent does), `transcript_path` (the session's chat file), `cwd`, `hook_event_name` and
`timestamp`. No token counts (the chat file has them) and no tool call ids. Two events
fire far more often than their names say, and neither is what it sounds like:

* `AfterModel` fires once per streamed CHUNK of a response: a sign of life, never a
  request (the chat file counts each request once);
* `PreCompress` fires before EVERY model turn, whether or not anything is compressed:
  never a compaction.

`BeforeModel` fires once per request attempt of the main chat and of subagents (not for
the model router's classifier), and every `AfterModel` of its answer carries the same
`llm_request`, byte for byte (a retry sends it again), so a `BeforeModel` that no
`AfterModel` answers is a request that failed: the provider counts those
(`Gemini.decode`), as no chat file holds them.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from aitop import events as ev
from aitop.providers import hookjson
from aitop.providers.base import Decoded
from aitop.providers.gemini.chats import AGENT
from aitop.providers.hookjson import Id, Name, Path, decode_hook
from aitop.wire import Envelope

Text = Annotated[str, Meta(max_length=100_000)]


class _Hook(Struct, tag_field="hook_event_name", tag=True, kw_only=True):
    session_id: Id
    transcript_path: Path | None = None
    cwd: Path | None = None
    timestamp: Name | None = None


class SessionStart(_Hook):
    source: Name = "startup"  # startup, resume, clear


class SessionEnd(_Hook):
    reason: Name = "other"  # exit, clear, logout, prompt_input_exit, other


class BeforeAgent(_Hook):
    pass


class AfterAgent(_Hook):
    pass


class BeforeModel(_Hook):
    llm_request: msgspec.Raw = msgspec.Raw()  # kept raw: only hashed, to pair the two


class AfterModel(_Hook):
    llm_request: msgspec.Raw = msgspec.Raw()  # its BeforeModel's, byte for byte


class BeforeToolSelection(_Hook):
    pass


class BeforeTool(_Hook):
    tool_name: Name
    tool_input: msgspec.Raw = msgspec.Raw()  # kept raw: only hashed, to find it in the chat


class AfterTool(_Hook):
    tool_name: Name
    tool_input: msgspec.Raw = msgspec.Raw()


class PreCompress(_Hook):
    trigger: Name = "auto"


class Notification(_Hook):
    notification_type: Name = ""  # "ToolPermission": a tool waits for the user's yes
    message: Text = ""


Payload = (
    SessionStart
    | SessionEnd
    | BeforeAgent
    | AfterAgent
    | BeforeModel
    | AfterModel
    | BeforeToolSelection
    | BeforeTool
    | AfterTool
    | PreCompress
    | Notification
)

# The events `aitop install --agent gemini` registers: all 11 of Gemini CLI 0.61.0's.
HOOK_EVENTS: tuple[str, ...] = tuple(t.__name__ for t in Payload.__args__)
_KNOWN = frozenset(HOOK_EVENTS)
_decoder = msgspec.json.Decoder(Payload)


def decode(payload: bytes) -> Payload | Decoded:
    """The payload, or why it is not one (malformed, or an event aitop does not know)."""
    return decode_hook(payload, _decoder, _KNOWN)


def session_info(hook: Payload, envelope: Envelope, now: float) -> ev.SessionInfo:
    return hookjson.session_info(AGENT, hook, envelope, now)


def to_events(hook: Payload, session: ev.SessionInfo) -> list[ev.Event]:
    """What the payload says by itself (the provider adds what takes several of them)."""
    match hook:
        case SessionStart(source=source):
            return [ev.SessionStarted(session, source)]
        case SessionEnd(reason=reason):
            return [ev.SessionEnded(session, reason=reason)]
        case BeforeAgent():
            return [ev.PromptSubmitted(session)]
        case AfterAgent():
            return [ev.TurnEnded(session)]
        case Notification(notification_type=kind, message=message) if kind == "ToolPermission":
            return [ev.Waiting(session, "permission", message)]
        case BeforeTool(tool_name=name) | AfterTool(tool_name=name):
            # no call id: (tool, input) pairs a call's two hooks; the chat file counts it
            key = f"{name}:{hash(bytes(hook.tool_input))}"
            return [ev.ToolRunning(session, key, name, isinstance(hook, BeforeTool))]
    # the model hooks, PreCompress (no compaction), other notifications
    return [ev.Activity(session)]
