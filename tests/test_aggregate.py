"""Aggregation: ring windows, session rows, tool calls, status; all with an injected clock."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitop import events as ev
from aitop.aggregate import (
    COST,
    ENDED_KEPT_FOR,
    INPUT,
    MAX_ARCHIVED,
    MAX_SESSIONS,
    MAX_TOOL_NAMES,
    OTHER_TOOLS,
    REQUESTS,
    RING,
    SHED_BATCH,
    SPANS,
    TOOL_CALLS,
    TURN_END_GRACE_S,
    UNKNOWN_PROCESS_KEPT_FOR,
    WIDTH,
    Aggregator,
    Ring,
    project_name,
)
from aitop.batch import to_json
from aitop.pricing import PICO_PER_USD, Pricer

T0 = 1_795_381_000.0
PRICER = Pricer.load()
MODEL = "claude-opus-5-5"


def info(sid: str = "s1", t: float = T0, **kw: object) -> ev.SessionInfo:
    return ev.SessionInfo(agent="claude-code", session_id=sid, time=t, **kw)  # type: ignore[arg-type]


def request(
    t: float, *, sid: str = "s1", out: int = 10, inp: int = 100, read: int = 0, write: int = 0,
    model: str = MODEL, previous: ev.Usage | None = None, sub: str | None = None,
    stop: str | None = "end_turn",
) -> ev.Request:  # fmt: skip
    usage = ev.Usage(input_tokens=inp, output_tokens=out, cache_read_tokens=read,
                     cache_write_5m_tokens=write)  # fmt: skip
    return ev.Request(info(sid, t), model=model, usage=usage, previous=previous,
                      subagent_id=sub, sidechain=sub is not None, stop_reason=stop)  # fmt: skip


# --- the ring -------------------------------------------------------------------------


steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 1200), st.integers(0, WIDTH - 1), st.integers(-5, 10**9)),
        st.tuples(st.just("tick"), st.integers(0, 1000), st.just(0), st.just(0)),
    ),
    max_size=80,
)  # fmt: skip


@given(steps)
def test_window_sums_equal_a_brute_force_recount(ops: list[tuple[str, int, int, int]]) -> None:
    ring = Ring(T0)
    now = T0
    kept: list[tuple[int, int, int]] = []  # (second, field, amount)
    for op, a, field, amount in ops:
        if op == "tick":
            now += a
            ring.advance(now)
        else:
            when = now - a  # a late event, up to 20 minutes old
            if ring.add(when, [(field, amount)]):
                kept.append((int(when), field, amount))
            else:
                assert int(now) - int(when) >= RING
        for span in SPANS:
            expected = [0] * WIDTH
            for second, f, value in kept:
                if int(now) - second < span:
                    expected[f] += value
            assert ring.sums(span) == expected, span


def test_events_in_the_future_advance_the_ring() -> None:
    ring = Ring(T0)
    assert ring.add(T0 + 5, [(REQUESTS, 1)])
    assert ring.head == int(T0 + 5)
    ring.advance(T0 + 64)
    assert ring.sums(60)[REQUESTS] == 1
    ring.advance(T0 + 65)
    assert ring.sums(60)[REQUESTS] == 0 and ring.sums(300)[REQUESTS] == 1


def test_a_long_pause_empties_every_window() -> None:
    ring = Ring(T0)
    ring.add(T0, [(REQUESTS, 3)])
    ring.advance(T0 + 10_000)
    assert ring.empty() and ring.sums(900) == [0] * WIDTH


@given(
    st.lists(st.tuples(st.integers(0, 1000), st.integers(1, 9)), max_size=40), st.integers(0, 3000)
)
def test_per_minute_series_equals_a_recount(adds: list[tuple[int, int]], later: int) -> None:
    ring = Ring(T0)
    for age, amount in adds:
        ring.add(T0 - age, [(REQUESTS, amount)])
    ring.advance(T0 + later)
    head = int(T0 + later)
    expected = [
        sum(
            n
            for age, n in adds
            if age < RING and head - 60 * (m + 1) < int(T0 - age) <= head - 60 * m
        )
        for m in range(14, -1, -1)
    ]
    assert ring.per_minute(REQUESTS) == expected


def test_per_minute_series_is_oldest_first() -> None:
    ring = Ring(T0)
    ring.add(T0, [(REQUESTS, 2)])
    ring.add(T0 - 61, [(REQUESTS, 5)])
    ring.add(T0 - 14 * 60 - 30, [(REQUESTS, 7)])
    assert ring.per_minute(REQUESTS) == [7] + [0] * 12 + [5, 2]


# --- requests and money -------------------------------------------------------------------


@given(
    st.lists(
        st.tuples(st.integers(0, 1100), st.integers(0, 5000), st.integers(0, 50_000)), max_size=30
    )
)
def test_aggregator_windows_and_since_start_match_a_recount(
    reqs: list[tuple[int, int, int]],
) -> None:
    agg = Aggregator(PRICER, T0)
    now = T0 + 1200
    for i, (age, out, read) in enumerate(reqs):
        agg.apply(request(now - age, out=out, read=read, sid=f"s{i % 3}"), now)
    snap = agg.snapshot(now)
    for name, span in (("1m", 60), ("5m", 300), ("15m", 900)):
        inside = [(o, r) for age, o, r in reqs if age < span]
        window = snap.windows.by_name()[name]
        assert window.requests == len(inside)
        assert window.output_tokens == sum(o for o, _ in inside)
        cost = sum(PRICER.cost_pico(MODEL, ev.Usage(100, o, r), 0) for o, r in inside)
        assert window.cost_usd == cost / PICO_PER_USD
    after_start = [(o, r) for age, o, r in reqs if now - age >= T0]
    assert snap.since_start.requests == len(after_start)
    assert sum(s.requests for s in snap.sessions) == len(reqs)  # sessions count everything


def test_grown_request_adds_the_difference_in_tokens_and_in_money() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(request(T0, out=1), T0)
    first = ev.Usage(input_tokens=100, output_tokens=1)
    agg.apply(request(T0 + 1, out=250, previous=first), T0 + 1)
    (row,) = agg.snapshot(T0 + 2).sessions
    assert (row.requests, row.output_tokens) == (1, 250)
    assert row.cost_usd == PRICER.cost_pico(MODEL, ev.Usage(100, 250), T0) / PICO_PER_USD


def test_a_tier_crossing_growth_is_priced_as_a_whole() -> None:
    """Growth of a request re-prices it as a whole: cost(total) − cost(counted)."""
    agg = Aggregator(PRICER, T0)
    model = "claude-haiku-5-5"  # a 100K tier that re-prices every token of the request
    below = ev.Usage(input_tokens=99_000)
    agg.apply(ev.Request(info(), model=model, usage=below), T0)
    above = ev.Usage(input_tokens=101_000, output_tokens=10)
    agg.apply(ev.Request(info(), model=model, usage=above, previous=below), T0)
    assert agg.sessions[("claude-code", "s1")].totals[COST] == PRICER.cost_pico(model, above, T0)


def test_subagent_requests_are_in_the_session_and_split_out() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(request(T0, out=10), T0)
    agg.apply(request(T0, out=7, sub="a1"), T0)
    agg.apply(ev.SubagentStarted(info(), "a1", "general-purpose"), T0)
    (row,) = agg.snapshot(T0).sessions
    assert (row.requests, row.output_tokens, row.subagents) == (2, 17, 1)
    (sub,) = row.subagent_rows
    assert (sub.subagent_id, sub.subagent_type, sub.requests, sub.output_tokens) == (
        "a1", "general-purpose", 1, 7)  # fmt: skip


def test_context_fill_is_the_latest_main_thread_request() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(request(T0, inp=10, read=50_000, write=2_000), T0)
    agg.apply(request(T0 + 1, inp=5, read=300_000, sub="a1"), T0 + 1)  # a subagent's own context
    (row,) = agg.snapshot(T0 + 2).sessions
    assert row.context_tokens == 52_010
    assert row.context_limit == PRICER.context_window(MODEL) == 1_000_000


@pytest.mark.parametrize(
    ("model", "picked", "said", "prompt", "limit"),
    [
        ("claude-sonnet-4-5-20250929", None, None, 1000, 200_000),  # the table's
        ("claude-sonnet-4-5-20250929", 1_000_000, None, 1000, 1_000_000),  # the user's pick
        ("claude-sonnet-4-5-20250929", None, 475_000, 1000, 475_000),  # the agent's word
        ("claude-sonnet-4-5-20250929", None, None, 200_001, 1_000_000),  # seen past 200K
        ("claude-opus-4-6", None, None, 1_200_000, 1_200_000),  # never less than seen
    ],
)
def test_context_limit_weighs_the_agent_the_pick_and_what_was_seen(
    model: str, picked: int | None, said: int | None, prompt: int, limit: int
) -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.SessionStarted(info(), model=model, context_window=picked), T0)
    event = request(T0, inp=prompt, model=model)
    agg.apply(msgspec.structs.replace(event, context_window=said), T0)
    (row,) = agg.snapshot(T0).sessions
    assert row.context_limit == limit


def test_unknown_model_is_estimated_not_free() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(request(T0, model="claude-opus-9-9"), T0)
    snap = agg.snapshot(T0)
    (row,) = snap.sessions
    assert row.cost_estimated and row.cost_usd > 0
    assert [m.estimated for m in snap.models] == [True]


def test_models_table_sums_requests_per_model() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(request(T0, out=1), T0)
    agg.apply(request(T0, out=2, model="claude-sonnet-5-5", sid="s2"), T0)
    agg.apply(request(T0, out=3, model="claude-sonnet-5-5", sid="s2"), T0)
    models = {m.model: (m.requests, m.output_tokens) for m in agg.snapshot(T0).models}
    assert models == {MODEL: (1, 1), "claude-sonnet-5-5": (2, 5)}


def test_api_errors_and_compactions_are_counted() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.ApiError(info(), 400), T0)
    agg.apply(ev.Compacted(info(), 13_000), T0)
    w = agg.snapshot(T0).windows.m1
    assert (w.api_errors, w.turns, w.compactions, w.requests) == (1, 0, 1, 0)


def test_turns_come_from_the_log_once_not_from_stop_hooks() -> None:
    """A turn is the main thread's answer that ends it (the provider says which): the same
    count after a restart as before it, and a Stop hook does not count it again."""
    agg = Aggregator(PRICER, T0)
    agg.apply(request(T0, out=5), T0)
    agg.apply(ev.TurnCompleted(info()), T0)  # what the provider reads in the log
    agg.apply(ev.TurnEnded(info()), T0)  # the Stop hook of the same turn
    w = agg.snapshot(T0).windows.m1
    assert (w.turns, w.requests) == (1, 1)


# --- tool calls -------------------------------------------------------------------------


def test_a_tool_call_seen_by_hook_and_transcript_counts_once() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.ToolStarted(info(), "t1", "Bash", input_digest=1), T0)  # PreToolUse
    agg.apply(ev.ToolFinished(info(), "t1", "Bash", ok=True, duration_ms=80), T0)  # PostToolUse
    agg.apply(ev.ToolStarted(info(), "t1", "Bash"), T0)  # the transcript's tool_use block
    agg.apply(ev.ToolFinished(info(), "t1", None, ok=True), T0)  # its tool_result
    snap = agg.snapshot(T0)
    (tool,) = snap.tools
    assert (tool.name, tool.calls, tool.errors, tool.p50_ms) == ("Bash", 1, 0, 80)
    assert snap.windows.m1.tool_calls == 1 and snap.sessions[0].tool_calls == 1


def test_a_denied_tool_is_an_error_from_the_transcript() -> None:
    """A permission denial fires no PostToolUse*: only the transcript's tool_result says so."""
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.ToolStarted(info(), "t1", "Write", input_digest=2), T0)
    agg.apply(ev.ToolFinished(info(), "t1", None, ok=False), T0)
    (tool,) = agg.snapshot(T0).tools
    assert (tool.name, tool.calls, tool.errors) == ("Write", 1, 1)


