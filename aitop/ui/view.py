"""What the user is looking at, and how keys change it: pure functions, no terminal.

`View` is immutable; `press(view, key, snapshot, page)` returns the next one and what
the screen must do (quit, redraw). The selection remembers the *identity* of its row
(a session id, a tool or model name), so it follows that row when the table re-sorts;
after a navigation key the order on screen is held for a few seconds, so rows do not
move under the cursor (htop does the same).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aitop.snapshot import Alert, ModelRow, SessionRow, Snapshot, ToolRow
from aitop.ui import keymap
from aitop.ui.sort import BY_KEY, DEFAULT_SORT, SORTS, neighbour, sort_rows

TABS = ("sessions", "tools", "models")
TAB_TITLES = {"sessions": "Sessions", "tools": "Tools", "models": "Models"}
HOLD_S = 3.0  # after a navigation key, hold the order this long (3 ticks at -d 1)
MAX_FILTER = 64

QUIT = "quit"
REDRAW = "redraw"
PAGED = frozenset({"up", "down", "page_up", "page_down", "home", "end"})  # they read `page`


@dataclass(frozen=True)
class Cursor:
    key: str | None = None  # the selected row's identity; None: the first row
    index: int = 0  # where it was, for when its row goes away
    top: int = 0  # the first row on screen


@dataclass(frozen=True)
class View:
    tab: str = "sessions"
    sort: str = DEFAULT_SORT
    invert: bool = False
    cursors: tuple[Cursor, Cursor, Cursor] = (Cursor(), Cursor(), Cursor())
    held: tuple[str, ...] = ()  # the order on screen while re-sorting is held
    hold_until: float = 0.0  # snapshot time
    hold_s: float = HOLD_S
    detail: str | None = None  # the session whose detail is open
    detail_top: int = 0
    help: bool = False
    help_top: int = 0
    sort_menu: bool = False
    menu_index: int = 0
    filter: str = ""
    filtering: bool = False  # typing into the filter
    paused: bool = False
    alert_order: tuple[str, ...] | None = None  # alert ids, oldest first; None: none seen yet
    error: str = ""  # one line about an internal error, until the next key

    def replace(self, **changes: Any) -> View:
        return dataclasses.replace(self, **changes)

    @property
    def cursor(self) -> Cursor:
        return self.cursors[TABS.index(self.tab)]

    def with_cursor(self, cursor: Cursor) -> View:
        cursors = list(self.cursors)
        cursors[TABS.index(self.tab)] = cursor
        return self.replace(cursors=(cursors[0], cursors[1], cursors[2]))


# --- what is on screen ------------------------------------------------------------------


def matches(row: SessionRow, text: str) -> bool:
    """The filter matches anywhere in the project, directory, model, tag, agent or
    status, and at the start of the session id."""
    needle = text.casefold()
    fields = (row.project, row.cwd, row.model, row.tag, row.agent, row.status)
    return any(needle in field.casefold() for field in fields if field) or (
        row.session_id.casefold().startswith(needle)
    )


def sessions_in_view(snap: Snapshot, view: View) -> list[SessionRow]:
    rows: Sequence[SessionRow] = snap.sessions
    if view.filter:
        rows = [row for row in rows if matches(row, view.filter)]
    ordered = sort_rows(rows, view.sort, view.invert)
    return _held(ordered, view, snap, lambda r: r.session_id) if view.tab == "sessions" else ordered


def tools_in_view(snap: Snapshot, view: View) -> list[ToolRow]:
    return (
        _held(list(snap.tools), view, snap, lambda t: t.name)
        if view.tab == "tools"
        else list(snap.tools)
    )


def models_in_view(snap: Snapshot, view: View) -> list[ModelRow]:
    if view.tab != "models":
        return list(snap.models)
    return _held(list(snap.models), view, snap, lambda m: m.model)


def _held(rows: list[Any], view: View, snap: Snapshot, ident: Any) -> list[Any]:
    """`rows` in the held order while the hold lasts; rows new since go last."""
    if not view.held or snap.now >= view.hold_until:
        return rows
    place = {key: n for n, key in enumerate(view.held)}
    end = len(place)
    return sorted(rows, key=lambda row: place.get(ident(row), end))


def ids_in_view(snap: Snapshot, view: View) -> list[str]:
    if view.tab == "sessions":
        return [row.session_id for row in sessions_in_view(snap, view)]
    if view.tab == "tools":
        return [tool.name for tool in tools_in_view(snap, view)]
    return [model.model for model in models_in_view(snap, view)]


def selected_index(ids: Sequence[str], cursor: Cursor) -> int:
    """Where the selection is: its row, wherever that went; else where it was."""
    if not ids:
        return -1
    if cursor.key is not None:
        try:
            return ids.index(cursor.key)
        except ValueError:
            pass
    return min(cursor.index, len(ids) - 1) if cursor.key is not None else 0


def scrolled(top: int, index: int, page: int, count: int) -> int:
    """The first row to show so that row `index` is on a page of `page` rows."""
    page = max(1, page)
    top = min(top, index)
    top = max(top, index - page + 1)
    return max(0, min(top, count - page))


def selected_session(snap: Snapshot, view: View) -> SessionRow | None:
    rows = sessions_in_view(snap, view)
    index = selected_index([r.session_id for r in rows], view.cursors[0])
    return rows[index] if index >= 0 else None


def ordered_alerts(snap: Snapshot, view: View) -> list[Alert]:
    """Newest first: by when each id was first seen (not seen yet: newest of all)."""
    seen = {key: n for n, key in enumerate(view.alert_order or ())}
    return sorted(snap.alerts, key=lambda a: -seen.get(a.id, len(seen)))


def observe(view: View, snap: Snapshot) -> tuple[View, list[Alert]]:
    """Remember the alerts of a new snapshot; the ones that are new (for the bell).
    The first snapshot sets the baseline: what is already wrong at start-up is shown,
    not rung."""
    current = [alert.id for alert in snap.alerts]
    if view.alert_order is None:
        return view.replace(alert_order=tuple(current)), []
    known = set(view.alert_order)
    new = [alert for alert in snap.alerts if alert.id not in known]
    still = set(current)
    order = tuple(key for key in view.alert_order if key in still) + tuple(a.id for a in new)
    return view.replace(alert_order=order), new


# --- keys -------------------------------------------------------------------------------


def press(view: View, key: str, snap: Snapshot, page: int) -> tuple[View, str | None]:
    """The view after `key`, and what the screen must do: QUIT, REDRAW or nothing.
    `page` is how many rows the current list shows (for PgUp/PgDn)."""
    if view.error:
        view = view.replace(error="")
    action = keymap.action_for(key)
    if action == "quit" and not (view.filtering and key not in ("KEY_F10", "KEY_CTRL_C")):
        return view, QUIT
    if action == "redraw":
        return view, REDRAW
    if view.filtering:
        return _filter_key(view, key, action, snap, page), None
    if view.help:
        return _help_key(view, action), None
    if view.sort_menu:
        return _menu_key(view, action), None
    if action is None:
        return view, None
    return apply(view, action, snap, page), None


def uses_page(key: str) -> bool:
    """Whether `press` reads `page` for this key: only the moves do. Working out the page
    takes a layout (about a millisecond), too slow to do for each key of a long paste."""
    return keymap.action_for(key) in PAGED


def apply(view: View, action: str, snap: Snapshot, page: int) -> View:
    """One action of the keymap, in the main view or the detail."""
    if action == "help":
        return view.replace(help=True, help_top=0)
    if action == "pause":
        return view.replace(paused=not view.paused)
    if action in ("next_tab", "prev_tab"):
        step = 1 if action == "next_tab" else -1
        tab = TABS[(TABS.index(view.tab) + step) % len(TABS)]
        return view.replace(tab=tab, detail=None, held=(), sort_menu=False)
    if view.detail is not None:
        return _detail_action(view, action)
    if action == "detail":
        if view.tab != "sessions":
            return view
        row = selected_session(snap, view)
        return view.replace(detail=row.session_id, detail_top=0) if row else view
    if action == "filter":
        return view.replace(filtering=True, tab="sessions", held=())
    if action == "back":
        return view.replace(filter="") if view.filter else view
    if action == "sort_menu":
        keys = [order.key for order in SORTS]
        return view.replace(sort_menu=True, menu_index=keys.index(_sort_key(view)))
    if action in ("sort_prev", "sort_next"):
        return _resorted(view, neighbour(view.sort, -1 if action == "sort_prev" else 1))
    if action.startswith("sort:"):
        return _resorted(view, action.removeprefix("sort:"))
    if action == "invert":
        return view.replace(invert=not view.invert, held=())
    return _navigate(view, action, snap, page)


def _sort_key(view: View) -> str:
    return view.sort if view.sort in BY_KEY else DEFAULT_SORT


def _resorted(view: View, key: str) -> View:
    return view.replace(sort=key, invert=False, held=(), tab="sessions", sort_menu=False)


MOVES = {"up": -1, "down": 1}


def _navigate(view: View, action: str, snap: Snapshot, page: int) -> View:
    ids = ids_in_view(snap, view)
    if not ids:
        return view
    index = selected_index(ids, view.cursor)
    page = max(1, page)
    target = {
        "up": index - 1,
        "down": index + 1,
        "page_up": index - page,
        "page_down": index + page,
        "home": 0,
        "end": len(ids) - 1,
    }.get(action)
    if target is None:
        return view
    target = max(0, min(len(ids) - 1, target))
    top = scrolled(view.cursor.top, target, page, len(ids))
    view = view.with_cursor(Cursor(ids[target], target, top))
    return view.replace(held=tuple(ids), hold_until=snap.now + view.hold_s)


def _detail_action(view: View, action: str) -> View:
    if action in ("back", "detail"):
        return view.replace(detail=None)
    scroll = {"up": -1, "down": 1, "page_up": -10, "page_down": 10, "home": -(10**9)}.get(action)
    if scroll is not None:
        return view.replace(detail_top=max(0, view.detail_top + scroll))
    if action == "end":
        return view.replace(detail_top=10**6)  # the renderer clamps it
    return view


def _help_key(view: View, action: str | None) -> View:
    scroll = {"up": -1, "down": 1, "page_up": -10, "page_down": 10}.get(action or "")
    if scroll is not None:
        return view.replace(help_top=max(0, view.help_top + scroll))
    return view.replace(help=False)  # any other key returns, as in htop


def _menu_key(view: View, action: str | None) -> View:
    if action in ("up", "down"):
        step = MOVES[action]
        return view.replace(menu_index=max(0, min(len(SORTS) - 1, view.menu_index + step)))
    if action in ("home", "end"):
        return view.replace(menu_index=0 if action == "home" else len(SORTS) - 1)
    if action == "detail":
        return _resorted(view, SORTS[view.menu_index].key)
    if action is not None and action.startswith("sort:"):
        return _resorted(view, action.removeprefix("sort:"))
    if action == "invert":
        return view.replace(invert=not view.invert, held=(), sort_menu=False)
    return view.replace(sort_menu=False)


def _filter_key(view: View, key: str, action: str | None, snap: Snapshot, page: int) -> View:
    if key == "KEY_ENTER":
        return view.replace(filtering=False)
    if key == "KEY_ESCAPE":
        return view.replace(filtering=False, filter="")
    if key in ("KEY_BACKSPACE", "KEY_DELETE"):
        return view.replace(filter=view.filter[:-1], held=())
    if len(key) == 1 and key.isprintable():
        return view.replace(filter=(view.filter + key)[:MAX_FILTER], held=(), cursors=_reset0(view))
    if action in ("up", "down", "page_up", "page_down", "home", "end") and key.startswith("KEY_"):
        return _navigate(view, action, snap, page)
    return view


def _reset0(view: View) -> tuple[Cursor, Cursor, Cursor]:
    """A new filter starts at the top of what it finds."""
    return (Cursor(), view.cursors[1], view.cursors[2])
