"""The Codex provider on real Codex 0.171.0 captures (tests/fixtures/codex): every session's
tokens equal the mock's logged responses; the parser never raises and its totals do not
depend on how the bytes arrive, on duplicate records, on compression, or on whether the
file has records at all (the older format's running totals give the same)."""

from __future__ import annotations

import json
import random
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitop import events as ev
from aitop.aggregate import Aggregator
from aitop.pricing import Pricer
from aitop.providers.base import Outcome
from aitop.providers.codex import hooks
from aitop.providers.codex.provider import Codex
from aitop.providers.codex.rollout import RolloutReader, usage_of
from aitop.providers.tail import Followed
from aitop.wire import Envelope

from conftest import FIXTURES

CODEX = FIXTURES.parent / "codex"
SESSIONS = sorted(p for p in (CODEX / "sessions").iterdir() if p.is_dir())
NOW = 1_800_000_000.0  # after every capture
PRICER = Pricer.load()


def _rollouts(session: Path) -> list[Path]:
    return sorted((session / "codex-home" / "sessions").rglob("rollout-*.jsonl"))


def _home_with(session: Path, tmp_path: Path) -> Path:
    home = tmp_path / "codex-home"
    shutil.copytree(session / "codex-home" / "sessions", home / "sessions")
    return home


def _read_all(provider: Codex, now: float = NOW, budget: int = 1 << 20) -> list[ev.Event]:
    events: list[ev.Event] = []
    while provider.pending():
        events.extend(provider.work(now, budget))
    return events


def _provider(home: Path) -> Codex:
    provider = Codex(str(home), use_inotify=False)
    provider.backfill(NOW, window_s=10 * 365 * 86_400)
    return provider


def _totals(events: list[ev.Event]) -> dict[str, tuple[int, ...]]:
    """Per session: requests and every token field, from the Request events."""
    out: dict[str, list[int]] = defaultdict(lambda: [0] * 7)
    for event in events:
        if isinstance(event, ev.Request):
            u = event.usage if event.previous is None else event.usage.minus(event.previous)
            row = out[event.session.session_id]
            row[0] += event.previous is None
            for i, value in enumerate(
                (
                    u.input_tokens,
                    u.output_tokens,
                    u.cache_read_tokens,
                    u.cache_write_tokens,
                    u.reasoning_tokens,
                    u.prompt_tokens,
                ),
                start=1,
            ):
                row[i] += value
    return {sid: tuple(row) for sid, row in out.items()}


