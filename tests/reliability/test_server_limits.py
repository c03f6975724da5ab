"""The server's limits in-process, on a fake clock: fast and exact companions of the
real-process tests (the memory budget of test_idle_clients, the deadline the loop must
wake for)."""

from __future__ import annotations

import selectors
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from aitop.server import DEADLINE_S, Server


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, path: Path, **limits: int) -> None:
        self.path = path
        self.frames: list[bytes] = []
        self.clock = Clock()
        self.selector = selectors.DefaultSelector()
        self.server = Server(str(path), self.frames.append, clock=self.clock, **limits)  # type: ignore[arg-type]
        self.server.open(self.selector)
        self.clients: list[socket.socket] = []

    def connect(self, data: bytes = b"", *, end: bool = False) -> socket.socket:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(self.path))
        client.sendall(data)
        if end:
            client.shutdown(socket.SHUT_WR)
        self.clients.append(client)
        return client

    def pump(self, rounds: int = 10) -> None:
        for _ in range(rounds):
            for key, mask in self.selector.select(0.01):
                key.data(mask)
            self.server.expire()

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.server.close()
        self.selector.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    made = Rig(run / "aitop.sock", max_frame=100_000, max_buffered=250_000)
    yield made
    made.close()


def test_unfinished_frames_share_one_memory_budget(rig: Rig) -> None:
    """Ten clients each hold 60 kB of a frame that never ends: within the per-frame cap,
    but 600 kB together. The oldest go until the rest fit in 250 kB."""
    for _ in range(10):
        rig.connect(b"{" * 60_000)
        rig.pump(3)
        assert rig.server.buffered <= 250_000
    assert rig.server.open_connections == 4  # 4 x 60 kB fit, the 6 oldest were dropped
    assert rig.server.counters.rejected_overload == 6
    assert rig.clients[0].recv(1) == b""  # the oldest was hung up on
    rig.connect(b'{"real": "hook"}', end=True)  # and a real frame still gets in
    rig.pump()
    assert rig.frames == [b'{"real": "hook"}']


def test_budget_is_given_back_as_frames_end(rig: Rig) -> None:
    for i in range(20):  # one after the other, each finished: nothing is ever dropped
        rig.connect(b"x" * 90_000, end=True)
        rig.pump(3)
        assert rig.server.buffered == 0, i
    assert len(rig.frames) == 20 and rig.server.counters.rejected_overload == 0


def test_next_deadline_is_the_oldest_connections(rig: Rig) -> None:
    assert rig.server.next_deadline() is None
    rig.connect(b"")
    rig.pump(2)
    rig.clock.now += 0.5
    rig.connect(b"")
    rig.pump(2)
    assert rig.server.next_deadline() == 100.0 + DEADLINE_S
    rig.clock.now = 100.0 + DEADLINE_S
    rig.pump(2)
    assert rig.server.next_deadline() == 100.5 + DEADLINE_S
    assert rig.server.counters.rejected_timeout == 1
