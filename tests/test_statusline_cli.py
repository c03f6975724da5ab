"""`aitop statusline`, the real process: it forwards Claude Code's status line input to the
monitor as a `statusline` frame, prints one line (aitop's own, or the user's chained
command's output), writes nothing to stderr and exits 0 whatever the input, with no
monitor or a hung one; stdlib only. And its own line, as a pure function."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aitop import statusline
from aitop.statusline import own_line, parse_json, run_chained
from aitop.wire import MAX_PAYLOAD, STATUSLINE, split_frame

from conftest import FIXTURES, aitop_command
from support import Monitor, isolated_env, private_dir
from test_hook_cli import Listener, hook_env

STDIN = FIXTURES / "statusline" / "runs"
OAUTH = (STDIN / "S6-tui-oauth-refresh-bigctx" / "stdin" / "0010.json").read_bytes()
APIKEY = (STDIN / "S1-tui-apikey" / "stdin" / "0003.json").read_bytes()
FIRST = (STDIN / "S5-tui-oauth-env" / "stdin" / "0001.json").read_bytes()
NOW = 1_796_099_000.0  # the captures' reset times are 1796101200 (5h) and 1796526000 (7d)


def run_statusline(
    payload: bytes | None, env: dict[str, str], *args: str, timeout: float = 20
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*aitop_command(), "statusline", *args],
        input=payload,
        stdin=subprocess.DEVNULL if payload is None else None,
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[bytes]) -> str:
    assert (result.returncode, result.stderr) == (0, b"")
    text = result.stdout.decode()
    assert text.endswith("\n") and text.count("\n") == 1, text
    return text[:-1]


def wait_frames(listener: Listener, count: int = 1) -> list[bytes]:
    for _ in range(500):
        if len(listener.frames) >= count:
            break
        threading.Event().wait(0.01)
    return listener.frames


# --- aitop's own line (pure) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "line"),
    [
        (OAUTH, "Sonnet 5.5 · ctx 26% · $0.11 at API prices · 5h 15% ↻ 36m · 7d 34.6%"),
        (APIKEY, "Opus 5.5 · ctx 1% · $0.08"),  # an API key: no limits, real dollars
        (FIRST, "Sonnet 5.5 · $0"),  # before the first response
        (b'{"model": {"id": "claude-x"}}', "claude-x"),
        (b"{}", "aitop"),
        (b"not json", "aitop"),
        (b"", "aitop"),
        (b'{"a": 1} trailing', "aitop"),
        (b"[1, 2]", "aitop"),
        (b'{"model": {"display_name": "A\\u001b[31mB"}, "cost": {"total_cost_usd": "1"}}', "A?[31mB"),
        (b'{"rate_limits": {"five_hour": {"used_percentage": Infinity, "resets_at": 1e400}}}', "aitop"),
        (b'{"rate_limits": {"five_hour": {"used_percentage": 12, "resets_at": 1e300}}}', "5h 12%"),
        (b'{"cost": {"total_cost_usd": NaN}, "context_window": {"used_percentage": true}}', "aitop"),
    ],
)  # fmt: skip
def test_own_line(payload: bytes, line: str) -> None:
    assert own_line(payload, NOW, color=False) == line


@pytest.mark.parametrize(
    ("used", "text"),
    [(79.9, "5h 79.9%"), (80, "\x1b[33m5h 80%\x1b[0m"), (95, "\x1b[31m5h 95%\x1b[0m")],
)
def test_own_line_colours_a_limit_by_level(used: float, text: str) -> None:
    payload = json.dumps({"rate_limits": {"five_hour": {"used_percentage": used}}}).encode()
    assert own_line(payload, NOW) == text
    assert "\x1b" not in own_line(payload, NOW, color=False)


def test_a_reset_in_the_past_is_not_counted_down() -> None:
    assert own_line(OAUTH, 1_796_101_300.0, color=False).endswith("5h 15% · 7d 34.6%")


@given(st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["model", "id", "display_name", "cost", "total_cost_usd", "context_window",
                         "used_percentage", "rate_limits", "five_hour", "seven_day", "resets_at"]),
        inner, max_size=4),
    max_leaves=20,
))  # fmt: skip
def test_own_line_never_raises_and_is_one_line(document: object) -> None:
    payload = json.dumps(document, allow_nan=True).encode()
    line = own_line(payload, NOW)
    assert line and "\n" not in line and "\r" not in line


@pytest.mark.parametrize(
    "text", ['{"a": [1, 2.5, -3e2, true, null, "é\\n"]}', "  [1]  ", '"x"', "NaN", "1e400"]
)
def test_the_json_reader_agrees_with_json(text: str) -> None:
    expected = json.loads(text)
    got = parse_json(text.encode())
    assert repr(got) == repr(expected)


def test_the_json_reader_says_none_for_what_is_not_json() -> None:
    for bad in (b"{", b"[1,]", b"\xff\xfe", b"{" * 100_000, b'{"a" 1}', b"1 2"):
        assert parse_json(bad) is None


# --- the process ----------------------------------------------------------------------------


def test_forwards_the_input_as_a_status_line_frame_and_prints_its_line(tmp_path: Path) -> None:
    path = private_dir(tmp_path / "run") / "aitop.sock"
    listener = Listener(path)
    try:
        env = hook_env(path, CLAUDE_PID="4242", AITOP_TAG="work", NO_COLOR="1")
        line = one_line(run_statusline(OAUTH, env))
        assert line.startswith("Sonnet 5.5 · ctx 26% · $0.11 at API prices · 5h 15%")
        (frame,) = wait_frames(listener)
        envelope, payload = split_frame(frame)
        assert payload == OAUTH
        assert (envelope.agent, envelope.kind, envelope.pid, envelope.tag) == (
            "claude-code",
            STATUSLINE,
            4242,
            "work",
        )
    finally:
        listener.close()


@pytest.mark.parametrize("how", ["absent", "stale", "never accepts", "never reads"])
def test_with_no_monitor_or_a_hung_one_the_line_is_still_printed(tmp_path: Path, how: str) -> None:
    path = tmp_path / "aitop.sock"
    listener = None
    if how == "stale":
        import socket

        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(str(path))
        dead.close()
    elif how == "never accepts":
        listener = Listener(path, accept=False)
    elif how == "never reads":
        listener = Listener(path, read=False)
    try:
        env = hook_env(path, NO_COLOR="1")
        assert one_line(run_statusline(OAUTH, env)).startswith("Sonnet 5.5 · ctx 26%")
    finally:
        if listener is not None:
            listener.close()


BAD_INPUTS = {
    "empty": b"",
    "not json": b"hello",
    "invalid utf-8": b'{"model": {"id": "\xff\xfe"}}',
    "deep nesting": b"[" * 200_000,
    "huge": b'{"x": "' + b"z" * (MAX_PAYLOAD + 10) + b'"}',
    "nul bytes": b"\x00" * 100,
    "numbers as text": b'{"rate_limits": {"five_hour": {"used_percentage": "95", "resets_at": "x"}}}',
    "a list": b"[]",
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_any_input_gives_a_line_exit_0_and_a_silent_stderr(tmp_path: Path, name: str) -> None:
    assert one_line(run_statusline(BAD_INPUTS[name], hook_env(tmp_path / "none.sock")))


@settings(max_examples=25, suppress_health_check=list(HealthCheck))
@given(payload=st.binary(max_size=2000))
def test_random_bytes_give_a_line_exit_0_and_a_silent_stderr(payload: bytes) -> None:
    env = hook_env(Path("/nonexistent/aitop.sock"))
    assert one_line(run_statusline(payload, env))


def test_closed_or_missing_stdin(tmp_path: Path) -> None:
    env = hook_env(tmp_path / "x.sock")
    assert one_line(run_statusline(None, env)) == "aitop"
    shell = subprocess.run(
        ["sh", "-c", 'exec "$@" <&-', "sh", *aitop_command(), "statusline"],
        env=env,
        capture_output=True,
        timeout=20,
        check=False,
    )
    assert one_line(shell) == "aitop"


def test_help_is_argparses(tmp_path: Path) -> None:
    result = run_statusline(None, hook_env(tmp_path / "x.sock"), "--help")
    assert result.returncode == 0 and b"usage: aitop statusline" in result.stdout


def test_python_dash_m_runs_it_too(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aitop", "statusline"],
        input=APIKEY,
        env=hook_env(tmp_path / "x.sock") | {"PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        capture_output=True,
        timeout=20,
        check=False,
    )
    assert one_line(result) == "Opus 5.5 · ctx 1% · $0.08"


def test_statusline_imports_only_the_standard_library_it_needs(tmp_path: Path) -> None:
    script = aitop_command()
    if len(script) != 1:
        pytest.skip("the aitop script is not installed next to this interpreter")
    env = hook_env(tmp_path / "absent.sock")

    def names(argv: list[str], stdin: bytes) -> set[str]:
        result = subprocess.run(
            [sys.executable, "-X", "importtime", *argv],
            input=stdin,
            env=env,
            capture_output=True,
            timeout=20,
            check=True,
        )
        return {
            line.split("|")[-1].strip()
            for line in result.stderr.decode().splitlines()
            if line.startswith("import time:") and "imported package" not in line
        }

    extra = names([script[0], "statusline"], OAUTH) - names(["-c", "pass"], b"")
    assert extra == {"aitop", "aitop.hook", "aitop.paths", "aitop.statusline", "_socket", "_json"}


# --- chained: the user's own status line command --------------------------------------------


def test_the_chained_command_gets_the_same_stdin_and_its_output_is_shown_as_is(
    tmp_path: Path,
) -> None:
    path = private_dir(tmp_path / "run") / "aitop.sock"
    listener = Listener(path)
    try:
        seen = tmp_path / "seen.json"
        command = f"cat > {seen}; printf '\\033[32mmine\\033[0m\\nsecond line\\n'; echo oops >&2"
        result = run_statusline(OAUTH, hook_env(path), "--", command)
        assert (result.returncode, result.stderr) == (0, b"")
        assert result.stdout == b"\x1b[32mmine\x1b[0m\nsecond line\n"
        assert seen.read_bytes() == OAUTH
        (frame,) = wait_frames(listener)
        assert split_frame(frame)[1] == OAUTH  # forwarded all the same
    finally:
        listener.close()


def test_the_chained_command_sees_claude_codes_environment(tmp_path: Path) -> None:
    env = hook_env(tmp_path / "x.sock", CLAUDE_CODE_SESSION_ID="abc")
    result = run_statusline(OAUTH, env, "--", 'echo "session $CLAUDE_CODE_SESSION_ID"')
    assert one_line(result) == "session abc"


def test_several_words_after_the_double_dash_are_one_command(tmp_path: Path) -> None:
    result = run_statusline(OAUTH, hook_env(tmp_path / "x.sock"), "--", "echo", "a", "b")
    assert one_line(result) == "a b"


@pytest.mark.parametrize(
    "command",
    ["exit 3", "true", "/nonexistent/status-line", "printf '   \\n'", "kill -9 $$"],
)
def test_a_chained_command_that_prints_nothing_gives_aitops_line(
    tmp_path: Path, command: str
) -> None:
    env = hook_env(tmp_path / "x.sock", NO_COLOR="1")
    assert one_line(run_statusline(OAUTH, env, "--", command)).startswith("Sonnet 5.5")


def test_a_chained_command_that_does_not_read_a_large_stdin_does_not_block(
    tmp_path: Path,
) -> None:
    big = json.dumps({"model": {"id": "m"}, "pad": "x" * (MAX_PAYLOAD - 100)}).encode()
    result = run_statusline(big, hook_env(tmp_path / "x.sock"), "--", "echo early", timeout=30)
    assert one_line(result) == "early"


def test_a_chained_command_that_hangs_is_stopped_with_its_children() -> None:
    marker = f"aitop-test-{os.getpid()}-{time.monotonic_ns()}"
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        run_chained(f"sleep 30 & echo {marker}; sleep 31", b"{}", os.environ, 1.0)
    assert time.monotonic() - started < 20
    found = subprocess.run(["pgrep", "-f", "sleep 3[01]"], capture_output=True, text=True)
    mine = [
        pid
        for pid in found.stdout.split()
        if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    ]
    assert mine == []


def test_its_output_is_bounded() -> None:
    output = run_chained("yes | head -c 1000000", b"", os.environ, 20)
    assert len(output) == statusline.CHAIN_OUTPUT_MAX


# --- into a real monitor --------------------------------------------------------------------


def future(payload: bytes, now: float) -> bytes:
    """A captured input with its reset times moved to come after `now` (by the same gap)."""
    data = json.loads(payload)
    for window in data["rate_limits"].values():
        window["resets_at"] = int(now + (window["resets_at"] - NOW))
    return json.dumps(data).encode()


def test_a_real_monitor_shows_the_limits_and_the_agents_own_figures(tmp_path: Path) -> None:
    home = private_dir(tmp_path / "home")
    env = isolated_env(home, private_dir(tmp_path / "run") / "aitop.sock")
    data = json.loads(future(OAUTH, time.time()))
    data["rate_limits"]["five_hour"]["used_percentage"] = 96  # past 95 %: a critical alert
    with Monitor(env, "--no-backfill") as monitor:
        monitor.wait_listening()
        assert one_line(run_statusline(json.dumps(data).encode(), env | {"NO_COLOR": "1"}))
        snap = monitor.wait_for(lambda s: len(s["limits"]) == 2)
        five, seven = snap["limits"]
        assert (five["agent"], five["window"], five["used_pct"], five["stale"]) == (
            "claude-code",
            "5h",
            96,
            False,
        )
        assert five["resets_at_ts"] == data["rate_limits"]["five_hour"]["resets_at"]
        assert (seven["window"], seven["used_pct"]) == ("7d", 34.6)
        (session,) = snap["sessions"]
        assert session["session_id"] == data["session_id"]
        assert session["agent_cost_usd"] == pytest.approx(0.1147094)
        assert session["agent_context_tokens"] == 264_252
        alert = next(a for a in snap["alerts"] if a["id"].startswith("limit:"))
        assert alert["severity"] == "critical"
        assert alert["message"].startswith("claude 5h limit 96 % used (alert at 95 %)")
        assert snap["ingest"]["rejected_malformed"] == 0
        assert monitor.stop(signal.SIGTERM) == 0
