"""Codex hook payloads → aitop events (0.171.0; tests/fixtures/codex/hook-payloads).

Codex runs `aitop hook --agent codex` for its 12 hook events (and the undocumented
`PreModelRequest`/`PostModelRequest`, which aitop does not register). Every payload has
`session_id` — the ROOT thread, also inside a subagent —, `transcript_path` (the rollout
of the thread the event is about: a subagent's own file for events inside it), `cwd` and
`model`. No token counts (the rollout has them), no pid, no durations, and PostToolUse
has no exit code: a tool's outcome and duration come from the rollout's item with the
same id (`exec-<uuid>` in code mode, `call_…` otherwise).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from aitop import events as ev
from aitop.providers import summary
from aitop.providers.base import Decoded, Outcome
from aitop.providers.codex.rollout import AGENT
from aitop.providers.hookjson import Id, Name, Path, decode_hook, session_info
from aitop.wire import Envelope


class _Hook(Struct, tag_field="hook_event_name", tag=True, kw_only=True):
    session_id: Id
    transcript_path: Path | None = None
    cwd: Path | None = None
    model: Name | None = None


class SessionStart(_Hook):
    source: Name = "startup"  # startup, resume, compact


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


class PermissionRequest(_Hook):
    tool_name: Name = ""


class PreCompact(_Hook):
    trigger: Name = "auto"


class PostCompact(_Hook):
    trigger: Name = "auto"


class Stop(_Hook):
    pass


class SubagentStart(_Hook):
    agent_id: Id
    agent_type: Name = ""


class SubagentStop(_Hook):
    agent_id: Id
    agent_type: Name = ""
    agent_transcript_path: Path | None = None


class Interrupt(_Hook):
    pass


class PreModelRequest(_Hook):
    pass


class PostModelRequest(_Hook):
    pass


Payload = (
    SessionStart
    | SessionEnd
    | UserPromptSubmit
    | PreToolUse
    | PostToolUse
    | PermissionRequest
    | PreCompact
    | PostCompact
    | Stop
    | SubagentStart
    | SubagentStop
    | Interrupt
    | PreModelRequest
    | PostModelRequest
)

# Every event Codex 0.171.0 accepts in hooks.json (`aitop install --events` is checked
# against these), and the ones `aitop install --agent codex` registers, in order: Codex's
# documented 12. (PreModelRequest/PostModelRequest decode when a user registers them:
# signs of life.)
KNOWN_EVENTS: tuple[str, ...] = tuple(t.__name__ for t in Payload.__args__)
HOOK_EVENTS: tuple[str, ...] = KNOWN_EVENTS[:12]
_KNOWN = frozenset(KNOWN_EVENTS)
_decoder = msgspec.json.Decoder(Payload)


class _ToolInput(Struct):
    command: Annotated[str, Meta(max_length=1_000_000)] | None = None


_input_decoder = msgspec.json.Decoder(_ToolInput)


def _summary(name: str, raw: bytes) -> str | None:
    """Bash's command's first words; apply_patch's files (its `command` is the patch)."""
    given = summary.decoded(_input_decoder, raw)
    command = given.command if given is not None else None
    if command is None:
        return None
    return summary.patched_files(command) if name == "apply_patch" else summary.command(command)


def decode(payload: bytes, envelope: Envelope, now: float) -> Decoded:
    """The payload as events; never raises on any input."""
    hook = decode_hook(payload, _decoder, _KNOWN)
    if isinstance(hook, Decoded):
        return hook
    return Decoded(Outcome.OK, to_events(hook, envelope, now))


def to_events(hook: Payload, envelope: Envelope, now: float) -> list[ev.Event]:
    session = session_info(AGENT, hook, envelope, now)
    match hook:
        case SessionStart(source=source, model=model):
            return [ev.SessionStarted(session, source, model)]
        case SessionEnd(reason=reason):
            return [ev.SessionEnded(session, reason=reason)]
        case UserPromptSubmit():
            return [ev.PromptSubmitted(session)]
        case PreToolUse(tool_name=name, tool_use_id=tool_id, tool_input=tool_input):
            raw = bytes(tool_input)
            said = _summary(name, raw)
            return [ev.ToolStarted(session, tool_id, name, None, hash(raw) if raw else None, said)]
        case PostToolUse(tool_name=name, tool_use_id=tool_id):
            # no exit code: the rollout's item with this id says how it went
            return [ev.ToolFinished(session, tool_id, name, None)]
        case PermissionRequest():
            return [ev.Waiting(session, "permission")]
        case PreCompact(trigger=trigger):
            return [ev.CompactionStarted(session, trigger=trigger)]
        case Stop():
            return [ev.TurnEnded(session)]
        case SubagentStart(agent_id=sub, agent_type=kind):
            # transcript_path is the subagent's own rollout here
            child = msgspec.structs.replace(session, transcript_path=None)
            return [ev.SubagentStarted(child, sub, kind, hook.transcript_path)]
        case SubagentStop(agent_id=sub, agent_type=kind, agent_transcript_path=path):
            return [ev.SubagentStopped(session, sub, kind, path)]
    # PostCompact (the rollout's `compacted` line counts it), Interrupt, the model-request
    # hooks: signs of life
    return [ev.Activity(session)]
