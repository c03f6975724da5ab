"""`aitop hook`, the real process: silent, exit 0, whatever happens; stdlib only."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from aitop.wire import MAX_PAYLOAD, split_frame

from conftest import aitop_command
from support import private_dir, run_hook

PAYLOAD = b'{"session_id":"s1","hook_event_name":"Stop","transcript_path":"/x.jsonl"}\n'


def hook_env(socket_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "HOME": str(socket_path.parent),
        "PATH": os.environ["PATH"],
        "AITOP_SOCKET": str(socket_path),
    }
    return env | extra


class Listener:
    """A bare listening socket that records what each connection sent."""

    def __init__(self, path: Path, *, accept: bool = True, read: bool = True) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(16)
        self.frames: list[bytes] = []
        self._accept = accept
        self._read = read
        self._held: list[socket.socket] = []
        if accept:
            threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if not self._read:
                self._held.append(conn)  # accept, and never read a byte
                continue
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            self.frames.append(data)
            conn.close()

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


def assert_silent_success(result: subprocess.CompletedProcess[bytes]) -> None:
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_forwards_the_payload_with_an_envelope(tmp_path: Path) -> None:
    path = private_dir(tmp_path / "run") / "aitop.sock"
    listener = Listener(path)
    try:
        result = run_hook(PAYLOAD, hook_env(path, AITOP_TAG='ré "x"\n', CLAUDE_PID="931"))
        assert_silent_success(result)
        for _ in range(200):
            if listener.frames:
                break
            threading.Event().wait(0.01)
        (frame,) = listener.frames
        envelope, payload = split_frame(frame)
        assert payload == PAYLOAD
        assert (envelope.agent, envelope.pid, envelope.tag) == ("claude-code", 931, 'ré "x"\n')
    finally:
        listener.close()


def test_agent_and_socket_can_be_given_as_options(tmp_path: Path) -> None:
    path = private_dir(tmp_path / "run") / "other.sock"
    listener = Listener(path)
    try:
        env = hook_env(tmp_path / "nowhere.sock")
        assert_silent_success(run_hook(PAYLOAD, env, "--socket", str(path), "--agent", "codex"))
        for _ in range(200):
            if listener.frames:
                break
            threading.Event().wait(0.01)
        envelope, _ = split_frame(listener.frames[0])
        assert envelope.agent == "codex"
    finally:
        listener.close()


def test_no_monitor(tmp_path: Path) -> None:
    assert_silent_success(run_hook(PAYLOAD, hook_env(tmp_path / "absent.sock")))


def test_stale_socket(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()
    assert_silent_success(run_hook(PAYLOAD, hook_env(path)))


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_socket_path_that_is_not_a_socket(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "aitop.sock"
    if kind == "file":
        path.write_text("x")
    else:
        path.mkdir()
    assert_silent_success(run_hook(PAYLOAD, hook_env(path)))


def test_monitor_that_never_accepts(tmp_path: Path) -> None:
    path = tmp_path / "hung.sock"
    listener = Listener(path, accept=False)
    try:
        # the subprocess timeout is the only bound: without the hook's own, this hangs
        assert_silent_success(run_hook(b"z" * MAX_PAYLOAD, hook_env(path), timeout=20))
    finally:
        listener.close()


def test_a_listen_queue_full_for_a_moment_costs_no_frame(tmp_path: Path) -> None:
    """A burst fills the monitor's listen queue: the kernel refuses a Unix connect at
    once (EAGAIN) instead of waiting. The hook tries again within its 0.5 s, and the
    frame arrives once the monitor gets to it."""
    path = tmp_path / "busy.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(0)
    queued = []
    for _ in range(8):  # fill the queue (its size is the backlog, plus one)
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.setblocking(False)
        try:
            client.connect(str(path))
        except BlockingIOError:
            client.close()
            break
        queued.append(client)
    else:
        pytest.fail("the listen queue never filled")
    got: list[bytes] = []

    def serve_later() -> None:
        threading.Event().wait(0.15)  # the monitor is busy for a moment
        for _ in range(len(queued) + 1):
            conn, _ = server.accept()
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            got.append(data)
            conn.close()
            if data:
                return

    worker = threading.Thread(target=serve_later, daemon=True)
    worker.start()
    try:
        for client in queued:
            client.close()  # they sent nothing: the monitor reads them as probes
        assert_silent_success(run_hook(PAYLOAD, hook_env(path)))
        worker.join(timeout=10)
        (frame,) = [data for data in got if data]
        assert split_frame(frame)[1] == PAYLOAD
    finally:
        server.close()


def test_monitor_that_accepts_but_never_reads(tmp_path: Path) -> None:
    path = tmp_path / "deaf.sock"
    listener = Listener(path, read=False)
    try:
        assert_silent_success(run_hook(b"z" * MAX_PAYLOAD, hook_env(path), timeout=20))
    finally:
        listener.close()


def test_empty_stdin_sends_nothing(tmp_path: Path) -> None:
    path = private_dir(tmp_path / "run") / "aitop.sock"
    listener = Listener(path)
    try:
        assert_silent_success(run_hook(b"", hook_env(path)))
        threading.Event().wait(0.2)
        assert listener.frames == []
    finally:
        listener.close()


def test_closed_stdin(tmp_path: Path) -> None:
    result = subprocess.run(
        [*aitop_command(), "hook"],
        stdin=subprocess.DEVNULL,
        env=hook_env(tmp_path / "x.sock"),
        capture_output=True,
        timeout=20,
        check=False,
    )
    assert_silent_success(result)
    shell = subprocess.run(
        ["sh", "-c", 'exec "$@" <&-', "sh", *aitop_command(), "hook"],  # fd 0 not even open
        env=hook_env(tmp_path / "x.sock"),
        capture_output=True,
        timeout=20,
        check=False,
    )
    assert_silent_success(shell)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the hook as another user")
@pytest.mark.skipif(not shutil.which("runuser"), reason="needs runuser")
def test_permission_denied(tmp_path: Path) -> None:
    path = private_dir(tmp_path / "run") / "aitop.sock"
    listener = Listener(path)
    # nobody cannot run the venv's interpreter (under /root): use the system one,
    # pointed at a copy of the package that nobody can read
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    if system_python is None:
        pytest.skip("needs /usr/bin/python3")
    base = Path(tempfile.mkdtemp(prefix="aitop-hook-"))
    pkg = base / "pkg"
    shutil.copytree(Path(__file__).resolve().parent.parent / "aitop", pkg / "aitop")
    script = base / "hook.py"
    script.write_text("from aitop.hook import main\nraise SystemExit(main([]))\n")
    for p in [base, *base.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    try:
        result = subprocess.run(
            [str(shutil.which("runuser")), "-u", "nobody", "--", system_python, str(script)],
            input=PAYLOAD,
            env={"PYTHONPATH": str(pkg), "AITOP_SOCKET": str(path), "HOME": "/nonexistent"},
            capture_output=True,
            timeout=20,
            check=False,
        )
        assert_silent_success(result)
        assert listener.frames == []
    finally:
        listener.close()
        shutil.rmtree(base)


def test_oversize_payload_is_cut_one_byte_past_the_cap(tmp_path: Path) -> None:
    path = private_dir(tmp_path / "run") / "aitop.sock"
    listener = Listener(path)
    try:
        result = run_hook(b"q" * (MAX_PAYLOAD * 3), hook_env(path), timeout=30)
        assert_silent_success(result)  # and it read all of stdin: no broken pipe
        for _ in range(500):
            if listener.frames:
                break
            threading.Event().wait(0.01)
        _, payload = split_frame(listener.frames[0])
        assert len(payload) == MAX_PAYLOAD + 1
    finally:
        listener.close()


def test_hook_imports_only_the_standard_library_it_needs(tmp_path: Path) -> None:
    """Measured against the real installed script, with the interpreter's own start-up
    modules taken away: what is left is what `aitop hook` itself costs."""
    script = aitop_command()
    if len(script) != 1:
        pytest.skip("the aitop script is not installed next to this interpreter")
    env = hook_env(tmp_path / "absent.sock")
    start = subprocess.run(
        [sys.executable, "-X", "importtime", script[0], "hook"],
        input=PAYLOAD,
        env=env,
        capture_output=True,
        timeout=20,
        check=True,
    )
    baseline = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"],
        env=env,
        capture_output=True,
        timeout=20,
        check=True,
    )

    def names(stderr: bytes) -> set[str]:
        return {
            line.split("|")[-1].strip()
            for line in stderr.decode().splitlines()
            if line.startswith("import time:") and "imported package" not in line
        }

    extra = names(start.stderr) - names(baseline.stderr)
    assert extra == {"aitop", "aitop.hook", "aitop.paths", "_socket"}
    assert not extra & {
        "blessed",
        "msgspec",
        "orjson",
        "argparse",
        "logging",
        "json",
        "re",
        "socket",
        "selectors",
        "enum",
    }
