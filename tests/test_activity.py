"""What each session is doing now and what it just did: the state machine of every agent's
events (in order, out of order, with events missing), the timeline, the alerts on a slow
request or tool, the latency per model, and the short, safe summaries of tool inputs."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitop import events as ev
from aitop.activity import TIMELINE_KEPT, Activity
from aitop.aggregate import Aggregator
from aitop.alerts import Thresholds, evaluate
from aitop.pricing import Pricer
from aitop.providers import summary
from aitop.providers.claude_code import hooks as claude_hooks
from aitop.providers.claude_code.transcript import tailer
from aitop.providers.codex import hooks as codex_hooks
from aitop.ui.render import timeline_lines
from aitop.wire import Envelope

from conftest import FIXTURES, SESSIONS

T0 = 1_795_400_000.0
PRICER = Pricer.load()


def info(
    t: float, sid: str = "s1", agent: str = "claude-code", pid: int | None = None
) -> ev.SessionInfo:
    return ev.SessionInfo(agent, sid, t, pid=pid)


def doing(agg: Aggregator, now: float, sid: str = "s1") -> tuple[str, float, str | None, int]:
    row = next(r for r in agg.snapshot(now).sessions if r.session_id == sid)
    assert row.now is not None
    return row.now.state, row.now.since_ts, row.now.detail, row.now.more


def request(t: float, **kw: object) -> ev.Request:
    usage = ev.Usage(input_tokens=100, output_tokens=10)
    return ev.Request(info(t), model="claude-opus-5-5", usage=usage, **kw)  # type: ignore[arg-type]


def test_a_turn_as_the_hooks_and_the_log_tell_it() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.PromptSubmitted(info(T0)), T0)
    assert doing(agg, T0 + 25) == ("model", T0, None, 0)  # `model 25s`
    agg.apply(ev.ToolStarted(info(T0 + 30), "t1", "Bash", summary="npm test"), T0 + 30)
    assert doing(agg, T0 + 70) == ("tool", T0 + 30, "Bash", 0)  # `tool Bash 40s`
    agg.apply(ev.ToolFinished(info(T0 + 71), "t1", "Bash", True), T0 + 71)
    assert doing(agg, T0 + 72)[:2] == ("model", T0 + 71)  # its result went to the model
    agg.apply(ev.TurnCompleted(info(T0 + 80)), T0 + 80)
    assert doing(agg, T0 + 800)[:2] == ("idle", T0 + 80)  # `idle 12m`


def test_parallel_tools_show_the_oldest_and_how_many_more() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.ToolStarted(info(T0), "t1", "Read"), T0)
    agg.apply(ev.ToolStarted(info(T0 + 1), "t2", "Bash"), T0 + 1)
    assert doing(agg, T0 + 2) == ("tool", T0, "Read", 1)
    agg.apply(ev.ToolFinished(info(T0 + 3), "t1", "Read", True), T0 + 3)
    assert doing(agg, T0 + 4) == ("tool", T0 + 1, "Bash", 0)


def test_a_tool_that_ends_without_a_start_leaves_no_state_and_one_entry() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.PromptSubmitted(info(T0)), T0)
    agg.apply(ev.ToolFinished(info(T0 + 5), "lost", "Bash", False, duration_ms=800.0), T0 + 5)
    assert doing(agg, T0 + 6)[:2] == ("model", T0)
    (row,) = agg.snapshot(T0 + 6).sessions
    tool = next(e for e in row.timeline if e.kind == "tool")
    assert (tool.name, tool.ok, tool.duration_ms) == ("Bash", False, 800.0)


def test_a_session_that_ends_mid_tool_is_ended_and_runs_nothing() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.ToolStarted(info(T0), "t1", "Bash"), T0)
    agg.apply(ev.SessionEnded(info(T0 + 2)), T0 + 2)
    assert doing(agg, T0 + 3)[:2] == ("ended", T0 + 2)
    agg.apply(ev.SessionStarted(info(T0 + 10), source="resume"), T0 + 10)  # resumed
    assert doing(agg, T0 + 11)[0] == "idle"  # the old call does not run on


def test_events_read_late_do_not_move_the_state_back() -> None:
    """A tool's hook fires before the log holds the response that asked for it; a log
    line older than the state's start changes nothing."""
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.TurnCompleted(info(T0 + 10)), T0 + 10)
    agg.apply(ev.PromptSubmitted(info(T0 + 5)), T0 + 10)  # read late: before the turn's end
    assert doing(agg, T0 + 11)[:2] == ("idle", T0 + 10)


