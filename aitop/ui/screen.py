"""The live screen: the only module that imports blessed.

It owns the terminal (one context manager sets it up and, whatever happens, restores
it), turns semantic roles into styles, writes only the lines that changed inside
synchronized output, and plugs the keyboard into the monitor's one loop: keys and
SIGWINCH only set state and ask for a redraw; `on_tick` renders and paints. An
internal error is logged and shown as one line, never as a traceback.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import selectors
import signal
import sys
import termios
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, TextIO

from aitop import paths
from aitop.app import Monitor
from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.log import log
from aitop.snapshot import Alert, Snapshot
from aitop.ui import theme as themes
from aitop.ui.compare import Comparison, compare
from aitop.ui.render import list_rows, render
from aitop.ui.sections import Line, Seg, plain
from aitop.ui.view import HOLD_S, QUIT, REDRAW, View, observe, press, uses_page
from aitop.ui.width import display_width, printable

if TYPE_CHECKING:
    from blessed import Terminal
    from blessed.keyboard import Keystroke

QUERY_TIMEOUT_S = 0.5  # the longest a terminal query may hold start-up
ESC_DELAY_S = 0.1  # a lone Esc vs. the start of an arrow key's sequence
READ_BYTES = 1024  # input read per wake: a paste is handled a slice at a time, between frames
KEY_WINDOW = 64  # longer than any key's sequence: each key is resolved from this much input
SYNCHRONIZED_OUTPUT = 2026  # DEC private mode: the terminal shows a frame at once


def run_screen(
    monitor: Monitor, env: Env, *, interval: float, bell: bool = False, theme: str = "default"
) -> int:
    """Run the live screen until q, F10, Ctrl-C or a stop signal; the exit code."""
    if not (_is_tty(env.stdout) and _is_tty(env.stdin)):
        raise AitopError(
            "the live screen needs a terminal",
            "for plain text frames run: aitop -b",
            ExitCode.USAGE,
        )
    term = _terminal(env.stdout)
    scheme = themes.choose(theme, env.environ, term.number_of_colors)
    dumb = env.environ.get("TERM", "") == "dumb"
    screen = Screen(monitor, term, themes.THEMES[scheme], interval=interval, bell=bell, dumb=dumb)
    screen.log_path = paths.log_path(env.environ)
    screen.run()
    return int(ExitCode.OK)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _terminal(stream: TextIO) -> Terminal:
    # blessed 1.52 asks the terminal a few questions at start-up and waits up to 5 s for
    # each answer; a terminal that answers nothing should not cost more than a moment.
    os.environ.setdefault("BLESSED_QUERY_TIMEOUT_SECONDS", "1")
    # blessed reads NO_COLOR as "no escape sequences at all", which leaves a full-screen
    # program no way to move the cursor: the mono theme is how aitop honours it.
    no_color = os.environ.pop("NO_COLOR", None)
    try:
        from blessed import Terminal

        return Terminal(stream=stream)
    finally:
        if no_color is not None:
            os.environ["NO_COLOR"] = no_color


class Styles:
    """Roles → escape sequences for one theme, resolved once."""

    def __init__(self, term: Terminal, scheme: Mapping[str, str]) -> None:
        self.normal = str(term.normal)
        self._codes: dict[str, str] = {}
        for role, name in scheme.items():
            self._codes[role] = _style(term, name)

    def line(self, line: Line) -> tuple[str, int]:
        """The line as the terminal should receive it, and its width in cells."""
        parts = []
        cells = 0
        for seg in line:
            text = printable(seg.text)
            cells += display_width(text)
            code = self._codes.get(seg.role, "")
            parts.append(f"{code}{text}{self.normal}" if code else text)
        return "".join(parts), cells


def _style(term: Terminal, name: str) -> str:
    if not name:
        return ""
    if name == themes.ORANGE:
        name = "darkorange" if term.number_of_colors >= 256 else "yellow"
    try:
        return str(getattr(term, name))
    except (AttributeError, TypeError):
        log.warning("unknown style %r", name)
        return ""


class Painter:
    """Writes a frame, sending only the lines that differ from what is on screen."""

    def __init__(self, term: Terminal, styles: Styles) -> None:
        self.term = term
        self.styles = styles
        self.out = term.stream
        self.shown: list[str] = []
        self.size = (0, 0)

    def invalidate(self) -> None:
        """Repaint everything next time (Ctrl-L, a resize, after an error)."""
        self.shown = []

    def paint(self, frame: Sequence[Line], width: int, height: int) -> int:
        """Paint `frame`; how many lines were written."""
        term = self.term
        chunks: list[str] = []
        if (width, height) != self.size or not self.shown:
            chunks.append(self.styles.normal + term.home + term.clear)
            self.shown = [""] * height
            self.size = (width, height)
        written = 0
        for y, line in enumerate(frame[:height]):
            text, cells = self.styles.line(line)
            if self.shown[y] == text:
                continue
            chunks.append(term.move_yx(y, 0) + text + (term.clear_eol if cells < width else ""))
            self.shown[y] = text
            written += 1
        if chunks:
            with term.synchronized_output(timeout=QUERY_TIMEOUT_S):
                self.out.write("".join(chunks))
                self.out.flush()
            self.out.flush()
        return written


class PlainPainter(Painter):
    """TERM=dumb: no cursor addressing at all, so whole frames one after another."""

    def paint(self, frame: Sequence[Line], width: int, height: int) -> int:
        self.out.write("\n".join(plain(line).rstrip() for line in frame) + "\n\n")
        self.out.flush()
        return len(frame)


@contextlib.contextmanager
def terminal_mode(term: Terminal, dumb: bool = False) -> Iterator[None]:
    """Everything the screen changes in the terminal, undone in one `finally`:
    cbreak input without flow control, the alternate screen, the hidden cursor."""
    out = term.stream
    cbreak = term.cbreak()
    cbreak.__enter__()  # saves the terminal's modes, and restores them on exit
    try:
        _no_flow_control(term._keyboard_fd)
        if not dumb:
            out.write(term.enter_fullscreen + term.hide_cursor + term.home + term.clear)
            out.flush()
        yield
    finally:
        try:
            if not dumb:
                out.write(term.normal + term.normal_cursor + term.exit_fullscreen)
            out.flush()
        except (OSError, ValueError):
            _discard(out)  # the terminal is gone (hung up): nothing left to restore on it
        with contextlib.suppress(termios.error, OSError, ValueError):
            cbreak.__exit__(None, None, None)


class Keyboard:
    """The terminal's input as key names, in time linear in what arrives.

    blessed's `inkey` reads a byte per system call, joins and re-buffers everything
    pending for each key it returns (a 100 KB paste held the loop for half an hour),
    raises on a byte that is not UTF-8, and recurses once per late reply from the
    terminal (a flood of them overflowed the stack). Here input is read a slice at a time
    (the rest stays in the kernel, so the loop comes back for it after serving the socket
    and painting), decoded with replacement characters, and each key is resolved by
    blessed from a short window of it. aitop turns on no mouse, paste or resize reports,
    so none is matched: such bytes are keys like any others, mostly unbound ones.
    """

    def __init__(self, term: Terminal, fd: int, esc_delay: float = ESC_DELAY_S) -> None:
        from blessed.keyboard import resolve_sequence

        self.fd = fd
        self.esc_delay = esc_delay

        def resolve(text: str, final: bool) -> Keystroke:
            return resolve_sequence(
                text, term._keymap, term._keycodes, term._keymap_prefixes, final=final
            )

        self._resolve: Callable[[str, bool], Keystroke] = resolve
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._text = ""
        self._at = 0
        self.closed = False  # end of input: the terminal went away

    def read(self) -> None:
        """Take up to READ_BYTES of what the terminal sent (call when it is readable)."""
        try:
            data = os.read(self.fd, READ_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""  # EIO: hung up
        if not data:
            self.closed = True
        self._text = self._text[self._at :] + self._decoder.decode(data, final=not data)
        self._at = 0

    def next_key(self) -> str | None:
        """The next whole key; None when nothing is pending, or when what is pending is
        the start of a sequence whose rest is already there to be read."""
        while self._at < len(self._text):
            char = self._text[self._at]
            if char.isprintable():  # blessed names a printable character by itself
                self._at += 1
                return char
            window = self._text[self._at : self._at + KEY_WINDOW]
            key = self._resolve(window, False)
            if key.name == "KEY_ESCAPE" and len(key) == 1:
                # Esc alone, or the start of a longer sequence: only input that is still
                # to come can tell, so wait for it when the window reaches the end
                if self._at + len(window) == len(self._text) and not self.closed:
                    if _readable(self.fd, 0.0):
                        return None  # its rest is already there: the next read brings it
                    if _readable(self.fd, self.esc_delay):
                        self.read()
                        continue
                key = self._resolve(window, True)
            self._at += max(1, len(key))
            return key.name or str(key)
        return None


def _readable(fd: int, timeout: float) -> bool:
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    except (OSError, ValueError):
        return True  # let the read say what is wrong


def _discard(out: IO[str]) -> None:
    """Output that a terminal which is gone could not take stays buffered; Python would
    try it again at exit, fail, and exit with status 120 instead of 0. Point the
    descriptor at /dev/null, where that last flush goes (as `aitop -b | head` does)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, out.fileno())
        finally:
            os.close(devnull)
        out.flush()


