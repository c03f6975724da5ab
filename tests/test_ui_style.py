"""Styles as a terminal shows them: frames painted by the screen's own painter into a
string, read back cell by cell through pyte (colours of thresholds, reverse video of
the selection, the monochrome theme), and the painter's economy (only changed lines)."""

from __future__ import annotations

import io
from pathlib import Path

import msgspec
import pyte
import pytest
from blessed import Terminal

from aitop.snapshot import Snapshot
from aitop.ui import theme
from aitop.ui.render import list_rows, render
from aitop.ui.screen import Painter, Styles
from aitop.ui.sections import Seg
from aitop.ui.view import View, press

from ui_support import fixture_snapshot

WIDTH, HEIGHT = 120, 40


pytestmark = pytest.mark.usefixtures("utc")  # the header shows local time


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return fixture_snapshot(tmp_path_factory.mktemp("claude"))


def _terminal() -> Terminal:
    return Terminal(kind="xterm-256color", stream=io.StringIO(), force_styling=True)


def _screen(snap: Snapshot, view: View, scheme: str = "default") -> pyte.Screen:
    term = _terminal()
    painter = Painter(term, Styles(term, theme.THEMES[scheme]))
    painter.paint(render(snap, view, WIDTH, HEIGHT), WIDTH, HEIGHT)
    screen = pyte.Screen(WIDTH, HEIGHT)
    pyte.Stream(screen).feed(term.stream.getvalue())  # type: ignore[attr-defined]
    return screen


def _row(screen: pyte.Screen, needle: str) -> int:
    for y, line in enumerate(screen.display):
        if needle in line:
            return y
    raise AssertionError(f"{needle!r} not on screen:\n" + "\n".join(screen.display))


def _cells(screen: pyte.Screen, y: int, text: str, after: str = "") -> list[pyte.screens.Char]:
    line = screen.display[y]
    x = line.index(text, line.index(after) if after else 0)
    return [screen.buffer[y][x + n] for n in range(len(text))]


def _select(snap: Snapshot, project: str) -> View:
    view = View()
    for _ in range(20):
        row = next(r for r in snap.sessions if r.project == project)
        view, _ = press(view, "KEY_DOWN", snap, list_rows(snap, view, WIDTH, HEIGHT))
        if view.cursors[0].key == row.key:
            return view
    raise AssertionError(project)


def test_cache_hit_rate_colours(snap: Snapshot) -> None:
    screen = _screen(snap, _select(snap, "billing-service"))
    red = _cells(screen, _row(screen, "ml-pipeline"), "22%")  # < 30 %
    orange = _cells(screen, _row(screen, "frontend"), "48%")  # < 60 %
    green = _cells(screen, _row(screen, "payments-api"), "93%")
    assert {(c.fg, c.bold) for c in red} == {("red", True)}
    assert {c.fg for c in orange} == {"ff8700"}  # colour 208
    assert {c.fg for c in green} == {"green"}
    # the windows table: the 15-minute cache hit rate (85 %) is green too
    windows = _row(screen, "cache hit")
    assert {c.fg for c in _cells(screen, windows, "85%", after="cache hit")} == {"green"}


def test_a_first_request_is_no_cache_miss(snap: Snapshot) -> None:
    """A new session's first request writes the cache it could not have read: its 0 %
    is dim, not bold red, and sorts after every real rate."""
    payments = next(r for r in snap.sessions if r.project == "payments-api")
    new = msgspec.structs.replace(
        payments, session_id="new", project="brand-new", requests=1, cache_read_tokens=0,
        input_tokens=3_000, cache_write_tokens=20_000,
    )  # fmt: skip
    shown = msgspec.structs.replace(snap, sessions=[new, *snap.sessions])
    screen = _screen(shown, _select(shown, "billing-service"))
    cells = _cells(screen, _row(screen, "brand-new"), "0%", after="brand-new ")
    assert {(c.fg, c.bold) for c in cells} == {("brightblack", False)}
    later = msgspec.structs.replace(new, requests=2)  # a second request that missed is a miss
    shown = msgspec.structs.replace(snap, sessions=[later, *snap.sessions])
    screen = _screen(shown, _select(shown, "billing-service"))
    cells = _cells(screen, _row(screen, "brand-new"), "0%", after="brand-new ")
    assert {(c.fg, c.bold) for c in cells} == {("red", True)}


def test_context_fill_and_waiting_status(snap: Snapshot) -> None:
    screen = _screen(snap, _select(snap, "billing-service"))
    payments = _row(screen, "payments-api")
    assert {c.fg for c in _cells(screen, payments, "██████▊   85%")} == {"ff8700"}  # > 80 %
    waiting = _cells(screen, _row(screen, "frontend"), "waiting 59s")  # the NOW column
    assert {(c.fg, c.bg) for c in waiting} == {("black", "brown")}  # pyte calls yellow brown


