"""Terminal (issue #6): the real `aitop` on a pseudo-terminal, read back through pyte, under
a storm of resizes, a terminal shrunk to 10×3 and back, garbage on its input, and a
hang-up → it never crashes, every frame it settles on is whole, its keys still work, and
it leaves the terminal restored and the socket removed.

Nothing here asserts on measured time: every wait polls with a generous timeout.
"""

from __future__ import annotations

import random
import re
import signal
import string
import termios
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyte
import pytest

from reliability.rig import hook, tool_call

from conftest import aitop_command
from support import Tty, isolated_env, private_dir, restamped_f1, run_hook

pytestmark = pytest.mark.slow

CLEAR = b"\x1b[H\x1b[2J"  # what the painter sends before a whole frame (xterm-256color)
PASTE_BYTES = 100_000
# What `aitop` must not be sent as garbage, because it does what it should with it:
# q quits, and the terminal turns ^C, ^\ and ^Z into signals (INTR, QUIT, SUSP).
SPARED = frozenset(b"q\x03\x1c\x1a")
F10 = b"\x1b[21~"  # quits too


@pytest.fixture
def where(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    home = private_dir(tmp_path / "home")
    socket = private_dir(tmp_path / "run") / "aitop.sock"
    yield home, isolated_env(home, socket, TERM="xterm-256color", TZ="UTC")


def _start(
    env: dict[str, str], columns: int = 100, lines: int = 30, *, controlling: bool = True
) -> Tty:
    return Tty([*aitop_command(), "--no-backfill"], env, columns, lines, controlling=controlling)


def _feed_f1(tty: Tty, home: Path, env: dict[str, str]) -> None:
    """One session's hook frames from real `aitop hook` processes: 8 requests appear."""
    for payload in restamped_f1(home, datetime.now(UTC) - timedelta(seconds=5)):
        result = run_hook(payload, env)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    tty.wait_for(_numbers, "the session's numbers")


def _numbers(text: str) -> bool:
    return "Sessions 1" in text and " 8 " in _line(text, "requests")


def _line(text: str, label: str) -> str:
    return next((line for line in text.split("\n") if line.startswith(label)), "")


def _events(text: str) -> int:
    found = re.search(r"socket listening, ([\d,]+) events", text)
    return int(found.group(1).replace(",", "")) if found else -1


def _whole(
    columns: int, lines: int, numbers: Callable[[str], bool] = _numbers
) -> Callable[[str], bool]:
    """A check that the screen holds a whole frame at this size: the header on the first
    two lines, the expected numbers, the footer on the last line."""

    def check(text: str) -> bool:
        rows = text.split("\n")
        return (
            len(rows) == lines
            and rows[0].startswith("aitop - ")
            and "sessions" in rows[0]
            and rows[1].startswith("socket listening")
            and numbers(text)
            and "Quit" in rows[-1]
            and all(len(row) <= columns for row in rows)
        )

    return check


class _Strict(pyte.Screen):
    """Replays output and records whatever would land outside the screen: a cursor move
    past its edges, a line feed (aitop addresses every line; a feed means a line wrapped
    or the screen scrolled)."""

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.outside: list[str] = []

    def cursor_position(self, line: int | None = None, column: int | None = None) -> None:
        if (line or 1) > self.lines or (column or 1) > self.columns:
            self.outside.append(f"cursor to line {line}, column {column}")
        super().cursor_position(line, column)

    def linefeed(self) -> None:
        self.outside.append(f"line feed at line {self.cursor.y + 1}")
        super().linefeed()


def _last_whole_frame(tty: Tty, columns: int, lines: int) -> _Strict:
    """The output from the last full repaint on, replayed alone on a fresh screen."""
    with tty.lock:
        raw = bytes(tty.raw)
    start = raw.rfind(CLEAR)
    assert start >= 0, "no full repaint"
    screen = _Strict(columns, lines)
    pyte.ByteStream(screen).feed(raw[start:])
    return screen


def _assert_whole(
    tty: Tty, columns: int, lines: int, numbers: Callable[[str], bool] = _numbers
) -> None:
    """The screen settles on a whole frame, and the output from its last full repaint
    on, alone on a fresh screen, makes a whole frame too, with nothing outside."""
    check = _whole(columns, lines, numbers)
    replayed = _Strict(columns, lines)

    def settled(text: str) -> bool:
        nonlocal replayed
        if not check(text):
            return False
        replayed = _last_whole_frame(tty, columns, lines)  # a repaint may still be arriving
        return check("\n".join(line.rstrip() for line in replayed.display))

    text = tty.wait_for(settled, f"a whole frame at {columns}x{lines}, and its last repaint")
    assert replayed.outside == [], replayed.outside
    assert "Traceback" not in text and b"Traceback" not in bytes(tty.raw)


def test_a_storm_of_resizes_ends_in_a_whole_frame(where: tuple[Path, dict[str, str]]) -> None:
    home, env = where
    tty = _start(env)
    try:
        tty.wait_text("Sessions 0")
        _feed_f1(tty, home, env)
        rng = random.Random(6)
        sizes = [(1, 1), (10, 3), (1000, 40), (2000, 8), (3, 200), (60, 12), (59, 11)]
        sizes += [(rng.randint(1, 400), rng.randint(1, 120)) for _ in range(50 - len(sizes))]
        rng.shuffle(sizes)
        for columns, lines in sizes:
            tty.resize(columns, lines)
            time.sleep(0.02)  # pacing, not waiting: 50 resizes in about a second
        assert tty.process.poll() is None
        tty.resize(100, 30)
        _assert_whole(tty, 100, 30)
        tty.resize(132, 43)  # and one more, calmly
        _assert_whole(tty, 132, 43)
        tty.press("q")
        assert tty.finish() == 0
    finally:
        tty.close()


def test_shrunk_to_10x3_and_back(where: tuple[Path, dict[str, str]]) -> None:
    home, env = where
    tty = _start(env)
    try:
        tty.wait_text("Sessions 0")
        _feed_f1(tty, home, env)
        tty.resize(10, 3)
        text = tty.wait_for(lambda t: "Terminal" in t and "10×3" in t, "the notice at 10x3")
        assert all(len(row) <= 10 for row in text.split("\n"))
        tty.resize(100, 30)
        _assert_whole(tty, 100, 30)
        tty.press("q")
        assert tty.finish() == 0
    finally:
        tty.close()


def _garbage(rng: random.Random) -> list[tuple[str, bytes]]:
    # XON and XOFF are kept out of the noise: XOFF comes on its own below, with no XON
    # after it (with flow control on, it would stop the screen's output for good)
    noise = bytes(b for b in rng.randbytes(16384) if b not in SPARED and b not in b"\x11\x13")
    letters = "".join(
        ch for ch in string.ascii_letters + string.digits + string.punctuation if ch != "q"
    )
    paste = "".join(rng.choices(letters + " \n", k=PASTE_BYTES)).encode()
    pieces = [
        ("random bytes", noise),
        ("a truncated CSI", b"\x1b["),
        ("a cursor position report no one asked for", b"\x1b[999;999R"),
        ("a truncated SS3", b"\x1bO"),
        ("bracketed-paste markers", b"\x1b[200~pasted\x1b[201~\x1b[200~unfinished"),
        (
            "mouse reports",
            b"\x1b[M !!\x1b[M\xff\xff\xff\x1b[<0;10;5M\x1b[<0;10;5m\x1b[<64;999;999M",
        ),
        ("an OSC without terminator", b"\x1b]0;title" + b"x" * 3000),
        (
            "invalid UTF-8",
            b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\xc0\xaf\xed\xa0\x80\xf0\x9f",
        ),
        ("NULs", b"\x00" * 2000),
        ("a CSI with a huge parameter", b"\x1b[" + b"9" * 5000 + b"~"),
        ("an in-band resize report", b"\x1b[48;5;5;0;0t\x1b[48;60000;60000;0;0t"),
        ("mode reports", b"\x1b[?2026;1$y\x1b[?2048;1$y\x1b[?1;2c"),
        ("a flood of late terminal-version replies", b"\x1bP>|xterm(1)\x1b\\" * 2000),
        ("late capability replies", b"\x1bP1+r636f6c6f7273=323536\x1b\\" * 500),
        ("kitty keyboard reports", b"\x1b[97;5u\x1b[57399u\x1b[1;1:3A"),
        ("XOFF (Ctrl-S)", b"\x13"),
        ("a 100 KB paste", paste),
        ("a lone Esc", b"\x1b"),
    ]
    for what, data in pieces:
        for quits in (F10, b"\x1b[113", b"\x1b[99;5u"):  # F10, q and Ctrl-C as kitty sends them
            assert quits not in data, what
    return pieces


def _caught_up(tty: Tty, columns: int, lines: int) -> None:
    """Wait until the program has read all its input and handled it: the input queue is
    empty, then a resize, and a frame at the new size (it reads and handles the keys of
    one read before it paints again)."""
    deadline = time.monotonic() + 60
    while tty.unread():
        assert tty.process.poll() is None, "aitop exited"
        assert time.monotonic() < deadline, f"{tty.unread()} bytes of input never read"
        time.sleep(0.02)
    tty.resize(columns, lines)
    tty.wait_for(lambda t: t.split("\n")[-1].strip() != "", f"a frame at {columns}x{lines}")


def _normal_view(text: str) -> bool:
    """The main list: no filter, menu, help or detail."""
    footer = text.split("\n")[-1]
    return "Filter" in footer and "Sort" in footer and "filter “" not in text


HEADS = {"PROJECT ": "sessions", "TOOL ": "tools", "MODEL ": "models", "AGENT ": "agents"}
NEXT_TAB = {"sessions": "tools", "tools": "models", "models": "agents", "agents": "sessions"}


def _tab(text: str) -> str | None:
    """The tab on screen, by the head of its table (the line that starts with it)."""
    lines = text.splitlines()
    found = [name for head, name in HEADS.items() if any(x.startswith(head) for x in lines)]
    return found[0] if len(found) == 1 else None


def test_garbage_on_the_keyboard(where: tuple[Path, dict[str, str]]) -> None:
    home, env = where
    tty = _start(env)
    try:
        tty.wait_text("Sessions 0")
        _feed_f1(tty, home, env)  # a session, tools and models for the keys to act on
        for what, data in _garbage(random.Random(6)):
            tty.type_all(data, timeout=60)
            assert tty.process.poll() is None, f"aitop exited after {what}"
        # no crash, no traceback: once it has read everything, it paints a new frame
        _caught_up(tty, 100, 31)
        text = tty.text()
        assert "aitop - " in text and "socket listening" in text, text
        assert "Traceback" not in text and b"Traceback" not in bytes(tty.raw)

        # the keys still work. Esc back to the main list (the garbage may have left a
        # filter, a menu, the help or a detail open), Z to resume if it paused
        for _ in range(6):
            text = tty.text()
            if _normal_view(text):
                break
            before = (text.split("\n")[-1], "filter “" in text)
            tty.press("\x1b")
            tty.wait_for(
                lambda t, b=before: (t.split("\n")[-1], "filter “" in t) != b,
                "Esc to change the view",
            )
        assert _normal_view(tty.text()), tty.text()
        if "PAUSED" in tty.text():
            tty.press("Z")
            tty.wait_for(lambda t: "PAUSED" not in t, "resumed")
        # Tab goes round the four tabs, each press showing the next, and on to Sessions
        tab = _tab(tty.text())
        assert tab is not None, tty.text()
        for n in range(6):
            if n >= 4 and tab == "sessions":
                break
            tab = NEXT_TAB[tab]
            tty.press("\t")
            tty.wait_for(lambda t, want=tab: _tab(t) == want, f"Tab to {tab}")
        assert tab == "sessions"
        tty.press("?")
        tty.wait_text("select the row above")
        tty.press("x")
        tty.wait_for(lambda t: _tab(t) == "sessions" and _normal_view(t), "the list again")

        # and the numbers still update when hook frames arrive
        events = _events(tty.text())
        assert events > 0
        for n in range(3):
            result = hook(tool_call("after-the-garbage", f"toolu_after_{n}"), env)
            assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
        _assert_whole(tty, 100, 31, lambda t: "Sessions 2" in t and _events(t) == events + 3)
        tty.press("q")
        assert tty.finish() == 0
        log = (home / ".aitop" / "aitop.log").read_text()
        assert "Traceback" not in log and "internal error" not in log
    finally:
        tty.close()


def _left_running(session: int) -> list[str]:
    """Processes still in the session that `aitop` led."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[3]) == session:
            found.append(text[: text.rindex(")") + 1])
    return found


def test_sighup_restores_the_terminal_and_leaves_nothing(
    where: tuple[Path, dict[str, str]],
) -> None:
    _home, env = where
    socket = Path(env["AITOP_SOCKET"])
    tty = _start(env, 80, 24)
    try:
        tty.wait_text("Sessions 0")
        assert socket.exists()
        up = termios.tcgetattr(tty.slave)
        assert not up[3] & (termios.ICANON | termios.ECHO)  # cbreak
        assert not up[0] & termios.IXON  # Ctrl-S is a key, not a freeze
        tty.process.send_signal(signal.SIGHUP)
        assert tty.finish() == 0
        raw = bytes(tty.raw)
        assert raw.rfind(b"\x1b[?1049l") > raw.rfind(b"\x1b[?1049h") > 0  # alternate screen left
        assert raw.rfind(b"\x1b[?25h") > raw.rfind(b"\x1b[?25l") > 0  # cursor shown
        assert not tty.screen.cursor.hidden
        mode = termios.tcgetattr(tty.slave)
        assert mode[3] & termios.ICANON and mode[3] & termios.ECHO
        assert mode == tty.initial_mode  # every mode as it was, flow control included
        assert not socket.exists()
        assert _left_running(tty.process.pid) == []
        assert b"Traceback" not in raw
    finally:
        tty.close()


@pytest.mark.parametrize("controlling", [True, False], ids=["sighup", "no-signal"])
def test_the_terminal_going_away(where: tuple[Path, dict[str, str]], controlling: bool) -> None:
    """The terminal closes: the kernel sends SIGHUP to the program that leads its session;
    one that does not (run from another session, say) sees its input end. Either way,
    every write to the terminal fails from then on."""
    home, env = where
    socket = Path(env["AITOP_SOCKET"])
    tty = _start(env, 80, 24, controlling=controlling)
    try:
        tty.wait_text("Sessions 0")
        tty.hang_up()
        assert tty.finish() == 0
        assert not socket.exists()
        assert _left_running(tty.process.pid) == []
        log = (home / ".aitop" / "aitop.log").read_text()
        assert "stopped" in log and "Traceback" not in log
    finally:
        tty.close()
