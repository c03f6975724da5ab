"""A real Prometheus (Debian's `prometheus` package) scrapes `aitop --metrics` on loopback
while a captured Claude Code session is replayed into aitop through real hooks, and a
PromQL query through Prometheus's HTTP API returns the session's exact token total (the
mock API's own figures) and cost; `promtool check metrics` passes on the exposition.
.ci/run installs the package when it can; without it these tests skip and say so."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aitop.pricing import PICO_PER_USD

from conftest import SESSIONS
from support import Monitor, isolated_env, private_dir
from test_replay_fixtures import FIELDS, _mock_expectations, _replay, _totals

pytestmark = pytest.mark.slow
F1 = SESSIONS / "F1-print-tools-subagent"
F1_ID = "11111111-2222-4333-8444-555555555555"
NO_PROMETHEUS = "needs Debian's prometheus package (prometheus, promtool); .ci/run installs it"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        text: str = response.read().decode()
        return text


def wait(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as exc:  # not up yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class Prometheus:
    """A real Prometheus on loopback, scraping one target every second."""

    def __init__(self, base: Path, target: str) -> None:
        self.port = free_port()
        config = base / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: aitop\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )
        check = subprocess.run(
            ["promtool", "check", "config", str(config)], capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
        self.log = (base / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={base / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait(lambda: self._alive() and "Ready" in fetch(self.url("/-/ready")), "Prometheus")

    def _alive(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"prometheus exited: {Path(self.log.name).read_text()[-2000:]}")
        return True

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def query(self, promql: str) -> list[dict[str, Any]]:
        self._alive()
        answer = json.loads(fetch(self.url("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))))  # fmt: skip
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def place(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        pytest.skip(NO_PROMETHEUS)
    home = private_dir(tmp_path / "home")
    env = isolated_env(home, private_dir(tmp_path / "run") / "aitop.sock")
    yield home, env


def test_prometheus_scrapes_the_sessions_exact_tokens_and_cost(
    place: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    home, env = place
    port = free_port()
    with Monitor(env, "--no-backfill", "--metrics", f"127.0.0.1:{port}") as monitor:
        monitor.wait_listening()
        prometheus = Prometheus(private_dir(tmp_path / "prom"), f"127.0.0.1:{port}")
        try:
            wait(lambda: prometheus.query('up{job="aitop"} == 1'), "the target to be up")
            # the session runs: its transcript written as it was, restamped to now (after
            # aitop started: the counters count from the start), its hooks sent as they came
            _replay([F1], home, env, restamp=True)
            (entry,) = _mock_expectations(F1).values()
            everything, gap = _totals(entry["all"]), _totals(entry["compaction"])  # type: ignore[arg-type]
            tokens = sum(everything[f] - gap[f] for f in FIELDS)  # what the API returned
            snap = monitor.wait_for(
                lambda s: (
                    any(r["session_id"] == F1_ID and r["requests"] == 8 for r in s["sessions"])
                    and s["since_start"]["requests"] == 8
                )
            )
            row = next(r for r in snap["sessions"] if r["session_id"] == F1_ID)
            assert sum(row[f] for f in FIELDS) == tokens
            cost_pico = round(row["cost_usd"] * PICO_PER_USD)

            def total_tokens() -> float | None:
                found = prometheus.query('sum(aitop_token_usage_tokens_total{agent="claude-code"})')
                value = float(found[0]["value"][1]) if found else None
                return value if value == tokens else None

            assert wait(total_tokens, f"Prometheus to have {tokens} tokens") == tokens
            series = prometheus.query("aitop_cost_usage_USD_total")
            # each series is exact (pico-dollars / 10^12, as a float): so is their sum
            assert sum(round(float(s["value"][1]) * PICO_PER_USD) for s in series) == cost_pico
            assert {s["metric"]["model"] for s in series} == {m for m, _ in entry["all"]}  # type: ignore[union-attr]
            (summed,) = prometheus.query("sum(aitop_cost_usage_USD_total)")
            assert float(summed["value"][1]) == pytest.approx(row["cost_usd"], rel=1e-12)
            by_type = {
                s["metric"]["type"]: float(s["value"][1])
                for s in prometheus.query("sum by (type) (aitop_token_usage_tokens_total)")
            }
            assert by_type == {
                "input": row["input_tokens"], "output": row["output_tokens"],
                "cacheRead": row["cache_read_tokens"], "cacheCreation": row["cache_write_tokens"],
            }  # fmt: skip
            (calls,) = prometheus.query("sum(aitop_tool_calls_total)")
            assert float(calls["value"][1]) == row["tool_calls"] == 6
        finally:
            prometheus.close()
        # promtool's own lint of the exposition, in both the plain and the per-session form
        text = fetch(f"http://127.0.0.1:{port}/metrics")
        lint = subprocess.run(
            ["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert (lint.returncode, lint.stdout, lint.stderr) == (0, "", ""), lint
        assert monitor.stop() == 0


def test_promtool_passes_the_per_session_exposition_too(place: tuple[Path, dict[str, str]]) -> None:
    home, env = place
    port = free_port()
    args = ("--no-backfill", "--metrics", str(port), "--metrics-sessions")
    with Monitor(env, *args) as monitor:
        monitor.wait_listening()
        _replay([F1], home, env, restamp=True)
        monitor.wait_for(lambda s: s["since_start"]["requests"] == 8)
        text = fetch(f"http://127.0.0.1:{port}/metrics")
        assert (
            f'aitop_session_requests{{agent="claude-code",project="project",session_id="{F1_ID}"}} 8.0'
            in text
        )
        lint = subprocess.run(
            ["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert (lint.returncode, lint.stdout, lint.stderr) == (0, "", ""), lint
        assert monitor.stop() == 0
