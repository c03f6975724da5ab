"""Shared by the bench scripts: timing, medians, the `name: value` output lines, and the
means to fail loudly (one line, non-zero exit) instead of hanging."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """The bench cannot finish: what went wrong, said in one line."""


def fail(what: str, advice: str = "") -> NoReturn:
    raise BenchError(f"{what}; {advice}" if advice else what)


def emit(name: str, value: object, unit: str = "") -> None:
    """One figure per line: `name: value [unit]`, easy to grep and to paste."""
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    print(f"{name}: {text}{(' ' + unit) if unit else ''}", flush=True)


def machine() -> None:
    emit(
        "machine",
        f"{platform.machine()} {os.cpu_count()} cores, {platform.system()} {platform.release()}",
    )
    emit("python", sys.version.split()[0])
    emit("date", time.strftime("%Y-%m-%d"))


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def aitop_script() -> str:
    """The installed `aitop` script next to this interpreter: what `aitop install` writes."""
    script = Path(sys.executable).parent / "aitop"
    if not script.exists():
        fail(
            f"the aitop script is not installed next to {sys.executable}",
            "run `pip install .` (or `pip install -e .`) in this Python's environment first",
        )
    return str(script)


def wait_until(
    done: Callable[[], bool],
    timeout: float,
    what: str,
    check: Callable[[], None] | None = None,
    poll: float = 0.001,
) -> None:
    """Wait for `done()`, at most `timeout` seconds; `check()` raises when something the
    wait depends on (a thread, a process) has died, so the wait ends at once."""
    deadline = time.monotonic() + timeout
    while not done():
        if check is not None:
            check()
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str], grace: float = 10) -> None:
    """End a child we started: SIGTERM, then SIGKILL if it does not go within `grace`."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def last_line(path: Path) -> str:
    """The last non-empty line of a child's captured stderr, for an error message."""
    with contextlib.suppress(OSError):
        lines = [x for x in path.read_text(errors="replace").splitlines() if x.strip()]
        if lines:
            return lines[-1].strip()
    return "(it printed nothing)"


def add_time_limit(parser: argparse.ArgumentParser, default: float) -> None:
    parser.add_argument(
        "--time-limit",
        type=float,
        default=default,
        metavar="S",
        help=f"give up, with an error, after this many seconds (default {default:g})",
    )


@contextlib.contextmanager
def deadline(seconds: float, what: str, advice: str = "") -> Iterator[None]:
    """At most `seconds` for the block: past them the main thread gets a BenchError saying
    that `what` took too long, wherever it waits, and the `finally` blocks clean up as it
    unwinds (subprocess.run kills its child). Deadlines nest: the earlier one fires.

    For timed commands this beats `subprocess.run(timeout=...)`, whose wait polls with
    growing sleeps and so rounds a 12 ms command up to 15.5 ms."""
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:
        yield  # the outer deadline comes first anyway
        return

    def expired(_signum: int, _frame: FrameType | None) -> None:
        fail(f"{what} took more than {seconds:g} s", advice)

    started = time.monotonic()
    outer_handler = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_left:
            left = outer_left - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


def time_limit(seconds: float) -> contextlib.AbstractContextManager[None]:
    """A last guard for whatever wait or loop has no timeout of its own."""
    return deadline(seconds, "the whole bench", "raise --time-limit if the machine is slow")


def run(main: Callable[[], None]) -> NoReturn:
    """Run a bench's `main`; any failure ends it with one `bench: error:` line and exit 1
    (an unexpected one shows its traceback first), an interrupt with exit 130."""
    name = Path(sys.argv[0]).name
    try:
        main()
    except BenchError as exc:
        print(f"bench: error: {name}: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    except subprocess.TimeoutExpired as exc:
        command = exc.cmd if isinstance(exc.cmd, str) else " ".join(map(str, exc.cmd))
        print(
            f"bench: error: {name}: `{command}` did not finish within {exc.timeout:g} s",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"bench: error: {name}: interrupted", file=sys.stderr, flush=True)
        sys.exit(130)
    except Exception as exc:
        traceback.print_exc()
        print(f"bench: error: {name}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    sys.exit(0)


def _imported(argv: list[str], env: dict[str, str], stdin: bytes, timeout: float) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        input=stdin,
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode:
        fail(f"`python -X importtime {' '.join(argv)}` exited with status {result.returncode}")
    return {
        line.split("|")[-1].strip()
        for line in result.stderr.decode().splitlines()
        if line.startswith("import time:") and "imported package" not in line
    }


def emit_imports(
    what: str, argv: list[str], env: dict[str, str], bare_env: dict[str, str], stdin: bytes,
    timeout: float,
) -> None:  # fmt: skip
    """The modules `argv` imports beyond the interpreter's own start-up, and which of them
    are not the standard library's (a fast path must import nothing else)."""
    extra = _imported(argv, env, stdin, timeout) - _imported(
        ["-c", "pass"], bare_env, stdin, timeout
    )
    emit(f"modules {what} imports beyond start-up", " ".join(sorted(extra)))
    stdlib = set(sys.stdlib_module_names)
    foreign = {m for m in extra if m.split(".")[0] not in stdlib and m.split(".")[0] != "aitop"}
    emit("of them outside the standard library (aitop aside)", " ".join(sorted(foreign)) or "none")


def runs_main(
    measure: Callable[[int], None], description: str, name: str = "runs", default: int = 50
) -> None:
    """One count, `--runs N` (or `--NAME N`: how many of what is measured), and
    `--time-limit`; then `measure(N)`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(f"--{name}", type=int, default=default)
    add_time_limit(parser, 600)
    args = parser.parse_args()
    count = getattr(args, name)
    if count < 1:
        parser.error(f"--{name} must be at least 1")
    with time_limit(args.time_limit):
        measure(count)
