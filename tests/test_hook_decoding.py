"""Hook payloads → events: every real payload decodes, bad input is classified, nothing raises."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitop import events as ev
from aitop.providers.claude_code import hooks
from aitop.providers.claude_code.hooks import HOOK_EVENTS, Outcome, decode, subagent_path
from aitop.wire import BARE, Envelope, MalformedFrame, split_frame

from conftest import PAYLOADS, fixture_sessions

NOW = 1_795_381_957.0
ENVELOPE = Envelope(agent="claude-code", pid=931, tag="work")


def _payload(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


def _decode(obj: object) -> tuple[Outcome, list[ev.Event], str]:
    return decode(json.dumps(obj).encode(), ENVELOPE, NOW)


def test_every_captured_payload_decodes() -> None:
    files = sorted(PAYLOADS.glob("*.json"))
    assert len(files) == 40
    for path in files:
        data = json.loads(path.read_text())
        outcome, events, reason = decode(path.read_bytes(), ENVELOPE, NOW)
        if data["hook_event_name"] in HOOK_EVENTS:
            assert outcome is Outcome.OK, (path.name, reason)
            assert events, path.name
        else:
            assert outcome is Outcome.IGNORED, (path.name, reason)
            assert reason == data["hook_event_name"]


def test_every_frame_of_every_fixture_session_decodes() -> None:
    count = 0
    for session in fixture_sessions():
        for path in sorted((session / "hooks-raw").glob("*.json")):
            outcome, _events, reason = decode(path.read_bytes(), BARE, NOW)
            assert outcome is not Outcome.MALFORMED, (path, reason)
            count += 1
    assert count == 163  # every hook call of the five captured sessions


def test_hook_events_are_the_union_members_in_install_order() -> None:
    assert HOOK_EVENTS[0] == "SessionStart"
    assert "WorktreeCreate" not in HOOK_EVENTS
    assert set(HOOK_EVENTS) == {
        "SessionStart", "SessionEnd", "UserPromptSubmit", "PreToolUse", "PostToolUse",
        "PostToolUseFailure", "Stop", "StopFailure", "SubagentStart", "SubagentStop",
        "PreCompact", "PostCompact", "Notification", "PostModelSwitch",
    }  # fmt: skip


def test_session_info_carries_the_envelope() -> None:
    _, events, _ = _decode(_payload("SessionStart-startup.json"))
    (event,) = events
    assert isinstance(event, ev.SessionStarted)
    info = event.session
    assert (info.agent, info.pid, info.tag, info.time) == ("claude-code", 931, "work", NOW)
    assert info.transcript_path and info.transcript_path.endswith(".jsonl")
    assert info.cwd == "/home/user/project"


@pytest.mark.parametrize(
    ("name", "kind", "fields"),
    [
        (
            "SessionStart-compact.json",
            ev.SessionStarted,
            {"source": "compact", "model": "claude-opus-5-5"},
        ),
        ("SessionEnd-clear.json", ev.SessionEnded, {"reason": "clear"}),
        ("UserPromptSubmit.json", ev.PromptSubmitted, {}),
        (
            "PostToolUse-Bash.json",
            ev.ToolFinished,
            {"ok": True, "name": "Bash", "subagent_id": None},
        ),
        ("PostToolUseFailure.json", ev.ToolFinished, {"ok": False, "name": "Bash"}),
        (
            "PreToolUse-Bash-subagent.json",
            ev.ToolStarted,
            {"name": "Bash", "subagent_id": "a2e952bb053af6377"},
        ),
        ("Stop.json", ev.TurnEnded, {}),
        ("StopFailure.json", ev.TurnFailed, {"error": "unknown"}),
        ("SubagentStart.json", ev.SubagentStarted, {"subagent_type": "general-purpose"}),
        (
            "SubagentStop-general-purpose.json",
            ev.SubagentStopped,
            {"subagent_type": "general-purpose"},
        ),
        ("PreCompact.json", ev.CompactionStarted, {"trigger": "manual"}),
        ("PostCompact.json", ev.Activity, {}),
        ("Notification-permission_prompt.json", ev.Waiting, {"kind": "permission"}),
        ("Notification-idle_prompt.json", ev.Waiting, {"kind": "input"}),
        ("PostModelSwitch.json", ev.ModelSwitched, {"model": "claude-sonnet-5-5"}),
    ],
)
def test_events_mapped(name: str, kind: type, fields: dict) -> None:
    outcome, events, reason = _decode(_payload(name))
    assert outcome is Outcome.OK, reason
    (event,) = events
    assert isinstance(event, kind)
    for field, value in fields.items():
        assert getattr(event, field) == value, field


def test_tool_durations_are_kept() -> None:
    _, events, _ = _decode(_payload("PostToolUse-Bash.json"))
    (event,) = events
    assert isinstance(event, ev.ToolFinished)
    assert event.duration_ms == _payload("PostToolUse-Bash.json")["duration_ms"]


def test_compaction_pseudo_subagent_is_not_a_subagent() -> None:
    """Claude Code fires SubagentStop with an empty agent_type for a compaction."""
    data = _payload("SubagentStop-empty.json")
    assert data["agent_type"] == ""
    _, events, _ = _decode(data)
    assert [type(e) for e in events] == [ev.Activity]


def test_user_interrupt_is_not_a_tool_error() -> None:
    data = _payload("PostToolUseFailure.json") | {"is_interrupt": True}
    _, (event,), _ = _decode(data)
    assert isinstance(event, ev.ToolFinished) and event.ok


def test_a_stop_counts_the_background_tasks_still_running() -> None:
    """F2 and F5 (real captures): Stop lists the background agent still at work."""
    stops = [
        json.loads(line)["payload"]
        for session in fixture_sessions()
        for line in (session / "hooks.jsonl").read_text().splitlines()
        if json.loads(line)["payload"].get("hook_event_name") == "Stop"
    ]
    counts = []
    for payload in stops:
        _, (event,), _ = _decode(payload)
        assert isinstance(event, ev.TurnEnded)
        counts.append(event.background_tasks)
    assert sorted(set(counts)) == [0, 1]
    finished = _payload("Stop.json") | {"background_tasks": [{"id": "a", "status": "completed"}]}
    assert _decode(finished)[1][0].background_tasks == 0  # type: ignore[union-attr]


def test_same_tool_input_gives_the_same_digest() -> None:
    first = _decode(_payload("PreToolUse-Bash.json"))[1][0]
    second = _decode(_payload("PreToolUse-Bash.json") | {"tool_use_id": "toolu_other"})[1][0]
    other = _decode(_payload("PreToolUse-Bash.json") | {"tool_input": {"command": "ls"}})[1][0]
    assert isinstance(first, ev.ToolStarted) and isinstance(second, ev.ToolStarted)
    assert isinstance(other, ev.ToolStarted)
    assert first.input_digest == second.input_digest != other.input_digest


def test_unknown_events_are_ignored_not_errors() -> None:
    outcome, events, reason = _decode({"session_id": "s", "hook_event_name": "BrandNewEvent"})
    assert (outcome, events, reason) == (Outcome.IGNORED, [], "BrandNewEvent")
    outcome, _, _ = _decode(_payload("MessageDisplay.json"))
    assert outcome is Outcome.IGNORED


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b'"SessionStart"',
        b'{"hook_event_name": "Stop"}',  # no session_id
        b'{"hook_event_name": 3, "session_id": "s"}',
        b'{"hook_event_name": "Stop", "session_id": 7}',
        b'{"hook_event_name": "PostToolUse", "session_id": "s", "tool_name": "Bash"}',
        b'{"hook_event_name": "PostToolUse", "session_id": "s", "tool_name": "Bash",'
        b' "tool_use_id": "t", "duration_ms": -1}',
        b'{"hook_event_name": "PostToolUse", "session_id": "s", "tool_name": "Bash",'
        b' "tool_use_id": "t", "duration_ms": "fast"}',
        ('{"hook_event_name": "Stop", "session_id": "' + "x" * 129 + '"}').encode(),
        b'{"hook_event_name": "Stop", "session_id": ""}',
        b'{"hook_event_name": "Stop", "session_id": "s"}\xff',
        b'{"hook_event_name": "Stop", "session_id": "s", "cwd": NaN}',
        b"\x00\x00\x00",
        b'{"hook_event_name": "Stop", "session_id": "s\xff\xfe"}',
        b'{"hook_event_name": "Sto\xff", "session_id": "s"}',
        b'AITOP/1 {}\n{"hook_event_name": "Stop", "session_id": "s"}',
    ],
)
def test_malformed_frames_are_rejected_with_a_reason(bad: bytes) -> None:
    outcome, events, reason = decode(bad, BARE, NOW)
    assert outcome is Outcome.MALFORMED
    assert events == []
    assert reason


def test_ids_of_128_characters_are_fine() -> None:
    outcome, _, _ = _decode({"hook_event_name": "Stop", "session_id": "x" * 128})
    assert outcome is Outcome.OK


@given(st.binary(max_size=2048))
def test_decoder_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    outcome, events, _ = decode(data, BARE, NOW)
    assert outcome in Outcome
    assert outcome is Outcome.OK or events == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.sampled_from([*HOOK_EVENTS, "MessageDisplay", "Unknown"]),
    st.dictionaries(
        st.sampled_from(
            ["session_id", "transcript_path", "cwd", "agent_id", "tool_name", "tool_use_id",
             "duration_ms", "tool_input", "source", "model", "notification_type", "to_model",
             "agent_type", "is_interrupt"]
        ),
        json_values,
    ),
)  # fmt: skip
def test_decoder_never_raises_on_arbitrary_json(event: str, fields: dict) -> None:
    payload = msgspec.json.encode({"hook_event_name": event, **fields})
    outcome, events, _ = decode(payload, BARE, NOW)
    if outcome is Outcome.OK:
        assert events
        assert all(e.session.session_id == fields["session_id"] for e in events)


# --- the envelope --------------------------------------------------------------------


def test_bare_payloads_are_accepted() -> None:
    assert split_frame(b'{"a": 1}') == (BARE, b'{"a": 1}')


def test_envelope_line_is_split_off() -> None:
    envelope, payload = split_frame(b'AITOP/1 {"agent":"claude-code","pid":42,"tag":"t"}\n{"x":1}')
    assert envelope == Envelope("claude-code", 42, "t")
    assert payload == b'{"x":1}'


@pytest.mark.parametrize(
    "frame",
    [
        b"AITOP/1 {}",  # no newline, no payload
        b"AITOP/1 {}\n",  # an envelope line without payload
        b"AITOP/1 {}\n  \n",
        b"AITOP/1 not json\n{}",
        b'AITOP/1 {"pid": -1}\n{}',
        b'AITOP/1 {"agent": "Bad Agent"}\n{}',
        b'AITOP/1 {"tag": "' + b"t" * 65 + b'"}\n{}',
        b"AITOP/1 " + b" " * 2000 + b"\n{}",
        b'AITOP/1 {"tag": "\xff"}\n{}',
    ],
)
def test_broken_envelopes_are_malformed(frame: bytes) -> None:
    with pytest.raises(MalformedFrame):
        split_frame(frame)


def test_subagent_transcript_path_sits_next_to_the_session() -> None:
    assert (
        subagent_path("/h/.claude/projects/-p/s1.jsonl", "s1", "a1")
        == "/h/.claude/projects/-p/s1/subagents/agent-a1.jsonl"
    )
    assert subagent_path(None, "s1", "a1") is None
    assert subagent_path("/h/p/s1.jsonl", "../x", "a1") is None
    assert subagent_path("/h/p/s1.jsonl", "s1", "a/../../b") is None


def test_decoder_is_built_once() -> None:
    assert isinstance(hooks._decoder, msgspec.json.Decoder)


def test_a_lone_surrogate_in_a_payload_costs_nothing() -> None:
    data = _payload("PostToolUse-Bash.json")
    data["tool_response"] = {"stdout": "cut in half: \ud83d"}
    payload = json.dumps(data).encode()  # json writes the lone surrogate as an escape
    assert b"\\ud83d" in payload
    outcome, (event,), _ = decode(payload, ENVELOPE, NOW)
    assert outcome is Outcome.OK and isinstance(event, ev.ToolFinished)


@pytest.mark.parametrize("suffix", ["[1m]", "[1M]"])
def test_the_1m_selection_is_taken_off_the_model_by_the_provider(suffix: str) -> None:
    """The agent's own spelling of a pick (`claude-opus-5-5[1m]`) never leaves its provider:
    the event has the model, and the window the pick says."""
    payload = _payload("SessionStart-startup.json") | {"model": "claude-opus-5-5" + suffix}
    _, events, _ = _decode(payload)
    (event,) = events
    assert isinstance(event, ev.SessionStarted)
    assert (event.model, event.context_window) == ("claude-opus-5-5", 1_000_000)
