"""Where plan limits come from: Claude Code's status line input (every captured stdin of a
real Claude Code 2.1.332 TUI, tests/fixtures/claude-code/statusline) and Codex's rollouts
(every `token_count` row of the real Codex 0.171.0 captures), and the envelope that says a
frame is a status line's, which a monitor without the field still decodes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec import Struct

from aitop import events as ev
from aitop.aggregate import Aggregator
from aitop.pricing import Pricer
from aitop.providers.base import Outcome
from aitop.providers.claude_code import statusline
from aitop.providers.claude_code.provider import ClaudeCode
from aitop.providers.codex.provider import Codex
from aitop.providers.codex.rollout import RolloutReader
from aitop.providers.tail import Followed
from aitop.wire import HOOK, STATUSLINE, Envelope, split_frame

from conftest import FIXTURES

STATUSLINE_DIR = FIXTURES / "statusline"
CODEX_SESSIONS = FIXTURES.parent / "codex" / "sessions"
T0 = 1_796_099_000.0
SL = Envelope(kind=STATUSLINE, pid=4242)
LINE_TIME = 1_796_096_385.464  # 2026-12-01T03:39:45.464Z, the Codex line below


def index_rows() -> list[dict[str, str]]:
    with (STATUSLINE_DIR / "INDEX.tsv").open() as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["file"]]


def parse_index_window(text: str) -> tuple[float, float] | None:
    """INDEX.tsv's `12% @1796101200`, or `-`."""
    if text == "-":
        return None
    used, reset = text.split(" @")
    return float(used.rstrip("%")), float(reset)


ROWS = [row for row in index_rows() if (STATUSLINE_DIR / row["file"]).exists()]


def test_every_captured_run_is_here() -> None:
    assert {row["run"] for row in ROWS} == {
        "S1-tui-apikey",
        "S3-tui-gateway-jwt",
        "S4-tui-plain-authtoken",
        "S5-tui-oauth-env",
        "S6-tui-oauth-refresh-bigctx",
    }
    assert len(ROWS) == len([r for r in index_rows() if r["run"] != "S2-print"])


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["file"].removeprefix("runs/"))
def test_every_captured_status_line_input_decodes_to_its_figures(row: dict[str, str]) -> None:
    payload = (STATUSLINE_DIR / row["file"]).read_bytes()
    outcome, events, reason = statusline.decode(payload, SL, T0)
    assert outcome is Outcome.OK, reason
    gauges = next(e for e in events if isinstance(e, ev.AgentGauges))
    data = json.loads(payload)
    assert gauges.session.session_id == data["session_id"]
    assert gauges.session.transcript_path == data["transcript_path"]
    assert (gauges.session.pid, gauges.session.time) == (4242, T0)
    assert gauges.cost_usd == pytest.approx(float(row["cost.total_cost_usd"]))
    context = data["context_window"]
    if row["context_window.used_percentage"] == "None":
        assert gauges.context_tokens is None  # before the first response
    else:
        assert gauges.context_tokens == context["total_input_tokens"]
        assert gauges.context_window == context["context_window_size"] == 1_000_000
        assert round(gauges.context_tokens / gauges.context_window * 100) == int(
            row["context_window.used_percentage"]
        )
    limits = [e for e in events if isinstance(e, ev.PlanLimits)]
    five = parse_index_window(row["rate_limits.five_hour"])
    seven = parse_index_window(row["rate_limits.seven_day"])
    if five is None and seven is None:
        assert limits == []  # an API key, or no response with the headers yet
        return
    (event,) = limits
    assert event.session.time == T0 and event.plan is None and event.scope is None
    assert [(w.minutes, w.used_pct, w.resets_at) for w in event.windows] == [
        (300, *five),  # type: ignore[misc]
        (10_080, *seven),  # type: ignore[misc]
    ]


def test_the_captured_oauth_session_gives_its_last_figures_to_the_monitor() -> None:
    agg = Aggregator(Pricer.load(), T0)
    stdin = sorted((STATUSLINE_DIR / "runs" / "S6-tui-oauth-refresh-bigctx" / "stdin").iterdir())
    for n, path in enumerate(stdin):
        _, events, _ = statusline.decode(path.read_bytes(), SL, T0 + n)
        agg.apply_all(events, T0 + n)
    snap = agg.snapshot(T0 + len(stdin))
    assert [(r.agent, r.window, r.used_pct, r.resets_at_ts) for r in snap.limits] == [
        ("claude-code", "5h", 15.0, 1_796_101_200.0),
        ("claude-code", "7d", 34.6, 1_796_526_000.0),
    ]
    (session,) = snap.sessions
    assert session.agent_cost_usd == pytest.approx(0.1147094)  # = its cost-state at exit
    assert (session.agent_context_tokens, session.agent_context_limit) == (264_252, 1_000_000)


