"""The NOW state of Codex, OpenCode and Gemini CLI sessions, driven by each agent's real
hook payloads (or plugin frames) through its own provider into the aggregator: `tool X`,
`model`, `waiting`, `compacting`, `idle`, `ended` at each step, also with events missing
or out of order. And sessions are keyed by (agent, session id): the same id from two
agents is two rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gemini_support import G1, as_sent, hook_payloads

from aitop.aggregate import Aggregator
from aitop.pricing import Pricer
from aitop.providers.base import Outcome, Provider
from aitop.providers.codex.provider import Codex
from aitop.providers.gemini.provider import Gemini
from aitop.providers.opencode.provider import OpenCode
from aitop.wire import Envelope

from conftest import FIXTURES, PAYLOADS

PRICER = Pricer.load()
T0 = 1_796_200_000.0  # after every capture
PID = 4242  # the agent's process, as its hook's envelope gives it
CODEX_PAYLOADS = FIXTURES.parent / "codex" / "hook-payloads"
CODEX_SID = "01a22faf-dfed-74a2-a1f3-a4725b43d7c9"

Now = tuple[str, str | None]


class Drive:
    """One agent's provider feeding one aggregator, each payload at its own time."""

    def __init__(self, provider: Provider, agent: str, agg: Aggregator | None = None) -> None:
        self.provider = provider
        self.envelope = Envelope(agent=agent, pid=PID)
        self.agg = agg or Aggregator(PRICER, T0)

    def send(self, payload: bytes, at: float) -> None:
        outcome, events, reason = self.provider.decode(payload, self.envelope, at)
        assert outcome is Outcome.OK, reason
        for event in events:
            self.agg.apply(event, at)

    def now(self, at: float, agent: str, sid: str) -> Now:
        snap = self.agg.snapshot(at)
        (row,) = [r for r in snap.sessions if (r.agent, r.session_id) == (agent, sid)]
        assert row.now is not None
        return row.now.state, row.now.detail


# --- Codex: its hooks, with Codex's own field names ----------------------------------------


def codex(name: str, **fields: Any) -> bytes:
    """A captured Codex payload, all of one session (they come from several captures)."""
    data = json.loads((CODEX_PAYLOADS / f"{name}.json").read_bytes())
    return json.dumps({**data, "session_id": CODEX_SID, **fields}).encode()


def codex_permission() -> bytes:
    """Codex 0.171's PermissionRequest: no capture ran without bypassed permissions, so
    it is the captured PreToolUse with its event's name (its documented fields)."""
    data = json.loads(codex("PreToolUse-Bash"))
    data["hook_event_name"] = "PermissionRequest"
    return json.dumps(data).encode()


def test_codex_hooks_drive_the_now_state(tmp_path: Path) -> None:
    drive = Drive(Codex(str(tmp_path / "codex-home"), use_inotify=False), "codex")
    steps: list[tuple[bytes, float, Now]] = [
        (codex("SessionStart-startup"), 0, ("idle", None)),
        (codex("UserPromptSubmit"), 1, ("model", None)),
        (codex("PreToolUse-Bash"), 2, ("tool", "Bash")),
        (codex("PostToolUse-Bash"), 5, ("model", None)),
        (codex_permission(), 6, ("waiting", "permission")),
        (codex("PreToolUse-apply_patch"), 10, ("tool", "apply_patch")),  # answered
        (codex("PostToolUse-apply_patch"), 11, ("model", None)),
        (codex("PreCompact-auto"), 12, ("compacting", None)),
        (codex("PostCompact-auto"), 14, ("compacting", None)),  # the rollout says when done
        (codex("Stop"), 20, ("idle", None)),
    ]
    for payload, dt, expected in steps:
        drive.send(payload, T0 + dt)
        assert drive.now(T0 + dt + 0.5, "codex", CODEX_SID) == expected, json.loads(payload)
    # a turn over in a live process: waiting for the user once the grace has passed
    assert drive.now(T0 + 26, "codex", CODEX_SID) == ("waiting", "input")
    drive.send(codex("UserPromptSubmit"), T0 + 30)
    assert drive.now(T0 + 31, "codex", CODEX_SID) == ("model", None)


