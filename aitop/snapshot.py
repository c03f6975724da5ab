"""The snapshot: everything a frame shows, and the `aitop -b --json` contract.

Field names are stable (DESIGN.md, "Snapshot JSON"): adding fields is fine, renaming
is not. Money is in US dollars here; inside the aggregator it is exact pico-dollars.
"""

from __future__ import annotations

import msgspec
import orjson
from msgspec import Struct

from aitop.surrogates import printable_data


class Counts(Struct, frozen=True, kw_only=True):
    """The counters of a span of time or of a row: the one definition every window, session,
    model, subagent and agent row shares (aggregate.py keeps them in this order)."""

    requests: int = 0
    turns: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    api_errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0  # a part of output_tokens, shown apart
    cost_usd: float = 0.0
    compactions: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    @property
    def cache_hit_rate(self) -> float | None:
        """cache read / (input + cache read + cache write); None without prompt tokens."""
        prompt = self.prompt_tokens
        return self.cache_read_tokens / prompt if prompt else None

    @property
    def errors(self) -> int:
        return self.tool_errors + self.api_errors

    @property
    def error_rate(self) -> float | None:
        attempts = self.tool_calls + self.requests + self.api_errors
        return self.errors / attempts if attempts else None


class Window(Counts, frozen=True, kw_only=True):
    """Counts over a span of time (1m, 5m, 15m, or since aitop started)."""


class Windows(Struct, frozen=True, rename={"m1": "1m", "m5": "5m", "m15": "15m"}):
    m1: Window
    m5: Window
    m15: Window

    def by_name(self) -> dict[str, Window]:
        return {"1m": self.m1, "5m": self.m5, "15m": self.m15}


SPANS = {"1m": 60, "5m": 300, "15m": 900}


class ToolRow(Struct, frozen=True):
    name: str
    calls: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None


class Doing(Struct, frozen=True, kw_only=True):
    """What a session is doing now, and since when (the NOW column)."""

    state: str  # tool, model, waiting, compacting, idle, ended
    since_ts: float
    detail: str | None = None  # the tool running; what the wait is for
    more: int = 0  # other tools running at the same time


class TimelineEntry(Struct, frozen=True, kw_only=True):
    """One thing a session did, newest first in its timeline. Never a prompt's or a
    file's contents: a tool's `summary` is its command's first words or a file's name
    (and nothing with `privacy = true`)."""

    time: float
    kind: str  # prompt, request, tool, turn, wait, compaction, subagent, error
    name: str | None = None  # the model, the tool, the subagent's type, the wait's kind
    summary: str | None = None
    id: str | None = None  # a tool call's id
    tokens: int | None = None  # a request's prompt and output tokens
    cost_usd: float | None = None
    duration_ms: float | None = None  # a request's, a tool's, a turn's, a wait's
    first_token_ms: float | None = None  # a turn's time to its first token, where known
    ok: bool | None = None  # a tool's outcome, where known
    subagent: str | None = None


class SubagentRow(Counts, frozen=True, kw_only=True):
    subagent_id: str
    subagent_type: str


class SessionRow(Counts, frozen=True, kw_only=True):
    session_id: str
    agent: str
    project: str
    cwd: str | None
    model: str | None
    status: str  # active, waiting, idle, ended
    tag: str | None
    cost_estimated: bool
    context_tokens: int
    context_limit: int
    subagents: int
    started: str  # ISO 8601
    last_activity: str  # ISO 8601
    # additions to the contract
    waiting_for: str | None = None  # "permission" or "input" while waiting
    agent_cost_usd: float | None = None  # the agent's own total, where it writes one
    pid: int | None = None
    windows: Windows | None = None
    started_ts: float = 0.0
    last_activity_ts: float = 0.0
    tools: list[ToolRow] = []
    subagent_rows: list[SubagentRow] = []
    max_tokens_stops: int = 0
    max_tokens_at: float | None = None  # the latest response cut off at max_tokens
    tool_repeats: int = 0  # the same tool with the same input, this many times in a row
    repeated_tool: str | None = None
    waiting_since_ts: float | None = None  # when the current wait began
    agent_cost_stale: bool = False  # requests were made after the agent wrote its total
    agent_cost_running: bool = False  # that total is kept current, not written at its exit
    compactions_unlogged: int = 0  # of its compactions, those whose request no log holds
    agent_context_tokens: int | None = None  # the agent's own context fill, where it says
    agent_context_limit: int | None = None
    now: Doing | None = None  # what it is doing right now
    timeline: list[TimelineEntry] = []  # newest first (batch --json: with --timeline)

    @property
    def key(self) -> str:
        """The row's identity: a session is known by its agent and its id."""
        return f"{self.agent}/{self.session_id}"


class ModelRow(Counts, frozen=True, kw_only=True):
    model: str
    estimated: bool = False
    # how long its requests took, from sending to the whole answer, where the agent's log
    # says when a request was sent (Claude Code's transcripts): its latest 1,024
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


class AgentRow(Counts, frozen=True, kw_only=True):
    """One agent's totals: everything aitop has read of it (backfill included)."""

    agent: str
    sessions: int = 0  # in the table now
    active: int = 0
    estimated: bool = False


class LimitRow(Struct, frozen=True, kw_only=True):
    """One window of an agent's plan limit: the official figures the agent last passed on
    (Codex from its rollouts, Claude Code from its status line), and the pace forecast."""

    agent: str
    window: str  # "5h", "7d": the window's length
    used_pct: float  # 0..100, as the vendor said it
    resets_at: str | None  # ISO 8601; None where the agent does not say
    plan: str | None  # "plus", "pro"... where the agent says
    seen_at: str  # ISO 8601: when these figures were current
    # additions
    window_minutes: int = 0
    scope: str | None = None  # which of the agent's limits, where it has several
    resets_at_ts: float | None = None
    seen_at_ts: float = 0.0
    stale: bool = False  # the window has reset since: these figures are not current
    pct_per_hour: float | None = None  # the pace over the recent minutes; None: unknown
    full_at: str | None = None  # when it fills at that pace (ISO 8601); None: not rising
    full_at_ts: float | None = None


