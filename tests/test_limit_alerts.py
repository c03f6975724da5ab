"""Plan limit alerts: tables of limit rows and the alerts each must (and must not) raise,
the pace alert once per window period over a sequence of snapshots, and the bell. The
clock is injected everywhere."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitop import events as ev
from aitop.aggregate import Aggregator
from aitop.config import parse
from aitop.limit_alerts import CRITICAL, WARNING, LimitAlerts, LimitSettings, level_alerts, span
from aitop.pricing import Pricer
from aitop.snapshot import LimitRow

NOW = 1_796_100_000.0
RESET = NOW + 5160  # 1h26m


def row(used: float, **kw: object) -> LimitRow:
    base: dict[str, object] = dict(
        agent="claude-code", window="5h", used_pct=used, resets_at="", plan=None, seen_at="",
        window_minutes=300, resets_at_ts=RESET, seen_at_ts=NOW,
    )  # fmt: skip
    return LimitRow(**(base | kw))  # type: ignore[arg-type]


def kinds(alerts: list[object]) -> list[tuple[str, str]]:
    return [(a.id, a.severity) for a in alerts]  # type: ignore[attr-defined]


LEVEL_CASES = [
    ("below every level", [row(79.9)], []),
    ("at 80 %", [row(80.0)], [(f"limit:claude-code::5h:80:{int(RESET)}", WARNING)]),
    ("past 95 %: only the highest level", [row(96.0)], [(f"limit:claude-code::5h:95:{int(RESET)}", CRITICAL)]),
    ("full", [row(100.0)], [(f"limit:claude-code::5h:95:{int(RESET)}", CRITICAL)]),
    ("stale figures raise nothing", [row(99.0, stale=True)], []),
    (
        "each agent and window on its own",
        [row(81.0), row(85.0, window="7d", window_minutes=10_080, resets_at_ts=None),
         row(97.0, agent="codex", scope="premium")],
        [(f"limit:claude-code::5h:80:{int(RESET)}", WARNING), ("limit:claude-code::7d:80:", WARNING),
         (f"limit:codex:premium:5h:95:{int(RESET)}", CRITICAL)],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("name", "rows", "expected"), LEVEL_CASES, ids=[c[0] for c in LEVEL_CASES])
def test_level_alerts(name: str, rows: list[LimitRow], expected: list[tuple[str, str]]) -> None:
    assert kinds(level_alerts(rows, LimitSettings(), NOW)) == expected


def test_level_alert_wording() -> None:
    (alert,) = level_alerts([row(83.4)], LimitSettings(), NOW)
    assert alert.message == "claude 5h limit 83.4 % used (alert at 80 %), resets in 1h26m"
    (alert,) = level_alerts([row(100.0, agent="codex")], LimitSettings(), NOW)
    assert alert.message == "codex 5h limit reached (alert at 95 %), resets in 1h26m"


def test_levels_are_configurable() -> None:
    settings = parse(b"[limits]\nlevels = [50, 70, 90]\n", "config.toml").limits
    assert kinds(level_alerts([row(75.0)], settings, NOW)) == [
        (f"limit:claude-code::5h:70:{int(RESET)}", WARNING)
    ]
    assert level_alerts([row(99.0)], LimitSettings(levels=[]), NOW) == []


def test_a_new_period_is_a_new_alert() -> None:
    later = RESET + 5 * 3600
    first = level_alerts([row(85.0)], LimitSettings(), NOW)
    second = level_alerts([row(85.0, resets_at_ts=later)], LimitSettings(), RESET + 60)
    assert first[0].id != second[0].id


# --- the pace alert: once per window period ---------------------------------------------


def pace_row(used: float, full_in: float | None, **kw: object) -> LimitRow:
    return row(used, full_at_ts=None if full_in is None else NOW + full_in, **kw)


PACE = f"limit_pace:claude-code::5h:{int(RESET)}"
# (rows of one snapshot, the pace alerts it must show)
SEQUENCE = [
    ([pace_row(40.0, None)], []),  # not rising
    ([pace_row(50.0, 9000)], []),  # full after the reset
    ([pace_row(60.0, 2880)], [PACE]),  # full in 48m, reset in 1h26m
    ([pace_row(62.0, 2000)], [PACE]),  # still: the same alert (one ring)
    ([pace_row(62.0, 9000)], []),  # the pace slowed: it clears...
    ([pace_row(70.0, 1000)], []),  # ...and is not raised again in this period
    ([pace_row(70.0, 1000, stale=True)], []),
    # the next period: a new alert
    ([pace_row(5.0, 600, resets_at_ts=RESET + 5 * 3600)], [f"limit_pace:claude-code::5h:{int(RESET + 5 * 3600)}"]),
]  # fmt: skip


def test_the_pace_alert_rings_once_per_window_period() -> None:
    alerts = LimitAlerts()
    for n, (rows, expected) in enumerate(SEQUENCE):
        got = [a.id for a in alerts.update(rows, NOW) if a.id.startswith("limit_pace")]
        assert got == expected, f"step {n}"


def test_pace_alert_wording() -> None:
    (alert,) = LimitAlerts().update([pace_row(60.0, 2880)], NOW)
    assert alert.severity == WARNING
    assert alert.message == (
        "claude 5h limit: at the pace of the last 15 min (60 % used) it is full in 48m,"
        " before it resets in 1h26m"
    )


def test_no_pace_alert_when_turned_off_or_already_full() -> None:
    assert LimitAlerts(LimitSettings(forecast=False)).update([pace_row(60.0, 60)], NOW) == []
    assert [a.id for a in LimitAlerts().update([pace_row(100.0, 0)], NOW)] == [
        f"limit:claude-code::5h:95:{int(RESET)}"
    ]


def test_a_window_without_a_reset_time_has_no_pace_alert() -> None:
    assert LimitAlerts().update([pace_row(60.0, 60, resets_at_ts=None)], NOW) == []


def test_the_memory_of_periods_that_are_over_is_let_go() -> None:
    alerts = LimitAlerts()
    alerts.update([pace_row(60.0, 60)], NOW)
    alerts.update([pace_row(60.0, None)], NOW)
    assert alerts._done
    alerts.update([], RESET + 1)
    assert not alerts._done


@given(
    st.lists(st.tuples(st.floats(0, 100), st.one_of(st.none(), st.floats(0, 20_000))), max_size=40)
)
def test_any_sequence_rings_the_pace_alert_at_most_once(
    steps: list[tuple[float, float | None]],
) -> None:
    alerts = LimitAlerts()
    rung = 0
    shown: set[str] = set()
    for used, full_in in steps:
        ids = {
            a.id
            for a in alerts.update([pace_row(used, full_in)], NOW)
            if a.id.startswith("limit_pace")
        }
        rung += len(ids - shown)  # the screen rings for an id it is not showing
        shown = ids
    assert rung <= 1


# --- through the aggregator and the monitor's alert order ---------------------------------


def test_a_window_filling_fast_raises_the_pace_alert_from_real_readings() -> None:
    agg = Aggregator(Pricer.load(), NOW - 3600)
    for n, used in enumerate((40.0, 45.0, 50.0, 55.0)):  # 15 % in 15 minutes: 60 %/h
        t = NOW - 900 + n * 300
        info = ev.SessionInfo("codex", "t", t)
        agg.apply(ev.PlanLimits(info, (ev.LimitWindow(300, used, RESET),)), t)
    (limit,) = agg.snapshot(NOW).limits
    assert limit.pct_per_hour == pytest.approx(60.0)
    (alert,) = LimitAlerts().update([limit], NOW)
    assert alert.id == f"limit_pace:codex::5h:{int(RESET)}"
    assert alert.message.endswith("it is full in 45m, before it resets in 1h26m")
    # at half that pace it would fill after the reset: no alert
    slow = Aggregator(Pricer.load(), NOW - 3600)
    for n, used in enumerate((47.5, 50.0, 52.5, 55.0)):
        t = NOW - 900 + n * 300
        info = ev.SessionInfo("codex", "t", t)
        slow.apply(ev.PlanLimits(info, (ev.LimitWindow(300, used, RESET),)), t)
    assert LimitAlerts().update(slow.snapshot(NOW).limits, NOW) == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (60, "1m"), (2880, "48m"), (5160, "1h26m"), (3600, "1h00m"),
     (86_400 * 4 + 7200 + 59, "4d 2h"), (-5, "0s")],
)  # fmt: skip
def test_span(seconds: float, text: str) -> None:
    assert span(seconds) == text


def test_with_the_bell_each_limit_alert_rings_once_per_window() -> None:
    """Through the screen's own rule (`observe`: a new alert id rings)."""
    from aitop.snapshot import Ingest, Snapshot, Window, Windows
    from aitop.ui.view import View, observe

    def frame(rows: list[LimitRow]) -> Snapshot:
        w = Window()
        found = alerts.update(rows, NOW)
        return Snapshot(time="", uptime_s=0, windows=Windows(w, w, w), since_start=w,
                        sessions=[], models=[], tools=[], alerts=found, ingest=Ingest(), now=NOW,
                        limits=rows)  # fmt: skip

    alerts = LimitAlerts()
    view, _ = observe(View(), frame([]))
    rung: list[str] = []
    for used, full_in in [(50, None), (60, 2000), (81, 1500), (82, 9000), (83, 1000), (96, 500),
                          (97, 400), (98, None)]:  # fmt: skip
        view, new = observe(view, frame([pace_row(float(used), full_in)]))
        rung += [alert.id.split(":")[0] + ":" + alert.id.split(":")[4] for alert in new]
    assert rung == ["limit_pace:" + str(int(RESET)), "limit:80", "limit:95"]
