"""The parts of a frame as styled lines: pure functions of a snapshot and a width.

A line is a list of segments (text, role); roles are semantic ("warn", "bad", "dim",
"head"…) and become colours only on the screen. Batch text joins the texts.
Shared by the screen and by `aitop -b`, so both always say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from aitop.limit_alerts import pct, span
from aitop.snapshot import (
    SPANS,
    AgentRow,
    Alert,
    BudgetRow,
    LimitRow,
    ModelRow,
    Series,
    SessionRow,
    Snapshot,
    ToolRow,
    Window,
    Windows,
)
from aitop.ui import format as fmt
from aitop.ui.width import cut, cut_left, display_width, pad, printable

Row = TypeVar("Row")


class Seg(NamedTuple):
    text: str
    role: str = ""


Line = list[Seg]


def plain(line: Line) -> str:
    return "".join(seg.text for seg in line)


def width_of(line: Line) -> int:
    return sum(display_width(seg.text) for seg in line)


# --- thresholds that colour values --------------------------------------------------

CACHE_WARN = 0.60  # a cache hit rate below this is orange...
CACHE_BAD = 0.30  # ...and below this red: prompts are being re-sent uncached
CONTEXT_WARN = 0.80
BUDGET_WARN = 0.80  # of a budget spent: orange; all of it: red
CONTEXT_BAD = 0.95


def cache_role(fraction: float | None) -> str:
    if fraction is None:
        return "dim"
    if fraction < CACHE_BAD:
        return "bad"
    if fraction < CACHE_WARN:
        return "warn"
    return "good"


def error_role(fraction: float | None) -> str:
    if not fraction:
        return ""
    return "bad" if fraction > 0.5 else "warn"


def fill_role(fraction: float) -> str:
    if fraction >= CONTEXT_BAD:
        return "bad"
    if fraction >= CONTEXT_WARN:
        return "warn"
    return "bar"


STATUS_ROLE = {"active": "good", "waiting": "waiting", "idle": "dim", "ended": "dim"}


# --- header -----------------------------------------------------------------------


def header(snap: Snapshot, width: int, clock: str) -> list[Line]:
    counts = {"active": 0, "waiting": 0, "idle": 0}
    for row in snap.sessions:
        if row.status in counts:
            counts[row.status] += 1
    ingest = snap.ingest
    rejected = ingest.rejected_peer
    socket_state: Line
    if not snap.listening:
        socket_state = [Seg("socket down", "bad")]
    elif rejected:
        socket_state = [Seg(f"listening, {rejected:,} rejected", "bad")]
    else:
        socket_state = [Seg("listening", "good")]
    first: Line = [
        Seg("aitop", "title"),
        Seg(f" - {clock} up {fmt.duration(snap.uptime_s)}, "),
        Seg(f"{counts['active']} active", "good" if counts["active"] else ""),
        Seg(", "),
        Seg(f"{counts['waiting']} waiting", "waiting" if counts["waiting"] else ""),
        Seg(f", {len(snap.sessions)} sessions"),
    ]
    second: Line = [Seg("socket "), *socket_state]
    if snap.attached:  # a viewer: the numbers are the monitor's, read over the socket
        second[:0] = [Seg(f"attached to monitor pid {snap.monitor_pid}", "good"), Seg(", ")]
    second.append(Seg(f", {ingest.frames:,} events"))
    second.append(Seg(f", {fmt.usd(snap.since_start.cost_usd)} since start"))
    backlog = snap.transcripts.backlog_bytes if snap.transcripts else 0
    if backlog:
        second.append(Seg(f", reading transcripts ({backlog / 1e6:,.0f} MB left)", "warn"))
    if snap.limits:  # a subscription: its dollars are what the tokens would cost, not a bill
        second.append(Seg(f", at API list prices of {snap.pricing_date}", "dim"))
    else:
        second.append(Seg(f", prices of {snap.pricing_date}", "dim"))
    lines = [fit(first, width), fit(second, width), *limit_lines(snap.limits, snap.now, width)]
    if snap.budgets:
        lines.append(fit(budget_line(snap.budgets), width))
    return lines


# --- plan limits: one line per agent (and per limit, where an agent has several) -----------

LIMIT_BAR_W = 8
# for subscription users (the ones with plan limits) dollars are not what they pay
API_PRICES_NOTE = "$ = API list prices, not your bill"


def limit_lines(rows: Sequence[LimitRow], now: float, width: int) -> list[Line]:
    """`claude 5h ███▋     37 % ↻ 1h26m full in 48m · 7d 15 % ↻ 4d 2h`, coloured by level;
    figures from before their window reset are shown as such, never as current."""
    groups: dict[tuple[str, str | None], list[LimitRow]] = {}
    for row in rows:
        groups.setdefault((row.agent, row.scope), []).append(row)
    lines: list[Line] = []
    for (agent, scope), group in groups.items():
        name = fmt.agent(agent) + (f" {scope}" if scope else "")
        group.sort(key=lambda row: row.window_minutes)
        plan = next((row.plan for row in group if row.plan), None)
        for detail in (2, 1, 0):  # the most that fits: bars, resets, forecasts
            line: Line = [Seg(name.ljust(6), "label")]
            for n, row in enumerate(group):
                if n:
                    line.append(Seg(" ·", "dim"))
                line.extend(_limit_window(row, now, detail, first=n == 0))
            if plan and detail:
                line.append(Seg(f"  ({plan})", "dim"))
            if width_of(line) <= width:
                break
        if not lines and width_of(line) + 3 + len(API_PRICES_NOTE) <= width:
            line.append(Seg("   " + API_PRICES_NOTE, "dim"))
        lines.append(fit(line, width))
    return lines


def _limit_window(row: LimitRow, now: float, detail: int, *, first: bool) -> Line:
    out = [Seg(f" {row.window} ")]
    if row.stale:
        reset = row.resets_at_ts
        ago = f"reset {fmt.age(now - reset)} ago" if reset is not None else "old figures"
        return [*out, Seg(f"{ago}, was {pct(row.used_pct)}", "dim")]
    role = limit_role(row.used_pct)
    if first and detail >= 2:
        out.append(Seg(fmt.bar(row.used_pct / 100, LIMIT_BAR_W), role))
        out.append(Seg(" "))
    out.append(Seg(pct(row.used_pct), role))
    reset = row.resets_at_ts
    if reset is not None and (first or detail >= 2):
        out.append(Seg(f" ↻ {span(reset - now)}"))
    full = row.full_at_ts
    if full is not None and row.used_pct < 100 and detail >= 1:
        soon = reset is not None and full < reset
        out.append(Seg(f" full in {span(full - now)}", "warn" if soon else "dim"))
    return out


def limit_role(used_pct: float) -> str:
    """By level: as a context window's fill (orange from 80 %, red from 95 %)."""
    return fill_role(used_pct / 100)


