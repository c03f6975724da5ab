"""What needs you is never hidden, with the real Claude Code TUI: a permission prompt
held open makes an alert line appear on the live screen, with how long it has waited,
puts the session first whatever the sort column, and rings the bell (with a desktop
notification) once for that wait; the next wait, for your next message once the turn
ended, is an alert of its own and rings once more.

The real `aitop` screen runs on a pseudo-terminal read back through pyte, with
`--bell`; Claude Code runs in tmux against the mock API, its hooks written by
`aitop install --write`, with Write left out of the allow-list so it asks.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Callable

import pytest

from .driver import ALLOW, Rig, wait_until
from conftest import aitop_command
from support import Tty, run_hook

pytestmark = [pytest.mark.real_claude, pytest.mark.slow]

MakeRig = Callable[..., Rig]
NOTIFY = b"\x1b]777;notify;aitop;"
PERMISSION_PROMPT_S = 60.0  # Claude Code sends its Notification ~6 s after the dialog opens


def notifications(tty: Tty, needle: str) -> int:
    """Desktop notifications sent so far whose text holds `needle`."""
    raw = bytes(tty.raw)
    count = 0
    for part in raw.split(NOTIFY)[1:]:
        if needle.encode() in part.split(b"\x1b\\", 1)[0]:
            count += 1
    return count


def rows_below_head(text: str) -> list[str]:
    lines = text.splitlines()
    head = next(n for n, line in enumerate(lines) if line.startswith("PROJECT"))
    return lines[head + 1 :]


def test_a_permission_prompt_is_an_alert_first_in_the_table_and_rings_once(
    make_rig: MakeRig,
) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: the interactive Claude Code test needs it")
    allow = tuple(tool for tool in ALLOW if tool != "Write")  # Write asks first
    rig = make_rig(monitor=False, allow=allow, project="webapp")
    env = rig.sandbox.aitop_env() | {"TERM": "xterm-256color", "TZ": "UTC"}
    tty = Tty([*aitop_command(), "--bell"], env, 150, 45)
    try:
        tty.wait_text("Sessions 0")
        # another session that sorts above it by name ("aaa-other" < "webapp")
        other = '{"hook_event_name":"UserPromptSubmit","session_id":"%s","cwd":"/src/aaa-other"}'
        assert run_hook((other % uuid.uuid4()).encode(), env).returncode == 0
        for _ in range(4):  # $/HR -> CONTEXT -> TOOLS -> LAST -> PROJECT
            tty.press(">")
        tty.wait_text("sorted by PROJECT ↑")

        sid = str(uuid.uuid4())
        rig.tmux.start(rig.claude.tui_command(sid))
        rig.tmux.wait_pane(r"\? for shortcuts|❯")
        tty.wait_text("webapp")
        out = rig.sandbox.project / "out.txt"
        rig.tmux.type(f"Now [write:{out}]")
        rig.tmux.wait_pane(r"Do you want to create out\.txt\?")
        opened = time.monotonic()

        alert = re.compile(r"^!! webapp: waiting for your permission for (\d+)s", re.M)
        text = tty.wait_for(lambda t: bool(alert.search(t)), "the alert", PERMISSION_PROMPT_S)
        rows = rows_below_head(text)
        assert rows[0].startswith("webapp") and "wait:perm" in rows[0], text
        assert rows[1].startswith("aaa-other"), text  # by name it would be first
        assert "sorted by PROJECT ↑" in text
        first = int(alert.search(text).group(1))  # type: ignore[union-attr]
        assert first <= time.monotonic() - opened + 1  # counted from the prompt, not before

        # the alert says how long, and keeps ringing only once for this one wait
        tty.wait_for(
            lambda t: bool((m := alert.search(t)) and int(m.group(1)) >= first + 4),
            "the wait to grow",
            30,
        )
        assert notifications(tty, "webapp: waiting for your permission") == 1
        assert bytes(tty.raw).count(b"\a") == bytes(tty.raw).count(NOTIFY)

        # answered: the alert goes; the turn ends and the next wait is a new alert
        rig.tmux._tmux("send-keys", "-t", rig.tmux.SESSION, "Enter")
        wait_until(out.exists, "the file to be written", 30, 0.2)
        text = tty.wait_text("webapp: waiting for your input for", 60)
        assert not alert.search(text)
        assert rows_below_head(text)[0].startswith("webapp") and "wait:input" in text
        assert notifications(tty, "webapp: waiting for your input") == 1
        assert notifications(tty, "webapp: waiting for your permission") == 1

        # the alert log keeps the permission wait, begun and cleared
        tty.press("a")
        text = tty.wait_text("Alert log since")
        logged = next(line for line in text.splitlines() if "waiting for your permission" in line)
        assert re.match(r" \d\d:\d\d:\d\d–\d\d:\d\d:\d\d ", logged), logged
        tty.press("\x1b")

        rig.tmux.type("/exit")
        wait_until(lambda: not rig.tmux.alive(), "the TUI to exit", 30, 0.2)
        text = tty.wait_for(lambda t: "waiting for your" not in t, "the session to end", 30)
        assert rows_below_head(text)[0].startswith("aaa-other")  # ended: last
        tty.press("q")
        assert tty.finish() == 0
    finally:
        tty.close()


def test_a_slow_answer_shows_as_model_and_its_latency_in_the_timeline(
    make_rig: MakeRig,
) -> None:
    """The mock holds the answer 3 s before its end ([slow:3000]): the NOW column says
    `model` for those seconds, and the session's timeline gives the request 3 s ± 0.5."""
    rig = make_rig(monitor=False, project="slowpoke")
    env = rig.sandbox.aitop_env() | {"TERM": "xterm-256color", "TZ": "UTC"}
    tty = Tty([*aitop_command()], env, 150, 45)
    try:
        tty.wait_text("Sessions 0")
        sid = str(uuid.uuid4())
        run = rig.claude.start("Please think about it [slow:3000]", session_id=sid)
        thinking = re.compile(r"^slowpoke .* model ([2-4])s ", re.M)
        tty.wait_for(lambda t: bool(thinking.search(t)), "`model 2s` in NOW", 60)
        assert run.wait() == 0, run.output()
        tty.wait_for(lambda t: re.search(r"^slowpoke .* (ended|idle|waiting)", t, re.M)
                     is not None, "the turn's end", 30)  # fmt: skip
        tty.press("\r")  # the detail, with the timeline near its top
        request = re.compile(r"^\d\d:\d\d:\d\d  opus-5-5 .*?(\d+\.\d)s$", re.M)
        text = tty.wait_for(lambda t: bool(request.search(t)), "the request's duration", 30)
        took = float(request.search(text).group(1))  # type: ignore[union-attr]
        assert 2.5 <= took <= 3.5, text
        tty.press("q")
        assert tty.finish() == 0
    finally:
        tty.close()
