"""Aggregation: events → rolling 1/5/15-minute windows, since-start totals, sessions,
models and tools. Pure: every method takes `now`; nothing here reads a clock, a file
or a socket, so tests drive it with any event stream and any clock.

Money is an int number of pico-dollars everywhere in here: sums and differences are
exact, and a window is always equal to a recount of its events.
"""

from __future__ import annotations

import heapq
import math
import os
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from aitop import events as ev
from aitop import limits as lim
from aitop.activity import BUSY, IDLE, Activity, request_ms
from aitop.pricing import PICO_PER_USD, Pricer
from aitop.snapshot import (
    AgentRow,
    AgentTotals,
    Counts,
    Doing,
    Ingest,
    LimitRow,
    ModelRow,
    ModelTotals,
    Series,
    SessionRow,
    SinceStartBy,
    Snapshot,
    SubagentRow,
    ToolRow,
    ToolTotals,
    Transcripts,
    Window,
    Windows,
)

# The counters, in the order of their one definition (snapshot.Counts); money is kept
# as pico-dollars in here, and shown as dollars in `cost_usd`.
FIELDS: tuple[str, ...] = Counts.__struct_fields__
(
    REQUESTS,
    TURNS,
    TOOL_CALLS,
    TOOL_ERRORS,
    API_ERRORS,
    INPUT,
    OUTPUT,
    CACHE_READ,
    CACHE_WRITE,
    REASONING,
    COST,
    COMPACTIONS,
) = (FIELDS.index(name) for name in FIELDS)
assert FIELDS[COST] == "cost_usd" and FIELDS[REASONING] == "reasoning_tokens"
WIDTH = len(FIELDS)
RING = 900  # one-second buckets: the longest window is 15 minutes
SPANS = (60, 300, 900)

ACTIVE_FOR = 300.0  # a hook or a transcript line in the last 5 minutes: active
ENDED_KEPT_FOR = 900.0  # ended sessions leave the table after 15 minutes
UNKNOWN_PROCESS_KEPT_FOR = 3600.0  # no pid to check and silent for an hour: gone
# A turn that ended leaves an interactive session waiting for its user's next prompt; a
# print-mode (`-p`) process exits right after its last turn instead. The wait counts once
# this long has passed without the session ending (SessionEnd, or its process gone), and
# only for a session whose process aitop watches: without a pid an exit may go unseen.
TURN_END_GRACE_S = 5.0
MAX_SESSIONS = 1000  # rows in the table; past it the least valuable leave (see _shed)
SHED_BATCH = 50  # rows that leave at once when the table is full: sheds cost O(1) each
MAX_ARCHIVED = 2000  # sessions that left the table, kept whole in case they come back
ARCHIVED_DURATIONS = 16  # per tool, of an archived session: its p50/p95 when it returns
MAX_TOOL_NAMES = 500
# The same call reported by its hook and by its transcript, seconds apart, is counted
# once; copies of old calls in resumed or forked transcripts are the tailer's to spot.
MAX_TRACKED_CALLS = 20_000
DURATIONS_KEPT = 1024  # p50/p95 over each tool's most recent calls
OTHER_TOOLS = "(other)"
# (agent, model) pairs counted since start: past it, new pairs count as their agent's
# "(other)" (model names come from logs; a metric label must not grow without end)
MAX_MODEL_PAIRS = 500
OTHER_MODELS = "(other)"
UNKNOWN_TOOL = "(unknown)"

Deltas = list[tuple[int, int]]
SessionKey = tuple[str, str]  # (agent, session id)
LimitKey = tuple[str, str | None, int]  # (agent, scope, window minutes)
MAX_LIMIT_WINDOWS = 64  # agents × scopes × windows; more is a flood of made-up frames


