"""Alerts: what needs attention now. A pure function of a snapshot and thresholds.

An alert's id is stable while its condition lasts, so the screen can ring the bell
only for new ones; a session's wait has an id of its own, so each wait rings once.
Alerts about a session are raised only while it is at work or waiting: one that has
ended, or has been silent for minutes, needs nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from msgspec import Meta, Struct

from aitop.snapshot import Alert, SessionRow, Snapshot

Fraction = Annotated[float, Meta(ge=0, le=1)]
Usd = Annotated[float, Meta(ge=0)]
Count = Annotated[int, Meta(ge=1)]


class Thresholds(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The `[alerts]` table of config.toml."""

    burn_rate_usd_per_hour: Usd = 5.0  # the last minute's spend, extrapolated to an hour
    context_fill: Fraction = 0.8  # of the model's context window
    cache_hit_rate: Fraction = 0.3  # below this over the last minute...
    cache_min_prompt_tokens: Annotated[int, Meta(ge=0)] = 50_000  # ...with this much prompt
    tool_error_rate: Fraction = 0.5  # above this over the last 5 minutes...
    tool_error_min_calls: Count = 5  # ...with at least this many calls
    no_output_min_cost_usd: Usd = 0.05  # spent in the last minute with no output at all
    tool_loop_repeats: Count = 5  # the same tool with the same input, this many times running
    session_budget_usd: Usd = 0.0  # 0: no budget
    request_slow_s: Annotated[float, Meta(ge=0)] = 180.0  # no answer from the model this long
    tool_slow_s: Annotated[float, Meta(ge=0)] = 600.0  # a tool running this long (0: off)...
    # ...except these, long by design: a subagent at work, waiting for one
    long_tools: tuple[Annotated[str, Meta(max_length=128)], ...] = (
        "Agent",
        "Task",
        "collaborationwait_agent",
    )


MAX_TOKENS_RECENT_S = 300.0
CRITICAL = "critical"
WARNING = "warning"
LIVE = ("active", "waiting")  # the statuses whose sessions can raise alerts


def evaluate(snapshot: Snapshot, limits: Thresholds) -> list[Alert]:
    """Every alert the snapshot calls for, most severe first."""
    found: list[Alert] = []
    found.extend(_window_alerts(snapshot, limits))
    names = session_names(snapshot.sessions)
    for row in snapshot.sessions:
        if row.status in LIVE:
            found.extend(_session_alerts(row, names[row.session_id], limits, snapshot.now))
    for model in snapshot.models:
        if model.estimated:
            found.append(
                Alert(
                    f"unpriced:{model.model}",
                    WARNING,
                    f"model {model.model} is not in the pricing table: its cost is an estimate"
                    " (≈) from its family's price; add it under [pricing.models] in config.toml",
                )
            )
    for note in snapshot.diagnostics:  # a provider's set-up problem, with its fix
        if note.severity in (WARNING, CRITICAL):
            found.append(Alert(note.id, note.severity, note.message))
    rejected = snapshot.ingest.rejected_peer
    if rejected:
        found.append(
            Alert(
                "rejected_peer",
                CRITICAL,
                f"{rejected} connection{_s(rejected)} from another user rejected on the socket",
            )
        )
    found.sort(key=lambda alert: alert.severity != CRITICAL)
    return found


def _window_alerts(snapshot: Snapshot, limits: Thresholds) -> list[Alert]:
    out = []
    m1, m5 = snapshot.windows.m1, snapshot.windows.m5
    rate = m1.cost_usd * 60
    if rate > limits.burn_rate_usd_per_hour:
        out.append(
            Alert(
                "burn_rate",
                CRITICAL,
                f"burning ${rate:,.2f}/hr over the last minute"
                f" (limit ${limits.burn_rate_usd_per_hour:,.2f}/hr)",
            )
        )
    if m1.cost_usd >= limits.no_output_min_cost_usd and m1.output_tokens == 0:
        out.append(
            Alert(
                "no_output",
                WARNING,
                f"${m1.cost_usd:,.2f} spent in the last minute with no output tokens",
            )
        )
    hit = m1.cache_hit_rate
    enough = m1.prompt_tokens >= limits.cache_min_prompt_tokens
    if hit is not None and enough and hit < limits.cache_hit_rate:
        out.append(
            Alert(
                "cache_hit_rate",
                WARNING,
                f"cache hit rate {hit:.0%} over the last minute"
                f" (below {limits.cache_hit_rate:.0%}): prompts are being re-sent uncached",
            )
        )
    if m5.tool_calls >= limits.tool_error_min_calls:
        rate_errors = m5.tool_errors / m5.tool_calls
        if rate_errors > limits.tool_error_rate:
            out.append(
                Alert(
                    "tool_errors",
                    WARNING,
                    f"{m5.tool_errors} of {m5.tool_calls} tool calls failed in the last 5 minutes",
                )
            )
    return out