@given(st.binary(max_size=300))
def test_any_bytes_decode_without_raising(payload: bytes) -> None:
    outcome, events, _ = statusline.decode(payload, SL, T0)
    assert outcome in (Outcome.OK, Outcome.MALFORMED)
    assert outcome is Outcome.OK or events == []


@pytest.mark.parametrize(
    "payload",
    [
        b"{}",  # no session id
        b'{"session_id": ""}',
        b'{"session_id": "s", "rate_limits": {"five_hour": {"used_percentage": 101}}}',
        b'{"session_id": "s", "rate_limits": {"five_hour": {"used_percentage": "12"}}}',
        b'{"session_id": "s", "cost": {"total_cost_usd": -1}}',
        b"[1, 2]",
        b"",
    ],
)
def test_bad_status_line_input_is_malformed(payload: bytes) -> None:
    assert statusline.decode(payload, SL, T0).outcome is Outcome.MALFORMED


def test_the_provider_sends_each_kind_to_its_decoder(tmp_path: Path) -> None:
    provider = ClaudeCode(str(tmp_path), use_inotify=False)
    sl = (STATUSLINE_DIR / "runs/S5-tui-oauth-env/stdin/0003.json").read_bytes()
    hook = b'{"hook_event_name":"Stop","session_id":"s1"}'
    assert any(isinstance(e, ev.PlanLimits) for e in provider.decode(sl, SL, T0).events)
    assert provider.decode(hook, SL, T0) == (Outcome.OK, [], "")  # nothing a status line says
    assert provider.decode(sl, Envelope(), T0).outcome is Outcome.MALFORMED  # nor the reverse
    assert provider.decode(hook, Envelope(kind=HOOK), T0).outcome is Outcome.OK
    later = Envelope(kind="something-new")
    assert provider.decode(hook, later, T0).outcome is Outcome.IGNORED
    provider.close()


def test_codex_has_no_status_line(tmp_path: Path) -> None:
    provider = Codex(str(tmp_path), use_inotify=False)
    sl = (STATUSLINE_DIR / "runs/S5-tui-oauth-env/stdin/0003.json").read_bytes()
    assert provider.decode(sl, Envelope(agent="codex", kind=STATUSLINE), T0).outcome is (
        Outcome.IGNORED
    )
    provider.close()


# --- the envelope ----------------------------------------------------------------------


class _OldEnvelope(Struct, frozen=True):
    """The envelope as monitors before the status line decoded it."""

    agent: str = "claude-code"
    pid: int | None = None
    tag: str | None = None


def test_a_status_line_envelope_decodes_in_old_and_new_monitors() -> None:
    line = b'AITOP/1 {"agent":"claude-code","pid":7,"kind":"statusline"}\n{"session_id":"s"}'
    envelope, payload = split_frame(line)
    assert (envelope.agent, envelope.pid, envelope.kind, payload) == (
        "claude-code",
        7,
        STATUSLINE,
        b'{"session_id":"s"}',
    )
    old = msgspec.json.decode(line.split(b"\n")[0][len(b"AITOP/1 ") :], type=_OldEnvelope)
    assert (old.agent, old.pid) == ("claude-code", 7)
    # and an envelope without the field is a hook's, as every forwarder before it sent
    envelope, _ = split_frame(b'AITOP/1 {"agent":"claude-code"}\n{}')
    assert envelope.kind == HOOK


# --- Codex: every token_count row ------------------------------------------------------


def codex_rollouts() -> list[Path]:
    return sorted(CODEX_SESSIONS.glob("*/codex-home/sessions/*/*/*/rollout-*.jsonl"))