def test_compaction_shows_while_it_runs() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.CompactionStarted(info(T0)), T0)
    assert doing(agg, T0 + 4)[:2] == ("compacting", T0)
    agg.apply(ev.Compacted(info(T0 + 9), pre_tokens=1000), T0 + 9)
    assert doing(agg, T0 + 10)[0] == "idle"


def test_waiting_and_ended_come_first() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.ToolStarted(info(T0), "t1", "Bash"), T0)
    agg.apply(ev.Waiting(info(T0 + 1), "permission"), T0 + 1)
    assert doing(agg, T0 + 181) == ("waiting", T0 + 1, "permission", 0)  # `waiting 3m`
    agg.apply(ev.ToolFinished(info(T0 + 200), "t1", "Bash", True), T0 + 200)  # answered
    (row,) = agg.snapshot(T0 + 201).sessions
    wait = next(e for e in row.timeline if e.kind == "wait")
    assert (wait.name, wait.duration_ms) == ("permission", 199_000.0)  # how long it waited


def test_subagents_api_errors_and_waits_are_in_the_timeline_and_on_screen() -> None:
    """Each kind of entry as the detail draws it: a subagent started and stopped (its
    own entries marked with its id), an API error of the subagent, a wait and how long."""
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.PromptSubmitted(info(T0)), T0)
    agg.apply(ev.SubagentStarted(info(T0 + 1), "sub-4f2a9c01x", "Explore"), T0 + 1)
    agg.apply(ev.ApiError(info(T0 + 2), status=529, subagent_id="sub-4f2a9c01x"), T0 + 2)
    agg.apply(ev.SubagentStopped(info(T0 + 3), "sub-4f2a9c01x", "Explore"), T0 + 3)
    agg.apply(ev.Waiting(info(T0 + 4), "permission"), T0 + 4)
    agg.apply(ev.PromptSubmitted(info(T0 + 34)), T0 + 34)  # answered: the wait is over
    (row,) = agg.snapshot(T0 + 35).sessions
    kinds = [(e.kind, e.name, e.summary, e.subagent, e.ok) for e in row.timeline]
    assert kinds[1:5] == [
        ("wait", "permission", None, None, None),
        ("subagent", "Explore", "stopped", "sub-4f2a9c01x", None),
        ("error", "HTTP 529", None, "sub-4f2a9c01x", False),
        ("subagent", "Explore", "started", "sub-4f2a9c01x", None),
    ]
    lines = ["".join(s.text for s in line) for line in timeline_lines(row, T0 + 35, 120, 10)]
    assert any("waited" in t and "for your permission" in t and "30" in t for t in lines)
    assert any("subagent" in t and "Explore started" in t and "[sub-4f2a" in t for t in lines)
    assert any("subagent" in t and "Explore stopped" in t for t in lines)
    assert any("API error" in t and "HTTP 529" in t and "[sub-4f2a" in t for t in lines)


def test_the_timeline_is_bounded_and_newest_first() -> None:
    agg = Aggregator(PRICER, T0)
    for n in range(3 * TIMELINE_KEPT):
        agg.apply(ev.ToolStarted(info(T0 + n), f"t{n}", "Read"), T0 + n)
    (row,) = agg.snapshot(T0 + 500).sessions
    assert len(row.timeline) == TIMELINE_KEPT
    assert [e.time for e in row.timeline] == sorted((e.time for e in row.timeline), reverse=True)


@given(st.lists(st.sampled_from(["prompt", "start", "finish", "turn", "end", "compact"]),
                max_size=40), st.randoms(use_true_random=False))  # fmt: skip
