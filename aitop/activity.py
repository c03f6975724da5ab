"""What a session is doing right now, and what it just did: its NOW state and its timeline.

Pure: fed the session's events in the order they are applied (each with its own time),
it keeps a small state machine and a bounded list of recent entries. The events of hooks
and of logs arrive out of order (a tool's hook fires before the response that asked for
it is written to the log), so a transition older than the current state is ignored; a
tool that finishes without having started, or a session that ends mid-tool, leave no
state behind.

States: `tool` (between a tool's start and its end; the oldest of those running), `model`
(a prompt or a tool result was sent, no answer yet), `compacting`, `idle`; the aggregator
adds `waiting` and `ended`, which it owns.
"""

from __future__ import annotations

from collections import deque

import msgspec

from aitop import events as ev
from aitop.snapshot import Doing, TimelineEntry

TIMELINE_KEPT = 50  # entries per session in the table; a session that leaves keeps none
MAX_OPEN_TOOLS = 64  # calls started and not finished; a flood of made-up ones is bounded

MODEL, TOOL, COMPACTING, IDLE = "model", "tool", "compacting", "idle"
BUSY = frozenset({MODEL, TOOL, COMPACTING})  # something is in flight
RUNNING = "\0running:"  # a call a hook says runs, with no id (ToolRunning): its own keys


