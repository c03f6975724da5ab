"""Helpers for the Gemini CLI tests: the captures (tests/fixtures/gemini/runs) read through
aitop's Gemini provider and folded by the real aggregator."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aitop import events as ev
from aitop.aggregate import FIELDS, Aggregator
from aitop.pricing import PICO_PER_USD, Pricer
from aitop.providers.base import Outcome
from aitop.providers.gemini.provider import Gemini
from aitop.wire import Envelope

GEMINI_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gemini"
RUNS = GEMINI_FIXTURES / "runs"
G1 = RUNS / "G1-print-yolo-resume"
G2 = RUNS / "G2-error-model-subagent"
ENVELOPE = Envelope(agent="gemini")
FAR = 10**10  # a backfill window reaching every file


def gemini_dir(run: Path) -> Path:
    return run / "gemini-home" / "dot-gemini"


def chat_files(run: Path) -> list[Path]:
    return sorted((gemini_dir(run) / "tmp").glob("*/chats/**/*.jsonl"))


def copy_home(run: Path, to: Path) -> Path:
    """A copy of the capture's Gemini directory (tests that change files work on it)."""
    target = to / "dot-gemini"
    shutil.copytree(gemini_dir(run), target)
    return target


def hook_payloads(run: Path) -> list[dict[str, Any]]:
    lines = (run / "hooks.jsonl").read_text().splitlines()
    return [json.loads(line)["payload"] for line in lines]


def read_all(provider: Gemini, now: float, budget: int = 1 << 20) -> list[ev.Event]:
    """Backfill everything and read it to the end (discovering subagent files)."""
    provider.backfill(now, FAR)
    events: list[ev.Event] = []
    while True:
        while provider.pending():
            events += provider.work(now, budget)
        if not provider.discover(now):
            return events


def as_sent(payload: dict[str, Any]) -> bytes:
    """A recorded payload as Gemini CLI sent it: JavaScript's JSON.stringify, compact."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def decode_hooks(
    provider: Gemini, payloads: Iterable[dict[str, Any]], now: float
) -> list[ev.Event]:
    events: list[ev.Event] = []
    for payload in payloads:
        decoded = provider.decode(as_sent(payload), ENVELOPE, now)
        assert decoded.outcome is Outcome.OK, (payload["hook_event_name"], decoded.reason)
        events += decoded.events
    return events


@dataclass
class Folded:
    aggregator: Aggregator

    def row(self, session_id: str) -> dict[str, Any]:
        session = self.aggregator.sessions[("gemini", session_id)]
        row = dict(zip(FIELDS, session.totals, strict=True))
        row["cost_usd"] = session.totals[FIELDS.index("cost_usd")] / PICO_PER_USD
        row["subagents"] = sorted((sub, s.kind) for sub, s in session.subagents.items())
        return row

    def sessions(self) -> list[str]:
        return [sid for agent, sid in self.aggregator.sessions if agent == "gemini"]

    def tool_durations(self) -> dict[str, int]:
        return {name: len(stats.durations) for name, stats in self.aggregator.tools.items()}


def fold(events: Iterable[ev.Event], now: float) -> Folded:
    aggregator = Aggregator(Pricer.load(), now)
    aggregator.apply_all(events, now)
    return Folded(aggregator)
