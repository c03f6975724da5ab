"""The session detail says what the agent's own cost total is, truthfully: it names the
compactions only when there were some, and says when the total is stale."""

from __future__ import annotations

import msgspec
import pytest

from aitop.snapshot import SessionRow, Snapshot
from aitop.ui.render import detail_lines
from aitop.ui.sections import plain

from ui_support import fixture_snapshot


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
    assert cost_lines(snap, row)[1].endswith(
        "agent's own total (+$0.08): 1 compaction, in no transcript"
    )
    none = msgspec.structs.replace(row, compactions=0)
    text = cost_lines(snap, none)[1]
    assert text.endswith("agent's own total (+$0.08)") and "compaction" not in text
    same = msgspec.structs.replace(none, agent_cost_usd=row.cost_usd)
    assert cost_lines(snap, same)[1].endswith("agent's own total: the same")


def test_a_stale_agent_total_says_so(snap: Snapshot) -> None:
    row = msgspec.structs.replace(aitop_row(snap), agent_cost_stale=True)
    text = cost_lines(snap, row)[1]
    assert "stale, it has made requests since" in text and "compaction" not in text


def test_no_agent_total_yet(snap: Snapshot) -> None:
    row = msgspec.structs.replace(aitop_row(snap), agent_cost_usd=None)
    assert cost_lines(snap, row)[1].endswith("agent's own total: written when its process exits")
    assert not any("Claude Code" in line for line in cost_lines(snap, row))
