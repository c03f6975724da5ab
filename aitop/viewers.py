"""The monitor's viewers: clients that asked to watch, each sent every snapshot.

A viewer is a socket of the same user (the server checked its peer, as for hooks) that
sent the watch request. It is written to with non-blocking sends only, so a viewer can
never hold the loop; what its socket cannot take at once waits in a queue of whole
snapshot lines, which are the same bytes objects for every viewer (a snapshot is encoded
once, whatever the number of viewers). A viewer more than `backlog` snapshots behind what
its socket holds is dropped: a stalled or slow viewer costs at most that much memory and
never slows the hooks. The number of viewers is bounded too; one more is refused, with a
line that says why. Writes happen after the hooks of the same wake-up have been read.
"""

from __future__ import annotations

import _socket
import contextlib
import selectors
import socket
from collections import deque
from collections.abc import Callable

from aitop.watch import Control, control_line

MAX_VIEWERS = 16
BACKLOG = 4  # snapshots queued for one viewer, beyond what its socket buffer holds
SEND_CHUNK = 1 << 18  # the most one send may copy: a large snapshot goes over several wakes


class ViewerCounters:
    __slots__ = ("dropped", "refused")

    def __init__(self) -> None:
        self.dropped = 0  # fell `backlog` snapshots behind
        self.refused = 0  # came when `max_viewers` were attached


class _Viewer:
    __slots__ = ("events", "offset", "queue", "sock")

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.queue: deque[bytes] = deque()  # whole lines; the first one sent up to `offset`
        self.offset = 0
        self.events = 0  # what it is registered for


class Viewers:
    """Owned by the server, driven by the monitor's one loop."""

    def __init__(
        self,
        selector: selectors.BaseSelector,
        *,
        hello: Callable[[], bytes],
        latest: Callable[[], bytes | None],
        max_viewers: int = MAX_VIEWERS,
        backlog: int = BACKLOG,
    ) -> None:
        self.selector = selector
        self.hello = hello  # the first line each viewer gets
        self.latest = latest  # then the latest snapshot, if there is one yet
        self.max_viewers = max_viewers
        self.backlog = backlog
        self.counters = ViewerCounters()
        self._viewers: dict[int, _Viewer] = {}
        self._ready: dict[int, _Viewer] = {}  # writable since the last flush

    def __len__(self) -> int:
        return len(self._viewers)

    def add(self, sock: _socket.socket) -> None:
        """A connection that asked to watch (its peer already checked)."""
        if len(self._viewers) >= self.max_viewers:
            self.counters.refused += 1
            refusal = control_line(
                Control(refused=f"{self.max_viewers} viewers are attached already")
            )
            with contextlib.suppress(OSError):
                sock.send(refusal, socket.MSG_DONTWAIT)
            sock.close()
            return
        viewer = _Viewer(sock)
        self._viewers[sock.fileno()] = viewer
        viewer.queue.append(self.hello())
        latest = self.latest()
        if latest is not None:
            viewer.queue.append(latest)
        self._send(viewer)

    def publish(self, line: bytes) -> None:
        """A new snapshot for every viewer."""
        for viewer in list(self._viewers.values()):
            if len(viewer.queue) >= self.backlog:
                self.counters.dropped += 1
                self._close(viewer)
                continue
            viewer.queue.append(line)
            self._send(viewer)

    def flush(self) -> None:
        """Write to the viewers whose sockets became writable (after the hooks were read)."""
        ready, self._ready = self._ready, {}
        for fd, viewer in ready.items():
            if self._viewers.get(fd) is viewer:
                self._send(viewer)

    def close(self, why: str) -> None:
        """The monitor stops: tell each viewer, where a line can still start, and close."""
        bye = control_line(Control(bye=why))
        for viewer in list(self._viewers.values()):
            if viewer.offset == 0:  # not in the middle of a line
                with contextlib.suppress(OSError):
                    viewer.sock.send(bye, socket.MSG_DONTWAIT)
            self._close(viewer)

    # --- one viewer -------------------------------------------------------------------

    def _send(self, viewer: _Viewer) -> None:
        queue = viewer.queue
        while queue:
            line = queue[0]
            try:
                sent = viewer.sock.send(
                    memoryview(line)[viewer.offset : viewer.offset + SEND_CHUNK],
                    socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL,
                )
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # it went away
                self._close(viewer)
                return
            viewer.offset += sent
            if viewer.offset >= len(line):
                queue.popleft()
                viewer.offset = 0
        self._watch(viewer, selectors.EVENT_READ | (selectors.EVENT_WRITE if queue else 0))

    def _watch(self, viewer: _Viewer, events: int) -> None:
        if events == viewer.events:
            return
        if viewer.events:
            self.selector.modify(viewer.sock, events, lambda mask: self._on_event(viewer, mask))
        else:
            self.selector.register(viewer.sock, events, lambda mask: self._on_event(viewer, mask))
        viewer.events = events

    def _on_event(self, viewer: _Viewer, mask: int) -> None:
        if mask & selectors.EVENT_READ:
            # a viewer sends nothing after its request: this is its leaving (or a client
            # that does not follow the protocol, which is shown the door the same way)
            self._close(viewer)
            return
        self._ready[viewer.sock.fileno()] = viewer

    def _close(self, viewer: _Viewer) -> None:
        fd = viewer.sock.fileno()
        self._viewers.pop(fd, None)
        self._ready.pop(fd, None)
        if viewer.events:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(viewer.sock)
            viewer.events = 0
        viewer.queue.clear()
        viewer.sock.close()
