"""The monitor's loop glue, in-process: one bad event costs one event; a deleted socket
comes back at the next tick."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from aitop import config
from aitop import events as ev
from aitop.app import Monitor, Options
from aitop.batch import to_json
from aitop.config import DEFAULT
from aitop.env import Env
from aitop.snapshot import Snapshot

from conftest import PAYLOADS
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


def test_the_snapshot_carries_the_alert_log_since_start(monitor: Monitor) -> None:
    """A wait that lasted a moment leaves its trace in the log (and in --json)."""
    monitor._on_frame(frame("Notification", cwd="/src/web", notification_type="permission_prompt"))
    snap = monitor.snapshot()
    (alert,) = snap.alerts
    assert alert.id.startswith("waiting:s1:") and alert.message.startswith("web: waiting")
    assert [(e.id, e.cleared) for e in snap.alert_log] == [(alert.id, None)]
    monitor._on_frame(frame("PostToolUse", tool_name="Write", tool_use_id="toolu_1"))
    snap = monitor.snapshot()
    assert snap.alerts == []
    (entry,) = snap.alert_log
    assert entry.id == alert.id and entry.cleared_ts is not None
    assert entry.began_ts <= entry.cleared_ts
    logged = json.loads(to_json(snap))["alert_log"]
    assert [(e["id"], e["cleared"] is not None) for e in logged] == [(alert.id, True)]


def test_a_transcript_outside_the_watched_directory_is_an_alert_and_a_log_line(
    monitor: Monitor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Claude Code writing to another CLAUDE_CONFIG_DIR: the session arrives by hook and
    would show 0 requests and $0 without a word; now the fix is on screen and in the log."""
    other = tmp_path / "work" / ".claude"
    path = other / "projects" / "-src-web" / "s1.jsonl"
    logger = logging.getLogger("aitop")
    logger.addHandler(caplog.handler)
    try:
        monitor._on_frame(frame("SessionStart", cwd="/src/web", transcript_path=str(path)))
        snap = monitor.snapshot()
        monitor.snapshot()  # said once in the log, not once a tick
    finally:
        logger.removeHandler(caplog.handler)
    (alert,) = [a for a in snap.alerts if a.id.startswith("claude-code:outside:")]
    assert alert.severity == "critical"
    assert alert.message.endswith(f"restart aitop with --claude-dir {other}")
    said = [r.getMessage() for r in caplog.records if "outside" in r.getMessage()]
    assert len(said) == 1 and f"--claude-dir {other}" in said[0]


def test_every_consumer_sees_every_tick_until_one_says_stop(monitor: Monitor) -> None:
    """The screen, a viewer, an exporter: each gets each tick's snapshot; the first that
    returns False (or `stop()`) ends the loop, after the others saw that tick too."""
    seen: dict[str, list[float]] = {"a": [], "b": []}

    def first(snap: Snapshot) -> bool:
        seen["a"].append(snap.now)
        return len(seen["a"]) < 3

    def second(snap: Snapshot) -> bool:
        seen["b"].append(snap.now)
        if len(seen["b"]) == 1:
            monitor.request_redraw()  # one more snapshot at once, not a tick later
        return True

    monitor.run(0.01, first, second)
    assert len(seen["a"]) == 3 and seen["a"] == seen["b"]
    monitor.stopping = False
    monitor.stop()
    monitor.run(0.01, second)  # stopped before it began: no tick at all
    assert len(seen["b"]) == 3


class Clock:
    """The monitor's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _slow_alerts_after(tmp_path: Path, config_text: str | None, seconds: float) -> list[str]:
    """The alerts of a monitor made from a config FILE, `seconds` after a Bash call began."""
    path = tmp_path / "config.toml"
    if config_text is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(config_text)
    loaded = config.load(str(path))
    home = private_dir(tmp_path / "home")
    socket = private_dir(tmp_path / "run") / "aitop.sock"
    clock = Clock()
    m = Monitor(
        Options(str(socket), {"claude-code": str(home / ".claude")}, loaded, backfill=False),
        Env(environ={"HOME": str(home)}, monotonic=clock, wall_clock=lambda: 1_795_400_000.0),
    )
    m.open()
    try:
        m._on_frame((PAYLOADS / "PreToolUse-Bash.json").read_bytes())
        clock.t += seconds
        snap = m.snapshot()
    finally:
        m.close()
    (row,) = snap.sessions
    assert row.now is not None and (row.now.state, row.now.detail) == ("tool", "Bash")
    assert snap.now - row.now.since_ts == pytest.approx(seconds)
    kinds = [a.id.split(":")[0] for a in snap.alerts]
    return [k for k in kinds if k.startswith("slow_")]  # not the capture's outside-dir alert


@pytest.mark.parametrize(
    ("config_text", "seconds", "expected"),
    [
        (None, 599, []),  # no file: the default, 600 s
        (None, 601, ["slow_tool"]),
        ("[alerts]\ntool_slow_s = 0\n", 601, []),  # off
        ("[alerts]\ntool_slow_s = 0\n", 3000, []),
        ("[alerts]\ntool_slow_s = 30\n", 31, ["slow_tool"]),
        ('[alerts]\nlong_tools = ["Bash"]\n', 3600, []),  # long by design
    ],
)
def test_the_slow_tool_alert_follows_the_config_file(
    tmp_path: Path, config_text: str | None, seconds: float, expected: list[str]
) -> None:
    assert _slow_alerts_after(tmp_path, config_text, seconds) == expected


class _Backlog:
    """A provider with `chunks` slices of log to read: it records the budgets it was given."""

    def __init__(self, chunks: int) -> None:
        self.left = chunks
        self.budgets: list[int] = []

    def pending(self) -> bool:
        return self.left > 0

    def work(self, now: float, budget: int) -> list[ev.Event]:
        self.budgets.append(budget)
        self.left -= 1
        return []


def test_agents_with_logs_to_read_share_each_slice_and_none_waits_for_another(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#12: every provider with bytes to read gets its share of each slice, in turn: a
    big backlog of one agent never holds up another's."""
    from aitop.app import SLICE_BYTES

    big, small = _Backlog(chunks=1000), _Backlog(chunks=2)
    monkeypatch.setattr(monitor, "providers", {"claude-code": big, "codex": small})
    ticks = iter(range(10**6))
    monkeypatch.setattr(monitor.env, "monotonic", lambda: next(ticks) * 0.001)
    monitor._read_logs(deadline=0.010)  # room for a few turns only
    assert small.left == 0  # done in its first two turns, though `big` is far from done
    assert small.budgets == [SLICE_BYTES // 2] * 2
    assert big.budgets[:2] == [SLICE_BYTES // 2] * 2
    assert all(b == SLICE_BYTES for b in big.budgets[2:])  # alone: the whole slice
    assert big.left > 0  # the deadline, not the backlog, ended the reading