def test_any_order_of_events_leaves_a_state_that_makes_sense(
    kinds: list[str], order: object
) -> None:
    activity = Activity(T0)
    for n, kind in enumerate(kinds):
        t = T0 + order.random() * 100  # type: ignore[attr-defined]
        event: ev.Event = {
            "prompt": ev.PromptSubmitted(info(t)),
            "start": ev.ToolStarted(info(t), f"t{n % 3}", "Bash"),
            "finish": ev.ToolFinished(info(t), f"t{n % 3}", "Bash", True),
            "turn": ev.TurnCompleted(info(t)),
            "end": ev.SessionEnded(info(t)),
            "compact": ev.CompactionStarted(info(t)),
        }[kind]
        activity.apply(event)
        now = activity.doing()
        assert now.state in ("tool", "model", "compacting", "idle")
        assert (now.state == "tool") == (now.detail is not None)
        assert len(activity.timeline) <= TIMELINE_KEPT


def test_privacy_keeps_no_summary_at_all() -> None:
    agg = Aggregator(PRICER, T0, privacy=True)
    agg.apply(ev.ToolStarted(info(T0), "t1", "Bash", summary="cat secrets.txt"), T0)
    (row,) = agg.snapshot(T0).sessions
    assert [e.summary for e in row.timeline] == [None]
    assert b"secrets" not in msgspec.json.encode(agg.snapshot(T0))


# --- alerts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "now", "expected"),
    [
        ([ev.PromptSubmitted(info(T0, pid=None))], T0 + 200, ["slow_request"]),
        ([ev.PromptSubmitted(info(T0))], T0 + 100, []),
        ([ev.ToolStarted(info(T0), "t1", "Bash")], T0 + 700, ["slow_tool"]),
        ([ev.ToolStarted(info(T0), "t1", "Agent")], T0 + 3000, []),  # long by design
        ([ev.ToolStarted(info(T0), "t1", "Bash")], T0 + 500, []),
    ],
)
def test_a_slow_request_or_tool_is_an_alert(
    events: list[ev.Event], now: float, expected: list[str]
) -> None:
    agg = Aggregator(PRICER, T0)
    for event in events:
        agg.apply(event, event.session.time)
    found = evaluate(agg.snapshot(now), Thresholds())
    assert [a.id.split(":")[0] for a in found] == expected


def test_slow_alerts_can_be_turned_off() -> None:
    agg = Aggregator(PRICER, T0)
    agg.apply(ev.PromptSubmitted(info(T0)), T0)
    snap = agg.snapshot(T0 + 500)
    assert [a.id.split(":")[0] for a in evaluate(snap, Thresholds())] == ["slow_request"]
    assert evaluate(snap, Thresholds(request_slow_s=0)) == []


# --- latency -----------------------------------------------------------------------------


def test_request_latency_per_model_where_the_log_says_when_it_was_sent() -> None:
    agg = Aggregator(PRICER, T0)
    for n, took in enumerate((1.0, 3.0, 2.0)):
        t = T0 + 10 * n
        usage = ev.Usage(input_tokens=100 + n, output_tokens=5)
        answered = ev.Request(info(t), "claude-opus-5-5", usage, started=t, answered=t + took)
        agg.apply(answered, t + took)
    agg.apply(ev.Request(info(T0 + 50), "claude-opus-5-5", ev.Usage(1, 1)), T0 + 50)  # unknown
    late = ev.Request(info(T0 + 60), "claude-opus-5-5", ev.Usage(2, 1), started=T0 + 61,
                      answered=T0 + 60)  # fmt: skip
    agg.apply(late, T0 + 61)  # answered before it was sent: no sense, no figure
    (model,) = agg.snapshot(T0 + 60).models
    assert (model.latency_p50_ms, model.latency_p95_ms) == (2000.0, 3000.0)
    (row,) = agg.snapshot(T0 + 60).sessions
    durations = [e.duration_ms for e in row.timeline if e.kind == "request"]
    assert durations == [None, None, 2000.0, 3000.0, 1000.0]


