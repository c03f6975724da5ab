"""OpenCode's store read by the provider: the README's accounting rule on every real capture,
and the store as OpenCode writes it while aitop reads (rows updated while a request runs,
newest rows deleted and their rowids reused, sessions that started long ago), as a reader
must take it: short bounded statements, never an error raised, a locked or half-written
file only a "try later"."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tarfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aitop import events as ev
from aitop.providers.opencode import reader as reader_module
from aitop.providers.opencode.provider import OpenCode
from aitop.providers.opencode.store import db_path

from opencode_support import (
    CAPTURES,
    FIXTURES,
    NOW,
    SESSIONS,
    Writer,
    assistant,
    drain,
    fixture_db,
    spent,
)


def read_capture(name: str) -> tuple[OpenCode, list[ev.Event]]:
    provider = OpenCode(str(fixture_db(name).parent), {})
    provider.backfill(NOW, window_s=10**9)
    return provider, drain(provider)


def reconcile(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((SESSIONS / name / "reconcile.json").read_text())
    return data


# --- the accounting rule, on the real captures ------------------------------------------------


@pytest.mark.parametrize("name", CAPTURES)
def test_one_assistant_row_is_one_request_with_the_mocks_usage(name: str) -> None:
    """The README's rule, checked against the mock's log of every answer (reconcile.json):
    the store holds every request but the title one; aitop's output holds the reasoning."""
    provider, events = read_capture(name)
    truth = reconcile(name)
    mock, completions, titles = (
        truth["mock_without_title"],
        truth["completion_requests"],
        truth["title_requests"],
    )
    assert isinstance(mock, dict) and isinstance(completions, int) and isinstance(titles, int)
    assert spent(events) == {
        "requests": completions - titles,
        "input": mock["input"],
        "output": mock["output"] + mock["reasoning"],
        "reasoning": mock["reasoning"],
        "cache_read": mock["cache_read"],
        "cache_write": mock["cache_write"],
    }
    assert provider.store.failures == {}
    assert provider.reader.stats.rejected_lines == 0


@pytest.mark.parametrize("name", CAPTURES)
def test_reading_again_counts_nothing_again(name: str) -> None:
    provider, first = read_capture(name)
    provider.poll(NOW)
    provider.reader.forget(next(e.session.session_id for e in first))  # read whole again
    provider.poll(NOW)
    again = drain(provider)
    assert spent(again)["requests"] == 0 and spent(again)["output"] == 0
    assert not [e for e in again if isinstance(e, ev.ApiError | ev.Compacted | ev.TurnCompleted)]


def test_subagent_requests_are_their_root_sessions() -> None:
    _, events = read_capture("O4-subagent")
    truth = reconcile("O4-subagent")
    sessions = truth["sessions"]
    assert isinstance(sessions, list)
    (root,) = [s["id"] for s in sessions if s["parent_id"] is None]
    (child,) = [s for s in sessions if s["parent_id"] == root]
    requests = [e for e in events if isinstance(e, ev.Request)]
    assert {e.session.session_id for e in events} == {root}
    mine = [e for e in requests if e.subagent_id == child["id"]]
    assert all(e.sidechain for e in mine) and len(mine) == 2
    assert spent(mine)["output"] == child["tokens"]["output"]
    (started,) = [e for e in events if isinstance(e, ev.SubagentStarted)]
    assert (started.subagent_id, started.subagent_type) == (child["id"], "general")
    assert {e.session.cwd for e in events} == {"/home/user/project"}


def test_api_errors_are_the_failed_rows_not_the_retries() -> None:
    """O3: an HTTP 400, then an HTTP 429 retried five times: two failed requests."""
    _, events = read_capture("O3-api-error")
    errors = [e for e in events if isinstance(e, ev.ApiError)]
    assert sorted(e.status or 0 for e in errors) == [400, 429]
    assert reconcile("O3-api-error")["http_errors"] == 7


