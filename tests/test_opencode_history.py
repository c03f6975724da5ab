"""OpenCode's store as history (`aitop report`, the budgets): each session's report total is
the live provider's row to the token, on every real capture and on generated stores read in
slices of any size; the store is one file that one process reads, merged exactly with the
other agents' files; a locked or damaged store is reported, never raised; the budgets count
its requests once, before the start from the store, after it from the live reading."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitop import events as ev
from aitop.aggregate import COST, FIELDS, Aggregator, priced
from aitop.app import Monitor, Options
from aitop.budgets import Budgets
from aitop.config import DEFAULT
from aitop.env import Env
from aitop.history import Tally, find
from aitop.periods import zone
from aitop.pricing import Pricer
from aitop.providers.base import LogFile
from aitop.providers.dedup import Dedup
from aitop.providers.opencode import history as history_module
from aitop.providers.opencode.history import OpenCodeHistory, StoreHistory
from aitop.providers.opencode.provider import OpenCode
from aitop.providers.registry import AGENTS
from aitop.report import Query, build
from aitop.shards import Shards, plan

from conftest import SESSIONS as CLAUDE_SESSIONS
from opencode_support import (
    CAPTURES,
    FIXTURES,
    NOW,
    SESSIONS,
    Writer,
    assistant,
    drain,
    fixture_db,
    merge_captures,
    spent,
)
from support import private_dir

PRICER = Pricer.load(overlay=False)
UTC = zone("UTC", {})
COUNTED = ("requests", "input_tokens", "output_tokens", "cache_read_tokens",
           "cache_write_tokens", "reasoning_tokens")  # fmt: skip


def _history(data_dir: Path, environ: dict[str, str] | None = None) -> OpenCodeHistory:
    made = AGENTS["opencode"].history
    assert made is not None
    history = made(str(data_dir), environ or {})
    assert isinstance(history, OpenCodeHistory)
    return history


def _read(
    history: OpenCodeHistory, budget: int = 1 << 20, dedup: Dedup | None = None
) -> tuple[list[ev.Event], StoreHistory]:
    """Every event of the history's files, `budget` bytes at a time."""
    reader = history.reader(dedup or Dedup(limit=None))
    events: list[ev.Event] = []
    for file in history.log_files():
        for _ in range(1_000_000):
            got, done = reader.read(file, NOW, budget)
            events += got
            if done:
                break
        else:
            raise AssertionError("the reading never ended")
    return events, reader


