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
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from aitop import __version__, alerts
from aitop.aggregate import Aggregator
from aitop.alert_log import AlertLog
from aitop.config import Config
from aitop.env import Env
from aitop.events import Event
from aitop.limit_alerts import LimitAlerts
from aitop.log import log
from aitop.loop import STOP_GRACE_S, STOP_SIGNALS, Consumer, Loop, StopNow, disarm_watchdog
from aitop.pricing import Pricer
from aitop.providers.base import LogStats, Outcome, Provider, Where
from aitop.providers.registry import AGENTS
from aitop.server import Counters, Server
from aitop.snapshot import Ingest, Snapshot, Transcripts, to_json
from aitop.surrogates import printable
from aitop.viewers import Viewers
from aitop.watch import STREAM_VERSION, Control, control_line
from aitop.wire import MAX_PAYLOAD, MalformedFrame, split_frame

if TYPE_CHECKING:  # made only when budgets are set
    from aitop.budget_watch import BudgetWatch

SLICE_S = 0.03  # the longest the loop reads transcripts before serving sockets again
SLICE_BYTES = 1 << 20
BACKFILL_S = 3.0  # at start-up, read this long before the first frame
BACKFILL_WINDOW_S = 900.0  # at start-up, read the transcripts written in the last 15 min
PID_CHECK_S = 2.0
DISCOVER_S = 1.0  # look for transcripts no hook told us about (cheap: see dirwatch)
__all__ = ["STOP_GRACE_S", "STOP_SIGNALS", "Consumer", "Monitor", "Options", "StopNow"]


@dataclass
class Options:
    socket_path: str
    agent_dirs: dict[str, str]  # each agent's directory (registry: its option, its default)
    config: Config
    backfill: bool = True
    discover_s: float = DISCOVER_S  # on its own clock, whatever the refresh interval


