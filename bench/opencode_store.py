"""What following OpenCode's store costs against the size of its history: stores with 0,
50,000 and 200,000 old messages (a heavy user after months), and the provider's work each
poll, in-process: an idle poll (nothing new), and a poll that finds one new finished request.
Target: both stay flat as the history grows (every statement is indexed and bounded).

    python bench/opencode_store.py [--polls 200] [--sizes 0,50000,200000] [--time-limit 600]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from _common import ROOT, add_time_limit, emit, machine, median, run, time_limit

from aitop.providers.opencode.provider import OpenCode

CAPTURE = ROOT / "tests" / "fixtures" / "opencode" / "sessions" / "O1-tools-plugin"
NOW = time.time()
SESSIONS = 2000  # the old messages are spread over this many sessions


def message(tokens: int, completed_ms: float) -> str:
    return json.dumps(
        {
            "role": "assistant",
            "modelID": "claude-sonnet-4-5",
            "providerID": "anthropic",
            "cost": 0,
            "tokens": {
                "input": 3,
                "output": tokens,
                "reasoning": 0,
                "cache": {"read": 0, "write": 0},
            },
            "time": {"created": completed_ms - 1000, "completed": completed_ms},
            "finish": "stop",
            "path": {"cwd": "/home/user/project", "root": "/home/user/project"},
        }
    )


def make_store(directory: Path, size: int) -> sqlite3.Connection:
    """A store with the real schema and `size` messages, two days old; the writer stays
    connected, in WAL mode, as OpenCode does."""
    source = sqlite3.connect(f"file:{CAPTURE / 'opencode-data' / 'opencode.db'}?mode=ro", uri=True)
    ddl = [sql for (sql,) in source.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")]
    source.close()
    db = sqlite3.connect(directory / "opencode.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    for sql in ddl:
        db.execute(sql)
    db.execute("BEGIN")
    db.execute(
        "INSERT INTO project (id, worktree, time_created, time_updated, sandboxes)"
        " VALUES ('global', '/', 0, 0, '[]')"
    )
    old_ms = (NOW - 2 * 86_400) * 1000
    db.executemany(
        "INSERT INTO session (id, project_id, slug, directory, title, version, time_created,"
        " time_updated) VALUES (?, 'global', 's', '/home/user/project', 't', '1.18.33', ?, ?)",
        [(f"ses_old{n:06d}", old_ms, old_ms) for n in range(max(1, SESSIONS))],
    )
    db.executemany(
        "INSERT INTO message (id, session_id, time_created, time_updated, data)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            (
                f"msg_old{n:08d}",
                f"ses_old{n % SESSIONS:06d}",
                old_ms + n,
                old_ms + n,
                message(5, old_ms + n),
            )
            for n in range(size)
        ),
    )
    db.execute(
        "INSERT INTO session (id, project_id, slug, directory, title, version, time_created,"
        " time_updated) VALUES ('ses_live', 'global', 's', '/p', 't', '1', 0, 0)"
    )
    db.execute("COMMIT")
    return db


def measure(size: int, polls: int) -> tuple[float, float]:
    """Median seconds of an idle poll, and of a poll that reads one new request."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        writer = make_store(directory, size)
        provider = OpenCode(str(directory), {})
        provider.backfill(NOW, 900)
        while provider.pending():
            provider.work(NOW, 1 << 20)
        idle, new = [], []
        for n in range(polls):
            start = time.perf_counter()
            provider.poll(NOW)
            while provider.pending():
                provider.work(NOW, 1 << 20)
            idle.append(time.perf_counter() - start)
            writer.execute(
                "INSERT INTO message (id, session_id, time_created, time_updated, data)"
                " VALUES (?, 'ses_live', ?, ?, ?)",
                (f"msg_new{n:06d}", NOW * 1000, NOW * 1000, message(7, NOW * 1000)),
            )
            start = time.perf_counter()
            provider.poll(NOW)
            found = []
            while provider.pending():
                found += provider.work(NOW, 1 << 20)
            new.append(time.perf_counter() - start)
            if not found:
                raise SystemExit(f"the new request {n} was not read")
        provider.close()
        writer.close()
    return median(idle), median(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--sizes", default="0,50000,200000")
    add_time_limit(parser, 600)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    machine()
    with time_limit(args.time_limit):
        results = {size: measure(size, args.polls) for size in sizes}
    for size, (idle, new) in results.items():
        emit(f"idle poll, {size} old messages, median", idle * 1e6, "µs")
        emit(f"poll reading 1 new request, {size} old messages, median", new * 1e6, "µs")
    base_idle, base_new = results[sizes[0]]
    for size in sizes[1:]:
        idle, new = results[size]
        emit(f"ratio idle poll {size} / {sizes[0]}", idle / base_idle)
        emit(f"ratio new request {size} / {sizes[0]}", new / base_new)


if __name__ == "__main__":
    run(main)