def test_the_selection_is_reverse_video_across_the_whole_row(snap: Snapshot) -> None:
    screen = _screen(snap, _select(snap, "billing-service"))
    selected = _row(screen, "billing-service")
    assert all(screen.buffer[selected][x].reverse for x in range(WIDTH))
    others = [_row(screen, "payments-api"), _row(screen, "ml-pipeline")]
    assert not any(screen.buffer[y][x].reverse for y in others for x in range(WIDTH))


def test_without_a_selection_the_first_row_is_selected(snap: Snapshot) -> None:
    screen = _screen(snap, View())
    first = _row(screen, "PROJECT") + 1
    assert all(screen.buffer[first][x].reverse for x in range(WIDTH))


def test_header_bar_and_alerts(snap: Snapshot) -> None:
    screen = _screen(snap, View())
    head = _row(screen, "PROJECT")
    assert {screen.buffer[head][x].bg for x in range(WIDTH)} <= {"green", "cyan"}
    sort_column = _cells(screen, head, "$/HR")
    assert {c.bg for c in sort_column} == {"cyan"}  # the column the table is sorted by
    burn = _cells(screen, _row(screen, "burning"), "burning")
    assert {(c.fg, c.bold) for c in burn} == {("red", True)}


def test_mono_theme_has_no_colour_but_keeps_every_signal(snap: Snapshot) -> None:
    screen = _screen(snap, _select(snap, "billing-service"), "mono")
    colours = {(c.fg, c.bg) for line in screen.buffer.values() for c in line.values()}
    assert colours == {("default", "default")}
    assert all(screen.buffer[_row(screen, "billing-service")][x].reverse for x in range(WIDTH))
    red = _cells(screen, _row(screen, "ml-pipeline"), "22%")
    orange = _cells(screen, _row(screen, "frontend"), "48%")
    assert {(c.bold, c.underscore) for c in red} == {(True, True)}
    assert {(c.bold, c.underscore) for c in orange} == {(True, False)}


@pytest.mark.parametrize(
    ("configured", "environ", "colours", "expected"),
    [
        ("default", {"TERM": "xterm-256color"}, 256, "default"),
        ("mono", {"TERM": "xterm-256color"}, 256, "mono"),
        ("default", {"TERM": "xterm-256color", "NO_COLOR": "1"}, 256, "mono"),
        ("default", {"TERM": "xterm-256color", "NO_COLOR": ""}, 256, "default"),
        ("default", {"TERM": "dumb"}, 256, "mono"),
        ("default", {"TERM": "vt100"}, 0, "mono"),
    ],
)
def test_theme_choice(
    configured: str, environ: dict[str, str], colours: int, expected: str
) -> None:
    assert theme.choose(configured, environ, colours) == expected


def test_every_role_has_a_style_in_every_theme() -> None:
    assert set(theme.DEFAULT) == set(theme.MONO)
    term = _terminal()
    for scheme in theme.THEMES.values():
        styles = Styles(term, scheme)
        for role in scheme:
            text, cells = styles.line([Seg("x", role)])
            assert cells == 1 and "x" in text


def test_only_changed_lines_are_written(snap: Snapshot) -> None:
    term = _terminal()
    painter = Painter(term, Styles(term, theme.DEFAULT))
    view = View()
    assert painter.paint(render(snap, view, WIDTH, HEIGHT), WIDTH, HEIGHT) > 20
    assert painter.paint(render(snap, view, WIDTH, HEIGHT), WIDTH, HEIGHT) == 0
    moved, _ = press(view, "KEY_DOWN", snap, 20)
    assert painter.paint(render(snap, moved, WIDTH, HEIGHT), WIDTH, HEIGHT) == 2  # bar moved
    later = msgspec.structs.replace(snap, uptime_s=snap.uptime_s + 60)
    assert painter.paint(render(later, moved, WIDTH, HEIGHT), WIDTH, HEIGHT) == 1  # the header
    painter.invalidate()  # Ctrl-L
    assert painter.paint(render(later, moved, WIDTH, HEIGHT), WIDTH, HEIGHT) > 20


def test_control_characters_in_names_never_reach_the_terminal(tmp_path: Path) -> None:
    snap = fixture_snapshot(tmp_path, sessions=False)
    evil = msgspec.structs.replace(snap.sessions[0], project="evil\x1b]0;pwned\x07\x1b[2J")
    snap = msgspec.structs.replace(snap, sessions=[evil, *snap.sessions[1:]])
    term = _terminal()
    Painter(term, Styles(term, theme.DEFAULT)).paint(render(snap, View(), 100, 30), 100, 30)
    out = term.stream.getvalue()  # type: ignore[attr-defined]
    assert "\x1b]0;" not in out and "\x07" not in out and "\x1b[2J" not in out.split("evil")[1]
    assert "evil?]0;pwned?" in out
