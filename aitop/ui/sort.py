"""Sort orders of the session table, in one immutable table: each names its column (so
the header can show it), its natural direction and its key binding; the keymap and
the F6 menu are made from it. Ties fall back to the most recent activity, then the
session id, so an order is always the same for the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from aitop.snapshot import SessionRow
from aitop.ui import sections

STATUS_ORDER = {"waiting": 0, "active": 1, "idle": 2, "ended": 3}


class SortOrder(NamedTuple):
    key: str  # also `Column.sort` of the column it sorts by
    title: str  # that column's title
    reverse: bool  # True: the largest first
    binding: str | None  # a key that picks it directly
    value: Callable[[SessionRow], float | str]
    what: str  # for the help screen


def _context(row: SessionRow) -> float:
    fill = sections.context_fill(row)
    return -1.0 if fill is None else fill


def _cache(row: SessionRow) -> float:
    hit = sections.hit_rate(row)
    return 2.0 if hit is None else hit  # no prompt yet: after every real rate


# in the order of the table's columns, so `<` and `>` move left and right
SORTS: tuple[SortOrder, ...] = (
    SortOrder("project", "PROJECT", False, None, lambda r: r.project.casefold(), "name"),
    SortOrder("model", "MODEL", False, None, lambda r: r.model or "~", "model id"),
    SortOrder("status", "STATUS", False, None, lambda r: STATUS_ORDER.get(r.status, 9),
              "waiting first, then active, idle, ended"),
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

DEFAULT_SORT = "rate"
BY_KEY = {order.key: order for order in SORTS}


def sort_rows(rows: Sequence[SessionRow], key: str, invert: bool = False) -> list[SessionRow]:
    order = BY_KEY.get(key, BY_KEY[DEFAULT_SORT])
    # ties: the most recent activity first, then the id, whatever the direction
    out = sorted(rows, key=lambda r: r.session_id)
    out.sort(key=lambda r: r.last_activity_ts, reverse=True)
    out.sort(key=order.value, reverse=order.reverse != invert)
    return out


def neighbour(key: str, step: int) -> str:
    """The sort order `step` columns to the right (negative: left), wrapping around."""
    keys = [order.key for order in SORTS]
    index = keys.index(key) if key in keys else keys.index(DEFAULT_SORT)
    return keys[(index + step) % len(keys)]
