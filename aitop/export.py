"""`--metrics`: the latest snapshot in the Prometheus text and OpenMetrics formats, for
Prometheus (or an OpenTelemetry Collector's Prometheus receiver) to scrape.

prometheus-client writes the exposition and chooses the format from the scraper's
`Accept` header; this module only says what the metrics are. One thread serves HTTP and
only *reads* the latest snapshot, an immutable object the loop replaces each tick: it
never touches the aggregates. Requests are answered one at a time with a deadline, so a
client that stalls costs a scrape a few seconds at most and never a thread each.

Counters count from aitop's start, by each event's own time (`since_start_by`): they
only grow, whatever aitop reads of the past (a resumed session's history jumps the
per-agent rows of the screen, not these). Names follow the agents' own OpenTelemetry
metrics where there are any (Claude Code's `claude_code.token.usage` and
`claude_code.cost.usage`, with the same `type` and `model` labels), so a dashboard for
those carries over. No label names a session unless asked (`--metrics-sessions`): a
label per session is a new series per session, which is what makes Prometheus slow.
prometheus-client is imported only here, and this module only with `--metrics`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from aitop.errors import AitopError, ExitCode
from aitop.snapshot import Snapshot

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

PREFIX = "aitop_"
STATUSES = ("active", "waiting", "idle", "ended")
# Claude Code's `type` label values on claude_code.token.usage, and aitop's fields for them
TOKEN_TYPES = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cacheRead", "cache_read_tokens"),
    ("cacheCreation", "cache_write_tokens"),
)
REJECTED = ("peer", "malformed", "oversize", "timeout", "overload")
REQUEST_TIMEOUT_S = 5.0  # a scrape client that sends nothing for this long is cut off
PATHS = ("/metrics", "/")


# --- the address ---------------------------------------------------------------------


def parse_address(text: str, *, network: bool = False, where: str = "--metrics") -> tuple[str, int]:
    """`PORT`, `HOST:PORT` or `[IPv6]:PORT` → (host, port); a bare port is on loopback.
    An address that is not loopback is refused unless `network` says it is meant: it
    serves what the agents cost to every host that can reach it. `where` names where the
    address was given, for the error."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "127.0.0.1", text
    host = host.removeprefix("[").removesuffix("]")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536 or not host:
        raise AitopError(
            f"{where} {text}: expected PORT or HOST:PORT (a port from 1 to 65535)",
            "for example: aitop --metrics 127.0.0.1:9464",
            ExitCode.USAGE,
        )
    if not network and not _loopback(host):
        raise AitopError(
            f"{where} {text} is not a loopback address: every host that can reach it"
            " could read what your agents cost, and on what",
            "add --metrics-network (metrics_network = true) if that is meant (see README, Teams),"
            f" or use 127.0.0.1:{port_text}",
            ExitCode.USAGE,
        )
    return host, int(port_text)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it could resolve to anything
        return False


# --- the metrics -----------------------------------------------------------------------


