"""Plan limits from the real Codex CLI: the mock sends `x-codex-primary-*` /
`x-codex-secondary-*` rate-limit headers with every response (used 7 % + 1 % per response
of the 300-minute window, 2 % + 0.2 % of the 10080-minute one, resetting 4h20m34s and
5d1h12m1s after the epoch in its state file), Codex writes them into its rollout's
`token_count` rows, and a real `aitop -b --json` reading that CODEX_HOME has them in
`limits`, agent `codex`: the latest figures of each window."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .codex_driver import CodexRig
from support import Monitor, isolated_env, private_dir

pytestmark = [pytest.mark.real_codex, pytest.mark.slow]

MakeCodexRig = Callable[..., CodexRig]


def codex_limits(snap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["window"]: row for row in snap["limits"] if row["agent"] == "codex"}


def last_rate_limits(rollout: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in rollout.read_text().splitlines()]
    counts = [r for r in rows if r["type"] == "event_msg" and r["payload"]["type"] == "token_count"]
    return dict(counts[-1]["payload"]["rate_limits"])


def mock_figures(rig: CodexRig) -> tuple[float, float, float, float]:
    """What the mock's last response said (mock_openai.rate_limit_headers): its state file
    is written before the headers of a response are made, so count its responses."""
    responses = sum(1 for r in rig.requests() if r["path"] == "/v1/responses")
    epoch = json.loads((rig.sandbox.root / "mock-state.json").read_text())["epoch"]
    return (
        round(7.0 + responses, 1),
        round(2.0 + 0.2 * responses, 1),
        epoch + 4 * 3600 + 1234,
        epoch + 5 * 86_400 + 4321,
    )


def test_codex_runs_give_the_limits_of_agent_codex(
    make_codex_rig: MakeCodexRig, tmp_path: Path
) -> None:
    rig = make_codex_rig()
    home = private_dir(tmp_path / "aitop-home")
    env = isolated_env(
        home, private_dir(tmp_path / "run") / "aitop.sock", CODEX_HOME=str(rig.sandbox.codex_home)
    )
    with Monitor(env) as monitor:
        monitor.wait_listening()
        seen: list[float] = []
        for prompt in ("Hello [shell:echo hi]", "And again"):
            run = rig.exec(prompt)
            primary, secondary, primary_reset, secondary_reset = mock_figures(rig)
            snap = monitor.wait_for(
                lambda s, p=primary: codex_limits(s).get("5h", {}).get("used_pct") == p, 60
            )
            five, seven = codex_limits(snap)["5h"], codex_limits(snap)["7d"]
            # the mock's own figures: the last it sent
            assert (five["used_pct"], seven["used_pct"]) == (primary, secondary)
            assert (five["resets_at_ts"], seven["resets_at_ts"]) == (primary_reset, secondary_reset)
            assert (five["window_minutes"], seven["window_minutes"]) == (300, 10_080)
            assert not five["stale"] and not seven["stale"] and five["scope"] is None
            # ...which are those of the rollout's last token_count row
            assert run.session_id is not None
            rollout = rig.sandbox.rollout(run.session_id)
            assert rollout is not None
            logged = last_rate_limits(rollout)
            assert five["used_pct"] == logged["primary"]["used_percent"]
            assert seven["resets_at_ts"] == logged["secondary"]["resets_at"]
            assert five["plan"] == logged["plan_type"]  # null: the mock sends no plan
            seen.append(five["used_pct"])
        assert seen[1] > seen[0]  # the second run's figures replaced the first's
        assert snap["ingest"]["rejected_malformed"] == 0
