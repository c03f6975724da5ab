"""Another user: a client run as `nobody` is rejected and counted, and its frame never
reaches the aggregates; a viewer run as `nobody` gets not one byte. The socket is 0600 from creation: a second process watching
the path during start-up never sees it more open."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from aitop.peercred import peer_uid
from reliability.rig import (
    SYSTEM_PYTHON,
    counts,
    is_root,
    monitor,
    place,
    send,
    session,
    settle,
    tool_call,
)

NOBODY = 65534
CLIENT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print("connected", flush=True)
try:
    s.sendall(sys.stdin.buffer.read())
    s.shutdown(socket.SHUT_WR)
except (BrokenPipeError, ConnectionResetError):
    pass  # the monitor hung up first: the peer check needs no data
"""


def _as_nobody(tool: str) -> list[str]:
    if tool == "runuser":
        return ["runuser", "-u", "nobody", "--"]
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@pytest.mark.skipif(not is_root(), reason="needs root to run a client as another user (nobody)")
@pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK), reason=f"needs {SYSTEM_PYTHON}")
@pytest.mark.parametrize("tool", ["runuser", "setpriv"])
def test_another_user_is_rejected_counted_and_never_reaches_the_aggregates(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"needs {tool}")
    with place() as where, monitor(where.env(), "--no-backfill") as mon:
        # open every door on purpose: only the peer check stands in the way now
        for path in (where.base, where.run):
            path.chmod(0o711)
        where.socket.chmod(0o666)
        frame = tool_call("from-nobody", "toolu_nobody")
        result = subprocess.run(
            [*_as_nobody(tool), SYSTEM_PYTHON, "-c", CLIENT, str(where.socket)],
            input=frame,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert (result.returncode, result.stdout) == (0, b"connected\n"), result.stderr
        snap = settle(mon, counts(rejected_peer=1))
        assert session(snap, "from-nobody") is None
        assert snap["since_start"]["tool_calls"] == 0 and snap["tools"] == []
        assert [a["id"] for a in snap["alerts"] if a["severity"] == "critical"] == ["rejected_peer"]
        send(where.socket, tool_call("owner", "toolu_owner"))  # the owner still gets through
        snap = settle(mon, counts(frames=1, rejected_peer=1))
        row = session(snap, "owner")
        assert row is not None and row["tool_calls"] == 1


WATCHER_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
got = b""
try:
    s.sendall(b'AITOP/1 {"watch":1}\\n')
    s.settimeout(10)
    while chunk := s.recv(65536):
        got += chunk
except (BrokenPipeError, ConnectionResetError):
    pass  # the monitor hung up first: the peer check needs no request
print(len(got), flush=True)
"""


@pytest.mark.skipif(not is_root(), reason="needs root to run a client as another user (nobody)")
@pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK), reason=f"needs {SYSTEM_PYTHON}")
def test_a_viewer_of_another_user_is_refused_and_sees_nothing() -> None:
    """Watching is asked on the same socket as hooks, and the same peer check comes first:
    another user's viewer is closed before it can ask, and gets not one byte."""
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv")
    with place() as where, monitor(where.env(), "--no-backfill") as mon:
        for path in (where.base, where.run):
            path.chmod(0o711)
        where.socket.chmod(0o666)
        send(where.socket, tool_call("owner", "toolu_owner"))
        result = subprocess.run(
            [*_as_nobody("setpriv"), SYSTEM_PYTHON, "-c", WATCHER_CLIENT, str(where.socket)],
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert (result.returncode, result.stdout) == (0, b"0\n"), result.stderr
        snap = settle(mon, counts(frames=1, rejected_peer=1))
        assert snap["ingest"]["viewers"] == 0
        assert [a["id"] for a in snap["alerts"] if a["severity"] == "critical"] == ["rejected_peer"]


# --- the socket's mode, watched from outside ---------------------------------------------

WATCHER = r"""
import json, os, signal, sys
paths = sys.argv[1:]
seen = {p: set() for p in paths}
looks = 0
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
print("ready", flush=True)
while not stop:
    for p in paths:
        try:
            seen[p].add(os.lstat(p).st_mode)
        except OSError:
            pass
    looks += 1
print(json.dumps({"looks": looks, "modes": {p: sorted(m) for p, m in seen.items()}}))
"""
STARTS = 10


@pytest.mark.slow
def test_socket_is_never_more_open_than_0600_during_start_up() -> None:
    """A second process stats the socket path (and its lock file, and the directory the
    monitor creates) as fast as it can while a monitor starts; ten starts."""
    for attempt in range(STARTS):
        with place() as where:
            run = where.base / "fresh"  # the monitor makes this directory itself
            sock = run / "aitop.sock"
            lock = run / "aitop.sock.lock"
            watcher = subprocess.Popen(
                [sys.executable, "-c", WATCHER, str(sock), str(lock), str(run)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert watcher.stdout is not None
            assert watcher.stdout.readline() == "ready\n"
            try:
                with monitor(where.env(AITOP_SOCKET=str(sock)), "--no-backfill"):
                    pass
            finally:
                watcher.send_signal(signal.SIGTERM)
                out, _ = watcher.communicate(timeout=30)
            report = json.loads(out)
            modes = {Path(p): m for p, m in report["modes"].items()}
            assert modes[sock], f"start {attempt}: never saw the socket in {report['looks']} looks"
            for path, kind, allowed in (
                (sock, stat.S_IFSOCK, 0o600),
                (lock, stat.S_IFREG, 0o600),
                (run, stat.S_IFDIR, 0o700),
            ):
                for mode in modes[path]:
                    assert stat.S_IFMT(mode) == kind, f"{path}: {mode:o}"
                    assert stat.S_IMODE(mode) & ~allowed == 0, (
                        f"start {attempt}: {path.name} seen with mode {stat.S_IMODE(mode):04o}"
                    )


# --- uids past 2**31 ---------------------------------------------------------------------


class FakeSocket:
    """Answers getsockopt with the bytes the kernel would give."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def getsockopt(self, _level: int, _option: int, _size: int) -> bytes:
        return self.raw


@pytest.mark.parametrize("uid", [0, 1000, 2**31 - 1, 2**31, 4294967294])
def test_peer_uid_is_read_unsigned(monkeypatch: pytest.MonkeyPatch, uid: int) -> None:
    """uid_t is unsigned: directory services hand out uids past 2**31, and read as a
    signed int such a user would be told apart from itself and locked out."""
    monkeypatch.setattr(sys, "platform", "linux")
    ucred = struct.pack("iII", 4242, uid, 100)  # struct ucred: pid_t, uid_t, gid_t
    assert peer_uid(FakeSocket(ucred)) == uid  # type: ignore[arg-type]
    monkeypatch.setattr(sys, "platform", "darwin")
    xucred = struct.pack("IIh", 0, uid, 1) + bytes(2 + 16 * 4)  # version, uid, ngroups...
    assert peer_uid(FakeSocket(xucred)) == uid  # type: ignore[arg-type]
