"""`--metrics`: the address rules, the metric families made from a snapshot (exact values,
counters that only grow, no session labels unless asked), the HTTP side (both formats by
the Accept header, /metrics only), and prometheus-client imported only when asked for."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from aitop import events as ev
from aitop.aggregate import Aggregator
from aitop.errors import AitopError
from aitop.export import MetricsServer, families, parse_address
from aitop.pricing import PICO_PER_USD, Pricer
from aitop.snapshot import Ingest, Snapshot, Transcripts

from conftest import aitop_command
from support import isolated_env, private_dir

T0 = 1_795_381_000.0
PRICER = Pricer.load()


# --- the address ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9464", ("127.0.0.1", 9464)),
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("127.3.4.5:1", ("127.3.4.5", 1)),
        ("localhost:65535", ("localhost", 65535)),
        ("[::1]:9464", ("::1", 9464)),
    ],
)
def test_loopback_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["0.0.0.0:9464", "192.0.2.7:9464", "[::]:9464", "example.org:80"])
def test_an_address_open_to_the_network_must_be_asked_for(text: str) -> None:
    with pytest.raises(AitopError) as refused:
        parse_address(text)
    assert "is not a loopback address: every host that can reach it" in refused.value.what
    assert refused.value.todo.startswith("add --metrics-network (metrics_network = true) if")
    host, port = parse_address(text, network=True)
    assert port == int(text.rsplit(":", 1)[1]) and host


@pytest.mark.parametrize("text", ["", "port", "0", "65536", "127.0.0.1:", ":9464", "1.2.3.4:x"])
def test_a_bad_address_is_a_usage_error(text: str) -> None:
    with pytest.raises(AitopError, match="expected PORT or HOST:PORT"):
        parse_address(text, network=True)


# --- the families ---------------------------------------------------------------------------


def _who(agent: str, sid: str, t: float) -> ev.SessionInfo:
    return ev.SessionInfo(agent=agent, session_id=sid, time=t, cwd="/home/u/proj")


def snapshot(extra_before_start: bool = True) -> Snapshot:
    """Two agents, two models, tools, errors; and a request from before the start, read
    from a log, which no counter may count."""
    agg = Aggregator(PRICER, T0)
    now = T0 + 60
    if extra_before_start:
        old = ev.Usage(input_tokens=999_999, output_tokens=999_999)
        agg.apply(ev.Request(_who("claude-code", "a", T0 - 300), "claude-opus-5-5", old), now)
    for i, model in enumerate(["claude-opus-5-5", "claude-opus-5-5", "claude-haiku-5-5"]):
        usage = ev.Usage(input_tokens=100 + i, output_tokens=10 * i, cache_read_tokens=5_000,
                         cache_write_5m_tokens=300, cache_write_1h_tokens=20)  # fmt: skip
        agg.apply(ev.Request(_who("claude-code", "a", T0 + i), model, usage), now)
    agg.apply(
        ev.Request(
            _who("codex", "b", T0 + 5),
            "gpt-6.1-sol",
            ev.Usage(input_tokens=7, output_tokens=3, reasoning_tokens=2),
            vendor="openai",
        ),
        now,
    )
    agg.apply(ev.ToolStarted(_who("claude-code", "a", T0 + 1), "t1", "Bash"), now)
    agg.apply(ev.ToolFinished(_who("claude-code", "a", T0 + 2), "t1", "Bash", ok=False), now)
    agg.apply(ev.ToolStarted(_who("codex", "b", T0 + 1), "t2", "shell"), now)
    agg.apply(ev.ApiError(_who("codex", "b", T0 + 3), 500), now)
    agg.apply(ev.Compacted(_who("claude-code", "a", T0 + 4)), now)
    agg.apply(ev.TurnCompleted(_who("claude-code", "a", T0 + 4)), now)
    ingest = Ingest(
        frames=12, rejected_peer=1, rejected_malformed=2, open_connections=3, viewers=2,
        viewers_dropped=1,
    )  # fmt: skip
    logs = Transcripts(files=4, lines=50, requests=5, backlog_bytes=1234)
    return agg.snapshot(now, ingest=ingest, transcripts=logs)


def exposition(snap: Snapshot | None, *, sessions: bool = False) -> str:
    from prometheus_client import CollectorRegistry, generate_latest

    class Fixed:
        def collect(self) -> list[object]:
            return families(snap, sessions=sessions)  # type: ignore[return-value]

    registry = CollectorRegistry()
    registry.register(Fixed())  # type: ignore[arg-type]
    return generate_latest(registry).decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:  # fmt: skip
    return found[(name, tuple(sorted(labels.items())))]


def test_counters_are_the_since_start_figures_exactly() -> None:
    snap = snapshot()
    by = snap.since_start_by
    assert by is not None
    found = samples(exposition(snap))
    for row in by.models:
        labels = {"agent": row.agent, "model": row.model}
        assert value(found, "aitop_requests_total", **labels) == row.requests
        for kind, field in (("input", "input_tokens"), ("output", "output_tokens"),
                            ("cacheRead", "cache_read_tokens"),
                            ("cacheCreation", "cache_write_tokens")):  # fmt: skip
            assert value(found, "aitop_token_usage_tokens_total", type=kind, **labels) == getattr(
                row, field
            )
        assert value(found, "aitop_cost_usage_USD_total", **labels) == row.cost_usd  # exact
        assert value(found, "aitop_reasoning_tokens_total", **labels) == row.reasoning_tokens
    tokens = sum(v for (name, _), v in found.items() if name == "aitop_token_usage_tokens_total")
    assert tokens == snap.since_start.tokens  # the log's old request is in no counter
    cost = sum(round(v * PICO_PER_USD) for (n, _), v in found.items() if n == "aitop_cost_usage_USD_total")  # fmt: skip
    assert cost == round(snap.since_start.cost_usd * PICO_PER_USD)
    assert value(found, "aitop_tool_calls_total", agent="claude-code", tool="Bash") == 1
    assert value(found, "aitop_tool_errors_total", agent="claude-code", tool="Bash") == 1
    assert value(found, "aitop_tool_calls_total", agent="codex", tool="shell") == 1
    assert value(found, "aitop_api_errors_total", agent="codex") == 1
    assert value(found, "aitop_compactions_total", agent="claude-code") == 1
    assert value(found, "aitop_turns_total", agent="claude-code") == 1


def test_gauges_and_aitops_own_counters() -> None:
    snap = snapshot()
    found = samples(exposition(snap))
    assert value(found, "aitop_sessions", agent="claude-code", status="active") == 1
    assert value(found, "aitop_sessions", agent="codex", status="ended") == 0
    row = next(r for r in snap.sessions if r.agent == "claude-code")
    fill = value(found, "aitop_context_fill_ratio", agent="claude-code")
    assert fill == row.context_tokens / row.context_limit and 0 < fill < 1
    assert value(found, "aitop_ingest_frames_total") == 12
    assert value(found, "aitop_ingest_rejected_total", reason="peer") == 1
    assert value(found, "aitop_ingest_rejected_total", reason="malformed") == 2
    assert value(found, "aitop_ingest_open_connections") == 3
    assert value(found, "aitop_viewers") == 2
    assert value(found, "aitop_viewers_dropped_total") == 1
    assert value(found, "aitop_transcript_backlog_bytes") == 1234
    assert value(found, "aitop_start_time_seconds") == T0
    assert ("aitop_build_info", (("prices", snap.pricing_date), ("version", "0.1.0"))) in found


def test_no_label_names_a_session_unless_asked() -> None:
    snap = snapshot()
    text = exposition(snap)
    assert "session" not in {label for (_, labels) in samples(text) for label, _ in labels}
    assert "aitop_session_" not in text
    with_sessions = samples(exposition(snap, sessions=True))
    row = next(r for r in snap.sessions if r.agent == "codex")
    labels = {"agent": "codex", "session_id": "b", "project": "proj"}
    assert value(with_sessions, "aitop_session_cost_USD", **labels) == row.cost_usd
    assert value(with_sessions, "aitop_session_tokens", type="input", **labels) == 7


def test_before_the_first_snapshot_every_family_is_there_without_samples() -> None:
    text = exposition(None)
    assert "# TYPE aitop_token_usage_tokens_total counter" in text
    assert "# TYPE aitop_limit_used_ratio gauge" in text
    assert not [line for line in text.splitlines() if line and not line.startswith("#")]


def test_plan_limits_are_gauges_of_the_current_windows_only() -> None:
    agg = Aggregator(PRICER, T0)
    windows = (ev.LimitWindow(300, 42.0, T0 + 3600), ev.LimitWindow(10080, 7.5, T0 + 60))
    agg.apply(ev.PlanLimits(_who("codex", "b", T0), windows, plan="plus"), T0)
    other = (ev.LimitWindow(300, 3.0, T0 + 3600),)
    agg.apply(ev.PlanLimits(_who("codex", "b", T0), other, scope="codex_other"), T0)
    found = samples(exposition(agg.snapshot(T0 + 120)))
    assert value(found, "aitop_limit_used_ratio", agent="codex", scope="", window="5h") == 0.42
    other_scope = {"agent": "codex", "scope": "codex_other", "window": "5h"}
    assert value(found, "aitop_limit_used_ratio", **other_scope) == 0.03
    # the weekly window reset a minute ago: its 7.5 % is no longer anyone's use
    limit_windows = {dict(labels)["window"] for name, labels in found
                     if name == "aitop_limit_used_ratio"}  # fmt: skip
    assert limit_windows == {"5h"}


# --- over HTTP ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server() -> Iterator[tuple[MetricsServer, list[Snapshot | None]]]:
    latest: list[Snapshot | None] = [None]
    made = MetricsServer("127.0.0.1", free_port(), lambda: latest[0])
    made.start()
    yield made, latest
    made.close()


def get(url: str, accept: str | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_both_formats_by_the_accept_header_and_only_metrics(
    server: tuple[MetricsServer, list[Snapshot | None]],
) -> None:
    made, latest = server
    latest[0] = snapshot()
    base = f"http://{made.address}"
    status, kind, text = get(base + "/metrics")
    assert status == 200 and kind.startswith("text/plain; version=0.0.4")
    assert samples(text)[("aitop_viewers", ())] == 2
    status, kind, text = get(base + "/metrics", "application/openmetrics-text; version=1.0.0")
    assert status == 200 and kind.startswith("application/openmetrics-text")
    assert text.endswith("# EOF\n")
    names = {family.name for family in openmetrics_families(text)}
    assert {"aitop_token_usage_tokens", "aitop_cost_usage_USD", "aitop_sessions"} <= names
    assert "# UNIT aitop_cost_usage_USD USD" in text
    assert get(base + "/other")[0] == 404
    # the next scrape reads the next snapshot: nothing is cached
    latest[0] = None
    assert "aitop_viewers 2" not in get(base + "/metrics")[2]


def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(AitopError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            MetricsServer("127.0.0.1", port, lambda: None)


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(private_dir(tmp_path / "home"), private_dir(tmp_path / "run") / "s.sock")


def test_a_network_address_without_consent_is_refused_before_anything_starts(
    env: dict[str, str],
) -> None:
    result = subprocess.run(
        [*aitop_command(), "-b", "-n", "1", "--metrics", "0.0.0.0:9464"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "aitop: error: --metrics 0.0.0.0:9464 is not a loopback address: every host that can"
        " reach it could read what your agents cost, and on what; add --metrics-network"
        " (metrics_network = true) if that is meant (see README, Teams), or use"
        " 127.0.0.1:9464\n"
    )
    assert not Path(env["AITOP_SOCKET"]).exists()


def test_prometheus_client_is_imported_only_for_metrics(env: dict[str, str]) -> None:
    probe = (
        "import sys; from aitop.cli import main; code = main(sys.argv[1:]);"
        " print('prometheus_client' in sys.modules, file=sys.stderr); sys.exit(code)"
    )
    port = str(free_port())
    for args, imported in ((["-b", "-n", "1"], "False"), (["-b", "-n", "1", "--metrics", port], "True")):  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-c", probe, *args, "--json", "--no-backfill"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert (result.returncode, result.stderr) == (0, imported + "\n")
        assert json.loads(result.stdout)["attached"] is False


def test_a_bad_address_in_the_config_names_the_file(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('metrics = "0.0.0.0:9464"\n')
    result = subprocess.run(
        [*aitop_command(), "-b", "-n", "1", "--config", str(config)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"aitop: error: {config}: metrics = 0.0.0.0:9464 is not a loopback address"
    )


def test_metrics_from_the_config(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f'metrics = "{port}"\nmetrics_sessions = true\n')
    proc = subprocess.Popen(
        [*aitop_command(), "-b", "--json", "-d", "0.1", "--no-backfill", "--config", str(config)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # it runs, so it listens
        status, _kind, text = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and "aitop_session_cost_USD" in text
        assert samples(text)[("aitop_ingest_frames_total", ())] == 0
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
