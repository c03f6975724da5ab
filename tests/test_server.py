"""The socket's defences: private directory, 0600 from the start, one live instance,
peer uid on every connection, size cap, deadline, bounded connections."""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aitop.errors import AitopError
from aitop.server import Server
from aitop.wire import MAX_FRAME


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    def __init__(self, path: Path, **kw: object) -> None:
        self.frames: list[bytes] = []
        self.clock = Clock()
        self.selector = selectors.DefaultSelector()
        self.server = Server(str(path), self.frames.append, clock=self.clock, **kw)  # type: ignore[arg-type]

    def open(self) -> Harness:
        self.server.open(self.selector)
        return self

    def pump(self, rounds: int = 20) -> None:
        for _ in range(rounds):
            for key, mask in self.selector.select(0.02):
                key.data(mask)
            self.server.expire()

    def close(self) -> None:
        self.server.close()
        self.selector.close()


@pytest.fixture
def sock_dir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def harness(sock_dir: Path) -> Iterator[Harness]:
    h = Harness(sock_dir / "aitop.sock").open()
    yield h
    h.close()


def send(path: Path, data: bytes, close: bool = True) -> socket.socket:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(path))
    client.sendall(data)
    if close:
        client.shutdown(socket.SHUT_WR)
        client.close()
    return client


def test_socket_is_0600_and_its_directory_0700(tmp_path: Path) -> None:
    path = tmp_path / "new" / "aitop.sock"  # the directory does not exist yet
    h = Harness(path).open()
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        h.close()
    assert not path.exists()  # removed on close


