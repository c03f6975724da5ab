"""Budgets: the periods' spend from the logs before the start and the live requests
after it, each counted once; alerts at 80 % and 100 % once per period; an injected clock
across midnight (Europe/Paris) starts a new day, and a new alert."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from blessed import Terminal

from aitop import alerts, budgets
from aitop.app import Monitor, Options
from aitop.budgets import Budgets, Limits, Spend
from aitop.config import DEFAULT, parse
from aitop.env import Env
from aitop.errors import AitopError
from aitop.events import Usage
from aitop.pricing import PICO_PER_USD, Pricer
from aitop.snapshot import BudgetRow, Snapshot
from aitop.ui import theme
from aitop.ui.screen import Screen
from aitop.ui.sections import header, plain

from support import private_dir

PARIS = dt.timezone(dt.timedelta(hours=1))  # November: no summer time
START = dt.datetime(2026, 11, 22, 23, 50, tzinfo=PARIS).timestamp()  # a Sunday
MODEL = "claude-opus-5-5"
USAGE = {"input_tokens": 1000, "output_tokens": 2000}


def _cost_usd(when: float) -> float:
    usage = Usage(input_tokens=1000, output_tokens=2000)
    return Pricer.load(overlay=False).cost_pico(MODEL, usage, when) / PICO_PER_USD


ONE = _cost_usd(START)


def _line(n: int, when: dt.datetime) -> str:
    return json.dumps(
        {
            "type": "assistant",
            "timestamp": when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "cwd": "/src/web",
            "requestId": f"req_{n}",
            "message": {"id": f"msg_{n}", "model": MODEL, "usage": USAGE},
        }
    )


class Clock:
    def __init__(self, wall: float) -> None:
        self.wall = wall
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    path = tmp_path / "home" / ".claude" / "projects" / "-src-web" / "s1.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(
        "\n".join(
            [
                _line(1, dt.datetime(2026, 10, 31, 12, tzinfo=PARIS)),  # last month
                _line(2, dt.datetime(2026, 11, 21, 12, tzinfo=PARIS)),  # yesterday
                _line(3, dt.datetime(2026, 11, 22, 10, tzinfo=PARIS)),  # today, 10:00
            ]
        )
        + "\n"
    )
    return path


def _monitor(tmp_path: Path, clock: Clock, limits: Budgets) -> Monitor:
    home = private_dir(tmp_path / "home")
    socket = private_dir(tmp_path / "run") / "aitop.sock"
    config = msgspec.structs.replace(DEFAULT, budgets=limits)
    env = Env(
        environ={"HOME": str(home), "TZ": "Europe/Paris"},
        wall_clock=lambda: clock.wall,
        monotonic=lambda: clock.mono,
    )
    return Monitor(Options(str(socket), {"claude-code": str(home / ".claude")}, config), env)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def monitor(tmp_path: Path, transcript: Path, clock: Clock) -> Iterator[Monitor]:
    limits = Budgets(
        daily_usd=ONE / 0.9,  # one request is 90 % of a day's budget
        monthly_usd=ONE * 100,
        agents={"claude-code": Limits(weekly_usd=ONE * 10)},
    )
    m = _monitor(tmp_path, clock, limits)
    m.open()
    yield m
    m.close()


def _rows(snap: Snapshot) -> dict[tuple[str, str | None], BudgetRow]:
    return {(row.period, row.agent): row for row in snap.budgets}


def _budget_alerts(snap: Snapshot) -> list[tuple[str, str]]:
    return [(a.id, a.severity) for a in snap.alerts if a.id.startswith("budget:")]


def test_the_first_frame_does_not_wait_for_the_budgets_history(monitor: Monitor) -> None:
    first: list[Snapshot] = []

    def take(snap: Snapshot) -> bool:
        first.append(snap)
        return False

    monitor.run(1.0, take)
    (snap,) = first
    assert snap.budgets and all(row.counting for row in snap.budgets)
    assert plain(header(snap, 200, "23:50:00")[2]) == "budgets: counting this month…"


@pytest.mark.parametrize(
    ("limits", "said"),
    [
        (Budgets(daily_usd=1), "today"),
        (Budgets(daily_usd=1, agents={"codex": Limits(weekly_usd=5)}), "this week"),
        (Budgets(weekly_usd=5, agents={"claude-code": Limits(monthly_usd=9)}), "this month"),
    ],
)
def test_while_counting_the_header_names_the_longest_period_set(
    tmp_path: Path, transcript: Path, clock: Clock, limits: Budgets, said: str
) -> None:
    """Only a daily budget: the start-up read goes back to midnight, and says "today"."""
    monitor = _monitor(tmp_path, clock, limits)
    monitor.open()
    try:
        first: list[Snapshot] = []
        monitor.run(1.0, lambda snap: first.append(snap) or False)
        (snap,) = first
        assert snap.budgets and all(row.counting for row in snap.budgets)
        assert plain(header(snap, 200, "23:50:00")[2]) == f"budgets: counting {said}…"
    finally:
        monitor.close()


def _screen(bell: bool) -> tuple[Screen, io.StringIO]:
    out = io.StringIO()
    term = Terminal(kind="xterm-256color", stream=out, force_styling=True)
    screen = Screen(None, term, theme.DEFAULT, interval=1.0, bell=bell)  # type: ignore[arg-type]
    screen._size = lambda: (120, 40)  # type: ignore[method-assign]
    return screen, out


def test_with_the_bell_a_budget_alert_rings_once_at_80_and_once_at_100_percent(
    monitor: Monitor, transcript: Path, clock: Clock
) -> None:
    """The monitor's own snapshots, a second apart, on a screen with --bell (and one
    without): the 80 % alert rings once however many frames show it, 100 % once more,
    the next day's 80 % once more; the screen without the option never rings."""
    loud, rung = _screen(bell=True)
    quiet, silent = _screen(bell=False)

    def seconds(n: int) -> None:
        """What the loop does each second: discovery (the session is parked once idle:
        its file is found again when it grows), a tick, a frame."""
        for _ in range(n):
            clock.advance(1)
            monitor._discover(clock.mono)
            monitor._tick()
            snap = monitor.snapshot()
            loud._on_tick(snap)
            quiet._on_tick(snap)

    first: list[Snapshot] = []
    monitor.run(1.0, lambda snap: first.append(snap) or False)
    loud._on_tick(first[0])  # the baseline: still counting, no alert
    quiet._on_tick(first[0])
    assert _budget_alerts(first[0]) == []
    while monitor.budgets is not None and monitor.budgets.pending():
        monitor._count_budgets()
    seconds(5)  # today's 10:00 request is 90 % of the day's budget
    assert _budget_alerts(monitor.snapshot()) == [("budget:daily:*:2026-11-22:80", "warning")]
    assert rung.getvalue().count("\a") == 1
    assert "today's spend (all agents) $" in rung.getvalue()

    clock.advance(295)  # 23:55: over the day's budget
    with transcript.open("a") as out:
        out.write(_line(4, dt.datetime(2026, 11, 22, 23, 55, tzinfo=PARIS)) + "\n")
    seconds(5)
    assert _budget_alerts(monitor.snapshot()) == [("budget:daily:*:2026-11-22:100", "critical")]
    assert rung.getvalue().count("\a") == 2

    clock.advance(890)  # 00:10 on Monday: the new day's first request is 90 % again
    with transcript.open("a") as out:
        out.write(_line(5, dt.datetime(2026, 11, 23, 0, 10, tzinfo=PARIS)) + "\n")
    seconds(5)
    assert _budget_alerts(monitor.snapshot()) == [("budget:daily:*:2026-11-23:80", "warning")]
    assert rung.getvalue().count("\a") == 3
    assert "\a" not in silent.getvalue()


