"""The real Claude Code CLI end to end: hooks written by `aitop install --write`, a real
`aitop -b --json`, scripted sessions against the mock API on 127.0.0.1.

aitop's figures must equal what the mock API returned, response by response, grouped by
the session id header Claude Code sends: every response counted once, the compaction
request (in no transcript) the one documented gap, and exactly that; and aitop's cost
plus the compaction's is Claude Code's own `cost-state` total.
"""

from __future__ import annotations

import json
import shlex
import shutil
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from aitop.pricing import Pricer
from aitop.providers.claude_code.hooks import HOOK_EVENTS

from .driver import ALLOW, SYSTEM_PATH, Rig, wait_until
from .ledger import Ledger, ledgers, total
from conftest import aitop_command

pytestmark = [pytest.mark.real_claude, pytest.mark.slow]

Snapshot = dict[str, Any]
MakeRig = Callable[..., Rig]
COUNTS = (
    "requests",
    "turns",
    "tool_calls",
    "tool_errors",
    "api_errors",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "compactions",
)
SETTLE_S = 30.0


def rows(snap: Snapshot) -> dict[str, dict[str, Any]]:
    return {row["session_id"]: row for row in snap["sessions"]}


def books(rig: Rig) -> dict[str, Ledger]:
    return ledgers(rig.api.requests(), Pricer.load())


def new_session() -> str:
    return str(uuid.uuid4())


def settled(rig: Rig, expected: dict[str, Ledger]) -> Snapshot:
    """The first snapshot that shows every session as the ledgers say, ended, with Claude
    Code's latest cost-state read; after SETTLE_S the last one, for the assertions to say
    what differs."""

    def done(snap: Snapshot) -> bool:
        found = rows(snap)
        for sid, ledger in expected.items():
            row = found.get(sid)
            if row is None or any(row[k] != v for k, v in ledger.expected_row().items()):
                return False
            if row["status"] != "ended" or row["agent_cost_usd"] != rig.sandbox.cost_state(sid):
                return False
        return True

    return rig.monitor.settle(done, timeout=SETTLE_S)


def assert_session(rig: Rig, snap: Snapshot, ledger: Ledger) -> None:
    sid = ledger.session_id
    row = rows(snap).get(sid)
    assert row is not None, f"no row for {sid} in {[r['session_id'] for r in snap['sessions']]}"
    expected = ledger.expected_row()
    assert {k: row[k] for k in expected} == expected, sid
    assert row["cost_usd"] == pytest.approx(ledger.transcribed.cost_usd, abs=1e-9), sid
    assert row["cost_usd"] > 0 or ledger.transcribed.requests == 0
    # the one gap, and exactly it: the compaction requests are in no transcript
    everything = ledger.everything.counts()
    gap = ledger.compaction.counts()
    assert {k: row[k] for k in everything} == {k: everything[k] - gap[k] for k in everything}
    # Claude Code's own total (written when a claude process ends) includes the compaction
    cost_state = rig.sandbox.cost_state(sid)
    if cost_state is not None:
        assert row["agent_cost_usd"] == cost_state
        assert row["cost_usd"] + ledger.compaction.cost_usd == pytest.approx(cost_state, abs=1e-9)
    # the session's own windows hold all of it: it ran within the last five minutes
    assert row["windows"] is not None, sid
    for name in ("5m", "15m"):
        window = row["windows"][name]
        assert {k: window[k] for k in expected if k != "subagents"} == {
            k: row[k] for k in expected if k != "subagents"
        }, (sid, name)
    assert row["project"] == rig.sandbox.project.name
    assert row["cwd"] == str(rig.sandbox.project)


