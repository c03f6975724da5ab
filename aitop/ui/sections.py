"""The parts of a frame as styled lines: pure functions of a snapshot and a width.

A line is a list of segments (text, role); roles are semantic ("warn", "bad", "dim",
"head"…) and become colours only on the screen. Batch text joins the texts.
Shared by the screen and by `aitop -b`, so both always say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from aitop.snapshot import SPANS, Alert, ModelRow, SessionRow, Snapshot, ToolRow, Window
from aitop.ui import format as fmt
from aitop.ui.width import cut, display_width, pad

Row = TypeVar("Row")


class Seg(NamedTuple):
    text: str
    role: str = ""


Line = list[Seg]


def plain(line: Line) -> str:
    return "".join(seg.text for seg in line)


# --- thresholds that colour values --------------------------------------------------

CACHE_WARN = 0.60
CACHE_BAD = 0.30


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
    if fraction >= 0.95:
        return "bad"
    if fraction >= 0.8:
        return "warn"
    return ""


STATUS_ROLE = {"active": "good", "waiting": "waiting", "idle": "dim", "ended": "dim"}


# --- header -----------------------------------------------------------------------


def header(snap: Snapshot, width: int, clock: str) -> list[Line]:
    counts = {"active": 0, "waiting": 0}
    for row in snap.sessions:
        if row.status in counts:
            counts[row.status] += 1
    ingest = snap.ingest
    rejected = ingest.rejected_peer
    socket_state: Line
    if not snap.listening:
        socket_state = [Seg("socket down", "bad")]
    elif rejected:
        socket_state = [Seg(f"listening, {rejected} rejected", "bad")]
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
    second.append(Seg(f", {ingest.frames:,} events"))
    backlog = snap.transcripts.backlog_bytes if snap.transcripts else 0
    if backlog:
        second.append(Seg(f", reading transcripts ({backlog / 1e6:,.0f} MB left)", "warn"))
    second.append(Seg(f", prices of {snap.pricing_date}", "dim"))
    return [fit(first, width), fit(second, width)]


# --- the windows table (rows are metrics, columns 1m 5m 15m like load averages) --------


@dataclass(frozen=True)
class Metric:
    title: str
    value: Callable[[Window, int], str]  # (window, its seconds) -> text
    role: Callable[[Window], str] = lambda _w: ""
    series: str | None = None  # which Series to draw a sparkline of


def _per_minute(n: float, seconds: int) -> float:
    return n * 60 / seconds


METRICS: tuple[Metric, ...] = (
    Metric("requests", lambda w, s: fmt.count(w.requests), series="requests"),
    Metric("req/min", lambda w, s: fmt.rate(_per_minute(w.requests, s))),
    Metric("turns", lambda w, s: fmt.count(w.turns)),
    Metric(
        "errors",
        lambda w, s: fmt.count(w.errors),
        lambda w: "bad" if w.errors else "",
    ),
    Metric(
        "error rate", lambda w, s: fmt.percent(w.error_rate), lambda w: error_role(w.error_rate)
    ),
    Metric("tool calls", lambda w, s: fmt.count(w.tool_calls)),
    Metric("compactions", lambda w, s: fmt.count(w.compactions)),
    Metric("input", lambda w, s: fmt.count(w.input_tokens)),
    Metric("output", lambda w, s: fmt.count(w.output_tokens)),
    Metric("tok/min", lambda w, s: fmt.rate(_per_minute(w.tokens, s)), series="tokens"),
    Metric("cache read", lambda w, s: fmt.count(w.cache_read_tokens)),
    Metric("cache write", lambda w, s: fmt.count(w.cache_write_tokens)),
    Metric(
        "cache hit",
        lambda w, s: fmt.percent(w.cache_hit_rate),
        lambda w: cache_role(w.cache_hit_rate),
    ),
    Metric("cost", lambda w, s: fmt.usd(w.cost_usd), lambda w: "money", series="cost_usd"),
    Metric("$/hr", lambda w, s: fmt.usd(w.cost_usd * 3600 / s)),
)

LABEL_W = 12
VALUE_W = 9
SPARK_W = 15


def windows_table(snap: Snapshot, width: int, max_rows: int | None = None) -> list[Line]:
    """The windows table; two blocks side by side when the width allows."""
    windows = snap.windows.by_name()
    block_w = LABEL_W + 3 * VALUE_W + 2 + SPARK_W
    rows = [_metric_row(m, windows, snap) for m in METRICS]
    head = _metric_head()
    if width >= 2 * block_w + 3:
        half = (len(rows) + 1) // 2
        left, right = rows[:half], rows[half:]
        right += [[Seg(" " * block_w)]] * (len(left) - len(right))
        gap = Seg("   ")
        out = [[*head, gap, *head]]
        out += [[*lft, gap, *rgt] for lft, rgt in zip(left, right, strict=True)]
    else:
        out = [head, *rows]
    if max_rows is not None:
        out = out[:max_rows]
    return [fit(line, width) for line in out]


def _metric_head() -> Line:
    cells = "".join(pad(name, VALUE_W, right=True) for name in SPANS)
    return [Seg(pad("", LABEL_W) + cells + "  " + pad("last 15 min", SPARK_W), "head")]


def _metric_row(metric: Metric, windows: dict[str, Window], snap: Snapshot) -> Line:
    line: Line = [Seg(pad(metric.title, LABEL_W), "label")]
    for name, window in windows.items():
        text = metric.value(window, SPANS[name])
        line.append(Seg(pad(text, VALUE_W, right=True), metric.role(window)))
    line.append(Seg("  "))
    spark = ""
    if metric.series and snap.series is not None:
        values: Sequence[float] = getattr(snap.series, metric.series)
        spark = fmt.sparkline(list(values))
    line.append(Seg(pad(spark, SPARK_W), "spark"))
    return line


# --- tables -----------------------------------------------------------------------


@dataclass(frozen=True)
class Column(Generic[Row]):
    title: str
    width: int
    cell: Callable[[Row], Seg]
    right: bool = True


def table(columns: Sequence[Column[Row]], rows: Sequence[Row], width: int) -> list[Line]:
    """A header line and one line per row, each cut to `width`."""
    head = " ".join(pad(c.title, c.width, right=c.right) for c in columns)
    out: list[Line] = [fit([Seg(head, "head")], width)]
    for row in rows:
        line: Line = []
        for index, column in enumerate(columns):
            seg = column.cell(row)
            text = pad(cut(seg.text, column.width), column.width, right=column.right)
            if index:
                line.append(Seg(" "))
            line.append(Seg(text, seg.role))
        out.append(fit(line, width))
    return out


def session_columns(now: float) -> list[Column[SessionRow]]:
    def r(fn: Callable[[SessionRow], Seg]) -> Callable[[SessionRow], Seg]:
        return fn

    return [
        Column("PROJECT", 16, r(lambda s: Seg(s.project)), right=False),
        Column(
            "MODEL",
            17,
            r(lambda s: Seg(s.model or fmt.DASH, "dim" if not s.model else "")),
            right=False,
        ),
        Column(
            "STATUS", 10, r(lambda s: Seg(_status(s), STATUS_ROLE.get(s.status, ""))), right=False
        ),
        Column("REQS", 5, r(lambda s: Seg(fmt.count(s.requests)))),
        Column(
            "IN",
            6,
            r(
                lambda s: Seg(
                    fmt.count(s.input_tokens + s.cache_read_tokens + s.cache_write_tokens)
                )
            ),
        ),
        Column("OUT", 6, r(lambda s: Seg(fmt.count(s.output_tokens)))),
        Column("CACHE", 5, r(lambda s: Seg(fmt.percent(_hit(s)), cache_role(_hit(s))))),
        Column("COST", 9, r(lambda s: Seg(fmt.usd(s.cost_usd, s.cost_estimated), "money"))),
        Column("$/HR", 8, r(lambda s: Seg(fmt.usd(session_rate(s))))),
        Column("CONTEXT", 14, r(lambda s: _context(s)), right=False),
        Column("CMP", 3, r(lambda s: Seg(str(s.compactions) if s.compactions else "", ""))),
        Column(
            "TOOLS", 5, r(lambda s: Seg(fmt.count(s.tool_calls), "bad" if s.tool_errors else ""))
        ),
        Column("SUB", 3, r(lambda s: Seg(str(s.subagents) if s.subagents else ""))),
        Column("TAG", 8, r(lambda s: Seg(s.tag or "")), right=False),
        Column("LAST", 4, r(lambda s: Seg(fmt.age(now - s.last_activity_ts)))),
    ]


def _status(row: SessionRow) -> str:
    if row.status == "waiting" and row.waiting_for:
        return f"wait:{'perm' if row.waiting_for == 'permission' else 'input'}"
    return row.status


def _hit(row: SessionRow) -> float | None:
    prompt = row.input_tokens + row.cache_read_tokens + row.cache_write_tokens
    return row.cache_read_tokens / prompt if prompt else None


def session_rate(row: SessionRow) -> float:
    """The session's $/hr over its last 5 minutes."""
    if row.windows is None:
        return 0.0
    return row.windows.m5.cost_usd * 3600 / SPANS["5m"]


