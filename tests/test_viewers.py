"""Viewers on the monitor's socket, in one process: a watch request becomes a viewer that
gets every snapshot; a stalled one is dropped at its bound and never holds the loop or
grows memory; their number is bounded; another user's is refused; a monitor that stops
says goodbye. And the viewer's side: what `connect` makes of what answers it."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import selectors
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from aitop.batch import BatchWriter
from aitop.errors import AitopError
from aitop.server import Server
from aitop.snapshot import Snapshot, from_json, to_json
from aitop.viewer import DUE_SHARE, Attachment, Hello, Refused, Viewer, connect
from aitop.viewers import Viewers
from aitop.watch import WATCH_REQUEST, Control, control_line, parse_control

from ui_support import PRICER, fixture_snapshot

HELLO = control_line(Control(watching=1, pid=4242, version="0.1.0", interval=1.0))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rig:
    """A server with viewers, pumped by hand like the monitor's loop."""

    def __init__(self, path: Path, *, max_viewers: int = 4, **kw: object) -> None:
        self.path = path
        self.frames: list[bytes] = []
        self.clock = Clock()
        self.selector = selectors.DefaultSelector()
        self.server = Server(str(path), self.frames.append, clock=self.clock, **kw)  # type: ignore[arg-type]
        self.latest: bytes | None = b'{"n":0}\n'
        self.viewers = Viewers(
            self.selector, hello=lambda: HELLO, latest=lambda: self.latest, max_viewers=max_viewers
        )
        self.server.watch(self.viewers)
        self.server.open(self.selector)

    def pump(self, rounds: int = 5) -> None:
        for _ in range(rounds):
            for key, mask in self.selector.select(0.01):
                key.data(mask)
            self.server.expire()

    def watcher(self, rcvbuf: int | None = None) -> socket.socket:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if rcvbuf is not None:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        client.connect(str(self.path))
        client.sendall(WATCH_REQUEST)
        client.settimeout(5)
        self.pump()
        return client

    def close(self) -> None:
        self.server.close()
        self.selector.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    made = Rig(run / "aitop.sock")
    yield made
    made.close()


def lines(client: socket.socket, count: int) -> list[bytes]:
    data = b""
    while data.count(b"\n") < count:
        chunk = client.recv(65536)
        assert chunk, f"the monitor hung up after {data!r}"
        data += chunk
    return data.split(b"\n")[:count]


def test_a_watch_request_gets_the_hello_the_latest_snapshot_then_every_tick(rig: Rig) -> None:
    client = rig.watcher()
    assert lines(client, 2) == [HELLO.rstrip(), b'{"n":0}']
    assert len(rig.viewers) == 1 and rig.server.open_connections == 0
    rig.clock.now += 3600  # a viewer is not a hook connection: no deadline
    rig.pump()
    for n in (1, 2):
        rig.viewers.publish(b'{"n":%d}\n' % n)
        assert lines(client, 1) == [b'{"n":%d}' % n]
    assert len(rig.viewers) == 1 and rig.frames == []
    client.close()


