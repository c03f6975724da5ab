"""Alerts: what needs attention now. A pure function of a snapshot and thresholds.

An alert's id is stable while its condition lasts, so the screen can ring the bell
only for new ones.
"""

from __future__ import annotations

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


MAX_TOKENS_RECENT_S = 300.0
CRITICAL = "critical"
WARNING = "warning"


def evaluate(snapshot: Snapshot, limits: Thresholds) -> list[Alert]:
    """Every alert the snapshot calls for, most severe first."""
    found: list[Alert] = []
    found.extend(_window_alerts(snapshot, limits))
    for row in snapshot.sessions:
        if row.status != "ended":
            found.extend(_session_alerts(row, limits, snapshot.now))
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


def _session_alerts(row: SessionRow, limits: Thresholds, now: float) -> list[Alert]:
    out = []
    sid, name = row.session_id, row.project
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
