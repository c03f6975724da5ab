"""The live screen as a user sees it: the real `aitop` on a pseudo-terminal, read back
through pyte (a VT emulator that also answers the cursor-position and device queries
blessed sends at start-up), fed by real `aitop hook` processes.

Nothing here sleeps for a fixed time: every step polls the emulated screen with a
generous timeout.
"""

from __future__ import annotations

import signal
import termios
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import aitop_command
from support import F1_ID, Tty, isolated_env, private_dir, restamped_f1, run_hook

pytestmark = pytest.mark.slow


@pytest.fixture
def place(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = private_dir(tmp_path / "home")
    socket = private_dir(tmp_path / "run") / "aitop.sock"
    env = isolated_env(home, socket, TERM="xterm-256color", TZ="UTC")
    return home, env


def _start(env: dict[str, str], *args: str, columns: int = 100, lines: int = 30) -> Tty:
    return Tty([*aitop_command(), "--no-backfill", *args], env, columns, lines)


def test_the_screen_as_a_user_drives_it(place: tuple[Path, dict[str, str]]) -> None:
    home, env = place
    socket = Path(env["AITOP_SOCKET"])
    tty = _start(env, "--bell")
    try:
        tty.wait_text("Sessions 0")
        assert socket.exists()
        tty.wait_text("No sessions yet")  # a new user is told what to do

        # hook frames from real `aitop hook` processes: the numbers appear
        for payload in restamped_f1(home, datetime.now(UTC) - timedelta(seconds=5)):
            result = run_hook(payload, env)
            assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
        text = tty.wait_text("Sessions 1")
        text = tty.wait_for(lambda t: " 8 " in _line(t, "requests"), "8 requests in the windows")
        row = tty.line_with("project ")
        assert " 8 " in row and "opus-5-5" in row and "$0.20" in row, text

        # a new alert rang the bell, with a desktop notification
        tty.wait_for(lambda _t: b"\x1b]777;notify;aitop;" in bytes(tty.raw), "the notification")
        assert b"\a" in bytes(tty.raw)

        # sort keys: M (context), then < (the column to its left)
        tty.press("M")
        tty.wait_text("sorted by CONTEXT ↓")
        tty.press("<")
        tty.wait_text("sorted by $/HR ↓")
        tty.press("I")
        tty.wait_text("sorted by $/HR ↑")

        # tabs
        tty.press("\t")
        tty.wait_text("TOOL ")
        assert "Bash" in tty.text()
        tty.press("\t")
        tty.wait_text("SHARE")
        tty.press("\x1b[Z")  # Shift-Tab: back to Tools
        tty.wait_text("ERR%")
        tty.press("\x1b[Z")
        tty.wait_text("NOW ")

        # detail of the selected session, and back
        tty.press("\r")
        text = tty.wait_text("agent's own total")
        assert "Timeline" in text and F1_ID in text  # what it did last, near the top
        tty.press("\x1b[6~")  # PgDn
        tty.wait_text("Main thread and subagents")
        tty.press("\x1b[F")  # End: the bottom of the detail, the rest of the timeline
        tty.wait_text("Timeline, continued")
        tty.press("\x1b")
        tty.wait_for(lambda t: "PROJECT" in t and "own total" not in t, "the list again")

        # help, generated from the keymap; any key returns
        tty.press("?")
        text = tty.wait_text("select the row above")
        assert "F10" in text and "Shift-Tab" in text
        tty.press("x")
        tty.wait_text("PROJECT")

        # resizes at any time: bigger, too small (a notice), back
        tty.resize(120, 40)
        tty.wait_for(lambda t: len(t.splitlines()[0]) > 0 and "last 15 min" in t, "120x40")
        tty.resize(40, 10)
        tty.wait_text("Terminal too small")
        tty.resize(100, 30)
        tty.wait_text("PROJECT")
        assert "Traceback" not in tty.text()

        tty.press("q")
        assert tty.finish() == 0
        raw = bytes(tty.raw)
        # the terminal is restored: alternate screen left, cursor shown, modes back
        assert raw.rfind(b"\x1b[?1049l") > raw.rfind(b"\x1b[?1049h") > 0
        assert raw.rfind(b"\x1b[?25h") > raw.rfind(b"\x1b[?25l") > 0
        assert not tty.screen.cursor.hidden
        mode = termios.tcgetattr(tty.slave)
        assert mode[3] & termios.ICANON and mode[3] & termios.ECHO
        assert not socket.exists()
        assert b"Traceback" not in raw
    finally:
        tty.close()


def _line(text: str, label: str) -> str:
    return next((line for line in text.splitlines() if line.startswith(label)), "")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_signal_restores_the_terminal_and_removes_the_socket(
    place: tuple[Path, dict[str, str]], sig: int
) -> None:
    _home, env = place
    socket = Path(env["AITOP_SOCKET"])
    tty = _start(env, columns=80, lines=24)
    try:
        tty.wait_text("Sessions 0")
        tty.process.send_signal(sig)
        assert tty.finish() == 0
        raw = bytes(tty.raw)
        assert raw.rfind(b"\x1b[?1049l") > raw.rfind(b"\x1b[?1049h") > 0
        assert raw.rfind(b"\x1b[?25h") > raw.rfind(b"\x1b[?25l")
        mode = termios.tcgetattr(tty.slave)
        assert mode[3] & termios.ICANON and mode[3] & termios.ECHO
        assert not socket.exists()
    finally:
        tty.close()


def test_ctrl_c_quits_the_same_way(place: tuple[Path, dict[str, str]]) -> None:
    _home, env = place
    tty = _start(env, columns=80, lines=24)
    try:
        tty.wait_text("Sessions 0")
        tty.press("\x03")  # the terminal turns it into SIGINT
        assert tty.finish() == 0
        raw = bytes(tty.raw)
        assert raw.rfind(b"\x1b[?1049l") > raw.rfind(b"\x1b[?1049h") > 0
        assert not Path(env["AITOP_SOCKET"]).exists()
    finally:
        tty.close()


def test_no_color_and_dumb_terminals(place: tuple[Path, dict[str, str]]) -> None:
    _home, env = place
    tty = _start(env | {"NO_COLOR": "1"}, columns=80, lines=24)
    try:
        tty.wait_text("Sessions 0")
        with tty.lock:
            colours = {
                (char.fg, char.bg) for line in tty.screen.buffer.values() for char in line.values()
            }
        assert colours <= {("default", "default")}  # attributes only, no colour
        tty.press("q")
        assert tty.finish() == 0
    finally:
        tty.close()
    dumb = _start(env | {"TERM": "dumb"}, columns=80, lines=24)
    try:
        dumb.wait_text("Sessions 0")
        dumb.press("q")
        assert dumb.finish() == 0
        raw = bytes(dumb.raw)
        assert b"\x1b[?1049h" not in raw and b"\x1b[" not in raw.split(b"aitop - ", 1)[1]
    finally:
        dumb.close()