class AgentTotals(Counts, frozen=True, kw_only=True):
    """One agent's counters since aitop started."""

    agent: str


class ModelTotals(Counts, frozen=True, kw_only=True):
    """One agent's requests to one model since aitop started: requests, tokens, cost."""

    agent: str
    model: str


class ToolTotals(Struct, frozen=True, kw_only=True):
    """One agent's calls of one tool since aitop started."""

    agent: str
    tool: str
    calls: int = 0
    errors: int = 0


class SinceStartBy(Struct, frozen=True):
    """`since_start`, split by agent, by (agent, model) and by (agent, tool): counted by
    each event's own time from aitop's start, so they only ever grow (what OpenMetrics
    counters need), unlike the `agents` and `models` rows, which take in whatever is read
    of a session's past at once."""

    agents: list[AgentTotals] = []
    models: list[ModelTotals] = []
    tools: list[ToolTotals] = []


class Alert(Struct, frozen=True):
    id: str  # stable while the condition lasts: a new id is a new alert
    severity: str  # "warning" or "critical"
    message: str


class AlertLogEntry(Struct, frozen=True):
    """One alert since aitop started: when it began and when it cleared (None: still on)."""

    id: str
    severity: str
    message: str  # its latest wording
    began: str  # ISO 8601
    cleared: str | None
    began_ts: float
    cleared_ts: float | None


class Diagnostic(Struct, frozen=True):
    """What a provider knows about its own set-up, in its agent's words: whether its
    hooks are installed, where it reads, what it could not read and the fix. `info` is
    said where there is room (the empty screen); `warning` and `critical` are alerts."""

    id: str
    severity: str  # "info", "warning" or "critical"
    message: str


class BudgetRow(Struct, frozen=True, kw_only=True):
    """A budget of config.toml's `[budgets]` and what its period has spent so far."""

    period: str  # "daily", "weekly" or "monthly"
    agent: str | None  # None: all agents together
    start: str  # the period's first day (local), ISO 8601
    spent_usd: float
    limit_usd: float
    counting: bool = False  # the logs since the period began are still being read

    @property
    def fraction(self) -> float:
        return self.spent_usd / self.limit_usd if self.limit_usd else 0.0


class Ingest(Struct, frozen=True):
    frames: int = 0
    rejected_peer: int = 0
    rejected_malformed: int = 0
    rejected_oversize: int = 0
    ignored_events: int = 0
    # additions
    rejected_timeout: int = 0
    rejected_overload: int = 0
    open_connections: int = 0
    internal_errors: int = 0
    viewers: int = 0  # attached now (aitop -b, other screens: see DESIGN, "Viewers")
    viewers_dropped: int = 0  # fell too far behind, or stalled
    viewers_refused: int = 0  # asked to watch when the viewers were at their bound


class Transcripts(Struct, frozen=True):
    files: int = 0
    requests: int = 0
    lines: int = 0
    rejected_lines: int = 0
    long_lines: int = 0
    unsafe_paths: int = 0
    backlog_bytes: int = 0
    unreadable: int = 0  # files that could not be read at their last try (the log says why)


class Series(Struct, frozen=True):
    """Per-minute totals of the last 15 minutes, oldest first (for sparklines)."""

    cost_usd: list[float]
    tokens: list[int]
    requests: list[int]


class Snapshot(Struct, frozen=True):
    time: str
    uptime_s: float
    windows: Windows
    since_start: Window
    sessions: list[SessionRow]
    models: list[ModelRow]
    tools: list[ToolRow]
    alerts: list[Alert]
    ingest: Ingest
    # additions
    now: float = 0.0
    series: Series | None = None
    transcripts: Transcripts | None = None
    pricing_date: str = ""
    listening: bool = True
    socket: str = ""
    agents: list[AgentRow] = []
    alert_log: list[AlertLogEntry] = []  # newest first; the alerts still on included
    diagnostics: list[Diagnostic] = []
    limits: list[LimitRow] = []  # plan limits, per agent and window
    since_start_by: SinceStartBy | None = None
    attached: bool = False  # read from a running monitor over its socket, not made here
    monitor_pid: int = 0  # the process that runs the monitor
    budgets: list[BudgetRow] = []  # each budget set, with its period's spend


def to_json(snapshot: Snapshot, *, timelines: bool = False) -> bytes:
    """One line of `aitop -b --json`, and (with timelines) what a monitor sends its
    viewers. Sessions' timelines only when asked (`--timeline`): a log of `aitop -b --json
    -d 1 >> file` would otherwise repeat them every second."""
    data = msgspec.to_builtins(snapshot)
    if not timelines:
        for row in data["sessions"]:
            row.pop("timeline", None)
    try:
        return orjson.dumps(data) + b"\n"
    except orjson.JSONEncodeError:
        # a string that is not Unicode (a file name's undecodable byte, as a lone
        # surrogate) slipped through: written escaped, never at the cost of the line
        return orjson.dumps(printable_data(data)) + b"\n"


_decoder = msgspec.json.Decoder(Snapshot)


def from_json(line: bytes) -> Snapshot:
    """A snapshot line back into the Snapshot it was made from (a viewer's side);
    raises msgspec.DecodeError for anything else."""
    return _decoder.decode(line)
