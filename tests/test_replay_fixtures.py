"""The whole data path with real processes: every captured Claude Code session replayed
through real `aitop hook` processes into a real `aitop -b --json`.

Transcript lines are appended as the real session wrote them (up to each hook's time),
so tokens are read mid-turn, from partial files, the way they are live. The numbers
must equal what the mock API returned, response by response; the compaction request,
which no transcript records, is the one documented gap, and exactly that.
"""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aitop.events import Usage
from aitop.pricing import PICO_PER_USD, Pricer

from conftest import fixture_sessions, mock_responses
from support import Monitor, isolated_env, private_dir, run_hook

CAPTURED_HOME = "/home/user/.claude"
FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
pytestmark = pytest.mark.slow
HOOKS_SENT = 163  # every hook call of the five captured sessions


class Transcript:
    """One captured transcript, handed out line by line in the order it was written."""

    def __init__(self, source: Path, target: Path) -> None:
        self.target = target
        self.chunks: list[tuple[float, list[str]]] = []  # (time, lines): untimed lines ride along
        pending: list[str] = []
        for line in source.read_text().splitlines():
            stamp = json.loads(line).get("timestamp")
            pending.append(line)
            if stamp:
                self.chunks.append((_epoch(stamp), pending))
                pending = []
        if pending:
            self.chunks.append((self.chunks[-1][0] if self.chunks else 0.0, pending))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(mode=0o600)

    def write_until(self, until: float, restamp: bool) -> list[float]:
        """Append every chunk up to `until`; the times written (now, when restamping)."""
        written = []
        with self.target.open("a") as out:
            while self.chunks and self.chunks[0][0] <= until:
                _, lines = self.chunks.pop(0)
                for line in lines:
                    if restamp:
                        line, stamp = _restamp(line)
                        if stamp is not None and '"usage"' in line and "<synthetic>" not in line:
                            written.append(stamp)
                    out.write(line + "\n")
        return written


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _restamp(line: str) -> tuple[str, float | None]:
    data = json.loads(line)
    if "timestamp" not in data:
        return line, None
    now = datetime.now(UTC)
    data["timestamp"] = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps(data), now.timestamp()


def _mock_expectations(session: Path) -> dict[str, dict[str, object]]:
    """Per session id: every distinct response the mock returned, and the compaction
    request's share of them."""
    out: dict[str, dict[str, object]] = {}
    for response in mock_responses(session / "mock-requests.jsonl"):
        entry = out.setdefault(response.session_id, {"all": [], "compaction": []})
        entry["all"].append((response.model, response.usage))  # type: ignore[union-attr]
        if response.compaction:
            entry["compaction"].append((response.model, response.usage))  # type: ignore[union-attr]
    return out


def _totals(usages: list[tuple[str, Usage]]) -> dict[str, int]:
    return {
        "requests": len(usages),
        "input_tokens": sum(u.input_tokens for _, u in usages),
        "output_tokens": sum(u.output_tokens for _, u in usages),
        "cache_read_tokens": sum(u.cache_read_tokens for _, u in usages),
        "cache_write_tokens": sum(u.cache_write_tokens for _, u in usages),
    }


def _last_cost_state(session: Path, sid: str) -> float | None:
    total = None
    for path in (session / "claude-projects").rglob(f"{sid}.jsonl"):
        for line in path.read_text().splitlines():
            data = json.loads(line)
            if data.get("type") == "cost-state":
                total = data["totalCostUSD"]
    return total


def _replay(sessions: list[Path], home: Path, env: dict[str, str], *, restamp: bool) -> list[float]:
    """Send every session's hooks, in order, through real `aitop hook` processes."""
    claude = home / ".claude"
    written: list[float] = []
    for session in sessions:
        transcripts = [
            Transcript(path, claude / "projects" / path.relative_to(session / "claude-projects"))
            for path in sorted((session / "claude-projects").rglob("*.jsonl"))
        ]
        hooks = [json.loads(line) for line in (session / "hooks.jsonl").read_text().splitlines()]
        for hook in hooks:
            for transcript in transcripts:
                written += transcript.write_until(hook["ts"], restamp)
            payload = json.dumps(hook["payload"]).replace(CAPTURED_HOME, str(claude)).encode()
            result = run_hook(payload, env | {"CLAUDE_PID": str(os.getpid())})
            assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
        for transcript in transcripts:
            written += transcript.write_until(float("inf"), restamp)
    return written


def _start(tmp_path: Path) -> tuple[Path, dict[str, str], Monitor]:
    home = private_dir(tmp_path / "home")
    socket = private_dir(tmp_path / "run") / "aitop.sock"
    env = isolated_env(home, socket)
    monitor = Monitor(env, "--no-backfill")
    monitor.wait_listening()
    return home, env, monitor


