"""Transcript accounting: every DESIGN.md "Accounting" rule, on real captures and made-up files."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitop import events as ev
from aitop.providers.claude_code.transcript import (
    recent_transcripts,
    session_of,
)
from aitop.providers.claude_code.transcript import (
    tailer as claude_tailer,
)
from aitop.providers.dedup import Dedup
from aitop.providers.tail import Tailer
from aitop.providers.timestamps import parse_time

from conftest import SESSIONS, fixture_sessions, mock_responses

NOW = datetime(2026, 11, 23, tzinfo=UTC).timestamp()  # after every capture


def _sum(usages: list[ev.Usage]) -> tuple[int, ...]:
    return tuple(sum(getattr(u, f) for u in usages) for f in ev.Usage.__struct_fields__)


def _tail_all(tailer: Tailer, files: list[Path], budget: int = 1 << 30) -> list[ev.Event]:
    events: list[ev.Event] = []
    for path in files:
        owner = session_of(str(path))
        assert owner is not None
        assert tailer.watch(str(path), *owner)
        while True:
            got = tailer.read(str(path), NOW, budget)
            events.extend(got)
            if not tailer.is_behind(str(path)):
                break
    return events


def _copy_projects(session: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    projects = tmp_path / "projects"
    shutil.copytree(session / "claude-projects", projects)
    for path in projects.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    return projects, sorted(projects.rglob("*.jsonl"))


@pytest.mark.parametrize("session", fixture_sessions(), ids=lambda p: p.name)
def test_every_request_is_counted_once_against_the_mock(session: Path, tmp_path: Path) -> None:
    """Each distinct response the API returned is counted once; the compaction request,
    which no transcript records, is the only one missing."""
    projects, files = _copy_projects(session, tmp_path)
    tailer = claude_tailer(str(projects))
    requests = [e for e in _tail_all(tailer, files) if isinstance(e, ev.Request)]
    assert all(e.previous is None for e in requests)
    by_session: dict[str, list[ev.Usage]] = {}
    for event in requests:
        by_session.setdefault(event.session.session_id, []).append(event.usage)
    responses = mock_responses(session / "mock-requests.jsonl")
    for sid in {r.session_id for r in responses}:
        mine = [r for r in responses if r.session_id == sid]
        counted = [r.usage for r in mine if not r.compaction]  # the compaction is the gap
        assert _sum(by_session.get(sid, [])) == _sum(counted), sid
        assert len(by_session.get(sid, [])) == len(counted)


def test_duplicate_lines_per_content_block_are_not_recounted(tmp_path: Path) -> None:
    session = SESSIONS / "F1-print-tools-subagent"
    projects, files = _copy_projects(session, tmp_path)
    tailer = claude_tailer(str(projects))
    _tail_all(tailer, files)
    assistant_lines = sum(
        1
        for f in files
        for line in f.read_text().splitlines()
        if json.loads(line).get("type") == "assistant"
        and json.loads(line)["message"]["model"] != "<synthetic>"
    )
    assert tailer.reader.stats.requests == 8
    assert tailer.reader.stats.duplicate_lines == assistant_lines - 8


def test_every_request_of_a_turn_is_counted_not_only_the_last(tmp_path: Path) -> None:
    session = SESSIONS / "F1-print-tools-subagent"
    projects, files = _copy_projects(session, tmp_path)
    main = [f for f in files if "subagents" not in str(f)]
    events = _tail_all(claude_tailer(str(projects)), main)
    stops = [e.stop_reason for e in events if isinstance(e, ev.Request)]
    # the first turn made four requests: three tool_use rounds, then the answer
    assert stops[:4] == ["tool_use", "tool_use", "tool_use", "end_turn"]


def test_subagent_files_belong_to_their_session(tmp_path: Path) -> None:
    projects, files = _copy_projects(SESSIONS / "F1-print-tools-subagent", tmp_path)
    events = _tail_all(claude_tailer(str(projects)), files)
    subs = {e.subagent_id for e in events if isinstance(e, ev.Request)}
    assert subs == {None, "a2e952bb053af6377"}
    assert {e.session.session_id for e in events} == {"11111111-2222-4333-8444-555555555555"}
    side = [e for e in events if isinstance(e, ev.Request) and e.subagent_id]
    assert all(e.sidechain for e in side)


def test_api_error_lines_are_errors_not_requests(tmp_path: Path) -> None:
    projects, files = _copy_projects(SESSIONS / "F3-print-misc", tmp_path)
    events = _tail_all(claude_tailer(str(projects)), files)
    errors = [e for e in events if isinstance(e, ev.ApiError)]
    assert [e.status for e in errors] == [400]
    assert not any(isinstance(e, ev.Request) and e.model == "<synthetic>" for e in events)


def test_compactions_and_cost_reports(tmp_path: Path) -> None:
    projects, files = _copy_projects(SESSIONS / "F1-print-tools-subagent", tmp_path)
    events = _tail_all(claude_tailer(str(projects)), files)
    assert [e.pre_tokens for e in events if isinstance(e, ev.Compacted)] == [13202]
    reports = [e.total_cost_usd for e in events if isinstance(e, ev.AgentCostReport)]
    assert reports == [0.131928, 0.208119, 0.28007400000000005]


def test_tool_calls_and_results_from_the_transcript(tmp_path: Path) -> None:
    projects, files = _copy_projects(SESSIONS / "F1-print-tools-subagent", tmp_path)
    events = _tail_all(claude_tailer(str(projects)), files)
    started = Counter(e.name for e in events if isinstance(e, ev.ToolStarted))
    failed = [e.tool_use_id for e in events if isinstance(e, ev.ToolFinished) and not e.ok]
    assert started == {"Bash": 4, "Read": 1, "Agent": 1}
    assert failed == ["toolu_01595eYLKvzvyWraCTFvjal8"]  # the `exit 3` of [fail]


# --- made-up transcripts ---------------------------------------------------------------


def _assistant(
    msg: str, req: str, out: int, *, ts: str = "2026-11-22T21:00:00.000Z", **usage: int
) -> bytes:
    line = {
        "type": "assistant",
        "timestamp": ts,
        "requestId": req,
        "message": {
            "id": msg,
            "model": "claude-opus-5-5",
            "content": [{"type": "text", "text": "hi"}],
            "usage": {
                "input_tokens": usage.get("input", 10),
                "output_tokens": out,
                "cache_read_input_tokens": usage.get("read", 0),
                "cache_creation_input_tokens": usage.get("write", 0),
            },
        },
    }
    return json.dumps(line).encode() + b"\n"


def _setup(tmp_path: Path, name: str = "s1.jsonl") -> tuple[Tailer, Path]:
    project = tmp_path / "projects" / "-p"
    project.mkdir(parents=True, mode=0o700)
    path = project / name
    path.write_bytes(b"")
    tailer = claude_tailer(str(tmp_path / "projects"))
    assert tailer.watch(str(path), name.removesuffix(".jsonl"))
    return tailer, path


def _requests(events: list[ev.Event]) -> list[ev.Request]:
    return [e for e in events if isinstance(e, ev.Request)]


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def test_tail_reads_only_appended_whole_lines(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    line = _assistant("m1", "r1", 5)
    _append(path, line[:40])
    assert tailer.read(str(path), NOW) == []  # a partial line waits
    _append(path, line[40:])
    (event,) = _requests(tailer.read(str(path), NOW))
    assert event.usage.output_tokens == 5
    assert tailer.read(str(path), NOW) == []  # nothing new: nothing re-read
    assert tailer.stats.bytes_read == len(line)


def test_grown_duplicates_add_only_the_difference(tmp_path: Path) -> None:
    """Older Claude Code versions wrote a response's lines with growing output_tokens."""
    tailer, path = _setup(tmp_path)
    _append(
        path, _assistant("m1", "r1", 1) + _assistant("m1", "r1", 40) + _assistant("m1", "r1", 40)
    )
    first, grown = _requests(tailer.read(str(path), NOW))
    assert (first.previous, first.usage.output_tokens) == (None, 1)
    assert grown.previous is not None and grown.previous.output_tokens == 1
    assert grown.usage.output_tokens == 40
    assert tailer.reader.stats.requests == 1 and tailer.reader.stats.duplicate_lines == 1