def test_a_frame_that_starts_like_a_watch_request_is_still_a_frame(rig: Rig) -> None:
    """Only the request alone, waiting for an answer, is one: a frame goes on after it."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(rig.path))
    client.sendall(WATCH_REQUEST + b'{"hook_event_name":"Stop"}')
    client.shutdown(socket.SHUT_WR)
    rig.pump()
    assert rig.frames == [WATCH_REQUEST + b'{"hook_event_name":"Stop"}']
    assert len(rig.viewers) == 0
    client.close()


def test_a_viewer_that_leaves_is_forgotten_and_not_counted_as_dropped(rig: Rig) -> None:
    client = rig.watcher()
    client.close()
    rig.pump()
    assert len(rig.viewers) == 0 and rig.viewers.counters.dropped == 0
    rig.viewers.publish(b"{}\n")  # nothing left to write to


def test_a_stalled_viewer_is_dropped_at_its_bound_and_hooks_keep_flowing(rig: Rig) -> None:
    """A viewer that never reads fills its socket, then its queue of `backlog` snapshots,
    and is dropped at the next one: each publish returns at once (non-blocking sends),
    and the queue, the only memory it costs, never holds more than the bound."""
    stalled = rig.watcher(rcvbuf=4096)
    line = b"{" + b"x" * 65_534 + b"}\n"  # 64 KiB snapshots: the socket fills in a few
    published = 0
    while len(rig.viewers):
        rig.viewers.publish(line)
        published += 1
        queued = [len(v.queue) for v in rig.viewers._viewers.values()]
        assert all(n <= rig.viewers.backlog for n in queued)
        # hooks go on all along, each delivered whole
        hook = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        hook.connect(str(rig.path))
        hook.sendall(b'{"hook_event_name":"Stop","n":%d}' % published)
        hook.shutdown(socket.SHUT_WR)
        hook.close()
        rig.pump(2)
        assert published < 100, "never dropped"
    assert rig.viewers.counters.dropped == 1
    assert len(rig.frames) == published
    stalled.close()


def test_viewers_are_bounded_and_one_more_is_told_why(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    rig = Rig(run / "aitop.sock", max_viewers=2)
    try:
        first, second = rig.watcher(), rig.watcher()
        third = rig.watcher()
        (refusal,) = lines(third, 1)
        control = parse_control(refusal)
        assert control is not None and control.refused == "2 viewers are attached already"
        assert third.recv(10) == b""
        assert len(rig.viewers) == 2 and rig.viewers.counters.refused == 1
        for client in (first, second, third):
            client.close()
    finally:
        rig.close()


def test_a_monitor_that_stops_says_goodbye(rig: Rig) -> None:
    client = rig.watcher()
    lines(client, 2)
    rig.server.close("the monitor stopped")
    (bye,) = lines(client, 1)
    control = parse_control(bye)
    assert control is not None and control.bye == "the monitor stopped"
    assert client.recv(10) == b""


def test_a_viewer_of_another_user_is_refused_before_it_can_ask(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    rig = Rig(run / "aitop.sock", peer=lambda _s: os.geteuid() + 1)
    try:
        client = rig.watcher()
        # closed without a word (or a reset: it had not read the request)
        with contextlib.suppress(ConnectionResetError):
            assert client.recv(10) == b""
        assert len(rig.viewers) == 0 and rig.server.counters.rejected_peer == 1
        client.close()
    finally:
        rig.close()


# --- the viewer's side ---------------------------------------------------------------------


def test_a_snapshot_line_reads_back_to_the_very_snapshot(tmp_path: Path) -> None:
    """A viewer's figures are the monitor's exactly: every field, every float to the bit,
    timelines, windows, alerts, the agents' rows and the since-start splits."""
    snap = fixture_snapshot(tmp_path)
    assert snap.sessions and snap.since_start_by is not None and snap.alerts
    assert any(row.timeline for row in snap.sessions)
    assert from_json(to_json(snap, timelines=True)) == snap


def test_nothing_on_the_socket_is_no_monitor(tmp_path: Path) -> None:
    assert connect(str(tmp_path / "none.sock")) is None


