"""Hook cost: the wall time of the command `aitop install` writes (`<bin>/aitop hook`),
with a real payload on stdin, a monitor listening and not listening, against a bare
`python -c pass` of the same interpreter. Runs are interleaved so that noise hits
every variant alike; medians and their ratios are printed.

Also shown for comparison: the same hook behind the console-script wrapper pip would
generate for an `aitop = aitop.cli:main` entry point, and the modules the hook imports
beyond the interpreter's own start-up.

Every command has a timeout and must exit 0; the monitor must be listening within 30 s.

    python bench/hook.py [--runs 50] [--time-limit 600]
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
    ROOT / "tests" / "fixtures" / "claude-code" / "hook-payloads" / "PostToolUse-Bash.json"
).read_bytes()

PIP_WRAPPER = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from aitop.cli import main
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit(main())
"""


COMMAND_TIMEOUT_S = 30  # one command; they take tens of milliseconds
LISTEN_TIMEOUT_S = 30


def run_once(argv: list[str], env: dict[str, str], stdin: bytes) -> float:
    with deadline(COMMAND_TIMEOUT_S, f"`{' '.join(argv)}`"):  # not timeout=: see deadline()
        start = time.perf_counter()
        result = subprocess.run(
            argv,
            input=stdin,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        elapsed = time.perf_counter() - start
    if result.returncode:  # run it again to say why: the timed runs keep no output
        again = subprocess.run(
            argv, input=stdin, env=env, capture_output=True, timeout=COMMAND_TIMEOUT_S
        )
        why = again.stderr.decode(errors="replace").strip().splitlines() or ["(no output)"]
        fail(f"`{' '.join(argv)}` exited with status {result.returncode}: {why[-1]}")
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
        wrapper = Path(tmp) / "aitop-pip-wrapper"
        wrapper.write_text(PIP_WRAPPER.format(python=sys.executable))
        wrapper.chmod(0o755)

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
                "aitop hook, monitor listening": ([aitop, "hook"], listening_env, PAYLOAD),
                "aitop hook, no monitor": ([aitop, "hook"], silent_env, PAYLOAD),
                "pip console-script wrapper, monitor listening": (
                    [str(wrapper), "hook"],
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
        for name in variants:
            if name != "python -c pass":
                emit(f"ratio {name} / python -c pass", median(times[name]) / baseline)
        emit_imports("the hook", [aitop, "hook"], silent_env, base_env, PAYLOAD, COMMAND_TIMEOUT_S)


if __name__ == "__main__":
    run(main)
