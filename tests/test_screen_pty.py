"""The live screen as a user sees it: the real `aitop` on a pseudo-terminal, read back
through pyte (a VT emulator that also answers the cursor-position and device queries
blessed sends at start-up), fed by real `aitop hook` processes.

Nothing here sleeps for a fixed time: every step polls the emulated screen with a
generous timeout.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyte
import pytest

from conftest import SESSIONS, aitop_command
from support import isolated_env, private_dir, run_hook

F1 = SESSIONS / "F1-print-tools-subagent"
F1_ID = "11111111-2222-4333-8444-555555555555"
CAPTURED_HOME = "/home/user/.claude"
pytestmark = pytest.mark.slow


class _Answering(pyte.Screen):
    """A screen that answers the terminal's side of the queries (CPR, DA) on the pty."""

    def __init__(self, columns: int, lines: int, reply: Callable[[str], None]) -> None:
        super().__init__(columns, lines)
        self._reply = reply

    def write_process_input(self, data: str) -> None:
        self._reply(data)


class Tty:
    """A program on a pseudo-terminal of a given size, its screen kept by pyte."""

    def __init__(self, argv: list[str], env: dict[str, str], columns: int, lines: int) -> None:
        self.master, self.slave = pty.openpty()
        self._set_size(columns, lines)
        self.lock = threading.Lock()
        self.screen = _Answering(columns, lines, self._answer)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.process = subprocess.Popen(
            argv,
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            env=env,
            preexec_fn=_controlling_tty,
            close_fds=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _set_size(self, columns: int, lines: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))

    def _answer(self, data: str) -> None:
        os.write(self.master, data.encode())

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return  # EIO: the program and every copy of the slave are gone
            if not data:
                return
            with self.lock:
                self.raw += data
                self.stream.feed(data)

    def text(self) -> str:
        with self.lock:
            return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if check(text):
                return text
            if self.process.poll() is not None:
                raise AssertionError(
                    f"aitop exited ({self.process.returncode}) before {what}:\n{text}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{text}")
            time.sleep(0.02)

    def wait_text(self, needle: str, timeout: float = 30.0) -> str:
        return self.wait_for(lambda text: needle in text, repr(needle), timeout)

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def resize(self, columns: int, lines: int) -> None:
        with self.lock:
            self.screen.resize(lines, columns)
        self._set_size(columns, lines)  # the kernel sends SIGWINCH to the program

    def line_with(self, needle: str) -> str:
        return next((line for line in self.text().splitlines() if needle in line), "")

    def finish(self, timeout: float = 20.0) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=0.5)  # what was written before it exited
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def _controlling_tty() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _restamped_f1(home: Path, end: datetime) -> list[bytes]:
    """F1's transcripts moved in time to end at `end`; its hook payloads, pointing there."""
    claude = home / ".claude"
    times = []
    for path in (F1 / "claude-projects").rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            stamp = json.loads(line).get("timestamp")
            if stamp:
                times.append(datetime.fromisoformat(stamp))
    shift = end - max(times)
    for path in (F1 / "claude-projects").rglob("*.jsonl"):
        target = claude / "projects" / path.relative_to(F1 / "claude-projects")
        target.parent.mkdir(parents=True, exist_ok=True)
        out = []
        for line in path.read_text().splitlines():
            data = json.loads(line)
            if "timestamp" in data:
                moved = datetime.fromisoformat(data["timestamp"]) + shift
                data["timestamp"] = moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            out.append(json.dumps(data))
        target.write_text("\n".join(out) + "\n")
    return [
        json.dumps(json.loads(line)["payload"]).replace(CAPTURED_HOME, str(claude)).encode()
        for line in (F1 / "hooks.jsonl").read_text().splitlines()
    ]


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
        for payload in _restamped_f1(home, datetime.now(UTC) - timedelta(seconds=5)):
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
        tty.wait_text("P95")
        tty.press("\x1b[Z")
        tty.wait_text("CONTEXT")

        # detail of the selected session, and back
        tty.press("\r")
        text = tty.wait_text("Claude Code's own total")
        assert "Main thread and subagents" in text and F1_ID in text
        tty.press("\x1b[F")  # End: the bottom of the detail
        tty.wait_text("The same tokens on each model")
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
