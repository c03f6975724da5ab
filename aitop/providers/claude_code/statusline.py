"""Claude Code's status line input → aitop events.

Claude Code runs its `statusLine` command (`aitop statusline`) after each change, with
one JSON object on stdin (tests/fixtures/claude-code/statusline/README.md lists every
field). Two things in it are found nowhere else, and nowhere on disk:

* `rate_limits.five_hour` / `seven_day` (`used_percentage` 0..100, `resets_at` epoch
  seconds): the plan limits of a Claude.ai login, from the API's own headers of the
  latest response; absent for API keys and before the first response;
* `cost.total_cost_usd` and `context_window`: Claude Code's own running cost of the
  session and its context fill at the latest response, aitop's cross-check.

The figures are the latest response's, and are sent again on every refresh while nothing
happens: they are not a sign of activity.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from aitop import events as ev
from aitop.providers.base import Decoded, Outcome
from aitop.providers.claude_code.transcript import AGENT
from aitop.providers.hookjson import Id, Path, decode_hook, session_info
from aitop.wire import Envelope

Percent = Annotated[float, Meta(ge=0, le=100)]
Epoch = Annotated[float, Meta(ge=0, le=1e11)]
Tokens = Annotated[int, Meta(ge=0, le=100_000_000)]
Usd = Annotated[float, Meta(ge=0, le=1e7)]

FIVE_HOURS = 300  # minutes
SEVEN_DAYS = 10_080


class _Window(Struct):
    used_percentage: Percent
    resets_at: Epoch | None = None


class _RateLimits(Struct):
    five_hour: _Window | None = None
    seven_day: _Window | None = None


class _Cost(Struct):
    total_cost_usd: Usd | None = None


class _ContextWindow(Struct):
    total_input_tokens: Tokens | None = None
    context_window_size: Tokens | None = None
    current_usage: msgspec.Raw = msgspec.Raw()  # kept raw: null until the first response


class StatusLine(Struct):
    session_id: Id
    transcript_path: Path | None = None
    cwd: Path | None = None
    cost: _Cost | None = None
    context_window: _ContextWindow | None = None
    rate_limits: _RateLimits | None = None


_decoder = msgspec.json.Decoder(StatusLine)


def decode(payload: bytes, envelope: Envelope, now: float) -> Decoded:
    """The status line's input as events; never raises on any input."""
    line = decode_hook(payload, _decoder, ())
    if isinstance(line, Decoded):  # there is no event name to tell unknown from broken
        return Decoded(Outcome.MALFORMED, [], line.reason)
    return Decoded(Outcome.OK, to_events(line, envelope, now))


def to_events(line: StatusLine, envelope: Envelope, now: float) -> list[ev.Event]:
    session = session_info(AGENT, line, envelope, now)
    events: list[ev.Event] = []
    gauges = _gauges(session, line)
    if gauges is not None:
        events.append(gauges)
    limits = line.rate_limits
    if limits is not None:
        windows = tuple(
            ev.LimitWindow(minutes, window.used_percentage, window.resets_at)
            for minutes, window in ((FIVE_HOURS, limits.five_hour), (SEVEN_DAYS, limits.seven_day))
            if window is not None
        )
        if windows:
            events.append(ev.PlanLimits(session, windows))
    return events


def _gauges(session: ev.SessionInfo, line: StatusLine) -> ev.AgentGauges | None:
    cost = line.cost.total_cost_usd if line.cost is not None else None
    context = line.context_window
    tokens = window = None
    # before the first response there is no usage (its figures are nulls and zeros)
    if context is not None and bytes(context.current_usage) not in (b"", b"null"):
        tokens, window = context.total_input_tokens, context.context_window_size
    if cost is None and tokens is None:
        return None
    return ev.AgentGauges(session, cost, tokens, window)