def _no_flow_control(fd: int | None) -> None:
    """Ctrl-S (XOFF) would stop the terminal's output until a Ctrl-Q: the next frame's
    write would block, and with it the loop that serves the socket. Without IXON they
    are keys like any other (and unbound)."""
    if fd is None:
        return
    with contextlib.suppress(termios.error, OSError):
        mode = termios.tcgetattr(fd)
        mode[0] &= ~termios.IXON
        termios.tcsetattr(fd, termios.TCSANOW, mode)


class _StderrToLog:
    """Stands in for stderr while the screen is up: nothing may print over it."""

    def write(self, text: str) -> int:
        if text.strip():
            log.warning("stderr: %s", text.rstrip())
        return len(text)

    def flush(self) -> None:
        pass


class Screen:
    def __init__(
        self,
        monitor: Monitor,
        term: Terminal,
        scheme: Mapping[str, str],
        *,
        interval: float,
        bell: bool = False,
        dumb: bool = False,
    ) -> None:
        self.monitor = monitor
        self.term = term
        self.styles = Styles(term, scheme)
        self.painter: Painter = (PlainPainter if dumb else Painter)(term, self.styles)
        self.dumb = dumb
        self.bell = bell
        self.interval = interval
        self.view = View(hold_s=max(HOLD_S, 3 * interval))
        self.shown: Snapshot | None = None  # what is on screen (frozen while paused)
        self.resized = False
        self.quitting = False
        self.log_path = "~/.aitop/aitop.log"
        fd = term._keyboard_fd  # blessed's keyboard: stdin when it is a tty
        self.keyboard = Keyboard(term, fd) if fd is not None else None
        self._comparison: tuple[tuple[str, int, float], list[Comparison]] | None = None

    # --- lifetime -------------------------------------------------------------------

    def run(self) -> None:
        monitor = self.monitor
        keyboard = self.keyboard.fd if self.keyboard is not None else None
        old_stderr = sys.stderr
        try:
            with terminal_mode(self.term, self.dumb):
                sys.stderr = _StderrToLog()
                self._notice("aitop: starting, reading the last 15 minutes of transcripts…")
                self._probe()
                monitor.open()
                if keyboard is not None:
                    monitor.selector.register(keyboard, selectors.EVENT_READ, self._on_keys)
                monitor.on_signal = self._on_signal
                monitor.run(self.interval, self._on_tick)
        finally:
            sys.stderr = old_stderr
            monitor.on_signal = None
            if keyboard is not None:
                with contextlib.suppress(KeyError, ValueError, OSError):
                    monitor.selector.unregister(keyboard)
            monitor.close()

    def _probe(self) -> None:
        """Ask once, with a short timeout, whether the terminal has synchronized output;
        blessed remembers the answer for every frame after."""
        if self.dumb:
            return
        with contextlib.suppress(OSError, ValueError):
            self.term.get_dec_mode(SYNCHRONIZED_OUTPUT, timeout=QUERY_TIMEOUT_S)

    # --- events (they only change state and ask for a redraw) ---------------------------

    def _on_signal(self, signum: int) -> None:
        if signum == signal.SIGWINCH:
            self.resized = True
            self.monitor.request_redraw()

    def _on_keys(self, _mask: int) -> None:
        keyboard = self.keyboard
        if keyboard is None:
            return
        keyboard.read()
        while not self.quitting:
            name = keyboard.next_key()
            if name is None:
                break
            try:
                self.handle_key(name)
            except Exception as exc:  # a bug must not take the terminal with it
                self._internal_error("a key", exc)
        if keyboard.closed:
            self._quit()  # the terminal went away
        self.monitor.request_redraw()

    def handle_key(self, name: str) -> None:
        snap = self.shown
        if snap is None:
            if name in ("q", "KEY_F10", "KEY_CTRL_C"):
                self._quit()
            return
        page = list_rows(snap, self.view, *self._size()) if uses_page(name) else 1
        self.view, effect = press(self.view, name, snap, page)
        if effect == QUIT:
            self._quit()
        elif effect == REDRAW:
            self.painter.invalidate()

    def _quit(self) -> None:
        # the same way out as Ctrl-C and SIGTERM: the loop stops, the finallys restore
        self.quitting = True
        self.monitor.stop()

    # --- drawing ----------------------------------------------------------------------

    def _on_tick(self, snap: Snapshot) -> bool:
        if self.quitting:
            return False
        try:
            self.view, new = observe(self.view, snap)
            if new and self.bell:
                self._ring(new)
            if not self.view.paused or self.shown is None:
                self.shown = snap
            self.draw()
        except OSError as exc:
            # the terminal is gone (hung up): not an internal error to log each tick, but
            # the end of the screen, as when its input ends or SIGHUP arrives
            log.info("the terminal went away: %s", exc)
            self._quit()
        except Exception as exc:
            self._internal_error("drawing", exc)
        return not self.quitting

    def _size(self) -> tuple[int, int]:
        term = self.term
        return max(1, term.width), max(1, term.height)

    def draw(self) -> None:
        snap = self.shown
        if snap is None:
            return
        if self.resized:
            self.resized = False
            self.painter.invalidate()
        width, height = self._size()
        frame = render(snap, self.view, width, height, comparison=self._compare(snap))
        self.painter.paint(frame, width, height)

    def _compare(self, snap: Snapshot) -> list[Comparison]:
        if self.view.detail is None:
            return []
        row = next((r for r in snap.sessions if r.key == self.view.detail), None)
        if row is None:
            return []
        key = (row.key, row.requests, row.cost_usd)
        if self._comparison is None or self._comparison[0] != key:
            self._comparison = (key, compare(self.monitor.pricer, row, snap.now))
        return self._comparison[1]

    def _notice(self, text: str) -> None:
        width, height = self._size()
        frame: list[Line] = [[] for _ in range(height)]
        frame[height // 2] = [Seg(" " * max(0, (width - len(text)) // 2)), Seg(text, "notice")]
        with contextlib.suppress(OSError, ValueError):
            self.painter.paint(frame, width, height)

    def _internal_error(self, doing: str, exc: Exception) -> None:
        log.exception("internal error while %s", doing)
        message = (
            f"internal error ({type(exc).__name__}: {exc}); details in {self.log_path}"
        ).replace("\n", " ")
        self.view = self.view.replace(error=message)
        try:
            self.painter.invalidate()
            self.draw()
        except Exception:
            log.exception("drawing the error")
            width, height = self._size()
            frame: list[Line] = [[] for _ in range(height)]
            frame[0] = [Seg(message[: width - 1], "error")]
            with contextlib.suppress(Exception):
                self.painter.invalidate()
                self.painter.paint(frame, width, height)

    def _ring(self, new: Sequence[Alert]) -> None:
        """The bell, and a desktop notification where the terminal can show one
        (OSC 777: VTE, foot, Ghostty, WezTerm; OSC 9: iTerm2, Windows Terminal, kitty);
        terminals skip the OSC sequences they do not know."""
        message = "; ".join(alert.message for alert in new)
        text = "".join(ch for ch in message if ch.isprintable() and ch != ";")[:200]
        out = self.term.stream
        sequence = "\a"
        if not self.dumb:
            sequence += f"\x1b]777;notify;aitop;{text}\x1b\\\x1b]9;aitop: {text}\x1b\\"
        with contextlib.suppress(OSError, ValueError):
            out.write(sequence)
            out.flush()
