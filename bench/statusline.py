"""Status line cost: the wall time of the command `aitop install --statusline` writes
(`<bin>/aitop statusline`), fed a real status line input of Claude Code (a Claude.ai login's,
with plan limits), a monitor listening and not listening, against a bare `python -c pass`
of the same interpreter. Runs are interleaved so that noise hits every variant alike;
medians and their ratios are printed.

Also shown: the status line chained to a user's own command (`aitop statusline -- CMD`)
beside that command run alone the way Claude Code would (`sh -c CMD`), i.e. what aitop
adds to a status line the user already had; and the modules the line imports beyond the
interpreter's own start-up.

Every command has a timeout, must exit 0 and must print a line; the monitor must be
listening within 30 s.

    python bench/statusline.py [--runs 50] [--time-limit 600]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    ROOT,
    aitop_script,
    deadline,
    emit,
    emit_imports,
    fail,
    last_line,
    machine,
    median,
    run,
    runs_main,
    stop,
    wait_until,
)

PAYLOAD = (
    ROOT
    / "tests"
    / "fixtures"
    / "claude-code"
    / "statusline"
    / "runs"
    / "S6-tui-oauth-refresh-bigctx"
    / "stdin"
    / "0010.json"
).read_bytes()
USER_COMMAND = "cat >/dev/null; echo my-own-line"  # what a user's status line may do

COMMAND_TIMEOUT_S = 30
LISTEN_TIMEOUT_S = 30


def run_once(argv: list[str], env: dict[str, str], stdin: bytes) -> float:
    """Its wall time; it must exit 0, write nothing to stderr, and print a line if it is
    a status line (everything but the bare interpreter)."""
    with deadline(COMMAND_TIMEOUT_S, f"`{' '.join(argv)}`"):  # not timeout=: see deadline()
        start = time.perf_counter()
        result = subprocess.run(argv, input=stdin, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
    silent = argv[1:] == ["-c", "pass"]
    if result.returncode or result.stderr or (not silent and not result.stdout.strip()):
        fail(
            f"`{' '.join(argv)}` exited {result.returncode}, printed {result.stdout[:80]!r}"
            f" and wrote {result.stderr[-200:]!r} to stderr"
        )
    return elapsed


def main() -> None:
    runs_main(measure, __doc__.splitlines()[0])


def measure(runs: int) -> None:
    machine()
    aitop = aitop_script()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        run_dir = Path(tmp) / "run"
        home.mkdir(mode=0o700)
        run_dir.mkdir(mode=0o700)
        socket = run_dir / "aitop.sock"
        base_env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        listening_env = base_env | {"AITOP_SOCKET": str(socket)}
        silent_env = base_env | {"AITOP_SOCKET": str(run_dir / "nobody-here.sock")}

        stderr_path = Path(tmp) / "monitor.stderr"
        with stderr_path.open("w") as stderr:
            monitor = subprocess.Popen(
                [aitop, "-b", "--json", "-d", "60", "--no-backfill"],
                env=listening_env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

        def alive() -> None:
            if monitor.poll() is not None:
                fail(
                    f"the monitor exited with status {monitor.returncode}: {last_line(stderr_path)}"
                )

        try:
            wait_until(socket.exists, LISTEN_TIMEOUT_S, "the monitor to listen", alive, 0.01)
            variants = {
                "python -c pass": ([sys.executable, "-c", "pass"], base_env, b""),
                "aitop statusline, monitor listening": (
                    [aitop, "statusline"],
                    listening_env,
                    PAYLOAD,
                ),
                "aitop statusline, no monitor": ([aitop, "statusline"], silent_env, PAYLOAD),
                "the user's command alone (sh -c)": (
                    ["/bin/sh", "-c", USER_COMMAND],
                    base_env,
                    PAYLOAD,
                ),
                "aitop statusline -- the user's command, monitor listening": (
                    [aitop, "statusline", "--", USER_COMMAND],
                    listening_env,
                    PAYLOAD,
                ),
            }
            times: dict[str, list[float]] = {name: [] for name in variants}
            for argv, env, stdin in variants.values():  # warm the page cache
                run_once(argv, env, stdin)
            for _ in range(runs):
                for name, (argv, env, stdin) in variants.items():
                    times[name].append(run_once(argv, env, stdin))
            alive()  # it listened all along: the "listening" figures are what they say
        finally:
            stop(monitor)

        baseline = median(times["python -c pass"])
        emit("runs per variant", runs)
        for name, values in times.items():
            emit(f"{name} median", median(values) * 1000, "ms")
        for name in ("aitop statusline, monitor listening", "aitop statusline, no monitor"):
            emit(f"ratio {name} / python -c pass", median(times[name]) / baseline)
        chained = median(times["aitop statusline -- the user's command, monitor listening"])
        alone = median(times["the user's command alone (sh -c)"])
        emit("chaining adds to the user's own status line", (chained - alone) * 1000, "ms")
        emit(
            "ratio chained / python -c pass + the user's command alone",
            chained / (baseline + alone),
        )
        emit_imports(
            "the status line",
            [aitop, "statusline"],
            silent_env,
            base_env,
            PAYLOAD,
            COMMAND_TIMEOUT_S,
        )


if __name__ == "__main__":
    run(main)