def test_tool_calls_with_their_outcome() -> None:
    """O1: a bash exit 3 is `completed` with exit 3, a missing file an `error`: both fail."""
    _, events = read_capture("O1-tools-plugin")
    finished = {e.tool_use_id: e for e in events if isinstance(e, ev.ToolFinished)}
    started = {e.tool_use_id for e in events if isinstance(e, ev.ToolStarted)}
    assert started == set(finished) and len(started) == 6
    failed = sorted(e.name or "" for e in finished.values() if not e.ok)
    assert failed == ["bash", "read"]
    said = sorted(e.summary or "" for e in events if isinstance(e, ev.ToolStarted))
    assert said == ["echo again", "echo hi", "echo third", "exit 3", "missing.txt", "notes.txt"]
    assert all(e.duration_ms is not None and e.duration_ms >= 0 for e in finished.values())


def test_compactions_turns_and_opencodes_own_cost() -> None:
    _, events = read_capture("O5-auto-compaction")
    assert len([e for e in events if isinstance(e, ev.Compacted)]) == 1
    assert len([e for e in events if isinstance(e, ev.TurnCompleted)]) == 1
    reports = [e for e in events if isinstance(e, ev.AgentCostReport)]
    assert all(e.running for e in reports)  # a running total: it says nothing of an end
    truth = reconcile("O5-auto-compaction")["db_cost"]
    assert isinstance(truth, dict)
    assert reports[-1].total_cost_usd == pytest.approx(truth["messages"], abs=1e-12)
    _, events = read_capture("O1-tools-plugin")  # a model without a configured cost: 0
    assert not [e for e in events if isinstance(e, ev.AgentCostReport)]


def test_models_vendors_and_reasoning() -> None:
    _, events = read_capture("O2-continue-models")
    requests = [e for e in events if isinstance(e, ev.Request)]
    assert {e.model for e in requests} == {"claude-sonnet-4-5", "claude-haiku-4-5", "gpt-mock-1"}
    assert {e.vendor for e in requests} == {None}  # custom providers: the model id says
    gpt = [e for e in requests if e.model == "gpt-mock-1"]
    assert sum(e.usage.reasoning_tokens for e in gpt) == 26
    assert all(e.usage.output_tokens >= e.usage.reasoning_tokens for e in gpt)


