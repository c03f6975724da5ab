"""Alerts: a table of snapshots and the alerts each must (and must not) raise."""

from __future__ import annotations

import msgspec
import pytest

from aitop.alerts import CRITICAL, WARNING, Thresholds, evaluate
from aitop.snapshot import Ingest, ModelRow, SessionRow, Snapshot, Window, Windows

NOW = 1_795_381_000.0
LIMITS = Thresholds()


def session(**kw: object) -> SessionRow:
    base = dict(
        session_id="s1", agent="claude-code", project="proj", cwd="/p/proj", model="claude-opus-5-5",
        status="active", tag=None, requests=1, input_tokens=10, output_tokens=10, cache_read_tokens=0,
        cache_write_tokens=0, cost_usd=0.1, cost_estimated=False, context_tokens=1000,
        context_limit=1_000_000, compactions=0, tool_calls=0, tool_errors=0, subagents=0,
        started="", last_activity="",
    )  # fmt: skip
    return SessionRow(**(base | kw))  # type: ignore[arg-type]


def snap(
    m1: Window | None = None, m5: Window | None = None, sessions=(), models=(), ingest=None
) -> Snapshot:  # type: ignore[no-untyped-def]
    w = Window()
    return Snapshot(
        time="", uptime_s=0, windows=Windows(m1 or w, m5 or w, w), since_start=w,
        sessions=list(sessions), models=list(models), tools=[], alerts=[],
        ingest=ingest or Ingest(), now=NOW,
    )  # fmt: skip


CASES = [
    ("quiet", snap(), []),
    ("burn rate over $5/hr", snap(m1=Window(cost_usd=0.09, output_tokens=5)), [("burn_rate", CRITICAL)]),
    ("burn rate at the limit", snap(m1=Window(cost_usd=5 / 60, output_tokens=5)), []),
    (
        "spending with no output",
        snap(m1=Window(cost_usd=0.06, input_tokens=1000)),  # $3.60/hr: under the burn limit
        [("no_output", WARNING)],
    ),
    ("no output but no money either", snap(m1=Window(cost_usd=0.01)), []),
    (
        "cache hit rate below 30%",
        snap(m1=Window(input_tokens=40_000, cache_read_tokens=10_000, cache_write_tokens=10_000, output_tokens=9)),
        [("cache_hit_rate", WARNING)],
    ),
    ("cache hit rate low on too little prompt", snap(m1=Window(input_tokens=1000, output_tokens=1)), []),
    (
        "cache hit rate fine",
        snap(m1=Window(input_tokens=1000, cache_read_tokens=60_000, output_tokens=1)),
        [],
    ),
    ("tool errors over half of 6 calls", snap(m5=Window(tool_calls=6, tool_errors=4)), [("tool_errors", WARNING)]),
    ("tool errors: too few calls", snap(m5=Window(tool_calls=4, tool_errors=4)), []),
    ("tool errors: exactly half", snap(m5=Window(tool_calls=6, tool_errors=3)), []),
    ("context 85% full", snap(sessions=[session(context_tokens=170_000, context_limit=200_000)]), [("context:s1", WARNING)]),
    ("context 96% full", snap(sessions=[session(context_tokens=192_000, context_limit=200_000)]), [("context:s1", CRITICAL)]),
    ("context of an ended session", snap(sessions=[session(status="ended", context_tokens=199_000, context_limit=200_000)]), []),
    ("context unknown", snap(sessions=[session(context_tokens=5, context_limit=0)]), []),
    ("tool loop", snap(sessions=[session(tool_repeats=5, repeated_tool="Bash")]), [("tool_loop:s1", WARNING)]),
    ("repeats below the loop threshold", snap(sessions=[session(tool_repeats=4, repeated_tool="Bash")]), []),
    ("max_tokens just now", snap(sessions=[session(max_tokens_stops=2, max_tokens_at=NOW - 10)]), [("max_tokens:s1", WARNING)]),
    ("max_tokens long ago", snap(sessions=[session(max_tokens_stops=2, max_tokens_at=NOW - 301)]), []),
    ("no budget set", snap(sessions=[session(cost_usd=1000.0)]), []),
    ("unpriced model", snap(models=[ModelRow(model="claude-x", requests=1, input_tokens=1, output_tokens=1, cost_usd=0.1, estimated=True)]), [("unpriced:claude-x", WARNING)]),
    ("another user knocked", snap(ingest=Ingest(rejected_peer=2)), [("rejected_peer", CRITICAL)]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "snapshot", "expected"), CASES, ids=[c[0] for c in CASES])
def test_alert_table(name: str, snapshot: Snapshot, expected: list[tuple[str, str]]) -> None:
    assert [(a.id, a.severity) for a in evaluate(snapshot, LIMITS)] == expected


