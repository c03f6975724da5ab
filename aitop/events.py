"""The provider-agnostic event stream: a small closed set of frozen Structs.

Providers (each agent's hook frames and logs) turn their inputs into these; nothing
after the provider layer knows an agent's field names. Times are Unix seconds (float).
`subagent_id` is None on a session's main thread. A session is known by (agent, id).
"""

from __future__ import annotations

from msgspec import Struct


class Usage(Struct, frozen=True, gc=False):
    """Token counts of one API request, normalised: `input_tokens` are the prompt tokens
    not read from the cache (OpenAI counts cached ones in its input: the provider takes
    them out); cache writes split by lifetime; `output_tokens` include the reasoning
    tokens, which `reasoning_tokens` shows apart (a part of output, never priced twice)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def prompt_tokens(self) -> int:
        """What the model read: the size of the context window this request used."""
        return (
            self.input_tokens
            + self.cache_read_tokens
            + self.cache_write_5m_tokens
            + self.cache_write_1h_tokens
        )

    def covers(self, other: Usage) -> bool:
        """True when no field of `other` is larger (a duplicate with nothing new)."""
        return (
            self.input_tokens >= other.input_tokens
            and self.output_tokens >= other.output_tokens
            and self.cache_read_tokens >= other.cache_read_tokens
            and self.cache_write_5m_tokens >= other.cache_write_5m_tokens
            and self.cache_write_1h_tokens >= other.cache_write_1h_tokens
            and self.reasoning_tokens >= other.reasoning_tokens
        )

    def union(self, other: Usage) -> Usage:
        """Field-wise maximum: what a request whose usage grew has spent in all."""
        return Usage(
            max(self.input_tokens, other.input_tokens),
            max(self.output_tokens, other.output_tokens),
            max(self.cache_read_tokens, other.cache_read_tokens),
            max(self.cache_write_5m_tokens, other.cache_write_5m_tokens),
            max(self.cache_write_1h_tokens, other.cache_write_1h_tokens),
            max(self.reasoning_tokens, other.reasoning_tokens),
        )

    def minus(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens - other.input_tokens,
            self.output_tokens - other.output_tokens,
            self.cache_read_tokens - other.cache_read_tokens,
            self.cache_write_5m_tokens - other.cache_write_5m_tokens,
            self.cache_write_1h_tokens - other.cache_write_1h_tokens,
            self.reasoning_tokens - other.reasoning_tokens,
        )


ZERO_USAGE = Usage()


class SessionInfo(Struct, frozen=True):
    """What a hook or a transcript says about the session it belongs to."""

    agent: str
    session_id: str
    time: float
    cwd: str | None = None
    transcript_path: str | None = None
    pid: int | None = None
    tag: str | None = None


# --- from hooks -------------------------------------------------------------------


class SessionStarted(Struct, frozen=True):
    session: SessionInfo
    source: str = "startup"  # startup, resume, clear, compact
    model: str | None = None
    context_window: int | None = None  # when the user's pick says (Claude Code's `[1m]`)


class SessionEnded(Struct, frozen=True):
    session: SessionInfo
    reason: str = "other"


class Activity(Struct, frozen=True):
    """Any sign of life from a session that has no accounting of its own."""

    session: SessionInfo


class PromptSubmitted(Struct, frozen=True):
    session: SessionInfo


class TurnEnded(Struct, frozen=True):
    """The agent says it finished answering (a Stop hook): a sign of life. The turn is
    counted from the log (`TurnCompleted`), which backfill and restarts see too."""

    session: SessionInfo
    background_tasks: int = 0  # still running: the agent goes on by itself


class TurnFailed(Struct, frozen=True):
    """The turn ended on an API error (Claude Code: StopFailure)."""

    session: SessionInfo
    error: str = ""


class Waiting(Struct, frozen=True):
    """The session is blocked on the user (a permission dialog or an idle prompt)."""

    session: SessionInfo
    kind: str  # "permission" or "input"
    message: str = ""


class ModelSwitched(Struct, frozen=True):
    session: SessionInfo
    model: str
    context_window: int | None = None  # when the user's pick says (Claude Code's `[1m]`)


class SubagentStarted(Struct, frozen=True):
    session: SessionInfo
    subagent_id: str
    subagent_type: str = ""
    transcript_path: str | None = None


class SubagentStopped(Struct, frozen=True):
    session: SessionInfo
    subagent_id: str
    subagent_type: str = ""
    transcript_path: str | None = None


class CompactionStarted(Struct, frozen=True):
    session: SessionInfo
    trigger: str = "manual"


# --- tool calls: from hooks and transcripts, counted once per tool_use_id ------------


class ToolStarted(Struct, frozen=True):
    session: SessionInfo
    tool_use_id: str
    name: str
    subagent_id: str | None = None
    input_digest: int | None = None  # same digest twice in a row = the same call again
    summary: str | None = None  # its input in a few words: a command's first, a file's name


class ToolFinished(Struct, frozen=True):
    session: SessionInfo
    tool_use_id: str
    name: str | None
    ok: bool | None  # None: this source cannot tell (Codex's PostToolUse has no exit code)
    subagent_id: str | None = None
    duration_ms: float | None = None


class ToolRunning(Struct, frozen=True):
    """A hook says a tool call began (`running`) or ended, with no call id to count it by
    (Gemini CLI's BeforeTool and AfterTool): only what the session does now follows it;
    the call itself is counted from the log, which has its id."""

    session: SessionInfo
    key: str  # the same for a call's start and its end
    name: str
    running: bool


# --- from transcripts ---------------------------------------------------------------


class Request(Struct, frozen=True):
    """One API request, or the growth of one already seen.

    `usage` is everything the request has spent so far; `previous` what had already
    been counted (None for a request seen for the first time), so a consumer adds
    `usage - previous` and prices `price(usage) - price(previous)`.
    """

    session: SessionInfo
    model: str
    usage: Usage
    previous: Usage | None = None
    subagent_id: str | None = None
    sidechain: bool = False  # not the session's main thread: no say in its context fill
    speed: str | None = None  # "fast" multiplies the price
    inference_geo: str | None = None  # "us" carries an uplift on some models
    service_tier: str | None = None  # "priority", "flex": OpenAI prices them apart
    stop_reason: str | None = None
    vendor: str | None = None  # whose price list: "anthropic", "openai", "google"
    context_window: int | None = None  # the window the agent says the model has
    # how long it took, where the agent's log can tell: when it was sent, and when its
    # whole answer was in (its lines written, as aitop saw them while it followed the file)
    started: float | None = None
    answered: float | None = None


class TurnCompleted(Struct, frozen=True):
    """The main thread's answer is done: the user has the turn (from the agent's log)."""

    session: SessionInfo
    duration_ms: float | None = None
    first_token_ms: float | None = None  # time to the first token, where the log says


class ApiError(Struct, frozen=True):
    """A request that failed; it spent nothing (Claude Code: a `<synthetic>` line)."""

    session: SessionInfo
    status: int | None = None
    subagent_id: str | None = None


class Compacted(Struct, frozen=True):
    """The conversation was compacted. `request_logged`: its summary request is among the
    requests the agent's log gives (and so in aitop's count); when it is not, the agent's
    own total can be higher than aitop's by that request."""

    session: SessionInfo
    pre_tokens: int | None = None
    request_logged: bool = False


