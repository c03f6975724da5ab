"""Gemini CLI's hook payloads (aitop/providers/gemini/hooks.py and the provider's use of
them), against every payload Gemini CLI 0.61.0 sent in the captures.

AfterModel fires once per streamed chunk and PreCompress before every model turn: neither
may count as a request or a compaction. A request attempt the session moves past without a
chunk of answer is an API error, which no chat file records.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from e2e.gemini_ledger import ledgers, read_jsonl
from gemini_support import ENVELOPE, G1, G2, decode_hooks, fold, gemini_dir, hook_payloads, read_all
from hypothesis import given
from hypothesis import strategies as st

from aitop import events as ev
from aitop.providers.base import Outcome
from aitop.providers.gemini import hooks
from aitop.providers.gemini.provider import Gemini

BASE = {
    "session_id": "s1",
    "transcript_path": "/h/.gemini/tmp/p/chats/session-2026-12-01T03-34-s1.jsonl",
    "cwd": "/h/p",
    "timestamp": "2026-12-01T03:34:34.337Z",
}


def payload(event: str, **fields: Any) -> bytes:
    return json.dumps({**BASE, "hook_event_name": event, **fields}).encode()


def events_of(provider: Gemini, *payloads: bytes) -> list[ev.Event]:
    out: list[ev.Event] = []
    for raw in payloads:
        decoded = provider.decode(raw, ENVELOPE, time.time())
        assert decoded.outcome is Outcome.OK, decoded.reason
        out += decoded.events
    return out


def kinds(events: list[ev.Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_every_captured_payload_decodes_exactly_as_sent() -> None:
    raw = sorted((G1 / "hooks-raw").iterdir())
    assert len(raw) == 68
    provider = Gemini("/nonexistent/.gemini")
    seen = Counter()
    for path in raw:
        decoded = provider.decode(path.read_bytes(), ENVELOPE, time.time())
        assert decoded.outcome is Outcome.OK, (path.name, decoded.reason)
        seen[json.loads(path.read_bytes())["hook_event_name"]] += 1
    assert set(seen) == set(hooks.HOOK_EVENTS) - {"Notification"}  # none fired with yolo
    decode_hooks(Gemini("/nonexistent/.gemini"), hook_payloads(G2), time.time())


def test_chunks_and_pre_compress_are_signs_of_life_only() -> None:
    """G1: 25 AfterModel and 7 PreCompress hooks, and not one request or compaction."""
    events = decode_hooks(Gemini("/nonexistent/.gemini"), hook_payloads(G1), time.time())
    counts = Counter(kinds(events))
    assert counts["Request"] == counts["Compacted"] == counts["CompactionStarted"] == 0
    assert counts["ApiError"] == 0
    assert counts == {
        "SessionStarted": 3,
        "SessionEnded": 3,
        "PromptSubmitted": 3,
        "TurnEnded": 3,
        "ToolRunning": 10,  # BeforeTool and AfterTool: the NOW column's `tool X`, not a call
        "Activity": 68 - 12 - 10,
    }


def test_each_event_says_what_it_means() -> None:
    provider = Gemini("/nonexistent/.gemini")
    (started,) = events_of(provider, payload("SessionStart", source="resume"))
    assert isinstance(started, ev.SessionStarted) and started.source == "resume"
    assert started.session.agent == "gemini" and started.session.cwd == "/h/p"
    (ended,) = events_of(provider, payload("SessionEnd", reason="exit"))
    assert isinstance(ended, ev.SessionEnded) and ended.reason == "exit"
    assert kinds(events_of(provider, payload("BeforeAgent", prompt="hi"))) == ["PromptSubmitted"]
    assert kinds(events_of(provider, payload("AfterAgent", prompt="hi"))) == ["TurnEnded"]
    (waiting,) = events_of(
        provider,
        payload("Notification", notification_type="ToolPermission", message="Allow shell?"),
    )
    assert waiting == ev.Waiting(waiting.session, "permission", "Allow shell?")
    assert kinds(events_of(provider, payload("PreCompress", trigger="manual"))) == ["Activity"]


def test_unknown_events_are_ignored_and_broken_payloads_refused() -> None:
    provider = Gemini("/nonexistent/.gemini")
    assert provider.decode(payload("AfterCoffee"), ENVELOPE, 0).outcome is Outcome.IGNORED
    for bad in (
        b"not json",
        b"{}",
        payload("BeforeTool"),  # no tool_name
        json.dumps({"hook_event_name": "SessionStart", "session_id": ""}).encode(),
        payload("SessionStart", session_id="x" * 129),
    ):
        assert provider.decode(bad, ENVELOPE, 0).outcome is Outcome.MALFORMED, bad


@given(st.binary(max_size=400))
def test_decoding_never_raises(raw: bytes) -> None:
    Gemini("/nonexistent/.gemini").decode(raw, ENVELOPE, 0.0)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "hook_event_name",
                "session_id",
                "transcript_path",
                "cwd",
                "timestamp",
                "tool_name",
                "tool_input",
                "source",
                "reason",
                "notification_type",
                "message",
            ]
        ),
        st.none()
        | st.integers()
        | st.text(max_size=20)
        | st.sampled_from(hooks.HOOK_EVENTS)
        | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    )
)
def test_decoding_never_raises_on_payload_shapes(fields: dict[str, Any]) -> None:
    Gemini("/nonexistent/.gemini").decode(json.dumps(fields).encode(), ENVELOPE, 0.0)


# --- failed requests ------------------------------------------------------------------------


def test_a_request_with_no_chunk_of_answer_is_an_api_error_of_its_session() -> None:
    """G2's second invocation got HTTP 400: BeforeModel, no AfterModel, the process gone
    without another hook; the resume's SessionStart shows it. Exactly the mock's count
    (G1, every request answered: none)."""
    events = decode_hooks(Gemini("/nonexistent/.gemini"), hook_payloads(G1), time.time())
    assert not [e for e in events if isinstance(e, ev.ApiError)]
    events = decode_hooks(Gemini("/nonexistent/.gemini"), hook_payloads(G2), time.time())
    errors = Counter(e.session.session_id for e in events if isinstance(e, ev.ApiError))
    books = ledgers(read_jsonl(G2 / "mock-requests.jsonl"), read_jsonl(G2 / "invocations.jsonl"))
    assert errors == {sid: b.http_errors for sid, b in books.items() if b.http_errors}
    assert sum(errors.values()) == 1


def test_every_retried_attempt_is_one_api_error_and_answers_are_none() -> None:
    provider = Gemini("/nonexistent/.gemini")
    attempt = [payload("BeforeModel"), payload("BeforeToolSelection")]
    answered = [payload("BeforeModel"), payload("AfterModel"), payload("AfterModel")]
    events = events_of(provider, *attempt * 3, *answered, payload("AfterAgent"))
    assert kinds(events).count("ApiError") == 3
    # one more attempt, then the session ends (Ctrl-C, a kill): that attempt got nothing
    events = events_of(provider, payload("BeforeModel"), payload("SessionEnd", reason="exit"))
    assert kinds(events) == ["Activity", "ApiError", "SessionEnded"]
    # sessions are apart: another session's chunk answers nothing here
    other = json.dumps({**json.loads(payload("AfterModel")), "session_id": "s2"}).encode()
    events = events_of(provider, payload("BeforeModel"), other, payload("BeforeAgent"))
    assert kinds(events).count("ApiError") == 1


def test_requests_asked_at_once_are_told_apart_by_their_request() -> None:
    """Two subagents at work in one session: their attempts interleave, each answered by the
    AfterModel that carries its own llm_request; one that never is, fails."""
    provider = Gemini("/nonexistent/.gemini")

    def model(event: str, conversation: str) -> bytes:
        request = {
            "model": "gemini-3.8-flash",
            "messages": [{"role": "user", "content": conversation}],
        }
        return payload(event, llm_request=request)

    events = events_of(
        provider,
        model("BeforeModel", "subagent a"),
        model("BeforeModel", "subagent b"),
        model("AfterModel", "subagent b"),
        model("AfterModel", "subagent a"),
        model("BeforeModel", "subagent a, later"),
        model("BeforeModel", "subagent b, later"),
        model("AfterModel", "subagent b, later"),
    )
    assert "ApiError" not in kinds(events)
    assert kinds(events_of(provider, payload("AfterAgent"))) == ["ApiError", "TurnEnded"]


def test_api_errors_are_placed_when_the_request_was_made() -> None:
    provider = Gemini("/nonexistent/.gemini")
    provider.decode(payload("BeforeModel"), ENVELOPE, 1000.0)
    decoded = provider.decode(payload("BeforeAgent"), ENVELOPE, 1500.0)
    (error,) = [e for e in decoded.events if isinstance(e, ev.ApiError)]
    assert error.session.time == 1000.0


# --- tool durations -------------------------------------------------------------------------


def test_hook_inputs_are_the_chat_files_args_byte_for_byte() -> None:
    """G1's exact hook bytes: each BeforeTool's tool_input is a chat tool call's args."""
    now = time.time()
    provider = Gemini(str(gemini_dir(G1)))
    events: list[ev.Event] = []
    for path in sorted((G1 / "hooks-raw").iterdir()):
        events += provider.decode(path.read_bytes(), ENVELOPE, now).events
    events += read_all(provider, now)
    finished = [e for e in events if isinstance(e, ev.ToolFinished)]
    assert len(finished) == 5 and all(e.duration_ms is not None for e in finished)
    # and each AfterModel's llm_request is its BeforeModel's: every request answered
    assert not [e for e in events if isinstance(e, ev.ApiError)]


