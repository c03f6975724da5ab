"""Gemini CLI's chat files (aitop/providers/gemini/chats.py), against the real captures of
Gemini CLI 0.61.0 (tests/fixtures/gemini/runs) and the mock's log of every response.

The rule (README of the fixtures): `tokens` of top-level `type: "gemini"` records, once per
record `id`, never a `$set` snapshot; the router's classifier calls are in no chat file.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import msgspec
import pytest
from e2e.gemini_ledger import GeminiLedger, PriceTable, ledgers, read_jsonl, response_of
from gemini_support import G1, G2, chat_files, copy_home, fold, gemini_dir, read_all
from hypothesis import given
from hypothesis import strategies as st

from aitop import events as ev
from aitop.providers.gemini import chats
from aitop.providers.gemini.chats import ChatReader, decode_line, is_prompt, session_of, usage_of
from aitop.providers.gemini.provider import Gemini, recent_chats
from aitop.providers.tail import Followed, Tailer

G1_SESSION = "11111111-2222-4333-8444-555555555555"
COUNTED = ("requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def g1_ledger() -> GeminiLedger:
    """G1 ran one mock per invocation: each log is one invocation of the one session."""
    ledger = GeminiLedger(G1_SESSION)
    for log in sorted(G1.glob("mock-requests-*.jsonl")):
        for seq, request in enumerate(read_jsonl(log), 1):
            response = response_of(request, seq)
            if response is not None:
                (ledger.chat if response.chat else ledger.router).append(response)
    return ledger


def g2_ledgers() -> dict[str, GeminiLedger]:
    return ledgers(read_jsonl(G2 / "mock-requests.jsonl"), read_jsonl(G2 / "invocations.jsonl"))


def requests_of(events: list[ev.Event]) -> list[ev.Request]:
    return [e for e in events if isinstance(e, ev.Request)]


def spent(events: list[ev.Event]) -> ev.Usage:
    """What the Request events add up to (each adds usage - previous)."""
    total = ev.Usage()
    for request in requests_of(events):
        delta = request.usage if request.previous is None else request.usage.minus(request.previous)
        total = ev.Usage(*(a + b for a, b in zip(_fields(total), _fields(delta), strict=True)))
    return total


def _fields(usage: ev.Usage) -> tuple[int, ...]:
    return tuple(getattr(usage, f) for f in usage.__struct_fields__)


def as_counts(usage: ev.Usage, requests: int) -> dict[str, int]:
    return {
        "requests": requests,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
    }


# --- the rule, on the real captures ----------------------------------------------------------


def test_g1_every_response_once_equals_the_mocks_main_chat() -> None:
    now = time.time()
    events = read_all(Gemini(str(gemini_dir(G1))), now)
    ledger = g1_ledger()
    assert len(ledger.chat) == 7 and len(ledger.router) == 3
    requests = requests_of(events)
    assert as_counts(spent(events), len(requests)) == ledger.counts()
    assert {r.model for r in requests} == {"gemini-3.8-flash"}
    assert all(r.vendor == "google" and r.session.session_id == G1_SESSION for r in requests)
    # the reasoning is the mock's thoughtsTokenCount, inside output
    assert spent(events).reasoning_tokens == sum(
        r.usage.get("thoughtsTokenCount", 0) for r in ledger.chat
    )


def test_g1_summing_every_line_or_replaying_the_document_is_wrong() -> None:
    """The traps the README measured: every gemini line 1.6x over; the document after
    --resume (its $set snapshot) drops the earlier turns' tokens."""
    (path,) = chat_files(G1)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    every = sum(r["tokens"]["total"] for r in lines if r.get("type") == "gemini")
    once = sum({r["id"]: r["tokens"]["total"] for r in lines if r.get("type") == "gemini"}.values())
    assert every > 1.5 * once
    assert once == sum(r.usage["totalTokenCount"] for r in g1_ledger().chat)