class Ring:
    """900 one-second buckets and running sums over the last 60, 300 and 900 seconds.

    Adding is O(1), reading a window is O(1), advancing the clock by k seconds costs
    O(min(k, 900)), and memory is fixed whatever the number of events.
    """

    __slots__ = ("_slots", "_sums", "head")

    def __init__(self, now: float) -> None:
        self.head = int(now)
        self._slots = [0] * (RING * WIDTH)
        self._sums = [[0] * WIDTH for _ in SPANS]

    def advance(self, now: float) -> None:
        target = int(now)
        if target <= self.head:
            return
        if target - self.head >= RING:
            self._slots = [0] * (RING * WIDTH)
            self._sums = [[0] * WIDTH for _ in SPANS]
            self.head = target
            return
        slots = self._slots
        for second in range(self.head + 1, target + 1):
            for sums, span in zip(self._sums, SPANS, strict=True):
                leaving = (second - span) % RING * WIDTH
                for field in range(WIDTH):
                    value = slots[leaving + field]
                    if value:
                        sums[field] -= value
            # the slot of `second` held `second - 900`, which has just left every window
            base = second % RING * WIDTH
            slots[base : base + WIDTH] = _ZEROS
        self.head = target

    def add(self, when: float, deltas: Deltas) -> bool:
        """Count `deltas` at second `when`; False when that is older than 15 minutes."""
        second = int(when)
        if second > self.head:
            self.advance(second)
        age = self.head - second
        if age >= RING:
            return False
        base = second % RING * WIDTH
        slots = self._slots
        # the three windows written out: this runs for every event
        last_1m, last_5m, last_15m = self._sums
        if age < SPANS[0]:
            for field, amount in deltas:
                slots[base + field] += amount
                last_1m[field] += amount
                last_5m[field] += amount
                last_15m[field] += amount
        elif age < SPANS[1]:
            for field, amount in deltas:
                slots[base + field] += amount
                last_5m[field] += amount
                last_15m[field] += amount
        else:
            for field, amount in deltas:
                slots[base + field] += amount
                last_15m[field] += amount
        return True

    def sums(self, span: int) -> list[int]:
        return list(self._sums[SPANS.index(span)])

    def empty(self) -> bool:
        return not any(self._sums[-1])

    def per_minute(self, field: int, minutes: int = 15) -> list[int]:
        """Totals of `field` per minute over the last `minutes`, oldest first."""
        column = self._slots[field::WIDTH]  # one value per slot; slot = second % RING
        start = (self.head + 1) % RING
        ordered = column[start:] + column[:start]  # seconds head-899 .. head
        first = RING - minutes * 60
        return [sum(ordered[i : i + 60]) for i in range(first, RING, 60)]


_ZEROS = [0] * WIDTH


class ToolStats:
    __slots__ = ("_kept", "_next", "_sorted", "calls", "durations", "errors")

    def __init__(self, kept: int = DURATIONS_KEPT) -> None:
        self.calls = 0
        self.errors = 0
        # the most recent `kept` durations, a ring once full; an array of doubles is a
        # quarter of a deque of float objects, and there is one per tool per session
        self.durations = array("d")
        self._kept = kept
        self._next = 0
        self._sorted: list[float] | None = None

    def add_duration(self, ms: float) -> None:
        if len(self.durations) < self._kept:
            self.durations.append(ms)
        else:
            self.durations[self._next] = ms
            self._next = (self._next + 1) % self._kept
        self._sorted = None

    def shrink(self, kept: int) -> None:
        """Keep only the most recent `kept` durations (a session that left the table)."""
        ordered = self.durations[self._next :] + self.durations[: self._next]
        self.durations = ordered[len(ordered) - kept :] if len(ordered) > kept else ordered
        self._kept, self._next, self._sorted = kept, 0, None

    def percentile(self, fraction: float) -> float | None:
        """Nearest-rank percentile of the kept durations."""
        if not self.durations:
            return None
        if self._sorted is None:
            self._sorted = sorted(self.durations)
        rank = max(1, math.ceil(fraction * len(self._sorted)))
        return self._sorted[rank - 1]

    def row(self, name: str) -> ToolRow:
        return ToolRow(name, self.calls, self.errors, self.percentile(0.5), self.percentile(0.95))


class _Call:
    """One tool call, known by its tool_use_id to the hooks and to the transcript."""

    __slots__ = (
        "finished",
        "has_duration",
        "label",
        "name",
        "overall",
        "own",
        "repeat_counted",
    )

    def __init__(self, name: str, label: str, overall: ToolStats, own: ToolStats) -> None:
        self.name = name
        self.label = label  # its row's name in the Tools tab: the name, or "(other)"
        self.overall = overall  # its tool's row in the Tools tab
        self.own = own  # and in its session's detail
        self.finished = False
        self.has_duration = False
        self.repeat_counted = False  # hooks can report one call more than once


class _Subagent:
    __slots__ = ("kind", "totals")

    def __init__(self) -> None:
        self.kind = ""
        self.totals = [0] * WIDTH


class Departures(NamedTuple):
    """Sessions that left the table since the last call: `archived` ones are kept whole
    (the provider keeps their files' offsets: if one comes back, it goes on), `dropped`
    ones are gone for good (nothing worth keeping, or pushed out of the archive)."""

    archived: list[SessionKey]
    dropped: list[SessionKey]


