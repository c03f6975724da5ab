"""A viewer: `aitop -b` or a second screen, attached to the monitor running on the socket.

It asks the monitor to watch (aitop/watch.py) and hands each snapshot it receives to the
screen or batch mode, as the monitor in this process would: the figures are the
monitor's own, read back exactly. Only a monitor of the same user is believed (the
kernel says whose process listens). A viewer the monitor dropped for falling behind
attaches again; a monitor that stops, or goes, ends the viewer with a line that says so.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import time
from collections.abc import Callable
from typing import NamedTuple

import msgspec

from aitop.errors import AitopError
from aitop.log import log
from aitop.loop import Consumer, Loop, disarm_watchdog
from aitop.peercred import peer_uid
from aitop.pricing import Pricer
from aitop.snapshot import Snapshot, from_json
from aitop.watch import STREAM_VERSION, WATCH_REQUEST, Control, is_control, parse_control

CONNECT_TIMEOUT_S = 0.5
HELLO_TIMEOUT_S = 3.0  # a monitor answers at once; something that does not is no monitor
RECV_SIZE = 1 << 16  # under malloc's mmap threshold: a recv costs no mmap and munmap
MAX_LINE = 256 << 20  # a snapshot of 1,000 sessions is a few MB: anything longer is broken
# frames on -d's own beat, but never closer than this share of -d: the monitor's ticks are
# not exactly -d apart, and `-d` equal to the monitor's must show each of them
DUE_SHARE = 0.9


class Refused(AitopError):
    """The monitor answered, and will not be watched."""


class Hello(msgspec.Struct, frozen=True):
    pid: int
    version: str
    interval: float


class Attachment(NamedTuple):
    sock: socket.socket  # non-blocking, watching
    hello: Hello
    rest: bytes  # what came after the hello in the same read


def connect(path: str, uid: int | None = None) -> Attachment | None:
    """A watching connection to the monitor on `path`, and its hello; None when no
    monitor answers there (nothing listens, a dead socket, something that is not an
    aitop monitor, or one too old to be watched: running one's own then says which)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT_S)
        sock.connect(path)
    except OSError:  # no such file, refused, a full backlog (hung), not ours to open
        sock.close()
        return None
    try:
        owner = peer_uid(sock)
        mine = os.geteuid() if uid is None else uid
        if owner != mine:
            raise AitopError(
                f"the monitor on {path} runs as uid {owner}, not as you (uid {mine})",
                "use a socket in a private directory of your own with --socket",
            )
        sock.sendall(WATCH_REQUEST)  # and the connection stays open: closing it is leaving
        found = _read_hello(sock, path)
    except BaseException:
        sock.close()
        raise
    if found is None:
        sock.close()
        return None
    sock.setblocking(False)
    return Attachment(sock, *found)


def _read_hello(sock: socket.socket, path: str) -> tuple[Hello, bytes] | None:
    deadline = time.monotonic() + HELLO_TIMEOUT_S
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or len(data) > 4096:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except OSError:
            return None
        if not chunk:  # it hung up: an aitop that predates viewers takes this for a frame
            return None
        data += chunk
    line, _, rest = data.partition(b"\n")
    control = parse_control(line) if is_control(line) else None
    if control is None:
        return None
    if control.refused is not None:
        raise Refused(
            f"the monitor on {path} refused this viewer: {control.refused}",
            "close a viewer you no longer need (a monitor serves 16 at once)",
        )
    if control.watching != STREAM_VERSION or control.pid is None:
        return None
    return Hello(control.pid, control.version or "", control.interval or 1.0), rest


class Viewer(Loop):
    """Snapshots from the monitor on the socket: a Source for the screen and batch mode."""

    def __init__(
        self,
        path: str,
        attachment: Attachment,
        pricer: Pricer,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.clock = clock  # monotonic seconds: the pace of -d (tests inject one)
        self.path = path
        self.sock: socket.socket | None = attachment.sock
        self.hello = attachment.hello
        self.pricer = pricer  # the detail view's "same tokens on each model", priced here
        self.latest: Snapshot | None = None
        self.ended: AitopError | None = None  # why the monitor's stream ended
        self._buffer = bytearray(attachment.rest)
        self._newest: bytes | None = None  # the newest whole snapshot line not yet decoded
        self._closed = False

    @property
    def starting(self) -> str:
        return f"aitop: attached to the monitor on {self.path} (pid {self.hello.pid})…"

    def open(self) -> None:
        self.install_signals()
        self._register()

    def _register(self) -> None:
        assert self.sock is not None
        self.selector.register(self.sock, selectors.EVENT_READ, self._on_readable)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        disarm_watchdog()
        self._hang_up()
        self.close_loop()

    def _hang_up(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(self.sock)
            self.sock.close()  # the monitor sees the viewer leave
            self.sock = None

    # --- the loop -------------------------------------------------------------------

    def run(self, interval: float, *consumers: Consumer) -> None:
        """Hand each new snapshot to every consumer, at most one per `interval` (the
        monitor's ticks set the pace: a viewer can only go slower), and the latest again
        whenever a redraw is asked for, until one returns False, `stop`, a stop signal, or
        the end of the stream."""
        try:
            self._run(interval, lambda snap: all([consume(snap) for consume in consumers]))
        finally:
            disarm_watchdog()

    def _run(self, interval: float, on_tick: Consumer) -> None:
        every = interval * DUE_SHARE
        due: float | None = None  # when the next snapshot may be shown (monotonic)
        self._drain()  # what arrived with the hello
        while not self.stopping:
            if self._newest is not None and (due is None or self.clock() >= due):
                snap = self._take()  # only now decoded: a line a slower -d skips costs little
                if snap is not None:
                    # the next one a whole -d after this one's due time, so that a monitor
                    # ticking faster than -d does not pull the frames ahead of -d, nor a late
                    # tick push them all back; never within 90 % of -d of this one
                    now = self.clock()
                    due = now + interval if due is None else max(due + interval, now + every)
                    self.redraw_requested = False
                    if not on_tick(snap):
                        return
                continue
            if self.redraw_requested and self.latest is not None:
                self.redraw_requested = False
                if not on_tick(self.latest):
                    return
                continue
            if self.ended is not None:
                return
            timeout = None  # until the monitor sends, a key, a signal
            if self._newest is not None and due is not None:
                timeout = max(0.0, due - self.clock())  # a line waits to be due
            if self.sock is None:
                timeout = 0.0
            for key, mask in self.selector.select(timeout):
                key.data(mask)

    def _take(self) -> Snapshot | None:
        """The newest snapshot that came since the last look, decoded (older ones are
        skipped: a viewer shows the present)."""
        line, self._newest = self._newest, None
        if line is None:
            return None
        try:
            snap = from_json(line)
        except msgspec.DecodeError as exc:
            self._end(f"the monitor on {self.path} sent a line aitop cannot read ({exc})")
            return None
        snap = msgspec.structs.replace(snap, attached=True)
        self.latest = snap
        return snap

    def _on_readable(self, _mask: int) -> None:
        assert self.sock is not None
        try:
            chunk = self.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._lost()
            return
        self._buffer += chunk
        self._drain()

    def _drain(self) -> None:
        """Whole lines out of the buffer: control lines acted on, the newest snapshot kept."""
        buffer = self._buffer
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            line = bytes(buffer[start:end])
            start = end + 1
            if is_control(line):
                self._control(parse_control(line))
            elif line:
                self._newest = line
        del buffer[:start]
        if len(buffer) > MAX_LINE:
            self._end(f"the monitor on {self.path} sent a line longer than {MAX_LINE >> 20} MiB")

    def _control(self, control: Control | None) -> None:
        if control is not None and control.bye is not None:
            self._end(f"the monitor on {self.path} stopped")

    def _lost(self) -> None:
        """The stream ended without a goodbye: the monitor dropped this viewer for falling
        behind (attach again), or it was killed (then nothing answers)."""
        self._hang_up()
        if self.ended is not None:
            return
        again = connect(self.path)
        if again is None:
            self._end(f"the monitor on {self.path} is gone")
            return
        self.sock, self.hello = again.sock, again.hello
        self._buffer = bytearray(again.rest)
        self._register()
        self._drain()
        log.info("attached again to the monitor on %s (pid %d)", self.path, self.hello.pid)

    def _end(self, what: str) -> None:
        if self.ended is None:
            self.ended = AitopError(
                what, "start aitop again: with no monitor running, it runs its own"
            )
        self._hang_up()