def _context(row: SessionRow) -> Seg:
    if not row.context_limit:
        return Seg(fmt.DASH, "dim")
    fraction = row.context_tokens / row.context_limit
    return Seg(f"{fmt.bar(fraction, 8)} {fmt.percent(fraction):>4}", fill_role(fraction))


TOOL_COLUMNS: list[Column[ToolRow]] = [
    Column("TOOL", 24, lambda t: Seg(t.name), right=False),
    Column("CALLS", 7, lambda t: Seg(fmt.count(t.calls))),
    Column("ERRORS", 7, lambda t: Seg(fmt.count(t.errors), "bad" if t.errors else "")),
    Column(
        "ERR%",
        5,
        lambda t: Seg(
            fmt.percent(t.errors / t.calls if t.calls else None),
            error_role(t.errors / t.calls if t.calls else None),
        ),
    ),
    Column("P50", 7, lambda t: Seg(fmt.millis(t.p50_ms))),
    Column("P95", 7, lambda t: Seg(fmt.millis(t.p95_ms))),
]


def model_columns(total_cost: float) -> list[Column[ModelRow]]:
    def share(m: ModelRow) -> Seg:
        return Seg(fmt.percent(m.cost_usd / total_cost if total_cost else None))

    columns: list[Column[ModelRow]] = [
        Column("MODEL", 28, lambda m: Seg(m.model), right=False),
        Column("REQS", 6, lambda m: Seg(fmt.count(m.requests))),
        Column(
            "IN",
            7,
            lambda m: Seg(fmt.count(m.input_tokens + m.cache_read_tokens + m.cache_write_tokens)),
        ),
        Column("OUT", 7, lambda m: Seg(fmt.count(m.output_tokens))),
        Column("COST", 10, lambda m: Seg(fmt.usd(m.cost_usd, m.estimated), "money")),
        Column("SHARE", 6, share),
    ]
    return columns


def tools_table(tools: Sequence[ToolRow], width: int) -> list[Line]:
    return table(TOOL_COLUMNS, tools, width)


def models_table(models: Sequence[ModelRow], width: int) -> list[Line]:
    total = sum(m.cost_usd for m in models)
    return table(model_columns(total), models, width)


def alert_lines(alerts: Sequence[Alert], width: int) -> list[Line]:
    return [
        fit([Seg(("!! " if a.severity == "critical" else " ! ") + a.message, "alert")], width)
        for a in alerts
    ]


# --- fitting ----------------------------------------------------------------------


def fit(line: Line, width: int) -> Line:
    """Cut a line to `width` display cells, keeping the segments' roles."""
    out: Line = []
    left = width
    for seg in line:
        if left <= 0:
            break
        text = cut(seg.text, left)
        out.append(Seg(text, seg.role))
        left -= display_width(text)
    return out