def _expected(session: Path) -> dict[str, tuple[int, ...]]:
    """What the mock answered, per session (the `session-id` header: the root thread)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0] * 7)
    for line in (session / "mock-requests.jsonl").read_text().splitlines():
        request = json.loads(line)
        usage = request.get("usage")
        if not usage or request.get("path") not in ("/v1/responses", "/v1/responses/compact"):
            continue
        headers = request["headers"]
        meta = json.loads(headers.get("x-codex-turn-metadata") or "{}")
        sid = headers.get("session-id") or meta["session_id"]
        cached = usage["input_tokens_details"]["cached_tokens"]
        reasoning = usage["output_tokens_details"]["reasoning_tokens"]
        row = out[sid]
        row[0] += 1
        for i, value in enumerate(
            (
                usage["input_tokens"] - cached,
                usage["output_tokens"],
                cached,
                0,
                reasoning,
                usage["input_tokens"],
            ),
            start=1,
        ):
            row[i] += value
    return {sid: tuple(row) for sid, row in out.items()}


@pytest.mark.parametrize("session", SESSIONS, ids=lambda p: p.name)
def test_every_response_is_counted_once_against_the_mock(session: Path, tmp_path: Path) -> None:
    provider = _provider(_home_with(session, tmp_path))
    assert _totals(_read_all(provider)) == _expected(session)
    assert provider.stats().rejected_lines == 0


@pytest.mark.parametrize("session", SESSIONS, ids=lambda p: p.name)
def test_files_without_records_give_the_same_totals(session: Path, tmp_path: Path) -> None:
    """Older Codex wrote no token_usage_record: the advances of token_count's running total
    (never its re-emitted `last_token_usage`) give the same figures."""
    home = _home_with(session, tmp_path)
    for path in (home / "sessions").rglob("*.jsonl"):
        kept = [
            line
            for line in path.read_text().splitlines()
            if json.loads(line)["type"] != "token_usage_record"
        ]
        path.write_text("\n".join(kept) + "\n")
    assert _totals(_read_all(_provider(home))) == _expected(session)


def test_a_compressed_rollout_gives_the_same_totals_and_its_plain_twin_wins(
    tmp_path: Path,
) -> None:
    zstandard = pytest.importorskip("zstandard")
    session = CODEX / "sessions" / "X2-model-switch"
    home = _home_with(session, tmp_path)
    for path in (home / "sessions").rglob("*.jsonl"):
        compressed = zstandard.ZstdCompressor(level=3).compress(path.read_bytes())
        path.with_name(path.name + ".zst").write_bytes(compressed)
        path.unlink()
    assert _totals(_read_all(_provider(home))) == _expected(session)
    # both: the plain file is read, the compressed one is not (nothing twice either way)
    for path in (session / "codex-home" / "sessions").rglob("*.jsonl"):
        target = next((home / "sessions").rglob(path.name + ".zst")).with_name(path.name)
        target.write_bytes(path.read_bytes())
    provider = _provider(home)
    assert _totals(_read_all(provider)) == _expected(session)
    assert all(not p.endswith(".zst") for p in provider.tailer.watched())


@pytest.mark.parametrize("session", SESSIONS, ids=lambda p: p.name)
def test_totals_do_not_depend_on_how_the_bytes_arrive(session: Path, tmp_path: Path) -> None:
    rng = random.Random(session.name)
    provider = _provider(_home_with(session, tmp_path))
    events: list[ev.Event] = []
    while provider.pending():
        events.extend(provider.work(NOW, rng.choice([1, 7, 100, 4096, 65536])))
    assert _totals(events) == _expected(session)


@given(order=st.randoms(use_true_random=False))
def test_duplicate_records_in_any_order_count_once(order: random.Random) -> None:
    """A resumed or forked file copies records: whatever the order of the files and of
    the copies, each (thread, response) counts once."""
    path = _rollouts(CODEX / "sessions" / "X1-tools-resume")[0]
    lines = path.read_bytes().splitlines()
    records = [line for line in lines if b'"token_usage_record"' in line]
    files = [lines, [lines[0], *order.sample(records, len(records))]]
    order.shuffle(files)
    reader = RolloutReader()
    events: list[ev.Event] = []
    for index, content in enumerate(files):
        followed = Followed(f"/x/rollout-{index}.jsonl", "s", None)
        reader.follow(followed)
        events.extend(reader.lines(followed, content, NOW))
    (totals,) = _totals(events).values()
    (expected,) = _expected(CODEX / "sessions" / "X1-tools-resume").values()
    assert totals == expected


@given(st.lists(st.binary(max_size=300), max_size=30))
def test_the_reader_never_raises_on_any_bytes(lines: list[bytes]) -> None:
    reader = RolloutReader()
    followed = Followed("/x/rollout-1.jsonl", "s", None)
    reader.follow(followed)
    reader.lines(followed, lines, NOW)


MUTATIONS = [b"{", b"[]", b'{"type":"token_usage_record","payload":{"usage":{"input_tokens":-1}}}',
             b'{"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":"x"}}}',
             b'{"type":"session_meta","payload":{"id":7}}', b"\xff\xfe",
             b'{"type":"event_msg","payload":{"type":"item_completed","item":null}}']  # fmt: skip


@given(
    st.lists(st.sampled_from(MUTATIONS), max_size=10),
    st.integers(min_value=0, max_value=1000),
)
def test_bad_lines_among_good_ones_cost_only_themselves(bad: list[bytes], where: int) -> None:
    session = CODEX / "sessions" / "X1-tools-resume"
    lines = _rollouts(session)[0].read_bytes().splitlines()
    at = where % (len(lines) - 1) + 1  # after the session_meta line
    reader = RolloutReader()
    followed = Followed("/x/rollout-1.jsonl", "s", None)
    reader.follow(followed)
    events = reader.lines(followed, [*lines[:at], *bad, *lines[at:]], NOW)
    (totals,) = _totals(events).values()
    (expected,) = _expected(session).values()
    assert totals == expected


def test_openai_usage_is_normalised() -> None:
    """OpenAI's input includes the cached tokens; reasoning is inside output."""
    from aitop.providers.codex.rollout import _Usage

    raw = _Usage(input_tokens=15642, cached_input_tokens=15104, output_tokens=149,
                 reasoning_output_tokens=90)  # fmt: skip
    assert usage_of(raw) == ev.Usage(
        input_tokens=538, output_tokens=149, cache_read_tokens=15104, reasoning_tokens=90
    )


# --- through the aggregator: what a session row shows ------------------------------------------


def _rows(session: Path, tmp_path: Path) -> dict[str, object]:
    """The session rows a minute after the capture ended."""
    events = _read_all(_provider(_home_with(session, tmp_path)))
    after = max(event.session.time for event in events) + 60
    agg = Aggregator(PRICER, after - 3600)
    agg.apply_all(events, after)
    return {row.session_id: row for row in agg.snapshot(after).sessions}


