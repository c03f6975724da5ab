"""Decoding a hook payload safely: what every agent's hook decoder shares.

msgspec checks the strings it decodes but not the ones it skips, refuses lone UTF-16
surrogates even in skipped fields (JavaScript writes them when it cuts a string inside an
emoji), and recurses once per level of nesting. So: bytes that are not UTF-8 are
malformed (JSON is UTF-8 or it is not JSON); surrogates are mended and the payload tried
again; nesting past the recursion limit is malformed; a payload that fails only because
its event is one aitop does not use is ignored, not malformed (agents add events often).

Also shared: the bounds every hook payload's strings are held to (`Id`, `Name`, `Path`),
and the session a payload speaks of (`session_info`): every agent's hook says it in the
same three fields.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Protocol, TypeVar

import msgspec
from msgspec import Meta, Struct

from aitop import events as ev
from aitop.providers.base import Decoded, Outcome
from aitop.surrogates import without_surrogates
from aitop.wire import Envelope

T = TypeVar("T")

Id = Annotated[str, Meta(min_length=1, max_length=128)]
Name = Annotated[str, Meta(max_length=128)]
Path = Annotated[str, Meta(max_length=4096)]


class HookSession(Protocol):
    """The fields every agent's hook payload names its session with."""

    @property
    def session_id(self) -> str: ...

    @property
    def cwd(self) -> str | None: ...

    @property
    def transcript_path(self) -> str | None: ...


def session_info(agent: str, hook: HookSession, envelope: Envelope, now: float) -> ev.SessionInfo:
    """The session `hook` speaks of, as `agent`'s, received at `now` in `envelope`."""
    return ev.SessionInfo(
        agent=agent,
        session_id=hook.session_id,
        time=now,
        cwd=hook.cwd,
        transcript_path=hook.transcript_path,
        pid=envelope.pid,
        tag=envelope.tag,
    )


class _Probe(Struct):
    """Enough to tell an event we do not use from a broken one."""

    hook_event_name: Name


_probe_decoder = msgspec.json.Decoder(_Probe)


def decode_hook(
    payload: bytes, decoder: msgspec.json.Decoder[T], known: Collection[str]
) -> T | Decoded:
    """The payload as `decoder`'s type, or the reason it is not one (a `Decoded` with
    no events: malformed, or an event name not in `known`, ignored). Never raises."""
    bad = _not_utf8(payload)
    if bad:
        return Decoded(Outcome.MALFORMED, [], bad)
    try:
        return decoder.decode(payload)
    except msgspec.DecodeError as exc:
        repaired = without_surrogates(payload)
        if repaired is not None:
            return decode_hook(repaired, decoder, known)
        return _classify_failure(payload, exc, known)
    except UnicodeDecodeError as exc:  # msgspec's error for invalid UTF-8 inside a string
        return Decoded(Outcome.MALFORMED, [], f"invalid UTF-8: {exc.reason}")
    except RecursionError:  # msgspec recurses per level, even through fields it skips
        return Decoded(Outcome.MALFORMED, [], "nested too deep")


def _not_utf8(data: bytes) -> str:
    """Why `data` is not UTF-8, or "" when it is."""
    if data.isascii():
        return ""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}: {exc.reason}"
    return ""


def _classify_failure(payload: bytes, exc: msgspec.DecodeError, known: Collection[str]) -> Decoded:
    if isinstance(exc, msgspec.ValidationError):
        try:
            probe = _probe_decoder.decode(payload)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            pass
        else:
            if probe.hook_event_name not in known:
                return Decoded(Outcome.IGNORED, [], probe.hook_event_name)
    return Decoded(Outcome.MALFORMED, [], str(exc))
