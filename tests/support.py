"""Running the real programs in tests: a monitor (`aitop -b --json`) and hook processes."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from conftest import aitop_command

Snapshot = dict[str, Any]


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

    def __init__(self, env: Mapping[str, str], *args: str, delay: float = 0.2) -> None:
        self.env = dict(env)
        self.socket = Path(self.env["AITOP_SOCKET"])
        self.process = subprocess.Popen(
            [*aitop_command(), "-b", "--json", "-d", str(delay), *args],
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