class SessionState:
    def __init__(self, info: ev.SessionInfo, privacy: bool = False) -> None:
        self.key: SessionKey = (info.agent, info.session_id)
        self.activity = Activity(info.time, privacy)  # what it does now, and did last
        self.session_id = info.session_id
        self.agent = info.agent
        self.cwd = info.cwd
        self.tag = info.tag
        self.pid = info.pid
        self.started = info.time
        self.last_activity = info.time
        self.totals = [0] * WIDTH
        self.ring: Ring | None = None
        self.model: str | None = None  # of the latest main-thread request
        self.selected_model: str | None = None  # what the user picked
        self.selected_window: int | None = None  # the window that pick says, if it says
        self.context_window: int | None = None  # the agent's own word, with its requests
        self.vendor: str | None = None  # whose prices its requests had
        self.context_tokens = 0
        self.cost_estimated = False
        self.agent_cost_usd: float | None = None
        self.agent_cost_at: float | None = None  # the time of the line it was written after
        self.agent_cost_running = False  # kept current as it runs, not written at its exit
        self.unlogged_compactions = 0  # whose request is not in its log (nor in our count)
        self.agent_context_tokens: int | None = None  # the agent's own word (status line)
        self.agent_context_limit: int | None = None
        self.latest_request_at: float | None = None
        self.ended_at: float | None = None
        self.waiting: str | None = None
        self.waiting_since = 0.0
        self.waiting_after_turn = False  # a wait that counts only after TURN_END_GRACE_S
        self.subagents: dict[str, _Subagent] = {}
        self.tools: dict[str, ToolStats] = {}
        self.max_tokens_stops = 0
        self.max_tokens_at: float | None = None
        self.last_tool: tuple[str, int] | None = None
        self.tool_repeats = 0
        self.live = False  # something of it happened while aitop ran (not only backfill)

    def has_spend(self) -> bool:
        """It made requests: something a made-up session id from a frame cannot have."""
        return bool(self.totals[REQUESTS] or self.totals[COST])

    def reopen_after(self, when: float) -> None:
        """The session works again after it had ended (resumed in the same file)."""
        if self.ended_at is not None and when > self.ended_at:
            self.ended_at = None

    def touch(self, info: ev.SessionInfo) -> None:
        if info.time > self.last_activity:
            self.last_activity = info.time
        if info.time < self.started:
            self.started = info.time
        if info.cwd and not self.cwd:
            self.cwd = info.cwd
        if info.tag:
            self.tag = info.tag
        if info.pid:
            self.pid = info.pid


