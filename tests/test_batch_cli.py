"""`aitop -b`, `aitop version` and start-up, as a user runs them: real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import PAYLOADS, SESSIONS, aitop_command
from support import Monitor, isolated_env, private_dir, restamped_f1, run_hook

F1 = SESSIONS / "F1-print-tools-subagent"
F1_ID = "11111111-2222-4333-8444-555555555555"


def run(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*aitop_command(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return private_dir(tmp_path / "home")


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    return isolated_env(home, private_dir(tmp_path / "run") / "aitop.sock")


def test_version(env: dict[str, str]) -> None:
    for args in (["version"], ["--version"]):
        result = run(env, *args)
        assert (result.returncode, result.stdout, result.stderr) == (0, "aitop 0.1.0\n", "")
    module = subprocess.run(
        [sys.executable, "-m", "aitop", "version"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert module.stdout == "aitop 0.1.0\n"


def test_batch_text_frames(env: dict[str, str]) -> None:
    result = run(env, "-b", "-n", "2", "-d", "0.1", "--no-backfill")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("aitop - ") == 2
    assert result.stdout.count("cache hit") == 2
    assert "PROJECT" in result.stdout and "\x1b" not in result.stdout  # no terminal control
    assert not Path(env["AITOP_SOCKET"]).exists()


def test_batch_json_is_one_snapshot_per_line(env: dict[str, str]) -> None:
    result = run(env, "-b", "--json", "-n", "3", "-d", "0.05", "--no-backfill")
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    snaps = [json.loads(line) for line in lines]
    assert [s["uptime_s"] for s in snaps] == sorted(s["uptime_s"] for s in snaps)
    assert snaps[0]["windows"]["1m"]["requests"] == 0 and snaps[0]["ingest"]["frames"] == 0
    # additions to the contract: the alert log and the set-up diagnostics
    assert snaps[0]["alert_log"] == []
    notes = {d["id"]: d["severity"] for d in snaps[0]["diagnostics"]}
    assert notes["claude-code:hooks"] == "info" and "claude-code:transcripts" in notes


def test_backfill_makes_the_first_frame_right(home: Path, env: dict[str, str]) -> None:
    restamped_f1(home, datetime.now(UTC) - timedelta(minutes=2))
    first = json.loads(run(env, "-b", "--json", "-n", "1").stdout)
    (row,) = first["sessions"]
    assert (row["session_id"], row["requests"], row["subagents"], row["compactions"]) == (
        F1_ID,
        8,
        1,
        1,
    )
    assert first["windows"]["15m"]["requests"] == 8  # the windows too, from the first frame
    assert first["windows"]["1m"]["requests"] == 0  # two minutes ago is not the last minute
    assert first["since_start"]["requests"] == 0  # it happened before aitop started
    assert row["turns"] == 2  # from the transcript: no hook has told aitop of them
    # the `claude -p` processes wrote their `cost-state` line and exited: not active
    assert row["status"] == "ended"


def test_no_backfill(home: Path, env: dict[str, str]) -> None:
    restamped_f1(home, datetime.now(UTC))
    first = json.loads(run(env, "-b", "--json", "-n", "1", "--no-backfill").stdout)
    assert first["sessions"] == []


def test_backfill_skips_transcripts_older_than_fifteen_minutes(
    home: Path, env: dict[str, str]
) -> None:
    restamped_f1(home, datetime.now(UTC) - timedelta(hours=2))
    for path in (home / ".claude").rglob("*.jsonl"):
        old = (datetime.now(UTC) - timedelta(minutes=16)).timestamp()
        os.utime(path, (old, old))
    assert json.loads(run(env, "-b", "--json", "-n", "1").stdout)["sessions"] == []


def test_sessions_without_hooks_are_discovered(home: Path, env: dict[str, str]) -> None:
    """No hook installed: a new transcript still shows up within a few seconds."""
    with Monitor(env) as monitor:
        monitor.wait_listening()
        restamped_f1(home, datetime.now(UTC))
        snap = monitor.wait_for(lambda s: any(r["requests"] == 8 for r in s["sessions"]))
        assert snap["ingest"]["frames"] == 0
        assert monitor.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_end_batch_cleanly_and_remove_the_socket(env: dict[str, str], sig: int) -> None:
    with Monitor(env, "--no-backfill") as monitor:
        monitor.wait_listening()
        assert monitor.stop(sig) == 0
        assert monitor.stderr() == ""
    assert not Path(env["AITOP_SOCKET"]).exists()


def test_a_second_batch_attaches_and_standalone_refuses(env: dict[str, str]) -> None:
    """Like `top -b` beside `top`: a second `aitop -b` reads the running monitor (its
    first line says so); `--standalone` insists on a monitor of its own and is refused."""
    with Monitor(env, "--no-backfill") as first:
        first.wait_listening()
        payload = json.dumps({"session_id": "s1", "hook_event_name": "Stop"}).encode()
        assert run_hook(payload, env).returncode == 0
        first.wait_for(lambda s: s["ingest"]["frames"] == 1)
        second = run(env, "-b", "-n", "1", "--no-backfill")
        assert (second.returncode, second.stderr) == (0, "")
        head, frame = second.stdout.split("\n", 1)
        assert head == (
            f"aitop -b: attached to the monitor on {env['AITOP_SOCKET']} (pid {first.process.pid})"
        )
        assert f"attached to monitor pid {first.process.pid}" in frame and "1 events" in frame

        standalone = run(env, "-b", "-n", "1", "--no-backfill", "--standalone")
        assert standalone.returncode == 1
        assert standalone.stderr == (
            f"aitop: error: another aitop is already running on {env['AITOP_SOCKET']};"
            " leave out --standalone to attach to it, or give this one its own --socket\n"
        )
        assert run_hook(payload, env).returncode == 0
        snap = first.wait_for(lambda s: s["ingest"]["frames"] == 2)
        assert [row["session_id"] for row in snap["sessions"]] == ["s1"]
        assert first.stop() == 0


def test_with_no_monitor_batch_runs_its_own_and_says_so(env: dict[str, str]) -> None:
    result = run(env, "-b", "-n", "1", "--no-backfill")
    head = result.stdout.split("\n", 1)[0]
    assert head.startswith(f"aitop -b: running its own monitor on {env['AITOP_SOCKET']} (pid ")
    line = json.loads(run(env, "-b", "--json", "-n", "1", "--no-backfill").stdout)
    assert line["attached"] is False and line["monitor_pid"] > 0


def test_a_socket_directory_open_to_others_is_refused(tmp_path: Path, home: Path) -> None:
    run_dir = tmp_path / "open"
    run_dir.mkdir(mode=0o755)
    run_dir.chmod(0o755)
    env = isolated_env(home, run_dir / "aitop.sock")
    result = run(env, "-b", "-n", "1")
    assert result.returncode == 1
    assert (
        result.stderr
        == f"aitop: error: {run_dir} is open to other users (mode 0755); put the socket in a"
        f" private directory of its own: mkdir -m 700 {run_dir}/aitop && aitop --socket"
        f" {run_dir}/aitop/aitop.sock\n"
    )


def test_default_state_dir_is_created_private(home: Path, tmp_path: Path) -> None:
    env = isolated_env(home, tmp_path / "unused")
    del env["AITOP_SOCKET"]
    result = run(env, "-b", "-n", "1", "--no-backfill")
    assert result.returncode == 0, result.stderr
    assert (home / ".aitop").stat().st_mode & 0o777 == 0o700
    assert not (home / ".aitop" / "aitop.sock").exists()


def test_a_closed_stdout_ends_batch_quietly(env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [*aitop_command(), "-b", "-d", "0.05", "--no-backfill"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `aitop -b | head -1`
    assert proc.wait(timeout=30) == 0
    assert proc.stderr.read() == b""
    assert not Path(env["AITOP_SOCKET"]).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--json"], "aitop: error: --json needs -b; run: aitop -b --json\n"),
        (["-n", "3"], "aitop: error: -n needs -b; run: aitop -b -n N\n"),
        (["-b", "-d", "fast"], "aitop: error: argument -d/--delay: expected a number of seconds, got 'fast'; see 'aitop --help'\n"),
        (["--frobnicate"], "aitop: error: unrecognized arguments: --frobnicate; see 'aitop --help'\n"),
        (["--timeline"], "aitop: error: --timeline needs -b --json; run: aitop -b --json --timeline\n"),
        (["-b", "--timeline"], "aitop: error: --timeline needs -b --json; run: aitop -b --json --timeline\n"),
        (["--json", "--timeline"], "aitop: error: --json needs -b; run: aitop -b --json\n"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_and_exit_2(
    env: dict[str, str], args: list[str], message: str
) -> None:
    result = run(env, *args)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message)


def test_a_claude_dir_that_is_not_there_is_one_line_at_start_up(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A wrong --claude-dir used to be accepted without a word, and every session then
    showed $0."""
    missing = tmp_path / "nowhere"
    result = run(env, "-b", "-n", "1", "--claude-dir", str(missing))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"aitop: error: --claude-dir {missing}: no such directory; give --claude-dir the"
        " directory Claude Code writes to: its $CLAUDE_CONFIG_DIR, ~/.claude by default\n"
    )
    afile = tmp_path / "afile"
    afile.write_text("")
    result = run(env | {"CLAUDE_CONFIG_DIR": str(afile)}, "-b", "-n", "1")
    assert result.returncode == 2 and result.stderr.startswith(
        f"aitop: error: {afile} is not a directory;"
    )
    assert not Path(env["AITOP_SOCKET"]).exists()


