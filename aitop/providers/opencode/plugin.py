"""Frames from aitop's OpenCode plugin (`aitop.js`, beside this file) → aitop events.

The plugin receives OpenCode's bus events in-process, 7–54 ms before they reach its store,
and sends the few aitop needs, each as a small flat record, in batches:

    AITOP/1 {"agent":"opencode","pid":<OpenCode's pid>,"tag":...}
    {"v":1,"dropped":0,"events":[{"type":"session.status","sessionID":"ses_…","status":"idle"}, …]}

Record types (OpenCode 1.18.33's bus events and hooks, tests/fixtures/opencode/README.md):
`session.created` (`parentID` and `agent` for a subagent's session, `directory`), `session.status`
(busy | idle | retry), `session.error`, `session.deleted`, `permission.asked`/`replied`,
`question.asked`/`replied`/`rejected`, `step.finished` (a request ended: its tokens are
about to be in the store), `tool.started` (`tool.execute.before`, with the few arguments
that name what the call works on, cut short), `tool.finished` (a tool
part that completed or failed: a bash exit code ≠ 0 is a failure), `prompt` (`chat.message`:
the user sent a prompt, with the model). Any record may carry `parentID`: the plugin
remembers OpenCode's word on each session's parent. No tokens: the store has them.
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import msgspec
from msgspec import Meta, Struct

from aitop.providers.opencode.records import Exit, Id, Millis, Name, Status
from aitop.providers.opencode.tools import ToolInput
from aitop.surrogates import without_surrogates

Path = Annotated[str, Meta(max_length=4096)]
Digest = Annotated[int, Meta(ge=0, le=2**32)]
MAX_RECORDS = 10_000  # in one frame (the plugin sends at most 256 KiB of them)


class _Record(Struct, tag_field="type", kw_only=True):
    sessionID: Annotated[str, Meta(min_length=1, max_length=128)]
    parentID: Annotated[str, Meta(min_length=1, max_length=128)] | None = None


class SessionCreated(_Record, tag="session.created"):
    directory: Path | None = None
    agent: Name | None = None  # a subagent's kind ("general")


class SessionStatus(_Record, tag="session.status"):
    status: Name = ""
    attempt: int | None = None


class SessionError(_Record, tag="session.error"):
    error: Name = ""
    statusCode: Status | None = None


class SessionDeleted(_Record, tag="session.deleted"):
    pass


class PermissionAsked(_Record, tag="permission.asked"):
    pass


class PermissionReplied(_Record, tag="permission.replied"):
    pass


class QuestionAsked(_Record, tag="question.asked"):
    pass


class QuestionReplied(_Record, tag="question.replied"):
    pass


class QuestionRejected(_Record, tag="question.rejected"):
    pass


class StepFinished(_Record, tag="step.finished"):
    messageID: Id | None = None


class ToolStarted(_Record, tag="tool.started"):
    callID: Annotated[str, Meta(min_length=1, max_length=256)]
    tool: Name = ""
    argsHash: Digest | None = None
    args: ToolInput | None = None  # only what names what the call works on, cut short


class ToolFinished(_Record, tag="tool.finished"):
    callID: Annotated[str, Meta(min_length=1, max_length=256)]
    tool: Name = ""
    status: Name = ""
    exit: Exit | None = None
    start: Millis | None = None
    end: Millis | None = None

    @property
    def ok(self) -> bool:
        return self.status == "completed" and self.exit in (None, 0)

    @property
    def duration_ms(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return max(0.0, self.end - self.start)


class Prompt(_Record, tag="prompt"):
    providerID: Name | None = None
    modelID: Name | None = None


Record = (
    SessionCreated
    | SessionStatus
    | SessionError
    | SessionDeleted
    | PermissionAsked
    | PermissionReplied
    | QuestionAsked
    | QuestionReplied
    | QuestionRejected
    | StepFinished
    | ToolStarted
    | ToolFinished
    | Prompt
)
KNOWN = frozenset(t.__struct_config__.tag for t in Record.__args__)


class _Batch(Struct):
    events: Annotated[list[msgspec.Raw], Meta(max_length=MAX_RECORDS)]
    v: int = 1
    dropped: Annotated[int, Meta(ge=0)] = 0


class _Type(Struct):
    type: Annotated[str, Meta(max_length=128)] = ""


class Batch(NamedTuple):
    records: list[Record]
    unknown: int  # records of a type aitop does not use (a newer plugin): ignored
    rejected: int  # records of the wrong shape
    dropped: int  # what the plugin could not send before this frame


_batch_decoder = msgspec.json.Decoder(_Batch)
_record_decoder = msgspec.json.Decoder(Record)
_type_decoder = msgspec.json.Decoder(_Type)


def decode(payload: bytes) -> Batch | str:
    """The frame's records, or why it is not a batch (never raises)."""
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}: {exc.reason}"
    try:
        batch = _batch_decoder.decode(payload)
    except msgspec.DecodeError as exc:
        repaired = without_surrogates(payload)
        if repaired is not None and repaired != payload:
            return decode(repaired)
        return str(exc)
    except RecursionError:
        return "nested too deep"
    records: list[Record] = []
    unknown = rejected = 0
    for raw in batch.events:
        try:
            records.append(_record_decoder.decode(raw))
        except (msgspec.DecodeError, RecursionError):
            if _unknown_type(raw):
                unknown += 1
            else:
                rejected += 1
    return Batch(records, unknown, rejected, batch.dropped)


def _unknown_type(raw: msgspec.Raw) -> bool:
    try:
        found = _type_decoder.decode(raw).type
    except (msgspec.DecodeError, RecursionError):
        return False
    return bool(found) and found not in KNOWN
