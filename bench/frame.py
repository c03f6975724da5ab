"""Frame: the render time of one frame at 200×50 with 100 sessions and 30 tools (target:
median ≤ 5 ms), the painter's time for it, and the CPU an idle `aitop` uses at 1 Hz over
60 s in a pty (target ≤ 1 % of a core).

The idle aitop must still be running when its CPU is read, and is stopped (TERM, then
KILL) whatever happens.

    python bench/frame.py [--frames 200] [--idle-seconds 60] [--time-limit 600]
"""

from __future__ import annotations

import argparse
import io
import os
import pty
import select
import struct
import subprocess
import tempfile
import termios
import time
from fcntl import ioctl
from pathlib import Path

from _common import add_time_limit, aitop_script, emit, fail, machine, median, run, stop, time_limit

from aitop import events as ev
from aitop.aggregate import Aggregator
from aitop.pricing import Pricer
from aitop.snapshot import Snapshot
from aitop.ui.render import render
from aitop.ui.view import View

NOW = 1_795_400_000.0
MODELS = ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-4-6"]


def busy_snapshot(sessions: int = 100, tools: int = 30) -> Snapshot:
    """A machine with `sessions` live sessions and `tools` distinct tools, 15 minutes of work."""
    aggregator = Aggregator(Pricer.load(), NOW - 3600)
    calls = 0
    for minute in range(15):
        for s in range(sessions):
            when = NOW - 900 + minute * 60 + s * 0.5
            info = ev.SessionInfo(
                "claude-code",
                f"{s:08d}-aaaa-4bbb-8ccc-dddddddddddd",
                when,
                cwd=f"/home/u/work/project-{s:03d}",
                pid=10_000 + s,
                tag="batch" if s % 7 == 0 else None,
            )
            usage = ev.Usage(
                input_tokens=20 + s,
                output_tokens=300 + minute,
                cache_read_tokens=40_000 + 1000 * s,
                cache_write_5m_tokens=800,
            )
            aggregator.apply(
                ev.Request(info, MODELS[s % len(MODELS)], usage, stop_reason="tool_use"), when
            )
            name = f"mcp__server__tool_{(s + minute) % tools:02d}"
            aggregator.apply(ev.ToolStarted(info, f"t{calls}", name), when)
            aggregator.apply(
                ev.ToolFinished(
                    info, f"t{calls}", name, ok=calls % 11 != 0, duration_ms=float(calls % 700)
                ),
                when,
            )
            calls += 1
            if s % 13 == 0:
                aggregator.apply(ev.Waiting(info, "permission"), when)
    return aggregator.snapshot(NOW)


def render_times(snap: Snapshot, frames: int) -> tuple[float, float]:
    view = View()
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        lines = render(snap, view, 200, 50)
        times.append(time.perf_counter() - start)
    assert len(lines) == 50
    # painting: the same frame to a terminal that writes into memory, all lines new each time
    from blessed import Terminal

    from aitop.ui import screen, theme

    term = Terminal(kind="xterm-256color", stream=io.StringIO(), force_styling=True)
    painter = screen.Painter(term, screen.Styles(term, theme.DEFAULT))
    painter_times = []
    for _ in range(frames):
        painter.invalidate()
        start = time.perf_counter()
        painter.paint(lines, 200, 50)
        painter_times.append(time.perf_counter() - start)
    return median(times), median(painter_times)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def idle_cpu(seconds: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        env = {
            "HOME": str(home),
            "PATH": os.environ["PATH"],
            "TERM": "xterm-256color",
            "AITOP_SOCKET": str(home / "aitop.sock"),
            "LANG": "C.UTF-8",
        }
        main, child = pty.openpty()
        ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        proc = subprocess.Popen(
            [aitop_script(), "-d", "1"],
            stdin=child,
            stdout=child,
            stderr=child,
            env=env,
            start_new_session=True,
        )
        os.close(child)

        shown = bytearray()  # the tail of what it drew, to quote if it dies

        def drain(until: float) -> None:
            while time.monotonic() < until:
                ready, _, _ = select.select([main], [], [], 0.2)
                if ready:
                    try:
                        shown.extend(os.read(main, 65536))
                    except OSError:
                        return
                    del shown[:-2000]

        def alive(when: str) -> None:
            if proc.poll() is not None:
                text = shown.decode(errors="replace").replace("\x1b", "").strip()
                said = text.splitlines()[-1][-200:] if text else "(it printed nothing)"
                fail(f"the idle aitop exited with status {proc.returncode} {when}: {said}")

        try:
            drain(time.monotonic() + 5)  # start-up, first frames
            alive("during start-up")
            before = cpu_seconds(proc.pid)
            start = time.monotonic()
            drain(start + seconds)
            alive("while it was measured")
            used = cpu_seconds(proc.pid) - before
            elapsed = time.monotonic() - start
        finally:
            stop(proc)
            os.close(main)
    return used / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--idle-seconds", type=float, default=60)
    add_time_limit(parser, 600)
    args = parser.parse_args()
    if args.frames < 1 or args.idle_seconds <= 0:
        parser.error("--frames must be at least 1 and --idle-seconds more than 0")
    with time_limit(args.time_limit):
        measure(args)


def measure(args: argparse.Namespace) -> None:
    machine()
    snap = busy_snapshot()
    emit("sessions, tools", f"{len(snap.sessions)}, {len(snap.tools)}")
    rendered, painted = render_times(snap, args.frames)
    emit("render 200x50, median", rendered * 1000, "ms")
    emit("paint 200x50 (every line new), median", painted * 1000, "ms")
    share = idle_cpu(args.idle_seconds)
    emit(f"idle aitop at 1 Hz over {args.idle_seconds:.0f} s, CPU", share * 100, "% of a core")


if __name__ == "__main__":
    run(main)