def test_codex_events_missing_or_out_of_order(tmp_path: Path) -> None:
    drive = Drive(Codex(str(tmp_path / "codex-home"), use_inotify=False), "codex")
    drive.send(codex("UserPromptSubmit"), T0)
    # a tool's end whose start never came: no tool runs, one entry from its end
    drive.send(codex("PostToolUse-Bash", tool_use_id="exec-lost"), T0 + 1)
    assert drive.now(T0 + 2, "codex", CODEX_SID) == ("model", None)
    (row,) = drive.agg.snapshot(T0 + 2).sessions
    assert [(e.kind, e.name, e.id) for e in row.timeline if e.kind == "tool"] == [
        ("tool", "Bash", "exec-lost")
    ]
    # the same end again, and a start that arrives after its end
    drive.send(codex("PostToolUse-Bash"), T0 + 3)
    drive.send(codex("PreToolUse-Bash"), T0 + 3)
    assert drive.now(T0 + 4, "codex", CODEX_SID) == ("tool", "Bash")
    # the session ends mid-tool: ended, and a resume does not bring the call back
    drive.send(codex("PreToolUse-apply_patch"), T0 + 5)
    drive.send(codex("SessionEnd-other"), T0 + 6)
    assert drive.now(T0 + 7, "codex", CODEX_SID) == ("ended", None)
    drive.send(codex("SessionStart-resume"), T0 + 10)
    assert drive.now(T0 + 11, "codex", CODEX_SID) == ("idle", None)
    assert drive.now(T0 + 5000, "codex", CODEX_SID) == ("idle", None)


# --- OpenCode: the plugin's frames ---------------------------------------------------------


def opencode(*records: dict[str, Any]) -> bytes:
    return json.dumps({"v": 1, "dropped": 0, "events": list(records)}).encode()


def test_opencode_plugin_frames_drive_the_now_state(tmp_path: Path) -> None:
    drive = Drive(OpenCode(str(tmp_path / "no-store"), {}), "opencode")
    s = {"sessionID": "ses_a"}
    steps: list[tuple[dict[str, Any], Now]] = [
        ({"type": "session.created", "directory": "/home/user/project", **s}, ("idle", None)),
        ({"type": "prompt", "providerID": "mock", "modelID": "gpt-5", **s}, ("model", None)),
        ({"type": "session.status", "status": "busy", **s}, ("model", None)),
        ({"type": "tool.started", "callID": "c1", "tool": "bash", **s}, ("tool", "bash")),
        ({"type": "permission.asked", **s}, ("waiting", "permission")),
        ({"type": "permission.replied", **s}, ("tool", "bash")),
        ({"type": "tool.started", "callID": "c2", "tool": "read", **s}, ("tool", "bash")),
        (
            {
                "type": "tool.finished",
                "callID": "c1",
                "tool": "bash",
                "status": "completed",
                "exit": 0,
                **s,
            },
            ("tool", "read"),
        ),
        (
            {"type": "tool.finished", "callID": "c2", "tool": "read", "status": "completed", **s},
            ("model", None),
        ),
        ({"type": "step.finished", "messageID": "msg_1", **s}, ("model", None)),
        ({"type": "question.asked", **s}, ("waiting", "input")),
        ({"type": "question.replied", **s}, ("model", None)),
        ({"type": "session.status", "status": "idle", **s}, ("idle", None)),
    ]
    for n, (record, expected) in enumerate(steps):
        drive.send(opencode(record), T0 + n)
        assert drive.now(T0 + n + 0.5, "opencode", "ses_a") == expected, record
    assert drive.now(T0 + 30, "opencode", "ses_a") == ("waiting", "input")
    (row,) = drive.agg.snapshot(T0 + 30).sessions
    tools = [(e.name, e.ok, e.duration_ms) for e in row.timeline if e.kind == "tool"]
    assert tools == [("read", True, 2000.0), ("bash", True, 4000.0)]


