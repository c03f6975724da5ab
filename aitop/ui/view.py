"""What the user is looking at, and how keys change it: pure functions, no terminal.

`View` is immutable; `press(view, key, snapshot, page)` returns the next one and what
the screen must do (quit, redraw). Each tab keeps its own selection, sort order and
filter. The selection remembers the *identity* of its row (a session id, a tool or
model name), so it follows that row when the table re-sorts; after a navigation key the
order on screen is held for a few seconds, so rows do not move under the cursor (htop
does the same).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aitop.snapshot import AgentRow, Alert, ModelRow, SessionRow, Snapshot, ToolRow
from aitop.ui import keymap
from aitop.ui.sort import (
    DEFAULT_SORTS,
    SORTS_BY_TAB,
    TABS,
    neighbour,
    order_for,
    sort_agents,
    sort_models,
    sort_rows,
    sort_tools,
)

TAB_TITLES = {"sessions": "Sessions", "tools": "Tools", "models": "Models", "agents": "Agents"}
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


PerTab = tuple[Any, ...]  # one value per tab, in the order of TABS


@dataclass(frozen=True)
class View:
    tab: str = "sessions"
    sorts: tuple[str, ...] = tuple(DEFAULT_SORTS[tab] for tab in TABS)
    inverts: tuple[bool, ...] = (False,) * len(TABS)
    filters: tuple[str, ...] = ("",) * len(TABS)
    cursors: tuple[Cursor, ...] = (Cursor(),) * len(TABS)
    held: tuple[str, ...] = ()  # the order on screen while re-sorting is held
    hold_until: float = 0.0  # snapshot time
    hold_s: float = HOLD_S
    detail: str | None = None  # the session whose detail is open
    detail_top: int = 0
    help: bool = False
    help_top: int = 0
    sort_menu: bool = False
    menu_index: int = 0
    filtering: bool = False  # typing into the filter
    alerts: bool = False  # the list of every alert and the alert log
    alerts_top: int = 0
    paused: bool = False
    alert_order: tuple[str, ...] | None = None  # alert ids, oldest first; None: none seen yet
    error: str = ""  # one line about an internal error, until the next key

    def replace(self, **changes: Any) -> View:
        return dataclasses.replace(self, **changes)

    @property
    def cursor(self) -> Cursor:
        return self.cursors[TABS.index(self.tab)]

    @property
    def sort(self) -> str:
        return self.sorts[TABS.index(self.tab)]

    @property
    def invert(self) -> bool:
        return self.inverts[TABS.index(self.tab)]

    @property
    def filter(self) -> str:
        return self.filters[TABS.index(self.tab)]

    def with_cursor(self, cursor: Cursor) -> View:
        return self.replace(cursors=_set(self.cursors, self.tab, cursor))

    def with_tab(self, **changes: Any) -> View:
        """The view with the current tab's `sort`, `invert` or `filter` changed (and any
        other field given)."""
        own = {"sort": "sorts", "invert": "inverts", "filter": "filters"}
        for name, plural in own.items():
            if name in changes:
                changes[plural] = _set(getattr(self, plural), self.tab, changes.pop(name))
        return self.replace(**changes)


def _set(values: PerTab, tab: str, value: Any) -> PerTab:
    out = list(values)
    out[TABS.index(tab)] = value
    return tuple(out)


# --- what is on screen ------------------------------------------------------------------


def matches(row: SessionRow, text: str) -> bool:
    """The filter matches anywhere in the project, directory, model, tag, agent or
    status, and at the start of the session id."""
    needle = text.casefold()
    fields = (row.project, row.cwd, row.model, row.tag, row.agent, row.status)
    return any(needle in field.casefold() for field in fields if field) or (
        row.session_id.casefold().startswith(needle)
    )


def _tab_state(view: View, tab: str) -> tuple[str, str, bool]:
    """A tab's filter (casefolded), sort order and direction, whichever tab is shown."""
    n = TABS.index(tab)
    return view.filters[n].casefold(), view.sorts[n], view.inverts[n]


def sessions_in_view(snap: Snapshot, view: View) -> list[SessionRow]:
    needle, key, invert = _tab_state(view, "sessions")
    rows: Sequence[SessionRow] = snap.sessions
    if needle:
        rows = [row for row in rows if matches(row, needle)]
    ordered = sort_rows(rows, key, invert)
    return _held(ordered, view, snap, lambda r: r.key) if view.tab == "sessions" else ordered


def tools_in_view(snap: Snapshot, view: View) -> list[ToolRow]:
    needle, key, invert = _tab_state(view, "tools")
    rows = [t for t in snap.tools if needle in t.name.casefold()]
    ordered = sort_tools(rows, key, invert)
    return _held(ordered, view, snap, lambda t: t.name) if view.tab == "tools" else ordered


def models_in_view(snap: Snapshot, view: View) -> list[ModelRow]:
    needle, key, invert = _tab_state(view, "models")
    rows = [m for m in snap.models if needle in m.model.casefold()]
    ordered = sort_models(rows, key, invert)
    return _held(ordered, view, snap, lambda m: m.model) if view.tab == "models" else ordered


def agents_in_view(snap: Snapshot, view: View) -> list[AgentRow]:
    needle, key, invert = _tab_state(view, "agents")
    rows = [a for a in snap.agents if needle in a.agent.casefold()]
    ordered = sort_agents(rows, key, invert)
    return _held(ordered, view, snap, lambda a: a.agent) if view.tab == "agents" else ordered


