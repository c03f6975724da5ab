"""One monitor, many readers, with real processes: `aitop -b --json` attached to the live
screen running in a pty returns its hook-fed sessions; a second screen attaches, sorts
on its own, and quits without touching the monitor; a monitor that stops tells its
viewers; a viewer that never reads is dropped within a bound while hooks keep flowing."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aitop.viewers import BACKLOG
from aitop.watch import WATCH_REQUEST, parse_control
from reliability.rig import (
    counts,
    drain,
    monitor,
    place,
    rss_kib,
    send,
    settle,
    tool_call,
    wait_for,
)

from conftest import aitop_command
from support import F1_ID, Snapshot, Tty, isolated_env, restamped_f1, run_hook

pytestmark = pytest.mark.slow


def batch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*aitop_command(), "-b", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_batch_json_attaches_to_the_live_screen_and_returns_its_sessions() -> None:
    """The README's troubleshooting step works while the screen runs: `aitop -b --json -n 3`
    reads the screen's monitor, its sessions fed by hooks that went to it alone."""
    with place() as where:
        env = isolated_env(where.home, where.socket, TERM="xterm-256color", TZ="UTC")
        screen = Tty([*aitop_command(), "--no-backfill"], env, 100, 30)
        try:
            screen.wait_text("Sessions 0")
            hooks = restamped_f1(where.home, datetime.now(UTC) - timedelta(seconds=5))
            for payload in hooks:
                assert run_hook(payload, env).returncode == 0
            screen.wait_text("Sessions 1")
            screen.wait_text(f"{len(hooks)} events")  # each one is in the monitor's latest

            result = batch(env, "--json", "-n", "3")
            assert (result.returncode, result.stderr) == (0, "")
            snaps = [json.loads(line) for line in result.stdout.splitlines()]
            assert len(snaps) == 3
            for snap in snaps:
                assert snap["attached"] is True
                assert snap["monitor_pid"] == screen.process.pid
                (row,) = snap["sessions"]
                assert (row["session_id"], row["requests"], row["subagents"]) == (F1_ID, 8, 1)
                assert snap["ingest"]["frames"] == len(hooks)
            assert [s["uptime_s"] for s in snaps] == sorted({s["uptime_s"] for s in snaps})
            assert snaps[-1]["ingest"]["viewers"] == 1  # itself

            # the screen goes on: its monitor never noticed more than a reader come and go
            assert screen.process.poll() is None
            screen.press("q")
            assert screen.finish() == 0
            assert not where.socket.exists()
        finally:
            screen.close()


def test_a_second_screen_attaches_sorts_on_its_own_and_quits_leaving_the_monitor() -> None:
    with place() as where:
        env = where.env(TERM="xterm-256color", TZ="UTC")
        with monitor(env, "--no-backfill", delay=0.2) as mon:
            send(where.socket, tool_call("first", "toolu_1"))
            settle(mon, counts(frames=1))
            second = Tty([*aitop_command()], env, 100, 30)
            try:
                second.wait_text(f"attached to monitor pid {mon.process.pid}")
                second.wait_text("Sessions 1")
                wait_for(mon, lambda s: s["ingest"]["viewers"] == 1)
                send(where.socket, tool_call("second", "toolu_2"))
                second.wait_text("Sessions 2")
                second.press("M")  # its own sort, which the monitor knows nothing of
                second.wait_text("sorted by CONTEXT ↓")
                second.press("q")
                assert second.finish() == 0
                assert b"Traceback" not in bytes(second.raw)
            finally:
                second.close()
            # the monitor goes on: same socket, hooks counted, the viewer gone, not dropped
            assert mon.process.poll() is None and where.socket.exists()
            send(where.socket, tool_call("third", "toolu_3"))
            snap = wait_for(mon, lambda s: s["ingest"]["frames"] == 3)
            snap = wait_for(mon, lambda s: s["ingest"]["viewers"] == 0)
            assert snap["ingest"]["viewers_dropped"] == 0
            assert {r["session_id"] for r in snap["sessions"]} == {"first", "second", "third"}
            assert mon.stop() == 0