def test_tool_calls_failures_turns_and_the_context_window_of_a_session(tmp_path: Path) -> None:
    (row,) = _rows(CODEX / "sessions" / "X1-tools-resume", tmp_path).values()
    assert row.agent == "codex"  # type: ignore[attr-defined]
    # two parallel commands, a failing one and a patch; then one more on resume
    assert (row.tool_calls, row.tool_errors) == (5, 1)  # type: ignore[attr-defined]
    assert row.turns == 3  # type: ignore[attr-defined]
    assert row.context_limit == 475_000  # type: ignore[attr-defined]  # Codex's own word
    assert row.model == "gpt-6.2-sol"  # type: ignore[attr-defined]
    assert row.cost_estimated  # type: ignore[attr-defined]  # in no price table: ≈


def test_a_model_switch_compacts_and_prices_each_response_as_its_model(tmp_path: Path) -> None:
    session = CODEX / "sessions" / "X2-model-switch"
    (row,) = _rows(session, tmp_path).values()
    assert row.compactions >= 1  # type: ignore[attr-defined]
    assert row.compactions_unlogged == 0  # type: ignore[attr-defined]  # its request is counted
    expected = 0
    for line in (session / "mock-requests.jsonl").read_text().splitlines():
        request = json.loads(line)
        usage = request.get("usage")
        if not usage:
            continue
        cached = usage["input_tokens_details"]["cached_tokens"]
        normal = ev.Usage(
            input_tokens=usage["input_tokens"] - cached,
            output_tokens=usage["output_tokens"],
            cache_read_tokens=cached,
            reasoning_tokens=usage["output_tokens_details"]["reasoning_tokens"],
        )
        when = msgspec.json.decode(json.dumps(request["ts"]).encode(), type=str)
        from datetime import datetime

        at = datetime.fromisoformat(when).timestamp()
        expected += PRICER.cost_pico(request["model"], normal, at, vendor="openai")
    assert row.cost_usd == pytest.approx(expected / 1e12, abs=1e-12)  # type: ignore[attr-defined]


def test_subagents_roll_up_to_their_session(tmp_path: Path) -> None:
    session = CODEX / "sessions" / "X5-subagent"
    rows = _rows(session, tmp_path)
    expected = _expected(session)
    assert set(rows) == set(expected)  # no row for a subagent's own thread
    assert sum(row.subagents for row in rows.values()) >= 2  # type: ignore[attr-defined]


def test_a_failed_turn_is_an_api_error(tmp_path: Path) -> None:
    rows = _rows(CODEX / "sessions" / "X3-api-error", tmp_path)
    assert sum(row.api_errors for row in rows.values()) == 3  # type: ignore[attr-defined]


# --- hooks ----------------------------------------------------------------------------------


def _payloads() -> Iterator[Path]:
    yield from sorted((CODEX / "hook-payloads").glob("*.json"))
    yield from sorted((CODEX / "model-request-hooks").glob("*.json"))


@pytest.mark.parametrize("path", list(_payloads()), ids=lambda p: p.name)
def test_every_captured_hook_payload_decodes(path: Path) -> None:
    decoded = hooks.decode(path.read_bytes(), Envelope(agent="codex"), NOW)
    assert decoded.outcome is Outcome.OK and decoded.events, decoded.reason
    assert all(e.session.agent == "codex" for e in decoded.events)


def test_a_subagent_hook_names_the_parent_session_and_follows_the_child(tmp_path: Path) -> None:
    provider = Codex(str(tmp_path / "home"), use_inotify=False)
    payload = json.loads((CODEX / "hook-payloads" / "SubagentStart.json").read_bytes())
    child = tmp_path / "home" / "sessions" / "2026" / "12" / "01" / Path(
        payload["transcript_path"]).name  # fmt: skip
    payload["transcript_path"] = str(child)
    (event,) = provider.decode(json.dumps(payload).encode(), Envelope(agent="codex"), NOW).events
    assert isinstance(event, ev.SubagentStarted)
    assert event.session.session_id == payload["session_id"]
    assert event.subagent_id == payload["agent_id"]
    assert provider.tailer.followed(str(child)) is not None


def test_post_tool_use_leaves_the_outcome_to_the_rollout() -> None:
    data = (CODEX / "hook-payloads" / "PostToolUse-Bash.json").read_bytes()
    (event,) = hooks.decode(data, Envelope(agent="codex"), NOW).events
    assert isinstance(event, ev.ToolFinished) and event.ok is None
