"""Real Claude Code 2.1.330, Codex 0.171.0, OpenCode 1.18.33 and Gemini CLI 0.61.0 at the
same time, each against its own loopback mock, all four feeding ONE real `aitop -b --json`:
Claude Code's and Codex's and Gemini CLI's hooks through real `aitop hook` processes,
OpenCode's through aitop's plugin, all on the one socket; tokens from each agent's own logs
(Claude Code's transcripts, Codex's rollouts, OpenCode's store, Gemini CLI's chat files).

Every session row of every agent must equal what its own mock answered (tokens exactly, cost
as each ledger prices it apart from aitop's pricing), with its tools and failures, turns,
subagents and API errors; minus exactly the gaps each agent's README documents (OpenCode's
title request, Gemini CLI's router calls); and the per-agent and overall totals must add up.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aitop import paths
from aitop.pricing import Pricer

from .codex_driver import SCENARIOS, CodexRig, ScenarioRun, run_scenario
from .codex_ledger import CodexLedger, codex_ledgers, openai_cost
from .driver import Rig
from .gemini_driver import GeminiRig
from .gemini_ledger import GeminiLedger, PriceTable
from .ledger import Ledger
from .ledger import ledgers as claude_ledgers
from .opencode_driver import HAIKU, Invocation, OpenCodeRig
from .opencode_ledger import TOKENS as OPENCODE_TOKENS
from .opencode_ledger import OpenCodeLedger, output_of
from .test_real_claude import assert_session as assert_claude_session
from .test_real_gemini import assert_session as assert_gemini_session
from .test_real_gemini import expected_row as gemini_row
from .test_real_opencode import assert_session as assert_opencode_session
from .test_real_opencode import books as opencode_books
from .test_real_opencode import matches as opencode_matches
from conftest import aitop_command
from support import Monitor

pytestmark = [
    pytest.mark.real_claude,
    pytest.mark.real_codex,
    pytest.mark.real_opencode,
    pytest.mark.real_gemini,
    pytest.mark.slow,
]

Snapshot = dict[str, Any]
PRICER = Pricer.load()
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
COUNTS = (*TOKENS, "requests", "tool_calls", "tool_errors", "api_errors", "turns")
AGENTS = ("claude-code", "codex", "opencode", "gemini")
REFUSALS = ("rejected_malformed", "rejected_oversize", "rejected_peer", "rejected_overload")
PLAY_TIMEOUT_S = 600.0  # all of an agent's sessions; each invocation has its own timeout
SETTLE_S = 60.0


@dataclass
class OpenCodePlay:
    """Tools with failures, the session continued on a second model; a subagent (`task`)."""

    tools: Invocation
    delegated: Invocation
    ledgers: dict[str, OpenCodeLedger]

    @property
    def roots(self) -> list[str]:
        return [sid for sid in (self.tools.session_id, self.delegated.session_id) if sid]


@dataclass
class GeminiPlay:
    """Tools with a failure; an API error; resumed on a second model: one session."""

    invocations: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    ledgers: dict[str, GeminiLedger]


@dataclass
class World:
    claude: Rig
    opencode: OpenCodeRig
    claude_ledger: Ledger
    codex_runs: dict[str, ScenarioRun]
    codex_ledgers: dict[str, CodexLedger]
    opencode_play: OpenCodePlay
    gemini_play: GeminiPlay
    before: Snapshot
    last: Snapshot


def _codex_cost(ledger: CodexLedger) -> float:
    """Each response the mock answered, priced at its own time and model by OpenAI's rules
    read off the price data (not by aitop's pricing code)."""
    table = PriceTable()
    return float(sum(openai_cost(response, table) for response in ledger.responses))


def _rows(snap: Snapshot, agent: str) -> dict[str, dict[str, Any]]:
    return {row["session_id"]: row for row in snap["sessions"] if row["agent"] == agent}


# --- each agent's sessions, played on its own thread -------------------------------------------


def play_claude(rig: Rig) -> Ledger:
    sid = str(uuid.uuid4())
    notes = rig.sandbox.project / "notes.txt"
    rig.claude.run(f"Please run [bash:echo hi] [read:{notes}] || [fail]", session_id=sid)
    rig.claude.run("One more [bash:echo again]", session_id=sid, resume=True)
    (ledger,) = claude_ledgers(rig.api.requests(), PRICER).values()
    return ledger


def play_codex(rig: CodexRig) -> dict[str, ScenarioRun]:
    return {s.name: run_scenario(rig, s) for s in SCENARIOS}


def play_opencode(rig: OpenCodeRig) -> OpenCodePlay:
    project = rig.sandbox.project
    tools = rig.run(
        f"Please run [bash:echo hi] [read:{project}/notes.txt] || [fail]"
        f" [read:{project}/missing.txt]"
    )
    assert tools.session_id is not None, tools.output()
    rig.run("One more [bash:echo again]", model=HAIKU, session=tools.session_id)
    delegated = rig.run("Please delegate [task]")
    return OpenCodePlay(tools, delegated, opencode_books(rig))


def play_gemini(rig: GeminiRig) -> GeminiPlay:
    missing = rig.project / "missing.txt"
    rig.run(
        f"Please run [shell:echo hi] [read:{missing}] || [fail]",
        "Please [api-error:400] now",
        "@model=gemini-2.5-flash One more [shell:echo again]",
    )
    return GeminiPlay(rig.invocations(), rig.requests(), rig.ledgers())


def _settled(
    claude: Rig,
    claude_ledger: Ledger,
    codex: dict[str, CodexLedger],
    opencode: dict[str, OpenCodeLedger],
    gemini: dict[str, GeminiLedger],
) -> Callable[[Snapshot], bool]:
    """Every agent's every session as its ledger says (and ended, where an agent says so)."""

    def done(snap: Snapshot) -> bool:
        rows = {row["session_id"]: row for row in snap["sessions"]}
        mine = rows.get(claude_ledger.session_id)
        if mine is None or mine["status"] != "ended":
            return False
        if any(mine[k] != v for k, v in claude_ledger.expected_row().items()):
            return False
        if mine["agent_cost_usd"] != claude.sandbox.cost_state(claude_ledger.session_id):
            return False
        for sid, codex_ledger in codex.items():
            row = rows.get(sid)
            if row is None or row["requests"] != len(codex_ledger.responses):
                return False
        for sid, opencode_ledger in opencode.items():
            row = rows.get(sid)
            if row is None or not opencode_matches(row, opencode_ledger):
                return False
            if row["status"] != "ended":
                return False
        for sid, gemini_ledger in gemini.items():
            row = rows.get(sid)
            if row is None or row["status"] != "ended":
                return False
            if any(row[k] != v for k, v in gemini_row(gemini_ledger).items()):
                return False
        return True

    return done


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
    claude_binary: Path,
    codex_js: Path,
    opencode_binary: Path,
    gemini_prefix: Path,
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("agents")
    with contextlib.ExitStack() as stack:
        claude = Rig(root / "claude", claude_binary, monitor=False)
        stack.callback(claude.close)
        socket = claude.sandbox.socket  # Claude Code's hooks use the sandbox's
        (program,) = aitop_command()
        hook = f"{shlex.quote(program)} hook --agent codex --socket {socket}"
        codex = CodexRig(root / "codex", codex_js, hook_command=hook)
        stack.callback(codex.close)
        opencode = OpenCodeRig(root / "opencode", opencode_binary, monitor=False, socket=socket)
        stack.callback(opencode.close)
        gemini = GeminiRig(root / "gemini", gemini_prefix, monitor=False, socket=socket)
        stack.callback(gemini.close)
        # as on a machine where OpenCode ran before: --opencode-data names a directory
        opencode.sandbox.data_dir.mkdir(parents=True, exist_ok=True)
        env = claude.sandbox.aitop_env() | {
            "CODEX_HOME": str(codex.sandbox.codex_home),
            # where OpenCode loads its plugins, for aitop to see its plugin there
            "XDG_CONFIG_HOME": str(opencode.sandbox.config_home),
        }
        monitor = Monitor(
            env,
            "--timeline",
            "--opencode-data",
            str(opencode.sandbox.data_dir),
            "--gemini-dir",
            str(gemini.gemini_dir),
            delay=0.2,
        )

        def stop_monitor() -> None:
            with contextlib.suppress(Exception):
                monitor.stop()
            monitor.__exit__()

        stack.callback(stop_monitor)
        monitor.wait_listening()
        before = monitor.next()
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="agent") as pool:
            claude_run = pool.submit(play_claude, claude)
            codex_run = pool.submit(play_codex, codex)
            opencode_run = pool.submit(play_opencode, opencode)
            gemini_run = pool.submit(play_gemini, gemini)
            claude_ledger = claude_run.result(timeout=PLAY_TIMEOUT_S)
            codex_runs = codex_run.result(timeout=PLAY_TIMEOUT_S)
            opencode_play = opencode_run.result(timeout=PLAY_TIMEOUT_S)
            gemini_play = gemini_run.result(timeout=PLAY_TIMEOUT_S)
        codex_books = codex_ledgers(codex.requests())
        done = _settled(
            claude, claude_ledger, codex_books, opencode_play.ledgers, gemini_play.ledgers
        )
        last = monitor.settle(done, timeout=SETTLE_S)
        yield World(
            claude,
            opencode,
            claude_ledger,
            codex_runs,
            codex_books,
            opencode_play,
            gemini_play,
            before,
            last,
        )