def test_tool_outcome_before_any_start_is_still_one_call() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.ToolFinished(info(), "t1", "Read", ok=False, duration_ms=5), T0)
    agg.apply(ev.ToolStarted(info(), "t1", "Read"), T0)
    agg.apply(ev.ToolFinished(info(), "t1", None, ok=False), T0)
    (tool,) = agg.snapshot(T0).tools
    assert (tool.calls, tool.errors) == (1, 1)


def test_percentiles_are_nearest_rank() -> None:
    agg = Aggregator(PRICER, T0)
    for i in range(1, 21):
        agg.apply(ev.ToolFinished(info(), f"t{i}", "Grep", ok=True, duration_ms=float(i)), T0)
    (tool,) = agg.snapshot(T0).tools
    assert (tool.p50_ms, tool.p95_ms) == (10.0, 19.0)


def test_made_up_tool_names_cannot_grow_memory() -> None:
    agg = Aggregator(PRICER, T0)
    for i in range(MAX_TOOL_NAMES + 50):
        agg.apply(ev.ToolStarted(info(), f"t{i}", f"tool{i}"), T0)
    assert len(agg.tools) == MAX_TOOL_NAMES + 1  # and one "(other)" row
    assert agg.tools[OTHER_TOOLS].calls == 50


def test_the_same_call_again_and_again_is_a_loop() -> None:
    agg = Aggregator(PRICER, T0)
    for i in range(6):
        agg.apply(ev.ToolStarted(info(), f"t{i}", "Bash", input_digest=42), T0)
    (row,) = agg.snapshot(T0).sessions
    assert (row.tool_repeats, row.repeated_tool) == (6, "Bash")
    agg.apply(ev.ToolStarted(info(), "t9", "Bash", input_digest=43), T0)
    assert agg.snapshot(T0).sessions[0].tool_repeats == 1