BUDGET_WHEN = {"daily": "today", "weekly": "this week", "monthly": "this month"}


def budget_line(rows: Sequence[BudgetRow]) -> Line:
    """Each budget's spend so far in its period; "counting…" while the logs since the
    longest period began are still being read."""
    line: Line = [Seg("budgets: ")]
    if any(row.counting for row in rows):
        longest = max(rows, key=lambda row: list(BUDGET_WHEN).index(row.period)).period
        line.append(Seg(f"counting {BUDGET_WHEN[longest]}…", "dim"))
        return line
    for n, row in enumerate(rows):
        if n:
            line.append(Seg(", "))
        who = "" if row.agent is None else fmt.agent(row.agent) + " "
        fraction = row.fraction
        role = "bad" if fraction >= 1 else "warn" if fraction >= BUDGET_WARN else ""
        line.append(
            Seg(
                f"{who}{BUDGET_WHEN[row.period]} {fmt.usd(row.spent_usd)}"
                f" of {fmt.usd(row.limit_usd)} ({fraction:.0%})",
                role,
            )
        )
    return line


# --- the windows table (rows are metrics, columns 1m 5m 15m like load averages) --------


@dataclass(frozen=True)
class Metric:
    title: str
    value: Callable[[Window, int], str]  # (window, its seconds) -> text
    role: Callable[[Window], str] = lambda _w: ""
    series: str | None = None  # which Series to draw a sparkline of
    rank: int = 99  # the lower, the longer it stays when the height is short
    help: str = ""


