"""What the reliability tests share: a short private place for a real monitor, raw
socket clients, hook payloads with unique ids, and the monitor's memory from /proc."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import aitop_command
from support import Monitor, Snapshot, isolated_env

# What `aitop -b --json` reports under "ingest"; `frames` includes ignored events.
INGEST = (
    "frames",
    "ignored_events",
    "rejected_peer",
    "rejected_malformed",
    "rejected_oversize",
    "rejected_timeout",
    "rejected_overload",
)
SYSTEM_PYTHON = "/usr/bin/python3"  # the user `nobody` cannot run the venv's interpreter


@dataclass
class Place:
    """A home, a private socket directory and a Claude directory, under a short path
    (a socket path has at most 107 bytes; pytest's own are long and closed to others)."""

    base: Path
    home: Path
    run: Path
    claude: Path

    @property
    def socket(self) -> Path:
        return self.run / "aitop.sock"

    @property
    def projects(self) -> Path:
        return self.claude / "projects"

    def env(self, **extra: str) -> dict[str, str]:
        return isolated_env(self.home, self.socket, CLAUDE_CONFIG_DIR=str(self.claude), **extra)


@contextmanager
def place() -> Iterator[Place]:
    base = Path(tempfile.mkdtemp(prefix="aitop-rel-"))
    made = Place(base, base / "home", base / "run", base / "claude")
    for directory in (made.home, made.run, made.projects):
        directory.mkdir(parents=True, mode=0o700)
    try:
        yield made
    finally:
        shutil.rmtree(base, ignore_errors=True)


def monitor(
    env: Mapping[str, str], *args: str, delay: float = 0.1, prefix: Sequence[str] = ()
) -> Monitor:
    """A real `aitop -b --json`, listening; stop it with `with`."""
    started = Monitor(env, *args, delay=delay, prefix=prefix)
    try:
        started.wait_listening()
    except BaseException:
        started.__exit__()
        raise
    return started


def ingest(snap: Snapshot) -> dict[str, int]:
    return {name: snap["ingest"][name] for name in INGEST}


def counts(**nonzero: int) -> dict[str, int]:
    """Expected ingest counters: the ones given, every other one zero."""
    assert set(nonzero) <= set(INGEST)
    return {name: nonzero.get(name, 0) for name in INGEST}


def wait_for(mon: Monitor, check: Callable[[Snapshot], bool], timeout: float = 60.0) -> Snapshot:
    """The first snapshot for which `check` holds; fails at once if the monitor exits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            snap = mon.next(timeout=0.5)
        except queue.Empty:
            if mon.process.poll() is not None:
                raise AssertionError(f"the monitor exited: {mon.stderr()}") from None
            snap = None
        if snap is not None and check(snap):
            return snap
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met; last snapshot: {json.dumps(mon.last)[:2000]}")


def settle(mon: Monitor, expected: Mapping[str, int], timeout: float = 60.0) -> Snapshot:
    """Wait until the counters are exactly `expected`, then check one more snapshot taken
    later still says so: nothing arrives twice, or late."""
    want = dict(expected)
    try:
        wait_for(mon, lambda s: ingest(s) == want, timeout=timeout)
    except AssertionError as exc:
        last = ingest(mon.last) if mon.last else None
        raise AssertionError(f"ingest: expected {want}, last seen {last}; {exc}") from None
    later = mon.next()
    later = mon.next()
    assert ingest(later) == want
    return later


def drain(mon: Monitor) -> list[Snapshot]:
    """The snapshots written since the last look, without waiting."""
    seen = []
    while True:
        try:
            seen.append(mon.snapshots.get_nowait())
        except queue.Empty:
            if seen:
                mon.last = seen[-1]
            return seen


def send(path: Path | str, data: bytes, *, timeout: float = 10.0) -> None:
    """One frame on its own connection, half-closed like the hook does. A monitor that
    hangs up early (an oversize frame) is fine: it read what it needed."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    try:
        client.connect(str(path))
        client.sendall(data)
        client.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        client.close()


def payload(event: str = "PostToolUse", **fields: Any) -> bytes:
    body: dict[str, Any] = {"hook_event_name": event, "session_id": "rel-session"}
    if event in ("PreToolUse", "PostToolUse", "PostToolUseFailure"):
        body |= {"tool_name": "Bash", "tool_use_id": "toolu_rel", "duration_ms": 12}
    body |= fields
    return json.dumps(body).encode()


def tool_call(session: str, call: str, tool: str = "Bash") -> bytes:
    """A finished tool call with its own id: counted once however often it arrives."""
    return payload(session_id=session, tool_use_id=call, tool_name=tool)


def hook(
    data: bytes, env: Mapping[str, str], *args: str, timeout: float = 10.0
) -> subprocess.CompletedProcess[bytes]:
    """One real `aitop hook` process; the timeout is the only bound on its run time."""
    return subprocess.run(
        [*aitop_command(), "hook", *args],
        input=data,
        env=dict(env),
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def hooks_at_once(env: Mapping[str, str], payloads: list[bytes], *, timeout: float) -> None:
    """Several hook processes at the same time, each bounded, each silent and 0."""
    procs = [
        subprocess.Popen(
            [*aitop_command(), "hook"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
        )
        for _ in payloads
    ]
    for proc, data in zip(procs, payloads, strict=True):
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(data)
        proc.stdin.close()
    for proc in procs:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            code = proc.wait(timeout=timeout)
        finally:
            proc.kill()
        assert (code, proc.stdout.read(), proc.stderr.read()) == (0, b"", b"")
        proc.stdout.close()
        proc.stderr.close()


def assert_silent_success(result: subprocess.CompletedProcess[bytes]) -> None:
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc (kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def session(snap: Snapshot, session_id: str) -> dict[str, Any] | None:
    for row in snap["sessions"]:
        if row["session_id"] == session_id:
            return dict(row)
    return None


def wait_until(check: Any, timeout: float = 30.0, every: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)


def is_root() -> bool:
    return os.geteuid() == 0