def test_a_call_reported_twice_by_its_hooks_is_one_repeat() -> None:
    """Duplicate PreToolUse events for one tool_use_id (a hook registered twice, a retry)
    are one call: 15 reports of a single call are not "called 15x in a row"."""
    agg = Aggregator(PRICER, T0)
    for _ in range(15):
        agg.apply(ev.ToolStarted(info(), "toolu_1", "Bash", input_digest=42), T0)
    (row,) = agg.snapshot(T0).sessions
    assert (row.tool_calls, row.tool_repeats) == (1, 1)
    # the transcript's report of the same call (no input digest) changes nothing either
    agg.apply(ev.ToolStarted(info(), "toolu_1", "Bash"), T0)
    agg.apply(ev.ToolStarted(info(), "toolu_2", "Bash", input_digest=42), T0)
    assert agg.snapshot(T0).sessions[0].tool_repeats == 2


# --- sessions ---------------------------------------------------------------------------


def test_status_waiting_until_the_user_answers() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.SessionStarted(info()), T0)
    assert agg.snapshot(T0).sessions[0].status == "active"
    agg.apply(ev.Waiting(info(t=T0 + 5), "permission"), T0 + 5)
    row = agg.snapshot(T0 + 6).sessions[0]
    assert (row.status, row.waiting_for) == ("waiting", "permission")
    # a transcript line written before the dialog opened does not answer it
    agg.apply(request(T0 + 4), T0 + 7)
    assert agg.snapshot(T0 + 7).sessions[0].status == "waiting"
    # nor does a background subagent's tool
    agg.apply(ev.ToolStarted(info(t=T0 + 8), "t1", "Bash", subagent_id="a1"), T0 + 8)
    assert agg.snapshot(T0 + 8).sessions[0].status == "waiting"
    agg.apply(ev.ToolFinished(info(t=T0 + 9), "t0", "Write", ok=True), T0 + 9)
    assert agg.snapshot(T0 + 9).sessions[0].status == "active"


