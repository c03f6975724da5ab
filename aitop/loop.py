"""What every aitop loop shares, the monitor's and a viewer's: one selector, signals
that only set flags (woken through a pipe), and a stop that always happens.

A stop signal sets `stopping`, which the loop checks, and arms a 1 s watchdog that ends
the loop where it stands if it does not get back to the flag in time; a second signal
ends it at once. Either way the `finally`s on the way out restore the terminal and
remove the socket.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
from collections.abc import Callable
from types import FrameType
from typing import Protocol

from aitop.pricing import Pricer
from aitop.snapshot import Snapshot

STOP_GRACE_S = 1.0  # after a stop signal the loop has this long to end by itself
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

Consumer = Callable[[Snapshot], bool]  # a tick's snapshot; False: stop the loop


class StopNow(KeyboardInterrupt):
    """Raised by the stop watchdog in whatever the loop was doing: the `finally`s on the
    way out restore the terminal and remove the socket."""


class Loop:
    def __init__(self) -> None:
        self.selector: selectors.BaseSelector = selectors.DefaultSelector()
        self.stopping = False
        self.redraw_requested = False
        self.on_signal: Callable[[int], None] | None = None  # the screen hooks SIGWINCH here
        self._wake_r = self._wake_w = -1
        self._old_handlers: dict[int, object] = {}

    def stop(self) -> None:
        """End the loop at its next turn (the screen's `q`, a batch's last frame)."""
        self.stopping = True

    def request_redraw(self) -> None:
        """Hand the consumers a snapshot now, without waiting for the next tick (a key, a
        resize): the figures are not advanced, only shown."""
        self.redraw_requested = True

    def install_signals(self) -> None:
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.selector.register(self._wake_r, selectors.EVENT_READ, self._on_wake)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for signum in (*STOP_SIGNALS, signal.SIGWINCH):
            self._old_handlers[signum] = signal.signal(signum, self._on_signal)
        self._old_handlers[signal.SIGALRM] = signal.signal(signal.SIGALRM, _stop_now)

    def close_loop(self) -> None:
        """Signals back as they were, the pipe and the selector closed."""
        disarm_watchdog()
        for signum, handler in self._old_handlers.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)  # type: ignore[arg-type]
        self._old_handlers.clear()
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self._wake_r)
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wake_r = self._wake_w = -1
        self.selector.close()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # only set flags: the loop, woken through the wake-up fd, does the work
        if signum in STOP_SIGNALS:
            if self.stopping:  # asked twice: the user means it
                raise StopNow
            self.stopping = True
            # if the loop does not get back to look at the flag in time (a bug, a
            # file system that hangs), the watchdog ends it where it stands
            signal.setitimer(signal.ITIMER_REAL, STOP_GRACE_S)
        elif self.on_signal is not None:
            self.on_signal(signum)

    def _on_wake(self, _mask: int) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._wake_r, 512):
                pass


class Source(Protocol):
    """Where the screen and batch mode get their snapshots: the monitor itself, or a
    viewer attached to one (aitop/viewer.py)."""

    selector: selectors.BaseSelector
    stopping: bool
    redraw_requested: bool
    on_signal: Callable[[int], None] | None
    pricer: Pricer
    latest: Snapshot | None  # the newest snapshot: what the metrics thread reads

    @property
    def starting(self) -> str:
        """What the screen says while `open` works."""
        ...

    def open(self) -> None: ...

    def run(self, interval: float, *consumers: Consumer) -> None: ...

    def stop(self) -> None: ...

    def request_redraw(self) -> None: ...

    def close(self) -> None: ...


def _stop_now(_signum: int, _frame: FrameType | None) -> None:
    raise StopNow


def disarm_watchdog() -> None:
    with contextlib.suppress(ValueError):  # not the main thread: never armed there
        signal.setitimer(signal.ITIMER_REAL, 0)