def _per_minute(n: float, seconds: int) -> float:
    return n * 60 / seconds


METRICS: tuple[Metric, ...] = (
    Metric("requests", lambda w, s: fmt.count(w.requests), series="requests", rank=4,
           help="API requests (each response of a turn counts)"),
    Metric("req/min", lambda w, s: fmt.rate(_per_minute(w.requests, s)), rank=8,
           help="requests per minute over the window"),
    Metric("turns", lambda w, s: fmt.count(w.turns), rank=13,
           help="answers finished (Stop)"),
    Metric("errors", lambda w, s: fmt.count(w.errors), lambda w: "bad" if w.errors else "",
           rank=5, help="failed tool calls plus API errors"),
    Metric("error rate", lambda w, s: fmt.percent(w.error_rate),
           lambda w: error_role(w.error_rate), rank=6,
           help="errors / (tool calls + requests + API errors)"),
    Metric("tok/min", lambda w, s: fmt.rate(_per_minute(w.tokens, s)), series="tokens",
           rank=2, help="tokens (prompt + output) per minute"),
    Metric("input", lambda w, s: fmt.count(w.input_tokens), rank=9,
           help="uncached input tokens"),
    Metric("output", lambda w, s: fmt.count(w.output_tokens), rank=10,
           help="output tokens"),
    Metric("cache read", lambda w, s: fmt.count(w.cache_read_tokens), rank=11,
           help="prompt tokens read from the cache (cheap)"),
    Metric("cache write", lambda w, s: fmt.count(w.cache_write_tokens), rank=12,
           help="prompt tokens written to the cache"),
    Metric("cost", lambda w, s: fmt.usd(w.cost_usd), lambda w: "money", series="cost_usd",
           rank=0, help="dollars at API list prices, per request (not a subscription's bill)"),
    Metric("$/hr", lambda w, s: fmt.usd(w.cost_usd * 3600 / s), rank=1,
           help="the window's spend extrapolated to an hour"),
    Metric("cache hit", lambda w, s: fmt.percent(w.cache_hit_rate),
           lambda w: cache_role(w.cache_hit_rate), rank=3,
           help="cache read / (input + cache read + cache write); orange < 60 %, red < 30 %"),
    Metric("tool calls", lambda w, s: fmt.count(w.tool_calls), rank=7,
           help="tool calls started"),
    Metric("compactions", lambda w, s: fmt.count(w.compactions), rank=14,
           help="conversations compacted"),
)  # fmt: skip

LABEL_W = 12
VALUE_W = 8
SPARK_W = 15  # one cell per minute
SPARK_GAP = 2
BLOCK_GAP = 3


class _Blocks(NamedTuple):
    n: int
    spark: bool


def _block_width(spark: bool) -> int:
    return LABEL_W + len(SPANS) * VALUE_W + (SPARK_GAP + SPARK_W if spark else 0)


def _blocks_for(width: int, spark_possible: bool) -> _Blocks:
    """The most blocks side by side that fit, sparklines if they fit too."""
    options = [_Blocks(3, True), _Blocks(2, True), _Blocks(2, False), _Blocks(1, True)]
    for option in options:
        if option.spark and not spark_possible:
            continue
        need = option.n * _block_width(option.spark) + (option.n - 1) * BLOCK_GAP
        if need <= width:
            return option
    return _Blocks(1, False)


# which metrics sit in which block, by how many blocks fit side by side
LAYOUTS: dict[int, tuple[tuple[str, ...], ...]] = {
    3: (
        ("requests", "req/min", "turns", "errors", "error rate"),
        ("tok/min", "input", "output", "cache read", "cache write"),
        ("cost", "$/hr", "cache hit", "tool calls", "compactions"),
    ),
    2: (
        ("requests", "req/min", "turns", "tool calls", "errors", "error rate", "compactions"),
        ("cost", "$/hr", "tok/min", "input", "output", "cache read", "cache write", "cache hit"),
    ),
    1: (
        ("cost", "$/hr", "requests", "req/min", "turns", "tool calls", "errors", "error rate",
         "compactions", "tok/min", "input", "output", "cache read", "cache write", "cache hit"),
    ),
}  # fmt: skip
METRIC = {m.title: m for m in METRICS}