def test_a_turn_that_ended_waits_for_input_from_that_moment() -> None:
    """An interactive session whose turn ended (Stop) waits for its user's next prompt:
    shown as waiting once the grace for a print-mode exit has passed, with the wait
    counted from the Stop itself, not from the idle notification a minute later."""
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.PromptSubmitted(info(pid=77)), T0)
    agg.apply(ev.TurnEnded(info(t=T0 + 10, pid=77)), T0 + 10)
    row = agg.snapshot(T0 + 11).sessions[0]
    assert (row.status, row.waiting_for) == ("active", None)  # it may be `claude -p`, exiting
    row = agg.snapshot(T0 + 10 + TURN_END_GRACE_S).sessions[0]
    assert (row.status, row.waiting_for, row.waiting_since_ts) == ("waiting", "input", T0 + 10)
    # the idle notification is the same wait: it keeps its start
    agg.apply(ev.Waiting(info(t=T0 + 70), "input"), T0 + 70)
    assert agg.snapshot(T0 + 71).sessions[0].waiting_since_ts == T0 + 10
    # the transcript's last lines, read late, are older than the wait: no answer
    agg.apply(request(T0 + 9), T0 + 72)
    assert agg.snapshot(T0 + 72).sessions[0].status == "waiting"
    # the user types: active; the next turn's end is a new wait
    agg.apply(ev.PromptSubmitted(info(t=T0 + 80)), T0 + 80)
    assert agg.snapshot(T0 + 80).sessions[0].status == "active"
    agg.apply(ev.TurnFailed(info(t=T0 + 90)), T0 + 90)  # an API error ends a turn too
    row = agg.snapshot(T0 + 100).sessions[0]
    assert (row.status, row.waiting_since_ts) == ("waiting", T0 + 90)


