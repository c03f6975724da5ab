"""Golden frames: the screen rendered from a fixture snapshot (the real Aggregator fed
with the captured sessions, at a fixed `now`), compared as text with tests/golden/.

To regenerate after a deliberate change of the look, then read the diff by eye:

    AITOP_UPDATE_GOLDEN=1 pytest tests/test_ui_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from aitop import events as ev
from aitop.aggregate import Aggregator
from aitop.batch import to_text
from aitop.limit_alerts import LimitAlerts
from aitop.snapshot import Snapshot
from aitop.ui.compare import compare
from aitop.ui.render import list_rows, render
from aitop.ui.sections import fit_columns, plain, session_columns
from aitop.ui.view import View, press
from aitop.ui.width import display_width

from ui_support import PRICER, fixture_snapshot

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("AITOP_UPDATE_GOLDEN") == "1"


pytestmark = pytest.mark.usefixtures("utc")  # the header shows local time


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return fixture_snapshot(tmp_path_factory.mktemp("claude"))


def _keys(snap: Snapshot, width: int, height: int, *keys: str) -> View:
    view = View()
    for key in keys:
        view, _ = press(view, key, snap, list_rows(snap, view, width, height))
    return view


def _frame(snap: Snapshot, view: View, width: int, height: int) -> str:
    comparison = []
    if view.detail is not None:
        row = next(r for r in snap.sessions if r.key == view.detail)
        comparison = compare(PRICER, row, snap.now)
    lines = render(snap, view, width, height, comparison=comparison)
    assert len(lines) == height
    for line in lines:
        assert display_width(plain(line)) <= width, plain(line)
    assert display_width(plain(lines[-1])) < width  # the bottom-right cell stays empty
    return "\n".join(plain(line).rstrip() for line in lines) + "\n"


def _check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"no golden {path.name}: run with AITOP_UPDATE_GOLDEN=1 and review it"
    expected = path.read_text()
    assert text == expected, (
        f"{name} differs from {path}; if the change is deliberate, regenerate with"
        f" AITOP_UPDATE_GOLDEN=1 and review the diff.\n--- got:\n{text}"
    )


@pytest.mark.parametrize("size", [(200, 50), (120, 40), (80, 24), (40, 10)])
def test_main_screen(snap: Snapshot, size: tuple[int, int]) -> None:
    width, height = size
    _check(f"main-{width}x{height}", _frame(snap, View(), width, height))


VIEWS = {
    # name: (size, keys)
    "detail-120x40": ((120, 40), ("KEY_DOWN", "KEY_ENTER")),
    "detail-subagent-80x24": ((80, 24), ("/", "a", "i", "t", "o", "p", "KEY_ENTER", "KEY_ENTER")),
    "detail-scrolled-80x24": ((80, 24), ("KEY_ENTER", "KEY_PGDOWN")),
    # payments-api's detail: what it does now and its latest timeline; its end, the rest
    "timeline-200x50": ((200, 50), ("KEY_DOWN", "KEY_ENTER")),
    "timeline-80x24": ((80, 24), ("KEY_DOWN", "KEY_ENTER")),
    "timeline-end-80x24": ((80, 24), ("KEY_DOWN", "KEY_ENTER", "KEY_END")),
    "tools-120x40": ((120, 40), ("KEY_TAB",)),
    "models-80x24": ((80, 24), ("KEY_BTAB", "KEY_BTAB")),
    "agents-120x40": ((120, 40), ("KEY_BTAB",)),
    "help-120x40": ((120, 40), ("?",)),
    "sort-menu-80x24": ((80, 24), ("KEY_F6", "KEY_DOWN")),
    "sort-menu-end-80x24": ((80, 24), ("KEY_F6", "KEY_END")),
    "filter-80x24": ((80, 24), ("/", "d", "o", "c")),
    "sorted-by-context-paused-120x40": ((120, 40), ("M", "Z")),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_other_views(snap: Snapshot, name: str) -> None:
    (width, height), keys = VIEWS[name]
    _check(name, _frame(snap, _keys(snap, width, height, *keys), width, height))


def test_no_sessions_tells_a_new_user_what_to_do(tmp_path: Path) -> None:
    empty = fixture_snapshot(tmp_path, sessions=False, busy=False)
    _check("empty-100x30", _frame(empty, View(), 100, 30))


def test_batch_text_shares_the_formatting(snap: Snapshot) -> None:
    _check("batch-160", to_text(snap, 160))


def with_limits(snap: Snapshot) -> Snapshot:
    """The fixture snapshot with plan limits: Claude Code's 5h window rising fast (its pace
    alert), Codex's past 80 % on a Plus plan, and a Codex limit whose window has reset."""
    now = snap.now
    agg = Aggregator(PRICER, now - 3600)

    def seen(agent: str, t: float, *windows: ev.LimitWindow, **kw: str) -> None:
        agg.apply(ev.PlanLimits(ev.SessionInfo(agent, "s", t), windows, **kw), now)

    for n, used in enumerate((22.0, 27.0, 32.0, 37.0)):
        t = now - 900 + n * 300
        seen("claude-code", t, ev.LimitWindow(300, used, now + 5160),
             ev.LimitWindow(10_080, 15.0, now + 4 * 86_400 + 7200))  # fmt: skip
    seen("codex", now - 60, ev.LimitWindow(300, 82.5, now + 3000),
         ev.LimitWindow(10_080, 41.0, now + 6 * 86_400), plan="plus")  # fmt: skip
    seen("codex", now - 7200, ev.LimitWindow(300, 64.0, now - 1800), scope="premium")
    rows = agg.limit_rows(now)
    found = [*snap.alerts, *LimitAlerts().update(rows, now)]
    found.sort(key=lambda alert: alert.severity != "critical")
    return msgspec.structs.replace(snap, limits=rows, alerts=found)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_plan_limits_in_the_header(snap: Snapshot, size: tuple[int, int]) -> None:
    width, height = size
    _check(f"limits-{width}x{height}", _frame(with_limits(snap), View(), width, height))


def test_plan_limits_in_batch_text(snap: Snapshot) -> None:
    _check("limits-batch-160", to_text(with_limits(snap), 160))


GLANCE = ("PROJECT", "NOW", "REQS", "IN", "OUT", "COST", "TOOLS")  # README: these stay at 80


@pytest.mark.parametrize("width", range(80, 201))
def test_at_80_columns_and_wider_the_glance_columns_stay(snap: Snapshot, width: int) -> None:
    titles = [c.title for c, _ in fit_columns(session_columns(snap.now), width, snap.sessions)]
    assert set(GLANCE) <= set(titles), (width, titles)


def test_at_80_columns_the_cache_rate_goes_before_the_tools(snap: Snapshot) -> None:
    titles = [c.title for c, _ in fit_columns(session_columns(snap.now), 80, snap.sessions)]
    assert titles == ["PROJECT", "NOW", "REQS", "IN", "OUT", "COST", "$/HR", "CTX", "TOOLS"]
