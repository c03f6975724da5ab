"""A frame: `render(snapshot, view, width, height) -> list[Line]`, a pure function.

No terminal, no clock, no I/O: `now` comes from the snapshot and the size is passed
in, so the same input always gives the same frame (the golden tests rely on it).
Layout, top to bottom: the header, the windows table (its least important rows go
first when the height is short), the tab bar, the list of the current tab filling the
rest, the alerts, the footer of keys.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple, TypeVar

from aitop.snapshot import Alert, SessionRow, Snapshot
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
    alert_line,
    context_fill,
    fill_role,
    fit,
    fit_columns,
    header,
    model_columns,
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
from aitop.ui.sort import BY_KEY, DEFAULT_SORT, SORTS
from aitop.ui.view import (
    TAB_TITLES,
    TABS,
    View,
    models_in_view,
    ordered_alerts,
    scrolled,
    selected_index,
    sessions_in_view,
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
    layout = _layout(snap, view, width, height - 3)
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
    if view.help:
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
    return max(1, min(5, (body_h - 12) // 4))


def _layout(snap: Snapshot, view: View, width: int, body_h: int) -> _Layout:
    alerts = _alert_block(ordered_alerts(snap, view), alert_cap(body_h), width)
    fixed = 2  # the tab bar and the list's head
    # the windows table takes at most a third of a short screen: the list is the point
    room = min(body_h - len(alerts) - fixed - MIN_LIST, max(4, body_h // 3))
    windows = (
        windows_table(snap.windows, width, series=snap.series, max_lines=room) if room >= 3 else []
    )
    return _Layout(windows, alerts, body_h - len(windows) - len(alerts) - fixed)


def _alert_block(alerts: Sequence[Alert], cap: int, width: int) -> list[Line]:
    if len(alerts) <= cap:
        return [alert_line(a, width) for a in alerts]
    shown = [alert_line(a, width) for a in alerts[: cap - 1]]
    more = len(alerts) - len(shown)
    return [*shown, fit([Seg(f"    … and {more} more alerts", "alert")], width)]


def _main(snap: Snapshot, view: View, width: int, body_h: int) -> list[Line]:
    layout = _layout(snap, view, width, body_h)
    lines = [*layout.windows, _tab_bar(snap, view, width)]
    if view.sort_menu:
        lines += _sort_menu(view, width, layout.list_rows + 1)
    elif view.tab == "sessions":
        lines += _sessions(snap, view, width, layout.list_rows)
    elif view.tab == "tools":
        tools = tools_in_view(snap, view)
        lines += _listing(
            TOOL_COLUMNS, tools, [t.name for t in tools],
            view, width, layout.list_rows, "No tool calls seen yet.",
        )  # fmt: skip
    else:
        models = models_in_view(snap, view)
        total = sum(m.cost_usd for m in models)
        lines += _listing(
            model_columns(total), models, [m.model for m in models],
            view, width, layout.list_rows, "No requests seen yet.",
        )  # fmt: skip
    lines = lines[: body_h - len(layout.alerts)]
    lines += [[] for _ in range(body_h - len(layout.alerts) - len(lines))]
    return [*lines, *layout.alerts]


def _tab_bar(snap: Snapshot, view: View, width: int) -> Line:
    counts = {
        "sessions": len(snap.sessions),
        "tools": len(snap.tools),
        "models": len(snap.models),
    }
    left: Line = []
    for tab in TABS:
        role = "tab_on" if tab == view.tab else "tab"
        left += [Seg(f" {TAB_TITLES[tab]} {counts[tab]} ", role), Seg(" ")]
    right = ""
    if view.tab == "sessions":
        order = BY_KEY.get(view.sort, BY_KEY[DEFAULT_SORT])
        descending = order.reverse != view.invert
        right = f"sorted by {order.title} {'↓' if descending else '↑'}"
        if view.filter:
            shown = len(sessions_in_view(snap, view))
            right = f"filter “{view.filter}”: {shown} of {counts['sessions']}   " + right
    used = width_of(left)
    room = width - used - 1
    if right and room > 8:
        right = cut(right, room)
        return [*left, Seg(" " * (room - display_width(right))), Seg(right, "dim")]
    return fit(left, width)


def _sessions(snap: Snapshot, view: View, width: int, rows_h: int) -> list[Line]:
    rows = sessions_in_view(snap, view)
    columns = session_columns(snap.now)
    sized = fit_columns(columns, width, rows)
    lines = [table_head(sized, width, view.sort)]
    if not rows:
        if snap.sessions:
            hint = f"No session matches “{view.filter}”. Esc clears the filter."
        else:
            hint = (
                "No sessions yet. Run 'aitop install --write' once, so that Claude Code sends"
                " its hooks here; sessions that wrote a transcript in the last 15 minutes"
                " show up by themselves."
            )
        return [*lines, *([Seg(" " + text, "dim")] for text in wrap(hint, width - 2))]
    return lines + _rows(sized, rows, [r.session_id for r in rows], view, width, rows_h)


def _listing(
    columns: Sequence[Column[Row]],
    rows: Sequence[Row],
    ids: list[str],
    view: View,
    width: int,
    rows_h: int,
    empty: str,
) -> list[Line]:
    sized = fit_columns(columns, width, rows)
    lines = [table_head(sized, width)]
    if not rows:
        return [*lines, fit([Seg(" " + empty, "dim")], width)]
    return lines + _rows(sized, rows, ids, view, width, rows_h)


def _rows(
    sized: Sequence[tuple[Column[Row], int]],
    rows: Sequence[Row],
    ids: list[str],
    view: View,
    width: int,
    rows_h: int,
) -> list[Line]:
    index = selected_index(ids, view.cursor)
    top = scrolled(view.cursor.top, index, rows_h, len(rows))
    out = []
    for n in range(top, min(len(rows), top + rows_h)):
        line = table_row(sized, rows[n], width)
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
    page = max(1, rows_h - 1)
    top = scrolled(0, view.menu_index, page, len(SORTS))
    for n, order in enumerate(SORTS[top : top + page], start=top):
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
    lines += [
        [],
        [Seg("Status: active = activity in the last 5 minutes; wait:perm / wait:input = the")],
        [Seg("agent is waiting for you (a permission prompt, or your next message).")],
    ]
    return [fit(line, width) for line in lines]


def _help(view: View, width: int, body_h: int) -> list[Line]:
    lines = help_lines(width)
    top = max(0, min(view.help_top, len(lines) - body_h))
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
    return lines


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _context_line(row: SessionRow, width: int) -> Line:
    fill = context_fill(row)
    if fill is None:
        return [Seg(pad("context", 9)), Seg("no request yet", "dim")]
    text = f" {fmt.percent(fill):>4}  {row.context_tokens:,} of {row.context_limit:,} tokens"
    bar_w = max(10, min(50, width - 9 - len(text)))
    return fit(
        [Seg(pad("context", 9)), Seg(fmt.bar(fill, bar_w), fill_role(fill)), Seg(text)], width
    )


def _cost_lines(row: SessionRow, width: int) -> list[Line]:
    lines = [
        fit(
            [
                Seg(pad("cost", 9)),
                Seg(pad(fmt.usd(row.cost_usd, row.cost_estimated), 9, right=True), "money"),
                Seg("  counted by aitop from its transcripts"),
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
                    Seg("  Claude Code's own total: written when its process exits", "dim"),
                ],
                width,
            )
        )
    else:
        gap = row.agent_cost_usd - row.cost_usd
        note = f" (+{fmt.usd(gap)})" if gap >= 0.00005 else ""
        lines.append(
            fit(
                [
                    Seg(" " * 9),
                    Seg(pad(fmt.usd(row.agent_cost_usd), 9, right=True), "money"),
                    Seg(f"  Claude Code's own total{note}, incl. compaction aitop cannot see"),
                ],
                width,
            )
        )
    return lines


def _detail(
    snap: Snapshot, view: View, width: int, body_h: int, comparison: Sequence[Comparison]
) -> list[Line]:
    row = next((r for r in snap.sessions if r.session_id == view.detail), None)
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
    texts = [
        ("Terminal too small", "notice"),
        (f"{width}×{height}; aitop needs {MIN_WIDTH}×{MIN_HEIGHT}", ""),
        ("", ""),
        (f"{active} active, {waiting} waiting", "waiting" if waiting else ""),
        (f"{fmt.usd(snap.windows.m15.cost_usd)} in 15 min", "money"),
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