class Aggregator:
    """Owns every count. One instance, driven by one loop."""

    def __init__(
        self,
        pricer: Pricer,
        start: float,
        *,
        privacy: bool = False,
        pace_s: float = lim.DEFAULT_PACE_S,
    ) -> None:
        self.pricer = pricer
        self.start = start
        self.privacy = privacy  # no summary of any tool's input, anywhere
        self.pace_s = pace_s  # the plan limits' pace is their rise over this long
        self.limits: dict[LimitKey, lim.Track] = {}
        self.ring = Ring(start)
        self.since_start = [0] * WIDTH
        # the same, by agent, (agent, model) and (agent, tool): by the events' own times
        self.since_start_agents: dict[str, list[int]] = {}
        self.since_start_models: dict[tuple[str, str], list[int]] = {}
        self.since_start_tools: dict[tuple[str, str], list[int]] = {}  # [calls, errors]
        self.sessions: dict[SessionKey, SessionState] = {}
        self.models: dict[str, list[int]] = {}
        self.estimated_models: set[str] = set()
        self.agents: dict[str, list[int]] = {}  # everything read of each agent
        self.estimated_agents: set[str] = set()
        self.tools: dict[str, ToolStats] = {}
        self.latency: dict[str, ToolStats] = {}  # per model: its requests' durations
        self._calls: OrderedDict[tuple[str, str], _Call] = OrderedDict()  # (agent, call id)
        self.archive: OrderedDict[SessionKey, SessionState] = OrderedDict()  # oldest first
        self._departed = Departures([], [])

    # --- events -------------------------------------------------------------------

    def apply(self, event: ev.Event, now: float) -> None:
        self.ring.advance(now)
        info = event.session
        if isinstance(event, ev.PlanLimits):  # the agent's, not a session's
            self._plan_limits(event)
            return
        # an agent's own figures come again while nobody works: not a sign of life
        session = self._session(info, now, touch=not isinstance(event, ev.AgentGauges))
        waited = (session.waiting, session.waiting_since, self.waits(session, info.time))
        cost_pico: int | None = None
        match event:
            case ev.Request():
                cost_pico = self._request(session, event)
            case ev.ToolStarted():
                self._tool_started(session, event)
            case ev.ToolFinished():
                self._tool_finished(session, event)
            case ev.TurnCompleted():
                self._count(session, info.time, [(TURNS, 1)])
            case ev.TurnEnded(background_tasks=background):
                if not background:  # with its background tasks still at work, it is busy
                    self._turn_over(session, info.time)
            case ev.TurnFailed():
                self._turn_over(session, info.time)
            case ev.ApiError():
                self._count(session, info.time, [(API_ERRORS, 1)])
            case ev.Compacted(request_logged=logged):
                self._count(session, info.time, [(COMPACTIONS, 1)])
                if not logged:
                    session.unlogged_compactions += 1
            case ev.AgentCostReport(total_cost_usd=total, running=running):
                session.agent_cost_usd = total
                session.agent_cost_at = info.time
                session.agent_cost_running = running
                # written when the agent's process exits: nothing after it, it has ended
                if not running and session.ended_at is None and info.time >= session.last_activity:
                    session.ended_at = info.time
                    session.waiting = None
            case ev.AgentGauges(cost_usd=cost, context_tokens=tokens, context_window=window):
                if cost is not None and (
                    session.agent_cost_at is None or info.time >= session.agent_cost_at
                ):
                    session.agent_cost_usd = cost
                    session.agent_cost_at = info.time
                    session.agent_cost_running = True  # what it says while it runs
                if tokens is not None:
                    session.agent_context_tokens = tokens
                    session.agent_context_limit = window
            case ev.SessionStarted(model=model, context_window=window):
                session.ended_at = None
                if model:
                    session.selected_model, session.selected_window = model, window
            case ev.PromptSubmitted():
                session.ended_at = None
            case ev.SessionEnded():
                session.ended_at = info.time
                session.waiting = None
            case ev.Waiting(kind=kind):
                if session.waiting != kind:  # a reminder of the same wait is not a new one
                    session.waiting_since = info.time
                session.waiting = kind
                session.waiting_after_turn = False
            case ev.ModelSwitched(model=model, context_window=window):
                session.selected_model, session.selected_window = model, window
            case ev.SubagentStarted(subagent_id=sub, subagent_type=kind):
                self._subagent(session, sub).kind = kind
            case ev.SubagentStopped(subagent_id=sub, subagent_type=kind):
                self._subagent(session, sub).kind = kind
        # the user answered, or the session moved on by itself
        answered = session.waiting is not None and info.time >= session.waiting_since
        if answered and not isinstance(event, _NOT_ANSWERS) and _main_thread(event):
            session.waiting = None
        was_waiting, since, counted = waited
        over = (session.waiting, session.waiting_since) != (was_waiting, since)
        if counted and was_waiting is not None and over:
            # a wait that showed is over: the timeline keeps how long it lasted
            session.activity.waited(was_waiting, since, max(since, info.time))
        session.activity.apply(event, None if cost_pico is None else cost_pico / PICO_PER_USD)

    def apply_all(self, events: Iterable[ev.Event], now: float) -> None:
        for event in events:
            self.apply(event, now)

    @staticmethod
    def _turn_over(session: SessionState, when: float) -> None:
        """The agent finished its turn: from now on it waits for its user's next prompt."""
        if session.waiting != "input":
            session.waiting = "input"
            session.waiting_since = when
            session.waiting_after_turn = True

    def process_gone(self, key: SessionKey, now: float) -> None:
        """The agent process of a session has exited without saying so."""
        session = self.sessions.get(key)
        if session is not None and session.ended_at is None:
            session.ended_at = now
            session.waiting = None

    def _session(self, info: ev.SessionInfo, now: float, *, touch: bool = True) -> SessionState:
        key = (info.agent, info.session_id)
        session = self.sessions.get(key)
        if session is None:
            if len(self.sessions) >= MAX_SESSIONS:
                self._shed()
            # back after it left the table: whole again, with nothing counted twice
            session = self.archive.pop(key, None)
            if session is None:
                session = SessionState(info, self.privacy)
            elif touch:
                session.touch(info)
            self.sessions[key] = session
        elif touch:
            session.touch(info)
        if info.time >= self.start:
            session.live = True
        return session

    def _count(
        self, session: SessionState, when: float, deltas: Deltas, sub: str | None = None
    ) -> None:
        agent_totals = self.agents.get(session.agent)
        if agent_totals is None:
            agent_totals = self.agents[session.agent] = [0] * WIDTH
        for field, amount in deltas:
            agent_totals[field] += amount
        if self.ring.add(when, deltas):
            if session.ring is None:
                session.ring = Ring(self.ring.head)
            session.ring.add(when, deltas)
        if when >= self.start:
            since_start = self.since_start
            for field, amount in deltas:
                since_start[field] += amount
            by_agent = self.since_start_agents.get(session.agent)
            if by_agent is None:
                by_agent = self.since_start_agents[session.agent] = [0] * WIDTH
            for field, amount in deltas:
                by_agent[field] += amount
        totals = session.totals
        for field, amount in deltas:
            totals[field] += amount
        if sub is not None:
            sub_totals = self._subagent(session, sub).totals
            for field, amount in deltas:
                sub_totals[field] += amount

    def _plan_limits(self, event: ev.PlanLimits) -> None:
        info = event.session
        for window in event.windows:
            key = (info.agent, event.scope, window.minutes)
            track = self.limits.get(key)
            if track is None:
                if len(self.limits) >= MAX_LIMIT_WINDOWS:
                    continue
                track = self.limits[key] = lim.Track()
            track.add(lim.Reading(info.time, window.used_pct, window.resets_at), event.plan)

    def limit_rows(self, now: float) -> list[LimitRow]:
        """Every window's latest figures, stale or not, with the pace forecast."""
        rows = []
        for (agent, scope, minutes), track in sorted(
            self.limits.items(), key=lambda item: (item[0][0], item[0][1] or "", item[0][2])
        ):
            latest = track.latest
            if latest is None:
                continue
            stale = lim.is_stale(latest, minutes, now)
            cast = lim.NO_FORECAST if stale else lim.forecast(track.history, now, self.pace_s)
            rows.append(
                LimitRow(
                    agent=agent,
                    window=lim.window_name(minutes),
                    used_pct=latest.used_pct,
                    resets_at=None if latest.resets_at is None else iso(latest.resets_at),
                    plan=track.plan,
                    seen_at=iso(latest.seen_at),
                    window_minutes=minutes,
                    scope=scope,
                    resets_at_ts=latest.resets_at,
                    seen_at_ts=latest.seen_at,
                    stale=stale,
                    pct_per_hour=(
                        None if cast.pct_per_hour is None else round(cast.pct_per_hour, 3)
                    ),
                    full_at=None if cast.full_at is None else iso(cast.full_at),
                    full_at_ts=cast.full_at,
                )
            )
        return rows

    def _subagent(self, session: SessionState, sub: str) -> _Subagent:
        found = session.subagents.get(sub)
        if found is None:
            found = session.subagents[sub] = _Subagent()
        return found

    def _request(self, session: SessionState, event: ev.Request) -> int:
        """Count it; what it cost (its growth's, for a request seen before)."""
        usage, previous = event.usage, event.previous
        when = event.session.time
        delta, cost = priced(self.pricer, event)
        deltas: Deltas = [
            (INPUT, delta.input_tokens),
            (OUTPUT, delta.output_tokens),
            (CACHE_READ, delta.cache_read_tokens),
            (CACHE_WRITE, delta.cache_write_tokens),
            (REASONING, delta.reasoning_tokens),
            (COST, cost),
        ]
        if previous is None:
            deltas.append((REQUESTS, 1))
        self._count(session, when, deltas, event.subagent_id)
        model_totals = self.models.get(event.model)
        if model_totals is None:
            model_totals = self.models[event.model] = [0] * WIDTH
        for field, amount in deltas:
            model_totals[field] += amount
        if when >= self.start:
            by_model = self._since_start_model(session.agent, event.model)
            for field, amount in deltas:
                by_model[field] += amount
        if self.pricer.resolve(event.model, event.vendor).estimated:
            session.cost_estimated = True
            self.estimated_models.add(event.model)
            self.estimated_agents.add(session.agent)
        if session.latest_request_at is None or when > session.latest_request_at:
            session.latest_request_at = when
        if not event.sidechain:
            session.reopen_after(when)
            session.model = event.model
            session.context_tokens = usage.prompt_tokens
            session.context_window = event.context_window
            session.vendor = event.vendor
        if previous is None and event.stop_reason == "max_tokens":
            session.max_tokens_stops += 1
            session.max_tokens_at = max(when, session.max_tokens_at or when)
        took = request_ms(event)
        if took is not None:
            self._tool_stats(self.latency, event.model).add_duration(took)
        return cost

    def _tool_started(self, session: SessionState, event: ev.ToolStarted) -> None:
        call = self._call(
            session, event.tool_use_id, event.name, event.session.time, event.subagent_id
        )
        if event.input_digest is not None and event.subagent_id is None and not call.repeat_counted:
            call.repeat_counted = True
            key = (event.name, event.input_digest)
            session.tool_repeats = session.tool_repeats + 1 if key == session.last_tool else 1
            session.last_tool = key

    def _tool_finished(self, session: SessionState, event: ev.ToolFinished) -> None:
        call = self._call(
            session, event.tool_use_id, event.name, event.session.time, event.subagent_id
        )
        # the first source that can tell the outcome decides it (Codex's hooks cannot)
        if not call.finished and event.ok is not None:
            call.finished = True
            if not event.ok:
                self._count(session, event.session.time, [(TOOL_ERRORS, 1)], event.subagent_id)
                call.overall.errors += 1
                call.own.errors += 1
                if event.session.time >= self.start:
                    self._since_start_tool(session.agent, call.label)[1] += 1
        if event.duration_ms is not None and not call.has_duration:
            call.has_duration = True
            call.overall.add_duration(event.duration_ms)
            call.own.add_duration(event.duration_ms)

    def _call(
        self,
        session: SessionState,
        tool_use_id: str,
        name: str | None,
        when: float,
        sub: str | None,
    ) -> _Call:
        """The call with this id, counted the first time either source mentions it."""
        key = (session.agent, tool_use_id)
        call = self._calls.get(key)
        if call is not None:
            return call
        name = name or UNKNOWN_TOOL
        overall = self._tool_stats(self.tools, name)
        label = name if self.tools.get(name) is overall else OTHER_TOOLS
        call = _Call(name, label, overall, self._tool_stats(session.tools, name, 256))
        self._calls[key] = call
        if len(self._calls) > MAX_TRACKED_CALLS:  # the oldest: its reports are long in
            self._calls.popitem(last=False)
        self._count(session, when, [(TOOL_CALLS, 1)], sub)
        if when >= self.start:
            self._since_start_tool(session.agent, label)[0] += 1
        call.overall.calls += 1
        call.own.calls += 1
        return call

    def _since_start_model(self, agent: str, model: str) -> list[int]:
        pairs = self.since_start_models
        totals = pairs.get((agent, model))
        if totals is None:
            if len(pairs) >= MAX_MODEL_PAIRS:
                model = OTHER_MODELS
                totals = pairs.get((agent, model))
            if totals is None:
                totals = pairs[(agent, model)] = [0] * WIDTH
        return totals

    def _since_start_tool(self, agent: str, label: str) -> list[int]:
        totals = self.since_start_tools.get((agent, label))
        if totals is None:  # labels are bounded: MAX_TOOL_NAMES and "(other)" per agent
            totals = self.since_start_tools[(agent, label)] = [0, 0]
        return totals

    def since_start_by(self) -> SinceStartBy:
        return SinceStartBy(
            agents=[
                AgentTotals(agent=agent, **counts_of(totals))
                for agent, totals in sorted(self.since_start_agents.items())
            ],
            models=[
                ModelTotals(agent=agent, model=model, **counts_of(totals))
                for (agent, model), totals in sorted(self.since_start_models.items())
            ],
            tools=[
                ToolTotals(agent=agent, tool=tool, calls=calls, errors=errors)
                for (agent, tool), (calls, errors) in sorted(self.since_start_tools.items())
            ],
        )

    @staticmethod
    def _tool_stats(
        table: dict[str, ToolStats], name: str, kept: int = DURATIONS_KEPT
    ) -> ToolStats:
        stats = table.get(name)
        if stats is None:
            if len(table) >= MAX_TOOL_NAMES:
                name = OTHER_TOOLS  # a flood of made-up names cannot grow memory
                stats = table.get(name)
                if stats is not None:
                    return stats
            stats = table[name] = ToolStats(kept)
        return stats

    # --- time ---------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Advance the clock: expire buckets, drop idle rings and finished sessions."""
        self.ring.advance(now)
        for key in list(self.sessions):
            session = self.sessions[key]
            if session.ring is not None:
                session.ring.advance(now)
                if session.ring.empty():
                    session.ring = None
            if self._gone(session, now):
                self._depart(key)

    def take_departures(self) -> Departures:
        """The sessions that left the table since the last call (for the providers)."""
        departed, self._departed = self._departed, Departures([], [])
        back = self.sessions  # shed, then back before the providers heard of it
        return Departures(
            [key for key in departed.archived if key not in back],
            [key for key in departed.dropped if key not in back],
        )

    def _gone(self, session: SessionState, now: float) -> bool:
        if session.ended_at is not None:
            return now - session.ended_at > ENDED_KEPT_FOR
        return session.pid is None and now - session.last_activity > UNKNOWN_PROCESS_KEPT_FOR

    def _depart(self, key: SessionKey) -> None:
        session = self.sessions.pop(key)
        session.ring = None
        if not session.has_spend():  # nothing a return would miss
            self._departed.dropped.append(key)
            return
        for stats in session.tools.values():
            stats.shrink(ARCHIVED_DURATIONS)
        session.activity.forget_timeline()
        self.archive[key] = session
        self._departed.archived.append(key)
        while len(self.archive) > MAX_ARCHIVED:
            oldest = next(iter(self.archive))
            del self.archive[oldest]
            self._departed.dropped.append(oldest)

    def _shed(self) -> None:
        """The table is full: the least valuable rows leave, a batch at a time. Empty
        rows first (no requests: a flood of made-up session ids is only that), then
        sessions without a live process, ended ones before the others, the longest
        silent first. A session with spend and a live process leaves only when every
        row has both; it is archived then, never lost."""

        def value(item: tuple[SessionKey, SessionState]) -> tuple[bool, bool, bool, float]:
            session = item[1]
            live_process = session.pid is not None and session.ended_at is None
            return (
                session.has_spend(),
                live_process,
                session.ended_at is None,
                session.last_activity,
            )

        for key, _ in heapq.nsmallest(SHED_BATCH, self.sessions.items(), key=value):
            self._depart(key)

    def live_pids(self) -> dict[SessionKey, int]:
        """Sessions not known to have ended, with the pid of their agent process."""
        return {key: s.pid for key, s in self.sessions.items() if s.pid and s.ended_at is None}

    # --- reading ------------------------------------------------------------------

    def status(self, session: SessionState, now: float) -> str:
        if session.ended_at is not None:
            return "ended"
        if self.waits(session, now):
            return "waiting"
        # read from its log at start-up and silent since: nothing says it still runs
        if session.live and (
            now - session.last_activity <= ACTIVE_FOR or session.activity.doing().state in BUSY
        ):  # a tool or a request in flight is activity, however long it takes
            return "active"
        return "idle"

    @staticmethod
    def waits(session: SessionState, now: float) -> bool:
        """Whether the session is waiting for its user (it may have ended: see status)."""
        if session.waiting is None:
            return False
        if not session.waiting_after_turn:
            return True
        return session.pid is not None and now - session.waiting_since >= TURN_END_GRACE_S

    def snapshot(
        self,
        now: float,
        *,
        ingest: Ingest | None = None,
        transcripts: Transcripts | None = None,
        listening: bool = True,
        socket: str = "",
    ) -> Snapshot:
        self.tick(now)
        sessions = sorted(
            (self._session_row(s, now) for s in self.sessions.values()),
            key=lambda row: row.last_activity_ts,
            reverse=True,
        )
        models = sorted(
            (
                ModelRow(
                    model=model,
                    estimated=model in self.estimated_models,
                    latency_p50_ms=self._latency(model, 0.5),
                    latency_p95_ms=self._latency(model, 0.95),
                    **counts_of(totals),
                )
                for model, totals in self.models.items()
            ),
            key=lambda row: row.cost_usd,
            reverse=True,
        )
        agents = sorted(
            (self._agent_row(agent, totals, sessions) for agent, totals in self.agents.items()),
            key=lambda row: row.cost_usd,
            reverse=True,
        )
        tools = sorted(
            (stats.row(name) for name, stats in self.tools.items()),
            key=lambda row: row.calls,
            reverse=True,
        )
        ring = self.ring
        series = Series(
            cost_usd=[c / PICO_PER_USD for c in ring.per_minute(COST)],
            tokens=[
                sum(values)
                for values in zip(
                    ring.per_minute(INPUT),
                    ring.per_minute(OUTPUT),
                    ring.per_minute(CACHE_READ),
                    ring.per_minute(CACHE_WRITE),
                    strict=True,
                )
            ],
            requests=ring.per_minute(REQUESTS),
        )
        return Snapshot(
            time=iso(now),
            uptime_s=round(max(0.0, now - self.start), 3),
            windows=windows_of(ring),
            since_start=window_of(self.since_start),
            sessions=sessions,
            models=models,
            tools=tools,
            alerts=[],
            ingest=ingest or Ingest(),
            now=now,
            series=series,
            transcripts=transcripts,
            pricing_date=self.pricer.date,
            listening=listening,
            socket=socket,
            agents=agents,
            limits=self.limit_rows(now),
            since_start_by=self.since_start_by(),
        )

    def _latency(self, model: str, fraction: float) -> float | None:
        stats = self.latency.get(model)
        return None if stats is None else stats.percentile(fraction)

    def doing(self, s: SessionState, now: float) -> Doing:
        """What it does now: ended and waiting first, then its activity's own state."""
        if s.ended_at is not None:
            return Doing(state="ended", since_ts=s.ended_at)
        if self.waits(s, now):
            return Doing(state="waiting", since_ts=s.waiting_since, detail=s.waiting)
        doing = s.activity.doing()
        if doing.state == IDLE:  # idle since whatever it last did
            return Doing(state=IDLE, since_ts=max(doing.since_ts, s.last_activity))
        return doing

    def _agent_row(self, agent: str, totals: list[int], rows: list[SessionRow]) -> AgentRow:
        mine = [row for row in rows if row.agent == agent]
        return AgentRow(
            agent=agent,
            sessions=len(mine),
            active=sum(1 for row in mine if row.status == "active"),
            estimated=agent in self.estimated_agents,
            **counts_of(totals),
        )

    def _context_limit(self, s: SessionState, model: str) -> int:
        """The window its latest request ran in: the agent's word for it (Codex writes
        it), else the user's pick (Claude Code's `[1m]`), else the price table's; a
        request seen using more than that was on a larger window."""
        window = (
            s.context_window
            or s.selected_window
            or self.pricer.context_window(model, vendor=s.vendor)
        )
        if s.context_tokens > window:
            window = max(1_000_000, s.context_tokens)
        return window

    def _session_row(self, s: SessionState, now: float) -> SessionRow:
        model = s.model or s.selected_model
        return SessionRow(
            session_id=s.session_id,
            agent=s.agent,
            project=project_name(s.cwd, s.session_id),
            cwd=s.cwd,
            model=model,
            status=self.status(s, now),
            tag=s.tag,
            cost_estimated=s.cost_estimated,
            context_tokens=s.context_tokens,
            context_limit=self._context_limit(s, model) if model else 0,
            subagents=len(s.subagents),
            started=iso(s.started),
            last_activity=iso(s.last_activity),
            waiting_for=s.waiting if s.ended_at is None and self.waits(s, now) else None,
            agent_cost_usd=s.agent_cost_usd,
            pid=s.pid,
            windows=windows_of(s.ring) if s.ring is not None else None,
            started_ts=s.started,
            last_activity_ts=s.last_activity,
            tools=sorted(
                (stats.row(name) for name, stats in s.tools.items()),
                key=lambda row: row.calls,
                reverse=True,
            ),
            subagent_rows=[
                SubagentRow(subagent_id=sub_id, subagent_type=sub.kind, **counts_of(sub.totals))
                for sub_id, sub in s.subagents.items()
            ],
            max_tokens_stops=s.max_tokens_stops,
            max_tokens_at=s.max_tokens_at,
            tool_repeats=s.tool_repeats,
            repeated_tool=s.last_tool[0] if s.last_tool else None,
            waiting_since_ts=(
                s.waiting_since if s.ended_at is None and self.waits(s, now) else None
            ),
            agent_cost_stale=_stale(s.agent_cost_at, s.latest_request_at),
            agent_cost_running=s.agent_cost_running,
            compactions_unlogged=s.unlogged_compactions,
            agent_context_tokens=s.agent_context_tokens,
            agent_context_limit=s.agent_context_limit,
            now=self.doing(s, now),
            timeline=s.activity.entries(),
            **counts_of(s.totals),
        )