def tab_count(snap: Snapshot, tab: str) -> int:
    rows: dict[str, Sequence[object]] = {
        "sessions": snap.sessions,
        "tools": snap.tools,
        "models": snap.models,
        "agents": snap.agents,
    }
    return len(rows[tab])


def _held(rows: list[Any], view: View, snap: Snapshot, ident: Any) -> list[Any]:
    """`rows` in the held order while the hold lasts; rows new since go last."""
    if not view.held or snap.now >= view.hold_until:
        return rows
    place = {key: n for n, key in enumerate(view.held)}
    end = len(place)
    return sorted(rows, key=lambda row: place.get(ident(row), end))


def ids_in_view(snap: Snapshot, view: View) -> list[str]:
    if view.tab == "sessions":
        return [row.key for row in sessions_in_view(snap, view)]
    if view.tab == "tools":
        return [tool.name for tool in tools_in_view(snap, view)]
    if view.tab == "agents":
        return [agent.agent for agent in agents_in_view(snap, view)]
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
    index = selected_index([r.key for r in rows], view.cursors[0])
    return rows[index] if index >= 0 else None


def ordered_alerts(snap: Snapshot, view: View) -> list[Alert]:
    """Critical first, then the newest first: by when each began (the alert log), else
    by when the screen first saw it (not seen yet: the newest of all)."""
    began = {e.id: e.began_ts for e in snap.alert_log if e.cleared_ts is None}
    seen = {key: n for n, key in enumerate(view.alert_order or ())}
    return sorted(
        snap.alerts,
        key=lambda a: (
            a.severity != "critical",
            -began.get(a.id, snap.now),
            -seen.get(a.id, len(seen)),
        ),
    )


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
    if view.alerts:
        return _alerts_key(view, action), None
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
    if action == "alerts":
        return view.replace(alerts=True, alerts_top=0, sort_menu=False)
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
        return view.replace(detail=row.key, detail_top=0) if row else view
    if action == "filter":
        return view.replace(filtering=True, held=())
    if action == "back":
        return view.with_tab(filter="") if view.filter else view
    if action == "sort_menu":
        keys = [order.key for order in SORTS_BY_TAB[view.tab]]
        return view.replace(sort_menu=True, menu_index=keys.index(_sort_key(view)))
    if action in ("sort_prev", "sort_next"):
        step = -1 if action == "sort_prev" else 1
        return _resorted(view, neighbour(view.sort, step, view.tab))
    if action.startswith("sortkey:"):
        return _sort_by_letter(view, action.removeprefix("sortkey:"))
    if action == "invert":
        return view.with_tab(invert=not view.invert, held=())
    return _navigate(view, action, snap, page)


def _sort_key(view: View) -> str:
    return order_for(view.tab, view.sort).key


def _resorted(view: View, key: str) -> View:
    return view.with_tab(sort=key, invert=False, held=(), sort_menu=False)


def _sort_by_letter(view: View, letter: str) -> View:
    """`C` sorts the tab on screen by its column bound to C; a tab without one keeps its
    order (and its tab: a sort key never jumps to another tab)."""
    for order in SORTS_BY_TAB[view.tab]:
        if order.binding == letter:
            return _resorted(view, order.key)
    return view


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


def _alerts_key(view: View, action: str | None) -> View:
    scroll = {"up": -1, "down": 1, "page_up": -10, "page_down": 10}.get(action or "")
    if scroll is not None:
        return view.replace(alerts_top=max(0, view.alerts_top + scroll))
    if action == "home":
        return view.replace(alerts_top=0)
    if action == "end":
        return view.replace(alerts_top=10**6)  # the renderer clamps it
    if action == "help":
        return view.replace(alerts=False, help=True, help_top=0)
    return view.replace(alerts=False)  # any other key returns, as from the help


def _menu_key(view: View, action: str | None) -> View:
    orders = SORTS_BY_TAB[view.tab]
    if action in ("up", "down"):
        step = MOVES[action]
        return view.replace(menu_index=max(0, min(len(orders) - 1, view.menu_index + step)))
    if action in ("home", "end"):
        return view.replace(menu_index=0 if action == "home" else len(orders) - 1)
    if action == "detail":
        return _resorted(view, orders[view.menu_index].key)
    if action is not None and action.startswith("sortkey:"):
        return _sort_by_letter(view.replace(sort_menu=False), action.removeprefix("sortkey:"))
    if action == "invert":
        return view.with_tab(invert=not view.invert, held=(), sort_menu=False)
    return view.replace(sort_menu=False)


def _filter_key(view: View, key: str, action: str | None, snap: Snapshot, page: int) -> View:
    if key == "KEY_ENTER":
        return view.replace(filtering=False)
    if key == "KEY_ESCAPE":
        return view.with_tab(filtering=False, filter="")
    if key in ("KEY_BACKSPACE", "KEY_DELETE"):
        return view.with_tab(filter=view.filter[:-1], held=())
    if len(key) == 1 and key.isprintable():
        return view.with_tab(filter=(view.filter + key)[:MAX_FILTER], held=(), cursors=_reset(view))
    if action in ("up", "down", "page_up", "page_down", "home", "end") and key.startswith("KEY_"):
        return _navigate(view, action, snap, page)
    return view


def _reset(view: View) -> PerTab:
    """A new filter starts at the top of what it finds."""
    return _set(view.cursors, view.tab, Cursor())
