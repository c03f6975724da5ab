"""Claude Code hook payloads → aitop events.

One tagged union on `hook_event_name`, one module-level decoder. Only the fields aitop
reads are declared: everything else is skipped, which is fast and tolerant of the
fields Claude Code adds. Constraints live in the types, so a wrong type, an over-long
id or an absurd number is a `msgspec.ValidationError` like any malformed JSON.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from aitop import events as ev
from aitop.providers.base import Decoded, Outcome
from aitop.providers.claude_code import tools
from aitop.providers.claude_code.transcript import AGENT, strip_selection
from aitop.providers.hookjson import Id, Name, Path, decode_hook, session_info
from aitop.wire import Envelope

Text = Annotated[str, Meta(max_length=4096)]
Millis = Annotated[float, Meta(ge=0, le=1e10)]


class _Hook(Struct, tag_field="hook_event_name", tag=True, kw_only=True):
    session_id: Id
    transcript_path: Path | None = None
    cwd: Path | None = None
    agent_id: Id | None = None  # present only when the hook fires inside a subagent


class SessionStart(_Hook):
    source: Name = "startup"
    model: Name | None = None


class SessionEnd(_Hook):
    reason: Name = "other"


class UserPromptSubmit(_Hook):
    pass


class PreToolUse(_Hook):
    tool_name: Name
    tool_use_id: Id
    tool_input: msgspec.Raw = msgspec.Raw()  # kept raw: only hashed, to spot repeats


class PostToolUse(_Hook):
    tool_name: Name
    tool_use_id: Id
    duration_ms: Millis | None = None


class PostToolUseFailure(_Hook):
    tool_name: Name
    tool_use_id: Id
    duration_ms: Millis | None = None
    is_interrupt: bool = False


class _BackgroundTask(Struct):
    status: Name = ""


class Stop(_Hook):
    background_tasks: Annotated[list[_BackgroundTask], Meta(max_length=1024)] | None = None


class StopFailure(_Hook):
    error: Text = ""


class SubagentStart(_Hook):
    agent_type: Name = ""


class SubagentStop(_Hook):
    agent_type: Name = ""
    agent_transcript_path: Path | None = None


class PreCompact(_Hook):
    trigger: Name = "manual"


class PostCompact(_Hook):
    trigger: Name = "manual"


class Notification(_Hook):
    notification_type: Name = ""
    message: Text = ""


class PostModelSwitch(_Hook):
    to_model: Name


Payload = (
    SessionStart
    | SessionEnd
    | UserPromptSubmit
    | PreToolUse
    | PostToolUse
    | PostToolUseFailure
    | Stop
    | StopFailure
    | SubagentStart
    | SubagentStop
    | PreCompact
    | PostCompact
    | Notification
    | PostModelSwitch
)

# The events aitop uses, in the order `aitop install` registers them. The one list:
# derived from the union, so the decoder and the installer cannot drift apart.
HOOK_EVENTS: tuple[str, ...] = tuple(t.__name__ for t in Payload.__args__)

_decoder = msgspec.json.Decoder(Payload)


# Notification types that mean "the session is blocked on the user"
_WAITING_KINDS = {
    "permission_prompt": "permission",
    "idle_prompt": "input",
    "agent_needs_input": "input",
    "elicitation_dialog": "input",
}


def decode(payload: bytes, envelope: Envelope, now: float) -> Decoded:
    """The payload as events; never raises on any input."""
    hook = decode_hook(payload, _decoder, HOOK_EVENTS)
    if isinstance(hook, Decoded):
        return hook
    return Decoded(Outcome.OK, to_events(hook, envelope, now))


def to_events(hook: Payload, envelope: Envelope, now: float) -> list[ev.Event]:
    session = session_info(AGENT, hook, envelope, now)
    sub = hook.agent_id
    match hook:
        case SessionStart(source=source, model=model):
            return [ev.SessionStarted(session, source, *_selection(model))]
        case SessionEnd(reason=reason):
            return [ev.SessionEnded(session, reason=reason)]
        case UserPromptSubmit():
            return [ev.PromptSubmitted(session)]
        case PreToolUse(tool_name=name, tool_use_id=tool_id, tool_input=tool_input):
            raw = bytes(tool_input)
            digest = hash(raw) if raw else None
            said = tools.summarize_raw(name, raw)
            return [ev.ToolStarted(session, tool_id, name, sub, digest, said)]
        case PostToolUse(tool_name=name, tool_use_id=tool_id, duration_ms=ms):
            return [ev.ToolFinished(session, tool_id, name, True, sub, ms)]
        case PostToolUseFailure(tool_name=name, tool_use_id=tool_id, duration_ms=ms):
            # the user pressing Esc is not the tool failing
            ok = hook.is_interrupt
            return [ev.ToolFinished(session, tool_id, name, ok, sub, ms)]
        case Stop(background_tasks=tasks):
            running = sum(1 for task in tasks or () if task.status == "running")
            return [ev.TurnEnded(session, background_tasks=running)]
        case StopFailure(error=error):
            return [ev.TurnFailed(session, error=error)]
        case SubagentStart(agent_type=kind):
            if sub is None:
                return [ev.Activity(session)]
            return [
                ev.SubagentStarted(
                    session, sub, kind, subagent_path(hook.transcript_path, hook.session_id, sub)
                )
            ]
        case SubagentStop(agent_type=kind, agent_transcript_path=path):
            # Claude Code also fires SubagentStop for a compaction, with an empty
            # agent_type, no SubagentStart and a transcript that is never written.
            if sub is None or not kind:
                return [ev.Activity(session)]
            return [ev.SubagentStopped(session, sub, kind, path)]
        case PreCompact(trigger=trigger):
            return [ev.CompactionStarted(session, trigger=trigger)]
        case PostCompact():
            # counted from the transcript's compact_boundary line, which backfill sees too
            return [ev.Activity(session)]
        case Notification(notification_type=kind, message=message):
            waiting = _WAITING_KINDS.get(kind)
            if waiting is None:
                return [ev.Activity(session)]
            return [ev.Waiting(session, waiting, message)]
        case PostModelSwitch(to_model=picked):
            switched, window = _selection(picked)
            return [ev.ModelSwitched(session, switched or picked, window)]
    return []  # pragma: no cover - the match is exhaustive over Payload


ONE_MILLION = 1_000_000


def _selection(model: str | None) -> tuple[str | None, int | None]:
    """The model the user picked, and its context window when the pick says it: a
    `[1m]` suffix (`claude-opus-5-5[1m]`) selects the 1M window."""
    if not model:
        return None, None
    name = strip_selection(model.strip())
    return name, ONE_MILLION if name != model.strip() else None


def subagent_path(transcript_path: str | None, session_id: str, agent_id: str) -> str | None:
    """Where Claude Code writes a subagent's transcript:
    `<project>/<session>/subagents/agent-<id>.jsonl` next to `<project>/<session>.jsonl`."""
    if not transcript_path or not transcript_path.endswith(".jsonl"):
        return None
    project = transcript_path.rpartition("/")[0]
    if not project or "/" in session_id or "/" in agent_id:
        return None
    return f"{project}/{session_id}/subagents/agent-{agent_id}.jsonl"