def priced(pricer: Pricer, event: ev.Request) -> tuple[ev.Usage, int]:
    """What a request event adds: its usage (all of it, or for a request seen before whose
    usage grew, the growth) and its cost in pico-dollars. The one rule the live windows,
    `aitop report` and the budgets all count by."""
    usage, previous = event.usage, event.previous
    cost = _price(pricer, event, usage)
    if previous is None:
        return usage, cost
    return usage.minus(previous), cost - _price(pricer, event, previous)


def _price(pricer: Pricer, event: ev.Request, usage: ev.Usage) -> int:
    return pricer.cost_pico(
        event.model,
        usage,
        event.session.time,
        event.speed,
        event.inference_geo,
        service_tier=event.service_tier,
        vendor=event.vendor,
    )


# Events that do not mean the user answered: the wait itself, the end of a turn (which
# starts one), and the agent's own figures (its cost total is written with the time of
# an older line; its status line's input comes right after a turn ends, and on a timer).
_NOT_ANSWERS = (
    ev.Waiting,
    ev.TurnEnded,
    ev.TurnCompleted,
    ev.TurnFailed,
    ev.AgentCostReport,
    ev.AgentGauges,  # re-sent on the agent's own clock, whoever answered
)


def _stale(report_at: float | None, latest_request_at: float | None) -> bool:
    """The agent's own total was written before requests that it cannot include."""
    if report_at is None or latest_request_at is None:
        return False
    return latest_request_at > report_at


def _main_thread(event: ev.Event) -> bool:
    if isinstance(event, ev.Request):
        return not event.sidechain
    sub = getattr(event, "subagent_id", None)
    return sub is None or isinstance(event, ev.SubagentStarted | ev.SubagentStopped)


def counts_of(totals: list[int]) -> dict[str, Any]:
    """The counters as `Counts` fields: money from pico-dollars to dollars."""
    values: dict[str, Any] = dict(zip(FIELDS, totals, strict=True))
    values["cost_usd"] = totals[COST] / PICO_PER_USD
    return values


def window_of(totals: list[int]) -> Window:
    return Window(**counts_of(totals))


def windows_of(ring: Ring) -> Windows:
    return Windows(
        m1=window_of(ring.sums(60)),
        m5=window_of(ring.sums(300)),
        m15=window_of(ring.sums(900)),
    )


def project_name(cwd: str | None, session_id: str) -> str:
    """The last part of the working directory: what people call their project."""
    if cwd:
        name = os.path.basename(cwd.rstrip("/"))
        if name:
            return name
        return "/"
    return session_id[:8]


def iso(when: float) -> str:
    return (
        datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