def test_dedup_is_global_across_files(tmp_path: Path) -> None:
    """A resumed or forked session copies lines into another file: counted once."""
    tailer, first = _setup(tmp_path, "s1.jsonl")
    second = first.with_name("s2.jsonl")
    line = _assistant("m1", "r1", 7)
    _append(first, line)
    second.write_bytes(line + _assistant("m2", "r2", 3))
    assert tailer.watch(str(second), "s2")
    assert len(_requests(tailer.read(str(first), NOW))) == 1
    (only,) = _requests(tailer.read(str(second), NOW))
    assert only.usage.output_tokens == 3


def test_same_message_id_with_another_request_id_is_another_request(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    _append(path, _assistant("m1", "r1", 7) + _assistant("m1", "r2", 7))
    assert len(_requests(tailer.read(str(path), NOW))) == 2


def test_truncated_file_is_read_again_without_double_counting(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    _append(path, _assistant("m1", "r1", 7) + _assistant("m2", "r2", 8))
    assert len(_requests(tailer.read(str(path), NOW))) == 2
    path.write_bytes(_assistant("m3", "r3", 9))  # smaller than the offset: replaced
    tailer.poll(NOW)
    (event,) = _requests(tailer.read(str(path), NOW))
    assert event.usage.output_tokens == 9
    assert tailer.stats.restarts == 1


def test_replaced_file_is_read_from_the_start(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    _append(path, _assistant("m1", "r1", 7))
    tailer.read(str(path), NOW)
    replacement = path.with_name("new")
    replacement.write_bytes(
        _assistant("m1", "r1", 7) + _assistant("m2", "r2", 8) + b"x" * 10 + b"\n"
    )
    os.replace(replacement, path)  # another inode, larger than before
    (event,) = _requests(tailer.read(str(path), NOW))
    assert (event.usage.output_tokens, tailer.stats.restarts) == (8, 1)


def test_first_sight_is_read_in_bounded_chunks(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    lines = b"".join(_assistant(f"m{i}", f"r{i}", i + 1) for i in range(200))
    _append(path, lines)
    tailer.poll(NOW)
    total, reads = 0, 0
    while tailer.is_behind(str(path)) or reads == 0:
        before = tailer.stats.bytes_read
        total += len(_requests(tailer.read(str(path), NOW, budget=4096)))
        assert tailer.stats.bytes_read - before <= 4096
        reads += 1
    assert total == 200 and reads == -(-len(lines) // 4096)


def test_requests_are_placed_at_their_own_time_clamped_to_now(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    _append(path, _assistant("m1", "r1", 1, ts="2026-11-22T21:00:00.500Z"))
    _append(path, _assistant("m2", "r2", 1, ts="2099-01-01T00:00:00Z"))
    _append(path, _assistant("m3", "r3", 1, ts="not a time"))
    past, future, broken = _requests(tailer.read(str(path), NOW))
    assert past.session.time == datetime(2026, 11, 22, 21, 0, 0, 500000, tzinfo=UTC).timestamp()
    assert future.session.time == NOW
    assert broken.session.time == NOW


def test_lines_without_a_time_take_the_time_of_the_line_before(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    _append(path, b'{"type":"cost-state","totalCostUSD":0.5}\n')
    _append(path, _assistant("m1", "r1", 1, ts="2026-11-22T21:00:00Z"))
    _append(path, b'{"type":"cost-state","totalCostUSD":0.7}\n')
    first, request, second = tailer.read(str(path), NOW)
    assert isinstance(first, ev.AgentCostReport) and first.session.time == NOW
    assert isinstance(second, ev.AgentCostReport)
    assert second.session.time == request.session.time < NOW


def test_parse_time_handles_offsets() -> None:
    assert parse_time("2026-11-22T22:00:00+01:00", NOW) == parse_time("2026-11-22T21:00:00Z", NOW)
    assert parse_time(None, 5.0) == 5.0


def test_cache_writes_without_a_split_are_five_minute_writes(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    _append(path, _assistant("m1", "r1", 1, write=300))
    line = json.loads(_assistant("m2", "r2", 1, write=500))
    line["message"]["usage"]["cache_creation"] = {
        "ephemeral_5m_input_tokens": 200,
        "ephemeral_1h_input_tokens": 300,
    }
    _append(path, json.dumps(line).encode() + b"\n")
    plain, split = _requests(tailer.read(str(path), NOW))
    assert (plain.usage.cache_write_5m_tokens, plain.usage.cache_write_1h_tokens) == (300, 0)
    assert (split.usage.cache_write_5m_tokens, split.usage.cache_write_1h_tokens) == (200, 300)


@pytest.mark.parametrize(
    "bad",
    [
        b'{"type":"assistant","message":{"id":"m","model":"x","usage":{"input_tokens":-5}}}',
        b'{"type":"assistant","message":{"id":"m","model":"x","usage":{"output_tokens":10000001}}}',
        b'{"type":"assistant","message":{"id":"m","model":"x","usage":{"input_tokens":"12"}}}',
        b'{"type":"assistant","message":',
        b'{"type":"assistant","message":{"id":"m\xff\xfe","model":"x","usage":{}}}',
        b'{"type":"assistant","message":{"id":"m\x00","model":"x"}}',
    ],
)
def test_bad_lines_are_skipped_and_counted(tmp_path: Path, bad: bytes) -> None:
    tailer, path = _setup(tmp_path)
    _append(path, bad + b"\n" + _assistant("m2", "r2", 3))
    (event,) = _requests(tailer.read(str(path), NOW))
    assert event.usage.output_tokens == 3
    assert tailer.reader.stats.rejected_lines == 1


def test_lines_that_cannot_matter_are_not_decoded(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    junk = b'{"type":"api-request-shape","system":"' + b"y" * 100_000 + b'"}\n{not json at all}\n'
    _append(path, junk + _assistant("m1", "r1", 3))
    assert len(_requests(tailer.read(str(path), NOW))) == 1
    assert tailer.reader.stats.rejected_lines == 0 and tailer.stats.lines == 3


def test_overlong_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    tailer.max_line = 1000
    long_line = _assistant("m1", "r1", 5).replace(b'"hi"', b'"' + b"h" * 2000 + b'"')
    _append(path, long_line + _assistant("m2", "r2", 6))
    tailer.poll(NOW)
    got: list[ev.Request] = []
    while tailer.is_behind(str(path)):  # small reads: the long line is dropped mid-way
        got += _requests(tailer.read(str(path), NOW, budget=300))
    assert [e.usage.output_tokens for e in got] == [6]
    assert tailer.stats.long_lines == 1


# --- path safety ------------------------------------------------------------------------


def test_unsafe_paths_are_refused_and_counted(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_bytes(_assistant("m1", "r1", 1))
    for bad in ["relative/s.jsonl", str(path.with_suffix(".txt")), str(outside),
                str(path.parent / ".." / ".." / "elsewhere.jsonl")]:  # fmt: skip
        assert not tailer.watch(bad, "s")
    assert not tailer.watch(str(outside), "s")  # counted once per path
    assert tailer.stats.unsafe_paths == 4


@pytest.mark.parametrize("kind", ["symlink-out", "dev-zero", "fifo", "directory"])
def test_special_files_are_refused_when_read(tmp_path: Path, kind: str) -> None:
    tailer, path = _setup(tmp_path)
    target = path.with_name("x.jsonl")
    if kind == "symlink-out":
        outside = tmp_path / "secret.jsonl"
        outside.write_bytes(_assistant("m1", "r1", 1))
        target.symlink_to(outside)
    elif kind == "dev-zero":
        target.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    assert tailer.watch(str(target), "x")  # lexically fine...
    assert tailer.read(str(target), NOW) == []  # ...refused on reading, without blocking
    assert tailer.stats.unsafe_paths == 1
    assert str(target) not in tailer.watched()


def test_symlink_inside_the_projects_dir_is_followed(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    _append(path, _assistant("m1", "r1", 1))
    link = path.with_name("link.jsonl")
    link.symlink_to(path)
    assert tailer.watch(str(link), "link")
    assert len(_requests(tailer.read(str(link), NOW))) == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_another_users_file_is_refused(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    _append(path, _assistant("m1", "r1", 1))
    os.chown(path, 65534, 65534)
    assert tailer.read(str(path), NOW) == []
    assert tailer.stats.unsafe_paths == 1


# --- properties -----------------------------------------------------------------------


responses = st.lists(
    st.tuples(
        st.integers(0, 5),  # which request
        st.integers(0, 1000),  # output tokens seen on this line (they may grow)
    ),
    min_size=1,
    max_size=30,
)


@given(responses, st.lists(st.integers(1, 400), min_size=1, max_size=10), st.randoms())
def test_accounting_ignores_chunking_and_order_of_duplicates(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[tuple[int, int]],
    chunks: list[int],
    rng: object,
) -> None:
    tmp_path = tmp_path_factory.mktemp("t")
    data = b"".join(_assistant(f"m{i}", f"r{i}", out) for i, out in lines)
    tailer, path = _setup(tmp_path)
    _append(path, data)
    tailer.poll(NOW)
    got: dict[str, int] = {}
    step = 0
    while tailer.is_behind(str(path)):
        for event in _requests(tailer.read(str(path), NOW, budget=chunks[step % len(chunks)])):
            key = event.session.session_id
            got[key] = (
                got.get(key, 0)
                + event.usage.output_tokens
                - (event.previous.output_tokens if event.previous else 0)
            )
        step += 1
    expected: dict[int, int] = {}
    for i, out in lines:
        expected[i] = max(expected.get(i, 0), out)
    assert got.get("s1", 0) == sum(expected.values())
    assert tailer.reader.stats.requests == len(expected)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50), st.integers(0, 50)), max_size=40))
def test_dedup_counts_each_field_at_its_maximum(updates: list[tuple[int, int, int]]) -> None:
    dedup = Dedup()
    counted: dict[int, list[int]] = {}
    for key, inp, out in updates:
        result = dedup.add(str(key), ev.Usage(input_tokens=inp, output_tokens=out))
        if result is None:
            continue
        total, previous = result
        base = previous or ev.Usage()
        sums = counted.setdefault(key, [0, 0])
        sums[0] += total.input_tokens - base.input_tokens
        sums[1] += total.output_tokens - base.output_tokens
    for key in counted:
        assert counted[key] == [
            max(i for k, i, _ in updates if k == key),
            max(o for k, _, o in updates if k == key),
        ]


# --- finding files ----------------------------------------------------------------------


def test_recent_transcripts_finds_main_and_subagent_files(tmp_path: Path) -> None:
    projects, files = _copy_projects(SESSIONS / "F1-print-tools-subagent", tmp_path)
    old = projects / "-p" / "old.jsonl"
    old.parent.mkdir()
    old.write_text("")
    os.utime(old, (NOW - 3600, NOW - 3600))
    for f in files:
        os.utime(f, (NOW - 10, NOW - 10))
    found = recent_transcripts(str(projects), NOW - 900)
    assert sorted(found) == sorted(str(f) for f in files)
    assert session_of(found[0]) is not None
    meta = next(projects.rglob("*.meta.json"))
    assert stat.S_ISREG(meta.stat().st_mode) and str(meta) not in found


def _tool_use(msg: str, req: str, tool_id: str) -> bytes:
    line = json.loads(_assistant(msg, req, 5))
    line["message"]["content"] = [{"type": "tool_use", "id": tool_id, "name": "Bash", "input": {}}]
    return json.dumps(line).encode() + b"\n"


def _tool_result(tool_id: str, error: bool = False) -> bytes:
    line = {
        "type": "user",
        "timestamp": "2026-11-22T21:00:01.000Z",
        "message": {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_id, "is_error": error}],
        },
    }
    return json.dumps(line).encode() + b"\n"


def test_tool_calls_copied_into_a_forked_transcript_are_not_counted_again(tmp_path: Path) -> None:
    tailer, first = _setup(tmp_path, "s1.jsonl")
    history = _tool_use("m1", "r1", "toolu_a") + _tool_result("toolu_a", error=True)
    _append(first, history)
    original = tailer.read(str(first), NOW)
    assert [type(e).__name__ for e in original] == ["ToolStarted", "Request", "ToolFinished"]
    fork = first.with_name("s2.jsonl")
    fork.write_bytes(history + _tool_use("m2", "r2", "toolu_b") + _tool_result("toolu_b"))
    assert tailer.watch(str(fork), "s2")
    copied = tailer.read(str(fork), NOW)
    started = [e.tool_use_id for e in copied if isinstance(e, ev.ToolStarted)]
    finished = [e.tool_use_id for e in copied if isinstance(e, ev.ToolFinished)]
    assert (started, finished) == (["toolu_b"], ["toolu_b"])  # only the fork's own call
    assert [e.usage.output_tokens for e in _requests(copied)] == [5]  # and its own request


def test_a_tool_result_without_its_call_in_the_file_is_not_a_call(tmp_path: Path) -> None:
    tailer, path = _setup(tmp_path)
    _append(path, _tool_result("toolu_unknown"))
    assert tailer.read(str(path), NOW) == []


def test_a_lone_surrogate_in_text_costs_nothing(tmp_path: Path) -> None:
    """JavaScript writes a string cut inside an emoji as a lone `\\ud83d` escape."""
    tailer, path = _setup(tmp_path)
    line = _assistant("m1", "r1", 9).replace(b'"text": "hi"', b'"text": "cut \\ud83d here \\udc00"')
    assert b"\\ud83d" in line
    _append(path, line)
    (event,) = _requests(tailer.read(str(path), NOW))
    assert event.usage.output_tokens == 9 and tailer.reader.stats.rejected_lines == 0
