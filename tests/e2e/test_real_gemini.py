"""The real Gemini CLI end to end: hooks written by `aitop install --agent gemini --write`, a
real `aitop -b --json`, scripted sessions against the mock Gemini API on 127.0.0.1, driven by
tests/fixtures/gemini/run_real_gemini.sh.

aitop's session rows must equal what the mock returned, response by response, grouped by the
session of the invocation that made it: every main-chat and subagent response counted once;
the model router's classifier calls (in no chat file) the one documented gap, and exactly
that; failed requests counted as API errors; the cost equal to one computed from the price
table apart from aitop's pricing code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aitop.providers.gemini.hooks import HOOK_EVENTS

from .gemini_driver import USER_SETTINGS, GeminiRig
from .gemini_ledger import GeminiLedger, PriceTable

pytestmark = [pytest.mark.real_gemini, pytest.mark.slow]

Snapshot = dict[str, Any]
SETTLE_S = 30.0
ROW_COUNTS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
)


def rows(snap: Snapshot) -> dict[str, dict[str, Any]]:
    return {row["session_id"]: row for row in snap["sessions"] if row["agent"] == "gemini"}


def expected_row(ledger: GeminiLedger) -> dict[str, Any]:
    return {
        **ledger.counts(),
        "tool_calls": ledger.tool_calls,
        "tool_errors": ledger.tool_errors,
        "api_errors": ledger.http_errors,
        "turns": ledger.turns,
        "subagents": ledger.subagent_runs,
    }


def settled(rig: GeminiRig, expected: dict[str, GeminiLedger]) -> Snapshot:
    """The first snapshot that shows every session as its ledger says, ended; after
    SETTLE_S the last one, for the assertions to say what differs."""

    def done(snap: Snapshot) -> bool:
        found = rows(snap)
        for sid, ledger in expected.items():
            row = found.get(sid)
            if row is None or any(row[k] != v for k, v in expected_row(ledger).items()):
                return False
            if row["status"] != "ended":
                return False
        return True

    return rig.monitor.settle(done, timeout=SETTLE_S)


def assert_session(
    snap: Snapshot, ledger: GeminiLedger, table: PriceTable, requests: list[dict[str, Any]]
) -> None:
    sid = ledger.session_id
    row = rows(snap).get(sid)
    assert row is not None, f"no row for {sid} in {[r['session_id'] for r in snap['sessions']]}"
    expected = expected_row(ledger)
    assert {k: row[k] for k in expected} == expected, sid
    assert row["cost_usd"] == pytest.approx(float(ledger.cost_usd(table)), abs=1e-9), sid
    assert row["cost_usd"] > 0 and not row["cost_estimated"]
    # the one gap, and exactly it: the router's classifier calls are in no chat file
    everything = ledger.counts([*ledger.chat, *ledger.router])
    gap = ledger.counts(ledger.router)
    assert {k: row[k] for k in ROW_COUNTS} == {k: everything[k] - gap[k] for k in ROW_COUNTS}
    assert ledger.router and all(is_router_call(requests[r.seq - 1]) for r in ledger.router)
    assert row["reasoning_tokens"] == sum(r.normalised().reasoning_tokens for r in ledger.chat)
    assert row["status"] == "ended"


def is_router_call(request: dict[str, Any]) -> bool:
    """A request of the model router: `generateContent` on the flash-lite model, asking for
    a complexity score, with no tools (the README's description of what no chat file holds)."""
    schema = (request.get("generationConfig") or {}).get("responseJsonSchema") or {}
    return (
        request["path"].endswith(":generateContent")
        and request["model"] == "gemini-3.5-flash-lite"
        and not request.get("tools")
        and "complexity_score" in (schema.get("properties") or {})
    )


class Played:
    """The scenario, played once in one rig (one HOME, one mock, one monitor)."""

    def __init__(self, rig: GeminiRig) -> None:
        self.rig = rig
        self.before = rig.monitor.next()
        missing = rig.project / "missing.txt"
        notes = rig.project / "notes.txt"
        self.run = rig.run(
            # tools in parallel, a tool that fails (a missing file), a shell exiting 3
            f"Please run [shell:echo hi] [read:{missing}] || [fail] || [read:{notes}]",
            # an API error (HTTP 400: not retried), in the same session
            "Please [api-error:400] now",
            # resumed again, on a second model
            "@model=gemini-2.5-flash One more [shell:echo again] [cached:5000]",
            # a new session that runs a subagent
            "@new Please delegate [agent:generalist]",
        )
        self.invocations = rig.invocations()
        self.requests = rig.requests()
        self.ledgers = rig.ledgers()
        self.sessions = list(dict.fromkeys(run["session_id"] for run in self.invocations))


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory, gemini_prefix: Path) -> Iterator[Played]:
    rig = GeminiRig(tmp_path_factory.mktemp("gemini-scenario"), gemini_prefix)
    try:
        yield Played(rig)
    finally:
        rig.close()


MakeRig = Callable[..., GeminiRig]


@pytest.fixture
def make_rig(tmp_path: Path, gemini_prefix: Path) -> Iterator[MakeRig]:
    rigs: list[GeminiRig] = []

    def make(**options: Any) -> GeminiRig:
        rig = GeminiRig(tmp_path / f"rig{len(rigs)}", gemini_prefix, **options)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


