"""What the mock API handed out, per Claude Code session: the expected figures.

Every figure comes from the mock's request log (one line per HTTP request, with the
`x-claude-code-session-id` header Claude Code sends, the usage the mock answered with,
the tool_use blocks it returned and the tool_results the client sent back), never from
constants: the tests compare aitop's snapshot with this ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aitop.events import Usage
from aitop.pricing import PICO_PER_USD, Pricer

from conftest import api_usage

TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
SUBAGENT_TOOLS = ("Agent", "Task")
SESSION_HEADER = "x-claude-code-session-id"


@dataclass(frozen=True)
class Spend:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_pico: int = 0

    def plus(self, usage: Usage, cost_pico: int) -> Spend:
        return Spend(
            self.requests + 1,
            self.input_tokens + usage.input_tokens,
            self.output_tokens + usage.output_tokens,
            self.cache_read_tokens + usage.cache_read_tokens,
            self.cache_write_tokens + usage.cache_write_tokens,
            self.cost_pico + cost_pico,
        )

    def add(self, other: Spend) -> Spend:
        return Spend(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def minus(self, other: Spend) -> Spend:
        return Spend(*(a - b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def as_tuple(self) -> tuple[int, ...]:
        return (
            self.requests,
            self.input_tokens,
            self.output_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
            self.cost_pico,
        )

    def counts(self) -> dict[str, int]:
        """Requests and tokens, named as in aitop's snapshot."""
        return {"requests": self.requests, **{name: getattr(self, name) for name in TOKENS}}

    @property
    def cost_usd(self) -> float:
        return self.cost_pico / PICO_PER_USD


@dataclass
class Ledger:
    """One session as the mock saw it (its subagents' requests carry the same header)."""

    session_id: str
    everything: Spend = Spend()
    compaction: Spend = Spend()  # the compaction requests: in no transcript
    compactions: int = 0
    tool_uses: dict[str, str] = field(default_factory=dict)  # tool_use id -> tool name
    failed_tools: set[str] = field(default_factory=set)  # tool_results with is_error
    largest_batch: int = 0  # most tool_use blocks in one response (parallel calls)
    failed_prompts: set[str] = field(default_factory=set)  # prompts answered with HTTP errors
    http_errors: int = 0

    @property
    def transcribed(self) -> Spend:
        """What the transcripts hold, so what aitop can count: all but the compaction."""
        return self.everything.minus(self.compaction)

    @property
    def tool_calls(self) -> int:
        return len(self.tool_uses)

    @property
    def tool_errors(self) -> int:
        return len(self.failed_tools & self.tool_uses.keys())

    @property
    def subagents(self) -> int:
        return sum(1 for name in self.tool_uses.values() if name in SUBAGENT_TOOLS)

    @property
    def api_errors(self) -> int:
        """Claude Code retries a failing request several times and then writes one API
        error line for the turn: one per prompt that got HTTP errors."""
        return len(self.failed_prompts)

    def expected_row(self) -> dict[str, int]:
        """The fields of aitop's session row this ledger decides."""
        return {
            **self.transcribed.counts(),
            "tool_calls": self.tool_calls,
            "tool_errors": self.tool_errors,
            "subagents": self.subagents,
            "compactions": self.compactions,
            "api_errors": self.api_errors,
        }


def ledgers(requests: Iterable[dict[str, Any]], pricer: Pricer) -> dict[str, Ledger]:
    """The mock's request log, grouped by Claude Code session."""
    out: dict[str, Ledger] = {}
    for request in requests:
        if request.get("path") != "/v1/messages":
            continue
        sid = request["headers"].get(SESSION_HEADER)
        if sid is None:
            continue
        ledger = out.setdefault(sid, Ledger(sid))
        if request.get("reply") == "http_error":
            ledger.http_errors += 1
            ledger.failed_prompts.add(request.get("prompt_tail") or "")
            continue
        usage = api_usage(request["usage"])
        when = datetime.strptime(request["ts"], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        cost = pricer.cost_pico(request["model"], usage, when.timestamp())
        ledger.everything = ledger.everything.plus(usage, cost)
        if request["reply"] == "compact_summary":
            ledger.compaction = ledger.compaction.plus(usage, cost)
            ledger.compactions += 1
        for tool_id, name in request.get("tool_uses", []):
            ledger.tool_uses[tool_id] = name
        ledger.largest_batch = max(ledger.largest_batch, len(request.get("tool_uses", [])))
        ledger.failed_tools.update(tid for tid, is_error in request["tool_results"] if is_error)
    return out


def total(of: Iterable[Ledger]) -> Spend:
    """What the transcripts of these sessions hold, together."""
    spent = Spend()
    for ledger in of:
        spent = spent.add(ledger.transcribed)
    return spent
