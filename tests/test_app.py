"""The monitor's loop glue, in-process: one bad event costs one event; a deleted socket
comes back at the next tick."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aitop import events as ev
from aitop.app import Monitor, Options
from aitop.config import DEFAULT
from aitop.env import Env

from support import private_dir


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[Monitor]:
    home = private_dir(tmp_path / "home")
    socket = private_dir(tmp_path / "run") / "aitop.sock"
    m = Monitor(
        Options(str(socket), {"claude-code": str(home / ".claude")}, DEFAULT, backfill=False),
        Env(environ={"HOME": str(home)}),
    )
    m.open()
    yield m
    m.close()


def frame(event: str, **fields: object) -> bytes:
    return json.dumps({"session_id": "s1", "hook_event_name": event, **fields}).encode()


def test_a_bug_on_one_event_costs_that_event_only(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = monitor.aggregator.apply

    def broken(event: ev.Event, now: float) -> None:
        if isinstance(event, ev.TurnEnded):
            raise RuntimeError("a bug")
        real(event, now)

    monkeypatch.setattr(monitor.aggregator, "apply", broken)
    monitor._on_frame(frame("Stop"))
    monitor._on_frame(frame("UserPromptSubmit"))
    snap = monitor.snapshot()
    assert snap.ingest.internal_errors == 1 and snap.ingest.frames == 2
    assert [row.session_id for row in snap.sessions] == ["s1"]


def test_a_deleted_socket_comes_back_at_the_next_tick(monitor: Monitor) -> None:
    path = Path(monitor.options.socket_path)
    path.unlink()
    assert not monitor.snapshot().listening
    monitor._tick()
    assert path.exists() and monitor.snapshot().listening
