"""Running the real programs in tests: a monitor (`aitop -b --json`), hook processes, and
the live screen on a pseudo-terminal read back through pyte."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import queue
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyte

from conftest import SESSIONS, aitop_command

Snapshot = dict[str, Any]


def assistant_line(msg: str, out: int, timestamp: str = "2026-11-22T21:00:00.000Z") -> str:
    """One Claude Code transcript line: an assistant message `msg` with `out` output tokens."""
    return json.dumps(
        {
            "type": "assistant",
            "timestamp": timestamp,
            "requestId": "r-" + msg,
            "message": {
                "id": msg,
                "model": "claude-opus-5-5",
                "stop_reason": "end_turn",
                "content": [{"type": "text", "text": "hi"}],
                "usage": {"input_tokens": 10, "output_tokens": out},
            },
        }
    )


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def isolated_env(home: Path, socket: Path, **extra: str) -> dict[str, str]:
    """A clean environment: its own HOME, socket and Claude directory."""
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AITOP_SOCKET": str(socket),
        "LANG": "C.UTF-8",
    }
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "SYSTEMROOT"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env


class Monitor:
    """`aitop -b --json` in a subprocess, its snapshots read on a thread."""

    def __init__(
        self,
        env: Mapping[str, str],
        *args: str,
        delay: float = 0.2,
        prefix: Sequence[str] = (),
    ) -> None:
        """`prefix`: a command that runs aitop (e.g. `setpriv` with fewer privileges)."""
        self.env = dict(env)
        self.socket = Path(self.env["AITOP_SOCKET"])
        self.process = subprocess.Popen(
            [*prefix, *aitop_command(), "-b", "--json", "-d", str(delay), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.snapshots: queue.Queue[Snapshot] = queue.Queue()
        self.last: Snapshot | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.snapshots.put(json.loads(line))

    def wait_listening(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"monitor exited: {self.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError("monitor did not start listening")
            time.sleep(0.02)
        self.next()  # the first frame comes after start-up work

    def next(self, timeout: float = 20.0) -> Snapshot:
        self.last = self.snapshots.get(timeout=timeout)
        return self.last

    def wait_for(self, check: Callable[[Snapshot], bool], timeout: float = 30.0) -> Snapshot:
        """The first snapshot for which `check` holds; the last one in the failure."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                snap = self.next(timeout=max(0.05, left))
            except queue.Empty:
                snap = None
            if snap is not None and check(snap):
                return snap
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"condition not met; last snapshot: {json.dumps(self.last)[:3000]}"
                )

    def settle(self, check: Callable[[Snapshot], bool], timeout: float = 30.0) -> Snapshot:
        """Like `wait_for`, but after `timeout` the last snapshot rather than an error: the
        caller's own assertions then say precisely what differs."""
        try:
            return self.wait_for(check, timeout)
        except AssertionError:
            if self.last is None:
                raise
            return self.last

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=10)
        finally:
            self._reader.join(timeout=5)

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def run_hook(
    payload: bytes, env: Mapping[str, str], *args: str, timeout: float = 10
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*aitop_command(), "hook", *args],
        input=payload,
        env=dict(env),
        capture_output=True,
        timeout=timeout,
        check=False,
    )


# --- the live screen on a pseudo-terminal ---------------------------------------------

F1 = SESSIONS / "F1-print-tools-subagent"
F1_ID = "11111111-2222-4333-8444-555555555555"
CAPTURED_HOME = "/home/user/.claude"


class _Answering(pyte.Screen):
    """A screen that answers the terminal's side of the queries (CPR, DA) on the pty."""

    def __init__(self, columns: int, lines: int, reply: Callable[[str], None]) -> None:
        super().__init__(columns, lines)
        self._reply = reply

    def write_process_input(self, data: str) -> None:
        self._reply(data)