def test_claude_code_requests_are_sent_when_their_inputs_were_written(tmp_path: Path) -> None:
    """A request is sent when its `api-request` line (or its inputs) were written; when
    it was answered only a live read can tell (its lines are written once the answer is
    in, but stamped with its start): a first read of an old file says nothing."""
    source = next((SESSIONS / "F1-print-tools-subagent" / "claude-projects").glob("*/*.jsonl"))
    project = tmp_path / "projects" / "-p"
    project.mkdir(parents=True)
    path = project / source.name
    path.write_bytes(source.read_bytes())
    follow = tailer(str(tmp_path / "projects"))
    follow.watch(str(path), path.stem)
    events = [e for e in follow.read(str(path), 2e9, 1 << 30) if isinstance(e, ev.Request)]
    assert events and all(e.started is not None for e in events)
    took = [e.session.time - e.started for e in events if e.started is not None]
    assert all(0 <= t < 30 for t in took), took
    assert all(e.answered is None for e in events)  # read at first sight: not live
    answer = next(
        json.loads(line) for line in source.read_text().splitlines() if '"assistant"' in line
    )
    answer["message"]["id"], answer["requestId"] = "msg_new", "req_new"
    with path.open("a") as out:  # the next response, written while aitop follows the file
        out.write(json.dumps(answer) + "\n")
    (new,) = [e for e in follow.read(str(path), 2e9, 1 << 30) if isinstance(e, ev.Request)]
    assert new.answered == path.stat().st_mtime


# --- summaries ------------------------------------------------------------------------------


def test_summaries_are_short_safe_and_never_contents() -> None:
    assert summary.command("npm test -- --watch --coverage\nrm -rf /") == "npm test -- --watch"
    assert summary.file_name("/home/u/src/app.py") == "app.py"
    assert summary.host("https://user:pw@docs.example.com:8443/x?y") == "docs.example.com"
    assert summary.patched_files("*** Begin Patch\n*** Add File: a/new.txt\n+secret\n") == "new.txt"
    assert summary.clean("a\x1b[31mb\tc" + "x" * 80) == "a?[31mb c" + "x" * 30 + "…"


def test_claude_hooks_summarise_tool_inputs() -> None:
    payloads = FIXTURES / "hook-payloads"
    found = {}
    for name in ("PreToolUse-Bash", "PreToolUse-Read", "PreToolUse-Write"):
        (event,) = claude_hooks.decode(
            (payloads / f"{name}.json").read_bytes(), Envelope(), T0
        ).events
        assert isinstance(event, ev.ToolStarted)
        found[event.name] = event.summary
    assert found["Bash"] and found["Read"] and found["Write"]
    data = json.loads((payloads / "PreToolUse-Write.json").read_bytes())
    assert data["tool_input"]["content"][:10] not in (found["Write"] or "")  # never contents


def test_codex_hooks_and_rollouts_summarise_tool_inputs() -> None:
    payloads = FIXTURES.parent / "codex" / "hook-payloads"
    bash = codex_hooks.decode((payloads / "PreToolUse-Bash.json").read_bytes(),
                              Envelope(agent="codex"), T0).events[0]  # fmt: skip
    patch = codex_hooks.decode((payloads / "PreToolUse-apply_patch.json").read_bytes(),
                               Envelope(agent="codex"), T0).events[0]  # fmt: skip
    assert isinstance(bash, ev.ToolStarted) and bash.summary == "echo hi"
    assert isinstance(patch, ev.ToolStarted) and patch.summary == "new.txt"


@given(st.lists(st.tuples(st.sampled_from(["start", "finish"]), st.integers(0, 80)),
                max_size=4 * TIMELINE_KEPT))  # fmt: skip
def test_a_call_is_found_in_the_timeline_exactly_while_its_entry_is_there(
    steps: list[tuple[str, int]],
) -> None:
    """The timeline's index of ids (kept so that a call's first report needs no walk)
    agrees with the timeline itself, however many entries it has dropped."""
    activity = Activity(T0)
    for n, (step, call) in enumerate(steps):
        when = T0 + n
        if step == "start":
            activity.apply(ev.ToolStarted(info(when), f"t{call}", "Bash"))
        else:
            activity.apply(ev.ToolFinished(info(when), f"t{call}", "Bash", True))
        there = {e.id for e in activity.timeline if e.kind == "tool"}
        assert len(there) == len([e for e in activity.timeline if e.kind == "tool"])  # once
        for probe in range(81):
            assert (activity._find("tool", f"t{probe}") is not None) == (f"t{probe}" in there)
