"""Plan limits on screen: a line per agent in the header, coloured by level, stale figures
said as such, never wider than the screen; the API-prices note; the agent's own context."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitop.snapshot import Ingest, LimitRow, SessionRow, Snapshot, Window, Windows
from aitop.ui.render import agent_context_note
from aitop.ui.sections import API_PRICES_NOTE, header, limit_lines, plain, width_of

NOW = 1_796_100_000.0


def snap() -> Snapshot:
    w = Window()
    return Snapshot(
        time="", uptime_s=0, windows=Windows(w, w, w), since_start=w, sessions=[], models=[],
        tools=[], alerts=[], ingest=Ingest(), now=NOW, pricing_date="2026-11-22",
    )  # fmt: skip


def session(**kw: object) -> SessionRow:
    base = dict(
        session_id="s1", agent="claude-code", project="proj", cwd="/p/proj", model="claude-opus-5-5",
        status="active", tag=None, requests=1, input_tokens=10, output_tokens=10, cache_read_tokens=0,
        cache_write_tokens=0, cost_usd=0.1, cost_estimated=False, context_tokens=1000,
        context_limit=1_000_000, compactions=0, tool_calls=0, tool_errors=0, subagents=0,
        started="", last_activity="",
    )  # fmt: skip
    return SessionRow(**(base | kw))  # type: ignore[arg-type]


def row(used: float, window: str = "5h", minutes: int = 300, **kw: object) -> LimitRow:
    base: dict[str, object] = dict(
        agent="claude-code", window=window, used_pct=used, resets_at="", plan=None,
        seen_at="", window_minutes=minutes, resets_at_ts=NOW + 5160, seen_at_ts=NOW,
    )  # fmt: skip
    return LimitRow(**(base | kw))  # type: ignore[arg-type]


def roles(line: list[object], text: str) -> list[str]:
    return [seg.role for seg in line if text in seg.text]  # type: ignore[attr-defined]


def test_one_line_per_agent_with_its_windows() -> None:
    rows = [
        row(37.0, full_at_ts=NOW + 2880),
        row(15.0, "7d", 10_080, resets_at_ts=NOW + 4 * 86_400 + 7200),
        row(8.0, agent="codex", plan="plus"),
    ]
    lines = [plain(line) for line in limit_lines(rows, NOW, 200)]
    assert lines == [
        f"claude 5h ███      37 % ↻ 1h26m full in 48m · 7d 15 % ↻ 4d 2h   {API_PRICES_NOTE}",
        "codex  5h ▋        8 % ↻ 1h26m  (plus)",
    ]


@pytest.mark.parametrize(("used", "role"), [(37.0, "bar"), (80.0, "warn"), (96.0, "bad")])
def test_coloured_by_level(used: float, role: str) -> None:
    (line,) = limit_lines([row(used)], NOW, 200)
    assert roles(line, "%") == [role]


def test_a_fill_before_the_reset_is_a_warning_after_it_is_dim() -> None:
    (soon,) = limit_lines([row(60.0, full_at_ts=NOW + 600)], NOW, 200)
    (late,) = limit_lines([row(60.0, full_at_ts=NOW + 9000)], NOW, 200)
    assert roles(soon, "full in") == ["warn"] and roles(late, "full in") == ["dim"]


def test_stale_figures_are_never_shown_as_current() -> None:
    (line,) = limit_lines([row(64.0, stale=True, resets_at_ts=NOW - 1800)], NOW, 200)
    text = plain(line)
    assert "5h reset 30m ago, was 64 %" in text
    assert "█" not in text and "↻" not in text
    assert roles(line, "was 64 %") == ["dim"]


def test_no_limits_no_lines_and_no_note() -> None:
    lines = header(snap(), 200, "12:00:00")
    assert len(lines) == 2
    assert "prices of" in plain(lines[1]) and "API list prices" not in plain(lines[1])


def test_with_limits_the_dollars_are_said_to_be_api_list_prices() -> None:
    with_limits = msgspec.structs.replace(snap(), limits=[row(10.0)])
    lines = [plain(line) for line in header(with_limits, 200, "12:00:00")]
    assert "at API list prices of" in lines[1]
    assert lines[2].endswith(API_PRICES_NOTE)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["claude-code", "codex", "a-very-long-agent-name"]),
            st.floats(0, 100),
            st.booleans(),
            st.one_of(st.none(), st.floats(-1e6, 1e7)),
        ),
        max_size=6,
    ),
    st.integers(20, 200),
)
def test_never_wider_than_the_screen(
    specs: list[tuple[str, float, bool, float | None]], width: int
) -> None:
    rows = [
        row(used, agent=agent, stale=stale, full_at_ts=None if full is None else NOW + full)
        for agent, used, stale, full in specs
    ]
    for line in limit_lines(rows, NOW, width):
        assert width_of(line) <= width


def test_narrow_screens_keep_the_figures() -> None:
    rows = [row(37.0, full_at_ts=NOW + 2880), row(15.0, "7d", 10_080)]
    (line,) = limit_lines(rows, NOW, 50)
    text = plain(line)
    assert "37 %" in text and "15 %" in text and width_of(line) <= 50


def _with_context(tokens: int | None, limit: int | None) -> SessionRow:
    return msgspec.structs.replace(
        session(context_tokens=264_252, context_limit=1_000_000),
        agent_context_tokens=tokens,
        agent_context_limit=limit,
    )


@pytest.mark.parametrize(
    ("tokens", "limit", "note"),
    [
        (None, None, ""),
        (264_252, 1_000_000, "  (the agent's own figure: the same)"),
        (270_000, 1_000_000, "  (the agent's own: 270,000 of 1,000,000)"),
    ],
)
def test_the_agents_own_context_beside_aitops(
    tokens: int | None, limit: int | None, note: str
) -> None:
    assert agent_context_note(_with_context(tokens, limit)) == note
