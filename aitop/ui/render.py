"""A frame: `render(snapshot, view, width, height) -> list[Line]`, a pure function.

No terminal, no clock, no I/O: `now` comes from the snapshot and the size is passed
in, so the same input always gives the same frame (the golden tests rely on it).
Layout, top to bottom: the header, the windows table (its least important rows go
first when the height is short), the tab bar, the list of the current tab filling the
rest, the alerts, the footer of keys. What needs the user is never hidden: every
critical alert is on screen whatever the height, the alert area grows into the rows a
short list leaves free, and `a` lists every alert with the log since start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple, TypeVar

from aitop.alerts import CRITICAL, waited
from aitop.snapshot import Alert, SessionRow, Snapshot, TimelineEntry
from aitop.ui import format as fmt
from aitop.ui import keymap
from aitop.ui.compare import Comparison
from aitop.ui.sections import (
    METRICS,
    STATUS_ROLE,
    TOOL_COLUMNS,
    Column,
    Line,
    Seg,
    agent_columns,
    alert_line,
    context_fill,
    fill_role,
    fit,
    fit_columns,
    header,
    model_columns,
    now_text,
    pad_line,
    plain,
    session_columns,
    status_text,
    table,
    table_head,
    table_row,
    width_of,
    windows_table,
)
from aitop.ui.sort import SORTS_BY_TAB, TABS, order_for
from aitop.ui.view import (
    TAB_TITLES,
    View,
    agents_in_view,
    ids_in_view,
    models_in_view,
    ordered_alerts,
    scrolled,
    selected_index,
    sessions_in_view,
    tab_count,
    tools_in_view,
)
from aitop.ui.width import cut, display_width, pad, wrap

Row = TypeVar("Row")

MIN_WIDTH = 60
MIN_HEIGHT = 12
MIN_LIST = 3  # rows of the list that the windows table never takes
SIDE_BY_SIDE = 110  # the detail's tables go in two columns from this width


def render(
    snap: Snapshot,
    view: View,
    width: int,
    height: int,
    *,
    comparison: Sequence[Comparison] = (),
) -> list[Line]:
    """Exactly `height` lines, none wider than `width` cells."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return too_small(snap, width, height)
    top = _header(snap, view, width)
    foot = [footer(view, width)]
    body_h = height - len(top) - len(foot)
    if view.help:
        body = _help(view, width, body_h)
    elif view.alerts:
        body = _alerts_view(snap, view, width, body_h)
    elif view.detail is not None:
        body = _detail(snap, view, width, body_h, comparison)
    else:
        body = _main(snap, view, width, body_h)
    body = body[:body_h] + [[] for _ in range(body_h - len(body))]
    lines = [*top, *body, *foot]
    # the bottom-right cell stays empty: writing it makes some terminals scroll
    lines[-1] = fit(lines[-1], width - 1)
    return lines


