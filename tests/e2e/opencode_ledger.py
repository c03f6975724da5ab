"""What the mock LLM API answered, per OpenCode session: the expected figures.

Every figure comes from what OpenCode and the mock did, never from constants or from aitop:

* tokens and requests from the mock's request log (`mock-requests.jsonl`: one line per HTTP
  request, with OpenCode's `x-session-id` header and the exact usage the mock answered,
  `usage_norm`), the title request left out: OpenCode stores it nowhere (its README,
  "The accounting rule"), and exactly it;
* a subagent's requests carry its own session's id: they belong to the session whose
  `task` started it (`session.parent_id` in OpenCode's store, read here with sqlite3);
* cost computed here from the rates in aitop's price table file, read with `tomllib`
  (not through aitop's pricing code);
* tool calls from the mock's log (each tool call it answered with, OpenCode ran);
  failures, API errors and turns from OpenCode's own `--format json` output.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aitop

PRICES = Path(aitop.__file__).resolve().parent / "pricing.toml"
TOKENS = ("input", "output", "reasoning", "cache_read", "cache_write")


def rates() -> dict[str, dict[str, float]]:
    """USD per million tokens, by model id: each model's first price period."""
    table = tomllib.loads(PRICES.read_text())
    return {model["id"]: model["price"][0] for model in table["model"] if "price" in model}


def request_cost(
    model: str, usage: Mapping[str, int], table: Mapping[str, Mapping[str, float]]
) -> float:
    """One request's price: output and reasoning at the output rate (OpenAI counts reasoning
    in its completion tokens), Anthropic's cache writes at the 5-minute rate (the mock
    writes only those), OpenAI's none."""
    r = table[model]
    cache_write = r.get("cache_write_5m", r.get("cache_write", r["input"]))
    return (
        usage["input"] * r["input"]
        + (usage["output"] + usage["reasoning"]) * r["output"]
        + usage["cache_read"] * r.get("cache_read", r["input"])
        + usage["cache_write"] * cache_write
    ) / 1e6


@dataclass
class OpenCodeLedger:
    """One root session as the mock saw it, its subagents' sessions included."""

    session_id: str
    requests: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKENS, 0))
    cost_usd: float = 0.0
    models: set[str] = field(default_factory=set)
    tool_calls: int = 0
    http_errors: int = 0
    title_requests: int = 0
    title_tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKENS, 0))
    sessions: set[str] = field(default_factory=set)

    def expected_row(self) -> dict[str, int]:
        """aitop's row for the session: its output holds the reasoning tokens."""
        t = self.tokens
        return {
            "requests": self.requests,
            "input_tokens": t["input"],
            "output_tokens": t["output"] + t["reasoning"],
            "reasoning_tokens": t["reasoning"],
            "cache_read_tokens": t["cache_read"],
            "cache_write_tokens": t["cache_write"],
            "tool_calls": self.tool_calls,
            "subagents": len(self.sessions) - 1,
        }


def ledgers(
    requests: Iterable[dict[str, Any]], parents: Mapping[str, str | None]
) -> dict[str, OpenCodeLedger]:
    """The mock's log grouped by root session (`parents`: session id -> parent id)."""
    table = rates()
    out: dict[str, OpenCodeLedger] = {}
    for request in requests:
        if request.get("method") != "POST" or "reply" not in request:
            continue
        sid = request["headers"].get("x-session-id")
        assert sid, f"mock request {request['seq']} names no session"
        root = sid
        while parents.get(root):
            root = parents[root] or root
        ledger = out.setdefault(root, OpenCodeLedger(root))
        ledger.sessions.add(sid)
        if request["reply"] == "http_error":
            ledger.http_errors += 1
            continue
        usage = request["usage_norm"]
        if request["reply"] == "title":  # stored nowhere: the one thing aitop cannot count
            ledger.title_requests += 1
            for k in TOKENS:
                ledger.title_tokens[k] += usage[k]
            continue
        ledger.requests += 1
        for k in TOKENS:
            ledger.tokens[k] += usage[k]
        ledger.cost_usd += request_cost(request["model"], usage, table)
        ledger.models.add(request["model"])
        ledger.tool_calls += len(request.get("tool_calls") or [])
    return out


@dataclass
class Output:
    """What OpenCode's `run --format json` printed for the root session."""

    tool_errors: int = 0
    api_errors: int = 0
    turns: int = 0
    subagents: int = 0


def output_of(stdouts: Iterable[str]) -> Output:
    out = Output()
    for stdout in stdouts:
        for line in stdout.splitlines():
            event = json.loads(line)
            part = event.get("part") or {}
            state = part.get("state") or {}
            if event["type"] == "tool_use":
                exit_code = (state.get("metadata") or {}).get("exit")
                if state.get("status") == "error" or exit_code not in (None, 0):
                    out.tool_errors += 1
                if part.get("tool") == "task":
                    out.subagents += 1
            elif event["type"] == "error" and (event.get("error") or {}).get("name") == "APIError":
                out.api_errors += 1
            elif event["type"] == "step_finish" and part.get("reason") == "stop":
                out.turns += 1
    return out
