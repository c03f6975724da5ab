"""Burst: 2,000 real `aitop hook` processes in parallel bursts against one monitor →
every frame accounted for (frames received = frames sent), none counted twice."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from reliability.rig import counts, monitor, place, session, settle, tool_call

from conftest import aitop_command

HOOKS = 2000
BURST = 25  # processes started at once, then waited for: more only contend for 2 cores
SESSIONS = 20


@pytest.mark.slow
def test_burst_of_2000_real_hooks_every_frame_counted_exactly_once(tmp_path: Path) -> None:
    """Each frame carries its own tool-call id and the monitor counts a call once per id:
    frames = 2,000 says none was lost or doubled in transport, and 2,000 distinct calls
    (100 in each of 20 sessions) says each frame is a different one."""
    output = tmp_path / "hooks-output"  # every hook's stdout and stderr, appended
    with place() as where, monitor(where.env(), "--no-backfill") as mon:
        env = where.env()
        started = time.monotonic()
        with output.open("ab") as sink:
            for first in range(0, HOOKS, BURST):
                procs = []
                for i in range(first, first + BURST):
                    proc = subprocess.Popen(
                        [*aitop_command(), "hook"],
                        stdin=subprocess.PIPE,
                        stdout=sink,
                        stderr=sink,
                        env=env,
                    )
                    procs.append((proc, tool_call(f"burst-{i % SESSIONS}", f"toolu_burst_{i}")))
                for proc, data in procs:  # all started first: they run at the same time
                    assert proc.stdin is not None
                    proc.stdin.write(data)
                    proc.stdin.close()
                assert [proc.wait(timeout=120) for proc, _ in procs] == [0] * BURST
        elapsed = time.monotonic() - started
        snap = settle(mon, counts(frames=HOOKS))
        print(f"\nburst: {HOOKS} hook processes in {elapsed:.1f} s ({HOOKS / elapsed:.0f}/s)")
        assert output.read_bytes() == b""  # silent, every one of them
        assert snap["since_start"]["tool_calls"] == HOOKS
        assert [t["calls"] for t in snap["tools"] if t["name"] == "Bash"] == [HOOKS]
        for s in range(SESSIONS):
            row = session(snap, f"burst-{s}")
            assert row is not None and row["tool_calls"] == HOOKS // SESSIONS