def test_g2_each_session_is_its_mock_ledger_minus_only_the_router_calls() -> None:
    now = time.time()
    events = read_all(Gemini(str(gemini_dir(G2))), now)
    folded = fold(events, now)
    books = g2_ledgers()
    assert sorted(folded.sessions()) == sorted(books)
    table = PriceTable()
    for sid, ledger in books.items():
        row = folded.row(sid)
        assert {k: row[k] for k in COUNTED} == ledger.counts(), sid
        assert ledger.router, "every prompt made a router call that no chat file holds"
        assert row["tool_calls"] == ledger.tool_calls, sid
        assert row["tool_errors"] == ledger.tool_errors, sid
        assert abs(row["cost_usd"] - float(ledger.cost_usd(table))) < 1e-9, sid
    first, second = (books[run["session_id"]] for run in read_jsonl(G2 / "invocations.jsonl")[::3])
    # the scenario did what it says (facts about the mock's log)
    assert first.tool_errors == 1 and first.http_errors == 1
    assert first.models == {"gemini-3.8-flash", "gemini-2.5-flash"}
    assert second.subagent_runs == 1
    # the subagent's requests are its session's, and the row names the subagent's kind
    (sub,) = folded.row(second.session_id)["subagents"]
    assert sub[1] == "generalist"
    assert {sid: folded.row(sid)["turns"] for sid in books} == {
        sid: b.turns for sid, b in books.items()
    }
    assert first.turns == first.invocations - 1  # the prompt that failed is no turn


def test_a_subagent_file_is_its_parent_sessions_with_its_own_id() -> None:
    (sub_file,) = [p for p in chat_files(G2) if not p.name.startswith("session-")]
    parent, sub = session_of(str(sub_file)) or ("", None)
    assert sub_file.parent.name == parent and sub == sub_file.stem
    events = read_all(Gemini(str(gemini_dir(G2))), time.time())
    subs = {r.subagent_id for r in requests_of(events) if r.session.session_id == parent}
    assert subs == {None, sub}
    assert all(r.sidechain == (r.subagent_id is not None) for r in requests_of(events))


def test_tool_calls_once_with_gemini_clis_own_outcome() -> None:
    """A shell command that exits 3 is a success to Gemini CLI; reading a missing file is an
    error; a call written twice (both writes of a record) is one call."""
    events = read_all(Gemini(str(gemini_dir(G2))), time.time())
    finished = [e for e in events if isinstance(e, ev.ToolFinished)]
    assert len({e.tool_use_id for e in finished}) == len(finished)
    failed = [e.name for e in finished if not e.ok]
    assert failed == ["read_file"]
    events = read_all(Gemini(str(gemini_dir(G1))), time.time())
    assert [e.ok for e in events if isinstance(e, ev.ToolFinished)] == [True] * 5


def test_tool_calls_say_what_they_worked_on_in_a_few_words() -> None:
    events = read_all(Gemini(str(gemini_dir(G2))), time.time())
    said = {(e.name, e.summary) for e in events if isinstance(e, ev.ToolStarted)}
    assert said == {
        ("run_shell_command", "echo hi"),
        ("run_shell_command", "exit 3"),
        ("run_shell_command", "echo again"),
        ("run_shell_command", "echo sub"),
        ("read_file", "missing.txt"),
        ("invoke_agent", "generalist"),
        ("complete_task", None),  # its result is not shown
    }


def test_the_chat_file_holds_no_compaction_and_no_api_error() -> None:
    events = read_all(Gemini(str(gemini_dir(G2))), time.time())
    assert not [e for e in events if isinstance(e, ev.Compacted | ev.ApiError)]


# --- decoding ------------------------------------------------------------------------------


def test_usage_is_normalised_for_google_prices() -> None:
    line = decode_line(
        b'{"id":"a","type":"gemini","tokens":{"input":1000,"output":50,"cached":600,'
        b'"thoughts":17,"tool":30,"total":1097}}'
    )
    assert line is not None and line.tokens is not None
    assert usage_of(line.tokens) == ev.Usage(
        input_tokens=430, output_tokens=67, cache_read_tokens=600, reasoning_tokens=17
    )


def test_cached_beyond_the_prompt_is_capped() -> None:
    line = decode_line(b'{"id":"a","type":"gemini","tokens":{"input":10,"cached":50}}')
    assert line is not None and line.tokens is not None
    assert usage_of(line.tokens) == ev.Usage(cache_read_tokens=10)


def test_prompts_are_user_text_not_tool_results() -> None:
    def prompt(content: object) -> bool:
        line = decode_line(json.dumps({"id": "u", "type": "user", "content": content}).encode())
        return line is not None and is_prompt(line)

    assert prompt([{"text": "Please run it"}])
    assert prompt("typed as a string")
    assert not prompt([{"functionResponse": {"id": "x", "name": "read_file", "response": {}}}])
    assert not prompt([])
    assert not prompt(None)


def test_absurd_token_counts_reject_the_line() -> None:
    for bad in (b'{"input":-1}', b'{"output":10000001}', b'{"input":"12"}'):
        assert decode_line(b'{"id":"a","type":"gemini","tokens":' + bad + b"}") is None