def windows_table(
    windows: Windows,
    width: int,
    *,
    series: Series | None = None,
    max_lines: int | None = None,
    metrics: Sequence[Metric] | None = None,
) -> list[Line]:
    """The windows table: a head line, then one line per metric, in blocks side by side
    when the width allows. With `max_lines`, the least important metrics go first.
    `metrics`: a subset, in this order (the session detail); default all, laid out."""
    by_name = windows.by_name()
    blocks = _blocks_for(width, series is not None)
    groups: list[list[Metric]]
    if metrics is None:
        groups = [[METRIC[title] for title in block] for block in LAYOUTS[blocks.n]]
    else:
        per = -(-len(metrics) // blocks.n)
        groups = [list(metrics[i : i + per]) for i in range(0, len(metrics), per)]
    rows = max(len(g) for g in groups)
    if max_lines is not None and max_lines - 1 < rows:
        rows = max(0, max_lines - 1)
        groups = [_best(group, rows) for group in groups]
    if not rows:
        return []
    spark = blocks.spark and series is not None
    block_w = _block_width(spark)
    head = _metric_head(spark)
    gap = Seg(" " * BLOCK_GAP)
    out: list[Line] = []
    for index in range(rows + 1):
        line: Line = []
        for number, group in enumerate(groups):
            if number:
                line.append(gap)
            if index == 0:
                line.extend(head)
            elif index - 1 < len(group):
                line.extend(_metric_row(group[index - 1], by_name, series if spark else None))
            else:
                line.append(Seg(" " * block_w))
        out.append(fit(line, width))
    return out


def _best(metrics: list[Metric], count: int) -> list[Metric]:
    """The `count` most important metrics, in their usual order."""
    keep = {id(m) for m in sorted(metrics, key=lambda m: m.rank)[:count]}
    return [m for m in metrics if id(m) in keep]


def _metric_head(spark: bool) -> Line:
    cells = "".join(pad(name, VALUE_W, right=True) for name in SPANS)
    text = pad("", LABEL_W) + cells
    if spark:
        text += " " * SPARK_GAP + pad("last 15 min", SPARK_W)
    return [Seg(text, "head")]


def _metric_row(metric: Metric, windows: dict[str, Window], series: Series | None) -> Line:
    line: Line = [Seg(pad(metric.title, LABEL_W), "label")]
    for name, window in windows.items():
        text = metric.value(window, SPANS[name])
        line.append(Seg(pad(text, VALUE_W, right=True), metric.role(window)))
    if series is not None:
        line.append(Seg(" " * SPARK_GAP))
        values: Sequence[float] = getattr(series, metric.series) if metric.series else []
        line.append(Seg(pad(fmt.sparkline(list(values)), SPARK_W), "spark"))
    return line


# --- tables -----------------------------------------------------------------------


@dataclass(frozen=True)
class Column(Generic[Row]):
    title: str
    width: int
    cell: Callable[[Row], Seg]
    right: bool = True
    priority: int = 0  # when the width is short, the highest numbers go first
    grow: int = 0  # up to this many more cells when there is room (names)
    sort: str = ""  # the sort order (view.SORTS) this column shows
    help: str = ""
    cut_left: bool = False  # paths: keep their end
    compact: Column[Row] | None = None  # a narrower form of it...
    compact_before: int = 0  # ...taken before a column of this priority or less is dropped


EMPTY_PENALTY = 20  # a column with nothing to show goes before any other


def fit_columns(
    columns: Sequence[Column[Row]], width: int, rows: Sequence[Row] = ()
) -> list[tuple[Column[Row], int]]:
    """The columns that fit in `width` and each one's width: the least important are
    dropped (empty ones first), a column with a narrower form takes it before one that
    matters is dropped, never the right edge cut; names take the room left."""

    def empty(column: Column[Row]) -> bool:
        return bool(rows) and all(not column.cell(row).text for row in rows)

    def need(cols: list[Column[Row]]) -> int:
        return sum(c.width for c in cols) + max(0, len(cols) - 1)

    kept = list(columns)
    columns = [*columns, *(c.compact for c in columns if c.compact is not None)]

    # which columns are empty is asked of every row: only when something must go
    rank = (
        {id(c): c.priority + (EMPTY_PENALTY if c.priority and empty(c) else 0) for c in columns}
        if need(kept) > width
        else {}
    )
    while need(kept) > width and len(kept) > 1:
        worst = max(range(len(kept)), key=lambda i: (rank[id(kept[i])], i))
        if rank[id(kept[worst])] == 0:
            break
        shrink = next(
            (
                i
                for i, c in enumerate(kept)
                if c.compact is not None and rank[id(kept[worst])] <= c.compact_before
            ),
            None,
        )
        if shrink is not None:
            kept[shrink] = kept[shrink].compact  # type: ignore[assignment]
            continue
        del kept[worst]
    room = max(0, width - need(kept))
    sized = []
    for column in kept:
        extra = min(room, column.grow)
        room -= extra
        sized.append((column, column.width + extra))
    return sized


def table_head(sized: Sequence[tuple[Column[Row], int]], width: int, sorted_by: str = "") -> Line:
    line: Line = []
    for index, (column, cells) in enumerate(sized):
        if index:
            line.append(Seg(" ", "head"))
        role = "head_sort" if sorted_by and column.sort == sorted_by else "head"
        line.append(Seg(pad(column.title, cells, right=column.right), role))
    used = width_of(line)
    if used < width:
        line.append(Seg(" " * (width - used), "head"))
    return fit(line, width)


def table_row(sized: Sequence[tuple[Column[Row], int]], row: Row, width: int) -> Line:
    line: Line = []
    plain_run: list[str] = []  # neighbouring cells without a role share one segment
    used = -1
    for column, cells in sized:
        seg = column.cell(row)
        text = cut_left(seg.text, cells) if column.cut_left else seg.text
        text = pad(text, cells, right=column.right)
        if used >= 0:
            plain_run.append(" ")
        if seg.role:
            if plain_run:
                line.append(Seg("".join(plain_run)))
                plain_run = []
            line.append(Seg(text, seg.role))
        else:
            plain_run.append(text)
        used += cells + 1
    if plain_run:
        line.append(Seg("".join(plain_run)))
    # every cell is padded to its column: only a table wider than the screen needs a cut
    return line if used <= width else fit(line, width)


def table(
    columns: Sequence[Column[Row]], rows: Sequence[Row], width: int, sorted_by: str = ""
) -> list[Line]:
    """A header line and one line per row, the columns fitted to `width`."""
    sized = fit_columns(columns, width, rows)
    return [table_head(sized, width, sorted_by), *(table_row(sized, r, width) for r in rows)]


def session_columns(now: float) -> list[Column[SessionRow]]:
    def r(fn: Callable[[SessionRow], Seg]) -> Callable[[SessionRow], Seg]:
        return fn

    # At 80 columns NOW and the numbers (REQS, IN, OUT, TOOLS) stay: PROJECT narrows and
    # the context bar shrinks to its percentage first, then MODEL and LAST go (the detail
    # view shows both), then CACHE (the windows table above still shows the hit rate, and
    # a glance at 80x24 asks what each session does and spends, not how well it caches).
    return [
        Column("PROJECT", 16, r(lambda s: Seg(s.project)), right=False, grow=12, sort="project",
               help="the last part of the session's working directory",
               compact=Column("PROJECT", 12, r(lambda s: Seg(s.project)), right=False, grow=16,
                              sort="project"),
               compact_before=5),
        Column("AGENT", 6, r(lambda s: Seg(fmt.agent(s.agent))), right=False, priority=8,
               help="the coding agent"),
        Column("MODEL", 10, r(lambda s: Seg(fmt.model(s.model), "" if s.model else "dim")),
               right=False, priority=5, sort="model",
               help="the model of its latest main-thread request"),
        # NOW says what STATUS says and more: narrow terminals keep NOW
        Column("STATUS", 10, r(lambda s: Seg(status_text(s), STATUS_ROLE.get(s.status, ""))),
               right=False, priority=6, sort="status",
               help="active (< 5 min), wait:perm / wait:input (you are needed), idle, ended"),
        Column("NOW", 14, r(lambda s: now_cell(s, now)), right=False, priority=2, sort="now",
               help="what it is doing, for how long: a tool, the model, waiting for you,"
                    " compacting, idle"),
        Column("REQS", 5, r(lambda s: Seg(fmt.count(s.requests))), priority=3, sort="requests",
               help="API requests, subagents' included"),
        Column("IN", 6, r(lambda s: Seg(fmt.count(prompt_tokens(s)))), priority=3,
               sort="tokens", help="prompt tokens: input + cache read + cache write"),
        Column("OUT", 6, r(lambda s: Seg(fmt.count(s.output_tokens))), priority=3,
               help="output tokens"),
        Column("CACHE", 5, r(_cache_cell), priority=4, sort="cache",
               help="cache hit rate; orange < 60 %, red < 30 % (not judged on a first request)"),
        Column("COST", 8, r(lambda s: Seg(fmt.usd(s.cost_usd, s.cost_estimated), "money")),
               sort="cost", help="what the session cost so far; ≈ when a model is estimated"),
        Column("$/HR", 7, r(_rate_cell), priority=1, sort="rate",
               help="its spend over the last 5 minutes, per hour"),
        Column("CONTEXT", 13, r(context_cell), right=False, priority=1, sort="context",
               help="context window fill of its latest request; orange > 80 %, red > 95 %",
               compact=Column("CTX", 4, r(context_percent), priority=1, sort="context"),
               compact_before=5),
        Column("CMP", 3, r(lambda s: Seg(str(s.compactions) if s.compactions else "")),
               priority=9, help="compactions"),
        Column("TOOLS", 5, r(_tools_cell), priority=3, sort="tools",
               help="tool calls; red when some failed"),
        Column("SUB", 3, r(lambda s: Seg(str(s.subagents) if s.subagents else "")),
               priority=9, help="subagents it started"),
        Column("TAG", 8, r(lambda s: Seg(s.tag or "")), right=False, priority=7,
               help="the AITOP_TAG its hooks ran with"),
        Column("LAST", 4, r(lambda s: Seg(fmt.age(now - s.last_activity_ts))), priority=4,
               sort="last", help="time since its last activity"),
        Column("SESSION", 8, r(lambda s: Seg(s.session_id[:8], "dim")), right=False,
               priority=10, help="the start of its session id"),
        Column("CWD", 12, r(lambda s: Seg(s.cwd or "", "dim")), right=False, priority=11,
               grow=60, cut_left=True, help="its working directory"),
    ]  # fmt: skip


NOW_ROLE = {"waiting": "waiting", "compacting": "warn", "ended": "dim", "idle": "dim"}
SLOW_MODEL_S = 60.0  # a request with no answer this long shows in warning colour


def now_text(row: SessionRow, now: float) -> str:
    """`tool Bash 40s`, `model 25s`, `waiting 3m`, `compacting 5s`, `idle 12m`, `ended`."""
    doing = row.now
    if doing is None:
        return fmt.DASH
    if doing.state == "ended":
        return "ended"
    took = fmt.age(max(0.0, now - doing.since_ts))
    if doing.state == "tool":
        more = f"+{doing.more}" if doing.more else ""
        return f"tool {doing.detail or '?'}{more} {took}"
    return f"{doing.state} {took}"


def now_cell(row: SessionRow, now: float) -> Seg:
    doing = row.now
    role = NOW_ROLE.get(doing.state, "") if doing else "dim"
    if doing is not None and doing.state == "model" and now - doing.since_ts > SLOW_MODEL_S:
        role = "warn"
    return Seg(now_text(row, now), role)


def status_text(row: SessionRow) -> str:
    if row.status == "waiting" and row.waiting_for:
        return f"wait:{'perm' if row.waiting_for == 'permission' else 'input'}"
    return row.status


def prompt_tokens(row: SessionRow) -> int:
    return row.input_tokens + row.cache_read_tokens + row.cache_write_tokens


def hit_rate(row: SessionRow) -> float | None:
    prompt = prompt_tokens(row)
    return row.cache_read_tokens / prompt if prompt else None


def judged_hit_rate(row: SessionRow) -> float | None:
    """The hit rate, once it can say something: a session's first request writes the
    cache it could not have read yet, so its 0 % is no sign of anything."""
    if row.requests < 2 and not row.cache_read_tokens:
        return None
    return hit_rate(row)


def _cache_cell(row: SessionRow) -> Seg:
    rate = hit_rate(row)
    if rate is not None and judged_hit_rate(row) is None:
        return Seg(fmt.percent(rate), "dim")
    return Seg(fmt.percent(rate), cache_role(rate))


def session_rate(row: SessionRow) -> float:
    """The session's $/hr over its last 5 minutes."""
    if row.windows is None:
        return 0.0
    return row.windows.m5.cost_usd * 3600 / SPANS["5m"]


def context_fill(row: SessionRow) -> float | None:
    return row.context_tokens / row.context_limit if row.context_limit else None


def _rate_cell(row: SessionRow) -> Seg:
    rate = session_rate(row)
    return Seg(fmt.usd(rate), "" if rate else "dim")


def _tools_cell(row: SessionRow) -> Seg:
    return Seg(fmt.count(row.tool_calls), "bad" if row.tool_errors else "")


CONTEXT_BAR = 8


def context_cell(row: SessionRow) -> Seg:
    fraction = context_fill(row)
    if fraction is None:
        return Seg(fmt.DASH, "dim")
    return Seg(f"{fmt.bar(fraction, CONTEXT_BAR)} {fmt.percent(fraction):>4}", fill_role(fraction))


def context_percent(row: SessionRow) -> Seg:
    fraction = context_fill(row)
    if fraction is None:
        return Seg(fmt.DASH, "dim")
    return Seg(fmt.percent(fraction), "" if fill_role(fraction) == "bar" else fill_role(fraction))


def tool_error_rate(t: ToolRow) -> float | None:
    return t.errors / t.calls if t.calls else None


TOOL_COLUMNS: list[Column[ToolRow]] = [
    Column("TOOL", 20, lambda t: Seg(t.name), right=False, grow=20, sort="name",
           help="tool name"),
    Column("CALLS", 7, lambda t: Seg(fmt.count(t.calls)), sort="calls",
           help="calls seen (start-up reading of transcripts included)"),
    Column("ERRORS", 7, lambda t: Seg(fmt.count(t.errors), "bad" if t.errors else ""),
           priority=1, sort="errors", help="calls that failed"),
    Column("ERR%", 5, lambda t: Seg(fmt.percent(tool_error_rate(t)),
                                    error_role(tool_error_rate(t))),
           priority=1, sort="error_rate", help="errors / calls"),
    Column("P50", 7, lambda t: Seg(fmt.millis(t.p50_ms)), priority=2, sort="p50",
           help="median duration"),
    Column("P95", 7, lambda t: Seg(fmt.millis(t.p95_ms)), priority=2, sort="p95",
           help="95th percentile duration"),
]  # fmt: skip


def model_prompt_tokens(m: ModelRow) -> int:
    return m.input_tokens + m.cache_read_tokens + m.cache_write_tokens


def model_hit_rate(m: ModelRow) -> float | None:
    prompt = model_prompt_tokens(m)
    return m.cache_read_tokens / prompt if prompt else None


def model_columns(total_cost: float) -> list[Column[ModelRow]]:
    def share(m: ModelRow) -> float | None:
        return m.cost_usd / total_cost if total_cost else None

    hit = model_hit_rate
    return [
        Column("MODEL", 20, lambda m: Seg(m.model), right=False, grow=12, sort="model",
               help="model id"),
        Column("REQS", 6, lambda m: Seg(fmt.count(m.requests)), priority=2, sort="requests",
               help="requests"),
        Column("IN", 7, lambda m: Seg(fmt.count(model_prompt_tokens(m))), priority=3,
               sort="tokens", help="prompt tokens"),
        Column("OUT", 7, lambda m: Seg(fmt.count(m.output_tokens)), priority=3, sort="output",
               help="output tokens"),
        Column("CACHE", 5, lambda m: Seg(fmt.percent(hit(m)), cache_role(hit(m))), priority=2,
               sort="cache", help="cache hit rate"),
        Column("COST", 9, lambda m: Seg(fmt.usd(m.cost_usd, m.estimated), "money"), sort="cost",
               help="cost; ≈ when the model is not in the pricing table"),
        Column("SHARE", 5, lambda m: Seg(fmt.percent(share(m))), sort="cost",
               help="share of all cost"),
        Column("P50", 6, lambda m: Seg(fmt.millis(m.latency_p50_ms)), priority=5,
               help="its requests' median time, sent to answered (where the log says)"),
        Column("P95", 6, lambda m: Seg(fmt.millis(m.latency_p95_ms)), priority=5,
               help="their 95th percentile"),
        Column("", 10, lambda m: Seg(fmt.bar(share(m) or 0.0, 10), "bar"), right=False,
               priority=4),
    ]  # fmt: skip


def agent_columns(total_cost: float) -> list[Column[AgentRow]]:
    def share(a: AgentRow) -> float | None:
        return a.cost_usd / total_cost if total_cost else None

    return [
        Column("AGENT", 10, lambda a: Seg(fmt.agent(a.agent)), right=False, grow=6, sort="agent",
               help="the coding agent"),
        Column("SESS", 4, lambda a: Seg(str(a.sessions)), sort="sessions",
               help="its sessions in the table now"),
        Column("ACTIVE", 6, lambda a: Seg(str(a.active), "good" if a.active else ""),
               priority=3, help="of them active"),
        Column("REQS", 6, lambda a: Seg(fmt.count(a.requests)), priority=2, sort="requests",
               help="requests"),
        Column("IN", 7, lambda a: Seg(fmt.count(a.prompt_tokens)), priority=3, sort="tokens",
               help="prompt tokens"),
        Column("OUT", 7, lambda a: Seg(fmt.count(a.output_tokens)), priority=3, sort="output",
               help="output tokens (reasoning included)"),
        Column("REASON", 7, lambda a: Seg(fmt.count(a.reasoning_tokens)), priority=5,
               help="reasoning tokens, a part of output"),
        Column("CACHE", 5, lambda a: Seg(fmt.percent(a.cache_hit_rate),
                                         cache_role(a.cache_hit_rate)), priority=2,
               help="cache hit rate"),
        Column("TOOLS", 5, lambda a: Seg(fmt.count(a.tool_calls)), priority=4,
               help="tool calls"),
        Column("COST", 9, lambda a: Seg(fmt.usd(a.cost_usd, a.estimated), "money"), sort="cost",
               help="cost; ≈ when a model is not in the pricing table"),
        Column("SHARE", 5, lambda a: Seg(fmt.percent(share(a))), sort="cost",
               help="share of all cost"),
        Column("", 10, lambda a: Seg(fmt.bar(share(a) or 0.0, 10), "bar"), right=False,
               priority=4),
    ]  # fmt: skip


def agents_table(agents: Sequence[AgentRow], width: int) -> list[Line]:
    total = sum(a.cost_usd for a in agents)
    return table(agent_columns(total), agents, width)


def tools_table(tools: Sequence[ToolRow], width: int) -> list[Line]:
    return table(TOOL_COLUMNS, tools, width)


def models_table(models: Sequence[ModelRow], width: int) -> list[Line]:
    total = sum(m.cost_usd for m in models)
    return table(model_columns(total), models, width)


def alert_line(alert: Alert, width: int) -> Line:
    critical = alert.severity == "critical"
    role = "alert_critical" if critical else "alert"
    return fit([Seg(("!! " if critical else " ! ") + alert.message, role)], width)


def alert_lines(alerts: Sequence[Alert], width: int) -> list[Line]:
    return [alert_line(a, width) for a in alerts]


# --- fitting ----------------------------------------------------------------------


def fit(line: Line, width: int) -> Line:
    """Cut a line to `width` display cells, keeping the segments' roles."""
    out: Line = []
    left = width
    for seg in line:
        if left <= 0:
            break
        text = seg.text if seg.text.isprintable() else printable(seg.text)
        used = display_width(text)
        if used > left:
            text = cut(text, left)
            used = display_width(text)
        out.append(seg if text is seg.text else Seg(text, seg.role))
        left -= used
    return out


def pad_line(line: Line, width: int, role: str = "") -> Line:
    """`line` cut or filled with spaces to exactly `width` cells."""
    line = fit(line, width)
    used = width_of(line)
    return [*line, Seg(" " * (width - used), role)] if used < width else line