@pytest.mark.parametrize("how", ["SessionEnd", "process gone"])
def test_a_print_mode_session_ends_instead_of_waiting(how: str) -> None:
    """`claude -p` exits right after its Stop: it is ended, never waiting for anyone."""
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.PromptSubmitted(info(pid=78)), T0)
    agg.apply(ev.TurnEnded(info(t=T0 + 3, pid=78)), T0 + 3)
    if how == "SessionEnd":
        agg.apply(ev.SessionEnded(info(t=T0 + 3.2, pid=78)), T0 + 3.2)
    else:
        agg.process_gone(("claude-code", "s1"), T0 + 4)
    for later in (T0 + 4, T0 + 3 + TURN_END_GRACE_S, T0 + 60):
        row = agg.snapshot(later).sessions[0]
        assert (row.status, row.waiting_for, row.waiting_since_ts) == ("ended", None, None)


def test_a_turn_end_without_a_process_to_watch_is_no_wait() -> None:
    """No pid: aitop could not see a print-mode exit, so it does not guess a wait; the
    idle notification says one, and it began when the turn ended."""
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.PromptSubmitted(info()), T0)
    agg.apply(ev.TurnEnded(info(t=T0 + 1)), T0 + 1)
    assert agg.snapshot(T0 + 30).sessions[0].status == "active"
    agg.apply(ev.Waiting(info(t=T0 + 61), "input"), T0 + 61)
    row = agg.snapshot(T0 + 62).sessions[0]
    assert (row.status, row.waiting_since_ts) == ("waiting", T0 + 1)


def test_a_turn_that_left_background_tasks_running_is_not_waiting() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.PromptSubmitted(info(pid=79)), T0)
    agg.apply(ev.TurnEnded(info(t=T0 + 1), background_tasks=1), T0 + 1)
    assert agg.snapshot(T0 + 30).sessions[0].status == "active"
    # the task's result comes back as a turn of its own, whose end is a wait
    agg.apply(ev.PromptSubmitted(info(t=T0 + 40)), T0 + 40)
    agg.apply(ev.TurnEnded(info(t=T0 + 41)), T0 + 41)
    assert agg.snapshot(T0 + 50).sessions[0].status == "waiting"