class Monitor(Loop):
    """The one monitor of a socket: it owns all state, and serves its snapshots to the
    screen or batch mode in this process and to the viewers on the socket."""

    def __init__(self, options: Options, env: Env) -> None:
        super().__init__()
        self.options = options
        self.env = env
        self._mono0 = env.monotonic()
        self._wall0 = env.wall_clock()
        self.start = self.now()
        self.pricer = Pricer.load(options.config.pricing.models)
        limits = options.config.limits
        self.aggregator = Aggregator(
            self.pricer,
            self.start,
            privacy=options.config.privacy,
            pace_s=limits.pace_minutes * 60,
        )
        self.alert_log = AlertLog()
        self.limit_alerts = LimitAlerts(limits)
        self.providers: dict[str, Provider] = {
            name: agent.make(Where(options.agent_dirs[name], options.socket_path, env.environ))
            for name, agent in AGENTS.items()
            if name in options.agent_dirs
        }
        self.budgets = self._budget_watch() if options.config.budgets.configured() else None
        self.counters = Counters()
        self.server = Server(
            options.socket_path, self._on_frame, clock=env.monotonic, counters=self.counters
        )
        self.viewers = Viewers(self.selector, hello=self._hello, latest=self._latest_line)
        self.server.watch(self.viewers)
        self.interval = 1.0
        self.latest: Snapshot | None = None  # read by the metrics thread: never changed
        self._line: tuple[Snapshot, bytes] | None = None  # the latest one's JSON line
        self._next_pid_check = 0.0
        self._next_discovery = env.monotonic() + options.discover_s
        self._listening = False
        self._closed = False

    @property
    def starting(self) -> str:
        return "aitop: starting, reading the last 15 minutes of transcripts…"

    def now(self) -> float:
        """Wall-clock seconds that never jump: the monotonic clock, anchored once."""
        return self._wall0 + (self.env.monotonic() - self._mono0)

    def _budget_watch(self) -> BudgetWatch:
        from aitop import periods
        from aitop.budget_watch import BudgetWatch

        config = self.options.config
        sources = {
            name: agent.history(self.options.agent_dirs[name], self.env.environ)
            for name, agent in AGENTS.items()
            if agent.history is not None and name in self.options.agent_dirs
        }
        return BudgetWatch(
            config.budgets,
            periods.WEEKDAYS.index(config.week_start),
            periods.zone(None, self.env.environ),
            self.pricer,
            sources,
            self.start,
        )

    # --- lifetime -------------------------------------------------------------------

    def listen(self) -> None:
        """Take the socket (its checks, its lock: one monitor per socket)."""
        if not self._listening:
            _raise_fd_limit()
            self.server.open(self.selector)
            self._listening = True

    def open(self) -> None:
        self.listen()
        self.install_signals()
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
        if self._closed:
            return
        self._closed = True
        disarm_watchdog()
        self.server.close("the monitor stopped")  # its viewers are told
        for provider in self.providers.values():
            provider.close()
        self.close_loop()
        log.info("stopped")

    # --- viewers --------------------------------------------------------------------

    def _hello(self) -> bytes:
        return control_line(
            Control(
                watching=STREAM_VERSION,
                pid=os.getpid(),
                version=__version__,
                interval=self.interval,
            )
        )

    def json_line(self, snap: Snapshot) -> bytes:
        """The snapshot as viewers get it (timelines included, so that a second screen
        shows what this one does): one JSON line, encoded once for every viewer (and for
        `-b --json --timeline`)."""
        if self._line is None or self._line[0] is not snap:
            self._line = (snap, to_json(snap, timelines=True))
        return self._line[1]

    def _latest_line(self) -> bytes | None:
        return None if self.latest is None else self.json_line(self.latest)

    # --- the loop -------------------------------------------------------------------

    def run(self, interval: float, *consumers: Consumer) -> None:
        """Tick every `interval` seconds, and hand each tick's snapshot (and one whenever
        a redraw is asked for) to every consumer, until one of them returns False, `stop`
        is called or a stop signal arrives. The viewers on the socket get each tick's."""
        self.interval = interval
        try:
            self._run(interval, consumers)
        finally:
            disarm_watchdog()

    def _run(self, interval: float, consumers: tuple[Consumer, ...]) -> None:
        next_tick = self.env.monotonic()
        while not self.stopping:
            mono = self.env.monotonic()
            if self.options.backfill and mono >= self._next_discovery:
                self._discover(mono)
            if mono >= next_tick or self.redraw_requested:
                self.redraw_requested = False
                ticked = mono >= next_tick
                if ticked:
                    self._tick()
                    next_tick = max(next_tick + interval, mono + interval * 0.5)
                snap = self.latest = self.snapshot()
                if ticked and len(self.viewers):  # viewers get ticks, not redraws
                    self.viewers.publish(self.json_line(snap))
                if not all([consume(snap) for consume in consumers]):  # each sees it
                    return
                continue
            wake = next_tick
            if self.options.backfill:
                wake = min(wake, self._next_discovery)
            busy = self._pending() or (self.budgets is not None and self.budgets.pending())
            timeout = 0.0 if busy else max(0.0, wake - mono)
            deadline = self.server.next_deadline()
            if deadline is not None:  # wake to close an idle client on time
                timeout = max(0.0, min(timeout, deadline - mono))
            for key, mask in self.selector.select(timeout):
                key.data(mask)
            self.server.expire()
            self._read_transcripts()
            self._count_budgets()

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

    def _count_budgets(self) -> None:
        """A slice of the start-up reading of the budgets' periods, when the live logs
        have nothing left to read: it never holds up a frame or a hook."""
        budgets = self.budgets
        if budgets is None or not budgets.pending() or self._pending():
            return
        deadline = self.env.monotonic() + SLICE_S
        try:
            while budgets.pending() and self.env.monotonic() < deadline:
                budgets.work(self.now())
        except Exception:  # a bug must cost the budgets' history, never the monitor
            self.counters.internal_errors += 1
            log.exception("internal error counting the budgets' history; counting stopped")
            budgets.counting = False

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
        if self.budgets is not None:
            try:
                self.budgets.live(events)
            except Exception:
                self.counters.internal_errors += 1
                log.exception("internal error counting spend for the budgets")

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
                viewers=len(self.viewers),
                viewers_dropped=self.viewers.counters.dropped,
                viewers_refused=self.viewers.counters.refused,
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
        budgets = [] if self.budgets is None else self.budgets.rows(snap.now)
        snap = msgspec.structs.replace(
            snap, diagnostics=diagnostics, monitor_pid=os.getpid(), budgets=budgets
        )
        found = alerts.evaluate(snap, self.options.config.alerts)
        found += self.limit_alerts.update(snap.limits, snap.now)
        found.sort(key=lambda alert: alert.severity != alerts.CRITICAL)
        self.alert_log.update(found, snap.now)
        return msgspec.structs.replace(snap, alerts=found, alert_log=self.alert_log.entries())


def _sum_stats(a: LogStats, b: LogStats) -> LogStats:
    return LogStats(
        **{field: getattr(a, field) + getattr(b, field) for field in LogStats.__struct_fields__}
    )


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
