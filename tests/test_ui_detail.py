"""The session detail says what the agent's own cost total is, truthfully: it names the
compactions only when there were some whose request no log holds, says when the total is
stale, and words the figure by what the provider said of it (a running total, or one
written when the agent's process exits), never by the agent's name."""

from __future__ import annotations

import msgspec
import pytest

from aitop import events as ev
from aitop.aggregate import Aggregator
from aitop.snapshot import SessionRow, Snapshot
from aitop.ui.render import detail_lines
from aitop.ui.sections import plain

from ui_support import PRICER, fixture_snapshot


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return fixture_snapshot(tmp_path_factory.mktemp("claude"))


def cost_lines(snap: Snapshot, row: SessionRow) -> list[str]:
    lines = [plain(line) for line in detail_lines(snap, row, 120, [])]
    start = next(n for n, line in enumerate(lines) if line.startswith("cost "))
    return lines[start : start + 2]


def aitop_row(snap: Snapshot) -> SessionRow:
    return next(r for r in snap.sessions if r.project == "aitop")  # F1: compacted once


def test_the_gap_is_put_down_to_compaction_only_when_there_was_one(snap: Snapshot) -> None:
    row = aitop_row(snap)
    assert row.compactions == 1 and row.agent_cost_usd is not None
    assert not row.agent_cost_running  # written when its process exited
    assert cost_lines(snap, row)[1].endswith(
        "agent's own total (+$0.08): 1 compaction, not in its log"
    )
    none = msgspec.structs.replace(row, compactions=0, compactions_unlogged=0)
    text = cost_lines(snap, none)[1]
    assert text.endswith("agent's own total (+$0.08)") and "compaction" not in text
    same = msgspec.structs.replace(none, agent_cost_usd=row.cost_usd)
    assert cost_lines(snap, same)[1].endswith("agent's own total: the same")


def test_a_stale_agent_total_says_so(snap: Snapshot) -> None:
    row = msgspec.structs.replace(aitop_row(snap), agent_cost_stale=True)
    text = cost_lines(snap, row)[1]
    assert "stale, it has made requests since" in text and "compaction" not in text


def test_no_agent_total_yet(snap: Snapshot) -> None:
    """Nothing is said of when it will come: some agents never write one."""
    row = msgspec.structs.replace(aitop_row(snap), agent_cost_usd=None)
    assert cost_lines(snap, row)[1].endswith("agent's own total: none received")
    assert not any("Claude Code" in line for line in cost_lines(snap, row))


# --- per agent, from the events its provider made ------------------------------------------

T0 = 1_795_382_400.0
USAGE = ev.Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=50_000)


def agent_session(
    agent: str, *extra: ev.Event, compaction_logged: bool
) -> tuple[Snapshot, SessionRow]:
    """A session that made a request, was compacted, and got the agent's own total."""
    agg = Aggregator(PRICER, T0 - 600)
    info = ev.SessionInfo(agent, "s1", T0 - 300, cwd="/home/user/shop")
    agg.apply(ev.Request(info, model="claude-sonnet-4-5", usage=USAGE), T0)
    agg.apply(ev.Compacted(info, request_logged=compaction_logged), T0)
    for event in extra:
        agg.apply(event, T0)
    snap = agg.snapshot(T0)
    return snap, next(r for r in snap.sessions if r.agent == agent)


def test_a_total_written_at_exit_is_the_agents_own_total() -> None:
    """Claude Code-like: the figure comes when the process exits; the compaction's request
    is in no log, so the difference is put down to it."""
    info = ev.SessionInfo("claude-code", "s1", T0 - 200)
    snap, row = agent_session("claude-code", ev.AgentCostReport(info, 1.0), compaction_logged=False)
    assert not row.agent_cost_running
    note = cost_lines(snap, row)[1]
    assert "agent's own total (+$" in note and note.endswith("1 compaction, not in its log")
    assert "running" not in note
    stale = cost_lines(snap, msgspec.structs.replace(row, agent_cost_stale=True))[1]
    assert stale.endswith("agent's own total at its last exit: stale, it has made requests since")


def test_a_running_total_is_called_one_and_never_an_exit() -> None:
    """OpenCode-like: the figure is a running total from its store, and a compaction's
    request is in that store (and in aitop's count): the gap is not put down to it."""
    info = ev.SessionInfo("opencode", "s1", T0 - 200)
    snap, row = agent_session(
        "opencode", ev.AgentCostReport(info, 1.0, running=True), compaction_logged=True
    )
    assert row.agent_cost_running and row.compactions == 1
    note = cost_lines(snap, row)[1]
    assert "agent's own running total (+$" in note
    assert "compaction" not in note and "exit" not in note
    stale = cost_lines(snap, msgspec.structs.replace(row, agent_cost_stale=True))[1]
    assert stale.endswith("agent's own running total: behind, it has made requests since")
    assert "exit" not in stale
    for line in detail_lines(snap, row, 120, []):
        assert "transcript" not in plain(line) and "Claude" not in plain(line)


def test_a_status_line_figure_is_a_running_total() -> None:
    """The agent's gauges (what it says while it runs) give a running total too."""
    info = ev.SessionInfo("claude-code", "s1", T0 - 200)
    gauges = ev.AgentGauges(info, cost_usd=1.0)
    snap, row = agent_session("claude-code", gauges, compaction_logged=False)
    assert row.agent_cost_running
    assert "agent's own running total (+$" in cost_lines(snap, row)[1]