def test_a_set_snapshot_is_never_counted() -> None:
    reader, file = _reader_and_file()
    snapshot = {
        "$set": {"messages": [{"id": "m", "type": "gemini", "tokens": {"input": 5, "output": 1}}]}
    }
    for raw in (json.dumps(snapshot), json.dumps({**snapshot, "id": "m", "type": "gemini"})):
        assert reader.lines(file, [raw.encode()], time.time()) == []


def test_a_record_written_first_without_tokens_counts_once_they_come() -> None:
    reader, file = _reader_and_file()
    base = {"id": "g", "timestamp": "2026-12-01T00:00:00Z", "type": "gemini", "model": "m"}
    lines = [
        json.dumps({**base, "tokens": None}).encode(),
        json.dumps({**base, "tokens": {"input": 9, "output": 2}}).encode(),
        json.dumps({**base, "tokens": {"input": 9, "output": 2}, "toolCalls": []}).encode(),
    ]
    events = reader.lines(file, lines, time.time())
    assert [r.usage for r in requests_of(events)] == [ev.Usage(input_tokens=9, output_tokens=2)]
    assert reader.stats.requests == 1 and reader.stats.duplicate_lines == 1


def test_a_record_without_model_is_priced_as_its_files_last_model() -> None:
    reader, file = _reader_and_file()
    lines = [
        b'{"id":"a","type":"gemini","model":"gemini-2.5-flash","tokens":{"input":1}}',
        b'{"id":"b","type":"gemini","tokens":{"input":1}}',
    ]
    models = [r.model for r in requests_of(reader.lines(file, lines, time.time()))]
    assert models == ["gemini-2.5-flash", "gemini-2.5-flash"]
    reader, file = _reader_and_file()
    (alone,) = requests_of(reader.lines(file, lines[1:], time.time()))
    assert alone.model == chats.UNKNOWN_MODEL


def test_the_header_names_the_session_and_a_subagent() -> None:
    reader, file = _reader_and_file()
    reader.lines(file, [b'{"sessionId":"abc","projectHash":"h","kind":"main"}'], time.time())
    assert (file.session_id, file.subagent_id) == ("abc", None)
    reader.lines(file, [b'{"sessionId":"other","projectHash":"h","kind":"main"}'], time.time())
    assert file.session_id == "abc"  # written again at each resume: the first one says
    reader, file = _reader_and_file()
    reader.lines(file, [b'{"sessionId":"sub1","projectHash":"h","kind":"subagent"}'], time.time())
    assert (file.session_id, file.subagent_id) == ("parent", "sub1")


def test_where_chat_files_are() -> None:
    assert session_of("/h/.gemini/tmp/p/chats/session-2026-12-01T03-34-11111111.jsonl") == (
        "session-2026-12-01T03-34-11111111",
        None,
    )
    assert session_of("/h/.gemini/tmp/p/chats/PARENT/SUB.jsonl") == ("PARENT", "SUB")
    assert session_of("/h/.gemini/tmp/p/chats/notes.jsonl") is None
    assert session_of("/h/.gemini/tmp/p/logs/x.jsonl") is None
    assert session_of("/h/.gemini/tmp/p/chats/session-x.json") is None
    assert chats.gemini_dir_of("/h/.gemini/tmp/p/chats/session-x.jsonl") == "/h/.gemini"
    assert chats.gemini_dir_of("/h/.gemini/tmp/p/chats/S/sub.jsonl") == "/h/.gemini"


def test_backfill_finds_sessions_and_subagents_recently_written(tmp_path: Path) -> None:
    home = copy_home(G2, tmp_path)
    files = sorted((home / "tmp").glob("*/chats/**/*.jsonl"))
    now = time.time()
    for path in files:
        os.utime(path, (now, now))
    old = now - 3600
    os.utime(files[0], (old, old))
    found = recent_chats(str(home / "tmp"), now - 900)
    assert sorted(found) == sorted(str(p) for p in files[1:])


def test_cwd_comes_from_the_projects_root_file() -> None:
    events = read_all(Gemini(str(gemini_dir(G1))), time.time())
    cwds = {r.session.cwd for r in requests_of(events)}
    assert cwds == {"/home/user/project"}


# --- properties -----------------------------------------------------------------------------


def _reader_and_file(path: str = "/g/tmp/p/chats/parent/x.jsonl") -> tuple[ChatReader, Followed]:
    reader = ChatReader()
    file = Followed(path, "parent", None)
    reader.follow(file)
    return reader, file


def _g2_lines() -> list[bytes]:
    return [line for path in chat_files(G2) for line in path.read_bytes().splitlines()]