def families(snap: Snapshot | None, *, sessions: bool = False) -> list[Metric]:
    """Every metric family of one snapshot (None: none yet, so families without samples).
    Pure: what a scrape shows is a function of the snapshot alone."""
    from prometheus_client.metrics_core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        InfoMetricFamily,
    )

    def counter(name: str, doc: str, labels: Iterable[str] = (), unit: str = "") -> Any:
        return CounterMetricFamily(PREFIX + name, doc, labels=list(labels), unit=unit)

    def gauge(name: str, doc: str, labels: Iterable[str] = (), unit: str = "") -> Any:
        return GaugeMetricFamily(PREFIX + name, doc, labels=list(labels), unit=unit)

    requests = counter("requests", "API requests since aitop started", ("agent", "model"))
    tokens = counter(
        "token_usage",
        "Tokens since aitop started, by type (input: uncached prompt; cacheRead, "
        "cacheCreation: prompt read from / written to the cache; output: reasoning included),"
        " as claude_code.token.usage",
        ("agent", "model", "type"),
        unit="tokens",
    )
    reasoning = counter(
        "reasoning_tokens",
        "Reasoning tokens since aitop started (a part of output, not to be added to it)",
        ("agent", "model"),
    )
    cost = counter(
        "cost_usage",
        "Cost in US dollars since aitop started, at API prices, as claude_code.cost.usage",
        ("agent", "model"),
        unit="USD",
    )
    turns = counter("turns", "Turns the agents finished since aitop started", ("agent",))
    api_errors = counter("api_errors", "Failed API requests since aitop started", ("agent",))
    compactions = counter("compactions", "Conversations compacted since aitop started", ("agent",))
    tool_calls = counter("tool_calls", "Tool calls since aitop started", ("agent", "tool"))
    tool_errors = counter(
        "tool_errors", "Tool calls that failed since aitop started", ("agent", "tool")
    )
    sessions_gauge = gauge("sessions", "Sessions in aitop's table, by status", ("agent", "status"))
    context = gauge(
        "context_fill_ratio",
        "How full the fullest context window of the agent's sessions still running is (0-1)",
        ("agent",),
    )
    limits = gauge(
        "limit_used_ratio",
        "How much of a plan limit's window is used (0-1), as the agent last heard it",
        ("agent", "scope", "window"),
    )
    alerts = gauge("alerts", "Alerts on now, by severity", ("severity",))
    frames = counter("ingest_frames", "Hook frames received (ignored events included)")
    rejected = counter("ingest_rejected", "Connections and frames refused, by reason", ("reason",))
    ignored = counter("ingest_ignored_events", "Hook events received that aitop does not use")
    internal = counter("ingest_internal_errors", "Events a bug in aitop could not count")
    connections = gauge("ingest_open_connections", "Hook connections open now")
    viewers = gauge("viewers", "Viewers attached to the monitor now")
    viewers_dropped = counter("viewers_dropped", "Viewers dropped for falling behind")
    viewers_refused = counter("viewers_refused", "Viewers refused at the bound")
    lines = counter("transcript_lines", "Log lines read")
    log_requests = counter("transcript_requests", "API requests read from logs")
    bad_lines = counter("transcript_rejected_lines", "Log lines that did not decode")
    long_lines = counter("transcript_long_lines", "Log lines too long to read")
    unsafe = counter("transcript_unsafe_paths", "Log paths refused as unsafe")
    files = gauge("transcript_files", "Logs followed now")
    backlog = gauge("transcript_backlog", "Log bytes still to read", unit="bytes")
    unreadable = gauge("transcripts_unreadable", "Logs that could not be read at their last try")
    start = gauge("start_time", "When the monitor started (Unix time)", unit="seconds")
    build = InfoMetricFamily(PREFIX + "build", "aitop's version and its prices' date")
    out: list[Metric] = [
        requests, tokens, reasoning, cost, turns, api_errors, compactions, tool_calls,
        tool_errors, sessions_gauge, context, limits, alerts, frames, rejected, ignored,
        internal, connections, viewers, viewers_dropped, viewers_refused, lines, log_requests,
        bad_lines, long_lines, unsafe, files, backlog, unreadable, start, build,
    ]  # fmt: skip
    if sessions:
        out += _session_families(snap, gauge)
    if snap is None:
        return out

    by = snap.since_start_by
    if by is not None:
        for m in by.models:
            requests.add_metric([m.agent, m.model], m.requests)
            for kind, field in TOKEN_TYPES:
                tokens.add_metric([m.agent, m.model, kind], getattr(m, field))
            reasoning.add_metric([m.agent, m.model], m.reasoning_tokens)
            cost.add_metric([m.agent, m.model], m.cost_usd)
        for a in by.agents:
            turns.add_metric([a.agent], a.turns)
            api_errors.add_metric([a.agent], a.api_errors)
            compactions.add_metric([a.agent], a.compactions)
        for t in by.tools:
            tool_calls.add_metric([t.agent, t.tool], t.calls)
            tool_errors.add_metric([t.agent, t.tool], t.errors)

    agents = sorted({row.agent for row in snap.sessions} | {row.agent for row in snap.agents})
    for agent in agents:
        mine = [row for row in snap.sessions if row.agent == agent]
        for status in STATUSES:
            sessions_gauge.add_metric([agent, status], sum(r.status == status for r in mine))
        fills = [
            r.context_tokens / r.context_limit
            for r in mine
            if r.status != "ended" and r.context_limit > 0
        ]
        if fills:
            context.add_metric([agent], max(fills))
    for agent, scope, window, ratio in _limits(snap):
        limits.add_metric([agent, scope, window], ratio)
    for severity in ("warning", "critical"):
        alerts.add_metric([severity], sum(a.severity == severity for a in snap.alerts))

    ingest = snap.ingest
    frames.add_metric([], ingest.frames)
    for reason in REJECTED:
        rejected.add_metric([reason], getattr(ingest, f"rejected_{reason}"))
    ignored.add_metric([], ingest.ignored_events)
    internal.add_metric([], ingest.internal_errors)
    connections.add_metric([], ingest.open_connections)
    viewers.add_metric([], ingest.viewers)
    viewers_dropped.add_metric([], ingest.viewers_dropped)
    viewers_refused.add_metric([], ingest.viewers_refused)
    logs = snap.transcripts
    if logs is not None:
        lines.add_metric([], logs.lines)
        log_requests.add_metric([], logs.requests)
        bad_lines.add_metric([], logs.rejected_lines)
        long_lines.add_metric([], logs.long_lines)
        unsafe.add_metric([], logs.unsafe_paths)
        files.add_metric([], logs.files)
        backlog.add_metric([], logs.backlog_bytes)
        unreadable.add_metric([], logs.unreadable)
    start.add_metric([], round(snap.now - snap.uptime_s, 3))
    from aitop import __version__

    build.add_metric([], {"version": __version__, "prices": snap.pricing_date})
    return out