def assert_windows_moved(
    before: Snapshot, snap: Snapshot, expected: list[Ledger], t0: float
) -> None:
    """Nothing before; afterwards since_start is the sum of the sessions (all of them began
    after aitop started) and the 1/5/15-minute windows hold it while it is fresh."""
    assert all(before["since_start"][k] == 0 for k in COUNTS)
    assert all(w[k] == 0 for w in before["windows"].values() for k in COUNTS)
    since = snap["since_start"]
    spent = total(expected)
    assert {k: since[k] for k in spent.counts()} == spent.counts()
    assert since["cost_usd"] == pytest.approx(spent.cost_usd, abs=1e-9)
    for key in ("tool_calls", "tool_errors", "api_errors", "compactions"):
        assert since[key] == sum(getattr(ledger, key) for ledger in expected), key
    session_rows = [rows(snap)[ledger.session_id] for ledger in expected]
    for key in COUNTS:
        assert since[key] == sum(row[key] for row in session_rows), key
    assert since["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in session_rows), abs=1e-9)
    assert since["turns"] > 0
    for name in ("5m", "15m"):
        window = snap["windows"][name]
        assert {k: window[k] for k in COUNTS} == {k: since[k] for k in COUNTS}, name
        assert window["cost_usd"] == pytest.approx(since["cost_usd"], abs=1e-9)
    minute = snap["windows"]["1m"]
    assert minute["requests"] > 0 and minute["output_tokens"] > 0 and minute["cost_usd"] > 0
    if snap["now"] - t0 < 55:  # everything happened within the last minute
        assert {k: minute[k] for k in COUNTS} == {k: since[k] for k in COUNTS}
        assert minute["cost_usd"] == pytest.approx(since["cost_usd"], abs=1e-9)


def subagent_shapes(rig: Rig, sid: str) -> list[str]:
    """How Claude Code ran each subagent of a session ("foreground"/"background")."""
    metas = rig.sandbox.projects_dir.glob(f"*/{sid}/subagents/agent-*.meta.json")
    return sorted(json.loads(p.read_text()).get("requestShape", "?") for p in metas)


def usage_lines(rig: Rig, sid: str) -> int:
    """Transcript lines (main and subagent files) that carry a response's usage."""
    files = [*rig.sandbox.projects_dir.glob(f"*/{sid}.jsonl")]
    files += rig.sandbox.projects_dir.glob(f"*/{sid}/subagents/*.jsonl")
    return sum(
        1
        for path in files
        for line in path.read_text().splitlines()
        if json.loads(line).get("type") == "assistant"
        and json.loads(line)["message"].get("model") != "<synthetic>"
    )


def test_install_writes_hooks_that_reach_the_monitor(make_rig: MakeRig) -> None:
    rig = make_rig()
    settings = json.loads(rig.sandbox.settings.read_text())
    assert settings["permissions"] == {"allow": list(ALLOW), "defaultMode": "default"}
    program = aitop_command()
    assert len(program) == 1, "the tests need the installed `aitop` script"
    command = f"{shlex.quote(program[0])} hook"
    assert {
        event: [h["command"] for group in groups for h in group["hooks"]]
        for event, groups in settings["hooks"].items()
    } == {event: [command] for event in HOOK_EVENTS}
    assert shutil.which("aitop", path=SYSTEM_PATH) is None  # hooks run by absolute path
    result = rig.sandbox.run_aitop("install", "--check", "--settings", str(rig.sandbox.settings))
    assert result.returncode == 0, result.stdout + result.stderr
    before = rig.monitor.next()
    sid = new_session()
    rig.claude.run("Please run [bash:echo hi]", session_id=sid)
    expected = books(rig)
    assert list(expected) == [sid]
    snap = settled(rig, expected)
    assert_session(rig, snap, expected[sid])
    assert snap["ingest"]["frames"] > before["ingest"]["frames"]
    assert all(
        snap["ingest"][k] == 0 for k in ("rejected_malformed", "rejected_oversize", "rejected_peer")
    )
    assert snap["transcripts"]["unsafe_paths"] == 0


def test_tools_failure_foreground_subagent_compaction_resume(make_rig: MakeRig) -> None:
    rig = make_rig()
    before = rig.monitor.next()
    t0 = time.time()
    sid = new_session()
    notes = rig.sandbox.project / "notes.txt"
    rig.claude.run(
        f"Please run [bash:echo hi] [read:{notes}] || [fail] || [task-fg]", session_id=sid
    )
    rig.claude.run("/compact", session_id=sid, resume=True)
    rig.claude.run("One more [bash:echo again]", session_id=sid, resume=True)
    expected = books(rig)
    assert list(expected) == [sid]  # the resumes are the same session
    ledger = expected[sid]
    # the scenario did what it says (facts about the mock's log, not about aitop)
    assert ledger.largest_batch >= 2, "no parallel tool calls"
    assert ledger.tool_errors >= 1, "no failing tool"
    assert ledger.subagents == 1 and subagent_shapes(rig, sid) == ["foreground"]
    assert ledger.compactions == 1 and ledger.compaction.requests == 1
    # one line per content block, each with the response's usage: summing lines overcounts
    assert usage_lines(rig, sid) > ledger.transcribed.requests
    snap = settled(rig, expected)
    assert [row["session_id"] for row in snap["sessions"]] == [sid]
    assert_session(rig, snap, ledger)
    assert rows(snap)[sid]["status"] == "ended"
    assert rig.sandbox.cost_state(sid) is not None
    assert_windows_moved(before, snap, [ledger], t0)


def test_background_subagent(make_rig: MakeRig) -> None:
    rig = make_rig()
    before = rig.monitor.next()
    t0 = time.time()
    sid = new_session()
    rig.claude.run("Please [task]", session_id=sid)
    expected = books(rig)
    ledger = expected[sid]
    assert ledger.subagents == 1 and subagent_shapes(rig, sid) == ["background"]
    notified = [
        r for r in rig.api.requests() if "</task-notification>" in (r.get("prompt_tail") or "")
    ]
    assert notified, "the background agent's result never came back as a turn"
    snap = settled(rig, expected)
    assert_session(rig, snap, ledger)
    row = rows(snap)[sid]
    assert [(s["subagent_type"], s["requests"] > 0) for s in row["subagent_rows"]] == [
        ("general-purpose", True)
    ]
    assert_windows_moved(before, snap, [ledger], t0)


def test_api_error(make_rig: MakeRig) -> None:
    rig = make_rig()
    before = rig.monitor.next()
    t0 = time.time()
    sid = new_session()
    rig.claude.run("Please run [bash:echo hi]", session_id=sid)
    failed = rig.claude.start("Please [api-error] now", session_id=sid, resume=True)
    assert failed.wait() != 0, failed.output()
    assert "API Error: 400" in failed.stdout_path.read_text() + failed.stderr_path.read_text()
    expected = books(rig)
    ledger = expected[sid]
    assert ledger.http_errors > 0 and ledger.api_errors == 1
    snap = settled(rig, expected)
    assert_session(rig, snap, ledger)
    assert_windows_moved(before, snap, [ledger], t0)


def test_two_sessions_at_once(make_rig: MakeRig) -> None:
    rig = make_rig()
    before = rig.monitor.next()
    t0 = time.time()
    first, second = new_session(), new_session()
    # [slow:MS] holds each response open: both sessions are mid-turn at the same time
    runs = [
        rig.claude.start("Please run [bash:echo one] [slow:1000]", session_id=first),
        rig.claude.start(
            "Please run [bash:echo two] [read:/etc/hostname] [slow:1000]", session_id=second
        ),
    ]

    def both_active(snap: Snapshot) -> bool:
        found = rows(snap)
        return all(found.get(sid, {}).get("status") == "active" for sid in (first, second))

    together = rig.monitor.wait_for(both_active, timeout=60)
    assert all(row["status"] == "active" for row in together["sessions"])
    for run in runs:
        assert run.wait() == 0, run.output()
    expected = books(rig)
    assert sorted(expected) == sorted([first, second])
    assert expected[first].tool_calls != expected[second].tool_calls  # told apart below
    snap = settled(rig, expected)
    for sid in (first, second):
        assert_session(rig, snap, expected[sid])
    assert_windows_moved(before, snap, list(expected.values()), t0)


def test_interactive_tui_waiting_then_stop_failure(make_rig: MakeRig) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: the interactive Claude Code test needs it")
    rig = make_rig(idle_notification_ms=2000)  # the idle Notification fires after 2 s
    sid = new_session()
    rig.tmux.start(rig.claude.tui_command(sid))
    rig.tmux.wait_pane(r"\? for shortcuts|❯")
    rig.monitor.wait_for(lambda snap: sid in rows(snap), timeout=SETTLE_S)  # SessionStart

    rig.tmux.type("Please run [bash:echo hi]")
    # Stop, then after 2 s of nothing the idle_prompt Notification: waiting for input
    waiting = rig.monitor.wait_for(
        lambda snap: rows(snap).get(sid, {}).get("status") == "waiting", timeout=60
    )
    row = rows(waiting)[sid]
    assert row["waiting_for"] == "input"
    assert row["turns"] == 1  # the one prompt typed so far
    first_turn = books(rig)[sid].expected_row()
    assert {k: row[k] for k in first_turn} == first_turn

    rig.tmux.type("Please [api-error] now")
    answered = rig.monitor.wait_for(
        lambda snap: rows(snap)[sid]["status"] == "active", timeout=SETTLE_S
    )
    assert rows(answered)[sid]["waiting_for"] is None  # the user typed: no longer waiting
    rig.tmux.wait_pane(r"API Error: 400")
    frames = waiting["ingest"]["frames"]

    def failed(snap: Snapshot) -> bool:  # UserPromptSubmit, StopFailure: two more frames
        return rows(snap)[sid]["api_errors"] >= 1 and snap["ingest"]["frames"] >= frames + 2

    after = rig.monitor.wait_for(failed, timeout=SETTLE_S)
    row = rows(after)[sid]
    assert row["api_errors"] == books(rig)[sid].api_errors == 1
    assert row["turns"] == 1  # a failed turn ends in StopFailure, not Stop

    rig.tmux.type("/exit")
    wait_until(lambda: not rig.tmux.alive(), "the TUI to exit", 30, 0.2)
    expected = books(rig)
    assert list(expected) == [sid]
    assert expected[sid].api_errors == 1
    snap = settled(rig, expected)
    assert_session(rig, snap, expected[sid])
    assert rows(snap)[sid]["waiting_for"] is None