def test_the_store_as_opencode_left_it_is_read_where_it_is(tmp_path: Path) -> None:
    """O4's raw files after exit: a 4 KiB main file, everything in the -wal. Copying the
    main file alone (or opening it `immutable`) shows no tables; read in place, all."""
    with tarfile.open(FIXTURES / "experiments" / "wal-as-left-O4-subagent.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    (db,) = tmp_path.rglob("opencode.db")
    assert db.stat().st_size == 4096 and (db.parent / "opencode.db-wal").stat().st_size > 10**6
    provider = OpenCode(str(db.parent), {})
    provider.backfill(NOW, window_s=10**9)
    mock = reconcile("O4-subagent")["mock_without_title"]
    assert isinstance(mock, dict)
    assert spent(drain(provider))["cache_write"] == mock["cache_write"]
    lone = tmp_path / "copy"
    lone.mkdir()
    shutil.copy(db, lone / "opencode.db")
    copied = OpenCode(str(lone), {})
    copied.backfill(NOW, window_s=10**9)
    assert drain(copied) == []
    assert copied.store.failures == {"no tables": 1}


def test_reading_the_store_leaves_its_files_as_they_were(tmp_path: Path) -> None:
    """Read-only for real: OpenCode's files, the -wal holding everything, byte for byte the
    same after aitop read them and let go (a read-write connection, the last to close,
    would have moved the -wal into the main file and deleted it)."""
    with tarfile.open(FIXTURES / "experiments" / "wal-as-left-O4-subagent.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    (db,) = tmp_path.rglob("opencode.db")

    def files() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in db.parent.iterdir() if p.is_file()}

    before = files()
    assert "opencode.db-wal" in before
    provider = OpenCode(str(db.parent), {})
    provider.backfill(NOW, window_s=10**9)
    assert spent(drain(provider))["requests"] > 0
    provider.close()
    assert files() == before


# --- the store while OpenCode writes it -------------------------------------------------------


@pytest.fixture
def writer(tmp_path: Path) -> Writer:
    w = Writer(tmp_path / "data")
    w.session("ses_root")
    return w


def test_a_request_counts_when_it_ends_and_once(writer: Writer) -> None:
    provider = OpenCode(str(writer.path.parent), {})
    provider.backfill(NOW, 900)
    writer.message("msg_a", "ses_root", assistant())  # started: all zero
    assert spent(drain(provider))["requests"] == 0
    writer.message("msg_a", "ses_root", assistant((3, 40, 0, 100, 50)))  # tokens written
    provider.poll(NOW)
    first = drain(provider)
    assert spent(first) == {
        "requests": 1,
        "input": 3,
        "output": 40,
        "reasoning": 0,
        "cache_read": 100,
        "cache_write": 50,
    }
    done = assistant((3, 40, 0, 100, 50), completed_ms=NOW * 1000 - 1000, finish="stop")
    writer.message("msg_a", "ses_root", done)
    provider.poll(NOW)
    second = drain(provider)
    assert spent(second)["requests"] == 0 and spent(second)["output"] == 0
    assert [type(e) for e in second] == [ev.TurnCompleted]
    provider.poll(NOW)
    assert drain(provider) == []


def test_a_request_that_ran_long_still_counts(writer: Writer) -> None:
    """A step that ran a subagent stays unfinished for minutes, while hundreds of newer
    rows come: it is read again by id until it ends."""
    provider = OpenCode(str(writer.path.parent), {})
    provider.backfill(NOW, 900)
    writer.message("msg_long", "ses_root", assistant())
    drain(provider)
    for n in range(450):
        writer.message(f"msg_{n:04d}", "ses_root", assistant((1, 1, 0, 0, 0), completed_ms=1.0))
    provider.poll(NOW)
    assert spent(drain(provider))["requests"] == 450
    writer.message("msg_long", "ses_root", assistant((5, 7, 0, 0, 0), completed_ms=1.0))
    provider.poll(NOW)
    assert spent(drain(provider))["output"] == 7


def test_rowids_of_deleted_rows_come_back(writer: Writer) -> None:
    """An undo deletes the newest rows; SQLite gives their rowids to the next ones."""
    provider = OpenCode(str(writer.path.parent), {})
    provider.backfill(NOW, 900)
    for n in range(3):
        writer.message(f"msg_{n}", "ses_root", assistant((1, 10, 0, 0, 0), completed_ms=1.0))
    assert spent(drain(provider))["requests"] == 3
    writer.db.execute("DELETE FROM message WHERE id IN ('msg_1', 'msg_2')")
    writer.message("msg_new", "ses_root", assistant((1, 99, 0, 0, 0), completed_ms=1.0))
    (rowid,) = writer.db.execute("SELECT rowid FROM message WHERE id = 'msg_new'").fetchone()
    assert rowid == 2  # reused
    provider.poll(NOW)
    assert spent(drain(provider))["output"] == 99


def test_start_up_reads_recent_sessions_whole(writer: Writer) -> None:
    """At start-up: rows of the last 15 minutes, and every row of their sessions (a row
    counts the whole session); a session silent for longer is not read."""
    old_ms, recent_ms = (NOW - 7200) * 1000, (NOW - 60) * 1000
    writer.session("ses_old")
    writer.message("msg_old", "ses_old", assistant((1, 1, 0, 0, 0), completed_ms=old_ms), old_ms)
    writer.message("msg_r1", "ses_root", assistant((1, 2, 0, 0, 0), completed_ms=old_ms), old_ms)
    writer.message(
        "msg_r2", "ses_root", assistant((1, 3, 0, 0, 0), completed_ms=recent_ms), recent_ms
    )
    provider = OpenCode(str(writer.path.parent), {})
    provider.backfill(NOW, 900)
    events = drain(provider)
    assert {e.session.session_id for e in events} == {"ses_root"}
    assert spent(events)["output"] == 5
    requests = sorted(e.session.time for e in events if isinstance(e, ev.Request))
    assert requests == [old_ms / 1000, recent_ms / 1000]  # each at its own time
    assert provider.discover(NOW) == 1  # one session found


def test_without_start_up_reading_only_new_rows_count(writer: Writer) -> None:
    writer.message("msg_before", "ses_root", assistant((1, 1, 0, 0, 0), completed_ms=1.0))
    provider = OpenCode(str(writer.path.parent), {})
    provider.poll(NOW)  # --no-backfill: no backfill() call
    assert drain(provider) == []
    writer.session("ses_new")
    writer.message("msg_after", "ses_new", assistant((1, 5, 0, 0, 0), completed_ms=1.0))
    provider.poll(NOW)
    assert spent(drain(provider))["output"] == 5


def test_work_is_sliced_and_bounded(writer: Writer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each slice runs a few statements of at most ROWS rows, whatever is waiting."""
    monkeypatch.setattr(reader_module, "ROWS", 7)
    for n in range(100):
        writer.message(f"msg_{n:03d}", "ses_root", assistant((1, n, 0, 0, 0), completed_ms=1.0))
    provider = OpenCode(str(writer.path.parent), {})
    provider.backfill(NOW, 900)
    statements: list[int] = []
    store_rows = provider.store.rows

    def counted(sql: str, params: object = ()) -> object:
        found = store_rows(sql, params)  # type: ignore[arg-type]
        statements.append(len(found or []))
        return found

    monkeypatch.setattr(provider.store, "rows", counted)
    slices = 0
    events: list[ev.Event] = []
    while provider.pending():
        events += provider.work(NOW, budget=1)  # one statement's worth per slice
        slices += 1
    assert spent(events)["output"] == sum(range(100))
    assert max(statements) <= 7 and slices > 100 // 7


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 4),  # which session
            st.lists(st.integers(0, 5000), min_size=5, max_size=5),
            st.integers(0, 3),  # how many times it is written before its final version
        ),
        min_size=1,
        max_size=25,
    ),
    order=st.randoms(use_true_random=False),
    rows_per_statement=st.integers(1, 9),
    budget=st.integers(1, 4096),
    polls=st.integers(1, 4),
)
def test_totals_do_not_depend_on_slicing_or_order(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[int, list[int], int]],
    order: object,
    rows_per_statement: int,
    budget: int,
    polls: int,
) -> None:
    """Rows written in any order, in growing versions, read in any slices at any moments:
    the totals are those of the final rows, and the subagents' are their roots'."""
    import random

    assert isinstance(order, random.Random)
    reader_module.ROWS = rows_per_statement
    try:
        w = Writer(tmp_path_factory.mktemp("store") / "data")
        w.session("ses_0")
        w.session("ses_1")
        w.session("ses_2", parent="ses_0")
        w.session("ses_3", parent="ses_2")  # a subagent's subagent
        w.session("ses_4", parent="ses_1")
        writes: list[tuple[str, str, dict[str, object]]] = []
        for n, (session, tokens, versions) in enumerate(rows):
            mid, sid = f"msg_{n:03d}", f"ses_{session}"
            final = tuple(tokens)
            for v in range(versions):  # smaller versions first: tokens only grow
                smaller = tuple(t * v // (versions + 1) for t in final)
                writes.append((mid, sid, assistant(smaller)))  # type: ignore[arg-type]
            writes.append((mid, sid, assistant(final, completed_ms=1.0, finish="stop")))  # type: ignore[arg-type]
        groups: dict[str, list[tuple[str, str, dict[str, object]]]] = {}
        for write in writes:
            groups.setdefault(write[0], []).append(write)
        ids = list(groups)
        order.shuffle(ids)
        provider = OpenCode(str(w.path.parent), {})
        provider.backfill(NOW, 900)
        events: list[ev.Event] = []
        pending = [groups[mid] for mid in ids]
        step = 0
        while pending:
            for versions_left in pending:
                w.message(*versions_left.pop(0))
            pending = [p for p in pending if p]
            step += 1
            if step % polls == 0:
                provider.poll(NOW)
                while provider.pending():
                    events += provider.work(NOW, budget)
        provider.poll(NOW)
        while provider.pending():
            events += provider.work(NOW, budget)
        w.close()
    finally:
        reader_module.ROWS = 200
    want = [0, 0, 0, 0, 0]
    for _, tokens, _ in rows:
        want = [a + b for a, b in zip(want, tokens, strict=True)]
    got = spent(events)
    assert got["requests"] == len(rows)
    assert [got["input"], got["output"], got["cache_read"], got["cache_write"]] == [
        want[0],
        want[1] + want[2],
        want[3],
        want[4],
    ]
    roots = {
        "ses_0": "ses_0",
        "ses_1": "ses_1",
        "ses_2": "ses_0",
        "ses_3": "ses_0",
        "ses_4": "ses_1",
    }
    for event in events:
        if isinstance(event, ev.Request):
            assert event.session.session_id in ("ses_0", "ses_1")
            assert event.sidechain == (event.subagent_id is not None)
            assert event.subagent_id is None or roots[event.subagent_id] == event.session.session_id


# --- a store that cannot be read ---------------------------------------------------------------


def test_no_store_yet_is_not_an_error(tmp_path: Path) -> None:
    provider = OpenCode(str(tmp_path / "data"), {})
    provider.backfill(NOW, 900)
    assert drain(provider) == []
    assert provider.store.failures == {} and provider.unreadable() == 0
    assert provider.diagnostics(0) == []  # OpenCode is not used here


def test_a_store_created_later_is_read(tmp_path: Path) -> None:
    provider = OpenCode(str(tmp_path / "data"), {})
    provider.backfill(NOW, 900)
    drain(provider)
    w = Writer(tmp_path / "data")
    w.session("ses_root")
    w.message("msg_a", "ses_root", assistant((1, 2, 0, 0, 0), completed_ms=1.0))
    provider.poll(NOW)
    assert spent(drain(provider))["output"] == 2


def test_a_locked_store_is_try_later(writer: Writer) -> None:
    """OpenCode (or anyone) holding the file exclusively: aitop waits a few ms at most,
    counts it, raises nothing, and reads it all once it is free."""
    writer.message("msg_a", "ses_root", assistant((1, 2, 0, 0, 0), completed_ms=1.0))
    writer.close()
    holder = sqlite3.connect(writer.path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    provider = OpenCode(str(writer.path.parent), {})
    provider.backfill(NOW, 900)
    assert drain(provider) == []
    assert provider.store.failures.get("busy", 0) >= 1
    assert provider.unreadable() == 1
    (note,) = [d for d in provider.diagnostics(0) if d.id == "opencode:store"]
    assert "could not be read" in note.message and note.severity == "info"
    holder.execute("COMMIT")
    holder.close()
    provider.poll(NOW)
    assert spent(drain(provider))["output"] == 2
    assert provider.unreadable() == 0


@pytest.mark.parametrize(
    ("damage", "kind", "severity"),
    [
        ("garbage", "damaged", "warning"),
        ("truncated", "damaged", "warning"),
        ("empty", "no tables", "info"),  # created, its tables not yet: OpenCode starting
        ("half-copied", "damaged", "warning"),
    ],
)
def test_a_half_written_or_damaged_store_is_try_later(
    tmp_path: Path, damage: str, kind: str, severity: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good = fixture_db("O1-tools-plugin").read_bytes()
    db = data / "opencode.db"
    if damage == "garbage":
        db.write_bytes(os.urandom(8192))
    elif damage == "truncated":
        db.write_bytes(good[:100])
    elif damage == "empty":
        db.write_bytes(b"")
    else:
        db.write_bytes(good[: len(good) // 2])
    provider = OpenCode(str(data), {})
    provider.backfill(NOW, 900)
    assert drain(provider) == []  # never raises
    assert provider.store.failures == {kind: 1} and provider.unreadable() == 1
    (note,) = [d for d in provider.diagnostics(0) if d.id == "opencode:store"]
    assert note.severity == severity and kind in note.message
    db.write_bytes(good)  # OpenCode wrote it whole
    provider.poll(NOW)
    provider.backfill(NOW, 10**9)
    events = drain(provider)
    assert spent(events)["requests"] == 6


def test_a_store_read_while_it_is_written_never_raises(tmp_path: Path) -> None:
    """A writer thread upserting and deleting rows as fast as it can, while the provider
    polls: nothing raises, and the totals are those of the final rows."""
    w = Writer(tmp_path / "data")
    w.session("ses_root")
    w.close()
    stop = threading.Event()

    def write() -> None:
        other = Writer.__new__(Writer)
        other.db = sqlite3.connect(w.path, isolation_level=None, timeout=5)
        for n in range(300):
            other.message(f"msg_{n:03d}", "ses_root", assistant((0, 0, 0, 0, 0)))
            other.message(f"msg_{n:03d}", "ses_root", assistant((1, n, 0, 0, 0), completed_ms=1.0))
            if n % 50 == 49:
                other.db.execute("DELETE FROM message WHERE id = ?", (f"msg_{n:03d}",))
        other.db.close()
        stop.set()

    provider = OpenCode(str(w.path.parent), {})
    provider.backfill(NOW, 900)
    thread = threading.Thread(target=write)
    thread.start()
    events: list[ev.Event] = []
    while not stop.is_set():
        provider.poll(NOW)
        events += drain(provider)
    thread.join()
    provider.poll(NOW)
    events += drain(provider)
    deleted = {n for n in range(300) if n % 50 == 49}
    counted = spent(events)["output"]
    # a deleted row may have been read before it went: it was spent all the same
    assert sum(n for n in range(300) if n not in deleted) <= counted <= sum(range(300))


def test_rows_of_the_wrong_shape_are_counted_and_skipped(writer: Writer) -> None:
    writer.message("msg_bad", "ses_root", "{not json")
    writer.message("msg_huge", "ses_root", assistant((10**9, 0, 0, 0, 0), completed_ms=1.0))
    writer.message("msg_ok", "ses_root", assistant((1, 2, 0, 0, 0), completed_ms=1.0))
    writer.message("msg_cut", "ses_root", '{"role":"assistant","x":"\\ud83d"}')
    provider = OpenCode(str(writer.path.parent), {})
    provider.backfill(NOW, 900)
    events = drain(provider)
    assert spent(events)["output"] == 2
    assert provider.reader.stats.rejected_lines >= 2


def test_store_paths_that_need_quoting(tmp_path: Path) -> None:
    w = Writer(tmp_path / "da ta?#%" / "opencode")
    w.session("ses_root")
    w.message("msg_a", "ses_root", assistant((1, 2, 0, 0, 0), completed_ms=1.0))
    provider = OpenCode(str(w.path.parent), {})
    provider.backfill(NOW, 900)
    assert spent(drain(provider))["output"] == 2


def test_opencode_db_names_another_store(tmp_path: Path) -> None:
    assert db_path("/d", {}) == "/d/opencode.db"
    assert db_path("/d", {"OPENCODE_DB": "other.db"}) == "/d/other.db"
    assert db_path("/d", {"OPENCODE_DB": "/elsewhere/x.db"}) == "/elsewhere/x.db"
    assert db_path("/d", {"OPENCODE_DB": ":memory:"}) is None
    w = Writer(tmp_path / "elsewhere")
    w.session("ses_root")
    w.message("msg_a", "ses_root", assistant((1, 2, 0, 0, 0), completed_ms=1.0))
    provider = OpenCode(str(tmp_path / "data"), {"OPENCODE_DB": str(w.path)})
    provider.backfill(NOW, 900)
    assert spent(drain(provider))["output"] == 2


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=30,
)
_message_like = st.fixed_dictionaries(
    {"role": st.sampled_from(["assistant", "user", "", 3])},
    optional={
        "tokens": _json_values
        | st.fixed_dictionaries(
            {k: st.integers(-5, 2 * 10**7) for k in ("input", "output", "reasoning")},
            optional={"cache": st.fixed_dictionaries({"read": st.integers(-5, 10**8)})},
        ),
        "time": _json_values | st.fixed_dictionaries({"completed": st.floats()}),
        "cost": _json_values,
        "summary": _json_values,
        "error": _json_values,
        "finish": _json_values,
        "modelID": _json_values,
        "providerID": _json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.binary(),
        _json_values.map(lambda v: json.dumps(v).encode()),
        _message_like.map(lambda v: json.dumps(v).encode()),
    )
)
def test_row_decoders_never_raise(data: bytes) -> None:
    from aitop.providers.opencode import records

    message = records.decode_message(data)
    if message is not None:
        usage = records.spent(message)
        assert usage is None or min(msgspec_fields(usage)) >= 0
        records.own_cost(message)
        records.ends_turn(message)
    part = records.decode_part(data)
    if part is not None:
        where = records.Where(ev.SessionInfo("opencode", "ses", NOW), None)
        records.tool_events(part, where, NOW)


def msgspec_fields(usage: ev.Usage) -> list[int]:
    return [getattr(usage, name) for name in usage.__struct_fields__]