class Tty:
    """A program on a pseudo-terminal of a given size, its screen kept by pyte."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        columns: int,
        lines: int,
        *,
        controlling: bool = True,
    ) -> None:
        """`controlling`: the terminal is the program's controlling terminal (it leads the
        session, and gets SIGHUP when the terminal goes away); else it only has the
        terminal on its standard descriptors."""
        self.master, self.slave = pty.openpty()
        self.initial_mode = termios.tcgetattr(self.slave)  # what the program must restore
        self._set_size(columns, lines)
        self.lock = threading.Lock()
        self.screen = _Answering(columns, lines, self._answer)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self._stop = threading.Event()
        self.process = subprocess.Popen(
            argv,
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            env=env,
            preexec_fn=controlling_tty if controlling else os.setsid,
            close_fds=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _set_size(self, columns: int, lines: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))

    def _answer(self, data: str) -> None:
        os.write(self.master, data.encode())

    def _read(self) -> None:
        # select first, so that `hang_up` can stop this thread before closing the master
        # (a read blocked on it would keep the terminal open)
        while not self._stop.is_set():
            try:
                if not select.select([self.master], [], [], 0.05)[0]:
                    continue
                data = os.read(self.master, 65536)
            except (OSError, ValueError):
                return  # EIO: the program and every copy of the slave are gone
            if not data:
                return
            with self.lock:
                self.raw += data
                self.stream.feed(data)

    def text(self) -> str:
        with self.lock:
            return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if check(text):
                return text
            if self.process.poll() is not None:
                raise AssertionError(
                    f"aitop exited ({self.process.returncode}) before {what}:\n{text}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{text}")
            time.sleep(0.02)

    def wait_text(self, needle: str, timeout: float = 30.0) -> str:
        return self.wait_for(lambda text: needle in text, repr(needle), timeout)

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def type_all(self, data: bytes, timeout: float = 60.0) -> None:
        """Send `data` as input, however long: the terminal takes a few KiB at a time and
        the rest waits until the program reads, so a thread writes while this waits."""
        failed: list[OSError] = []

        def write() -> None:
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self.master, view[:4096]) :]
            except OSError as exc:
                failed.append(exc)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        deadline = time.monotonic() + timeout
        while writer.is_alive():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"aitop exited ({self.process.returncode}) while reading input"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"aitop did not read {len(data)} bytes of input in {timeout} s"
                )
            writer.join(timeout=0.05)
        assert not failed, failed

    def unread(self) -> int:
        """How many bytes of input the program has not read yet."""
        count = fcntl.ioctl(self.slave, termios.FIONREAD, struct.pack("i", 0))
        return int(struct.unpack("i", count)[0])

    def resize(self, columns: int, lines: int) -> None:
        with self.lock:
            self.screen.resize(lines, columns)
        self._set_size(columns, lines)  # the kernel sends SIGWINCH to the program

    def hang_up(self) -> None:
        """The terminal goes away: its master side closes (the kernel hangs up the slave
        and sends SIGHUP to the program, which leads the session)."""
        self._stop.set()
        self._reader.join(timeout=5)
        os.close(self.master)
        self.master = -1

    def line_with(self, needle: str) -> str:
        return next((line for line in self.text().splitlines() if needle in line), "")

    def finish(self, timeout: float = 20.0) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=0.5)  # what was written before it exited
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._stop.set()
        self._reader.join(timeout=5)
        for fd in (self.master, self.slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self.slave = -1


def controlling_tty() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def restamped_f1(home: Path, end: datetime) -> list[bytes]:
    """F1's transcripts moved in time to end at `end`; its hook payloads, pointing there."""
    claude = home / ".claude"
    times = []
    for path in (F1 / "claude-projects").rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            stamp = json.loads(line).get("timestamp")
            if stamp:
                times.append(datetime.fromisoformat(stamp))
    shift = end - max(times)
    for path in (F1 / "claude-projects").rglob("*.jsonl"):
        target = claude / "projects" / path.relative_to(F1 / "claude-projects")
        target.parent.mkdir(parents=True, exist_ok=True)
        out = []
        for line in path.read_text().splitlines():
            data = json.loads(line)
            if "timestamp" in data:
                moved = datetime.fromisoformat(data["timestamp"]) + shift
                data["timestamp"] = moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            out.append(json.dumps(data))
        target.write_text("\n".join(out) + "\n")
    return [
        json.dumps(json.loads(line)["payload"]).replace(CAPTURED_HOME, str(claude)).encode()
        for line in (F1 / "hooks.jsonl").read_text().splitlines()
    ]
