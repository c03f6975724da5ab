"""Plan limits: window names, the pace forecast, a window's readings in any order, and the
limit state in the aggregator (agent-level, stale once the window resets). Clock injected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitop import events as ev
from aitop import limits as lim
from aitop.aggregate import MAX_LIMIT_WINDOWS, Aggregator
from aitop.batch import to_json
from aitop.limits import Forecast, Reading, Track, forecast, window_name
from aitop.pricing import Pricer

T0 = 1_796_100_000.0
RESET = T0 + 5400.0  # the 5-hour window resets in 1h30m
PRICER = Pricer.load()


def info(agent: str = "claude-code", sid: str = "s1", t: float = T0) -> ev.SessionInfo:
    return ev.SessionInfo(agent=agent, session_id=sid, time=t)


def limits_event(
    t: float,
    five: float | None = 10.0,
    week: float | None = None,
    *,
    agent: str = "claude-code",
    reset: float | None = RESET,
    plan: str | None = None,
    scope: str | None = None,
) -> ev.PlanLimits:
    windows = []
    if five is not None:
        windows.append(ev.LimitWindow(300, five, reset))
    if week is not None:
        windows.append(ev.LimitWindow(10_080, week, T0 + 4 * 86_400))
    return ev.PlanLimits(info(agent, t=t), tuple(windows), plan=plan, scope=scope)


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "name"),
    [(300, "5h"), (10_080, "7d"), (60, "1h"), (1440, "1d"), (90, "90m"), (45, "45m")],
)
def test_a_window_is_named_by_its_length(minutes: int, name: str) -> None:
    assert window_name(minutes) == name


# --- the forecast: a table --------------------------------------------------------------


@pytest.mark.parametrize(
    ("readings", "now", "expected"),
    [
        # 10 % in the last 15 minutes: 40 %/h; 50 % left → full in 75 minutes
        ([(T0 - 900, 40.0), (T0, 50.0)], T0, Forecast(40.0, T0 + 4500)),
        # the use at the horizon is the last reading before it (a step function)
        ([(T0 - 3600, 30.0), (T0 - 1200, 40.0), (T0, 50.0)], T0, Forecast(40.0, T0 + 4500)),
        # idle time counts: the same rise, 15 minutes later, is half the pace
        ([(T0 - 900, 40.0), (T0, 50.0)], T0 + 900, Forecast(0.0, None)),
        ([(T0 - 1800, 40.0), (T0, 50.0)], T0 + 900, Forecast(0.0, None)),
        ([(T0 - 600, 40.0), (T0, 50.0)], T0 + 300, Forecast(40.0, T0 + 300 + 4500)),
        # less history than the pace window: the pace over what there is
        ([(T0 - 300, 45.0), (T0, 50.0)], T0, Forecast(60.0, T0 + 3000)),
        # too little history to tell
        ([(T0 - 30, 45.0), (T0, 50.0)], T0, Forecast(None, None)),
        ([(T0, 50.0)], T0, Forecast(None, None)),
        ([], T0, Forecast(None, None)),
        # not rising: a pace of 0, never full
        ([(T0 - 900, 50.0), (T0, 50.0)], T0, Forecast(0.0, None)),
        # already full: full since the reading that said so
        ([(T0 - 900, 90.0), (T0 - 60, 100.0)], T0, Forecast(40.0, T0 - 60)),
    ],
)
def test_forecast(readings: list[tuple[float, float]], now: float, expected: Forecast) -> None:
    got = forecast([Reading(t, used, RESET) for t, used in readings], now, pace_s=900)
    assert got.pct_per_hour == pytest.approx(expected.pct_per_hour)
    assert got.full_at == pytest.approx(expected.full_at)


@pytest.mark.parametrize(
    ("reading", "now", "stale"),
    [
        (Reading(T0, 50.0, RESET), RESET - 1, False),
        (Reading(T0, 50.0, RESET), RESET, True),  # the window has reset since
        (Reading(RESET + 1, 50.0, RESET), RESET + 2, False),  # the agent said so after
        (Reading(T0, 50.0, None), T0 + 300 * 60, False),
        (Reading(T0, 50.0, None), T0 + 300 * 60 + 1, True),  # older than the window
    ],
)
def test_figures_from_before_their_windows_reset_are_stale(
    reading: Reading, now: float, stale: bool
) -> None:
    assert lim.is_stale(reading, 300, now) is stale


# --- the forecast: properties -----------------------------------------------------------

rising = st.lists(
    # the vendors say a tenth of a percent at most
    st.tuples(st.floats(0, 7200), st.integers(0, 50).map(lambda n: n / 10)), min_size=1, max_size=30
).map(
    # readings at increasing times whose use only rises, as within one period
    lambda steps: [
        Reading(T0 + sum(s[0] for s in steps[: i + 1]), min(100.0, sum(s[1] for s in steps[: i + 1])), None)
        for i in range(len(steps))
    ]
)  # fmt: skip


@given(rising, st.floats(0, 7200), st.floats(60, 7200))
def test_the_pace_is_the_rise_over_the_pace_window(
    readings: list[Reading], after: float, pace: float
) -> None:
    now = readings[-1].seen_at + after
    cast = forecast(readings, now, pace)
    if cast.pct_per_hour is None:
        return
    assert cast.pct_per_hour >= 0
    # never more than the whole rise of the history over the time it spans
    span = min(pace, now - readings[0].seen_at)
    assert cast.pct_per_hour <= (readings[-1].used_pct - readings[0].used_pct) / span * 3600 + 1e-6
    if cast.full_at is not None:
        assert cast.full_at >= min(now, readings[-1].seen_at)
        if readings[-1].used_pct < 100:
            # at that pace, what is left is used up exactly at full_at
            left = 100 - readings[-1].used_pct
            assert cast.pct_per_hour * (cast.full_at - now) / 3600 == pytest.approx(left)


@given(rising, st.floats(0, 3600))
def test_waiting_longer_never_brings_the_fill_sooner(readings: list[Reading], wait: float) -> None:
    now = readings[-1].seen_at
    earlier, later = forecast(readings, now, 900), forecast(readings, now + wait, 900)
    if earlier.full_at is not None and later.full_at is not None and readings[-1].used_pct < 100:
        assert later.full_at >= earlier.full_at - 1e-6


# --- a window's readings ----------------------------------------------------------------


@given(st.permutations(list(range(12))))
def test_readings_in_any_order_give_the_same_history(order: list[int]) -> None:
    readings = [Reading(T0 + 60 * i, float(i), RESET) for i in range(12)]
    track = Track()
    for i in order:
        track.add(readings[i])
    assert track.history == readings
    assert track.latest == readings[-1]


def test_a_new_period_starts_a_new_history_and_an_older_one_is_ignored() -> None:
    track = Track()
    track.add(Reading(T0, 80.0, RESET))
    track.add(Reading(RESET + 60, 2.0, RESET + 5 * 3600))  # after the reset: from nothing
    assert track.history == [Reading(RESET + 60, 2.0, RESET + 5 * 3600)]
    track.add(Reading(T0 + 60, 81.0, RESET))  # read late, of the old period: not now
    assert track.history == [Reading(RESET + 60, 2.0, RESET + 5 * 3600)]


def test_reset_times_a_little_apart_are_one_period() -> None:
    track = Track()
    track.add(Reading(T0, 10.0, RESET))
    track.add(Reading(T0 + 60, 11.0, RESET + 2))
    assert len(track.history) == 2


def test_the_history_is_bounded() -> None:
    track = Track()
    for i in range(3 * lim.MAX_POINTS):
        track.add(Reading(T0 + i, i / 100, None))
    assert len(track.history) == lim.MAX_POINTS
    assert track.latest == Reading(
        T0 + 3 * lim.MAX_POINTS - 1, (3 * lim.MAX_POINTS - 1) / 100, None
    )
    track.add(Reading(T0 + 10 * lim.HISTORY_S, 99.0, None))
    assert track.history == [Reading(T0 + 10 * lim.HISTORY_S, 99.0, None)]


def test_the_same_moment_said_twice_keeps_one_reading() -> None:
    track = Track()
    track.add(Reading(T0, 10.0, RESET))
    track.add(Reading(T0, 11.0, RESET))
    assert track.history == [Reading(T0, 11.0, RESET)]


# --- the state in the aggregator --------------------------------------------------------


def test_limits_are_the_latest_figures_per_agent_and_window() -> None:
    agg = Aggregator(PRICER, T0 - 3600)
    agg.apply(limits_event(T0 - 900, 40.0, 15.0, plan="max"), T0 - 900)
    agg.apply(limits_event(T0, 50.0, 16.0), T0)
    agg.apply(limits_event(T0 - 10, 8.0, 2.0, agent="codex", reset=T0 + 3600), T0)
    rows = agg.snapshot(T0).limits
    assert [(r.agent, r.window, r.used_pct, r.plan, r.stale) for r in rows] == [
        ("claude-code", "5h", 50.0, "max", False),
        ("claude-code", "7d", 16.0, "max", False),
        ("codex", "5h", 8.0, None, False),
        ("codex", "7d", 2.0, None, False),
    ]
    five = rows[0]
    assert five.seen_at_ts == T0 and five.resets_at_ts == RESET
    assert five.seen_at == "2026-12-01T04:40:00.000Z"
    assert five.pct_per_hour == pytest.approx(40.0)
    assert five.full_at_ts == pytest.approx(T0 + 4500)  # full in 1h15m, before the reset


def test_limits_are_no_session_and_no_sign_of_life() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(limits_event(T0), T0)
    assert agg.snapshot(T0).sessions == []


def test_figures_older_than_their_windows_reset_are_stale_never_current() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(limits_event(T0 - 600, 60.0), T0 - 600)
    agg.apply(limits_event(T0, 70.0), T0)
    (row,) = agg.snapshot(RESET + 1).limits
    assert row.stale and row.used_pct == 70.0
    assert row.full_at_ts is None and row.pct_per_hour is None  # no forecast from the past
    # the next reading, in the new period, is current again and starts its own history
    agg.apply(limits_event(RESET + 60, 1.0, reset=RESET + 5 * 3600), RESET + 60)
    (row,) = agg.snapshot(RESET + 61).limits
    assert not row.stale and row.used_pct == 1.0 and row.pct_per_hour is None


def test_the_pace_window_is_the_aggregators() -> None:
    agg = Aggregator(PRICER, T0, pace_s=300)
    agg.apply(limits_event(T0 - 900, 30.0), T0)
    agg.apply(limits_event(T0 - 300, 40.0), T0)
    agg.apply(limits_event(T0, 45.0), T0)
    (row,) = agg.snapshot(T0).limits
    assert row.pct_per_hour == pytest.approx(60.0)  # 5 % in the last 5 minutes


def test_a_scope_is_a_limit_of_its_own() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(limits_event(T0, 10.0, agent="codex"), T0)
    agg.apply(limits_event(T0, 70.0, agent="codex", scope="premium"), T0)
    rows = agg.snapshot(T0).limits
    assert [(r.scope, r.used_pct) for r in rows] == [(None, 10.0), ("premium", 70.0)]


def test_made_up_windows_cannot_grow_memory() -> None:
    agg = Aggregator(PRICER, T0)
    for minutes in range(1, 10 * MAX_LIMIT_WINDOWS):
        event = ev.PlanLimits(info(), (ev.LimitWindow(minutes, 1.0, None),))
        agg.apply(event, T0)
    assert len(agg.snapshot(T0).limits) == MAX_LIMIT_WINDOWS


def test_limits_are_in_the_json_snapshot() -> None:
    import json

    agg = Aggregator(PRICER, T0)
    agg.apply(limits_event(T0, 37.0, plan="pro"), T0)
    data = json.loads(to_json(agg.snapshot(T0)))
    (row,) = data["limits"]
    assert {k: row[k] for k in ("agent", "window", "used_pct", "plan", "stale")} == {
        "agent": "claude-code",
        "window": "5h",
        "used_pct": 37.0,
        "plan": "pro",
        "stale": False,
    }
    assert row["resets_at"] == "2026-12-01T06:10:00.000Z" and row["seen_at"].startswith("2026-")


# --- the agent's own figures (status line): a cross-check, not a sign of life -------------


def test_the_agents_own_cost_and_context_are_kept_beside_aitops() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.AgentGauges(info(t=T0), 0.1147, 264_252, 1_000_000), T0)
    (row,) = agg.snapshot(T0).sessions
    assert (row.agent_cost_usd, row.agent_context_tokens, row.agent_context_limit) == (
        0.1147,
        264_252,
        1_000_000,
    )
    assert not row.agent_cost_stale


def test_the_agents_figures_resent_while_idle_are_no_activity() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.SessionStarted(info(t=T0)), T0)  # and nothing in flight since
    for t in range(10, 1200, 10):  # a refreshInterval of 10 s, for 20 minutes
        agg.apply(ev.AgentGauges(info(t=T0 + t), 0.5), T0 + t)
    (row,) = agg.snapshot(T0 + 1200).sessions
    assert row.last_activity_ts == T0
    assert row.status == "idle"
    assert row.now is not None and row.now.state == "idle" and row.timeline == []


def test_the_agents_figures_do_not_answer_a_wait() -> None:
    agg = Aggregator(PRICER, T0)
    sid = info(t=T0)
    agg.apply(ev.Waiting(sid, "permission"), T0)
    agg.apply(ev.AgentGauges(info(t=T0 + 1), 0.2), T0 + 1)
    agg.apply(limits_event(T0 + 1), T0 + 1)
    (row,) = agg.snapshot(T0 + 2).sessions
    assert row.status == "waiting" and row.waiting_for == "permission"


def test_an_older_figure_read_late_does_not_replace_a_newer_one() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.AgentGauges(info(t=T0 + 10), 0.3), T0 + 10)
    agg.apply(ev.AgentGauges(info(t=T0), 0.1), T0 + 10)
    (row,) = agg.snapshot(T0 + 10).sessions
    assert row.agent_cost_usd == 0.3