def list_rows(snap: Snapshot, view: View, width: int, height: int) -> int:
    """How many rows the current list shows (what PgUp/PgDn move by)."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return 1
    body_h = height - len(_header(snap, view, width)) - 1
    layout = _layout(snap, view, width, body_h, _list(snap, view, width).wanted)
    return max(1, layout.list_rows)


def clock(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))


# --- header and footer ----------------------------------------------------------------


def _header(snap: Snapshot, view: View, width: int) -> list[Line]:
    lines = header(snap, width, clock(snap.now))
    if view.paused:
        flag = Seg(" PAUSED ", "paused")
        room = width - display_width(flag.text)
        lines[0] = [*pad_line(lines[0], room), flag]
    return lines


def footer(view: View, width: int) -> Line:
    if view.error:
        return pad_line([Seg(" " + view.error, "error")], width, "error")
    if view.filtering:
        return fit(
            [
                Seg("Filter: ", "key"),
                Seg(view.filter + "_"),
                Seg("   Enter keeps it, Esc clears it", "dim"),
            ],
            width,
        )
    if view.help or view.alerts:
        items = [("↑↓", "Scroll"), ("Esc", "Return"), ("q", "Quit")]
    elif view.detail is not None:
        items = [("Esc", "Back"), ("↑↓", "Scroll"), ("Tab", "Tabs"), ("?", "Help"), ("q", "Quit")]
    elif view.sort_menu:
        items = [("↑↓", "Move"), ("Enter", "Sort"), ("I", "Invert"), ("Esc", "Cancel")]
    else:
        items = keymap.footer_items(view.paused)
    line: Line = []
    for key, label in items:
        line += [Seg(key, "key"), Seg(label.ljust(6), "keylabel"), Seg(" ")]
    return fit(line, width)


# --- the main view ---------------------------------------------------------------------


class _Layout(NamedTuple):
    windows: list[Line]
    alerts: list[Line]
    list_rows: int  # rows of the list, below its head


def alert_cap(body_h: int) -> int:
    """How many alert lines the screen keeps however long the list is."""
    return max(1, min(5, (body_h - 12) // 4))


def _layout(snap: Snapshot, view: View, width: int, body_h: int, wanted: int) -> _Layout:
    """`wanted`: the lines the list would fill. In order of need: the tab bar and the
    list's head, every critical alert, a few list rows, the windows table, the other
    alerts up to a cap, the list; rows the list leaves free go to the alerts left."""
    alerts = ordered_alerts(snap, view)
    fixed = 2  # the tab bar and the list's head
    critical = sum(1 for alert in alerts if alert.severity == CRITICAL)
    always = critical + (1 if len(alerts) > critical else 0)  # "… and N more" below them
    most = max(0, body_h - fixed - MIN_LIST)
    shown = min(len(alerts), max(always, alert_cap(body_h)), most)
    # the windows table takes at most a third of a short screen: the list is the point
    room = min(body_h - shown - fixed - MIN_LIST, max(4, body_h // 3))
    windows = (
        windows_table(snap.windows, width, series=snap.series, max_lines=room) if room >= 3 else []
    )
    free = body_h - fixed - len(windows) - shown - max(MIN_LIST, wanted)
    if free > 0 and shown < len(alerts):
        shown = min(len(alerts), shown + free)
    block = _alert_block(alerts, shown, width)
    return _Layout(windows, block, body_h - len(windows) - len(block) - fixed)


def _alert_block(alerts: Sequence[Alert], lines: int, width: int) -> list[Line]:
    if len(alerts) <= lines:
        return [alert_line(a, width) for a in alerts]
    if lines <= 0:
        return []
    shown = [alert_line(a, width) for a in alerts[: lines - 1]]
    more = len(alerts) - len(shown)
    key = keymap.key_name(keymap.binding_for("alerts").keys[0])
    text = f"    … and {more} more alert{'s' if more != 1 else ''}: {key} lists them all"
    return [*shown, fit([Seg(text, "alert")], width)]


class _Listing(NamedTuple):
    """The current tab's list: its rows' ids, its head, how to draw row n (only the rows
    on screen are drawn), and what to say instead when it has no rows."""

    ids: list[str]
    head: Line
    row: Callable[[int], Line]
    instead: list[Line]

    @property
    def wanted(self) -> int:
        """The lines it would fill, below its head."""
        return len(self.ids) or len(self.instead)


def _main(snap: Snapshot, view: View, width: int, body_h: int) -> list[Line]:
    listing = _list(snap, view, width)
    layout = _layout(snap, view, width, body_h, listing.wanted)
    out = [*layout.windows, _tab_bar(snap, view, width)]
    if view.sort_menu:
        out += _sort_menu(view, width, layout.list_rows + 1)
    elif listing.ids:
        out += [listing.head, *_rows(listing, view, width, layout.list_rows)]
    else:
        out += [listing.head, *listing.instead]
    out = out[: body_h - len(layout.alerts)]
    out += [[] for _ in range(body_h - len(layout.alerts) - len(out))]
    return [*out, *layout.alerts]


def _list(snap: Snapshot, view: View, width: int) -> _Listing:
    if view.sort_menu:
        orders = SORTS_BY_TAB[view.tab]
        return _Listing([o.key for o in orders], [], lambda _n: [], [])
    if view.tab == "sessions":
        sessions = sessions_in_view(snap, view)
        columns = fit_columns(session_columns(snap.now), width, sessions)
        return _Listing(
            [r.key for r in sessions],
            table_head(columns, width, view.sort),
            lambda n: table_row(columns, sessions[n], width),
            [] if sessions else _no_sessions(snap, view, width),
        )
    if view.tab == "tools":
        tools = tools_in_view(snap, view)
        return _listing(TOOL_COLUMNS, tools, [t.name for t in tools], view, width, "tool calls")
    if view.tab == "agents":
        agents = agents_in_view(snap, view)
        total = sum(a.cost_usd for a in snap.agents)
        return _listing(agent_columns(total), agents, [a.agent for a in agents], view, width,
                        "requests")  # fmt: skip
    models = models_in_view(snap, view)
    total = sum(m.cost_usd for m in snap.models)
    return _listing(model_columns(total), models, [m.model for m in models], view, width,
                    "requests")  # fmt: skip


def _tab_bar(snap: Snapshot, view: View, width: int) -> Line:
    left: Line = []
    for tab in TABS:
        role = "tab_on" if tab == view.tab else "tab"
        left += [Seg(f" {TAB_TITLES[tab]} {tab_count(snap, tab)} ", role), Seg(" ")]
    order = order_for(view.tab, view.sort)
    descending = order.reverse != view.invert
    sort = f"sorted by {order.title} {'↓' if descending else '↑'}"
    used = width_of(left)
    room = width - used - 1
    right = sort
    if view.filter:
        shown = len(ids_in_view(snap, view))
        right = f"filter “{view.filter}”: {shown} of {tab_count(snap, view.tab)}   " + right
    # why the order is not quite the column's: said where there is room for it
    if view.tab == "sessions" and display_width(right) + 16 <= room:
        right = right.replace(sort, "waiting first · " + sort)
    if room > 8:
        right = cut(right, room)
        return [*left, Seg(" " * (room - display_width(right))), Seg(right, "dim")]
    return fit(left, width)


def _no_sessions(snap: Snapshot, view: View, width: int) -> list[Line]:
    """What to say when the table is empty: the truth about what was and was not seen."""
    if snap.sessions:
        texts = [f"No session matches “{view.filter}”. Esc clears the filter."]
    else:
        frames = snap.ingest.frames
        seen = f"{frames:,} hook event{'s' if frames != 1 else ''} received"
        texts = [f"No sessions yet: {seen} on {snap.socket or 'the socket'}."]
        texts += [note.message for note in snap.diagnostics]
    lines: list[Line] = []
    for text in texts:
        lines += ([Seg(" " + part, "dim")] for part in wrap(text, width - 2))
    return lines


def _listing(
    columns: Sequence[Column[Row]],
    rows: Sequence[Row],
    ids: list[str],
    view: View,
    width: int,
    nothing: str,
) -> _Listing:
    sized = fit_columns(columns, width, rows)
    instead: list[Line] = []
    if not rows:
        if view.filter:
            text = f"Nothing matches “{view.filter}”. Esc clears the filter."
        else:
            text = f"No {nothing} seen yet."
        instead = [fit([Seg(" " + text, "dim")], width)]
    return _Listing(
        ids,
        table_head(sized, width, view.sort),
        lambda n: table_row(sized, rows[n], width),
        instead,
    )


def _rows(listing: _Listing, view: View, width: int, rows_h: int) -> list[Line]:
    """The page of the list that holds the selection, the selection in reverse video."""
    ids = listing.ids
    index = selected_index(ids, view.cursor)
    top = scrolled(view.cursor.top, index, rows_h, len(ids))
    out = []
    for n in range(top, min(len(ids), top + rows_h)):
        line = listing.row(n)
        if n == index:
            line = [Seg(plain(pad_line(line, width)), "selected")]
        out.append(line)
    return out


def _sort_menu(view: View, width: int, rows_h: int) -> list[Line]:
    lines: list[Line] = [
        pad_line(
            [Seg(" Sort by", "head"), Seg("   Enter picks, Esc cancels", "head")], width, "head"
        )
    ]
    orders = SORTS_BY_TAB[view.tab]
    page = max(1, rows_h - 1)
    top = scrolled(0, view.menu_index, page, len(orders))
    for n, order in enumerate(orders[top : top + page], start=top):
        mark = "▸" if order.key == view.sort else " "
        key = f"({order.binding})" if order.binding else ""
        line: Line = [Seg(f" {mark} {pad(order.title, 8)} {pad(key, 4)} {order.what}")]
        if n == view.menu_index:
            line = [Seg(plain(pad_line(line, width)), "selected")]
        lines.append(fit(line, width))
    return lines


# --- help ---------------------------------------------------------------------------


def help_lines(width: int) -> list[Line]:
    """Made from the keymap and the column tables: they cannot disagree."""
    lines: list[Line] = [[Seg("Keys", "section")]]
    for keys, what in keymap.help_rows():
        lines.append(fit([Seg(" " + pad(keys, 24), "key"), Seg(what)], width))
    lines += [[], [Seg("The session table", "section")]]
    for column in session_columns(0.0):
        lines.append(fit([Seg(" " + pad(column.title, 9), "key"), Seg(column.help)], width))
    lines += [
        [],
        [
            Seg("The windows table", "section"),
            Seg(": each row over the last 1, 5 and 15 minutes; sparklines a minute a cell"),
        ],
    ]
    for metric in METRICS:
        lines.append(fit([Seg(" " + pad(metric.title, 13), "key"), Seg(metric.help)], width))
    notes = [
        "Status: active = activity in the last 5 minutes; wait:perm / wait:input = the agent"
        " is waiting for you (a permission prompt, or your next message once its turn ended)."
        " Whatever the sort column, waiting sessions come first and ended ones last.",
        "Alerts: above the footer, critical (!!) first, then the newest. Every critical alert"
        " is always on screen, and the area grows into rows the list leaves free;"
        f" '{keymap.key_name(keymap.binding_for('alerts').keys[0])}' lists every alert with the"
        " log of alerts since start (when each began and cleared).",
    ]
    lines.append([])
    for note in notes:
        lines += [[Seg(text)] for text in wrap(note, max(20, width - 1))]
    return [fit(line, width) for line in lines]


def _help(view: View, width: int, body_h: int) -> list[Line]:
    lines = help_lines(width)
    top = max(0, min(view.help_top, len(lines) - body_h))
    return lines[top : top + body_h]


# --- every alert, and the log -----------------------------------------------------------


def alert_view_lines(snap: Snapshot, view: View, width: int) -> list[Line]:
    """Every alert now, then every alert since start: when it began, when it cleared."""
    now_alerts = ordered_alerts(snap, view)
    began = {e.id: e.began_ts for e in snap.alert_log if e.cleared_ts is None}
    lines: list[Line] = [[Seg(f"Alerts now: {len(now_alerts)}", "section")]]
    if not now_alerts:
        lines.append([Seg(" none", "dim")])
    for alert in now_alerts:
        since = began.get(alert.id)
        when = f"since {clock(since)} " if since is not None else ""
        lines.append(fit([*alert_line(alert, width - len(when) - 1), Seg(" "), Seg(when, "dim")],
                         width))  # fmt: skip
    start = snap.now - snap.uptime_s
    lines += [[], [Seg(f"Alert log since {clock(start)}, when aitop started", "section"),
                   Seg("  (newest first)", "dim")]]  # fmt: skip
    if not snap.alert_log:
        lines.append([Seg(" nothing has raised an alert since start", "dim")])
    for entry in snap.alert_log:
        end = snap.now if entry.cleared_ts is None else entry.cleared_ts
        cleared = "now" if entry.cleared_ts is None else clock(entry.cleared_ts)
        critical = entry.severity == CRITICAL
        lasted = pad(waited(end - entry.began_ts), 7, right=True)
        span = f" {clock(entry.began_ts)}–{pad(cleared, 8)} {lasted} "
        mark = "!!" if critical else " !"
        role = ("alert_critical" if critical else "alert") if entry.cleared_ts is None else ""
        lines.append(fit([Seg(span, "dim"), Seg(f"{mark} {entry.message}", role)], width))
    return lines


def _alerts_view(snap: Snapshot, view: View, width: int, body_h: int) -> list[Line]:
    lines = alert_view_lines(snap, view, width)
    top = max(0, min(view.alerts_top, len(lines) - body_h))
    return lines[top : top + body_h]


# --- the detail of one session ---------------------------------------------------------

DETAIL_METRICS = tuple(
    m
    for m in METRICS
    if m.title in ("requests", "tok/min", "cache hit", "cost", "$/hr", "tool calls", "errors")
)


class _Thread(NamedTuple):
    name: str
    requests: int
    prompt: int
    output: int
    cost_usd: float
    tool_calls: int


THREAD_COLUMNS: list[Column[_Thread]] = [
    Column("THREAD", 16, lambda t: Seg(t.name), right=False, grow=8),
    Column("REQS", 5, lambda t: Seg(fmt.count(t.requests))),
    Column("IN", 6, lambda t: Seg(fmt.count(t.prompt)), priority=2),
    Column("OUT", 6, lambda t: Seg(fmt.count(t.output)), priority=2),
    Column("COST", 8, lambda t: Seg(fmt.usd(t.cost_usd), "money")),
    Column("TOOLS", 5, lambda t: Seg(fmt.count(t.tool_calls)), priority=1),
]


def _threads(row: SessionRow) -> list[_Thread]:
    subs = [
        _Thread(
            f"{s.subagent_type or 'subagent'} {s.subagent_id.removeprefix('agent-')[:7]}",
            s.requests,
            s.input_tokens + s.cache_read_tokens + s.cache_write_tokens,
            s.output_tokens,
            s.cost_usd,
            s.tool_calls,
        )
        for s in row.subagent_rows
    ]
    main = _Thread(
        "main",
        row.requests - sum(s.requests for s in subs),
        row.input_tokens + row.cache_read_tokens + row.cache_write_tokens
        - sum(s.prompt for s in subs),
        row.output_tokens - sum(s.output for s in subs),
        max(0.0, row.cost_usd - sum(s.cost_usd for s in subs)),
        row.tool_calls - sum(s.tool_calls for s in subs),
    )  # fmt: skip
    return [main, *subs]


def _compared(c: Comparison) -> str:
    name = fmt.model(c.model)
    return f"{name} & {c.same} more" if c.same else name


def _comparison_columns(own: float) -> list[Column[Comparison]]:
    def versus(c: Comparison) -> Seg:
        if c.this:
            return Seg("this", "dim")
        ratio = c.cost_usd / own if own else 0.0
        return Seg(f"×{ratio:.2f}", "good" if ratio < 1 else "")

    return [
        Column("SAME TOKENS ON", 16, lambda c: Seg(_compared(c), "title" if c.this else ""),
               right=False, grow=12),
        Column("COST", 9, lambda c: Seg(fmt.usd(c.cost_usd), "money")),
        Column("VS", 6, versus),
    ]  # fmt: skip


def detail_lines(
    snap: Snapshot, row: SessionRow, width: int, comparison: Sequence[Comparison]
) -> list[Line]:
    now = snap.now
    lines: list[Line] = [
        fit(
            [
                Seg(row.project, "title"),
                Seg("  "),
                Seg(status_text(row), STATUS_ROLE.get(row.status, "")),
                Seg(f"  {fmt.agent(row.agent)} · {fmt.model(row.model)}"),
                Seg(f" · tag {row.tag}" if row.tag else ""),
                Seg(f" · pid {row.pid}" if row.pid else ""),
                Seg(f"  session {row.session_id}", "dim"),
            ],
            width,
        ),
        fit(
            [
                Seg(row.cwd or fmt.DASH),
                Seg(
                    f"  started {clock(row.started_ts)} ({fmt.age(now - row.started_ts)} ago),"
                    f" last activity {fmt.age(now - row.last_activity_ts)} ago",
                    "dim",
                ),
            ],
            width,
        ),
        [],
        _context_line(row, width),
    ]
    lines += _cost_lines(row, width)
    failed = f" ({row.tool_errors} failed)" if row.tool_errors else ""
    parts = [
        _n(row.requests, "request"),
        _n(row.turns, "turn"),
        _n(row.tool_calls, "tool call") + failed,
        _n(row.api_errors, "API error"),
        _n(row.compactions, "compaction"),
        _n(row.max_tokens_stops, "max_tokens stop"),
    ]
    for n, text in enumerate(wrap(" · ".join(parts), width - 9, " · ")):
        lines.append([Seg(pad("totals" if n == 0 else "", 9)), Seg(text)])
    lines += [[], *timeline_lines(row, now, width, TIMELINE_FIRST)]
    lines.append([])
    wide = width >= SIDE_BY_SIDE
    col_w = (width - 3) // 2 if wide else width
    left = [[Seg("Its last 1, 5 and 15 minutes", "section")]]
    if row.windows is None:
        left.append([Seg("no activity in the last 15 minutes", "dim")])
    else:
        left += windows_table(row.windows, col_w, metrics=DETAIL_METRICS)
    left += [[], [Seg("Main thread and subagents", "section")]]
    left += table(THREAD_COLUMNS, _threads(row), col_w)
    right: list[Line] = [[Seg("Its tools", "section")]]
    if row.tools:
        right += table(TOOL_COLUMNS, row.tools, col_w)
    else:
        right.append([Seg("no tool calls", "dim")])
    right += [[], [Seg("The same tokens on each model", "section")]]
    if comparison:
        right += table(_comparison_columns(row.cost_usd), comparison, col_w)
        right.append(
            fit([Seg("its average request priced on each model, scaled to its cost", "dim")],
                col_w)
        )  # fmt: skip
    else:
        right.append([Seg("nothing spent yet", "dim")])
    if wide:
        for n in range(max(len(left), len(right))):
            a = left[n] if n < len(left) else []
            b = right[n] if n < len(right) else []
            lines.append(fit([*pad_line(a, col_w), Seg("   "), *b], width))
    else:
        lines += [*left, [], *right]
    if len(row.timeline) > TIMELINE_FIRST:
        lines += [[], [Seg("Timeline, continued", "section")]]
        lines += [fit(_timeline_entry(e), width) for e in row.timeline[TIMELINE_FIRST:]]
    return lines


TIMELINE_FIRST = 8  # its latest entries, near the top; the rest at the end of the detail


def timeline_lines(row: SessionRow, now: float, width: int, first: int) -> list[Line]:
    """What it did last, newest first: `12:01:05  Bash  npm test  1.2s  failed`. A tool's
    input only as its few words; none with `privacy = true`."""
    doing = now_text(row, now)
    lines: list[Line] = [[Seg("Timeline", "section"), Seg(f"  now: {doing}; newest first", "dim")]]
    if not row.timeline:
        lines.append([Seg("nothing yet", "dim")])
    lines += [fit(_timeline_entry(e), width) for e in row.timeline[:first]]
    if len(row.timeline) > first:
        lines.append([Seg(f"… {len(row.timeline) - first} earlier, at the end", "dim")])
    return lines


def _timeline_entry(e: TimelineEntry) -> Line:
    what, detail, role = e.kind, "", ""
    if e.kind == "request":
        what, detail = fmt.model(e.name), f"{fmt.count(e.tokens or 0)} tokens"
        if e.cost_usd is not None:
            detail += f"  {fmt.usd(e.cost_usd)}"
    elif e.kind == "tool":
        what, detail = e.name or "tool", e.summary or ""
        if e.ok is False:
            role = "bad"
    elif e.kind == "wait":
        what, detail = "waited", f"for your {e.name or 'input'}"
    elif e.kind == "turn":
        what = "turn done"
        if e.first_token_ms is not None:
            detail = f"first token after {fmt.millis(e.first_token_ms)}"
    elif e.kind == "subagent":
        what, detail = "subagent", f"{e.name or ''} {e.summary or ''}".strip()
    elif e.kind == "error":
        what, detail, role = "API error", e.name or "", "bad"
    elif e.kind == "prompt":
        what = "prompt"
    outcome = {True: "ok", False: "failed", None: ""}[e.ok] if e.kind == "tool" else ""
    where = f"  [{e.subagent[:8]}]" if e.subagent else ""
    return [
        Seg(clock(e.time) + "  ", "dim"),
        Seg(pad(cut(what, 16), 16), role),
        Seg(pad(cut(detail, 34), 34)),
        Seg(pad(fmt.millis(e.duration_ms) if e.duration_ms is not None else "", 8)),
        Seg(pad(outcome, 7), role),
        Seg(where, "dim"),
    ]


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _context_line(row: SessionRow, width: int) -> Line:
    fill = context_fill(row)
    if fill is None:
        return [Seg(pad("context", 9)), Seg("no request yet", "dim")]
    text = f" {fmt.percent(fill):>4}  {row.context_tokens:,} of {row.context_limit:,} tokens"
    own = agent_context_note(row)
    bar_w = max(10, min(50, width - 9 - len(text) - len(own)))
    return fit(
        [
            Seg(pad("context", 9)),
            Seg(fmt.bar(fill, bar_w), fill_role(fill)),
            Seg(text),
            Seg(own, "dim"),
        ],
        width,
    )


def agent_context_note(row: SessionRow) -> str:
    """The agent's own word for its context (Claude Code's status line), where it differs
    from aitop's or says what aitop cannot: `  agent: 264,252 of 1,000,000`."""
    tokens, limit = row.agent_context_tokens, row.agent_context_limit
    if tokens is None:
        return ""
    if tokens == row.context_tokens and limit in (None, row.context_limit):
        return "  (the agent's own figure: the same)"
    of = f" of {limit:,}" if limit else ""
    return f"  (the agent's own: {tokens:,}{of})"


