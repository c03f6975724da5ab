"""`aitop report` on the real captures of the agents: each session's report total is its
live row's to the token (the same readers, dedup and prices); the JSON document is the
README's; the CSV opens cleanly; the table has a totals row, `≈`, and says how far back
each agent's logs go; bad input is one clear line."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aitop.aggregate import COST, FIELDS, Aggregator
from aitop.cli import main
from aitop.env import Env
from aitop.pricing import PICO_PER_USD, Pricer
from aitop.providers.claude_code.provider import ClaudeCode
from aitop.providers.codex.provider import Codex
from aitop.providers.opencode.provider import OpenCode

from conftest import ROOT, SESSIONS, aitop_command
from opencode_support import merge_captures

CODEX_SESSIONS = ROOT / "tests" / "fixtures" / "codex" / "sessions"
NOW = 1_900_000_000.0  # after every capture
COUNTED = ("requests", "input_tokens", "output_tokens", "cache_read_tokens",
           "cache_write_tokens", "reasoning_tokens")  # fmt: skip


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every captured session of the agents in one home (OpenCode's in one store)."""
    home = tmp_path_factory.mktemp("home")
    projects = home / ".claude" / "projects"
    for session in sorted(SESSIONS.iterdir()):
        shutil.copytree(session / "claude-projects", projects, dirs_exist_ok=True)
    for session in sorted(CODEX_SESSIONS.iterdir()):
        sessions = session / "codex-home" / "sessions"
        if sessions.is_dir():
            shutil.copytree(sessions, home / ".codex" / "sessions", dirs_exist_ok=True)
    (home / ".claude" / "settings.json").write_text('{"cleanupPeriodDays": 90}')
    merge_captures(home / ".local" / "share" / "opencode" / "opencode.db")
    return home