def test_the_agents_own_total_is_stale_once_requests_follow_it() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(request(T0), T0)
    agg.apply(ev.AgentCostReport(info(t=T0), 0.5), T0 + 1)  # written as its process exited
    assert agg.snapshot(T0 + 1).sessions[0].agent_cost_stale is False
    agg.apply(request(T0 + 60), T0 + 60)  # resumed: a new process, not in that total
    assert agg.snapshot(T0 + 60).sessions[0].agent_cost_stale is True
    agg.apply(ev.AgentCostReport(info(t=T0 + 60), 0.9), T0 + 61)
    assert agg.snapshot(T0 + 61).sessions[0].agent_cost_stale is False


def test_status_idle_after_five_quiet_minutes_and_ended_on_session_end() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.SessionStarted(info(pid=1)), T0)
    assert agg.snapshot(T0 + 301).sessions[0].status == "idle"
    agg.apply(ev.SessionEnded(info(t=T0 + 302, pid=1)), T0 + 302)
    assert agg.snapshot(T0 + 303).sessions[0].status == "ended"
    agg.apply(ev.SessionStarted(info(t=T0 + 400, pid=1), source="resume"), T0 + 400)
    assert agg.snapshot(T0 + 400).sessions[0].status == "active"


def test_ended_sessions_leave_after_fifteen_minutes() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.SessionEnded(info(pid=7)), T0)
    assert len(agg.snapshot(T0 + ENDED_KEPT_FOR).sessions) == 1
    assert agg.snapshot(T0 + ENDED_KEPT_FOR + 1).sessions == []


def test_a_gone_process_ends_its_session() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.PromptSubmitted(info(pid=4242)), T0)
    assert agg.live_pids() == {("claude-code", "s1"): 4242}
    agg.process_gone(("claude-code", "s1"), T0 + 1)
    assert agg.snapshot(T0 + 1).sessions[0].status == "ended"
    assert agg.live_pids() == {}


def test_sessions_without_a_process_to_check_leave_after_an_hour_of_silence() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(request(T0), T0)  # read from a transcript: no pid known
    agg.apply(ev.PromptSubmitted(info("s2", pid=99)), T0)
    later = T0 + UNKNOWN_PROCESS_KEPT_FOR + 1
    assert [row.session_id for row in agg.snapshot(later).sessions] == ["s2"]


def test_session_count_is_bounded() -> None:
    agg = Aggregator(PRICER, T0)
    for i in range(MAX_SESSIONS + 10):
        agg.apply(ev.PromptSubmitted(info(f"s{i}", T0 + i, pid=1)), T0 + i)
    assert MAX_SESSIONS - SHED_BATCH < len(agg.sessions) <= MAX_SESSIONS
    keys = {sid for _agent, sid in agg.sessions}
    assert "s0" not in keys and f"s{MAX_SESSIONS + 9}" in keys
    assert not agg.archive  # empty rows are not worth keeping
    assert ("claude-code", "s0") in agg.take_departures().dropped


def test_a_session_flood_never_evicts_a_live_session_with_spend() -> None:
    """Made-up session ids (any same-uid process can send frames) fill the table: the
    rows that go are the empty ones, never a live session's spend."""
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.SessionStarted(info("real", T0, pid=4242)), T0)
    agg.apply(request(T0, sid="real", out=50), T0)
    agg.apply(request(T0, sid="idle-spender", out=7), T0)  # spend, no live process
    for i in range(3 * MAX_SESSIONS):
        t = T0 + 1 + i / 100
        agg.apply(ev.PromptSubmitted(info(f"junk{i}", t, pid=1)), t)
    later = T0 + 60
    rows = {row.session_id: row for row in agg.snapshot(later).sessions}
    assert rows["real"].output_tokens == 50 and rows["real"].status == "active"
    assert "idle-spender" in rows  # a spender outranks any number of empty rows
    assert len(agg.sessions) <= MAX_SESSIONS


