"""What every agent's hook decoder shares (`aitop.providers.hookjson`): the session a
payload speaks of, and the bounds its strings are held to, the same for every agent."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aitop import events as ev
from aitop.providers.base import Decoded, Outcome
from aitop.providers.claude_code import hooks as claude_hooks
from aitop.providers.claude_code import statusline
from aitop.providers.codex import hooks as codex_hooks
from aitop.providers.gemini import hooks as gemini_hooks
from aitop.wire import Envelope

NOW = 1_700_000_000.5
ENVELOPE = Envelope(agent="x", pid=4242, tag="work")


def gemini_decode(payload: bytes, envelope: Envelope, now: float) -> Decoded:
    hook = gemini_hooks.decode(payload)
    if isinstance(hook, Decoded):
        return hook
    session = gemini_hooks.session_info(hook, envelope, now)
    return Decoded(Outcome.OK, gemini_hooks.to_events(hook, session))


# Each agent's decoder, its name for itself, and a SessionStart it sends
Decoder = Callable[[bytes, Envelope, float], Decoded]
DECODERS: dict[str, tuple[Decoder, str]] = {
    "claude-code": (claude_hooks.decode, '"hook_event_name": "SessionStart"'),
    "codex": (codex_hooks.decode, '"hook_event_name": "SessionStart"'),
    "gemini": (gemini_decode, '"hook_event_name": "SessionStart"'),
    "claude-code-statusline": (statusline.decode, '"cost": {"total_cost_usd": 0.5}'),
}
AGENT = {
    "claude-code": "claude-code",
    "codex": "codex",
    "gemini": "gemini",
    "claude-code-statusline": "claude-code",
}


def payload(event: str, session_id: str = "s-1", cwd: str = "/w") -> bytes:
    return (
        f'{{{event}, "session_id": "{session_id}", "cwd": "{cwd}",'
        ' "transcript_path": "/t/s-1.jsonl", "extra": [1, {"a": null}]}'
    ).encode()


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_every_agents_session_carries_the_payload_and_the_envelope(name: str) -> None:
    decode, event = DECODERS[name]
    decoded = decode(payload(event), ENVELOPE, NOW)
    assert decoded.outcome == Outcome.OK, decoded.reason
    (first, *_) = decoded.events
    assert isinstance(first, ev.SessionStarted | ev.AgentGauges)
    assert first.session == ev.SessionInfo(
        agent=AGENT[name],
        session_id="s-1",
        time=NOW,
        cwd="/w",
        transcript_path="/t/s-1.jsonl",
        pid=4242,
        tag="work",
    )


@pytest.mark.parametrize("name", sorted(DECODERS))
@pytest.mark.parametrize(
    "fields",
    [{"session_id": ""}, {"session_id": "s" * 129}, {"cwd": "/" * 4097}],
    ids=["empty id", "long id", "long path"],
)
def test_every_agent_holds_ids_and_paths_to_the_same_bounds(
    name: str, fields: dict[str, str]
) -> None:
    decode, event = DECODERS[name]
    decoded = decode(payload(event, **fields), ENVELOPE, NOW)
    assert decoded.outcome == Outcome.MALFORMED and decoded.events == []
    within = {key: value[:-1] or "s" for key, value in fields.items()}
    assert decode(payload(event, **within), ENVELOPE, NOW).outcome == Outcome.OK