def _limits(snap: Snapshot) -> Iterator[tuple[str, str, str, float]]:
    """(agent, scope, window, used ratio) of each plan limit window whose figures are
    current: a window that reset since the agent last said has no known use, so it has
    no sample (a gauge stuck at last week's 97 % would page someone)."""
    for row in snap.limits:
        if not row.stale:
            yield row.agent, row.scope or "", row.window, row.used_pct / 100


def _session_families(snap: Snapshot | None, gauge: Callable[..., Any]) -> list[Metric]:
    """One series per session in the table (only with --metrics-sessions): its whole
    history, so gauges (a session that leaves the table leaves the exposition)."""
    labels = ("agent", "session_id", "project")
    cost = gauge("session_cost", "The session's cost so far, at API prices", labels, "USD")
    tokens = gauge("session_tokens", "The session's tokens so far", (*labels, "type"), "tokens")
    requests = gauge("session_requests", "The session's API requests so far", labels)
    context = gauge("session_context_fill_ratio", "How full its context window is (0-1)", labels)
    for row in snap.sessions if snap is not None else ():
        names = [row.agent, row.session_id, row.project]
        cost.add_metric(names, row.cost_usd)
        for kind, field in TOKEN_TYPES:
            tokens.add_metric([*names, kind], getattr(row, field))
        requests.add_metric(names, row.requests)
        if row.context_limit > 0:
            context.add_metric(names, row.context_tokens / row.context_limit)
    return [cost, tokens, requests, context]


class SnapshotCollector:
    """prometheus-client's Collector: the families of the latest snapshot, at scrape time."""

    def __init__(self, latest: Callable[[], Snapshot | None], *, sessions: bool) -> None:
        self.latest = latest
        self.sessions = sessions

    def collect(self) -> list[Metric]:
        return families(self.latest(), sessions=self.sessions)


# --- the HTTP thread -------------------------------------------------------------------


class _Quiet(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT_S  # a client that stalls is cut off: the next scrape goes on

    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes are not worth a log line each


class MetricsServer:
    """Serves `/metrics` from one thread that reads `latest()`; `close` stops it."""

    def __init__(
        self,
        host: str,
        port: int,
        latest: Callable[[], Snapshot | None],
        *,
        sessions: bool = False,
    ) -> None:
        from prometheus_client import CollectorRegistry, make_wsgi_app

        registry = CollectorRegistry(auto_describe=False)
        registry.register(SnapshotCollector(latest, sessions=sessions))
        metrics = make_wsgi_app(registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO", "/") not in PATHS:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"aitop serves /metrics\n"]
            result: Iterable[bytes] = metrics(environ, start_response)
            return result

        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(WSGIServer):
            address_family = family

        try:
            self.httpd = make_server(host, port, app, server_class=Server, handler_class=_Quiet)
        except OSError as exc:
            raise AitopError(
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}",
                "choose another port with --metrics",
            ) from None
        self.address = f"{host}:{port}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True,
            name="aitop-metrics",
        )  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        if self._thread.is_alive():
            self.httpd.shutdown()  # within a poll interval, or a request's deadline
        with contextlib.suppress(OSError):
            self.httpd.server_close()