def test_when_every_row_has_spend_the_oldest_silent_leaves_to_the_archive() -> None:
    agg = Aggregator(PRICER, T0)
    for i in range(MAX_SESSIONS):
        agg.apply(request(T0 + i, sid=f"s{i}", out=1), T0 + i)
    agg.apply(request(T0 + MAX_SESSIONS, sid="new", out=1), T0 + MAX_SESSIONS)
    s0 = ("claude-code", "s0")
    assert s0 not in agg.sessions and s0 in agg.archive  # archived: never lost
    agg.apply(request(T0 + MAX_SESSIONS + 1, sid="s0", out=2), T0 + MAX_SESSIONS + 1)
    assert agg.sessions[s0].totals[REQUESTS] == 2


def _left_the_table(agg: Aggregator, sid: str, ended_at: float) -> float:
    agg.apply(ev.SessionEnded(info(sid, ended_at)), ended_at)
    gone = ended_at + ENDED_KEPT_FOR + 1
    agg.tick(gone)
    assert ("claude-code", sid) not in agg.sessions
    return gone


def test_a_returning_session_shows_its_whole_history_and_nothing_counts_twice() -> None:
    """Ended, left the table 15 minutes later, resumed in the same file while aitop ran:
    its row is the whole session again, and the windows and since-start count only
    what is new."""
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.SessionStarted(info("s1", T0, pid=7)), T0)
    agg.apply(request(T0, out=10), T0)
    agg.apply(ev.TurnCompleted(info("s1", T0)), T0)
    agg.apply(ev.ToolStarted(info("s1", T0), "toolu_1", "Bash"), T0)
    before = agg.snapshot(T0)
    gone = _left_the_table(agg, "s1", T0 + 5)
    assert agg.take_departures().archived == [("claude-code", "s1")]
    back = gone + 30
    agg.apply(ev.SessionStarted(info("s1", back, pid=8), source="resume"), back)
    agg.apply(request(back, out=3), back)
    agg.apply(ev.TurnCompleted(info("s1", back)), back)
    snap = agg.snapshot(back)
    (row,) = snap.sessions
    assert (row.requests, row.output_tokens, row.turns, row.tool_calls) == (2, 13, 2, 1)
    assert row.status == "active" and row.started == before.sessions[0].started
    assert (snap.windows.m15.requests, snap.windows.m15.output_tokens) == (1, 3)
    assert snap.since_start.requests == before.since_start.requests + 1
    assert not agg.take_departures().archived  # it came back: nothing to park


def test_the_archive_is_bounded() -> None:
    agg = Aggregator(PRICER, T0)
    for i in range(MAX_ARCHIVED + 3):
        agg.apply(request(T0, sid=f"s{i}", out=1), T0)
        agg.apply(ev.SessionEnded(info(f"s{i}", T0)), T0)
    agg.tick(T0 + ENDED_KEPT_FOR + 1)
    departed = agg.take_departures()
    assert len(agg.archive) == MAX_ARCHIVED
    assert departed.dropped == [("claude-code", f"s{i}") for i in range(3)]  # the oldest


def test_sessions_read_at_start_up_are_not_active() -> None:
    """After a restart with every agent gone: nothing says a backfilled session still
    runs (no hook, no pid, no growth since), so it is idle, or ended when its log says
    the process exited; new activity makes it active again."""
    start = T0 + 120
    agg = Aggregator(PRICER, start)
    agg.apply(request(T0, sid="quiet", out=1), start)
    agg.apply(request(T0, sid="exited", out=1), start)
    agg.apply(ev.AgentCostReport(info("exited", T0), 0.5), start)
    status = {row.session_id: row.status for row in agg.snapshot(start).sessions}
    assert status == {"quiet": "idle", "exited": "ended"}
    agg.apply(request(start + 5, sid="exited", out=1), start + 5)  # resumed
    agg.apply(request(start + 5, sid="quiet", out=1), start + 5)
    status = {row.session_id: row.status for row in agg.snapshot(start + 6).sessions}
    assert status == {"quiet": "active", "exited": "active"}