class Activity:
    __slots__ = ("_ids", "_open", "kind", "privacy", "since", "timeline")

    def __init__(self, since: float, privacy: bool = False) -> None:
        self.privacy = privacy  # no summary of any tool's input is kept at all
        self.kind = IDLE
        self.since = since
        self._open: dict[str, tuple[str, float]] = {}  # call id -> (tool, started)
        self.timeline: deque[TimelineEntry] = deque(maxlen=TIMELINE_KEPT)
        # (kind, id) of the entries that have an id: most lookups are for one that is not
        # there (a call's first report), answered without a walk through the timeline
        self._ids: set[tuple[str, str]] = set()

    # --- the state machine ------------------------------------------------------------

    def _go(self, kind: str, when: float) -> None:
        if when >= self.since:
            self.kind, self.since = kind, when

    def doing(self) -> Doing:
        """The state on its own (the aggregator puts waiting and ended above it)."""
        if self._open:
            name, started = min(self._open.values(), key=lambda item: item[1])
            return Doing(state=TOOL, since_ts=started, detail=name, more=len(self._open) - 1)
        return Doing(state=self.kind, since_ts=self.since)

    def apply(self, event: ev.Event, cost_usd: float | None = None) -> None:
        """One event of the session's main thread (subagents' go to the timeline only)."""
        when = event.session.time
        main = getattr(event, "subagent_id", None) is None
        match event:
            case ev.PromptSubmitted():
                self._go(MODEL, when)
                self._add(TimelineEntry(time=when, kind="prompt"))
            case ev.ToolStarted(tool_use_id=call, name=name, summary=summary):
                if main and len(self._open) < MAX_OPEN_TOOLS and call not in self._open:
                    self._open[call] = (name, when)  # `tool` is whatever is open
                    self.since = max(self.since, when)  # older news moves nothing now
                self._tool_started(event, call, name, summary, when)
            case ev.ToolFinished(tool_use_id=call):
                if self._open.pop(call, None) is not None and not self._open:
                    self._go(MODEL, when)  # its result goes back to the model
                self._tool_finished(event, when)
            case ev.ToolRunning(key=key, name=name, running=True):
                running = RUNNING + key  # never a call id: the log's call is another entry
                if main and len(self._open) < MAX_OPEN_TOOLS and running not in self._open:
                    self._open[running] = (name, when)
                    self.since = max(self.since, when)
            case ev.ToolRunning(key=key):
                if self._open.pop(RUNNING + key, None) is not None and not self._open:
                    self._go(MODEL, when)
            case ev.Request(previous=None):
                self._request(event, when, cost_usd)
            case ev.TurnCompleted(duration_ms=took, first_token_ms=first):
                self._settle(when)
                self._add(
                    TimelineEntry(time=when, kind="turn", duration_ms=took, first_token_ms=first)
                )
            case ev.TurnEnded() | ev.TurnFailed():
                self._settle(when)
            case ev.ApiError(status=status):
                if main:
                    self._settle(when)
                self._add(TimelineEntry(time=when, kind="error", name=_status(status), ok=False,
                                        subagent=event.subagent_id))  # fmt: skip
            case ev.CompactionStarted():
                self._go(COMPACTING, when)
            case ev.Compacted():
                self._go(IDLE, when)
                self._add(TimelineEntry(time=when, kind="compaction"))
            case ev.SubagentStarted(subagent_id=sub, subagent_type=kind):
                self._add(TimelineEntry(time=when, kind="subagent", name=kind or None,
                                        subagent=sub, summary="started"))  # fmt: skip
            case ev.SubagentStopped(subagent_id=sub, subagent_type=kind):
                self._add(TimelineEntry(time=when, kind="subagent", name=kind or None,
                                        subagent=sub, summary="stopped"))  # fmt: skip
            case ev.SessionEnded():
                self._open.clear()
                self._go(IDLE, when)

    def _settle(self, when: float) -> None:
        """The turn is over: what started before its end runs no more, whether or not its
        end was reported (a call that started after it is another turn's)."""
        for call in [c for c, (_name, started) in self._open.items() if started <= when]:
            del self._open[call]
        self._go(IDLE, when)

    # --- the timeline -------------------------------------------------------------------

    def _add(self, entry: TimelineEntry) -> None:
        if len(self.timeline) == TIMELINE_KEPT:
            oldest = self.timeline[0]  # the deque drops it as this one comes in
            if oldest.id is not None:
                self._ids.discard((oldest.kind, oldest.id))
        if entry.id is not None:
            self._ids.add((entry.kind, entry.id))
        self.timeline.append(entry)

    def _tool_started(
        self, event: ev.ToolStarted, call: str, name: str, summary: str | None, when: float
    ) -> None:
        if self._find("tool", call) is None:  # once, whoever reports it first
            summary = None if self.privacy else summary
            self._add(TimelineEntry(time=when, kind="tool", name=name, summary=summary,
                                    id=call, subagent=event.subagent_id))  # fmt: skip

    def _tool_finished(self, event: ev.ToolFinished, when: float) -> None:
        found = self._find("tool", event.tool_use_id)
        if found is None:  # finished without a start we saw: one entry, from its end
            self._add(TimelineEntry(time=when, kind="tool", name=event.name,
                                    id=event.tool_use_id, subagent=event.subagent_id,
                                    ok=event.ok, duration_ms=event.duration_ms))  # fmt: skip
            return
        index, entry = found
        took = event.duration_ms
        if took is None and entry.duration_ms is None and when >= entry.time:
            took = (when - entry.time) * 1000
        self.timeline[index] = msgspec.structs.replace(
            entry,
            ok=entry.ok if event.ok is None else event.ok,
            duration_ms=entry.duration_ms if took is None else took,
            name=entry.name or event.name,
        )

    def _request(self, event: ev.Request, when: float, cost_usd: float | None) -> None:
        usage = event.usage
        took = request_ms(event)
        self._add(TimelineEntry(time=when, kind="request", name=event.model,
                                tokens=usage.prompt_tokens + usage.output_tokens,
                                cost_usd=cost_usd, duration_ms=took,
                                subagent=event.subagent_id))  # fmt: skip

    def waited(self, kind: str, began: float, ended: float | None) -> None:
        """A wait for the user, once it is over (or, with `ended` None, as it begins)."""
        found = self._find("wait", f"{kind}@{began}")
        lasted = None if ended is None else max(0.0, ended - began) * 1000
        if found is None:
            self._add(TimelineEntry(time=began, kind="wait", name=kind, id=f"{kind}@{began}",
                                    duration_ms=lasted))  # fmt: skip
        else:
            index, entry = found
            self.timeline[index] = msgspec.structs.replace(entry, duration_ms=lasted)

    def _find(self, kind: str, ident: str) -> tuple[int, TimelineEntry] | None:
        if (kind, ident) not in self._ids:
            return None
        for index in range(len(self.timeline) - 1, -1, -1):
            entry = self.timeline[index]
            if entry.kind == kind and entry.id == ident:
                return index, entry
        return None

    def entries(self) -> list[TimelineEntry]:
        """Newest first."""
        return list(reversed(self.timeline))

    def forget_timeline(self) -> None:
        self.timeline.clear()
        self._ids.clear()


def request_ms(event: ev.Request) -> float | None:
    """How long a request took, from sent to its whole answer, where its log can tell
    (and the figures make sense: a response is not answered before it is sent)."""
    if event.previous is not None or event.started is None or event.answered is None:
        return None
    took = event.answered - event.started
    return took * 1000 if 0 <= took <= LATENCY_MAX_S else None


LATENCY_MAX_S = 3600.0


def _status(status: int | None) -> str | None:
    return None if status is None else f"HTTP {status}"