def session_names(rows: Sequence[SessionRow]) -> dict[str, str]:
    """What to call each session so that no two share a name: its project, and where
    several sessions share a project name, its tag or the start of its session id."""
    by_project: dict[str, list[SessionRow]] = {}
    for row in rows:
        by_project.setdefault(row.project, []).append(row)
    names = {}
    for project, group in by_project.items():
        if len(group) == 1:
            names[group[0].session_id] = project
            continue
        tags = [row.tag for row in group]
        for row in group:
            if row.tag and tags.count(row.tag) == 1:
                names[row.session_id] = f"{project} [{row.tag}]"
            else:
                names[row.session_id] = f"{project} ({_short_id(row, group)})"
    return names


def _short_id(row: SessionRow, group: Sequence[SessionRow]) -> str:
    """The shortest start of the session id (8 characters at least) that no other
    session of the group shares."""
    others = [r.session_id for r in group if r is not row]
    size = 8
    while size < len(row.session_id) and any(o.startswith(row.session_id[:size]) for o in others):
        size += 4
    return row.session_id[:size]


def _waiting_alert(row: SessionRow, name: str, now: float) -> Alert | None:
    since = row.waiting_since_ts
    if row.status != "waiting" or since is None:
        return None
    blocked = row.waiting_for == "permission"  # mid-task: nothing moves until you answer
    what = "permission" if blocked else "input"
    return Alert(
        f"waiting:{row.session_id}:{round(since * 1000)}",  # one id per wait
        CRITICAL if blocked else WARNING,
        f"{name}: waiting for your {what} for {waited(now - since)}",
    )


def waited(seconds: float) -> str:
    """How long a wait has lasted: 45s, 3m 12s, 1h 05m."""
    seconds = int(max(0.0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _slow_alert(row: SessionRow, name: str, limits: Thresholds, now: float) -> Alert | None:
    """A request with no answer, or a tool still running, for longer than it should."""
    doing = row.now
    if doing is None:
        return None
    took = now - doing.since_ts
    if doing.state == "model" and limits.request_slow_s and took > limits.request_slow_s:
        return Alert(
            f"slow_request:{row.session_id}:{round(doing.since_ts * 1000)}",
            WARNING,
            f"{name}: no answer from the model for {waited(took)}",
        )
    if (
        doing.state == "tool"
        and limits.tool_slow_s
        and took > limits.tool_slow_s
        and doing.detail not in limits.long_tools
    ):
        return Alert(
            f"slow_tool:{row.session_id}:{round(doing.since_ts * 1000)}",
            WARNING,
            f"{name}: {doing.detail} running for {waited(took)}",
        )
    return None


def _session_alerts(row: SessionRow, name: str, limits: Thresholds, now: float) -> list[Alert]:
    out = []
    sid = row.session_id
    waiting = _waiting_alert(row, name, now)
    if waiting is not None:
        out.append(waiting)
    slow = _slow_alert(row, name, limits, now)
    if slow is not None:
        out.append(slow)
    if row.context_limit and row.context_tokens > limits.context_fill * row.context_limit:
        fill = row.context_tokens / row.context_limit
        out.append(
            Alert(
                f"context:{sid}",
                CRITICAL if fill >= 0.95 else WARNING,
                f"{name}: context {fill:.0%} full ({row.context_tokens:,} of"
                f" {row.context_limit:,} tokens)",
            )
        )
    if row.tool_repeats >= limits.tool_loop_repeats and row.repeated_tool:
        out.append(
            Alert(
                f"tool_loop:{sid}",
                WARNING,
                f"{name}: {row.repeated_tool} called {row.tool_repeats}× in a row"
                " with the same input",
            )
        )
    if row.max_tokens_at is not None and now - row.max_tokens_at <= MAX_TOKENS_RECENT_S:
        out.append(
            Alert(
                f"max_tokens:{sid}",
                WARNING,
                f"{name}: a response was cut off at max_tokens"
                f" ({row.max_tokens_stops} in this session)",
            )
        )
    budget = limits.session_budget_usd
    if budget and row.cost_usd > budget:
        out.append(
            Alert(
                f"budget:{sid}",
                CRITICAL,
                f"{name}: ${row.cost_usd:,.2f} spent, over the session budget of ${budget:,.2f}",
            )
        )
    return out


def _s(count: int) -> str:
    return "" if count == 1 else "s"