def _report_rows(sources: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    found = find(sources)
    cells = Shards(sources, found.files, Tally(PRICER, UTC), NOW).read(1).cells
    report = build(cells, Query("session", UTC, 0), PRICER, NOW)
    return {
        (row.identity["agent"], row.identity["session_id"]): {
            **row.totals.counts(),
            "cost_pico": row.totals.values[-1],
        }
        for row in report.rows
    }


def _live_rows(data_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The live monitor's first-sight read of the store, through its aggregator."""
    aggregator = Aggregator(PRICER, NOW)
    provider = OpenCode(str(data_dir), {})
    provider.backfill(NOW, NOW)  # every row, however old
    aggregator.apply_all(drain(provider), NOW)
    provider.close()
    return {
        key: {
            **{name: state.totals[FIELDS.index(name)] for name in COUNTED},
            "cost_pico": state.totals[COST],
        }
        for key, state in {**aggregator.archive, **aggregator.sessions}.items()
        if state.totals[FIELDS.index("requests")]
    }


def _same(report: dict[tuple[str, str], dict[str, Any]], live: dict[Any, Any]) -> None:
    assert set(report) == set(live)
    for key, row in live.items():
        assert {name: report[key][name] for name in row} == row, key


# --- the real captures --------------------------------------------------------------------------


@pytest.mark.parametrize("name", CAPTURES)
def test_each_captures_report_total_is_its_live_row_to_the_token(name: str) -> None:
    data_dir = fixture_db(name).parent
    report = _report_rows({"opencode": _history(data_dir)})
    _same(report, _live_rows(data_dir))
    # and both are the mock's answers, minus the title request that no row holds
    truth = json.loads((SESSIONS / name / "reconcile.json").read_text())
    mock = truth["mock_without_title"]
    ((_, row),) = report.items()  # one root session (O4's subagent is in it)
    assert [row[f] for f in COUNTED] == [
        truth["completion_requests"] - truth["title_requests"],
        mock["input"],
        mock["output"] + mock["reasoning"],
        mock["cache_read"],
        mock["cache_write"],
        mock["reasoning"],
    ]


def test_the_store_as_opencode_left_it_is_read_with_its_wal(tmp_path: Path) -> None:
    """O4 after exit: a 4 KiB main file, every row in the -wal: the file's size and time are
    the -wal's too, and every request is read."""
    with tarfile.open(FIXTURES / "experiments" / "wal-as-left-O4-subagent.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    (db,) = tmp_path.rglob("opencode.db")
    wal = Path(f"{db}-wal")
    os.utime(db, (1_700_000_000, 1_700_000_000))  # only the -wal was written lately
    history = _history(db.parent)
    (file,) = history.log_files()
    assert file.size == db.stat().st_size + wal.stat().st_size
    assert file.mtime == wal.stat().st_mtime
    events, reader = _read(history)
    mock = json.loads((SESSIONS / "O4-subagent" / "reconcile.json").read_text())
    assert spent(events)["cache_write"] == mock["mock_without_title"]["cache_write"]
    assert reader.unreadable() == [] and reader.bytes_read() > 0


def test_subagent_requests_are_counted_in_their_root_session() -> None:
    events, _ = _read(_history(fixture_db("O4-subagent").parent))
    requests = [e for e in events if isinstance(e, ev.Request)]
    assert len({e.session.session_id for e in requests}) == 1
    children = {e.subagent_id for e in requests if e.subagent_id is not None}
    assert len(children) == 1 and all(e.sidechain == (e.subagent_id is not None) for e in requests)
    assert {e.session.cwd for e in requests} == {"/home/user/project"}
    assert events == [e for e in events if isinstance(e, ev.Request)]  # only what spend needs


# --- generated stores, read in slices ---------------------------------------------------------

# sessions 0 and 1 are roots; 2 is 0's subagent, 3 a subagent of 2, 4 is 1's
PARENTS: dict[int, int | None] = {0: None, 1: None, 2: 0, 3: 2, 4: 1}
ROOTS = {0: 0, 1: 1, 2: 0, 3: 0, 4: 1}
_row = st.tuples(
    st.integers(0, 4),  # its session
    st.lists(st.integers(0, 5000), min_size=5, max_size=5),  # in, out, reasoning, cr, cw
    st.sampled_from(["done", "done", "done", "running", "failed", "user", "garbage"]),
    st.integers(0, 3 * 86_400),  # how long before NOW it ended
    st.sampled_from(["claude-sonnet-4-5", "gpt-5", "claude-haiku-4-5"]),
    st.sampled_from(["mock", "anthropic", "openai"]),
)


def _write_store(data_dir: Path, rows: list[Any]) -> None:
    w = Writer(data_dir)
    for n, parent in PARENTS.items():
        w.session(f"ses_{n}", f"ses_{parent}" if parent is not None else None, f"/src/p{n % 2}")
    for k, (session, tokens, kind, ago, model, provider) in enumerate(rows):
        mid, sid = f"msg_{k:04d}", f"ses_{session}"
        ended = (NOW - ago) * 1000
        if kind == "garbage":
            w.message(mid, sid, "{not json", ended)
        elif kind == "user":
            w.message(mid, sid, {"role": "user", "time": {"created": ended}}, ended)
        elif kind == "failed":
            data = assistant(model=model, provider=provider, error={"name": "APIError"})
            w.message(mid, sid, data, ended)
        else:
            data = assistant(
                tuple(tokens),  # type: ignore[arg-type]
                completed_ms=ended if kind == "done" else None,
                model=model,
                provider=provider,
                finish="stop",
            )
            w.message(mid, sid, data, ended - 2000, ended)
    w.close()


def _recount(rows: list[Any]) -> dict[str, list[int]]:
    """By hand: per root session, requests and input, output (with reasoning), cache read,
    cache write, reasoning."""
    out: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for session, (i, o, r, cr, cw), kind, *_ in rows:
        if kind in ("garbage", "user", "failed") or (
            kind == "running" and not any((i, o, r, cr, cw))
        ):
            continue
        sums = out[f"ses_{ROOTS[session]}"]
        for at, value in enumerate((1, i, o + r, cr, cw, r)):
            sums[at] += value
    return dict(out)


@settings(max_examples=40, deadline=None)
@given(st.lists(_row, max_size=40), st.integers(1, 5000), st.integers(1, 9))
def test_any_slicing_reads_what_the_live_provider_counts(
    rows: list[Any], budget: int, rows_max: int
) -> None:
    """Rows of every kind (ended, running, failed, prompts, not JSON), subagents of subagents,
    over three days, read `budget` bytes at a time in statements of at most `rows_max` rows:
    the same totals as one big read, the live provider's and a count by hand."""
    saved = history_module.ROWS_MAX
    history_module.ROWS_MAX = rows_max
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) / "opencode"
            _write_store(data_dir, rows)
            history = _history(data_dir)
            sliced, reader = _read(history, budget)
            whole, _ = _read(history, 1 << 30)
            report = _report_rows({"opencode": history})
            live = _live_rows(data_dir)
            db = sqlite3.connect(data_dir / "opencode.db")
            ((stored,),) = db.execute("SELECT total(length(CAST(data AS BLOB))) FROM message")
            db.close()
    finally:
        history_module.ROWS_MAX = saved
    assert sliced == whole
    assert reader.unreadable() == [] and reader.bytes_read() == stored  # each row read once
    _same(report, live)
    by_hand = _recount(rows)
    assert {sid: [report["opencode", sid][f] for f in COUNTED] for _, sid in report} == by_hand


# --- one file among many, read by one process ----------------------------------------------------


@pytest.fixture
def mixed(tmp_path: Path) -> dict[str, Any]:
    """Claude Code's captures and one OpenCode store holding every OpenCode capture."""
    projects = tmp_path / ".claude" / "projects"
    for session in sorted(CLAUDE_SESSIONS.iterdir()):
        shutil.copytree(session / "claude-projects", projects, dirs_exist_ok=True)
    data_dir = tmp_path / "opencode"
    merge_captures(data_dir / "opencode.db")
    claude = AGENTS["claude-code"].history
    assert claude is not None
    return {"claude-code": claude(str(tmp_path / ".claude"), {}), "opencode": _history(data_dir)}


def test_the_store_is_one_file_in_one_shard_and_merged_exactly(mixed: dict[str, Any]) -> None:
    found = find(mixed)
    files = found.files
    store = next(i for i, (agent, _) in enumerate(files) if agent == "opencode")
    assert found.on_disk["opencode"] == 1 and len(files) > 2
    for count in (2, 3, 8):
        shards = plan(files, count)
        assert sum(store in shard for shard in shards) == 1
        assert sorted(i for shard in shards for i in shard) == list(range(len(files)))
    reading = Shards(mixed, files, Tally(PRICER, UTC), NOW)
    one = reading.read(1)
    # the store alone, and with half the other files: forked, merged, nothing read again
    alone = [store]
    rest = [i for i in range(len(files)) if i != store]
    for split in ([alone, rest], [sorted(alone + rest[::2]), rest[1::2]]):
        forked = reading.read(2, shards=split)
        assert forked.processes == 2 and forked.reread_files == 0
        assert forked.cells == one.cells and forked.bytes_read == one.bytes_read
    # its group returns a digest per request key: one per assistant row with usage
    (group,) = [g for g in reading.read_shard([store]).groups]
    requests = sum(v[0] for k, v in one.cells.items() if k[2] == "opencode")
    truths = [json.loads((SESSIONS / n / "reconcile.json").read_text()) for n in CAPTURES]
    assert requests == sum(t["completion_requests"] - t["title_requests"] for t in truths)
    assert len(group[2]) // 8 == requests
    sessions = {k[3] for k in one.cells if k[2] == "opencode"}
    assert len(sessions) == len(CAPTURES)


# --- a store that cannot be read ----------------------------------------------------------------


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_module, "BUSY_TIMEOUT_S", 0.001)
    monkeypatch.setattr(history_module, "BUSY_TRIES", 3)


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[tuple[Path, sqlite3.Connection]]:
    """A store with one request, held exclusively by another connection."""
    w = Writer(tmp_path / "data")
    w.session("ses_root")
    w.message("msg_a", "ses_root", assistant((1, 2, 0, 0, 0), completed_ms=1.0))
    w.close()
    holder = sqlite3.connect(w.path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    yield w.path, holder
    holder.close()


@pytest.mark.usefixtures("short_waits")
def test_a_locked_store_is_reported_not_raised(locked: tuple[Path, sqlite3.Connection]) -> None:
    path, _ = locked
    history = _history(path.parent)
    (file,) = history.log_files()
    reader = history.reader(Dedup(limit=None))
    tries = []
    while True:
        events, done = reader.read(file, NOW, 1 << 20)
        tries.append(events)
        if done:
            break
    assert tries == [[]] * 4  # tried again within the reading, then given up
    ((where, why),) = reader.unreadable()
    assert where == str(path) and why.startswith("busy: ") and why.endswith("(tried 4 times)")
    # through the report: named, nothing counted, nothing raised
    sources = {"opencode": history}
    outcome = Shards(sources, find(sources).files, Tally(PRICER, UTC), NOW).read(1)
    assert outcome.cells == {} and [p for p, _ in outcome.unreadable] == [str(path)]


@pytest.mark.usefixtures("short_waits")
def test_a_store_locked_for_a_moment_is_read_whole(
    locked: tuple[Path, sqlite3.Connection],
) -> None:
    path, holder = locked
    history = _history(path.parent)
    (file,) = history.log_files()
    reader = history.reader(Dedup(limit=None))
    assert reader.read(file, NOW, 1 << 20) == ([], False)
    holder.execute("COMMIT")
    holder.execute("PRAGMA locking_mode=NORMAL")
    holder.execute("SELECT 1 FROM session").fetchall()  # gives the lock back
    events, done = reader.read(file, NOW, 1 << 20)
    assert done and spent(events)["output"] == 2 and reader.unreadable() == []


@pytest.mark.parametrize(
    ("damage", "kind"),
    [("garbage", "damaged"), ("truncated", "damaged"), ("empty", "no tables")],
)
def test_a_damaged_store_is_reported_at_once(tmp_path: Path, damage: str, kind: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good = fixture_db("O1-tools-plugin").read_bytes()
    contents = {"garbage": os.urandom(8192), "truncated": good[:100], "empty": b""}[damage]
    (data / "opencode.db").write_bytes(contents)
    history = _history(data)
    (file,) = history.log_files()
    reader = history.reader(Dedup(limit=None))
    assert reader.read(file, NOW, 1 << 20) == ([], True)
    ((where, why),) = reader.unreadable()
    assert where == file.path and why.startswith(f"{kind}: ")


# --- where the store is ---------------------------------------------------------------------------


def test_the_store_is_where_the_live_provider_reads_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _history(data).log_files() == []  # OpenCode never ran here
    data.mkdir()
    (data / "opencode.db").mkdir()
    assert _history(data).log_files() == []  # not a file
    (data / "opencode.db").rmdir()
    Writer(data).close()
    (mine,) = _history(data).log_files()
    assert mine.path == str(data / "opencode.db") and mine.group == mine.path
    assert mine.size == (data / "opencode.db").stat().st_size + (
        (data / "opencode.db-wal").stat().st_size if (data / "opencode.db-wal").exists() else 0
    )
    elsewhere = tmp_path / "elsewhere"
    Writer(elsewhere).close()
    (named,) = _history(data, {"OPENCODE_DB": str(elsewhere / "opencode.db")}).log_files()
    assert named.path == str(elsewhere / "opencode.db")
    Writer(data / "sub").close()
    (relative,) = _history(data, {"OPENCODE_DB": "sub/opencode.db"}).log_files()
    assert relative.path == str(data / "sub" / "opencode.db")
    assert _history(data, {"OPENCODE_DB": ":memory:"}).log_files() == []


def test_how_far_back_is_said() -> None:
    retention = _history(Path("/nonexistent")).retention()
    assert "keeps every session" in retention and "none by age" in retention


def test_a_file_that_is_not_a_store_is_named_not_raised(tmp_path: Path) -> None:
    """The reader reads what the report hands it, whatever it is."""
    reader = _history(tmp_path).reader(Dedup(limit=None))
    gone = LogFile(str(tmp_path / "gone.db"), "", None, 0, 0.0, "g")
    assert reader.read(gone, NOW, 100) == ([], True)
    assert reader.unreadable() == [(gone.path, "no such file")]


# --- the budgets ------------------------------------------------------------------------------


def test_budgets_count_opencodes_requests_once(tmp_path: Path) -> None:
    """Requests made today before the monitor started come from the store (one within the
    live backfill's 15 minutes too, which the live reading must not count again); one made
    after the start, from the live reading."""
    paris = dt.timezone(dt.timedelta(hours=1))
    start = dt.datetime(2026, 11, 22, 12, 0, tzinfo=paris).timestamp()
    w = Writer(private_dir(tmp_path / "home") / ".local" / "share" / "opencode")
    w.session("ses_root")
    tokens = (1000, 2000, 0, 0, 0)

    def request(mid: str, when: float) -> None:
        data = assistant(tokens, completed_ms=when * 1000, model="claude-sonnet-4-5")
        w.message(mid, "ses_root", data, when * 1000 - 1000, when * 1000)

    request("msg_yesterday", start - 86_400)
    request("msg_morning", start - 3 * 3600)
    request("msg_just_before", start - 60)
    info = ev.SessionInfo("opencode", "ses_root", start)
    one = priced(PRICER, ev.Request(info, "claude-sonnet-4-5", ev.Usage(1000, 2000)))[1] / 1e12
    config = msgspec.structs.replace(DEFAULT, budgets=Budgets(daily_usd=one * 10))
    wall = [start]
    mono = [1000.0]
    env = Env(
        environ={"HOME": str(tmp_path / "home"), "TZ": "Europe/Paris"},
        wall_clock=lambda: wall[0],
        monotonic=lambda: mono[0],
    )
    socket = private_dir(tmp_path / "run") / "aitop.sock"
    monitor = Monitor(Options(str(socket), {"opencode": str(w.path.parent)}, config), env)
    monitor.open()
    try:
        monitor._tick()
        while monitor.budgets is not None and monitor.budgets.pending():
            monitor._count_budgets()
        (row,) = monitor.snapshot().budgets
        assert row.spent_usd == pytest.approx(2 * one, abs=1e-12)
        wall[0] += 30
        mono[0] += 30
        request("msg_after", wall[0] - 5)
        monitor._tick()
        (row,) = monitor.snapshot().budgets
        assert row.spent_usd == pytest.approx(3 * one, abs=1e-12)
    finally:
        monitor.close()
        w.close()