def _totals(reader_lines: list[list[bytes]]) -> tuple[ev.Usage, int]:
    reader = ChatReader()
    events: list[ev.Event] = []
    for index, lines in enumerate(reader_lines):
        file = Followed(f"/g/tmp/p/chats/session-{index}.jsonl", f"s{index}", None)
        reader.follow(file)
        events += reader.lines(file, lines, 2e9)
    return spent(events), len({r.session.session_id for r in requests_of(events)})


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_decoding_never_raises_on_any_bytes(lines: list[bytes]) -> None:
    reader, file = _reader_and_file()
    for line in lines:
        decode_line(line)
    reader.lines(file, lines, time.time())


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_keys = st.sampled_from(
    [
        "id",
        "type",
        "tokens",
        "model",
        "toolCalls",
        "content",
        "sessionId",
        "kind",
        "$set",
        "timestamp",
        "input",
        "output",
        "cached",
        "thoughts",
        "tool",
        "status",
        "name",
        "args",
        "agentId",
        "text",
        "functionResponse",
    ]
)
_shaped = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 2**25)
    | st.sampled_from(
        [
            "gemini",
            "user",
            "subagent",
            "success",
            "error",
            "invoke_agent",
            "2026-12-01T00:00:00Z",
            "x",
        ]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=6),
    max_leaves=30,
)


@given(st.lists(_json | _shaped, max_size=15))
def test_the_reader_never_raises_on_any_json(values: list[object]) -> None:
    reader, file = _reader_and_file()
    lines = [msgspec.json.encode(v) for v in values]
    reader.lines(file, lines, time.time())


@given(budgets=st.lists(st.integers(1, 8192), min_size=1, max_size=30))
def test_totals_do_not_depend_on_how_the_file_is_cut(
    budgets: list[int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Read through the real tailer in slices of any size: the same requests and tokens as
    the whole file read at once."""
    source = max(chat_files(G2), key=lambda p: p.stat().st_size)
    target = tmp_path_factory.mktemp("gemini") / "tmp" / "p" / "chats" / source.name
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())
    tmp = str(target.parents[2])
    tailer = Tailer((tmp,), (".jsonl",), ChatReader())
    assert tailer.watch(str(target), "s")
    events: list[ev.Event] = []
    followed = tailer.followed(str(target))
    assert followed is not None
    reads = 0
    while followed.offset < target.stat().st_size:
        events += tailer.read(str(target), 2e9, budgets[reads % len(budgets)])
        reads += 1
    whole, _ = _totals([source.read_bytes().splitlines()])
    assert spent(events) == whole
    assert len(requests_of(events)) == len(
        {
            json.loads(line)["id"]
            for line in source.read_bytes().splitlines()
            if json.loads(line).get("type") == "gemini" and json.loads(line).get("tokens")
        }
    )


@given(st.randoms(use_true_random=False))
def test_totals_do_not_depend_on_the_order_of_duplicate_writes(rnd: random.Random) -> None:
    """A record's writes (without tools, with them, again) in any order, anywhere: the same
    tokens. Growth (a later write with more) adds only the difference, in any order."""
    lines = _g2_lines()
    records = [line for line in lines if b'"type":"gemini"' in line]
    copies = rnd.sample(records, k=len(records) // 2)
    shuffled = lines + copies
    rnd.shuffle(shuffled)
    assert _totals([shuffled])[0] == _totals([lines])[0]


@given(
    st.lists(
        st.tuples(
            st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 500), st.integers(0, 50)
        ),
        min_size=1,
        max_size=8,
    ),
    st.randoms(use_true_random=False),
)
def test_growing_writes_count_their_largest_in_any_order(
    writes: list[tuple[int, int, int, int]], rnd: random.Random
) -> None:
    def line(record: int, prompt: int, output: int, thoughts: int) -> bytes:
        tokens = {"input": prompt, "output": output, "thoughts": thoughts}
        return json.dumps(
            {"id": f"r{record}", "type": "gemini", "model": "m", "tokens": tokens}
        ).encode()

    lines = [line(*w) for w in writes]
    largest: dict[int, ev.Usage] = {}
    for record, prompt, output, thoughts in writes:
        usage = ev.Usage(
            input_tokens=prompt, output_tokens=output + thoughts, reasoning_tokens=thoughts
        )
        largest[record] = largest[record].union(usage) if record in largest else usage
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    total, _ = _totals([shuffled])
    assert total == _totals([lines])[0]
    assert total.input_tokens == sum(u.input_tokens for u in largest.values())
    assert total.output_tokens == sum(u.output_tokens for u in largest.values())
    assert total.reasoning_tokens == sum(u.reasoning_tokens for u in largest.values())
