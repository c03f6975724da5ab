"""The Grafana dashboard in the repository: valid JSON that Grafana can import, every
query's metric one that `aitop --metrics` exposes, and every query valid PromQL (checked
by promtool, where Debian's prometheus package is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from test_export import exposition, snapshot

DASHBOARD = ROOT / "grafana" / "aitop-dashboard.json"
# what Grafana puts in place of its variables before the query reaches Prometheus
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__range": "6h",
    "$instance": ".*",
    "$agent": ".*",
    "$model": ".*",
}


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def queries() -> list[str]:
    found = [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]
    found += [
        v["query"]["query"] for v in dashboard()["templating"]["list"] if v["type"] == "query"
    ]
    return found


def promql(query: str) -> str:
    """A dashboard query as Prometheus receives it (label_values() is Grafana's own)."""
    for name, value in GRAFANA_VARIABLES.items():
        query = query.replace(name, value)
    found = re.fullmatch(r"label_values\((.*), \w+\)", query)
    return found.group(1) if found else query


def test_the_dashboard_is_an_importable_grafana_dashboard() -> None:
    data = dashboard()
    assert data["uid"] == "aitop-agents" and data["title"]
    assert data["__inputs"][0]["pluginId"] == "prometheus"
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids))
    for panel in data["panels"]:
        assert panel["title"] and set(panel["gridPos"]) == {"x", "y", "w", "h"}
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    titles = " ".join(p["title"] for p in data["panels"]).lower()
    for subject in ("spend rate", "tokens", "cache hit", "tool error", "limits", "model"):
        assert subject in titles, subject


def test_every_querys_metric_is_in_the_exposition() -> None:
    exposed = set(re.findall(r"^# TYPE (\w+) ", exposition(snapshot()), re.M))
    used = {name for query in queries() for name in re.findall(r"\baitop_\w+", query)}
    assert used, "no queries found"
    assert used <= exposed, f"not exposed: {sorted(used - exposed)}"
    # spend, tokens, cache, tools, limits: each from the metric made for it
    for name in ("aitop_cost_usage_USD_total", "aitop_token_usage_tokens_total",
                 "aitop_tool_errors_total", "aitop_limit_used_ratio", "aitop_requests_total"):  # fmt: skip
        assert name in used


@pytest.mark.skipif(not shutil.which("promtool"), reason="needs promtool (Debian's prometheus)")
def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, query in enumerate(queries()):
        lines += [
            f"      - record: dashboard:query{i}",
            f"        expr: {json.dumps(promql(query))}",
        ]
    rules.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        ["promtool", "check", "rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