def test_budgets_across_midnight_count_each_request_once_and_alert_once_per_day(
    monitor: Monitor, transcript: Path, clock: Clock
) -> None:
    while monitor.budgets is not None and monitor.budgets.pending():
        monitor._count_budgets()
    snap = monitor.snapshot()
    rows = _rows(snap)
    assert not any(row.counting for row in snap.budgets)
    # today: the 10:00 request; this month: yesterday's too (October's is no month's)
    assert rows["daily", None].spent_usd == pytest.approx(ONE, abs=1e-12)
    assert rows["monthly", None].spent_usd == pytest.approx(2 * ONE, abs=1e-12)
    assert rows["weekly", "claude-code"].spent_usd == pytest.approx(2 * ONE, abs=1e-12)
    assert rows["daily", None].start == "2026-11-22"
    assert _budget_alerts(snap) == [("budget:daily:*:2026-11-22:80", "warning")]
    line = plain(header(snap, 200, "23:50:00")[2])
    assert line.startswith("budgets: today $") and "(90%)" in line and "claude this week" in line

    # 23:55: a live request, read by the provider from the same file (which holds the
    # older ones too: they are the history's, not counted again)
    clock.advance(300)
    with transcript.open("a") as out:
        out.write(_line(4, dt.datetime(2026, 11, 22, 23, 55, tzinfo=PARIS)) + "\n")
    monitor._tick()
    snap = monitor.snapshot()
    rows = _rows(snap)
    assert rows["daily", None].spent_usd == pytest.approx(2 * ONE, abs=1e-12)
    assert rows["monthly", None].spent_usd == pytest.approx(3 * ONE, abs=1e-12)
    assert _budget_alerts(snap) == [("budget:daily:*:2026-11-22:100", "critical")]

    # 00:05 on Monday: a new day and a new week; the month goes on
    clock.advance(600)
    monitor._tick()
    snap = monitor.snapshot()
    rows = _rows(snap)
    assert rows["daily", None].start == "2026-11-23" and rows["daily", None].spent_usd == 0
    assert rows["weekly", "claude-code"].start == "2026-11-23"
    assert rows["weekly", "claude-code"].spent_usd == 0
    assert rows["monthly", None].spent_usd == pytest.approx(3 * ONE, abs=1e-12)
    assert _budget_alerts(snap) == []

    # 00:10: the day's first request is 90 % again: a new alert (a new id: it rings)
    clock.advance(300)
    with transcript.open("a") as out:
        out.write(_line(5, dt.datetime(2026, 11, 23, 0, 10, tzinfo=PARIS)) + "\n")
    monitor._tick()
    snap = monitor.snapshot()
    assert _budget_alerts(snap) == [("budget:daily:*:2026-11-23:80", "warning")]
    logged = [entry.id for entry in snap.alert_log if entry.id.startswith("budget:")]
    assert logged == [
        "budget:daily:*:2026-11-23:80",
        "budget:daily:*:2026-11-22:100",
        "budget:daily:*:2026-11-22:80",
    ]