def test_the_scenario_did_what_it_says(played: Played) -> None:
    """Facts about the mock's log and the CLI's exits, not about aitop."""
    codes = [run["rc"] for run in played.invocations]
    assert codes[0] == 0 and codes[1] != 0 and codes[2:] == [0, 0], [
        played.rig.output(run["n"]) for run in played.invocations if run["rc"]
    ]
    first, second = (played.ledgers[sid] for sid in played.sessions)
    assert first.invocations == 3 and second.invocations == 1
    assert first.tool_calls >= 4 and first.tool_errors == 1
    assert first.http_errors == 1
    assert first.models == {"gemini-3.8-flash", "gemini-2.5-flash"}
    assert second.subagent_runs == 1
    subagent_files = list(played.rig.gemini_dir.glob(f"tmp/*/chats/{second.session_id}/*.jsonl"))
    assert len(subagent_files) == 1


def test_each_session_row_is_its_mock_ledger_exactly(played: Played) -> None:
    snap = settled(played.rig, played.ledgers)
    table = PriceTable()
    assert sorted(rows(snap)) == sorted(played.ledgers)
    for ledger in played.ledgers.values():
        assert_session(snap, ledger, table, played.requests)
    second = rows(snap)[played.sessions[1]]
    (sub,) = second["subagent_rows"]
    assert sub["subagent_type"] == "generalist" and sub["requests"] > 0
    assert second["requests"] > sub["requests"]  # the parent's own and the subagent's
    assert {r["model"] for r in snap["models"]} >= {"gemini-3.8-flash", "gemini-2.5-flash"}
    # the windows hold all of it, and nothing was there before
    since = snap["since_start"]
    for key in (*ROW_COUNTS, "tool_calls", "tool_errors", "api_errors", "turns"):
        assert played.before["since_start"][key] == 0
        assert since[key] == sum(row[key] for row in rows(snap).values()), key
    assert since["compactions"] == 0  # PreCompress fired before every turn
    assert snap["ingest"]["frames"] > 0
    assert all(
        snap["ingest"][k] == 0 for k in ("rejected_malformed", "rejected_oversize", "rejected_peer")
    )


def test_the_report_of_the_run_is_each_live_row(played: Played) -> None:
    """`aitop report session --json` over the run's chat files (the history's reading, not
    the monitor's): each session's tokens and cost are its live row's, to the token."""
    snap = settled(played.rig, played.ledgers)
    done = played.rig.aitop("report", "session", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    reported = {row["session_id"]: row for row in document["rows"] if row["agent"] == "gemini"}
    live = rows(snap)
    assert sorted(reported) == sorted(live) == sorted(played.ledgers)
    for sid, row in live.items():
        for key in (*ROW_COUNTS, "reasoning_tokens", "cost_usd"):
            assert reported[sid][key] == row[key], (sid, key)
    (log,) = [log for log in document["logs"] if log["agent"] == "gemini"]
    chat_files = list(played.rig.gemini_dir.glob("tmp/*/chats/**/*.jsonl"))
    assert log["read"] and log["files"] == len(chat_files) == 3  # 2 sessions, 1 subagent
    assert log["retention"].startswith("Gemini CLI deletes a project's sessions not updated")


def test_tool_durations_come_from_the_hooks(played: Played) -> None:
    snap = settled(played.rig, played.ledgers)
    tools = {t["name"]: t for t in snap["tools"]}
    assert {"run_shell_command", "read_file", "invoke_agent", "complete_task"} <= set(tools)
    for name in ("run_shell_command", "read_file", "invoke_agent"):
        assert tools[name]["p50_ms"] is not None and tools[name]["p50_ms"] >= 0, name
    assert tools["read_file"]["errors"] == 1


def test_install_kept_the_users_settings_and_check_says_all_is_well(played: Played) -> None:
    rig = played.rig
    settings = json.loads(rig.settings.read_text())
    assert settings["ui"] == USER_SETTINGS["ui"]
    ours = [
        hook["command"]
        for event in HOOK_EVENTS
        for group in settings["hooks"][event]
        for hook in group["hooks"]
        if hook["command"] != "true"
    ]
    assert len(ours) == len(HOOK_EVENTS) and len(set(ours)) == 1
    assert ours[0].endswith(" hook --agent gemini") and ours[0].startswith("/")
    assert settings["hooks"]["AfterTool"][0] == USER_SETTINGS["hooks"]["AfterTool"][0]
    check = rig.aitop("install", "--check")  # finds Gemini CLI by its directory
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("ok: 11 of 11 hook events registered in ~/.gemini/settings.json")


def test_without_hooks_the_chat_files_still_count_exactly(make_rig: MakeRig) -> None:
    """What comes from logs: a session no hook announced is found, and its tokens are
    exact; what only hooks say (failed requests, tool durations) is then missing."""
    rig = make_rig(hooks=False)
    before = rig.monitor.next()
    rig.run("Please run [shell:echo hi] || [fail]")
    expected = rig.ledgers()
    snap = rig.monitor.settle(
        lambda s: all(
            rows(s).get(sid, {}).get("requests") == b.counts()["requests"]
            for sid, b in expected.items()
        ),
        timeout=SETTLE_S,
    )
    (ledger,) = expected.values()
    row = rows(snap)[ledger.session_id]
    assert {k: row[k] for k in ROW_COUNTS} == ledger.counts()
    assert row["tool_calls"] == ledger.tool_calls and row["turns"] == 1
    assert snap["ingest"]["frames"] == before["ingest"]["frames"] == 0
