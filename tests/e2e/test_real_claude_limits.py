"""Plan limits from the real Claude Code TUI: a Claude.ai login (a fake OAuth token, which
Claude Code takes unchecked) against the mock that sends the rate-limit headers with the
5h and 7d utilisations the test chose, `aitop statusline` as its status line, put there by
`aitop install --statusline --write`.

1. Without a status line of the user's: Claude Code's status bar shows aitop's own line,
   `aitop -b --json` has the figures in `limits`, and so does the live screen (the next
   monitor on the socket, after the next response).
2. With the user's own status line command already configured: install chains it, Claude
   Code's status bar shows *its* output, and the monitor still gets the figures, the very
   ones Claude Code handed the user's command; uninstall gives the user's command back.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .driver import RATE_LIMIT_MOCK, Rig, wait_until
from conftest import aitop_command
from support import Tty

pytestmark = [pytest.mark.real_claude, pytest.mark.slow]

MakeRig = Callable[..., Rig]
FIVE_HOURS, SEVEN_DAYS = 0.37, 0.15  # the mock's utilisations: Claude Code says 37 %, 15 %
MOCK_ARGS = ("--rl-5h", str(FIVE_HOURS), "--rl-7d", str(SEVEN_DAYS), "--rl-step", "0")
RESPONSE_S = 90.0


def need_tmux() -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: the interactive Claude Code test needs it")


def mock_resets(t: float) -> tuple[float, float]:
    """The reset times the mock sends at `t` (its docstring: now+2h and now+5d, rounded to
    the hour)."""
    hour = t // 3600 * 3600
    return hour + 2 * 3600, hour + 5 * 86_400


def claude_limits(snap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["window"]: row for row in snap["limits"] if row["agent"] == "claude-code"}


def start_tui(rig: Rig) -> str:
    sid = str(uuid.uuid4())
    rig.tmux.start(rig.claude.tui_command(sid))
    rig.tmux.wait_pane(r"\? for shortcuts|❯", timeout=60)
    return sid


def test_the_tuis_limits_reach_aitop_and_its_status_bar_shows_aitops_line(
    make_rig: MakeRig,
) -> None:
    need_tmux()
    rig = make_rig(oauth=True, mock=RATE_LIMIT_MOCK, mock_args=MOCK_ARGS)
    installed = rig.sandbox.install_statusline()
    assert installed.returncode == 0, installed.stderr
    assert "added aitop's status line" in installed.stderr
    command = json.loads(rig.sandbox.settings.read_text())["statusLine"]["command"]
    assert shlex.split(command)[-1] == "statusline"
    assert json.loads(rig.sandbox.settings.read_text())["hooks"]  # the hooks are still there

    sid = start_tui(rig)
    before = time.time()
    rig.tmux.type("Hello from a subscription")
    snap = rig.monitor.wait_for(lambda s: len(claude_limits(s)) == 2, RESPONSE_S)
    after = time.time()

    # aitop -b --json: the official figures, as Claude Code passed them on
    limits = claude_limits(snap)
    five, seven = limits["5h"], limits["7d"]
    assert (five["used_pct"], seven["used_pct"]) == (37, 15)
    assert (five["window_minutes"], seven["window_minutes"]) == (300, 10_080)
    assert not five["stale"] and not seven["stale"]
    assert (five["resets_at_ts"], seven["resets_at_ts"]) in {
        mock_resets(before),
        mock_resets(after),
    }
    assert before - 1 <= five["seen_at_ts"] <= after + 1
    assert five["plan"] is None  # the status line does not say the plan
    assert snap["ingest"]["rejected_malformed"] == 0

    # Claude Code's status bar: aitop's own line
    pane = rig.tmux.wait_pane(r"5h 37% ↻ \d", timeout=30)
    assert re.search(r"ctx \d+% · \$[\d.]+ at API prices · 5h 37% ↻ [\dhm]+ · 7d 15%", pane), pane

    # the agent's own figures, beside aitop's (a cross-check)
    snap = rig.monitor.wait_for(
        lambda s: any(
            r["session_id"] == sid and r["agent_cost_usd"] and r["agent_context_tokens"]
            for r in s["sessions"]
        ),
        30,
    )
    row = next(r for r in snap["sessions"] if r["session_id"] == sid)
    assert row["agent_context_limit"] and row["agent_context_tokens"] > 0
    assert row["agent_cost_usd"] > 0

    # the live screen, on the same socket, after the next response
    rig.monitor.stop()
    env = rig.sandbox.aitop_env() | {"TERM": "xterm-256color", "TZ": "UTC", "NO_COLOR": "1"}
    tty = Tty([*aitop_command(), "--no-backfill"], env, 140, 40)
    try:
        tty.wait_text("aitop -")
        rig.tmux.type("And once more")
        text = tty.wait_for(lambda t: "claude 5h" in t, "the limits line", RESPONSE_S)
        line = next(x for x in text.splitlines() if x.startswith("claude 5h"))
        assert re.match(r"claude 5h [█▏▎▍▌▋▊▉ ]{8} 37 % ↻ \dh\d\dm", line), line
        assert "· 7d 15 % ↻ " in line
        assert "at API list prices of" in text  # dollars for a subscription: not a bill
        tty.press("q")
        assert tty.finish() == 0
    finally:
        tty.close()

    rig.tmux.type("/exit")
    wait_until(lambda: not rig.tmux.alive(), "the TUI to exit", 30, 0.2)


RECORDER = """\
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
data = sys.stdin.buffer.read()
n = len(list(out.glob("*.json"))) + 1
(out / f"{n:04d}.json").write_bytes(data)
print(f"MY-OWN-LINE {n}")
"""


def test_a_status_line_the_user_had_is_chained_and_given_back(
    make_rig: MakeRig, tmp_path: Path
) -> None:
    need_tmux()
    rig = make_rig(oauth=True, mock=RATE_LIMIT_MOCK, mock_args=MOCK_ARGS)
    recorded = tmp_path / "seen"
    recorded.mkdir()
    script = tmp_path / "my_status_line.py"
    script.write_text(RECORDER)
    users_own = (
        f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {shlex.quote(str(recorded))}"
    )
    installed = rig.sandbox.install_statusline(users_own)
    assert installed.returncode == 0, installed.stderr
    assert "chained your status line command" in installed.stderr
    assert "aitop install --statusline --uninstall --write" in installed.stderr

    start_tui(rig)
    rig.tmux.type("Hello again")
    snap = rig.monitor.wait_for(lambda s: len(claude_limits(s)) == 2, RESPONSE_S)

    # Claude Code's status bar shows the user's line, not aitop's
    pane = rig.tmux.wait_pane(r"MY-OWN-LINE \d+", timeout=30)
    assert "at API prices" not in pane and "5h 37%" not in pane

    # the monitor has what Claude Code handed the user's command, figure for figure
    def handed() -> dict[str, Any] | None:
        for path in sorted(recorded.glob("*.json"), reverse=True):
            data = json.loads(path.read_bytes())
            if "rate_limits" in data:
                return dict(data["rate_limits"])
        return None

    windows = wait_until(handed, "a status line input with rate limits", 30, 0.2)
    limits = claude_limits(snap)
    for name, key in (("5h", "five_hour"), ("7d", "seven_day")):
        assert limits[name]["used_pct"] == windows[key]["used_percentage"]
        assert limits[name]["resets_at_ts"] == windows[key]["resets_at"]
    assert (limits["5h"]["used_pct"], limits["7d"]["used_pct"]) == (37, 15)

    rig.tmux.type("/exit")
    wait_until(lambda: not rig.tmux.alive(), "the TUI to exit", 30, 0.2)
    removed = rig.sandbox.run_aitop(
        "install", "--statusline", "--uninstall", "--write", "--settings", str(rig.sandbox.settings)
    )
    assert removed.returncode == 0, removed.stderr
    restored = json.loads(rig.sandbox.settings.read_text())["statusLine"]
    assert restored == {"type": "command", "command": users_own}
