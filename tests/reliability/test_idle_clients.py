"""Slow and idle clients: 500 connections that send nothing or one byte a second are
held open while real hooks keep arriving → every real hook is ingested, the idle ones
are closed at their deadline, and the monitor's memory stays bounded."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from aitop.server import DEADLINE_S
from aitop.wire import MAX_PAYLOAD
from reliability.rig import (
    counts,
    drain,
    hook,
    hooks_at_once,
    monitor,
    place,
    rss_kib,
    settle,
    tool_call,
)

CLIENTS = 500
HOLD_S = 6.0  # keep 500 open this long: three generations of idle clients
HOOKS_PER_ROUND = 5


@dataclass
class Client:
    sock: socket.socket
    slow: bool
    opened: float
    closed: float | None = None
    sent: int = 0


@dataclass
class Crowd:
    """A population of idle and slow clients, topped up as the monitor closes them."""

    path: Path
    size: int
    clients: list[Client] = field(default_factory=list)
    live: dict[int, Client] = field(default_factory=dict)
    topping_up: bool = True
    stop: bool = False

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        for client in self.live.values():  # opened before the crowd started to run
            selector.register(client.sock, selectors.EVENT_READ, client)
        next_byte = time.monotonic() + 1.0
        while not self.stop:
            while self.topping_up and len(self.live) < self.size:
                client = self.open(slow=len(self.clients) % 2 == 1)
                selector.register(client.sock, selectors.EVENT_READ, client)
            if not self.topping_up and not self.live:
                return
            for key, _ in selector.select(0.05):
                client = key.data
                try:
                    data = client.sock.recv(16)
                except OSError:
                    data = b""
                if not data:  # the monitor hung up
                    client.closed = time.monotonic()
                    selector.unregister(client.sock)
                    client.sock.close()
                    del self.live[id(client)]
            if time.monotonic() >= next_byte:  # the slow ones: one byte a second
                next_byte += 1.0
                for client in list(self.live.values()):
                    if client.slow:
                        with contextlib.suppress(OSError):  # hung up already
                            client.sent += client.sock.send(b"{")
        selector.close()

    def open(self, slow: bool) -> Client:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        opened = time.monotonic()  # before connect(): the monitor's deadline starts later
        sock.connect(str(self.path))
        client = Client(sock, slow, opened)
        self.clients.append(client)
        self.live[id(client)] = client
        return client


@pytest.mark.slow
def test_500_idle_and_slow_clients_cannot_starve_real_hooks() -> None:
    with place() as where, monitor(where.env(), "--no-backfill", delay=0.2) as mon:
        pid = mon.process.pid
        baseline = rss_kib(pid)
        crowd = Crowd(where.socket, CLIENTS)
        crowd_thread = threading.Thread(target=crowd.run, daemon=True)
        crowd_thread.start()
        rss: list[int] = []
        open_seen: list[int] = []
        hooks = 0
        end = time.monotonic() + HOLD_S
        env = where.env()
        while time.monotonic() < end:  # real hooks, a few at a time, all along
            payloads = [
                tool_call("real", f"toolu_real_{hooks + n}") for n in range(HOOKS_PER_ROUND)
            ]
            hooks += HOOKS_PER_ROUND
            hooks_at_once(env, payloads, timeout=30)
            rss.append(rss_kib(pid))
            open_seen += [snap["ingest"]["open_connections"] for snap in drain(mon)]
        crowd.topping_up = False
        crowd_thread.join(timeout=30)
        assert not crowd_thread.is_alive(), f"{len(crowd.live)} clients never closed"

        made = len(crowd.clients)
        snap = settle(mon, counts(frames=hooks, rejected_timeout=made))
        assert snap["since_start"]["tool_calls"] == hooks
        assert snap["ingest"]["open_connections"] == 0
        held = [c.closed - c.opened for c in crowd.clients if c.closed is not None]
        assert len(held) == made
        # never before the deadline (counted from before connect(), so a bound from
        # below), and at it: expire() runs at least once a tick (0.2 s here)
        assert min(held) >= DEADLINE_S - 0.05
        assert max(held) <= DEADLINE_S + 1.5
        assert max(open_seen, default=0) >= CLIENTS * 0.9  # they really were held open
        growth = max(rss) - baseline
        print(
            f"\nidle: {made} idle/slow clients, {hooks} real hooks; held {min(held):.2f}"
            f"-{max(held):.2f} s; RSS {baseline} kB at rest, peak +{growth} kB"
        )
        assert growth < 32 * 1024


HOGS = 300  # clients that each send a whole frame's worth and never finish it


def _hog(path: Path, size: int) -> bool:
    """Send `size` bytes without ending the frame; False if the monitor hung up first."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    sock.settimeout(10)
    try:
        sock.sendall(b"{" * size)
    except OSError:
        return False
    finally:
        _HELD.append(sock)  # held open: the frame never ends
    return True


_HELD: list[socket.socket] = []


@pytest.mark.slow
def test_memory_stays_bounded_when_idle_clients_hold_full_frames() -> None:
    """300 clients each hold a frame of 1 MiB that never ends. Per connection that is
    within the cap, but together it would be 300 MiB: the monitor keeps the bytes held
    by all open connections under one budget, dropping the oldest, and counts them."""
    with place() as where, monitor(where.env(), "--no-backfill", delay=0.2) as mon:
        pid = mon.process.pid
        baseline = rss_kib(pid)
        peak = baseline
        env = where.env()
        hooks = 0
        try:
            for i in range(HOGS):
                _hog(where.socket, MAX_PAYLOAD)
                peak = max(peak, rss_kib(pid))
                if i % 50 == 0:  # and real hooks still get through
                    result = hook(tool_call("real", f"toolu_hog_{i}"), env)
                    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
                    hooks += 1
            snap = mon.wait_for(lambda s: s["ingest"]["open_connections"] == 0, timeout=30)
        finally:
            for sock in _HELD:
                sock.close()
            _HELD.clear()
        closed = snap["ingest"]["rejected_overload"] + snap["ingest"]["rejected_timeout"]
        assert closed == HOGS
        assert snap["ingest"]["frames"] == hooks
        assert snap["since_start"]["tool_calls"] == hooks
        print(f"\nhogs: {HOGS} x 1 MiB held; RSS {baseline} kB at rest, peak +{peak - baseline} kB")
        assert peak - baseline < 64 * 1024 + 48 * 1024  # the budget, and the interpreter's slack


@pytest.mark.slow
def test_idle_clients_are_closed_at_their_deadline_even_with_a_slow_tick() -> None:
    with place() as where, monitor(where.env(), "--no-backfill", delay=5.0):
        # just after the first tick (wait_listening saw it): the next one is 5 s away
        crowd = Crowd(where.socket, 20)
        crowd.topping_up = False
        for _ in range(20):
            crowd.open(slow=False)  # nothing at all: no byte wakes the loop
        thread = threading.Thread(target=crowd.run, daemon=True)
        thread.start()
        thread.join(timeout=30)
        held = [c.closed - c.opened for c in crowd.clients if c.closed is not None]
        assert len(held) == 20
        assert max(held) <= DEADLINE_S + 1.0, f"held {max(held):.2f} s"