def test_a_monitor_that_stops_tells_its_viewers() -> None:
    """The screen attached to it exits with a line saying why (terminal restored first);
    a batch viewer too, with status 1: it did not end by itself."""
    with place() as where:
        env = where.env(TERM="xterm-256color", TZ="UTC")
        with monitor(env, "--no-backfill", delay=0.2) as mon:
            viewer = Tty([*aitop_command()], env, 100, 30)
            follower = subprocess.Popen(
                [*aitop_command(), "-b", "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                viewer.wait_text(f"attached to monitor pid {mon.process.pid}")
                assert follower.stdout is not None
                assert json.loads(follower.stdout.readline())["attached"] is True
                assert mon.stop() == 0
                assert viewer.finish() == 1
                raw = bytes(viewer.raw)
                said = f"aitop: error: the monitor on {where.socket} stopped; start aitop again"
                assert said.encode() in raw
                assert raw.rfind(b"\x1b[?1049l") < raw.find(said.encode())  # after restoring
                _out, err = follower.communicate(timeout=30)
                assert follower.returncode == 1
                assert err.startswith(said)
            finally:
                viewer.close()
                follower.kill()
                follower.wait(timeout=10)


def test_a_stalled_viewer_is_dropped_within_a_bound_and_hooks_keep_flowing() -> None:
    """A client asks to watch, then never reads. The monitor keeps ticking every 50 ms and
    sending it snapshots without ever blocking: once its socket is full, it is dropped
    BACKLOG snapshots later. All the while hooks arrive as fast as one client can send
    them, and every one is counted; the monitor's memory stays bounded."""
    with place() as where, monitor(where.env(), "--no-backfill", delay=0.05) as mon:
        baseline = rss_kib(mon.process.pid)
        stalled = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(str(where.socket))
        stalled.sendall(WATCH_REQUEST)
        wait_for(mon, lambda s: s["ingest"]["viewers"] == 1)
        ticks: list[Snapshot] = []  # the monitor's own lines: one per tick, one publish each
        sent = 0
        peak = baseline
        deadline = time.monotonic() + 60
        while not any(s["ingest"]["viewers_dropped"] for s in ticks):
            for _ in range(50):
                flood(where.socket, tool_call("busy", f"toolu_{sent}"))
                sent += 1
            peak = max(peak, rss_kib(mon.process.pid))
            ticks += drain(mon)
            assert time.monotonic() < deadline, "the stalled viewer was never dropped"
        until = next(i for i, s in enumerate(ticks) if s["ingest"]["viewers_dropped"]) + 1
        assert ticks[until - 1]["ingest"]["viewers"] == 0
        snap = settle(mon, counts(frames=sent))
        assert snap["since_start"]["tool_calls"] == sent  # every hook, none lost
        assert snap["ingest"]["viewers_dropped"] == 1
        # what it had been sent: the hello, the latest snapshot, then whole snapshot lines
        stalled.settimeout(10)
        data = b""
        while chunk := stalled.recv(1 << 20):
            data += chunk
        stalled.close()
        first, *lines, partial = data.split(b"\n")
        control = parse_control(first)
        assert control is not None and control.watching == 1
        assert all(json.loads(line)["attached"] is False for line in lines)
        print(
            f"\nstalled viewer: its socket took {len(lines)} snapshots ({len(data)} bytes);"
            f" dropped {until} ticks after it attached; {sent} hooks sent meanwhile, all"
            f" counted; RSS {baseline} kB at rest, peak +{peak - baseline} kB"
        )
        # the bound: what its socket took, then BACKLOG more queued, then dropped (the
        # latest snapshot sent with the hello, and the one of the tick it attached in, may
        # be among those lines; a line cut short by the drop is one more)
        assert until <= len(lines) + bool(partial) + BACKLOG + 1
        assert peak - baseline < 32 * 1024


SEND_TIMEOUT = struct.pack("ll", 30, 0)


def flood(path: Path, frame: bytes) -> None:
    """One frame as fast as it can go: a blocking connect waits while the monitor's backlog
    is full, bounded by a send timeout (rig.send's connect with a timeout fails at once)."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, SEND_TIMEOUT)
        client.connect(str(path))
        client.sendall(frame)
        client.shutdown(socket.SHUT_WR)
    finally:
        client.close()