def test_opencode_events_missing_or_out_of_order(tmp_path: Path) -> None:
    drive = Drive(OpenCode(str(tmp_path / "no-store"), {}), "opencode")
    s = {"sessionID": "ses_b"}
    drive.send(opencode({"type": "prompt", **s}), T0)
    # a finish with no start (the plugin started after the call did)
    lost = {"type": "tool.finished", "callID": "lost", "tool": "bash", "status": "error",
            "exit": 3, "start": 1000.0, "end": 1800.0, **s}  # fmt: skip
    drive.send(opencode(lost), T0 + 1)
    assert drive.now(T0 + 2, "opencode", "ses_b") == ("model", None)
    (row,) = drive.agg.snapshot(T0 + 2).sessions
    assert [(e.name, e.ok, e.duration_ms) for e in row.timeline if e.kind == "tool"] == [
        ("bash", False, 800.0)
    ]
    # a turn that ends with a call never finished (a thrown tool has no `after`)
    drive.send(opencode({"type": "tool.started", "callID": "c1", "tool": "edit", **s}), T0 + 3)
    assert drive.now(T0 + 4, "opencode", "ses_b") == ("tool", "edit")
    drive.send(opencode({"type": "session.status", "status": "idle", **s}), T0 + 5)
    assert drive.now(T0 + 6, "opencode", "ses_b") == ("idle", None)
    # deleted mid-tool: ended, whatever was running
    drive.send(opencode({"type": "prompt", **s}), T0 + 10)
    drive.send(opencode({"type": "tool.started", "callID": "c2", "tool": "bash", **s}), T0 + 11)
    drive.send(opencode({"type": "session.deleted", **s}), T0 + 12)
    assert drive.now(T0 + 13, "opencode", "ses_b") == ("ended", None)


# --- Gemini CLI: its hooks (no call ids; BeforeTool/AfterTool) ------------------------------


def gemini_times(payload: dict[str, Any]) -> float:
    from aitop.providers.timestamps import parse_time

    return parse_time(payload["timestamp"], 0.0)


def test_gemini_hooks_drive_the_now_state() -> None:
    """G1's 68 payloads as Gemini CLI sent them, at their own times: `tool X` between a
    tool's BeforeTool and AfterTool (two at once: the oldest, and how many more)."""
    payloads = hook_payloads(G1)
    sid = payloads[0]["session_id"]
    drive = Drive(Gemini("/nonexistent/.gemini", use_inotify=False), "gemini")
    running: list[tuple[float, str]] = []
    seen: list[Now] = []
    for payload in payloads:
        at = gemini_times(payload)
        drive.send(as_sent(payload), at)
        kind = payload["hook_event_name"]
        if kind == "BeforeTool":
            running.append((at, payload["tool_name"]))
        elif kind == "AfterTool":
            running.remove(next(r for r in running if r[1] == payload["tool_name"]))
        state = drive.now(at + 0.01, "gemini", sid)
        expected: Now = {
            "SessionStart": ("idle", None),
            "AfterAgent": ("idle", None),
            "SessionEnd": ("ended", None),
        }.get(kind, ("tool", min(running)[1]) if running else ("model", None))
        assert state == expected, (kind, payload["timestamp"])
        if not seen or seen[-1] != state:
            seen.append(state)
    assert seen.count(("ended", None)) == 3
    assert {d for s, d in seen if s == "tool"} == {"read_file", "run_shell_command", "write_file"}


def gemini(event: str, at: float, **fields: Any) -> bytes:
    from datetime import UTC, datetime

    stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
    return json.dumps(
        {
            "session_id": "g1",
            "transcript_path": "/h/.gemini/tmp/p/chats/session-2026-12-01T03-34-g1.jsonl",
            "cwd": "/h/p",
            "hook_event_name": event,
            "timestamp": stamp.replace("+00:00", "Z"),
            **fields,
        }
    ).encode()


