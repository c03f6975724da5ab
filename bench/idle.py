"""Idle CPU against the size of the user's history: `aitop -b --json -d 1` with an empty
Claude directory, then with 15,000 and 60,000 old transcripts (a heavy user after a few
months), nothing happening. Target: the ratio to the empty directory stays ≤ 1.5.

The monitors run in interleaved rounds; each round measures utime + stime from /proc over
`--seconds` after a warm-up, and the figures are medians. Also printed: what one check of
the directories costs without inotify (the fallback), per 60 s, in-process.

    python bench/idle.py [--seconds 20] [--rounds 3] [--sizes 0,15000,60000] [--time-limit 1200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from _common import (
    add_time_limit,
    aitop_script,
    emit,
    fail,
    last_line,
    machine,
    median,
    run,
    stop,
    time_limit,
)

from aitop.providers.dirwatch import CHECK_S, SWEEP_S, DirWatch

PROJECTS = 120  # the history is spread over this many project directories
WARM_UP_S = 5.0
LINE = (
    '{"type":"assistant","timestamp":"2026-10-01T10:00:00.000Z","requestId":"r%d",'
    '"message":{"id":"m%d","model":"claude-opus-5-5","content":[],'
    '"usage":{"input_tokens":10,"output_tokens":5}}}\n'
)


def make_history(root: Path, files: int) -> Path:
    """`files` transcripts, two days old, a tenth of them with a subagent directory."""
    claude = root / ".claude"
    projects = claude / "projects"
    projects.mkdir(parents=True, mode=0o700)
    old = time.time() - 2 * 86_400
    for i in range(files):
        project = projects / f"-home-user-src-p{i % PROJECTS}"
        project.mkdir(mode=0o700, exist_ok=True)
        path = project / f"{i:08d}-0000-4000-8000-000000000000.jsonl"
        path.write_text(LINE % (i, i))
        os.utime(path, (old, old))
        if i % 10 == 0:
            sub = project / path.stem / "subagents"
            sub.mkdir(parents=True, mode=0o700)
            agent = sub / "agent-a1.jsonl"
            agent.write_text(LINE % (-i, -i))
            os.utime(agent, (old, old))
    return claude


def cpu_seconds(pid: int) -> float:
    """Time on a CPU, every thread, in nanoseconds from the scheduler (/proc/PID/stat's
    clock ticks are 10 ms: too coarse for an idle process)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def idle_share(claude: Path, home: Path, seconds: float) -> float:
    """The share of one core an idle monitor uses over `seconds`, after a warm-up."""
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "AITOP_SOCKET": str(home / "run" / "aitop.sock"),
        "CLAUDE_CONFIG_DIR": str(claude),
        "LANG": "C.UTF-8",
    }
    (home / "run").mkdir(mode=0o700, exist_ok=True)
    errors = home / "aitop.stderr"
    with errors.open("wb") as stderr:
        proc = subprocess.Popen(
            [aitop_script(), "-b", "--json", "-d", "1"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    try:
        time.sleep(WARM_UP_S)
        if proc.poll() is not None:
            fail(f"aitop exited with status {proc.returncode}: {last_line(errors)}")
        before, start = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        if proc.poll() is not None:
            fail(f"aitop exited while idling: {last_line(errors)}")
        used, took = cpu_seconds(proc.pid) - before, time.monotonic() - start
    finally:
        stop(proc)
    return used / took


def polling_cost(claude: Path, minutes: int = 3) -> float:
    """CPU seconds per minute that the fallback (no inotify) spends checking the tree:
    directory mtimes every CHECK_S and a sweep of every file every SWEEP_S."""
    watch = DirWatch(str(claude / "projects"), 2, ".jsonl", use_inotify=False)
    now = time.time()
    watch.start(now)
    start = time.process_time()
    steps = int(minutes * 60 / CHECK_S)
    for step in range(1, steps + 1):
        watch.changed(now + step * CHECK_S)
    watch.close()
    return (time.process_time() - start) / minutes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="0,15000,60000")
    add_time_limit(parser, 1200)
    args = parser.parse_args()
    try:
        sizes = [int(size) for size in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes: numbers separated by commas, not {args.sizes!r}")
    if args.seconds <= 0 or args.rounds < 1 or min(sizes) < 0:
        parser.error("--seconds and --rounds must be positive, --sizes not negative")
    with time_limit(args.time_limit):
        measure(sizes, args.seconds, args.rounds)


def measure(sizes: list[int], seconds: float, rounds: int) -> None:
    machine()
    with tempfile.TemporaryDirectory(prefix="aitop-idle-") as tmp:
        homes: dict[int, tuple[Path, Path]] = {}
        for size in sizes:
            home = Path(tmp) / f"h{size}"
            home.mkdir(mode=0o700)
            homes[size] = (make_history(home, size), home)
        shares: dict[int, list[float]] = {size: [] for size in sizes}
        for _ in range(rounds):
            for size in sizes:
                claude, home = homes[size]
                shares[size].append(idle_share(claude, home, seconds))
        base = median(shares[sizes[0]])
        for size in sizes:
            emit(f"idle CPU, {size} old transcripts, median", 100 * median(shares[size]), "%")
        for size in sizes[1:]:
            ratio = median(shares[size]) / base if base else float("inf")
            emit(f"ratio {size} / {sizes[0]} old transcripts", ratio)
        for size in sizes[1:]:
            emit(
                f"without inotify, {size} old transcripts: CPU per minute of checks"
                f" (mtimes every {CHECK_S:.0f} s, sweep every {SWEEP_S:.0f} s)",
                1000 * polling_cost(homes[size][0]),
                "ms",
            )


if __name__ == "__main__":
    run(main)
