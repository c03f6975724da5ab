"""Sort orders of each tab's table, in immutable tables: each names its column (so the
header can show it), its natural direction and its key binding; the keymap and the F6
menu are made from them. Ties fall back to a fixed order (sessions: the most recent
activity, then the id; tools and models: the name), so an order is always the same
for the same rows.

One rule stands above every session order: a session waiting for its user comes first
and an ended one last, whatever the column, because what needs you must not be the
fourth row of eleven.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from aitop.snapshot import AgentRow, ModelRow, SessionRow, ToolRow
from aitop.ui import sections

Row = TypeVar("Row")

STATUS_ORDER = {"waiting": 0, "active": 1, "idle": 2, "ended": 3}


class SortOrder(NamedTuple):
    key: str  # also `Column.sort` of the column it sorts by
    title: str  # that column's title
    reverse: bool  # True: the largest first
    binding: str | None  # a key that picks it directly
    value: Callable[[Any], float | str]
    what: str  # for the help screen


def _context(row: SessionRow) -> float:
    fill = sections.context_fill(row)
    return -1.0 if fill is None else fill


def _now_since(row: SessionRow) -> float:
    """Since when it has been doing what it does; ended sessions last."""
    if row.now is None or row.now.state == "ended":
        return float("inf")
    return row.now.since_ts


def _cache(row: SessionRow) -> float:
    hit = sections.judged_hit_rate(row)
    return 2.0 if hit is None else hit  # nothing to judge yet: after every real rate


def _model_cache(row: ModelRow) -> float:
    hit = sections.model_hit_rate(row)
    return 2.0 if hit is None else hit


# in the order of each table's columns, so `<` and `>` move left and right
SORTS: tuple[SortOrder, ...] = (
    SortOrder("project", "PROJECT", False, None, lambda r: r.project.casefold(), "name"),
    SortOrder("model", "MODEL", False, None, lambda r: r.model or "~", "model id"),
    SortOrder("status", "STATUS", False, None, lambda r: STATUS_ORDER.get(r.status, 9),
              "waiting first, then active, idle, ended"),
    SortOrder("now", "NOW", False, None, _now_since, "longest at what it is doing first"),
    SortOrder("requests", "REQS", True, None, lambda r: r.requests, "most requests first"),
    SortOrder("tokens", "IN", True, None,
              lambda r: sections.prompt_tokens(r) + r.output_tokens, "most tokens first"),
    SortOrder("cache", "CACHE", False, None, _cache, "worst cache hit rate first"),
    SortOrder("cost", "COST", True, "C", lambda r: r.cost_usd, "most expensive first"),
    SortOrder("rate", "$/HR", True, "P", sections.session_rate,
              "spending fastest first (the last 5 minutes)"),
    SortOrder("context", "CONTEXT", True, "M", _context, "fullest context first"),
    SortOrder("tools", "TOOLS", True, None, lambda r: r.tool_calls, "most tool calls first"),
    SortOrder("last", "LAST", True, "T", lambda r: r.last_activity_ts, "most recent first"),
)  # fmt: skip

TOOL_SORTS: tuple[SortOrder, ...] = (
    SortOrder("name", "TOOL", False, None, lambda t: t.name.casefold(), "name"),
    SortOrder("calls", "CALLS", True, "C", lambda t: t.calls, "most called first"),
    SortOrder("errors", "ERRORS", True, "E", lambda t: t.errors, "most failures first"),
    SortOrder("error_rate", "ERR%", True, None,
              lambda t: sections.tool_error_rate(t) or 0.0, "highest failure rate first"),
    SortOrder("p50", "P50", True, None, lambda t: -1.0 if t.p50_ms is None else t.p50_ms,
              "slowest median first"),
    SortOrder("p95", "P95", True, "T", lambda t: -1.0 if t.p95_ms is None else t.p95_ms,
              "slowest 95th percentile first"),
)  # fmt: skip

MODEL_SORTS: tuple[SortOrder, ...] = (
    SortOrder("model", "MODEL", False, None, lambda m: m.model.casefold(), "model id"),
    SortOrder("requests", "REQS", True, None, lambda m: m.requests, "most requests first"),
    SortOrder("tokens", "IN", True, None, sections.model_prompt_tokens,
              "most prompt tokens first"),
    SortOrder("output", "OUT", True, None, lambda m: m.output_tokens, "most output first"),
    SortOrder("cache", "CACHE", False, None, _model_cache, "worst cache hit rate first"),
    SortOrder("cost", "COST", True, "C", lambda m: m.cost_usd, "most expensive first"),
)  # fmt: skip

AGENT_SORTS: tuple[SortOrder, ...] = (
    SortOrder("agent", "AGENT", False, None, lambda a: a.agent, "agent"),
    SortOrder("sessions", "SESS", True, None, lambda a: a.sessions, "most sessions first"),
    SortOrder("requests", "REQS", True, None, lambda a: a.requests, "most requests first"),
    SortOrder("tokens", "IN", True, None, lambda a: a.prompt_tokens, "most prompt tokens first"),
    SortOrder("output", "OUT", True, None, lambda a: a.output_tokens, "most output first"),
    SortOrder("cost", "COST", True, "C", lambda a: a.cost_usd, "most expensive first"),
)  # fmt: skip

TABS = ("sessions", "tools", "models", "agents")
SORTS_BY_TAB: dict[str, tuple[SortOrder, ...]] = {
    "sessions": SORTS,
    "tools": TOOL_SORTS,
    "models": MODEL_SORTS,
    "agents": AGENT_SORTS,
}
DEFAULT_SORTS: dict[str, str] = {
    "sessions": "rate",
    "tools": "calls",
    "models": "cost",
    "agents": "cost",
}
DEFAULT_SORT = DEFAULT_SORTS["sessions"]
BY_KEY = {order.key: order for order in SORTS}
_BY_TAB = {tab: {order.key: order for order in orders} for tab, orders in SORTS_BY_TAB.items()}
_IDENTITY: dict[str, Callable[[Any], str]] = {
    "sessions": lambda r: r.key,
    "tools": lambda t: t.name,
    "models": lambda m: m.model,
    "agents": lambda a: a.agent,
}


def order_for(tab: str, key: str) -> SortOrder:
    """The tab's sort order `key`, or the tab's default one."""
    orders = _BY_TAB[tab]
    return orders.get(key) or orders[DEFAULT_SORTS[tab]]


def urgency(row: SessionRow) -> int:
    """Above any sort order: waiting for a permission, then for input, then the rest,
    ended sessions last."""
    if row.status == "waiting":
        return 0 if row.waiting_for == "permission" else 1
    return 3 if row.status == "ended" else 2


def sort_rows(rows: Sequence[SessionRow], key: str, invert: bool = False) -> list[SessionRow]:
    order = order_for("sessions", key)
    # ties: the most recent activity first, then the id, whatever the direction
    out = sorted(rows, key=lambda r: r.key)
    out.sort(key=lambda r: r.last_activity_ts, reverse=True)
    out.sort(key=order.value, reverse=order.reverse != invert)
    out.sort(key=urgency)
    return out


def sort_tools(rows: Sequence[ToolRow], key: str, invert: bool = False) -> list[ToolRow]:
    return _sorted(rows, "tools", key, invert)


def sort_models(rows: Sequence[ModelRow], key: str, invert: bool = False) -> list[ModelRow]:
    return _sorted(rows, "models", key, invert)


def sort_agents(rows: Sequence[AgentRow], key: str, invert: bool = False) -> list[AgentRow]:
    return _sorted(rows, "agents", key, invert)


def _sorted(rows: Sequence[Row], tab: str, key: str, invert: bool) -> list[Row]:
    order = order_for(tab, key)
    out = sorted(rows, key=_IDENTITY[tab])
    out.sort(key=order.value, reverse=order.reverse != invert)
    return out


def neighbour(key: str, step: int, tab: str = "sessions") -> str:
    """The sort order `step` columns to the right (negative: left), wrapping around."""
    keys = [order.key for order in SORTS_BY_TAB[tab]]
    index = keys.index(order_for(tab, key).key)
    return keys[(index + step) % len(keys)]


def bindings() -> dict[str, list[tuple[str, SortOrder]]]:
    """Each sort key letter and what it sorts by in each tab: (tab, order)."""
    out: dict[str, list[tuple[str, SortOrder]]] = {}
    for tab, orders in SORTS_BY_TAB.items():
        for order in orders:
            if order.binding:
                out.setdefault(order.binding, []).append((tab, order))
    return out