def test_gemini_permission_and_events_missing_or_out_of_order() -> None:
    drive = Drive(Gemini("/nonexistent/.gemini", use_inotify=False), "gemini")
    shell = {"tool_name": "run_shell_command", "tool_input": {"command": "make"}}
    drive.send(gemini("BeforeAgent", T0, prompt="build it"), T0)
    drive.send(gemini("BeforeTool", T0 + 1, **shell), T0 + 1)
    assert drive.now(T0 + 2, "gemini", "g1") == ("tool", "run_shell_command")
    permission = {"notification_type": "ToolPermission", "message": "Allow make?"}
    drive.send(gemini("Notification", T0 + 2, **permission), T0 + 2)
    assert drive.now(T0 + 3, "gemini", "g1") == ("waiting", "permission")
    drive.send(gemini("AfterTool", T0 + 40, **shell), T0 + 40)
    assert drive.now(T0 + 41, "gemini", "g1") == ("model", None)
    # an AfterTool whose BeforeTool never came
    drive.send(gemini("AfterTool", T0 + 42, tool_name="read_file",
                      tool_input={"file_path": "a.txt"}), T0 + 42)  # fmt: skip
    assert drive.now(T0 + 43, "gemini", "g1") == ("model", None)
    # the session ends mid-tool, and is resumed
    drive.send(gemini("BeforeTool", T0 + 44, **shell), T0 + 44)
    drive.send(gemini("SessionEnd", T0 + 45, reason="exit"), T0 + 45)
    assert drive.now(T0 + 46, "gemini", "g1") == ("ended", None)
    drive.send(gemini("SessionStart", T0 + 50, source="resume"), T0 + 50)
    assert drive.now(T0 + 51, "gemini", "g1") == ("idle", None)


# --- (agent, session id) -------------------------------------------------------------------


def test_the_same_session_id_from_two_agents_is_two_rows(tmp_path: Path) -> None:
    """Issue 12: a Claude Code and a Codex session with the same id (hook frames of both)
    are two rows, each with its own totals and its own NOW."""
    agg = Aggregator(PRICER, T0)
    claude = Drive(_claude_provider(tmp_path), "claude-code", agg)
    codex_ = Drive(Codex(str(tmp_path / "codex-home"), use_inotify=False), "codex", agg)
    claude_tool = json.loads((PAYLOADS / "PreToolUse-Bash.json").read_bytes())
    same = {"session_id": CODEX_SID}
    claude.send(json.dumps({**claude_tool, **same}).encode(), T0)
    for n in range(3):
        codex_.send(codex("PreToolUse-Bash", tool_use_id=f"exec-{n}"), T0 + 1 + n)
        codex_.send(codex("PostToolUse-Bash", tool_use_id=f"exec-{n}"), T0 + 1.5 + n)
    snap = agg.snapshot(T0 + 10)
    rows = {(r.agent, r.session_id): r for r in snap.sessions}
    assert set(rows) == {("claude-code", CODEX_SID), ("codex", CODEX_SID)}
    claude_row, codex_row = rows["claude-code", CODEX_SID], rows["codex", CODEX_SID]
    assert (claude_row.tool_calls, codex_row.tool_calls) == (1, 3)
    assert claude.now(T0 + 10, "claude-code", CODEX_SID) == ("tool", "Bash")
    assert codex_.now(T0 + 10, "codex", CODEX_SID) == ("model", None)
    assert len([e for e in codex_row.timeline if e.kind == "tool"]) == 3
    assert [e.kind for e in claude_row.timeline] == ["tool"]
    # one of them ending leaves the other as it was
    codex_.send(codex("SessionEnd-other"), T0 + 11)
    assert codex_.now(T0 + 12, "codex", CODEX_SID) == ("ended", None)
    assert claude.now(T0 + 12, "claude-code", CODEX_SID) == ("tool", "Bash")


def _claude_provider(tmp_path: Path) -> Provider:
    from aitop.providers.base import Where
    from aitop.providers.registry import AGENTS

    home = tmp_path / "claude"
    return AGENTS["claude-code"].make(Where(str(home), str(tmp_path / "s.sock"), {}))


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