@pytest.mark.parametrize("path", codex_rollouts(), ids=lambda p: p.parts[-7][:2] + p.name[-12:])
def test_every_codex_token_count_row_gives_its_rate_limits(path: Path) -> None:
    expected = []
    for raw in path.read_text().splitlines():
        line = json.loads(raw)
        payload = line["payload"]
        if line["type"] == "event_msg" and payload.get("type") == "token_count":
            limits = payload["rate_limits"]
            expected.append(
                [
                    (w["window_minutes"], w["used_percent"], w["resets_at"])
                    for w in (limits["primary"], limits["secondary"])
                    if w is not None
                ]
            )
    reader = RolloutReader()
    file = Followed(str(path), "thread", None)
    reader.follow(file)
    events = reader.lines(file, path.read_bytes().splitlines(), T0 + 86_400)
    got = [
        [(w.minutes, w.used_pct, w.resets_at) for w in e.windows]
        for e in events
        if isinstance(e, ev.PlanLimits)
    ]
    assert got == expected
    assert all(
        e.plan is None and e.scope is None and e.session.agent == "codex"
        for e in events
        if isinstance(e, ev.PlanLimits)
    )


def test_codex_limits_reach_the_snapshot_as_the_latest_row_says() -> None:
    """X1's last row: primary 5h, secondary 7d (F X1:25 is the first: 8.0 %, 2.2 %)."""
    (path,) = sorted((CODEX_SESSIONS / "X1-tools-resume").glob("codex-home/sessions/*/*/*/*.jsonl"))
    rows = [
        json.loads(raw)
        for raw in path.read_text().splitlines()
        if '"token_count"' in raw and '"rate_limits"' in raw
    ]
    last = rows[-1]["payload"]["rate_limits"]
    reader = RolloutReader()
    file = Followed(str(path), "thread", None)
    reader.follow(file)
    agg = Aggregator(Pricer.load(), T0)
    agg.apply_all(reader.lines(file, path.read_bytes().splitlines(), T0 + 86_400), T0)
    limits = agg.snapshot(1_796_096_500.0).limits
    assert [(r.agent, r.window, r.used_pct, r.resets_at_ts, r.stale) for r in limits] == [
        ("codex", "5h", last["primary"]["used_percent"], last["primary"]["resets_at"], False),
        ("codex", "7d", last["secondary"]["used_percent"], last["secondary"]["resets_at"], False),
    ]
    assert rows[0]["payload"]["rate_limits"]["primary"]["used_percent"] == 8.0


@pytest.mark.parametrize(
    ("rate_limits", "expected"),
    [
        # a plan and another of Codex's limits, by its id
        (
            {"limit_id": "premium", "plan_type": "pro", "primary": {"used_percent": 5.5,
             "window_minutes": 300, "resets_at": 1_796_200_000}},
            ("premium", "pro", [(300, 5.5, 1_796_200_000.0)]),
        ),
        # older Codex: a reset in seconds from the line's time; no window length
        (
            {"primary": {"used_percent": 12.0, "resets_in_seconds": 600},
             "secondary": {"used_percent": 3.0}},
            (None, None, [(300, 12.0, LINE_TIME + 600), (10_080, 3.0, None)]),
        ),
        # over 100 % is full
        ({"primary": {"used_percent": 104.0, "window_minutes": 300}}, (None, None, [(300, 100.0, None)])),
    ],
)  # fmt: skip
def test_codex_rate_limit_shapes(
    rate_limits: dict[str, object], expected: tuple[str | None, str | None, list[object]]
) -> None:
    events = _codex_line({"type": "token_count", "info": None, "rate_limits": rate_limits})
    (event,) = events
    assert isinstance(event, ev.PlanLimits)
    scope, plan, windows = expected
    assert (event.scope, event.plan) == (scope, plan)
    assert [(w.minutes, w.used_pct, w.resets_at) for w in event.windows] == windows


def test_a_rate_limits_shape_aitop_does_not_expect_costs_only_the_limits() -> None:
    usage = {"input_tokens": 100, "cached_input_tokens": 0, "output_tokens": 5,
             "reasoning_output_tokens": 0, "total_tokens": 105}  # fmt: skip
    events = _codex_line(
        {
            "type": "token_count",
            "info": {"total_token_usage": usage, "model_context_window": 475000},
            "rate_limits": {"primary": {"used_percent": "a lot"}},
        }
    )
    (request,) = events  # the usage is counted (rule 2), the limits are not
    assert isinstance(request, ev.Request) and request.usage.output_tokens == 5


def _codex_line(payload: dict[str, object]) -> list[ev.Event]:
    reader = RolloutReader()
    file = Followed("/x/rollout.jsonl", "thread", None)
    reader.follow(file)
    line = {"timestamp": "2026-12-01T03:39:45.464Z", "type": "event_msg", "payload": payload}
    return reader.lines(file, [json.dumps(line).encode()], T0)
