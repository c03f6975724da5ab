"""The screen's glue without a real terminal: a blessed Terminal writing into a string,
a stand-in monitor. Errors become one line (and a log record), keys that quit stop the
monitor's loop, a resize repaints everything, a new alert rings once."""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import pty
import select
import signal
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from blessed import Terminal

from aitop.alerts import Thresholds, evaluate
from aitop.env import Env
from aitop.errors import AitopError
from aitop.snapshot import Alert, Snapshot
from aitop.ui import screen as screen_module
from aitop.ui import theme
from aitop.ui.screen import READ_BYTES, Keyboard, Screen, run_screen

from ui_support import PRICER, fixture_snapshot


class FakeMonitor:
    def __init__(self) -> None:
        self.pricer = PRICER
        self.redraw_requested = False
        self.stopping = False

    def stop(self) -> None:
        self.stopping = True

    def request_redraw(self) -> None:
        self.redraw_requested = True


@pytest.fixture
def snap(tmp_path: Path) -> Snapshot:
    return fixture_snapshot(tmp_path, sessions=False)


def _screen(bell: bool = False) -> tuple[Screen, FakeMonitor, io.StringIO]:
    out = io.StringIO()
    term = Terminal(kind="xterm-256color", stream=out, force_styling=True)
    monitor = FakeMonitor()
    screen = Screen(monitor, term, theme.DEFAULT, interval=1.0, bell=bell)  # type: ignore[arg-type]
    screen._size = lambda: (100, 30)  # type: ignore[method-assign]
    return screen, monitor, out


def test_a_frame_is_drawn_each_tick(snap: Snapshot) -> None:
    screen, _monitor, out = _screen()
    assert screen._on_tick(snap) is True
    assert "payments-api" in out.getvalue() and "aitop" in out.getvalue()


