"""Keys without a terminal: the keymap table and the view state it drives.

`press(view, key, snapshot, page)` is pure, so every behaviour of the keyboard is a
plain function call here: sorting, the selection following its session across
re-sorts, the re-sort held after a navigation key, tabs, detail, filter, help, pause,
quit.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitop.snapshot import Alert, SessionRow, Snapshot
from aitop.ui import keymap
from aitop.ui.compare import compare
from aitop.ui.render import help_lines, list_rows, render
from aitop.ui.sections import plain
from aitop.ui.sort import SORTS, SORTS_BY_TAB
from aitop.ui.view import (
    QUIT,
    REDRAW,
    View,
    agents_in_view,
    ids_in_view,
    models_in_view,
    observe,
    ordered_alerts,
    press,
    selected_session,
    sessions_in_view,
    tools_in_view,
    uses_page,
)
from aitop.ui.width import display_width

from ui_support import PRICER, fixture_snapshot

WIDTH, HEIGHT = 120, 40


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return fixture_snapshot(tmp_path_factory.mktemp("claude"))


def keys(view: View, snap: Snapshot, *names: str) -> View:
    for name in names:
        view, effect = press(view, name, snap, list_rows(snap, view, WIDTH, HEIGHT))
        assert effect is None, name
    return view


def projects(snap: Snapshot, view: View) -> list[str]:
    return [row.project for row in sessions_in_view(snap, view)]


def later(snap: Snapshot, seconds: float, rows: list[SessionRow] | None = None) -> Snapshot:
    return msgspec.structs.replace(
        snap, now=snap.now + seconds, sessions=rows if rows is not None else snap.sessions
    )


def by_project(snap: Snapshot, name: str) -> SessionRow:
    return next(row for row in snap.sessions if row.project == name)


# --- the table itself ------------------------------------------------------------------


def test_every_key_is_bound_once_and_every_action_is_handled() -> None:
    seen: set[str] = set()
    for binding in keymap.KEYMAP:
        assert binding.keys and binding.help
        assert not seen & set(binding.keys)
        seen |= set(binding.keys)
    actions = {b.action for b in keymap.KEYMAP}
    letters = {o.binding for orders in SORTS_BY_TAB.values() for o in orders if o.binding}
    assert {f"sortkey:{letter}" for letter in letters} <= actions
    assert {"quit", "help", "pause", "redraw", "filter", "detail", "next_tab", "alerts"} <= actions


def test_help_is_made_from_the_keymap() -> None:
    text = "\n".join(plain(line) for line in help_lines(200))
    for binding in keymap.KEYMAP:
        assert binding.help in text
        assert keymap.key_name(binding.keys[0]) in text
    assert "F10" in text and "Ctrl-C" in text and "Shift-Tab" in text


def test_footer_is_made_from_the_keymap() -> None:
    assert [label for _key, label in keymap.footer_items()] == [
        b.label for b in keymap.KEYMAP if b.label
    ]
    assert ("Z", "Resume") in keymap.footer_items(paused=True)


@pytest.mark.parametrize("key", ["q", "KEY_F10", "KEY_CTRL_C"])
def test_quit_keys_all_quit(snap: Snapshot, key: str) -> None:
    for view in (View(), View(help=True), View(detail="x"), View(sort_menu=True)):
        assert press(view, key, snap, 10)[1] == QUIT


def test_ctrl_l_redraws(snap: Snapshot) -> None:
    assert press(View(), "KEY_CTRL_L", snap, 10) == (View(), REDRAW)


def test_unknown_keys_change_nothing(snap: Snapshot) -> None:
    assert press(View(), "KEY_F12", snap, 10) == (View(), None)
    assert press(View(), "€", snap, 10) == (View(), None)


# --- sorting ----------------------------------------------------------------------------


def test_sort_keys(snap: Snapshot) -> None:
    # frontend waits for a permission: it comes first whatever the order, ended rows last
    view = View()
    assert projects(snap, view)[:2] == ["frontend", "payments-api"]  # then $/HR, highest first
    view = keys(view, snap, "M")
    assert view.sort == "context" and projects(snap, view)[:4] == [
        "frontend",
        "payments-api",
        "search-service",
        "a-very-long-project-name-that-will-not-fit",
    ]
    view = keys(view, snap, "T")
    rows = sessions_in_view(snap, view)
    for group in ("waiting", "ended"):
        times = [r.last_activity_ts for r in rows if (r.status == "ended") == (group == "ended")]
        assert times[1:] == sorted(times[1:], reverse=True)
    view = keys(view, snap, "C")
    assert projects(snap, view)[:2] == ["frontend", "payments-api"]
    view = keys(view, snap, "I")
    ended = [r.project for r in sessions_in_view(snap, view) if r.status == "ended"]
    assert view.invert and ended[0] == "docs"  # the one that cost nothing, among the ended
    view = keys(view, snap, "P")
    assert (view.sort, view.invert) == ("rate", False)  # a new order starts in its own direction


def test_waiting_sessions_come_first_and_ended_ones_last_whatever_the_order(
    snap: Snapshot,
) -> None:
    """The row a person needs is the first row, not the fourth of eleven below two
    ended sessions; permission prompts before idle prompts."""
    idle_wait = msgspec.structs.replace(
        by_project(snap, "ml-pipeline"), status="waiting", waiting_for="input"
    )
    rows = [idle_wait if r.project == "ml-pipeline" else r for r in snap.sessions]
    two = later(snap, 0, rows)
    for order in SORTS:
        for invert in (False, True):
            found = sessions_in_view(two, View().with_tab(sort=order.key, invert=invert))
            statuses = [r.status for r in found]
            assert [r.project for r in found[:2]] == ["frontend", "ml-pipeline"], order.key
            first_ended = statuses.index("ended")
            assert set(statuses[first_ended:]) == {"ended"}, order.key


def test_angle_brackets_move_the_sort_column(snap: Snapshot) -> None:
    view = keys(View(), snap, "<")
    assert view.sort == "cost"
    view = keys(view, snap, "<", "<")
    assert view.sort == "tokens"
    view = keys(view, snap, ">", ".", ">")
    assert view.sort == "rate"
    view = keys(View().with_tab(sort="project"), snap, "<")
    assert view.sort == "last"  # wraps around


def test_f6_menu_picks_a_sort_order(snap: Snapshot) -> None:
    view = keys(View(), snap, "KEY_F6")
    assert view.sort_menu and SORTS[view.menu_index].key == "rate"
    view = keys(view, snap, "KEY_DOWN", "KEY_ENTER")
    assert (view.sort_menu, view.sort) == (False, "context")
    view = keys(view, snap, "KEY_F6", "KEY_UP", "KEY_ESCAPE")
    assert (view.sort_menu, view.sort) == (False, "context")  # Esc cancels


def test_sort_orders_are_total(snap: Snapshot) -> None:
    for order in SORTS:
        for invert in (False, True):
            view = View().with_tab(sort=order.key, invert=invert)
            first = ids_in_view(snap, view)
            shuffled = later(snap, 0, list(reversed(snap.sessions)))
            assert ids_in_view(shuffled, view) == first, order.key  # ties broken the same way


def test_tools_and_models_sort_and_filter_in_their_own_tab(snap: Snapshot) -> None:
    """`C` on Tools sorts the tools by CALLS and stays on Tools (it used to jump back to
    Sessions); each tab keeps its own order and filter."""
    view = keys(View(), snap, "KEY_TAB")
    assert view.tab == "tools" and view.sort == "calls"
    calls = [t.calls for t in tools_in_view(snap, view)]
    assert calls == sorted(calls, reverse=True)
    view = keys(view, snap, "E")
    assert (view.tab, view.sort) == ("tools", "errors")
    errors = [t.errors for t in tools_in_view(snap, view)]
    assert errors == sorted(errors, reverse=True)
    view = keys(view, snap, "I")
    assert next(t.errors for t in tools_in_view(snap, view)) == min(errors)
    view = keys(view, snap, "<")  # the column to the left: CALLS
    assert (view.sort, view.invert) == ("calls", False)
    view = keys(view, snap, "KEY_F6", "KEY_HOME", "KEY_ENTER")  # the menu lists tool orders
    assert (view.tab, view.sort) == ("tools", "name")
    assert [t.name for t in tools_in_view(snap, view)] == sorted(t.name for t in snap.tools)
    view = keys(view, snap, "/", "r", "e", "KEY_ENTER")
    assert [t.name for t in tools_in_view(snap, view)] == ["Grep", "Read"]
    assert view.sort_menu is False and keys(view, snap, "M").sort == "name"  # no M here
    # the sessions tab kept its own order and no filter
    sessions = keys(view, snap, "KEY_BTAB")
    assert (sessions.tab, sessions.sort, sessions.filter) == ("sessions", "rate", "")
    assert len(sessions_in_view(snap, sessions)) == len(snap.sessions)
    # models: C is cost, most expensive first; the filter matches the model id
    models = keys(View(), snap, "KEY_BTAB", "KEY_BTAB", "C")
    assert (models.tab, models.sort) == ("models", "cost")
    costs = [m.cost_usd for m in models_in_view(snap, models)]
    assert costs == sorted(costs, reverse=True)
    models = keys(models, snap, "/", "h", "a", "i")
    assert [m.model for m in models_in_view(snap, models)] == ["claude-haiku-5-5"]
    text = "\n".join(plain(line) for line in render(snap, models, WIDTH, HEIGHT))
    assert "filter “hai”: 1 of 4" in text and "sorted by COST ↓" in text
    # agents: their own tab, order and filter too
    agents = keys(View(), snap, "KEY_BTAB", "/", *"codex")
    assert [a.agent for a in agents_in_view(snap, agents)] == ["codex"]
    agents = keys(View(), snap, "KEY_BTAB", "I")
    assert [a.agent for a in agents_in_view(snap, agents)] == ["codex", "claude-code"]


# --- the selection ----------------------------------------------------------------------


def test_selection_follows_the_session_across_resorts(snap: Snapshot) -> None:
    view = keys(View(), snap, *["KEY_DOWN"] * 6)
    chosen = selected_session(snap, view)
    assert chosen is not None and chosen.project == "infra"
    for key in ("M", "T", "C", "I", "<"):
        view = keys(view, snap, key)
        assert selected_session(snap, view) == chosen, key


def test_resort_is_held_after_a_navigation_key(snap: Snapshot) -> None:
    view = keys(View(), snap, "KEY_DOWN")
    order = projects(snap, view)
    # payments-api stops spending: it would drop from the top (below the waiting one)...
    rows = [
        msgspec.structs.replace(r, windows=None) if r.project == "payments-api" else r
        for r in snap.sessions
    ]
    soon = later(snap, 1.0, rows)
    assert projects(soon, View())[1] == "search-service"
    assert projects(soon, view) == order  # ...but not under the user's cursor
    done = later(snap, view.hold_s + 0.1, rows)
    assert projects(done, view)[1] == "search-service"  # a few ticks later it re-sorts
    before, after = selected_session(snap, view), selected_session(done, view)
    assert before and after and after.session_id == before.session_id  # still on its row


def test_a_session_that_appears_during_the_hold_goes_last(snap: Snapshot) -> None:
    view = keys(View(), snap, "KEY_DOWN")
    new = msgspec.structs.replace(by_project(snap, "payments-api"), session_id="new", project="new")
    soon = later(snap, 1.0, [new, *snap.sessions])
    assert projects(soon, view)[-1] == "new"


def test_when_the_selected_session_leaves_the_cursor_stays_in_place(snap: Snapshot) -> None:
    view = keys(View(), snap, "KEY_DOWN", "KEY_DOWN")
    ids = ids_in_view(snap, view)
    gone = ids[2]
    assert view.cursors[0].key == gone
    rows = [r for r in snap.sessions if r.key != gone]
    after = later(snap, 10, rows)
    assert selected_session(after, view) == next(r for r in rows if r.key == ids[3])


def test_navigation_keys(snap: Snapshot) -> None:
    n = len(snap.sessions)
    view = keys(View(), snap, "KEY_END")
    assert view.cursors[0].index == n - 1
    view = keys(view, snap, "KEY_DOWN")
    assert view.cursors[0].index == n - 1  # stops at the end
    view = keys(view, snap, "KEY_HOME", "KEY_UP")
    assert view.cursors[0].index == 0
    view, _ = press(view, "KEY_PGDOWN", snap, 5)
    assert view.cursors[0].index == 5
    view, _ = press(view, "k", snap, 5)
    view, _ = press(view, "j", snap, 5)
    view, _ = press(view, "KEY_PGUP", snap, 5)
    assert view.cursors[0].index == 0


def test_scrolling_keeps_the_selection_on_screen(snap: Snapshot) -> None:
    view = View()
    for _ in range(12):
        view, _ = press(view, "KEY_DOWN", snap, 4)
        cursor = view.cursors[0]
        assert cursor.top <= cursor.index < cursor.top + 4


# --- tabs, detail, filter, help, pause --------------------------------------------------------


def test_tabs_cycle_both_ways(snap: Snapshot) -> None:
    view = keys(View(), snap, "KEY_TAB")
    assert view.tab == "tools"
    assert keys(view, snap, "KEY_TAB").tab == "models"
    assert keys(view, snap, "KEY_TAB", "KEY_TAB").tab == "agents"
    assert keys(view, snap, "KEY_TAB", "KEY_TAB", "KEY_TAB").tab == "sessions"
    assert keys(View(), snap, "KEY_BTAB").tab == "agents"
    # each tab keeps its own selection
    view = keys(View(), snap, "KEY_DOWN", "KEY_TAB", "KEY_DOWN", "KEY_DOWN", "KEY_BTAB")
    assert view.cursors[0].index == 1 and view.cursors[1].index == 2


def test_enter_opens_the_detail_of_the_selected_session(snap: Snapshot) -> None:
    view = keys(View(), snap, "KEY_ENTER")
    assert view.detail == by_project(snap, "frontend").key
    view = keys(view, snap, "KEY_DOWN", "KEY_DOWN")
    assert view.detail_top == 2  # arrows scroll the detail
    assert keys(view, snap, "KEY_ESCAPE").detail is None
    assert keys(view, snap, "KEY_ENTER").detail is None
    assert keys(view, snap, "KEY_TAB").detail is None
    assert keys(View(tab="tools"), snap, "KEY_ENTER").detail is None  # sessions only


def test_filter(snap: Snapshot) -> None:
    view = keys(View(), snap, "/", "p", "a", "y")
    assert view.filtering and projects(snap, view) == ["payments-api"]
    view = keys(view, snap, "KEY_BACKSPACE", "KEY_BACKSPACE", "KEY_BACKSPACE", "b", "a")
    assert view.filter == "ba" and projects(snap, view) == ["ml-pipeline"]  # tag "batch"
    view = keys(view, snap, "KEY_ENTER")
    assert not view.filtering and view.filter == "ba"
    view = keys(View(), snap, "/", "1", "1", "1", "1")
    assert projects(snap, view) == ["aitop"]  # the start of a session id
    assert keys(view, snap, "KEY_ESCAPE").filter == ""  # Esc in the list clears it too
    view = keys(View(), snap, "/", "r", "e", "v", "i", "e", "w")
    assert projects(snap, view) == ["payments-api"]  # tags match
    view = keys(View(), snap, "/", "o", "p", "u", "s", "KEY_ESCAPE")
    assert (view.filtering, view.filter) == (False, "")


def test_typing_q_into_the_filter_does_not_quit(snap: Snapshot) -> None:
    view = keys(View(), snap, "/", "q")
    assert view.filter == "q"
    assert press(view, "KEY_F10", snap, 10)[1] == QUIT
    assert press(view, "KEY_CTRL_C", snap, 10)[1] == QUIT


def test_help_opens_and_any_key_returns(snap: Snapshot) -> None:
    for key in ("?", "KEY_F1", "h"):
        assert keys(View(), snap, key).help
    view = keys(View(), snap, "?", "KEY_DOWN")
    assert view.help and view.help_top == 1
    assert not keys(view, snap, "x").help


def test_pause(snap: Snapshot) -> None:
    view = keys(View(), snap, "Z")
    assert view.paused
    assert not keys(view, snap, "Z").paused


def test_an_error_line_goes_away_with_the_next_key(snap: Snapshot) -> None:
    view = View(error="internal error")
    assert keys(view, snap, "KEY_DOWN").error == ""


# --- alerts -----------------------------------------------------------------------------------


def test_new_alerts_are_newest_first_and_rung_once(tmp_path: Path) -> None:
    snap = fixture_snapshot(tmp_path, sessions=False)
    first = msgspec.structs.replace(snap, alerts=[Alert("a", "warning", "A")])
    view, new = observe(View(), first)
    assert new == []  # what is wrong at start-up is shown, not rung
    second = msgspec.structs.replace(
        snap, alerts=[Alert("a", "warning", "A"), Alert("b", "critical", "B")]
    )
    view, new = observe(view, second)
    assert [a.id for a in new] == ["b"]
    assert [a.id for a in ordered_alerts(second, view)] == ["b", "a"]
    view, new = observe(view, second)
    assert new == []  # the same alert again: no second ring
    view, _ = observe(view, first)  # b cleared...
    view, new = observe(view, second)
    assert [a.id for a in new] == ["b"]  # ...and came back: a new alert


# --- any keys, any size ------------------------------------------------------------------

KEYS = sorted({key for binding in keymap.KEYMAP for key in binding.keys} | {"a", "x", "KEY_F12"})


@settings(max_examples=150)
@given(
    st.lists(st.sampled_from(KEYS), max_size=25),
    st.integers(1, 240),
    st.integers(1, 70),
)
def test_any_keys_at_any_size_render_a_whole_frame(
    snap: Snapshot, pressed: list[str], width: int, height: int
) -> None:
    view = View()
    for key in pressed:
        view, _ = press(view, key, snap, list_rows(snap, view, width, height))
    row = next((r for r in snap.sessions if r.key == view.detail), None)
    comparison = compare(PRICER, row, snap.now) if row else []
    lines = render(snap, view, width, height, comparison=comparison)
    assert len(lines) == height
    assert all(display_width(plain(line)) <= width for line in lines)


@settings(max_examples=150)
@given(
    st.lists(st.sampled_from(KEYS), max_size=25),
    st.sampled_from(KEYS),
    st.integers(1, 240),
    st.integers(1, 70),
)
def test_only_the_moves_read_the_page(
    snap: Snapshot, before: list[str], key: str, width: int, height: int
) -> None:
    """The screen works out the page (a layout) only for the keys that read it."""
    view = View()
    for name in before:
        view, _ = press(view, name, snap, list_rows(snap, view, width, height))
    if not uses_page(key):
        page = list_rows(snap, view, width, height)
        assert press(view, key, snap, 1) == press(view, key, snap, page)
        assert press(view, key, snap, 1) == press(view, key, snap, 1000)