def test_without_budgets_nothing_is_read_and_nothing_shown(
    tmp_path: Path, transcript: Path, clock: Clock
) -> None:
    monitor = _monitor(tmp_path, clock, Budgets())
    monitor.open()
    try:
        assert monitor.budgets is None
        snap = monitor.snapshot()
        assert snap.budgets == [] and len(header(snap, 200, "23:50:00")) == 2
    finally:
        monitor.close()


# --- the pure parts ----------------------------------------------------------------------------


def test_a_week_that_began_last_month_is_counted_from_its_first_day() -> None:
    limits = Budgets(weekly_usd=1, monthly_usd=1)
    tuesday = dt.date(2026, 12, 1).toordinal()  # weeks from Monday 2026-11-30
    assert budgets.earliest_day(limits, tuesday, 0) == dt.date(2026, 11, 30).toordinal()
    assert budgets.earliest_day(limits, tuesday, 1) == tuesday  # weeks from Tuesday
    assert budgets.earliest_day(Budgets(), tuesday, 0) is None


def test_rows_say_each_budget_and_its_spend_so_far() -> None:
    spend = Spend()
    day = dt.date(2026, 11, 22).toordinal()
    spend.add(day, "codex", 3 * PICO_PER_USD)
    spend.add(day - 1, "claude-code", 2 * PICO_PER_USD)
    limits = Budgets(daily_usd=10, weekly_usd=20, agents={"codex": Limits(daily_usd=4)})
    rows = budgets.rows(limits, spend, day, 0, counting=False)
    assert [(r.period, r.agent, r.spent_usd, r.limit_usd) for r in rows] == [
        ("daily", None, 3.0, 10.0),
        ("weekly", None, 5.0, 20.0),
        ("daily", "codex", 3.0, 4.0),
    ]


@pytest.mark.parametrize(
    ("spent", "expected"),
    [(7.9, None), (8.0, ("budget:weekly:codex:2026-11-16:80", "warning")),
     (10.0, ("budget:weekly:codex:2026-11-16:100", "critical"))],
)  # fmt: skip
def test_budget_alerts_at_80_and_100_percent(spent: float, expected: object) -> None:
    row = BudgetRow(period="weekly", agent="codex", start="2026-11-16", spent_usd=spent,
                    limit_usd=10.0)  # fmt: skip
    alert = alerts._budget_alert(row)
    assert (None if alert is None else (alert.id, alert.severity)) == expected
    if alert is not None:
        assert "this week's spend (codex) $" in alert.message


def test_budgets_in_the_config_file() -> None:
    config = parse(
        b'week_start = "sunday"\n[budgets]\ndaily_usd = 20\n[budgets.agents.codex]\n'
        b"monthly_usd = 50\n",
        "config.toml",
    )
    assert config.week_start == "sunday" and config.budgets.daily_usd == 20
    assert config.budgets.agents["codex"].monthly_usd == 50
    assert config.budgets.periods() == ["daily", "monthly"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b"[budgets.agents.gemini-cli]\ndaily_usd = 1\n",
         "config.toml: budgets.agents.gemini-cli: no such agent; use one of claude-code"),
        (b"[budgets]\ndaily_usd = -1\n", "config.toml: budgets.daily_usd: expected"),
        (b'week_start = "someday"\n', "config.toml: week_start: expected one of 'monday'"),
    ],
)  # fmt: skip
def test_bad_budgets_are_one_clear_error(text: bytes, said: str) -> None:
    with pytest.raises(AitopError) as caught:
        parse(text, "config.toml")
    assert caught.value.line().startswith(f"aitop: error: {said}")


def test_days_no_budget_counts_any_more_are_dropped() -> None:
    """A monitor that runs for months keeps a few weeks of days, not all of them."""
    spend = Spend()
    for day in range(100):
        spend.add(day, "claude-code", 1)
    spend.drop_before(90)
    assert len(spend.days) == 10 and spend.total(0) == 10