def test_session_windows_are_its_own() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(request(T0, sid="a", out=5), T0)
    agg.apply(request(T0, sid="b", out=7), T0)
    rows = {r.session_id: r for r in agg.snapshot(T0).sessions}
    assert rows["a"].windows is not None and rows["a"].windows.m1.output_tokens == 5
    assert rows["b"].windows is not None and rows["b"].windows.m5.output_tokens == 7
    assert agg.snapshot(T0 + 901).sessions[0].windows is None  # quiet: the ring is freed


@pytest.mark.parametrize(
    ("cwd", "expected"),
    [
        ("/home/u/project", "project"),
        ("/home/u/project/", "project"),
        ("/", "/"),
        (None, "abcdefgh"),
    ],
)
def test_project_is_the_last_part_of_cwd(cwd: str | None, expected: str) -> None:
    assert project_name(cwd, "abcdefgh-1234") == expected


def test_snapshot_json_has_the_contract_fields() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(request(T0), T0)
    agg.apply(ev.ToolFinished(info(), "t", "Bash", ok=True, duration_ms=3), T0)
    data = msgspec.json.decode(to_json(agg.snapshot(T0)))
    window = {"requests", "turns", "tool_calls", "tool_errors", "api_errors", "input_tokens",
              "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "compactions"}  # fmt: skip
    assert {"time", "uptime_s", "windows", "since_start", "sessions", "models", "tools",
            "alerts", "ingest"} <= data.keys()  # fmt: skip
    assert set(data["windows"]) == {"1m", "5m", "15m"}
    for w in (*data["windows"].values(), data["since_start"]):
        assert window <= w.keys()
    assert {"session_id", "agent", "project", "cwd", "model", "status", "tag", "requests",
            "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd",
            "cost_estimated", "context_tokens", "context_limit", "compactions", "tool_calls",
            "tool_errors", "subagents", "started", "last_activity"} <= data["sessions"][0].keys()  # fmt: skip
    assert {"model", "requests", "input_tokens", "output_tokens", "cache_read_tokens",
            "cache_write_tokens", "cost_usd"} <= data["models"][0].keys()  # fmt: skip
    assert {"name", "calls", "errors", "p50_ms", "p95_ms"} <= data["tools"][0].keys()
    assert {"frames", "rejected_peer", "rejected_malformed", "rejected_oversize",
            "ignored_events"} <= data["ingest"].keys()  # fmt: skip
    assert data["time"].endswith("Z") and data["sessions"][0]["started"].endswith("Z")


def test_snapshot_is_independent_of_the_number_of_events() -> None:
    """Memory and snapshot work are fixed: 20,000 requests keep one ring and one row."""
    agg = Aggregator(PRICER, T0)
    for i in range(20_000):
        agg.apply(request(T0 + i * 0.05), T0 + i * 0.05)
    assert len(agg.sessions) == 1 and len(agg.ring._slots) == RING * WIDTH
    snap = agg.snapshot(T0 + 1000)
    inside = sum(1 for i in range(20_000) if int(T0 + 1000) - int(T0 + i * 0.05) < 900)
    assert snap.windows.m15.requests == inside
    assert agg.ring.sums(900)[INPUT] == 100 * inside
    assert agg.sessions[("claude-code", "s1")].totals[REQUESTS] == 20_000
    assert agg.sessions[("claude-code", "s1")].totals[TOOL_CALLS] == 0


@given(
    st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=60),
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=1, max_value=20),
)
def test_tool_durations_keep_the_most_recent_and_shrink_to_the_latest(
    durations: list[float], kept: int, shrunk: int
) -> None:
    """p50/p95 are over a tool's most recent calls, whatever the ring's turn; a session
    that leaves the table keeps its latest few."""
    from aitop.aggregate import ToolStats

    stats = ToolStats(kept)
    for ms in durations:
        stats.add_duration(ms)
    recent = durations[-kept:]
    assert sorted(stats.durations) == sorted(recent)
    stats.shrink(shrunk)
    assert sorted(stats.durations) == sorted(recent[-shrunk:])
    if recent:
        ordered = sorted(recent[-shrunk:])
        assert stats.percentile(0.5) == ordered[max(1, -(-len(ordered) // 2)) - 1]