# --- the NOW column and the timeline in --json (issue 17) -----------------------------------


def _tool_running(snap: dict[str, Any]) -> bool:
    return any((row.get("now") or {}).get("state") == "tool" for row in snap["sessions"])


def test_now_is_in_every_row_and_the_timeline_only_with_timeline(env: dict[str, str]) -> None:
    """A Bash call started by a hook: `now` says `tool Bash` in the monitor's own lines
    and in an attached viewer's; the timeline (with the call's first words) only in the
    lines of `--timeline`, the monitor's or the viewer's."""
    payload = (PAYLOADS / "PreToolUse-Bash.json").read_bytes()
    with Monitor(env, "--no-backfill") as plain:
        plain.wait_listening()
        assert run_hook(payload, env).returncode == 0
        snap = plain.wait_for(_tool_running)
        (row,) = snap["sessions"]
        assert row["now"]["state"] == "tool" and row["now"]["detail"] == "Bash"
        assert row["now"]["more"] == 0 and row["now"]["since_ts"] <= snap["now"]
        assert "timeline" not in row

        viewer = run(env, "-b", "--json", "-n", "1")
        (seen,) = json.loads(viewer.stdout)["sessions"]
        assert seen["now"]["state"] == "tool" and "timeline" not in seen
        viewer = run(env, "-b", "--json", "-n", "1", "--timeline")
        (seen,) = json.loads(viewer.stdout)["sessions"]
        assert seen["now"]["detail"] == "Bash"
        assert [(e["kind"], e["name"], e["summary"]) for e in seen["timeline"]] == [
            ("tool", "Bash", "echo hi")
        ]
        assert plain.stop() == 0

    with Monitor(env, "--no-backfill", "--timeline") as monitor:
        monitor.wait_listening()
        assert run_hook(payload, env).returncode == 0
        snap = monitor.wait_for(_tool_running)
        (row,) = snap["sessions"]
        assert [(e["kind"], e["name"], e["summary"]) for e in row["timeline"]] == [
            ("tool", "Bash", "echo hi")
        ]
        assert monitor.stop() == 0