def test_bound_under_a_restrictive_umask(sock_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mode comes from the umask at bind(): there is no instant at which it is open."""
    seen: list[int] = []
    real_bind = socket.socket.bind

    def spy(self: socket.socket, address: str) -> None:
        current = os.umask(0)
        os.umask(current)
        seen.append(current)
        real_bind(self, address)

    monkeypatch.setattr(socket.socket, "bind", spy)
    h = Harness(sock_dir / "aitop.sock").open()
    h.close()
    assert seen and all(mask & 0o177 == 0o177 for mask in seen)


def test_frames_are_delivered_whole(harness: Harness, sock_dir: Path) -> None:
    send(sock_dir / "aitop.sock", b'{"a": 1}')
    big = b"x" * 300_000  # more than the socket buffer: it arrives in many reads
    sender = threading.Thread(target=send, args=(sock_dir / "aitop.sock", big))
    sender.start()
    while sender.is_alive() or len(harness.frames) < 2:
        harness.pump(1)
    sender.join()
    assert harness.frames == [b'{"a": 1}', big]


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701])
def test_directory_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    directory = tmp_path / "run"
    directory.mkdir()
    directory.chmod(mode)
    with pytest.raises(AitopError) as error:
        Harness(directory / "aitop.sock").open()
    assert f"mode {mode:04o}" in error.value.what
    # never "chmod 700" on a directory that may be shared: a private one of its own
    assert error.value.todo == (
        f"put the socket in a private directory of its own: mkdir -m 700 {directory}/aitop"
        f" && aitop --socket {directory}/aitop/aitop.sock"
    )
    assert list(directory.iterdir()) == []


def test_advice_about_a_shared_directory_is_safe_to_follow(tmp_path: Path) -> None:
    """`--socket /tmp/x.sock` once answered `run: chmod 700 /tmp`, which breaks every
    other user and program of /tmp. Every refusal of a socket's place is checked here for
    advice that changes nothing but what aitop owns."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(AitopError) as error:
        Harness(shared / "x.sock").open()
    todo = error.value.todo
    assert "chmod" not in todo and f"mkdir -m 700 {shared}/aitop" in todo
    assert f"--socket {shared}/aitop/x.sock" in todo
    # aitop's own directory is aitop's to close
    own = tmp_path / ".aitop"
    own.mkdir(mode=0o755)
    own.chmod(0o755)
    with pytest.raises(AitopError) as error:
        Harness(own / "aitop.sock").open()
    assert error.value.todo == f"run: chmod 700 {own}"
    # a file in the way is never to be removed: it may be anything
    (tmp_path / "run").mkdir(mode=0o700)
    (tmp_path / "run").chmod(0o700)
    notes = tmp_path / "run" / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(AitopError) as error:
        Harness(notes).open()
    assert "remove" not in error.value.todo and notes.read_text() == "mine"
    with pytest.raises(AitopError) as error:
        Harness(notes / "aitop.sock").open()
    assert "remove" not in error.value.todo


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a directory someone else's")
def test_directory_of_another_user_is_refused(sock_dir: Path) -> None:
    os.chown(sock_dir, 65534, 65534)
    with pytest.raises(AitopError, match="belongs to uid 65534"):
        Harness(sock_dir / "aitop.sock").open()


def test_second_instance_refuses_and_leaves_the_live_socket_alone(
    harness: Harness, sock_dir: Path
) -> None:
    path = sock_dir / "aitop.sock"
    inode = path.stat().st_ino
    with pytest.raises(AitopError, match="already running"):
        Harness(path).open()
    assert path.stat().st_ino == inode
    send(path, b"still here")
    harness.pump()
    assert harness.frames == [b"still here"]


def test_live_socket_without_the_lock_is_not_deleted(sock_dir: Path) -> None:
    """Something else listening there (an older aitop, another program): never unlinked."""
    path = sock_dir / "aitop.sock"
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(str(path))
    other.listen()
    try:
        with pytest.raises(AitopError, match="already listening"):
            Harness(path).open()
        assert path.exists()
    finally:
        other.close()


def test_stale_socket_is_replaced(sock_dir: Path) -> None:
    path = sock_dir / "aitop.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # a monitor killed with SIGKILL leaves exactly this
    h = Harness(path).open()
    try:
        send(path, b"fresh")
        h.pump()
        assert h.frames == [b"fresh"]
    finally:
        h.close()


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_non_socket_in_the_way_is_refused(sock_dir: Path, kind: str) -> None:
    path = sock_dir / "aitop.sock"
    if kind == "file":
        path.write_text("mine")
    else:
        path.mkdir()
    with pytest.raises(AitopError, match="not a socket"):
        Harness(path).open()
    assert path.exists()


def test_foreign_uid_is_rejected_and_never_delivered(sock_dir: Path) -> None:
    h = Harness(sock_dir / "aitop.sock", peer=lambda _s: os.geteuid() + 1).open()
    try:
        send(sock_dir / "aitop.sock", b'{"hook_event_name": "Stop"}')
        h.pump()
        assert h.frames == []
        assert h.server.counters.rejected_peer == 1
    finally:
        h.close()


def test_unknown_peer_fails_closed(sock_dir: Path) -> None:
    """A platform without a peer check refuses every connection."""
    h = Harness(sock_dir / "aitop.sock", peer=lambda _s: None).open()
    try:
        send(sock_dir / "aitop.sock", b"{}")
        h.pump()
        assert (h.frames, h.server.counters.rejected_peer) == ([], 1)
    finally:
        h.close()


SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")
CONNECT = (
    "import socket,sys\n"
    "s=socket.socket(socket.AF_UNIX)\n"
    's.connect(sys.argv[1]); s.sendall(b\'{"from":"nobody"}\'); s.shutdown(socket.SHUT_WR)\n'
)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
@pytest.mark.skipif(
    not shutil.which("runuser") or not SYSTEM_PYTHON, reason="needs runuser and /usr/bin/python3"
)
def test_another_user_is_rejected_for_real() -> None:
    base = Path(tempfile.mkdtemp(prefix="aitop-peer-"))  # pytest's tmp dirs are closed to others
    sock_dir = base / "run"
    sock_dir.mkdir(mode=0o700)
    path = sock_dir / "aitop.sock"
    h = Harness(path).open()
    try:
        # open the file permissions on purpose: the uid check must hold on its own
        base.chmod(0o711)
        sock_dir.chmod(0o711)
        path.chmod(0o666)
        result = subprocess.run(
            ["runuser", "-u", "nobody", "--", SYSTEM_PYTHON, "-c", CONNECT, str(path)],
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        h.pump()
        assert h.frames == []
        assert h.server.counters.rejected_peer == 1
        send(path, b"ours")  # and the owner still gets through
        h.pump()
        assert h.frames == [b"ours"]
    finally:
        h.close()
        shutil.rmtree(base)


def test_oversize_frame_is_cut_off_and_counted(harness: Harness, sock_dir: Path) -> None:
    client = send(sock_dir / "aitop.sock", b"", close=False)
    client.setblocking(False)
    sent = 0
    chunk = b"y" * 65536
    while sent <= MAX_FRAME:
        try:
            sent += client.send(chunk)
        except BlockingIOError:
            harness.pump(1)
    harness.pump()
    client.close()
    harness.pump()
    assert harness.frames == []
    assert harness.server.counters.rejected_oversize == 1
    assert harness.server.open_connections == 0


def test_idle_connection_is_closed_at_its_deadline(harness: Harness, sock_dir: Path) -> None:
    idle = send(sock_dir / "aitop.sock", b"half a fr", close=False)
    harness.pump()
    assert harness.server.open_connections == 1
    harness.clock.now += 1.9
    harness.pump()
    assert harness.server.open_connections == 1
    harness.clock.now += 0.2
    harness.pump()
    assert harness.server.open_connections == 0
    assert harness.server.counters.rejected_timeout == 1
    assert idle.recv(10) == b""  # the server hung up
    idle.close()
    assert harness.frames == []


def test_open_connections_are_bounded_and_the_oldest_goes(sock_dir: Path) -> None:
    h = Harness(sock_dir / "aitop.sock", max_connections=3).open()
    try:
        idle = [send(sock_dir / "aitop.sock", b"", close=False) for _ in range(5)]
        h.pump()
        assert h.server.open_connections == 3
        assert h.server.counters.rejected_overload == 2
        send(sock_dir / "aitop.sock", b"real hook")
        h.pump()
        assert h.frames == [b"real hook"]
        for client in idle:
            client.close()
    finally:
        h.close()


def test_connect_and_close_is_a_probe_not_a_frame(harness: Harness, sock_dir: Path) -> None:
    send(sock_dir / "aitop.sock", b"")
    harness.pump()
    assert harness.frames == []
    assert harness.server.counters.probes == 1


def test_close_removes_only_our_own_socket(sock_dir: Path) -> None:
    path = sock_dir / "aitop.sock"
    h = Harness(path).open()
    path.unlink()
    imposter = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    imposter.bind(str(path))  # someone else's socket now lives at the path
    try:
        h.close()
        assert path.exists()
    finally:
        imposter.close()


def test_socket_path_too_long_is_a_clear_error(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with pytest.raises(AitopError, match="cannot listen"):
        Harness(deep / "aitop.sock").open()


def test_a_deleted_socket_is_bound_again(harness: Harness, sock_dir: Path) -> None:
    path = sock_dir / "aitop.sock"
    path.unlink()
    assert not harness.server.listening
    assert harness.server.recover()
    assert harness.server.listening and stat.S_IMODE(path.stat().st_mode) == 0o600
    send(path, b"after")
    harness.pump()
    assert harness.frames == [b"after"]
    assert not harness.server.recover()  # nothing to do while it is there


def test_a_deleted_directory_is_made_again_with_its_lock(tmp_path: Path) -> None:
    path = tmp_path / "run" / "aitop.sock"
    h = Harness(path).open()
    try:
        shutil.rmtree(path.parent)  # rm -r ~/.aitop
        assert h.server.recover()
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        with pytest.raises(AitopError, match="already running"):
            Harness(path).open()  # the new lock file is held
        send(path, b"back")
        h.pump()
        assert h.frames == [b"back"]
    finally:
        h.close()


def test_a_socket_path_taken_by_something_else_is_left_alone(
    harness: Harness, sock_dir: Path
) -> None:
    path = sock_dir / "aitop.sock"
    path.unlink()
    path.write_text("someone else's")
    assert not harness.server.recover()
    assert path.read_text() == "someone else's" and not harness.server.listening
