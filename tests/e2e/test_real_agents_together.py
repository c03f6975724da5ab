"""Real Codex 0.171.0 and real Claude Code 2.1.330 at the same time, each against its own
loopback mock, both feeding ONE real `aitop -b --json` through real `aitop hook` processes
(Codex's with `--agent codex`). Every Codex session row must equal what its mock answered
(tokens exactly, cost as the price table prices each response), with its tools, failures,
turns, compactions, subagents and API errors; the Claude Code row must be what the Claude
tests require; and the per-agent totals must add up.
"""

from __future__ import annotations

import shlex
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from aitop import events as ev
from aitop.pricing import PICO_PER_USD, Pricer

from .codex_driver import SCENARIOS, CodexRig, ScenarioRun, run_scenario
from .codex_ledger import CodexLedger, codex_ledgers
from .driver import Rig
from .ledger import ledgers as claude_ledgers
from .test_real_claude import assert_session
from conftest import aitop_command
from support import Monitor

pytestmark = [pytest.mark.real_codex, pytest.mark.real_claude, pytest.mark.slow]

Snapshot = dict[str, Any]
PRICER = Pricer.load()
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


@dataclass
class World:
    monitor: Monitor
    claude: Rig
    codex: CodexRig
    runs: dict[str, ScenarioRun]
    claude_session: str
    last: Snapshot


def _codex_cost(ledger: CodexLedger) -> float:
    """Each response the mock answered, priced by the table at its own time and model."""
    pico = 0
    for response in ledger.responses:
        u = response.usage
        usage = ev.Usage(
            input_tokens=u.input_tokens - u.cached_input_tokens - u.cache_write_input_tokens,
            output_tokens=u.output_tokens,
            cache_read_tokens=u.cached_input_tokens,
            cache_write_5m_tokens=u.cache_write_input_tokens,
            reasoning_tokens=u.reasoning_output_tokens,
        )
        when = datetime.fromisoformat(response.timestamp).timestamp()
        pico += PRICER.cost_pico(response.model, usage, when, vendor="openai")
    return pico / PICO_PER_USD


def _rows(snap: Snapshot, agent: str) -> dict[str, dict[str, Any]]:
    return {row["session_id"]: row for row in snap["sessions"] if row["agent"] == agent}


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, claude_binary: Path, codex_js: Path
) -> Iterator[World]:
    root = tmp_path_factory.mktemp("agents")
    claude = Rig(root / "claude", claude_binary, monitor=False)
    (program,) = aitop_command()
    hook = f"{shlex.quote(program)} hook --agent codex --socket {claude.sandbox.socket}"
    codex = CodexRig(root / "codex", codex_js, hook_command=hook)
    env = claude.sandbox.aitop_env() | {"CODEX_HOME": str(codex.sandbox.codex_home)}
    monitor = Monitor(env, "--timeline", delay=0.2)
    try:
        monitor.wait_listening()
        claude_session = str(uuid.uuid4())
        prompt = "Please run [bash:echo hi] then [read:notes.txt]"
        at_once = threading.Thread(
            target=claude.claude.run, args=(prompt,), kwargs={"session_id": claude_session}
        )
        at_once.start()
        runs = {s.name: run_scenario(codex, s) for s in SCENARIOS}
        at_once.join(timeout=120)
        expected = codex_ledgers(codex.requests())

        def settled(snap: Snapshot) -> bool:
            rows = _rows(snap, "codex")
            for sid, ledger in expected.items():
                row = rows.get(sid)
                if row is None or row["requests"] != len(ledger.responses):
                    return False
            return claude_session in _rows(snap, "claude-code")

        last = monitor.settle(settled, timeout=60)
        yield World(monitor, claude, codex, runs, claude_session, last)
    finally:
        monitor.stop()
        monitor.__exit__()
        codex.close()
        claude.close()


def test_every_codex_session_is_exact_against_its_mock(world: World) -> None:
    expected = codex_ledgers(world.codex.requests())
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
    tools = rows[world.runs["tools"].session_ids[0]]
    # two commands at once, a failing one, a patch; then one more after the resume
    assert (tools["tool_calls"], tools["tool_errors"], tools["turns"]) == (5, 1, 2)
    assert tools["context_limit"] == 475_000  # Codex's own window for the model
    assert tools["cost_estimated"]  # gpt-6.2-sol is in no price table: priced ≈
    switch = rows[world.runs["model_switch"].session_ids[0]]
    assert switch["model"] == "gpt-5.5" and switch["compactions"] >= 1
    assert switch["tool_errors"] == 1
    spawned = [rows[sid] for sid in world.runs["subagent"].session_ids]
    assert [row["subagents"] for row in spawned] == [1, 1]
    failed = [rows[sid] for sid in world.runs["api_error"].session_ids]
    assert sum(row["api_errors"] for row in failed) == 3  # one per failed turn


def test_the_claude_code_session_beside_them_is_right(world: World) -> None:
    (ledger,) = claude_ledgers(world.claude.api.requests(), PRICER).values()
    snap = world.monitor.settle(
        lambda s: _rows(s, "claude-code").get(ledger.session_id, {}).get("status") == "ended",
        timeout=30,
    )

    class _View:  # what assert_session reads of a rig
        sandbox = world.claude.sandbox

    assert_session(_View(), snap, ledger)  # type: ignore[arg-type]


def test_agents_add_up(world: World) -> None:
    snap = world.monitor.next()
    agents = {row["agent"]: row for row in snap["agents"]}
    assert set(agents) == {"claude-code", "codex"}
    for agent, row in agents.items():
        sessions = _rows(snap, agent).values()
        for key in (*TOKENS, "requests"):
            assert row[key] == sum(s[key] for s in sessions), (agent, key)
        assert row["cost_usd"] == pytest.approx(sum(s["cost_usd"] for s in sessions), abs=1e-9)
    assert snap["ingest"]["rejected_malformed"] == 0
    assert snap["transcripts"]["unsafe_paths"] == 0


def test_codex_tools_and_turns_are_in_the_timeline(world: World) -> None:
    row = _rows(world.last, "codex")[world.runs["tools"].session_ids[0]]
    tools = [e for e in row["timeline"] if e["kind"] == "tool"]
    summaries = {e["summary"] for e in tools}
    assert {"echo hi", "cat notes.txt", "new.txt", "echo again"} <= summaries, summaries
    failed = [e for e in tools if e["ok"] is False]
    assert [e["name"] for e in failed] == ["Bash"]  # exit 3: from the rollout's item
    assert all(e["duration_ms"] is not None for e in tools)
    turns = [e for e in row["timeline"] if e["kind"] == "turn"]
    assert turns and all(e["duration_ms"] and e["first_token_ms"] for e in turns)