def test_every_chat_tool_call_gets_its_hooks_duration_in_either_order() -> None:
    """BeforeTool/AfterTool carry no call id; their tool_input is the chat's args, so each
    call's duration is found, whether the hooks or the chat file are read first."""
    now = time.time()
    payloads = hook_payloads(G2)
    after_tools = sum(1 for p in payloads if p["hook_event_name"] == "AfterTool")
    for hooks_first in (True, False):
        provider = Gemini(str(gemini_dir(G2)))
        if hooks_first:
            events = decode_hooks(provider, payloads, now) + read_all(provider, now)
        else:
            events = read_all(provider, now) + decode_hooks(provider, payloads, now)
        calls = {e.tool_use_id for e in events if isinstance(e, ev.ToolStarted)}
        timed = [e for e in events if isinstance(e, ev.ToolFinished) and e.duration_ms is not None]
        assert {e.tool_use_id for e in timed} == calls
        assert len(calls) == after_tools
        assert all(0 <= e.duration_ms < 60_000 for e in timed)  # type: ignore[operator]
        folded = fold(events, now)
        assert sum(folded.tool_durations().values()) == len(calls)


def test_durations_of_the_same_call_twice_go_in_order() -> None:
    provider = Gemini("/nonexistent/.gemini")
    inputs = {"command": "echo hi"}

    def tool(event: str, at: str) -> bytes:
        return payload(event, tool_name="run_shell_command", tool_input=inputs, timestamp=at)

    events_of(
        provider,
        tool("BeforeTool", "2026-12-01T00:00:00.000Z"),
        tool("AfterTool", "2026-12-01T00:00:01.000Z"),
        tool("BeforeTool", "2026-12-01T00:00:02.000Z"),
        tool("AfterTool", "2026-12-01T00:00:05.000Z"),
    )
    digest = hash(json.dumps(inputs).encode())
    info = ev.SessionInfo("gemini", "s1", 0.0)
    chat = [
        ev.ToolStarted(info, "a", "run_shell_command", None, digest),
        ev.ToolFinished(info, "a", "run_shell_command", True),
        ev.ToolStarted(info, "b", "run_shell_command", None, digest),
        ev.ToolFinished(info, "b", "run_shell_command", True),
    ]
    timed = provider._timed(chat)
    assert [e.duration_ms for e in timed if isinstance(e, ev.ToolFinished)] == [1000.0, 3000.0]
