"""Transcript tail: the time to account one new turn appended to a 100 KB transcript
and to a 100 MB one. Tailing by byte offset makes the cost independent of the file's
size: the ratio should stay near 1 (target ≤ 1.5).

Each measurement is what the monitor does when a hook names the file: stat, read the
appended bytes, decode the lines that can matter, dedup, price and aggregate.

    python bench/tail.py [--turns 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import emit, machine, median
from corpus import one_turn, write

from aitop.aggregate import Aggregator
from aitop.pricing import Pricer
from aitop.providers.claude_code.provider import ClaudeCode

NOW = 1_800_000_000.0


def measure(size: int, turns: int, tmp: Path) -> tuple[float, int]:
    projects = tmp / f"projects-{size}"
    project = projects / "-home-user-project"
    project.mkdir(parents=True)
    path = project / "11111111-2222-4333-8444-555555555555.jsonl"
    write(path, size)
    actual = path.stat().st_size
    provider = ClaudeCode(str(projects))
    aggregator = Aggregator(Pricer.load(), NOW)
    provider.tailer.watch(str(path), path.stem)
    provider.poll()
    while provider.pending():  # first sight: read the whole history once
        aggregator.apply_all(provider.work(NOW, 8 << 20), NOW)
    times = []
    for k in range(turns):
        with path.open("ab") as out:
            out.write(one_turn(k))
        start = time.perf_counter()
        provider.poll()
        events = provider.work(NOW)
        aggregator.apply_all(events, NOW)
        times.append(time.perf_counter() - start)
        assert (
            sum(1 for e in events if type(e).__name__ == "Request") == 2
        )  # the turn's two requests
    return median(times), actual


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    args = parser.parse_args()
    machine()
    with tempfile.TemporaryDirectory() as tmp:
        small, small_size = measure(100 * 1024, args.turns, Path(tmp))
        large, large_size = measure(100 * 1024 * 1024, args.turns, Path(tmp))
    emit("small transcript", f"{small_size / 1024:.0f}", "KB")
    emit("large transcript", f"{large_size / 1024 / 1024:.0f}", "MB")
    emit("new turn into the small transcript, median", small * 1000, "ms")
    emit("new turn into the large transcript, median", large * 1000, "ms")
    emit("ratio large / small", large / small)
    emit("turns measured per size", args.turns)


if __name__ == "__main__":
    main()
