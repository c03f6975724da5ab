"""The real OpenCode CLI end to end: aitop's plugin written by `aitop install --agent
opencode --write`, a real `aitop -b --json`, scripted sessions against the mock LLM API on
127.0.0.1 (both wire protocols: Anthropic Messages and OpenAI-compatible Chat Completions).

aitop's figures must equal what the mock answered, request by request, grouped by the
`x-session-id` header OpenCode sends (a subagent's under its root session): every request
counted once, minus exactly the title request (which OpenCode stores nowhere); the cost
equal to the price table's rates applied here by hand; OpenCode's own figure beside it.
`aitop report session` over the same store gives each session the live row's figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from .driver import wait_until
from .opencode_driver import GPT, HAIKU, OpenCodeRig
from .opencode_ledger import OpenCodeLedger, ledgers, output_of

pytestmark = [pytest.mark.real_opencode, pytest.mark.slow]

Snapshot = dict[str, Any]
MakeRig = Callable[..., OpenCodeRig]
SETTLE_S = 30.0
REPORTED = ("requests", "input_tokens", "output_tokens", "cache_read_tokens",
            "cache_write_tokens", "reasoning_tokens", "cost_usd")  # fmt: skip


def rows(snap: Snapshot) -> dict[str, dict[str, Any]]:
    return {row["session_id"]: row for row in snap["sessions"]}


def books(rig: OpenCodeRig) -> dict[str, OpenCodeLedger]:
    parents = dict(rig.sandbox.query("SELECT id, parent_id FROM session"))
    return ledgers(rig.mock.requests(), parents)


def own_costs(rig: OpenCodeRig, root: str) -> float:
    """OpenCode's own price of the session tree: the sum of its assistant rows' `cost`."""
    found = rig.sandbox.query(
        "SELECT sum(json_extract(m.data, '$.cost')) FROM message m JOIN session s"
        " ON s.id = m.session_id WHERE (s.id = ?1 OR s.parent_id = ?1)"
        " AND json_extract(m.data, '$.role') = 'assistant'",
        (root,),
    )
    return float(found[0][0] or 0.0)


def matches(row: dict[str, Any] | None, ledger: OpenCodeLedger) -> bool:
    return row is not None and all(row[k] == v for k, v in ledger.expected_row().items())


def settled(
    rig: OpenCodeRig, expected: dict[str, OpenCodeLedger], status: str = "ended"
) -> Snapshot:
    """The first snapshot that shows every session as the ledgers say; after SETTLE_S the
    last one, for the assertions to say what differs."""

    def done(snap: Snapshot) -> bool:
        found = rows(snap)
        return all(
            matches(found.get(sid), ledger) and found[sid]["status"] == status
            for sid, ledger in expected.items()
        )

    return rig.monitor.settle(done, timeout=SETTLE_S)


def assert_session(rig: OpenCodeRig, snap: Snapshot, ledger: OpenCodeLedger) -> None:
    sid = ledger.session_id
    row = rows(snap).get(sid)
    assert row is not None, f"no row for {sid} in {[r['session_id'] for r in snap['sessions']]}"
    expected = ledger.expected_row()
    assert {k: row[k] for k in expected} == expected, sid
    assert ledger.title_requests == 1  # one per new session, and in no row: the one gap
    assert row["cost_usd"] == pytest.approx(ledger.cost_usd, abs=1e-9), sid
    assert row["cost_usd"] > 0
    assert not row["cost_estimated"]
    theirs = own_costs(rig, sid)
    if theirs > 0:
        assert row["agent_cost_usd"] == pytest.approx(theirs, abs=1e-12)
    else:
        assert row["agent_cost_usd"] is None
    assert row["agent"] == "opencode"
    assert row["cwd"] == str(rig.sandbox.project)
    assert row["windows"] is not None
    for name in ("5m", "15m"):
        window = row["windows"][name]
        assert (
            window["requests"] == row["requests"]
            and window["output_tokens"] == row["output_tokens"]
        )


def assert_report_is_live(rig: OpenCodeRig, snap: Snapshot) -> None:
    """`aitop report session --json` over the run's store: each session's figures are its
    live row's, to the token and the pico-dollar."""
    done = rig.sandbox.run_aitop("report", "session", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["reading"]["unreadable"] == []
    reported = {row["session_id"]: row for row in document["rows"] if row["agent"] == "opencode"}
    live = {sid: row for sid, row in rows(snap).items() if row["requests"]}
    assert set(reported) == set(live)
    for sid, row in live.items():
        assert {k: reported[sid][k] for k in REPORTED} == {k: row[k] for k in REPORTED}, sid
    (note,) = [log for log in document["logs"] if log["agent"] == "opencode"]
    assert note["read"] and note["files"] == 1


def no_npm(rig: OpenCodeRig) -> None:
    """aitop's seeds kept OpenCode from installing anything before loading the plugin."""
    modules = rig.sandbox.config_dir / "node_modules"
    assert modules.is_dir() and list(modules.iterdir()) == []


def test_tools_continued_models_subagent_api_error(make_opencode_rig: MakeRig) -> None:
    rig = make_opencode_rig()
    before = rig.monitor.next()
    project = rig.sandbox.project
    first = rig.run(
        f"Please run [bash:echo hi] [read:{project}/notes.txt] || [fail]"
        f" [read:{project}/missing.txt] || [bash:echo third]"
    )
    sid = first.session_id
    assert sid is not None
    rig.run("One more [bash:echo again]", model=HAIKU, session=sid)  # continued, 2nd model
    rig.run("Now think [think] [bash:echo three]", model=GPT, session=sid)  # OpenAI wire
    delegated = rig.run("Please delegate [task]")
    failed = rig.run("Please [api-error] now", expect=None)
    assert failed.returncode != 0, failed.output()
    rig.run("Recover [bash:echo ok]", session=failed.session_id)
    roots = [sid, delegated.session_id, failed.session_id]
    expected = books(rig)
    assert sorted(expected) == sorted(roots)
    # the scenarios did what they say (facts about the mock and OpenCode, not about aitop)
    assert expected[sid].models == {"claude-sonnet-4-5", "claude-haiku-4-5", "gpt-5"}
    assert expected[sid].tokens["reasoning"] > 0
    assert len(expected[delegated.session_id].sessions) == 2
    assert expected[failed.session_id].http_errors == 1
    snap = settled(rig, expected)
    for root in roots:
        assert_session(rig, snap, expected[root])
        assert rows(snap)[root]["status"] == "ended"  # the plugin's pid: its process exited
    by_root = {root: [i.stdout for i in rig.invocations if i.session_id == root] for root in roots}
    for root in roots:
        said = output_of(by_root[root])
        row = rows(snap)[root]
        assert (row["tool_errors"], row["api_errors"], row["turns"]) == (
            said.tool_errors,
            said.api_errors,
            said.turns,
        ), root
    assert output_of(by_root[sid]).tool_errors == 2  # exit 3, and a file that is not there
    assert rows(snap)[delegated.session_id]["subagent_rows"][0]["subagent_type"] == "general"
    assert rows(snap)[failed.session_id]["api_errors"] == 1
    assert rows(snap)[sid]["model"] == "gpt-5"
    # the plugin's frames arrived and none was refused
    assert snap["ingest"]["frames"] > before["ingest"]["frames"]
    assert all(snap["ingest"][k] == 0 for k in ("rejected_malformed", "rejected_oversize"))
    since = snap["since_start"]
    assert since["requests"] == sum(ledger.requests for ledger in expected.values())
    assert since["cost_usd"] == pytest.approx(sum(e.cost_usd for e in expected.values()), abs=1e-9)
    assert_report_is_live(rig, snap)
    no_npm(rig)


def test_without_the_plugin_sessions_come_from_the_store_alone(make_opencode_rig: MakeRig) -> None:
    rig = make_opencode_rig(plugin=False)
    assert not (rig.sandbox.config_dir / "plugin").exists()
    first = rig.run("Please run [bash:echo hi] || [fail]")
    assert first.session_id is not None
    rig.run("Again [bash:echo two]", model=HAIKU, session=first.session_id)
    delegated = rig.run("Please delegate [task]")
    expected = books(rig)
    assert sorted(expected) == sorted([first.session_id, delegated.session_id])
    # no process to watch: a session the store shows working lately is active
    snap = settled(rig, expected, status="active")
    for ledger in expected.values():
        assert_session(rig, snap, ledger)
        assert rows(snap)[ledger.session_id]["pid"] is None
    assert snap["ingest"]["frames"] == 0
    assert rows(snap)[first.session_id]["tool_errors"] == 1
    text = json.dumps(snap["diagnostics"])
    assert "aitop's plugin is not in" in text and "title request" in text
    assert_report_is_live(rig, snap)


def test_status_follows_opencodes_session_status(make_opencode_rig: MakeRig) -> None:
    """`opencode serve` loads the plugin and lives on between prompts: a session whose turn
    ended waits for its user; a new prompt makes it active; the server's exit ends it."""
    rig = make_opencode_rig()
    url, pid = rig.serve()
    first = rig.run("Please run [bash:echo hi]", attach=url)
    sid = first.session_id
    assert sid is not None

    def status(want: str) -> Callable[[Snapshot], bool]:
        return lambda snap: rows(snap).get(sid, {}).get("status") == want

    waiting = rig.monitor.wait_for(status("waiting"), timeout=SETTLE_S)
    row = rows(waiting)[sid]
    assert (row["waiting_for"], row["pid"]) == ("input", pid)
    # a prompt that takes a while: the session works, then waits again
    process, name = rig.start("Again [bash:echo two] [slow:4000]", session=sid, attach=url)
    active = rig.monitor.wait_for(status("active"), timeout=SETTLE_S)
    assert rows(active)[sid]["waiting_for"] is None
    rig.finish(process, name, "Again", "", expect=0)
    rig.monitor.wait_for(status("waiting"), timeout=SETTLE_S)
    expected = books(rig)
    assert list(expected) == [sid]
    snap = settled(rig, expected, status="waiting")
    assert_session(rig, snap, expected[sid])
    rig.stop_serve()
    wait_until(lambda: status("ended")(rig.monitor.next()), "the session to end", SETTLE_S)
    no_npm(rig)