def test_every_session_matches_the_api_responses(tmp_path: Path) -> None:
    sessions = fixture_sessions()
    expectations: dict[str, dict[str, object]] = {}
    for session in sessions:
        for sid, entry in _mock_expectations(session).items():
            expectations[sid] = entry | {"dir": session}
    home, env, monitor = _start(tmp_path)
    with monitor:
        _replay(sessions, home, env, restamp=False)

        def settled(snap: dict) -> bool:
            if snap["ingest"]["frames"] < HOOKS_SENT:
                return False  # a snapshot from before the last hooks arrived
            rows = {row["session_id"]: row for row in snap["sessions"]}
            return all(
                sid in rows
                and rows[sid]["requests"] == _totals(e["all"])["requests"] - len(e["compaction"])  # type: ignore[arg-type]
                for sid, e in expectations.items()
            )

        snap = monitor.wait_for(settled)
        assert monitor.stop() == 0
    assert not Path(env["AITOP_SOCKET"]).exists()

    pricer = Pricer.load()
    rows = {row["session_id"]: row for row in snap["sessions"]}
    assert len(expectations) == 8  # and one more whose only request failed:
    failed = rows["f95aa49c-91a5-4cb2-8197-ef0769a95ed9"]
    assert (failed["requests"], failed["api_errors"], failed["cost_usd"]) == (0, 1, 0)
    for sid, entry in expectations.items():
        everything = _totals(entry["all"])  # type: ignore[arg-type]
        gap = _totals(entry["compaction"])  # type: ignore[arg-type]
        row = rows[sid]
        got = {key: row[key] for key in everything}
        assert got == {key: everything[key] - gap[key] for key in everything}, sid
        # money: aitop's figure plus the unrecorded compaction is Claude Code's own total
        compaction_cost = (
            sum(
                pricer.cost_pico(model, usage, 0)
                for model, usage in entry["compaction"]  # type: ignore[union-attr]
            )
            / PICO_PER_USD
        )
        claude_total = _last_cost_state(entry["dir"], sid)  # type: ignore[arg-type]
        if claude_total is not None:
            assert row["cost_usd"] + compaction_cost == pytest.approx(claude_total, abs=1e-9), sid
            assert row["agent_cost_usd"] == claude_total

    f1 = rows["11111111-2222-4333-8444-555555555555"]
    assert (f1["tool_calls"], f1["tool_errors"], f1["subagents"], f1["compactions"]) == (6, 1, 1, 1)
    assert f1["status"] == "ended" and f1["turns"] == 2
    assert rows["4d74c436-2c14-4ed1-8950-f000d283e1cf"]["subagents"] == 1
    assert rows["a617c4c0-2259-4c25-b219-c3c594cf07fc"]["api_errors"] == 1
    assert rows["d8964547-92a4-495d-9aa3-ff1babb4c9f0"]["tool_errors"] == 1  # Write denied
    ingest = snap["ingest"]
    assert ingest["frames"] == HOOKS_SENT
    assert (
        ingest["rejected_malformed"] == ingest["rejected_oversize"] == ingest["rejected_peer"] == 0
    )
    assert snap["transcripts"]["unsafe_paths"] == 0


def test_windows_and_since_start_with_timestamps_of_now(tmp_path: Path) -> None:
    sessions = fixture_sessions()
    home, env, monitor = _start(tmp_path)
    with monitor:
        written = _replay(sessions, home, env, restamp=True)
        expected = {"requests": 0, **{f: 0 for f in FIELDS}}
        for session in sessions:
            for entry in _mock_expectations(session).values():
                everything = _totals(entry["all"])  # type: ignore[arg-type]
                gap = _totals(entry["compaction"])  # type: ignore[arg-type]
                for key in expected:
                    expected[key] += everything[key] - gap[key]

        def settled(snap: dict) -> bool:
            return (
                snap["ingest"]["frames"] >= HOOKS_SENT
                and snap["since_start"]["requests"] == expected["requests"]
            )

        snap = monitor.wait_for(settled)
        monitor.stop(signal.SIGINT)
    assert len(written) > 0
    for name in ("since_start", "15m", "5m"):
        window = snap["since_start"] if name == "since_start" else snap["windows"][name]
        assert {key: window[key] for key in expected} == expected, name
    assert sum(r["cost_usd"] for r in snap["sessions"]) == pytest.approx(
        snap["since_start"]["cost_usd"]
    )
    # the last minute: exact unless a request sits right on its edge
    edge = snap["now"] - 60
    if all(abs(t - edge) > 2 for t in written):
        inside = sum(1 for t in written if t > edge)
        # each response is several lines: count responses, via the requests the window holds
        if inside == len(written):
            assert snap["windows"]["1m"]["requests"] == expected["requests"]
        else:
            assert snap["windows"]["1m"]["requests"] < expected["requests"]
    assert snap["windows"]["1m"]["tool_calls"] <= snap["windows"]["5m"]["tool_calls"]
    assert snap["since_start"]["turns"] == sum(
        1 for s in sessions for line in (s / "hooks.jsonl").read_text().splitlines()
        if json.loads(line)["payload"]["hook_event_name"] == "Stop"
    )  # fmt: skip