def test_session_budget() -> None:
    limits = msgspec.structs.replace(LIMITS, session_budget_usd=2.0)
    found = evaluate(snap(sessions=[session(cost_usd=2.5)]), limits)
    assert [(a.id, a.severity) for a in found] == [("budget:s1", CRITICAL)]
    assert "$2.50" in found[0].message and "$2.00" in found[0].message
    assert evaluate(snap(sessions=[session(cost_usd=1.5)]), limits) == []


def test_thresholds_are_configurable() -> None:
    limits = msgspec.structs.replace(LIMITS, burn_rate_usd_per_hour=100.0)
    assert evaluate(snap(m1=Window(cost_usd=1.0, output_tokens=1)), limits) == []


def test_critical_alerts_come_first() -> None:
    found = evaluate(
        snap(
            m1=Window(cost_usd=1.0, output_tokens=1),
            sessions=[session(tool_repeats=9, repeated_tool="Read")],
            ingest=Ingest(rejected_peer=1),
        ),
        LIMITS,
    )
    assert [a.severity for a in found] == [CRITICAL, CRITICAL, WARNING]


def test_messages_say_what_and_where() -> None:
    (alert,) = evaluate(
        snap(sessions=[session(context_tokens=170_000, context_limit=200_000)]), LIMITS
    )
    assert alert.message == "proj: context 85% full (170,000 of 200,000 tokens)"


# --- waiting sessions ----------------------------------------------------------------------


def waiting(kind: str, since: float, **kw: object) -> SessionRow:
    return session(status="waiting", waiting_for=kind, waiting_since_ts=since, **kw)


def test_a_session_waiting_for_you_is_an_alert_that_says_how_long() -> None:
    (perm,) = evaluate(snap(sessions=[waiting("permission", NOW - 45)]), LIMITS)
    assert perm.severity == CRITICAL  # blocked mid-task: nothing moves until you answer
    assert perm.message == "proj: waiting for your permission for 45s"
    (idle,) = evaluate(snap(sessions=[waiting("input", NOW - 192)]), LIMITS)
    assert idle.severity == WARNING
    assert idle.message == "proj: waiting for your input for 3m 12s"


def test_a_wait_keeps_its_id_while_it_lasts_and_the_next_wait_gets_a_new_one() -> None:
    """The bell and the desktop notification go once per wait: by the alert's id."""
    first = evaluate(snap(sessions=[waiting("input", NOW - 5)]), LIMITS)[0]
    later = msgspec.structs.replace(snap(sessions=[waiting("input", NOW - 5)]), now=NOW + 30)
    same = evaluate(later, LIMITS)[0]
    assert same.id == first.id and same.message != first.message  # the time moved on
    again = evaluate(snap(sessions=[waiting("input", NOW - 1)]), LIMITS)[0]
    assert again.id != first.id


def test_a_wait_is_an_alert_only_while_the_session_waits() -> None:
    for status in ("active", "idle", "ended"):
        row = session(status=status, waiting_for=None, waiting_since_ts=None)
        assert evaluate(snap(sessions=[row]), LIMITS) == [], status


@pytest.mark.parametrize("status", ["ended", "idle"])
def test_sessions_that_ended_or_went_quiet_raise_no_alerts(status: str) -> None:
    """11 context alerts once fired for finished sessions: a session that needs nobody
    raises nothing, whatever its last numbers were."""
    row = session(
        status=status, context_tokens=199_000, context_limit=200_000, tool_repeats=9,
        repeated_tool="Bash", max_tokens_stops=1, max_tokens_at=NOW - 5, cost_usd=99.0,
    )  # fmt: skip
    limits = msgspec.structs.replace(LIMITS, session_budget_usd=1.0)
    assert evaluate(snap(sessions=[row]), limits) == []
    assert (
        len(evaluate(snap(sessions=[msgspec.structs.replace(row, status="active")]), limits)) == 4
    )


# --- naming ------------------------------------------------------------------------------------


def test_alerts_name_sessions_that_share_a_project_apart() -> None:
    """Three sessions in three checkouts called `frontend`: by tag where it tells them
    apart, else by the start of the session id."""
    full = dict(context_tokens=170_000, context_limit=200_000)
    rows = [
        session(session_id="b7e04d91-aaaa", project="frontend", tag="review", **full),
        session(session_id="b7e04d91-bbbb", project="frontend", **full),
        session(session_id="0c1d2e3f-cccc", project="frontend", **full),
        session(session_id="99", project="api", **full),
    ]
    names = [a.message.split(":")[0] for a in evaluate(snap(sessions=rows), LIMITS)]
    assert names == ["frontend [review]", "frontend (b7e04d91-bbb)", "frontend (0c1d2e3f)", "api"]
    assert len(set(names)) == len(names)