def test_the_scenarios_did_what_they_say(world: World) -> None:
    """Facts about the mocks' logs and the CLIs' exits, not about aitop."""
    assert world.claude_ledger.tool_errors >= 1, "no failing Claude Code tool"
    oc = world.opencode_play
    assert sorted(oc.ledgers) == sorted(oc.roots)
    tools = oc.ledgers[oc.roots[0]]
    assert tools.models == {"claude-sonnet-4-5", "claude-haiku-4-5"}
    assert output_of([oc.tools.stdout]).tool_errors == 2  # exit 3, and a file not there
    assert len(oc.ledgers[oc.roots[1]].sessions) == 2  # the subagent's own session
    gm = world.gemini_play
    codes = [run["rc"] for run in gm.invocations]
    assert codes[0] == 0 and codes[1] != 0 and codes[2] == 0, codes
    (ledger,) = gm.ledgers.values()
    assert ledger.invocations == 3 and ledger.http_errors == 1
    assert ledger.tool_calls >= 3 and ledger.tool_errors >= 1
    assert ledger.models == {"gemini-3.8-flash", "gemini-2.5-flash"}


def test_every_codex_session_is_exact_against_its_mock(world: World) -> None:
    expected = world.codex_ledgers
    rows = _rows(world.last, "codex")
    assert set(rows) == set(expected)  # one row per session: subagents roll up
    for sid, ledger in expected.items():
        row = rows[sid]
        counts = ledger.aitop_counts()
        assert {k: row[k] for k in counts} == counts, sid
        reasoning = sum(r.usage.reasoning_output_tokens for r in ledger.responses)
        assert row["reasoning_tokens"] == reasoning, sid
        assert row["cost_usd"] == pytest.approx(_codex_cost(ledger), abs=1e-12), sid
        assert row["compactions"] == ledger.compactions, sid


