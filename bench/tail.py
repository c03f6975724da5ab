"""Transcript tail: the time to account one new turn appended to a 100 KB transcript
and to a 100 MB one. Tailing by byte offset makes the cost independent of the file's
size: the ratio should stay near 1 (target ≤ 1.5).

Each measurement is what the monitor does when a hook names the file: stat, read the
appended bytes, decode the lines that can matter, dedup, price and aggregate. Turns go
to the small and the large transcript in turn, so that noise hits both alike.

    python bench/tail.py [--turns 40] [--time-limit 600]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import emit, fail, machine, median, run, runs_main
from corpus import one_turn, write

from aitop.aggregate import Aggregator
from aitop.pricing import Pricer
from aitop.providers.claude_code.provider import ClaudeCode

NOW = 1_800_000_000.0


class Transcript:
    """A transcript of `size` bytes, already read once, as the monitor has it."""

    def __init__(self, size: int, tmp: Path) -> None:
        projects = tmp / f"projects-{size}"
        project = projects / "-home-user-project"
        project.mkdir(parents=True)
        self.path = project / "11111111-2222-4333-8444-555555555555.jsonl"
        write(self.path, size)
        self.size = self.path.stat().st_size
        self.provider = ClaudeCode(str(projects))
        self.aggregator = Aggregator(Pricer.load(), NOW)
        self.provider.tailer.watch(str(self.path), self.path.stem)
        self.provider.poll(NOW)
        while self.provider.pending():  # first sight: read the whole history once
            self.aggregator.apply_all(self.provider.work(NOW, 8 << 20), NOW)
        self.times: list[float] = []

    def new_turn(self, k: int) -> None:
        with self.path.open("ab") as out:
            out.write(one_turn(k))
        start = time.perf_counter()
        self.provider.poll(NOW)
        events = self.provider.work(NOW, 8 << 20)
        self.aggregator.apply_all(events, NOW)
        self.times.append(time.perf_counter() - start)
        requests = sum(1 for e in events if type(e).__name__ == "Request")
        if requests != 2:  # the turn holds two responses
            fail(f"turn {k + 1} into the {self.size:,}-byte transcript gave {requests} requests")


def main() -> None:
    runs_main(measure, __doc__.splitlines()[0], "turns", 40)


def measure(turns: int) -> None:
    machine()
    with tempfile.TemporaryDirectory() as tmp:
        small = Transcript(100 * 1024, Path(tmp))
        large = Transcript(100 * 1024 * 1024, Path(tmp))
        for k in range(turns):  # interleaved: the machine's noise hits both alike
            small.new_turn(k)
            large.new_turn(k)
    emit("small transcript", f"{small.size / 1024:.0f}", "KB")
    emit("large transcript", f"{large.size / 1024 / 1024:.0f}", "MB")
    small_s, large_s = median(small.times), median(large.times)
    emit("new turn into the small transcript, median", small_s * 1000, "ms")
    emit("new turn into the large transcript, median", large_s * 1000, "ms")
    emit("ratio large / small", large_s / small_s)
    emit("turns measured per size", turns)


if __name__ == "__main__":
    run(main)
