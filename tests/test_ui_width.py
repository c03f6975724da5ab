"""Display width: names are cut by the cells they take on screen, never by characters,
and nothing a name contains can reach the terminal as a control sequence."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aitop.snapshot import SessionRow
from aitop.ui.sections import Column, Seg, fit, fit_columns, plain, table_row
from aitop.ui.width import cut, cut_left, display_width, pad, printable, wrap

names = st.text(
    st.characters(blacklist_categories=("Cs",)), max_size=40
)  # any text a directory may be called, controls included


def test_wide_names_are_cut_by_cells() -> None:
    assert display_width("東京-dashboard") == 14
    assert cut("東京-dashboard", 5) == "東京…"
    assert cut("東京-dashboard", 4) == "東…"  # 東 + 京 + … would be 5 cells
    assert pad("東京", 6) == "東京  "
    assert pad("東京", 3) == "東…"
    assert cut_left("/home/user/src/東京", 6) == "…/東京"


def test_combining_marks_take_no_cell() -> None:
    assert display_width("cafe\u0301") == 4
    assert pad("cafe\u0301", 5) == "cafe\u0301 "


def test_control_characters_become_visible() -> None:
    assert printable("ok\x1b[2Jbad\x07") == "ok?[2Jbad?"
    assert cut("\x1b]0;title\x07", 20) == "?]0;title?"


@given(names, st.integers(0, 30))
def test_cut_and_pad_never_exceed_the_width(text: str, width: int) -> None:
    assert display_width(cut(text, width)) <= width
    assert display_width(cut_left(text, width)) <= width
    padded = pad(text, width)
    assert display_width(padded) == width
    assert padded.isprintable()


@given(names, st.integers(1, 30))
def test_wrap_keeps_every_line_within_the_width(text: str, width: int) -> None:
    assert all(display_width(line) <= width for line in wrap(text, width))


@given(st.lists(st.tuples(names, st.sampled_from(["", "bad", "dim"])), max_size=6),
       st.integers(0, 60))  # fmt: skip
def test_fit_keeps_roles_and_the_width(segments: list[tuple[str, str]], width: int) -> None:
    line = fit([Seg(text, role) for text, role in segments], width)
    assert display_width(plain(line)) <= width
    assert plain(line).isprintable() or not plain(line)


def _row(project: str) -> SessionRow:
    return SessionRow(
        session_id="s", agent="claude-code", project=project, cwd=None, model=None,
        status="active", tag=None, requests=0, input_tokens=0, output_tokens=0,
        cache_read_tokens=0, cache_write_tokens=0, cost_usd=0.0, cost_estimated=False,
        context_tokens=0, context_limit=0, compactions=0, tool_calls=0, tool_errors=0,
        subagents=0, started="", last_activity="",
    )  # fmt: skip


@given(names, st.integers(20, 80))
def test_a_table_row_is_never_wider_than_the_screen(project: str, width: int) -> None:
    columns: list[Column[SessionRow]] = [
        Column("PROJECT", 10, lambda r: Seg(r.project), right=False, grow=10),
        Column("STATUS", 8, lambda r: Seg(r.status), right=False),
        Column("X", 30, lambda r: Seg("x" * 30), priority=5),
    ]
    sized = fit_columns(columns, width)
    text = plain(table_row(sized, _row(project), width))
    assert display_width(text) <= width
    assert "active" in text  # the least important column went first


def test_columns_are_dropped_by_priority_not_cut_at_the_edge() -> None:
    columns: list[Column[SessionRow]] = [
        Column("A", 10, lambda r: Seg("a"), right=False),
        Column("B", 10, lambda r: Seg("b"), priority=2),
        Column("C", 10, lambda r: Seg("c"), priority=1),
        Column("D", 10, lambda r: Seg(""), priority=1),  # empty: it goes before C
    ]
    rows = [_row("p")]
    assert [c.title for c, _ in fit_columns(columns, 43, rows)] == ["A", "B", "C", "D"]
    assert [c.title for c, _ in fit_columns(columns, 40, rows)] == ["A", "B", "C"]
    assert [c.title for c, _ in fit_columns(columns, 30, rows)] == ["A", "C"]
    assert [c.title for c, _ in fit_columns(columns, 5, rows)] == ["A"]
