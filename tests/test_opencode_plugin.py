"""aitop's OpenCode plugin: the JavaScript itself, run under node with the bus events and
hook calls OpenCode 1.18.33 really made (the fixtures' recordings), sending to a socket;
and the provider's reading of its frames (never raises, whatever comes)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitop import events as ev
from aitop.providers.base import Outcome
from aitop.providers.opencode import plugin
from aitop.providers.opencode.provider import OpenCode
from aitop.wire import Envelope, split_frame

from opencode_support import NOW, SESSIONS, drain, fixture_db


def read_capture(name: str) -> tuple[OpenCode, list[ev.Event]]:
    provider = OpenCode(str(fixture_db(name).parent), {})
    provider.backfill(NOW, window_s=10**9)
    return provider, drain(provider)


HARNESS = Path(__file__).resolve().parent / "opencode_plugin_harness.mjs"
PLUGIN = Path(plugin.__file__).resolve().parent / "aitop.js"
RECORDED = ("O1-tools-plugin", "O3-api-error", "O4-subagent")


def recording(name: str) -> list[dict[str, Any]]:
    path = SESSIONS / name / "plugin-events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- the JavaScript under node ----------------------------------------------------------------


class FrameServer:
    """A Unix socket that keeps every frame, one per connection (as aitop's server reads).
    `listen_after`: bound at once (the file is there) but refusing connections until then."""

    def __init__(self, path: Path, listen_after: float = 0.0) -> None:
        self.path = path
        self.frames: list[bytes] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.listen_after = listen_after
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        if not listen_after:
            self.sock.listen(64)
        self.thread.start()

    def _serve(self) -> None:
        if self.listen_after:
            self.stop.wait(self.listen_after)
            self.sock.listen(64)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                self._take(conn)

    def _take(self, conn: socket.socket) -> None:
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        self.frames.append(data)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


class DeadlineServer(FrameServer):
    """As aitop's server: a connection that has not sent its whole frame `deadline_s`
    after it was accepted is closed, and its bytes so far thrown away."""

    def __init__(self, path: Path, deadline_s: float) -> None:
        self.deadline_s = deadline_s
        self.timeouts = 0
        super().__init__(path)

    def _take(self, conn: socket.socket) -> None:
        deadline = time.monotonic() + self.deadline_s
        data = b""
        try:
            while True:
                conn.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = conn.recv(65536)
                if not chunk:
                    self.frames.append(data)
                    break
                data += chunk
        except TimeoutError:
            self.timeouts += 1


@pytest.fixture
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not installed: the plugin's JavaScript cannot run")
    return found


def run_plugin(
    node: str, tmp_path: Path, calls: list[dict[str, Any]], socket_path: Path, **env: str
) -> dict[str, Any]:
    module = tmp_path / "aitop.mjs"  # node 20 takes `import` only from a module file
    shutil.copy(PLUGIN, module)
    calls_file = tmp_path / "calls.jsonl"
    calls_file.write_text("".join(json.dumps(c) + "\n" for c in calls))
    result = subprocess.run(
        [node, str(HARNESS), str(module), str(calls_file)],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "AITOP_SOCKET": str(socket_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # never a word on OpenCode's terminal
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def records_of(frames: list[bytes]) -> tuple[list[Envelope], list[dict[str, Any]], int]:
    envelopes, records, dropped = [], [], 0
    for frame in frames:
        envelope, payload = split_frame(frame)
        envelopes.append(envelope)
        body = json.loads(payload)
        assert body["v"] == 1
        dropped += body["dropped"]
        records += body["events"]
    return envelopes, records, dropped


def expected_records(calls: list[dict[str, Any]]) -> list[str]:
    """What the plugin should forward of a recording, by record type, in order."""
    out = []
    for call in calls:
        hook, event = call["hook"], call.get("event") or {}
        kind = event.get("type")
        if hook == "tool.execute.before":
            out.append("tool.started")
        elif hook == "chat.message":
            out.append("prompt")
        elif hook == "event" and kind in plugin.KNOWN:
            out.append(kind)
        elif hook == "event" and kind == "message.part.updated":
            part = event["properties"]["part"]
            status = (part.get("state") or {}).get("status")
            if part["type"] == "step-finish":
                out.append("step.finished")
            elif part["type"] == "tool" and status in ("completed", "error"):
                out.append("tool.finished")
    return out


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FrameServer]:
    found = FrameServer(tmp_path / "aitop.sock")
    yield found
    found.close()


@pytest.mark.parametrize("name", RECORDED)
def test_the_plugin_forwards_what_aitop_needs_in_order(
    node: str, tmp_path: Path, server: FrameServer, name: str
) -> None:
    calls = recording(name)
    report = run_plugin(node, tmp_path, calls, server.path, AITOP_TAG="work")
    assert report["exports"] == ["AitopPlugin"]  # OpenCode calls every export as a plugin
    assert report["threw"] == 0
    envelopes, records, dropped = records_of(server.frames)
    assert dropped == 0
    assert {(e.agent, e.tag) for e in envelopes} == {("opencode", "work")}
    assert len({e.pid for e in envelopes}) == 1
    assert [r["type"] for r in records] == expected_records(calls)
    assert len(server.frames) < len(records)  # queued while one is sent: batched
    assert all(len(frame) < 300_000 for frame in server.frames)


def test_what_the_provider_makes_of_a_recorded_subagent_session(
    node: str, tmp_path: Path, server: FrameServer
) -> None:
    calls = recording("O4-subagent")
    run_plugin(node, tmp_path, calls, server.path)
    provider = OpenCode(str(tmp_path / "no-store"), {})
    events = [e for frame in server.frames for e in decoded(provider, frame)]
    roots = {e.session.session_id for e in events}
    (root,) = roots  # the child's events are its root session's
    (child,) = {e.subagent_id for e in events if isinstance(e, ev.SubagentStarted)}
    assert child != root
    kinds = Counter(type(e).__name__ for e in events)
    assert kinds["SessionStarted"] == 1 and kinds["TurnEnded"] == 1
    assert kinds["SubagentStopped"] == 1 and kinds["PromptSubmitted"] == 1
    tools = {e.tool_use_id: e for e in events if isinstance(e, ev.ToolFinished)}
    assert len(tools) == 2 and all(e.ok for e in tools.values())
    assert [e.subagent_id for e in tools.values() if e.name == "bash"] == [child]
    assert all(e.session.pid is not None for e in events)


def test_what_the_provider_makes_of_recorded_failures(
    node: str, tmp_path: Path, server: FrameServer
) -> None:
    run_plugin(node, tmp_path, recording("O1-tools-plugin"), server.path)
    provider = OpenCode(str(tmp_path / "no-store"), {})
    events = [e for frame in server.frames for e in decoded(provider, frame)]
    finished = [e for e in events if isinstance(e, ev.ToolFinished)]
    assert sorted(e.name or "" for e in finished if not e.ok) == ["bash", "read"]  # exit 3
    started = {e.tool_use_id: e for e in events if isinstance(e, ev.ToolStarted)}
    assert set(started) == {e.tool_use_id for e in finished}  # a thrown tool has no `after`
    # a few words of what each call works on, the same as the store says
    _, stored = read_capture("O1-tools-plugin")
    assert {k: e.summary for k, e in started.items()} == {
        e.tool_use_id: e.summary for e in stored if isinstance(e, ev.ToolStarted)
    }
    server.frames.clear()
    run_plugin(node, tmp_path, recording("O3-api-error"), server.path)
    events = [e for frame in server.frames for e in decoded(provider, frame)]
    failed = [e for e in events if isinstance(e, ev.TurnFailed)]
    assert [e.error for e in failed] == ["APIError", "APIError"]
    assert not [e for e in events if isinstance(e, ev.ApiError)]  # counted from the store


def test_with_no_monitor_nothing_breaks(node: str, tmp_path: Path) -> None:
    """No socket at all: every hook returns at once, nothing is thrown or printed, and the
    process is free to exit (the harness checks the exit status and stderr)."""
    report = run_plugin(
        node, tmp_path, recording("O1-tools-plugin"), tmp_path / "none.sock", LINGER_MS="100"
    )
    assert report["threw"] == 0


def test_a_process_that_lost_events_says_how_many(node: str, tmp_path: Path) -> None:
    """Events sent while no monitor listens are dropped (a second without trying); the
    next frame that gets through says how many were lost."""
    sock = tmp_path / "aitop.sock"
    calls = recording("O1-tools-plugin")
    first, later = calls[:60], calls[60:120]
    module = tmp_path / "aitop.mjs"
    shutil.copy(PLUGIN, module)
    # one node process: events with nobody listening, then a listener, then more events
    calls_file = tmp_path / "calls.jsonl"
    calls_file.write_text("".join(json.dumps(c) + "\n" for c in [*first, {"sleep": 1500}, *later]))
    process = subprocess.Popen(
        [node, str(HARNESS), str(module), str(calls_file)],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AITOP_SOCKET": str(sock)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = None
    try:
        time.sleep(0.8)  # the first events have failed to go by now
        server = FrameServer(sock)
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        if server is not None:
            server.close()
    assert process.returncode == 0 and err == ""
    _, records, dropped = records_of(server.frames)
    assert records and dropped > 0
    assert dropped + len(records) == len(expected_records([*first, *later]))


def test_a_frame_written_too_late_for_the_monitor_is_sent_again(node: str, tmp_path: Path) -> None:
    """OpenCode's event loop busy for longer than the monitor's deadline, right after the
    plugin connected: the monitor closes the connection before the frame is written. The
    frame goes again on a new connection, and nothing is lost or said to be."""
    server = DeadlineServer(tmp_path / "aitop.sock", deadline_s=2.0)
    calls = recording("O1-tools-plugin")
    try:
        run_plugin(node, tmp_path, [*calls[:40], {"block": 2600}, *calls[40:80]], server.path)
    finally:
        server.close()
    assert server.timeouts >= 1  # the stall happened as OpenCode's did under load
    _, records, dropped = records_of(server.frames)
    assert dropped == 0
    assert [r["type"] for r in records] == expected_records(calls[:80])


def test_a_refused_connection_while_the_socket_is_there_is_tried_again(
    node: str, tmp_path: Path
) -> None:
    """OpenCode runs on Bun, whose connection errors say little (a connection the monitor
    cut while OpenCode was busy comes back as ECONNREFUSED): while the socket file is
    there, a refused frame is sent again after a pause, and nothing is lost. Here the
    socket is bound but listens only 0.3 s after the first events were sent."""
    server = FrameServer(tmp_path / "aitop.sock", listen_after=0.3)
    calls = recording("O1-tools-plugin")[:40]
    try:
        run_plugin(node, tmp_path, calls, server.path, LINGER_MS="3000")
    finally:
        server.close()
    _, records, dropped = records_of(server.frames)
    assert dropped == 0
    assert [r["type"] for r in records] == expected_records(calls)


def test_values_opencode_never_sends_do_not_throw(
    node: str, tmp_path: Path, server: FrameServer
) -> None:
    report = run_plugin(node, tmp_path, [{"weird": True}], server.path)
    assert report["threw"] == 0
    assert set(report["hooks"]) == {"event", "tool.execute.before", "chat.message"}
    for frame in server.frames:
        _envelope, payload = split_frame(frame)
        assert isinstance(plugin.decode(payload), plugin.Batch)


# --- the provider's side ----------------------------------------------------------------------

ENVELOPE = Envelope(agent="opencode", pid=4242, tag=None)


def decoded(provider: OpenCode, frame: bytes) -> list[ev.Event]:
    envelope, payload = split_frame(frame)
    outcome, events, reason = provider.decode(payload, envelope, NOW)
    assert outcome is Outcome.OK, reason
    return events


def batch(*records: dict[str, Any], dropped: int = 0) -> bytes:
    return json.dumps({"v": 1, "dropped": dropped, "events": list(records)}).encode()


def events_of(provider: OpenCode, *records: dict[str, Any]) -> list[ev.Event]:
    outcome, events, reason = provider.decode(batch(*records), ENVELOPE, NOW)
    assert outcome is Outcome.OK, reason
    return events


def test_waits_and_answers(tmp_path: Path) -> None:
    provider = OpenCode(str(tmp_path), {})
    s = {"sessionID": "ses_a"}
    asked = events_of(provider, {"type": "permission.asked", **s})
    assert [(type(e), getattr(e, "kind", None)) for e in asked] == [(ev.Waiting, "permission")]
    question = events_of(provider, {"type": "question.asked", **s})
    assert [(type(e), getattr(e, "kind", None)) for e in question] == [(ev.Waiting, "input")]
    for answer in ("permission.replied", "question.replied", "question.rejected"):
        assert [type(e) for e in events_of(provider, {"type": answer, **s})] == [ev.Activity]
    idle = events_of(provider, {"type": "session.status", "status": "idle", **s})
    assert [type(e) for e in idle] == [ev.TurnEnded]
    busy = events_of(provider, {"type": "session.status", "status": "busy", **s})
    assert [type(e) for e in busy] == [ev.Activity]
    gone = events_of(provider, {"type": "session.deleted", **s})
    assert [type(e) for e in gone] == [ev.SessionEnded]
    prompt = events_of(provider, {"type": "prompt", "modelID": "gpt-5", **s})
    assert [type(e) for e in prompt] == [ev.PromptSubmitted, ev.ModelSwitched]
    assert all(e.session.pid == 4242 for e in [*asked, *idle, *prompt])


def test_a_subagent_the_plugin_does_not_name_is_found_in_the_store() -> None:
    """O4: the child's parent, looked up by the store's `session.parent_id`."""
    provider = OpenCode(str(fixture_db("O4-subagent").parent), {})
    truth = json.loads((SESSIONS / "O4-subagent" / "reconcile.json").read_text())
    (child,) = [s for s in truth["sessions"] if s["parent_id"]]
    found = events_of(
        provider, {"type": "session.status", "status": "idle", "sessionID": child["id"]}
    )
    assert [type(e) for e in found] == [ev.SubagentStopped]
    (stopped,) = found
    assert (stopped.session.session_id, stopped.subagent_id) == (child["parent_id"], child["id"])
    assert stopped.session.cwd == "/home/user/project"


def test_frames_aitop_cannot_use() -> None:
    provider = OpenCode("/nonexistent", {})
    outcome, _, _ = provider.decode(
        batch({"type": "session.future", "sessionID": "s"}), ENVELOPE, NOW
    )
    assert outcome is Outcome.IGNORED
    outcome, _, _ = provider.decode(
        batch({"type": "tool.started", "sessionID": "s"}), ENVELOPE, NOW
    )
    assert outcome is Outcome.MALFORMED  # no callID
    outcome, events, _ = provider.decode(
        batch(
            {"type": "tool.started"}, {"type": "session.status", "sessionID": "s", "status": "busy"}
        ),
        ENVELOPE,
        NOW,
    )
    assert outcome is Outcome.OK and len(events) == 1  # the good record counts
    for bad in (b"", b"[]", b"{", b'{"events": 3}', b"\xff\xfe", b"[" * 100_000):
        outcome, events, _ = provider.decode(bad, ENVELOPE, NOW)
        assert outcome is Outcome.MALFORMED and events == []
    cut = batch({"type": "session.status", "sessionID": "ses_\ud83d", "status": "busy"})
    outcome, events, _ = provider.decode(cut, ENVELOPE, NOW)  # JavaScript cut an emoji
    assert outcome is Outcome.OK
    assert provider.decode(batch(dropped=5), ENVELOPE, NOW).outcome is Outcome.IGNORED
    assert provider.dropped == 5


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
_records = st.fixed_dictionaries(
    {
        "type": st.sampled_from([*sorted(plugin.KNOWN), "other"]),
        "sessionID": st.text(min_size=1, max_size=200),
    },
    optional={
        "parentID": st.none() | st.text(max_size=200),
        "callID": st.text(max_size=300),
        "tool": st.text(),
        "status": st.sampled_from(["busy", "idle", "retry", "completed", "error", ""]),
        "exit": st.integers(-(2**40), 2**40),
        "start": st.floats(allow_nan=False),
        "end": st.floats(allow_nan=False),
        "argsHash": st.integers(-5, 2**33),
        "directory": st.text(),
        "statusCode": st.integers(-5, 2000),
    },
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(),
        _json.map(lambda v: json.dumps(v).encode()),
        st.lists(_records).map(lambda rs: batch(*rs)),
    )
)
def test_decoding_a_frame_never_raises(payload: bytes) -> None:
    provider = OpenCode("/nonexistent", {})
    outcome, events, _ = provider.decode(payload, ENVELOPE, NOW)
    assert outcome in (Outcome.OK, Outcome.IGNORED, Outcome.MALFORMED)
    for event in events:
        msgspec.json.encode(event)  # well-formed events
        assert event.session.agent == "opencode"


def test_a_prompt_in_another_session_of_the_process_ends_the_idle_ones(tmp_path: Path) -> None:
    """OpenCode's TUI (or `opencode serve`) holds many sessions: leaving one whose turn ended
    for another ends it, as resuming another session ends a Claude Code one; a session still
    working, or in another process, stays as it is."""
    provider = OpenCode(str(tmp_path), {})
    idle = {"type": "session.status", "status": "idle"}
    events_of(provider, {**idle, "sessionID": "ses_a"})
    events_of(provider, {**idle, "sessionID": "ses_b"})
    events_of(provider, {"type": "session.status", "status": "busy", "sessionID": "ses_b"})
    other = Envelope(agent="opencode", pid=999)
    provider.decode(batch({**idle, "sessionID": "ses_c"}), other, NOW)
    switched = events_of(provider, {"type": "prompt", "sessionID": "ses_d"})
    ended = [e for e in switched if isinstance(e, ev.SessionEnded)]
    assert [(e.session.session_id, e.reason) for e in ended] == [("ses_a", "other session")]
    back = events_of(provider, {"type": "prompt", "sessionID": "ses_a"})
    assert [type(e) for e in back] == [ev.PromptSubmitted]  # ses_d was not idle
