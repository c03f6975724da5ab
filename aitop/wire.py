"""Frames on the socket: an optional `AITOP/1` envelope line, then the raw payload.

The envelope carries what only the hook process knows (its `AITOP_TAG`, the agent it
forwards for, the agent's pid for liveness, and what kind of payload follows: a hook
event, or the input of the agent's status line); the monitor accepts bare payloads too.
A monitor that predates a field skips it (unknown keys are ignored), so a newer forwarder
never costs an older monitor its frames' envelopes.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

ENVELOPE_PREFIX = b"AITOP/1 "
MAX_PAYLOAD = 1 << 20
MAX_ENVELOPE = 1024
# the most one connection may send: a payload of MAX_PAYLOAD and its envelope line
MAX_FRAME = MAX_PAYLOAD + MAX_ENVELOPE

AgentName = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9-]*$")]
DEFAULT_AGENT = "claude-code"
HOOK = "hook"  # a hook event's payload (the default: every older forwarder sends these)
STATUSLINE = "statusline"  # the JSON an agent hands its status line command


class Envelope(Struct, frozen=True):
    agent: AgentName = DEFAULT_AGENT
    pid: Annotated[int, Meta(ge=1, le=2**31 - 1)] | None = None
    tag: Annotated[str, Meta(max_length=64)] | None = None
    # a kind this monitor does not know is the provider's to ignore, not a broken frame
    kind: Annotated[str, Meta(max_length=32)] = HOOK


BARE = Envelope()
_envelope_decoder = msgspec.json.Decoder(Envelope)


class MalformedFrame(ValueError):
    pass


def split_frame(frame: bytes) -> tuple[Envelope, bytes]:
    """(envelope, payload); raises MalformedFrame for a broken envelope line."""
    if not frame.startswith(ENVELOPE_PREFIX):
        return BARE, frame
    end = frame.find(b"\n", 0, MAX_ENVELOPE + 1)
    if end < 0:
        raise MalformedFrame("envelope line without end")
    line = frame[len(ENVELOPE_PREFIX) : end]
    envelope = _seen_envelopes.get(line)
    if envelope is None:
        try:
            envelope = _envelope_decoder.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise MalformedFrame(f"bad envelope: {exc}") from None
        except RecursionError:  # a line of 1 KiB can nest deeper than msgspec recurses
            raise MalformedFrame("bad envelope: nested too deep") from None
        if len(_seen_envelopes) >= _ENVELOPES_KEPT:
            _seen_envelopes.clear()
        _seen_envelopes[line] = envelope
    payload = frame[end + 1 :]
    if not payload or payload.isspace():
        raise MalformedFrame("envelope without payload")
    return envelope, payload


# Every hook of one agent process sends the same envelope line: decode it once.
_ENVELOPES_KEPT = 1024
_seen_envelopes: dict[bytes, Envelope] = {}