def _cost_lines(row: SessionRow, width: int) -> list[Line]:
    lines = [
        fit(
            [
                Seg(pad("cost", 9)),
                Seg(pad(fmt.usd(row.cost_usd, row.cost_estimated), 9, right=True), "money"),
                Seg("  counted by aitop, request by request"),
            ],
            width,
        )
    ]
    if row.agent_cost_usd is None:
        lines.append(
            fit(
                [
                    Seg(" " * 9),
                    Seg(pad(fmt.DASH, 9, right=True), "dim"),
                    Seg("  agent's own total: none received", "dim"),
                ],
                width,
            )
        )
    else:
        lines.append(
            fit(
                [
                    Seg(" " * 9),
                    Seg(pad(fmt.usd(row.agent_cost_usd), 9, right=True), "money"),
                    Seg("  " + agent_total_note(row), "dim" if row.agent_cost_stale else ""),
                ],
                width,
            )
        )
    return lines


def agent_total_note(row: SessionRow) -> str:
    """What the agent's own total is beside aitop's: the same, more (by the compactions
    whose request its log does not hold), or older. Worded by what the agent's provider
    said of the figure: a running total it keeps, or one written when its process exits."""
    assert row.agent_cost_usd is not None
    what = "agent's own running total" if row.agent_cost_running else "agent's own total"
    if row.agent_cost_stale:
        if row.agent_cost_running:
            return f"{what}: behind, it has made requests since"
        return f"{what} at its last exit: stale, it has made requests since"
    gap = row.agent_cost_usd - row.cost_usd
    if abs(gap) < 0.00005:
        return f"{what}: the same"
    if gap < 0:
        return f"{what} ({fmt.usd(gap)})"
    if row.compactions_unlogged:
        n = row.compactions_unlogged
        plural = "s" if n != 1 else ""
        return f"{what} (+{fmt.usd(gap)}): {n} compaction{plural}, not in its log"
    return f"{what} (+{fmt.usd(gap)})"