def run(home: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    environ = {"HOME": str(home), "TZ": "UTC", "XDG_CONFIG_HOME": str(home / "config")}
    env = Env(stdout=out, stderr=err, environ=environ, wall_clock=lambda: NOW)
    code = main(["report", *argv], env)
    return code, out.getvalue(), err.getvalue()


def report_json(home: Path, *argv: str) -> dict[str, Any]:
    code, out, err = run(home, *argv, "--json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def test_each_sessions_report_total_is_its_live_row_to_the_token(home: Path) -> None:
    """The live monitor's first-sight read of every log, through its providers and its
    aggregator, against `aitop report session`: per session, equal."""
    aggregator = Aggregator(Pricer.load(), NOW)
    providers = [
        ClaudeCode(str(home / ".claude" / "projects")),
        Codex(str(home / ".codex")),
        OpenCode(str(home / ".local" / "share" / "opencode"), {}),
    ]
    for provider in providers:
        provider.backfill(NOW, NOW)  # every log, however old
        while provider.pending():
            aggregator.apply_all(provider.work(NOW, 1 << 20), NOW)
        provider.close()
    live = {
        key: state.totals
        for key, state in {**aggregator.archive, **aggregator.sessions}.items()
        if state.totals[FIELDS.index("requests")]
    }
    rows = report_json(home, "session")["rows"]
    reported = {(row["agent"], row["session_id"]): row for row in rows}
    assert set(reported) == set(live)
    assert {agent for agent, _ in live} == {"claude-code", "codex", "opencode"}
    for key, totals in live.items():
        row = reported[key]
        assert [row[f] for f in COUNTED] == [totals[FIELDS.index(f)] for f in COUNTED], key
        assert row["cost_usd"] == totals[COST] / PICO_PER_USD, key


def test_the_json_document_is_the_readmes(home: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    schema = readme[readme.index("### The JSON document") :]
    schema = schema[: schema.index("\n## ")]
    for kind in ("daily", "weekly", "monthly", "session", "project", "model", "agent", "blocks"):
        document = report_json(home, kind, "--breakdown")
        assert set(document) == {"report", "time_zone", "week_start", "since", "until",
                                 "agents", "rows", "totals", "logs", "reading"}  # fmt: skip
        assert document["report"] == kind and document["rows"]
        keys = set(document["totals"])
        for row in document["rows"]:
            keys |= set(row)
            for part in row["breakdown"]:
                keys |= set(part)
        for log in document["logs"]:
            keys |= set(log)
        keys |= set(document["reading"])
        missing = {key for key in keys if not re.search(rf'"{key}"', schema)}
        assert not missing, f"{kind}: the README's schema does not name {sorted(missing)}"
    assert document["totals"]["total_tokens"] == sum(
        document["totals"][f]
        for f in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    )


@pytest.mark.parametrize("kind", ["daily", "session", "project", "agent", "blocks"])
def test_breakdown_parts_add_up_to_each_row_and_to_the_models_report(home: Path, kind: str) -> None:
    """--breakdown on the real captures: each row's parts per model add up to the row,
    and each model's parts over all rows are the `model` report's row for it."""
    rows = report_json(home, kind, "--breakdown")["rows"]
    per_model: dict[str, list[int]] = {}
    for row in rows:
        parts = row["breakdown"]
        costliest_first = sorted(parts, key=lambda p: (-p["cost_usd"], p["model"]))
        assert parts == costliest_first
        assert sorted(part["model"] for part in parts) == row["models"]
        for field in (*COUNTED, "total_tokens"):
            assert sum(part[field] for part in parts) == row[field], (kind, field)
        assert sum(part["cost_usd"] for part in parts) == pytest.approx(row["cost_usd"])
        assert row["cost_estimated"] == any(part["cost_estimated"] for part in parts)
        for part in parts:
            sums = per_model.setdefault(part["model"], [0] * len(COUNTED))
            for i, field in enumerate(COUNTED):
                sums[i] += part[field]
    models = {row["model"]: row for row in report_json(home, "model")["rows"]}
    assert per_model == {m: [row[f] for f in COUNTED] for m, row in models.items()}


def test_breakdown_csv_costs_add_up_to_the_rows_to_the_pico_dollar(home: Path) -> None:
    code, plain_out, _ = run(home, "session", "--csv")
    assert code == 0
    code, broken_out, _ = run(home, "session", "--csv", "--breakdown")
    assert code == 0
    rows = {(r["agent"], r["session_id"]): r for r in csv.DictReader(io.StringIO(plain_out))}
    added: dict[tuple[str, str], list[Decimal]] = {}
    for part in csv.DictReader(io.StringIO(broken_out)):
        sums = added.setdefault((part["agent"], part["session_id"]), [Decimal(0)] * 2)
        sums[0] += int(part["requests"])
        sums[1] += Decimal(part["cost_usd"])
        assert part["model"] in rows[part["agent"], part["session_id"]]["models"].split()
    assert added == {
        key: [Decimal(row["requests"]), Decimal(row["cost_usd"])] for key, row in rows.items()
    }


def test_every_report_has_the_same_totals(home: Path) -> None:
    totals = [report_json(home, kind)["totals"] for kind in
              ("daily", "weekly", "monthly", "session", "project", "model", "agent", "blocks")]  # fmt: skip
    assert all(t == totals[0] for t in totals)
    rows = report_json(home, "agent")["rows"]
    assert sum(row["requests"] for row in rows) == totals[0]["requests"]


def test_the_csv_opens_cleanly(home: Path) -> None:
    for argv in (["daily"], ["session"], ["model", "--breakdown"], ["blocks"]):
        code, out, _ = run(home, *argv, "--csv")
        assert code == 0
        rows = list(csv.reader(io.StringIO(out)))
        head, body = rows[0], rows[1:]
        assert body and all(len(row) == len(head) for row in body)
        for row in csv.DictReader(io.StringIO(out)):
            assert int(row["requests"]) >= 0 and int(row["total_tokens"]) >= 0
            assert float(row["cost_usd"]) >= 0 and row["cost_estimated"] in ("true", "false")
        if "--breakdown" in argv:
            assert "model" in head
    code, out, _ = run(home, "daily", "--csv")
    document = report_json(home, "daily")
    assert (
        sum(int(row["requests"]) for row in csv.DictReader(io.StringIO(out)))
        == (document["totals"]["requests"])
    )


def test_the_table_has_totals_estimates_and_how_far_back(home: Path) -> None:
    code, out, _ = run(home, "model")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("aitop report model: every day on record (UTC)")
    total = next(line for line in lines if line.startswith("total "))
    document = report_json(home, "model")
    assert f"{document['totals']['requests']:,}" in total
    estimated = [row["model"] for row in document["rows"] if row["cost_estimated"]]
    assert estimated  # the Codex captures' model is not in the table
    assert any(line.startswith(estimated[0]) and "≈$" in line for line in lines)
    assert "Claude Code deletes transcripts older than its cleanupPeriodDays setting" in out
    assert "(90 in its settings.json)" in out
    assert re.search(r"Codex: \d+ log files in ~/\.codex, the oldest last written on \d{4}-", out)
    assert re.search(r"OpenCode: 1 log file in ~/\.local/share/opencode, the oldest last", out)
    assert "OpenCode keeps every session in its store until it is deleted in OpenCode" in out


def test_since_until_and_agent_narrow_the_report(home: Path) -> None:
    every = report_json(home, "daily")
    days = [row["date"] for row in every["rows"]]
    first = report_json(home, "daily", "--since", days[-1], "--until", days[-1])
    assert [row["date"] for row in first["rows"]] == [days[-1]]
    assert first["rows"][0] == every["rows"][-1]
    codex = report_json(home, "agent", "--agent", "codex")
    assert [row["agent"] for row in codex["rows"]] == ["codex"]
    assert codex["agents"] == ["codex"] and [log["agent"] for log in codex["logs"]] == ["codex"]


def test_the_zone_moves_requests_between_days(home: Path) -> None:
    utc = report_json(home, "daily")
    tokyo = report_json(home, "daily", "--tz", "Asia/Tokyo")
    assert tokyo["time_zone"] == "Asia/Tokyo"
    assert tokyo["totals"] == utc["totals"]
    assert [r["date"] for r in tokyo["rows"]] != [r["date"] for r in utc["rows"]]


def test_workers_do_not_change_a_figure(home: Path) -> None:
    one = report_json(home, "session", "--workers", "1")
    two = report_json(home, "session", "--workers", "2")
    assert one["rows"] == two["rows"]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--tz", "Mars/Olympus"], "--tz Mars/Olympus: no such time zone; give an IANA name"),
        (["--since", "2026-02-30"], "--since: '2026-02-30' is not a date; give it as YYYY-MM-DD"),
        (["--since", "2026-11-23", "--until", "2026-11-22"],
         "--since 2026-11-23 is after --until 2026-11-22; give the earlier day to --since"),
        (["--json", "--csv"], "argument --csv: not allowed with argument --json"),
        (["--agent", "gemini-nope"], "argument --agent: invalid choice: 'gemini-nope'"),
        (["weekly", "--week-start", "someday"], "argument --week-start: invalid choice"),
        (["fortnightly"], "argument PERIOD: invalid choice: 'fortnightly'"),
        (["--workers", "0"], "argument --workers: expected 1 to 256, got 0"),
    ],
)  # fmt: skip
def test_bad_arguments_are_one_clear_line(home: Path, argv: list[str], said: str) -> None:
    code, out, err = run(home, *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"aitop: error: {said}") and err.count("\n") == 1


def test_no_logs_at_all_is_an_empty_report_that_says_so(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "daily")
    assert code == 0
    assert "(nothing spent in these days)" in out
    assert "Claude Code: no logs in ~/.claude" in out and "Codex: no logs in ~/.codex" in out
    assert "OpenCode: no logs in ~/.local/share/opencode" in out
    document = report_json(tmp_path, "daily")
    assert document["rows"] == [] and document["totals"]["requests"] == 0


def test_options_before_the_command_work_too(home: Path) -> None:
    """`aitop --claude-dir D report` goes through the full parser, `aitop report` through
    its own: the same options, the same figures."""
    out, err = io.StringIO(), io.StringIO()
    environ = {"HOME": "/nonexistent", "TZ": "UTC"}
    env = Env(stdout=out, stderr=err, environ=environ, wall_clock=lambda: NOW)
    argv = ["--claude-dir", str(home / ".claude"), "--codex-home", str(home / ".codex"),
            "--opencode-data", str(home / ".local" / "share" / "opencode")]  # fmt: skip
    assert main([*argv, "report", "--json"], env) == 0, err.getvalue()
    before = json.loads(out.getvalue())
    after = report_json(home)
    assert before["rows"] == after["rows"] and before["totals"] == after["totals"]
    from aitop.cli import _report_parser, build_parser

    alone = _report_parser().format_help()
    assert alone.startswith("usage: aitop report [-h]")
    full = build_parser()._subparsers._group_actions[0].choices["report"]  # type: ignore[union-attr]
    assert alone == full.format_help()


def test_a_file_that_cannot_be_read_is_named_and_the_rest_counted(
    home: Path, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    other = tmp_path / "home"
    shutil.copytree(home, other)
    victim = next((other / ".claude" / "projects").rglob("*.jsonl"))
    os.chown(victim, 4242, 4242)  # another user's: aitop reads only the user's own files
    document = report_json(other, "daily")
    (unread,) = document["reading"]["unreadable"]
    assert unread == {"path": str(victim), "why": "not a regular file of yours: left alone"}
    assert 0 < document["totals"]["requests"] < report_json(home, "daily")["totals"]["requests"]
    code, out, _ = run(other, "daily")
    assert code == 0
    assert f"1 file(s) could not be read and are not counted, e.g. {victim}" in out


def test_compressed_rollouts_count_the_same(home: Path, tmp_path: Path) -> None:
    """Codex compresses rollouts idle for a week to .jsonl.zst: the report reads them as
    they are, and a plain twin (written back out to append to) wins over its .zst."""
    import zstandard

    other = tmp_path / "home"
    shutil.copytree(home, other)
    rollouts = sorted((other / ".codex" / "sessions").rglob("rollout-*.jsonl"))
    for n, path in enumerate(rollouts):
        packed = path.with_name(path.name + ".zst")
        packed.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
        if n % 2:  # half of them: only the compressed file is left
            path.unlink()
    assert report_json(other, "session")["rows"] == report_json(home, "session")["rows"]


def test_the_installed_command_writes_all_of_it_and_says_how_it_ended(home: Path) -> None:
    """The `aitop` script ends a report without the interpreter's teardown: its output is
    whole, in a pipe too, and its exit status is the command's."""
    environ = {"HOME": str(home), "TZ": "UTC", "PATH": os.environ.get("PATH", "")}
    done = subprocess.run(
        [*aitop_command(), "report", "session", "--json"],
        env=environ, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == report_json(home, "session")["rows"]
    bad = subprocess.run(
        [*aitop_command(), "report", "--since", "yesterday"],
        env=environ, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stdout == b""
    assert bad.stderr.decode().startswith("aitop: error: --since: 'yesterday' is not a date")
    head = subprocess.run(
        f"{' '.join(aitop_command())} report session | head -1",
        shell=True, env=environ, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert head.stdout.decode().startswith("aitop report session:") and head.stderr == b""