def test_codex_tools_failures_turns_subagents_and_errors(world: World) -> None:
    rows = _rows(world.last, "codex")
    tools = rows[world.codex_runs["tools"].session_ids[0]]
    # two commands at once, a failing one, a patch; then one more after the resume
    assert (tools["tool_calls"], tools["tool_errors"], tools["turns"]) == (5, 1, 2)
    assert tools["context_limit"] == 475_000  # Codex's own window for the model
    assert tools["cost_estimated"]  # gpt-6.2-sol is in no price table: priced ≈
    switch = rows[world.codex_runs["model_switch"].session_ids[0]]
    assert switch["model"] == "gpt-5.5" and switch["compactions"] >= 1
    assert switch["tool_errors"] == 1
    spawned = [rows[sid] for sid in world.codex_runs["subagent"].session_ids]
    assert [row["subagents"] for row in spawned] == [1, 1]
    failed = [rows[sid] for sid in world.codex_runs["api_error"].session_ids]
    assert sum(row["api_errors"] for row in failed) == 3  # one per failed turn


def test_codex_tools_and_turns_are_in_the_timeline(world: World) -> None:
    row = _rows(world.last, "codex")[world.codex_runs["tools"].session_ids[0]]
    tools = [e for e in row["timeline"] if e["kind"] == "tool"]
    summaries = {e["summary"] for e in tools}
    assert {"echo hi", "cat notes.txt", "new.txt", "echo again"} <= summaries, summaries
    failed = [e for e in tools if e["ok"] is False]
    assert [e["name"] for e in failed] == ["Bash"]  # exit 3: from the rollout's item
    assert all(e["duration_ms"] is not None for e in tools)
    turns = [e for e in row["timeline"] if e["kind"] == "turn"]
    assert turns and all(e["duration_ms"] and e["first_token_ms"] for e in turns)


def test_the_claude_code_session_is_exact_against_its_mock(world: World) -> None:
    ledger = world.claude_ledger
    assert set(_rows(world.last, "claude-code")) == {ledger.session_id}
    assert_claude_session(world.claude, world.last, ledger)
    assert _rows(world.last, "claude-code")[ledger.session_id]["status"] == "ended"


