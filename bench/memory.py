"""Memory: RSS after 100k and after 1M events through the aggregator (ratio ≤ 1.1 means
flat: memory does not grow with the number of events).

The stream is what a busy machine sends: 8 sessions at a time, each living 20 minutes
of simulated time then ending (and leaving the table 15 minutes later), each turn a
prompt, a few requests, tool calls reported by both the hook and the transcript, and a
Stop; 50 events per simulated second. A snapshot is taken every simulated second, as
the screen does.

    python bench/memory.py [--time-limit 600]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import resource
from collections.abc import Iterator

from _common import add_time_limit, emit, machine, run, time_limit

from aitop import events as ev
from aitop.aggregate import Aggregator
from aitop.pricing import Pricer

T0 = 1_795_000_000.0
EVENTS_PER_SECOND = 50
SESSION_LIFE_S = 1200
TOOLS = ["Bash", "Read", "Edit", "Grep", "Glob", "Write", "Agent", "WebFetch"]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stream() -> Iterator[tuple[float, ev.Event]]:
    counter = itertools.count()
    alive: dict[int, str] = {}  # slot -> its current session
    for n in itertools.count():
        now = T0 + n / EVENTS_PER_SECOND
        slot = n % 8
        generation = int((now - T0) // SESSION_LIFE_S)
        sid = f"session-{generation}-{slot}"
        if alive.get(slot, sid) != sid:  # the slot's session ends; a new one starts
            gone = ev.SessionInfo("claude-code", alive[slot], now, pid=1000 + slot)
            yield now, ev.SessionEnded(gone)
        alive[slot] = sid
        info = ev.SessionInfo(
            "claude-code", sid, now, cwd=f"/home/u/project{slot}", pid=1000 + slot
        )
        step = n % 10
        if step == 0:
            yield now, ev.PromptSubmitted(info)
        elif step in (1, 5):
            i = next(counter)
            usage = ev.Usage(
                input_tokens=10,
                output_tokens=200 + i % 300,
                cache_read_tokens=40_000,
                cache_write_5m_tokens=900,
            )
            yield (
                now,
                ev.Request(info, model="claude-opus-5-5", usage=usage, stop_reason="tool_use"),
            )
        elif step in (2, 3, 6, 7):
            call = f"toolu_{next(counter):020d}"
            name = TOOLS[n % len(TOOLS)]
            yield now, ev.ToolStarted(info, call, name, input_digest=n)
            yield now, ev.ToolFinished(info, call, name, ok=n % 17 != 0, duration_ms=float(n % 900))
            yield now, ev.ToolStarted(info, call, name)  # the transcript's copy of the same call
        elif step == 9:
            yield now, ev.TurnEnded(info)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_time_limit(parser, 600)
    args = parser.parse_args()
    with time_limit(args.time_limit):
        measure()


def measure() -> None:
    machine()
    pricer = Pricer.load()
    aggregator = Aggregator(pricer, T0)
    marks = {100_000: 0.0, 1_000_000: 0.0}
    last_snapshot = T0
    gc.collect()
    emit("rss before", rss_mb(), "MB")
    for count, (now, event) in enumerate(stream(), start=1):
        aggregator.apply(event, now)
        if now - last_snapshot >= 1:
            aggregator.snapshot(now)
            last_snapshot = now
        if count in marks:
            gc.collect()
            marks[count] = rss_mb()
            emit(f"rss after {count:,} events", marks[count], "MB")
            emit(f"sessions in the table after {count:,} events", len(aggregator.sessions))
            if count == max(marks):
                break
    emit("ratio rss 1M / 100k", marks[1_000_000] / marks[100_000])


if __name__ == "__main__":
    run(main)