def _detail(
    snap: Snapshot, view: View, width: int, body_h: int, comparison: Sequence[Comparison]
) -> list[Line]:
    row = next((r for r in snap.sessions if r.key == view.detail), None)
    if row is None:
        return [
            [Seg("This session has left the table (it ended over 15 minutes ago).", "dim")],
            [Seg("Esc returns to the list.", "dim")],
        ]
    lines = detail_lines(snap, row, width, comparison)
    top = max(0, min(view.detail_top, len(lines) - body_h))
    return lines[top : top + body_h]


# --- too small ----------------------------------------------------------------------------


def too_small(snap: Snapshot, width: int, height: int) -> list[Line]:
    """A centred notice, with the numbers that matter most if there is room."""
    active = sum(1 for r in snap.sessions if r.status == "active")
    waiting = sum(1 for r in snap.sessions if r.status == "waiting")
    critical = [a for a in ordered_alerts(snap, View()) if a.severity == CRITICAL]
    texts = [
        ("Terminal too small", "notice"),
        (f"{width}×{height}; aitop needs {MIN_WIDTH}×{MIN_HEIGHT}", ""),
        ("", ""),
        (f"{active} active, {waiting} waiting", "waiting" if waiting else ""),
        (f"{fmt.usd(snap.windows.m15.cost_usd)} in 15 min", "money"),
        *((f"!! {a.message}", "alert_critical") for a in critical[:2]),
        ("", ""),
        ("q quits", "dim"),
    ]
    texts = texts[: max(0, height)]
    first = max(0, (height - len(texts)) // 2)
    lines: list[Line] = [[] for _ in range(max(0, height))]
    for n, (text, role) in enumerate(texts):
        text = cut(text, max(0, width - 1))
        left = max(0, (width - display_width(text)) // 2)
        lines[first + n] = [Seg(" " * left), Seg(text, role)] if text else []
    return lines
