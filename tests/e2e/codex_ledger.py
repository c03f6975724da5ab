"""What the mock OpenAI API handed out, per Codex session: the expected figures.

Every figure comes from the mock's request log (`mock-requests.jsonl`: one line per HTTP
request, with Codex's headers, its `x-codex-turn-metadata` and the `response_id` and `usage`
the mock answered), never from constants.

How usage maps to sessions (tests/fixtures/codex/README.md, "Network and API behaviour"):
every request carries the `session-id` header (the root thread, also for subagents) and
`thread-id` (the thread that made it: the subagent's own for a child). The accounting
rule: every response that completed counts once, the compaction request included (Codex
records its usage like any other); HTTP errors and `response.failed` streams spent nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .codex_reference import TokenUsage
from .gemini_ledger import M, PriceTable

RESPONSES_PATHS = ("/v1/responses", "/v1/responses/compact")


@dataclass(frozen=True)
class MockResponse:
    """One response the mock completed, with usage."""

    session_id: str
    thread_id: str
    response_id: str
    model: str
    usage: TokenUsage
    compaction: bool  # x-codex-turn-metadata request_kind "compaction"
    timestamp: str


@dataclass
class CodexLedger:
    """One Codex session as the mock saw it (its subagents' requests included)."""

    session_id: str
    usage: TokenUsage = field(default_factory=TokenUsage)
    responses: list[MockResponse] = field(default_factory=list)
    compactions: int = 0
    http_errors: int = 0  # requests answered with an HTTP error status (no response)
    stream_errors: int = 0  # `response.failed` streams (no usage)

    @property
    def threads(self) -> dict[str, TokenUsage]:
        out: dict[str, TokenUsage] = {}
        for r in self.responses:
            out[r.thread_id] = out.get(r.thread_id, TokenUsage()).plus(r.usage)
        return out

    @property
    def models(self) -> dict[str, TokenUsage]:
        out: dict[str, TokenUsage] = {}
        for r in self.responses:
            out[r.model] = out.get(r.model, TokenUsage()).plus(r.usage)
        return out

    def aitop_counts(self) -> dict[str, int]:
        """The figures in aitop's normalised terms (DESIGN.md, "Agents"): OpenAI's input
        includes the cached tokens, aitop's `input_tokens` are the uncached ones."""
        u = self.usage
        return {
            "requests": len(self.responses),
            "input_tokens": u.input_tokens - u.cached_input_tokens,
            "output_tokens": u.output_tokens,
            "cache_read_tokens": u.cached_input_tokens,
            "cache_write_tokens": u.cache_write_input_tokens,
        }


# Codex 0.171.0's default model is in no price table: aitop prices an unknown model as the
# newest of its own vendor's family and marks it estimated (README, "Prices").
PRICED_AS = {"gpt-6.2-sol": "gpt-6.1-sol"}


def openai_cost(response: MockResponse, table: PriceTable) -> Decimal:
    """What a response costs by OpenAI's rules, read off the price data apart from aitop's
    pricing code: `input_tokens` holds the cached and cache-written parts, each at its own
    rate (a cache write at `input` where the model has no such rate); output, reasoning
    included, at `output`; above a tier's prompt size the whole request at the tier's."""
    when = datetime.datetime.fromisoformat(response.timestamp).timestamp()
    rates = table.period(PRICED_AS.get(response.model, response.model), when)
    u = response.usage
    tier = rates.get("tier")
    if tier is not None and u.input_tokens > tier["above"]:
        rates = {**rates, **tier}

    def rate(name: str, default: str | None = None) -> Decimal:
        return Decimal(str(rates[name] if name in rates or default is None else rates[default]))

    uncached = u.input_tokens - u.cached_input_tokens - u.cache_write_input_tokens
    return (
        uncached * rate("input")
        + u.cached_input_tokens * rate("cache_read", "input")
        + u.cache_write_input_tokens * rate("cache_write", "input")
        + u.output_tokens * rate("output")
    ) / M


def session_of(request: dict[str, Any]) -> str | None:
    headers = request.get("headers") or {}
    sid = headers.get("session-id") or (request.get("turn_metadata") or {}).get("session_id")
    return str(sid) if sid else None


def thread_of(request: dict[str, Any]) -> str | None:
    headers = request.get("headers") or {}
    tid = headers.get("thread-id") or (request.get("turn_metadata") or {}).get("thread_id")
    return str(tid) if tid else None


def mock_responses(requests: Iterable[dict[str, Any]]) -> list[MockResponse]:
    """Every completed response with usage, in order."""
    out = []
    for request in requests:
        if request.get("path") not in RESPONSES_PATHS or not request.get("usage"):
            continue
        sid, tid = session_of(request), thread_of(request)
        assert sid and tid, f"mock request {request.get('seq')} names no session/thread"
        kind = (request.get("turn_metadata") or {}).get("request_kind")
        out.append(
            MockResponse(
                session_id=sid,
                thread_id=tid,
                response_id=request["response_id"],
                model=request.get("model") or "",
                usage=TokenUsage.from_api(request["usage"]),
                compaction=kind == "compaction" or request.get("reply") == "compact",
                timestamp=request["ts"],
            )
        )
    return out


def codex_ledgers(requests: Iterable[dict[str, Any]]) -> dict[str, CodexLedger]:
    """The mock's request log, grouped by Codex session."""
    requests = list(requests)
    out: dict[str, CodexLedger] = {}
    for request in requests:
        sid = session_of(request)
        if request.get("path") not in RESPONSES_PATHS or sid is None:
            continue
        ledger = out.setdefault(sid, CodexLedger(sid))
        if request.get("reply") == "http_error":
            ledger.http_errors += 1
        elif request.get("reply") == "stream_error":
            ledger.stream_errors += 1
    for response in mock_responses(requests):
        ledger = out[response.session_id]
        ledger.responses.append(response)
        ledger.usage = ledger.usage.plus(response.usage)
        ledger.compactions += response.compaction
    return out
