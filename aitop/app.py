"""The monitor: one loop, one thread, owning all state.

A `selectors` loop over the listening socket, the client sockets, a signal wake-up
pipe and (for the screen) the keyboard, with a timeout to the next tick. Frames are
decoded and applied as they arrive; transcripts are read right after (the files a
hook just named) and polled once a tick (the files that grew on their own), in
slices so that a large first read never holds the loop for more than a few tens of
milliseconds. The clock is monotonic, anchored once to the wall clock: windows do
not jump when the system clock does.
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import signal
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

import msgspec

from aitop import alerts
from aitop.aggregate import Aggregator
from aitop.alert_log import AlertLog
from aitop.config import Config
from aitop.env import Env
from aitop.events import Event
from aitop.log import log
from aitop.pricing import Pricer
from aitop.providers.base import LogStats, Outcome, Provider, Where
from aitop.providers.registry import AGENTS
from aitop.server import Counters, Server
from aitop.snapshot import Ingest, Snapshot, Transcripts
from aitop.surrogates import printable
from aitop.wire import MAX_PAYLOAD, MalformedFrame, split_frame

SLICE_S = 0.03  # the longest the loop reads transcripts before serving sockets again
SLICE_BYTES = 1 << 20
BACKFILL_S = 3.0  # at start-up, read this long before the first frame
BACKFILL_WINDOW_S = 900.0  # at start-up, read the transcripts written in the last 15 min
PID_CHECK_S = 2.0
DISCOVER_S = 1.0  # look for transcripts no hook told us about (cheap: see dirwatch)
STOP_GRACE_S = 1.0  # after a stop signal the loop has this long to end by itself
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


Consumer = Callable[[Snapshot], bool]  # a tick's snapshot; False: stop the monitor


class StopNow(KeyboardInterrupt):
    """Raised by the stop watchdog in whatever the loop was doing: the `finally`s on the
    way out restore the terminal and remove the socket."""


@dataclass
class Options:
    socket_path: str
    agent_dirs: dict[str, str]  # each agent's directory (registry: its option, its default)
    config: Config
    backfill: bool = True
    discover_s: float = DISCOVER_S  # on its own clock, whatever the refresh interval


class Monitor:
    def __init__(self, options: Options, env: Env) -> None:
        self.options = options
        self.env = env
        self._mono0 = env.monotonic()
        self._wall0 = env.wall_clock()
        self.start = self.now()
        self.pricer = Pricer.load(options.config.pricing.models)
        self.aggregator = Aggregator(self.pricer, self.start, privacy=options.config.privacy)
        self.alert_log = AlertLog()
        self.providers: dict[str, Provider] = {
            name: agent.make(Where(options.agent_dirs[name], options.socket_path, env.environ))
            for name, agent in AGENTS.items()
            if name in options.agent_dirs
        }
        self.counters = Counters()
        self.selector = selectors.DefaultSelector()
        self.server = Server(
            options.socket_path, self._on_frame, clock=env.monotonic, counters=self.counters
        )
        self.stopping = False
        self.redraw_requested = False
        self._wake_r = self._wake_w = -1
        self._old_handlers: dict[int, object] = {}
        self._next_pid_check = 0.0
        self._next_discovery = env.monotonic() + options.discover_s
        self.on_signal: Callable[[int], None] | None = None  # the screen hooks SIGWINCH here

    def now(self) -> float:
        """Wall-clock seconds that never jump: the monotonic clock, anchored once."""
        return self._wall0 + (self.env.monotonic() - self._mono0)

    # --- lifetime -------------------------------------------------------------------

    def open(self) -> None:
        _raise_fd_limit()
        self.server.open(self.selector)
        self._install_signals()
        log.info("listening on %s", self.options.socket_path)
        if self.options.backfill:
            for name, provider in self.providers.items():
                found = provider.backfill(self.now(), BACKFILL_WINDOW_S)
                log.info(
                    "%s: %d recent logs; watching for new ones (%s)",
                    name,
                    found,
                    provider.watching(),
                )
            deadline = self.env.monotonic() + BACKFILL_S
            while self._pending() and not self.stopping and self.env.monotonic() < deadline:
                self._read_logs(deadline)

    def close(self) -> None:
        _disarm_watchdog()
        self.server.close()
        for provider in self.providers.values():
            provider.close()
        self._restore_signals()
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self._wake_r)
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wake_r = self._wake_w = -1
        self.selector.close()
        log.info("stopped")

    def _install_signals(self) -> None:
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.selector.register(self._wake_r, selectors.EVENT_READ, self._on_wake)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for signum in (*STOP_SIGNALS, signal.SIGWINCH):
            self._old_handlers[signum] = signal.signal(signum, self._on_signal)
        self._old_handlers[signal.SIGALRM] = signal.signal(signal.SIGALRM, _stop_now)

    def _restore_signals(self) -> None:
        for signum, handler in self._old_handlers.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)  # type: ignore[arg-type]
        self._old_handlers.clear()
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)

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

    # --- the loop -------------------------------------------------------------------

    def stop(self) -> None:
        """End the loop at its next turn (the screen's `q`, a batch's last frame)."""
        self.stopping = True

    def request_redraw(self) -> None:
        """Hand the consumers a snapshot now, without waiting for the next tick (a key, a
        resize): the figures are not advanced, only shown."""
        self.redraw_requested = True

    def run(self, interval: float, *consumers: Consumer) -> None:
        """Tick every `interval` seconds, and hand each tick's snapshot (and one whenever
        a redraw is asked for) to every consumer, until one of them returns False, `stop`
        is called or a stop signal arrives."""
        try:
            self._run(interval, consumers)
        finally:
            _disarm_watchdog()

    def _run(self, interval: float, consumers: tuple[Consumer, ...]) -> None:
        next_tick = self.env.monotonic()
        while not self.stopping:
            mono = self.env.monotonic()
            if self.options.backfill and mono >= self._next_discovery:
                self._discover(mono)
            if mono >= next_tick or self.redraw_requested:
                self.redraw_requested = False
                if mono >= next_tick:
                    self._tick()
                    next_tick = max(next_tick + interval, mono + interval * 0.5)
                snap = self.snapshot()
                if not all([consume(snap) for consume in consumers]):  # each sees it
                    return
                continue
            wake = next_tick
            if self.options.backfill:
                wake = min(wake, self._next_discovery)
            timeout = 0.0 if self._pending() else max(0.0, wake - mono)
            deadline = self.server.next_deadline()
            if deadline is not None:  # wake to close an idle client on time
                timeout = max(0.0, min(timeout, deadline - mono))
            for key, mask in self.selector.select(timeout):
                key.data(mask)
            self.server.expire()
            self._read_transcripts()

    def _pending(self) -> bool:
        return any(provider.pending() for provider in self.providers.values())

    def _read_transcripts(self) -> None:
        self._read_logs(self.env.monotonic() + SLICE_S)

    def _read_logs(self, deadline: float) -> None:
        """Every provider with bytes to read gets its share of each slice, in turn, until
        none has any or the deadline."""
        while self.env.monotonic() < deadline:
            busy = [provider for provider in self.providers.values() if provider.pending()]
            if not busy:
                return
            share = max(1, SLICE_BYTES // len(busy))
            for provider in busy:
                self._apply(provider.work(self.now(), share))

    def _discover(self, mono: float) -> None:
        """Sessions no hook announced, on a clock of its own: with `-d 60` a session is
        still found within seconds, not at the next frame."""
        self._next_discovery = mono + self.options.discover_s
        for name, provider in self.providers.items():
            found = provider.discover(self.now())
            if found:
                log.info("%s: found %d logs no hook announced", name, found)

    def _tick(self) -> None:
        now = self.now()
        mono = self.env.monotonic()
        for provider in self.providers.values():
            provider.poll(now)
        self._read_transcripts()
        if self.server.recover():
            log.warning("%s was deleted: listening there again", self.options.socket_path)
        if mono >= self._next_pid_check:
            self._next_pid_check = mono + PID_CHECK_S
            for key, pid in self.aggregator.live_pids().items():
                if not _alive(pid):
                    self.aggregator.process_gone(key, now)
        self.aggregator.tick(now)
        departed = self.aggregator.take_departures()
        for agent, session_id in departed.archived:
            if agent in self.providers:
                self.providers[agent].park(session_id)
        for agent, session_id in departed.dropped:
            if agent in self.providers:
                self.providers[agent].forget(session_id)

    # --- frames ---------------------------------------------------------------------

    def _on_frame(self, frame: bytes) -> None:
        counters = self.counters
        try:
            envelope, payload = split_frame(frame)
        except MalformedFrame as exc:
            counters.rejected_malformed += 1
            log.debug("malformed frame: %s", exc)
            return
        if len(payload) > MAX_PAYLOAD:
            counters.rejected_oversize += 1
            return
        provider = self.providers.get(envelope.agent)
        if provider is None:
            counters.rejected_malformed += 1
            log.debug("frame for an agent aitop does not know: %r", envelope.agent)
            return
        outcome, events, reason = provider.decode(payload, envelope, self.now())
        if outcome is Outcome.MALFORMED:
            counters.rejected_malformed += 1
            log.debug("malformed frame: %s", reason)
            return
        counters.frames += 1
        if outcome is Outcome.IGNORED:
            counters.ignored_events += 1
            return
        self._apply(events)

    def _apply(self, events: list[Event]) -> None:
        now = self.now()
        for event in events:
            try:
                self.aggregator.apply(event, now)
            except Exception:  # a bug must cost one event, never the monitor
                self.counters.internal_errors += 1
                log.exception("internal error on %r", event)

    # --- reading --------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        c = self.counters
        stats = LogStats()
        for provider in self.providers.values():
            stats = _sum_stats(stats, provider.stats())
        snap = self.aggregator.snapshot(
            self.now(),
            ingest=Ingest(
                frames=c.frames,
                rejected_peer=c.rejected_peer,
                rejected_malformed=c.rejected_malformed,
                rejected_oversize=c.rejected_oversize,
                ignored_events=c.ignored_events,
                rejected_timeout=c.rejected_timeout,
                rejected_overload=c.rejected_overload,
                open_connections=self.server.open_connections,
                internal_errors=c.internal_errors,
            ),
            transcripts=Transcripts(
                files=stats.files,
                requests=stats.requests,
                lines=stats.lines,
                rejected_lines=stats.rejected_lines,
                long_lines=stats.long_lines,
                unsafe_paths=stats.unsafe_paths,
                backlog_bytes=sum(p.backlog() for p in self.providers.values()),
                unreadable=sum(p.unreadable() for p in self.providers.values()),
            ),
            listening=self.server.listening,
            socket=printable(self.options.socket_path),
        )
        diagnostics = [
            note for provider in self.providers.values() for note in provider.diagnostics(c.frames)
        ]
        snap = msgspec.structs.replace(snap, diagnostics=diagnostics)
        found = alerts.evaluate(snap, self.options.config.alerts)
        self.alert_log.update(found, snap.now)
        return msgspec.structs.replace(snap, alerts=found, alert_log=self.alert_log.entries())


def _sum_stats(a: LogStats, b: LogStats) -> LogStats:
    return LogStats(
        **{field: getattr(a, field) + getattr(b, field) for field in LogStats.__struct_fields__}
    )


def _stop_now(_signum: int, _frame: FrameType | None) -> None:
    raise StopNow


def _disarm_watchdog() -> None:
    with contextlib.suppress(ValueError):  # not the main thread: never armed there
        signal.setitimer(signal.ITIMER_REAL, 0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, it is just not ours to signal
    return True


def _raise_fd_limit() -> None:
    """Room for the connection bound plus files: raise the soft limit if it is low."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
