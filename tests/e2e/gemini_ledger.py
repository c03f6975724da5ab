"""What the mock Gemini API handed out, per Gemini CLI session: the expected figures.

Every figure comes from the mock's request log (`mock-requests.jsonl`: one line per HTTP
request, with the `usageMetadata` the mock answered, the function calls it answered and the
tool results the request sent back) and from `invocations.jsonl` (run_real_gemini.sh: which
session each `gemini` invocation was, and the range of the mock's requests it made: Gemini
CLI sends no session id to the API, and the invocations run one after the other).

Which requests are in a chat file: the main chat's and subagents' (they offer tools); the
router's classifier calls (`generateContent`, no tools) are in none: the README's one gap.
An HTTP error spent nothing.

The cost is computed here from aitop/pricing.toml directly (tomllib and Decimal), with
Google's rules as its header states them, not with aitop's pricing code.
"""

from __future__ import annotations

import datetime
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from aitop.events import Usage

PRICE_TABLE = Path(__file__).resolve().parents[2] / "aitop" / "pricing.toml"
M = Decimal(1_000_000)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Whole lines only (a writer may be mid-line)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().split("\n")[:-1] if line]


@dataclass(frozen=True)
class Response:
    """One answer the mock generated."""

    seq: int
    model: str
    usage: dict[str, int]  # usageMetadata
    when: float
    chat: bool  # offered tools: the main chat or a subagent (in a chat file)
    calls: tuple[str, ...]
    failed_results: int  # tool results sent back as errors

    def normalised(self) -> Usage:
        """The API's usage in aitop's terms (DESIGN.md, "Agents"): input = prompt - cached
        + tool-use prompt; thoughts are output, and shown as reasoning."""
        u = self.usage
        cached = u.get("cachedContentTokenCount", 0)
        thoughts = u.get("thoughtsTokenCount", 0)
        return Usage(
            input_tokens=u["promptTokenCount"] - cached + u.get("toolUsePromptTokenCount", 0),
            output_tokens=u.get("candidatesTokenCount", 0) + thoughts,
            cache_read_tokens=cached,
            reasoning_tokens=thoughts,
        )


@dataclass
class GeminiLedger:
    """One Gemini CLI session as the mock saw it (its subagents' requests included)."""

    session_id: str
    chat: list[Response] = field(default_factory=list)  # recorded in chat files
    router: list[Response] = field(default_factory=list)  # in none
    http_errors: int = 0  # main-chat requests answered with an HTTP error: no response
    invocations: int = 0
    turns: int = 0  # prompts that got an answer

    @property
    def tool_calls(self) -> int:
        return sum(len(r.calls) for r in self.chat)

    @property
    def tool_errors(self) -> int:
        return sum(r.failed_results for r in self.chat)

    @property
    def subagent_runs(self) -> int:
        return sum(r.calls.count("invoke_agent") for r in self.chat)

    @property
    def models(self) -> set[str]:
        return {r.model for r in self.chat}

    def counts(self, responses: Iterable[Response] | None = None) -> dict[str, int]:
        """The session row's figures for these responses (default: the chat's)."""
        chosen = list(self.chat if responses is None else responses)
        usages = [r.normalised() for r in chosen]
        return {
            "requests": len(chosen),
            "input_tokens": sum(u.input_tokens for u in usages),
            "output_tokens": sum(u.output_tokens for u in usages),
            "cache_read_tokens": sum(u.cache_read_tokens for u in usages),
            "cache_write_tokens": 0,  # Gemini's caching is implicit: no writes reported
        }

    def cost_usd(self, table: PriceTable) -> Decimal:
        return sum((table.cost(r) for r in self.chat), Decimal(0))


def response_of(request: dict[str, Any], seq: int) -> Response | None:
    """The answer a logged request got, if the mock generated one (not an HTTP error).
    `seq`: its line in the log (each run of the mock numbers its requests from 1)."""
    if request.get("reply") == "http_error" or not request.get("usageMetadata"):
        return None
    return Response(
        seq=seq,
        model=request["model"],
        usage=request["usageMetadata"],
        when=request["ts"],
        chat=bool(request.get("tools")),
        calls=tuple(request.get("calls") or ()),
        failed_results=sum(1 for r in request.get("results") or () if r["error"]),
    )


def ledgers(
    requests: Iterable[dict[str, Any]], invocations: Iterable[dict[str, Any]]
) -> dict[str, GeminiLedger]:
    """The mock's log, grouped by the session of the invocation that made each request
    (`first_request`..`last_request`: lines of the log, from 1)."""
    log = list(requests)
    out: dict[str, GeminiLedger] = {}
    for run in invocations:
        ledger = out.setdefault(run["session_id"], GeminiLedger(run["session_id"]))
        ledger.invocations += 1
        answered = False
        for seq in range(run["first_request"], run["last_request"] + 1):
            request = log[seq - 1]
            response = response_of(request, seq)
            if request.get("reply") == "http_error":
                ledger.http_errors += 1
            elif response is not None:
                (ledger.chat if response.chat else ledger.router).append(response)
                answered = answered or response.chat
        ledger.turns += answered  # one prompt per invocation: a turn if it got an answer
    return out


class PriceTable:
    """aitop/pricing.toml read as data: a model's price period at a time, Google's rules."""

    def __init__(self, path: Path = PRICE_TABLE) -> None:
        with path.open("rb") as file:
            self.models = {m["id"]: m for m in tomllib.load(file)["model"]}
        for model in list(self.models.values()):
            for alias in model.get("aliases", ()):
                self.models.setdefault(alias, model)

    def period(self, model_id: str, when: float) -> dict[str, Any]:
        model = self.models[model_id]
        while "same_as" in model:
            model = self.models[model["same_as"]]
        day = datetime.datetime.fromtimestamp(when, datetime.UTC).date()
        chosen = model["price"][0]
        for period in model["price"][1:]:
            if period["since"] <= day:
                chosen = period
        return dict(chosen)

    def cost(self, response: Response) -> Decimal:
        """Google: uncached input at `input`, cached at `cache_read` (absent: `input`),
        candidates and thoughts at `output`; above a tier's prompt size, all of it at the
        tier's rates."""
        rates = self.period(response.model, response.when)
        usage = response.normalised()
        tier = rates.get("tier")
        if tier is not None and usage.prompt_tokens > tier["above"]:
            rates = {**rates, **tier}

        def rate(name: str) -> Decimal:
            return Decimal(str(rates[name]))

        read = rate("cache_read") if "cache_read" in rates else rate("input")
        return (
            usage.input_tokens * rate("input")
            + usage.cache_read_tokens * read
            + usage.output_tokens * rate("output")
        ) / M
