"""The Models tab shows each model's request latency (p50, p95) where the agent's log
says when a request was sent and answered, and a dash where it does not."""

from __future__ import annotations

from aitop import events as ev
from aitop.aggregate import Aggregator
from aitop.ui.render import render
from aitop.ui.sections import plain
from aitop.ui.view import View

from ui_support import PRICER

T0 = 1_795_382_400.0


def test_the_models_tab_shows_p50_and_p95_latency() -> None:
    agg = Aggregator(PRICER, T0 - 600)
    info = ev.SessionInfo("claude-code", "s1", T0 - 300, cwd="/home/user/shop")
    for n, took in enumerate((0.8, 1.5, 4.2, 2.0, 12.0)):  # p50 2.0 s, p95 12.0 s
        t = T0 - 300 + 30 * n
        usage = ev.Usage(input_tokens=1000 + n, output_tokens=50)
        request = ev.Request(info, "claude-opus-5-5", usage, started=t, answered=t + took)
        agg.apply(request, t + took)
    unknown = ev.Request(info, "claude-haiku-5-5", ev.Usage(input_tokens=10, output_tokens=1))
    agg.apply(unknown, T0 - 10)  # no times in its log: no latency
    snap = agg.snapshot(T0)

    lines = [plain(line) for line in render(snap, View(tab="models"), 120, 30)]
    head = next(line for line in lines if line.startswith("MODEL "))
    assert "P50" in head and "P95" in head

    def cells(model: str) -> list[str]:
        """The P50 and P95 cells of the model's row (right-aligned under their titles)."""
        row = next(line for line in lines if line.startswith(model))
        ends = [head.index(title) + len(title) for title in ("P50", "P95")]
        return [row[end - 6 : end].strip() for end in ends]

    assert cells("claude-opus-5-5") == ["2.0s", "12.0s"]
    assert cells("claude-haiku-5-5") == ["–", "–"]
