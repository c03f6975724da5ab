"""An OpenCode store written the way OpenCode writes it (WAL mode, upserts that keep the
rowid, a writer that stays connected), with the schema of a real 1.18.33 capture: for tests
that need rows a capture does not have (requests still running, deleted rows, a locked or
damaged file)."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from aitop import events as ev
from aitop.providers.opencode.provider import OpenCode

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "opencode"
SESSIONS = FIXTURES / "sessions"
CAPTURES = sorted(p.name for p in SESSIONS.iterdir() if p.is_dir())
NOW = 1_796_100_000.0  # after every capture (they ran at 1_796_096_9xx)


def fixture_db(name: str) -> Path:
    return SESSIONS / name / "opencode-data" / "opencode.db"


def merge_captures(db: Path) -> None:
    """Every captured store's sessions, messages and parts in one store."""
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(fixture_db(CAPTURES[0]), db)
    merged = sqlite3.connect(db, isolation_level=None)
    try:
        for name in CAPTURES[1:]:
            merged.execute("ATTACH DATABASE ? AS capture", (f"file:{fixture_db(name)}?mode=ro",))
            for table in ("project", "session", "message", "part"):
                merged.execute(f"INSERT OR IGNORE INTO {table} SELECT * FROM capture.{table}")
            merged.execute("DETACH DATABASE capture")
    finally:
        merged.close()


def schema() -> list[str]:
    db = sqlite3.connect(f"file:{fixture_db(CAPTURES[0])}?mode=ro", uri=True)
    try:
        return [
            sql
            for (sql,) in db.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"
                " AND tbl_name IN ('session', 'message', 'part', 'project')"
                " ORDER BY type = 'index'"
            )
        ]
    finally:
        db.close()


class Writer:
    """OpenCode's side: one connection that stays open, in WAL mode."""

    _ids = itertools.count(1)

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "opencode.db"
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        for sql in schema():
            self.db.execute(sql)
        self.db.execute(
            "INSERT INTO project (id, worktree, time_created, time_updated, sandboxes)"
            " VALUES ('global', '/', 0, 0, '[]')"
        )

    def session(
        self, sid: str, parent: str | None = None, directory: str = "/home/user/project"
    ) -> str:
        self.db.execute(
            "INSERT INTO session (id, project_id, parent_id, slug, directory, title, version,"
            " time_created, time_updated) VALUES (?, 'global', ?, 's', ?, 't', '1.18.33', 0, 0)",
            (sid, parent, directory),
        )
        return sid

    def message(
        self,
        mid: str,
        sid: str,
        data: dict[str, Any] | str,
        created_ms: float = NOW * 1000 - 5000,
        updated_ms: float | None = None,
    ) -> None:
        """Insert or update (the rowid stays), as OpenCode's upsert does."""
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        self.db.execute(
            "INSERT INTO message (id, session_id, time_created, time_updated, data)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
            " time_updated = excluded.time_updated, data = excluded.data",
            (mid, sid, int(created_ms), int(updated_ms or created_ms), text),
        )

    def part(self, pid: str, mid: str, sid: str, data: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO part (id, message_id, session_id, time_created, time_updated, data)"
            " VALUES (?, ?, ?, 0, 0, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            (pid, mid, sid, json.dumps(data, separators=(",", ":"))),
        )

    def close(self) -> None:
        self.db.close()


def assistant(
    tokens: tuple[int, int, int, int, int] | None = None,
    *,
    completed_ms: float | None = None,
    model: str = "claude-sonnet-4-5",
    provider: str = "mock",
    finish: str | None = None,
    cost: float = 0.0,
    **extra: Any,
) -> dict[str, Any]:
    """An assistant row's data; tokens = (input, output, reasoning, cache read, cache write)."""
    data: dict[str, Any] = {
        "role": "assistant",
        "modelID": model,
        "providerID": provider,
        "mode": "build",
        "agent": "build",
        "cost": cost,
        "time": {"created": NOW * 1000 - 5000},
        **extra,
    }
    if tokens is not None:
        i, o, r, cr, cw = tokens
        data["tokens"] = {
            "total": i + o + r + cr + cw,
            "input": i,
            "output": o,
            "reasoning": r,
            "cache": {"read": cr, "write": cw},
        }
    if completed_ms is not None:
        data["time"]["completed"] = completed_ms
    if finish is not None:
        data["finish"] = finish
    return data


def drain(provider: OpenCode, now: float = NOW, budget: int = 1 << 20) -> list[ev.Event]:
    """Every event the provider has to give now, slice by slice."""
    out: list[ev.Event] = []
    for _ in range(10_000):
        if not provider.pending():
            return out
        out += provider.work(now, budget)
    raise AssertionError("the provider never stopped having work")


def spent(events: list[ev.Event]) -> dict[str, int]:
    """What the Request events add up to, as the aggregator adds them."""
    totals = dict.fromkeys(
        ("requests", "input", "output", "reasoning", "cache_read", "cache_write"), 0
    )
    for event in events:
        if not isinstance(event, ev.Request):
            continue
        usage = event.usage if event.previous is None else event.usage.minus(event.previous)
        totals["requests"] += event.previous is None
        totals["input"] += usage.input_tokens
        totals["output"] += usage.output_tokens
        totals["reasoning"] += usage.reasoning_tokens
        totals["cache_read"] += usage.cache_read_tokens
        totals["cache_write"] += usage.cache_write_tokens
    return totals