def test_an_internal_error_is_one_line_and_a_log_record(
    snap: Snapshot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    screen, _monitor, out = _screen()
    calls = 0
    real = screen_module.render

    def broken(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ZeroDivisionError("boom")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(screen_module, "render", broken)
    logger = logging.getLogger("aitop")
    logger.addHandler(caplog.handler)
    try:
        assert screen._on_tick(snap) is True  # the loop goes on
    finally:
        logger.removeHandler(caplog.handler)
    text = out.getvalue()
    assert "internal error (ZeroDivisionError: boom); details in" in text
    assert "Traceback" not in text
    assert any("Traceback" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    assert screen.view.error  # shown in the footer until the next key
    screen.handle_key("KEY_DOWN")
    assert not screen.view.error


def test_when_even_the_error_cannot_be_drawn_one_line_still_is(
    snap: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen, _monitor, out = _screen()

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("render is broken")

    monkeypatch.setattr(screen_module, "render", broken)
    assert screen._on_tick(snap) is True
    assert "internal error (RuntimeError: render is broken)" in out.getvalue()


class _Gone(io.StringIO):
    """A terminal that went away: every write fails, as on a hung-up tty."""

    def write(self, _text: str) -> int:
        raise OSError(errno.EIO, "Input/output error")


def test_a_terminal_that_went_away_ends_the_screen(
    snap: Snapshot, caplog: pytest.LogCaptureFixture
) -> None:
    term = Terminal(kind="xterm-256color", stream=_Gone(), force_styling=True)
    monitor = FakeMonitor()
    screen = Screen(monitor, term, theme.DEFAULT, interval=1.0)  # type: ignore[arg-type]
    logger = logging.getLogger("aitop")
    logger.addHandler(caplog.handler)
    try:
        assert screen._on_tick(snap) is False  # the loop stops, the finallys restore
    finally:
        logger.removeHandler(caplog.handler)
    assert monitor.stopping and screen.quitting
    assert not screen.view.error
    assert not any(r.exc_info for r in caplog.records)  # no traceback in the log


@pytest.mark.parametrize("key", ["q", "KEY_F10", "KEY_CTRL_C"])
def test_quit_keys_stop_the_monitor_loop(snap: Snapshot, key: str) -> None:
    screen, monitor, _out = _screen()
    screen._on_tick(snap)
    screen.handle_key(key)
    assert monitor.stopping and screen.quitting
    assert screen._on_tick(snap) is False


def test_sigwinch_only_sets_flags_and_the_next_frame_repaints_all(snap: Snapshot) -> None:
    screen, monitor, out = _screen()
    screen._on_tick(snap)
    screen._on_tick(snap)
    before = len(out.getvalue())
    screen._on_signal(signal.SIGWINCH)
    assert screen.resized and monitor.redraw_requested
    assert len(out.getvalue()) == before  # nothing drawn in the handler
    screen._on_tick(snap)
    assert "\x1b[2J" in out.getvalue()[before:]  # cleared and repainted


def test_pause_freezes_the_frame_but_keys_still_work(snap: Snapshot) -> None:
    screen, _monitor, _out = _screen()
    screen._on_tick(snap)
    screen.handle_key("Z")
    moved = msgspec.structs.replace(snap, uptime_s=snap.uptime_s + 60)
    screen._on_tick(moved)
    assert screen.shown is snap
    screen.handle_key("KEY_TAB")
    assert screen.view.tab == "tools"
    screen.handle_key("Z")
    screen._on_tick(moved)
    assert screen.shown is moved


def test_the_bell_rings_once_per_new_alert(snap: Snapshot) -> None:
    screen, _monitor, out = _screen(bell=True)
    quiet = msgspec.structs.replace(snap, alerts=[])
    screen._on_tick(quiet)
    alert = Alert("budget:x", "critical", "frontend: $3.29 spent; over budget")
    loud = msgspec.structs.replace(snap, alerts=[alert])
    start = len(out.getvalue())
    screen._on_tick(loud)
    rung = out.getvalue()[start:]
    assert rung.count("\a") == 1
    assert "\x1b]777;notify;aitop;frontend: $3.29 spent over budget\x1b\\" in rung
    assert "\x1b]9;aitop: frontend" in rung
    start = len(out.getvalue())
    screen._on_tick(loud)
    assert "\a" not in out.getvalue()[start:]


def test_a_waiting_session_rings_once_per_wait(snap: Snapshot) -> None:
    """Through the real alert rules: the same wait, seconds later (its message has moved
    on), rings no more; the user answers and the next wait rings again."""
    screen, _monitor, out = _screen(bell=True)
    row = next(r for r in snap.sessions if r.status == "waiting")
    others = [r for r in snap.sessions if r is not row]

    def at(seconds: float, waiting: bool) -> Snapshot:
        changed = msgspec.structs.replace(
            row,
            status="waiting" if waiting else "active",
            waiting_for="permission" if waiting else None,
            waiting_since_ts=(snap.now + (0 if seconds < 20 else 20)) if waiting else None,
        )
        moved = msgspec.structs.replace(snap, now=snap.now + seconds, sessions=[changed, *others])
        return msgspec.structs.replace(moved, alerts=evaluate(moved, Thresholds()))

    screen._on_tick(at(0, False))  # the baseline
    for second in (1, 2, 3, 10):
        screen._on_tick(at(second, True))
    assert out.getvalue().count("\a") == 1
    assert out.getvalue().count("waiting for your permission") >= 1
    screen._on_tick(at(15, False))  # answered
    screen._on_tick(at(21, True))  # the next wait
    assert out.getvalue().count("\a") == 2


def test_no_bell_without_the_option(snap: Snapshot) -> None:
    screen, _monitor, out = _screen(bell=False)
    screen._on_tick(msgspec.structs.replace(snap, alerts=[]))
    screen._on_tick(msgspec.structs.replace(snap, alerts=[Alert("x", "warning", "X")]))
    assert "\a" not in out.getvalue()


def test_the_screen_needs_a_terminal() -> None:
    env = Env(stdout=io.StringIO(), stdin=io.StringIO(), environ={})
    with pytest.raises(AitopError) as raised:
        run_screen(FakeMonitor(), env, interval=1.0)  # type: ignore[arg-type]
    assert "aitop -b" in raised.value.line()


def test_typing_does_not_lay_out_the_list(snap: Snapshot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the moves need the page (a layout, about a millisecond): a 100 KB paste used
    to work it out for every key."""
    screen, _monitor, _out = _screen()
    screen._on_tick(snap)
    calls = []
    real = screen_module.list_rows

    def counted(*args: object) -> int:
        calls.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(screen_module, "list_rows", counted)
    for key in ["a", "Z", "Z", "/", "x", "y", "KEY_ENTER", "KEY_TAB", "?", "x", "\x00", "é"]:
        screen.handle_key(key)
    assert calls == []
    screen.handle_key("KEY_PGDOWN")
    assert len(calls) == 1


# --- the keyboard: bytes from a pseudo-terminal in, key names out ------------------------


@pytest.fixture
def keyboard() -> Iterator[tuple[Keyboard, int]]:
    master, slave = pty.openpty()
    tty.setraw(slave)  # every byte as it comes, no signals, no flow control
    term = Terminal(kind="xterm-256color", stream=io.StringIO(), force_styling=True)
    try:
        yield Keyboard(term, slave, esc_delay=0.05), master
    finally:
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def _typed(board: Keyboard, master: int, data: bytes, count: int) -> list[str]:
    """Write `data` (a thread: the terminal takes a few KiB at a time) and read until
    `count` keys came out."""
    writer = threading.Thread(target=_write_all, args=(master, data), daemon=True)
    writer.start()
    keys: list[str] = []
    deadline = time.monotonic() + 60
    while len(keys) < count and time.monotonic() < deadline:
        if select.select([board.fd], [], [], 0.1)[0]:
            board.read()
        while (key := board.next_key()) is not None:
            keys.append(key)
    writer.join(timeout=10)
    return keys


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:4096]) :]


def test_bytes_that_are_not_utf8_are_replacement_characters(
    keyboard: tuple[Keyboard, int],
) -> None:
    board, master = keyboard
    keys = _typed(board, master, b"a\xff\xfe\xc3\xa9\xc3", 4)
    assert keys == ["a", "\ufffd", "\ufffd", "é"]  # the cut é waits for its second byte
    assert _typed(board, master, b"\xa9\x00", 2) == ["é", "KEY_CTRL_SPACE"]


def test_a_flood_of_late_replies_is_keys_not_a_stack_overflow(
    keyboard: tuple[Keyboard, int],
) -> None:
    board, master = keyboard
    keys = _typed(board, master, b"\x1bP>|xterm(1)\x1b\\" * 3000 + b"j", 3001)
    assert keys == ["XTVERSION_RESPONSE"] * 3000 + ["j"]


def test_sequences_whole_cut_and_unknown(keyboard: tuple[Keyboard, int]) -> None:
    board, master = keyboard
    assert _typed(board, master, b"\x1b[A\x1b[Z\t\r", 4) == [
        "KEY_UP",
        "KEY_BTAB",
        "KEY_TAB",
        "KEY_ENTER",
    ]
    # a lone Esc, after the escape delay; a CSI cut short; an unknown one, char by char
    assert _typed(board, master, b"\x1b", 1) == ["KEY_ESCAPE"]
    assert _typed(board, master, b"\x1b[", 1) == ["CSI"]
    assert _typed(board, master, b"\x1b[200~x", 6) == ["CSI", "2", "0", "0", "~", "x"]
    # the rest of a sequence that arrives a moment later still makes one key
    board.esc_delay = 30.0
    later = threading.Timer(0.2, os.write, (master, b"B"))
    later.start()
    assert _typed(board, master, b"\x1b[", 1) == ["KEY_DOWN"]
    later.join()


def test_a_paste_is_read_a_slice_at_a_time(keyboard: tuple[Keyboard, int]) -> None:
    board, master = keyboard
    paste = bytes(ord("a") + n % 26 for n in range(100_000))
    writer = threading.Thread(target=_write_all, args=(master, paste), daemon=True)
    writer.start()
    keys: list[str] = []
    deadline = time.monotonic() + 60
    while len(keys) < len(paste) and time.monotonic() < deadline:
        if select.select([board.fd], [], [], 0.1)[0]:
            board.read()
        slice_ = []
        while (key := board.next_key()) is not None:
            slice_.append(key)
        assert len(slice_) <= READ_BYTES  # the loop gets back to the socket in between
        keys += slice_
    writer.join(timeout=10)
    assert "".join(keys) == paste.decode()


def test_the_end_of_input(keyboard: tuple[Keyboard, int]) -> None:
    board, master = keyboard
    assert _typed(board, master, b"x", 1) == ["x"]
    os.close(master)  # the terminal goes away
    assert select.select([board.fd], [], [], 10)[0]
    board.read()
    assert board.closed and board.next_key() is None