def _answering(path: Path, answer: bytes | None) -> threading.Thread:
    """A one-shot server that reads the request and answers `answer` (None: hangs up)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(100)
        if answer is not None:
            with contextlib.suppress(OSError):  # the viewer may go first
                conn.sendall(answer)
                conn.recv(100)  # until the viewer goes
        conn.close()
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_monitor_that_hangs_up_is_no_monitor_to_attach_to(tmp_path: Path) -> None:
    """An aitop from before viewers takes the request for a bad frame and hangs up."""
    thread = _answering(tmp_path / "s", None)
    assert connect(str(tmp_path / "s")) is None
    thread.join(5)


def test_a_refusal_is_said(tmp_path: Path) -> None:
    thread = _answering(tmp_path / "s", control_line(Control(refused="16 viewers are attached")))
    with pytest.raises(Refused, match="refused this viewer: 16 viewers are attached"):
        connect(str(tmp_path / "s"))
    thread.join(5)


def test_the_hello_and_what_follows_it(tmp_path: Path) -> None:
    thread = _answering(tmp_path / "s", HELLO + b'{"n":0}\n{"n"')
    found = connect(str(tmp_path / "s"))
    assert found is not None
    assert (found.hello.pid, found.hello.interval) == (4242, 1.0)
    assert found.rest == b'{"n":0}\n{"n"'
    found.sock.close()
    thread.join(5)


def test_a_monitor_of_another_user_is_not_believed(tmp_path: Path) -> None:
    thread = _answering(tmp_path / "s", HELLO)
    with pytest.raises(AitopError, match=r"runs as uid \d+, not as you"):
        connect(str(tmp_path / "s"), uid=os.geteuid() + 1)
    thread.join(5)


# --- the viewer's pace: -d slower than the monitor's ticks ---------------------------------


class TickingMonitor:
    """The monitor's end of a viewer's connection, sending a snapshot at each of `ticks`
    (seconds of a simulated clock), then, a second after the last, saying goodbye. It stands in for the viewer's
    selector: where the viewer would wait, the clock jumps to the end of the wait or to the
    next tick (a line sent, read at once); nothing sleeps, nothing reads the wall clock."""

    def __init__(self, sock: socket.socket, selector: selectors.BaseSelector, snap: Any,
                 ticks: list[float]) -> None:  # fmt: skip
        self.sock = sock
        self.inner = selector
        self.snap = snap
        self.ticks = ticks
        self.sent = 0
        self.now = 0.0

    def __getattr__(self, name: str) -> Any:  # register, unregister, close...
        return getattr(self.inner, name)

    def select(self, timeout: float | None = None) -> list[Any]:
        at = self.ticks[self.sent] if self.sent < len(self.ticks) else self.now + 1
        if timeout is not None and self.now + timeout < at:
            self.now += timeout  # the viewer's own wait ends first: no line
            return self.inner.select(0)
        self.now = at
        self.sent += 1
        if self.sent > len(self.ticks):
            self.sock.sendall(control_line(Control(bye="stopping")))
        else:
            snap = msgspec.structs.replace(self.snap, uptime_s=self.sent)  # the tick's number
            self.sock.sendall(to_json(snap))
        return self.inner.select(5.0)  # a socketpair: readable as soon as sent


def _attached_batch(tmp_path: Path, ticks: list[float], delay: float) -> list[tuple[float, int]]:
    """`aitop -b --json -d DELAY` attached to a monitor that ticks at `ticks`: when
    (simulated) it printed each line, and which tick's snapshot that was (1: the first)."""
    ours, theirs = socket.socketpair()
    snap = msgspec.structs.replace(fixture_snapshot(tmp_path, sessions=False), alerts=[])
    hello = Hello(pid=4242, version="0.1.0", interval=ticks[1] - ticks[0])
    viewer = Viewer(str(tmp_path / "aitop.sock"), Attachment(ours, hello, b""), PRICER)
    monitor = TickingMonitor(theirs, viewer.selector, snap, ticks)
    viewer.selector = monitor  # type: ignore[assignment]
    viewer.clock = lambda: monitor.now
    out = io.StringIO()
    printed: list[float] = []
    writer = BatchWriter(out, json=True, count=None, width=200)

    def batch(snap: Snapshot) -> bool:
        printed.append(monitor.now)
        return writer(snap)

    viewer.open()
    try:
        viewer.run(delay, batch)
    finally:
        viewer.close()
        theirs.close()
    assert viewer.ended is not None and "stopped" in viewer.ended.line()
    lines = [json.loads(line)["uptime_s"] for line in out.getvalue().splitlines()]
    assert len(lines) == len(printed)
    return list(zip(printed, lines, strict=True))


QUARTERS = [0.25 * n for n in range(1, 41)]  # a monitor ticking every 0.25 s for 10 s


@pytest.mark.parametrize(
    ("ticks", "delay", "expected"),
    [
        # -d the monitor's: every tick
        (QUARTERS, 0.25, [(0.25 * n, n) for n in range(1, 41)]),
        # -d 1: a line a second, on the tick that falls due (the last tick, at 10 s, is
        # shown when due, before the goodbye a second later)
        (QUARTERS, 1.0, [(0.25 + n, 1 + 4 * n) for n in range(10)] + [(10.25, 40)]),
        # -d 2.5: a line every 2.5 s, not every 90 % of -d
        (QUARTERS, 2.5, [(0.25, 1), (2.75, 11), (5.25, 21), (7.75, 31), (10.25, 40)]),
        # -d 1.5 on a 1 s monitor: a line every 1.5 s, the newest tick when it falls due
        ([float(n) for n in range(1, 11)], 1.5, [(1.0, 1), (2.5, 2), (4.0, 4), (5.5, 5),
                                                 (7.0, 7), (8.5, 8), (10.0, 10)]),
        # -d the monitor's, its ticks a little early or late: still every one of them
        ([1.0, 2.02, 2.97, 4.01, 4.95, 6.0], 1.0, [(1.0, 1), (2.02, 2), (3.0, 3), (4.01, 4),
                                                  (5.0, 5), (6.0, 6)]),
    ],
)  # fmt: skip
def test_an_attached_batch_prints_one_line_per_its_own_interval(
    tmp_path: Path, ticks: list[float], delay: float, expected: list[tuple[float, int]]
) -> None:
    """`aitop -b -d SECS` attached to a running monitor: one line per -d of its own, each
    the newest snapshot at the time, never two closer than 90 % of -d; a -d larger than the
    monitor's tick prints fewer lines than the monitor ticks."""
    printed = _attached_batch(tmp_path, ticks, delay)
    assert [tick for _, tick in printed] == [tick for _, tick in expected]
    assert [when for when, _ in printed] == pytest.approx([when for when, _ in expected])
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(printed)]
    assert all(gap >= DUE_SHARE * delay - 1e-9 for gap in gaps)