def _write_config(home: Path, text: str) -> None:
    path = home / ".config" / "aitop" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _timeline_of_two_tools(home: Path, env: dict[str, str], config: str) -> dict[str, Any]:
    """With `config` as the config file, a real monitor's snapshot once a Bash and a Read
    call reached it by their hooks."""
    _write_config(home, config)
    with Monitor(env, "--no-backfill", "--timeline") as monitor:
        monitor.wait_listening()
        for name in ("PreToolUse-Bash", "PreToolUse-Read"):
            assert run_hook((PAYLOADS / f"{name}.json").read_bytes(), env).returncode == 0
        snap: dict[str, Any] = monitor.wait_for(
            lambda s: any(len(r.get("timeline", [])) == 2 for r in s["sessions"])
        )
        assert monitor.stop() == 0
    return snap


def test_privacy_in_the_config_file_keeps_input_out_of_the_timeline(
    home: Path, env: dict[str, str]
) -> None:
    """`privacy = true` in ~/.config/aitop/config.toml: the monitor's timelines carry the
    tools' names, never a command's words or a file's name (without it they do)."""
    snap = _timeline_of_two_tools(home, env, "privacy = true\n")
    (row,) = snap["sessions"]
    assert [(e["name"], e["summary"]) for e in row["timeline"]] == [("Read", None), ("Bash", None)]
    line = json.dumps(snap)
    assert "echo hi" not in line and "notes.txt" not in line

    (row,) = _timeline_of_two_tools(home, env, "privacy = false\n")["sessions"]
    summaries = [(e["name"], e["summary"]) for e in row["timeline"]]
    assert summaries == [("Read", "notes.txt"), ("Bash", "echo hi")]