class AgentCostReport(Struct, frozen=True):
    """The agent's own cost total for the session: written when its process exits
    (Claude Code's `cost-state`: the session has ended then), or kept current while it
    runs (`running`: OpenCode's, which says nothing about the session's end). The session
    detail words the figure by which of the two it is."""

    session: SessionInfo
    total_cost_usd: float
    running: bool = False


# --- the agent's own figures (Claude Code: its status line's input) ----------------------


class AgentGauges(Struct, frozen=True):
    """What the agent itself says of a session while it runs: its running cost and its
    context fill, for aitop's own figures to be checked against. Not a sign of activity:
    an agent may re-send them every few seconds while its user is away."""

    session: SessionInfo
    cost_usd: float | None = None
    context_tokens: int | None = None
    context_window: int | None = None


class LimitWindow(Struct, frozen=True, gc=False):
    """One window of a plan limit as the agent last heard it from its vendor."""

    minutes: int  # the window's length: 300 (five hours), 10080 (a week)
    used_pct: float  # 0..100
    resets_at: float | None = None  # Unix seconds; None where the agent does not say


class PlanLimits(Struct, frozen=True):
    """The official use of a subscription's limits, from the vendor's own response headers
    as the agent passed them on. Agent-level state (every session of an account sees the
    same figures), not a session's: `session` only says where it came from and when
    (`session.time` is when the figures were current)."""

    session: SessionInfo
    windows: tuple[LimitWindow, ...]
    plan: str | None = None  # "plus", "pro", "max"... where the agent says
    scope: str | None = None  # which of the agent's limits, where it has several


Event = (
    SessionStarted
    | SessionEnded
    | Activity
    | PromptSubmitted
    | TurnEnded
    | TurnFailed
    | Waiting
    | ModelSwitched
    | SubagentStarted
    | SubagentStopped
    | CompactionStarted
    | ToolStarted
    | ToolFinished
    | ToolRunning
    | Request
    | TurnCompleted
    | ApiError
    | Compacted
    | AgentCostReport
    | AgentGauges
    | PlanLimits
)