def _opencode_answered(
    rig: OpenCodeRig, sessions: set[str], reply: str | None = None
) -> dict[str, int]:
    """The usage the mock answered these sessions' requests with (only `reply`'s, if given),
    summed straight from its log."""
    total = dict.fromkeys(OPENCODE_TOKENS, 0)
    for request in rig.mock.requests():
        if request.get("headers", {}).get("x-session-id") not in sessions:
            continue
        if "usage_norm" not in request or reply not in (None, request.get("reply")):
            continue
        for key in OPENCODE_TOKENS:
            total[key] += request["usage_norm"][key]
    return total


def test_every_opencode_session_is_exact_against_its_mock(world: World) -> None:
    play = world.opencode_play
    snap = world.last
    rows = _rows(snap, "opencode")
    assert sorted(rows) == sorted(play.ledgers)  # one row per root: the subagent rolls up
    for root in play.roots:
        ledger = play.ledgers[root]
        assert_opencode_session(world.opencode, snap, ledger)
        row = rows[root]
        assert row["status"] == "ended"  # the plugin's pid: its process exited
        said = output_of(i.stdout for i in world.opencode.invocations if i.session_id == root)
        assert (row["tool_errors"], row["api_errors"], row["turns"]) == (
            said.tool_errors,
            said.api_errors,
            said.turns,
        ), root
        # the documented gap, and exactly it: the title request is in no store
        everything = _opencode_answered(world.opencode, ledger.sessions)
        title = _opencode_answered(world.opencode, ledger.sessions, reply="title")
        assert title["output"] > 0
        assert row["input_tokens"] == everything["input"] - title["input"]
        assert row["cache_read_tokens"] == everything["cache_read"] - title["cache_read"]
        assert row["output_tokens"] == (
            everything["output"] + everything["reasoning"] - title["output"] - title["reasoning"]
        )
    tools, delegated = (rows[root] for root in play.roots)
    assert tools["model"] == "claude-haiku-4-5" and tools["tool_errors"] == 2
    assert delegated["subagent_rows"][0]["subagent_type"] == "general"
    assert "title request" in json.dumps(snap["diagnostics"])


def test_every_gemini_session_is_exact_against_its_mock(world: World) -> None:
    play = world.gemini_play
    snap = world.last
    table = PriceTable()
    assert sorted(_rows(snap, "gemini")) == sorted(play.ledgers)
    for ledger in play.ledgers.values():
        # exact, minus exactly the router's classifier calls (in no chat file)
        assert_gemini_session(snap, ledger, table, play.requests)
        row = _rows(snap, "gemini")[ledger.session_id]
        assert row["api_errors"] == 1 and row["model"] == "gemini-2.5-flash"


def test_agents_and_since_start_add_up(world: World) -> None:
    snap = world.last
    assert all(world.before["since_start"][k] == 0 for k in COUNTS)
    agents = {row["agent"]: row for row in snap["agents"]}
    assert set(agents) == set(AGENTS)
    for agent, row in agents.items():
        sessions = _rows(snap, agent).values()
        assert sessions, agent
        for key in (*TOKENS, "requests"):
            assert row[key] == sum(s[key] for s in sessions), (agent, key)
        assert row["cost_usd"] == pytest.approx(sum(s["cost_usd"] for s in sessions), abs=1e-9)
    since = snap["since_start"]
    for key in COUNTS:  # every session began after the monitor started
        assert since[key] == sum(s[key] for s in snap["sessions"]), key
    assert since["cost_usd"] == pytest.approx(
        sum(s["cost_usd"] for s in snap["sessions"]), abs=1e-9
    )
    assert since["requests"] == sum(a["requests"] for a in agents.values())
    ingest = snap["ingest"]
    assert ingest["frames"] > 0
    for refused in REFUSALS:
        assert ingest[refused] == 0, refused
    assert ingest["internal_errors"] == 0
    assert snap["transcripts"]["unsafe_paths"] == 0


def test_no_opencode_event_was_lost(world: World) -> None:
    """With four agents on two cores OpenCode's event loop can stall for longer than the
    monitor's 2 s per connection, between the plugin's connect and its write: the monitor
    then cuts that connection (`rejected_timeout` may count it), and the plugin sends the
    frame again. A frame that never got through would be said by the next one, and the
    monitor logs that."""
    log = Path(paths.log_path(world.claude.sandbox.aitop_env()))
    text = log.read_text(errors="replace") if log.exists() else ""
    assert "events could not be sent" not in text
