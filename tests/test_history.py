"""History (`aitop report`): the totals per day, week, month, session, project, model,
agent and 5-hour block equal a brute-force recount by the rules, on generated corpora of
Claude Code's, Codex's and Gemini CLI's logs; the reading split over processes equals one
reading, however it is split."""

from __future__ import annotations

import datetime as dt
import gc
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from history_corpus import NOW, Corpus, Spent, corpora, local_date, recount
from hypothesis import given, settings
from hypothesis import strategies as st

from aitop import periods
from aitop.history import COST, Tally, find
from aitop.periods import Zone, zone
from aitop.pricing import Pricer
from aitop.providers.registry import AGENTS
from aitop.report import Query, Totals, _json_row, build, local_time
from aitop.shards import Shards, plan

PRICER = Pricer.load(overlay=False)
KINDS = ("daily", "weekly", "monthly", "session", "project", "model", "agent", "blocks")
Sums = tuple[int, ...]


def _sources(dirs: dict[str, Path]) -> dict[str, Any]:
    return {
        name: agent.history(str(dirs[name]), {})
        for name, agent in AGENTS.items()
        if agent.history is not None and name in dirs
    }


def _shards(corpus: Corpus, home: Path) -> tuple[Shards, Zone, dict[str, Path]]:
    dirs = corpus.write(home)
    sources = _sources(dirs)
    the_zone = zone(corpus.zone, {})
    found = find(sources)
    return Shards(sources, found.files, Tally(PRICER, the_zone), NOW), the_zone, dirs


# --- the brute force's rows ------------------------------------------------------------------


def _identity(kind: str, spent: Spent, corpus: Corpus, blocks: dict[Spent, float]) -> Any:
    day = local_date(spent.when, corpus.zone)
    if kind == "daily":
        return day.isoformat()
    if kind == "weekly":
        return (day - dt.timedelta(days=(day.weekday() - corpus.first_weekday) % 7)).isoformat()
    if kind == "monthly":
        return day.isoformat()[:7]
    if kind == "session":
        return (spent.agent, spent.session)
    if kind == "project":
        return spent.project
    if kind == "model":
        return spent.model
    if kind == "agent":
        return spent.agent
    return (spent.agent, blocks[spent])


def _blocks(spent: list[Spent]) -> dict[Spent, float]:
    """Each agent's 5-hour blocks: from the whole hour of the first request not in one."""
    out: dict[Spent, float] = {}
    for agent in {s.agent for s in spent}:
        end = -1.0
        start = 0.0
        for s in sorted((s for s in spent if s.agent == agent), key=lambda s: s.when):
            if s.when >= end:
                start = s.when // 3600 * 3600
                end = start + 5 * 3600
            out[s] = start
    return out


def _expected(
    corpus: Corpus, spent: list[Spent], kind: str, *, per_model: bool = False
) -> dict[Any, Sums]:
    """Each row's sums; `per_model`: each (row, model)'s, as --breakdown shows them."""
    blocks = _blocks(spent) if kind == "blocks" else {}
    rows: dict[Any, list[int]] = defaultdict(lambda: [0] * 7)
    for s in spent:
        key = _identity(kind, s, corpus, blocks)
        row = rows[(key, s.model) if per_model else key]
        u = s.usage
        for i, value in enumerate(
            (int(s.new), u.input_tokens, u.output_tokens, u.cache_read_tokens,
             u.cache_write_tokens, u.reasoning_tokens, s.cost)
        ):  # fmt: skip
            row[i] += value
    return {key: tuple(values) for key, values in rows.items()}


def _actual(corpus: Corpus, cells: Any, kind: str, the_zone: Zone, **query: Any) -> dict[Any, Sums]:
    report = build(cells, Query(kind, the_zone, corpus.first_weekday, **query), PRICER, NOW)
    out = {}
    for row in report.rows:
        key = _row_key(kind, row.identity)
        c = row.totals.counts()
        out[key] = (
            c["requests"], c["input_tokens"], c["output_tokens"], c["cache_read_tokens"],
            c["cache_write_tokens"], c["reasoning_tokens"], row.totals.values[-1],
        )  # fmt: skip
    return out


_KEYS = {
    "daily": ("date",),
    "weekly": ("week",),
    "monthly": ("month",),
    "session": ("agent", "session_id"),
    "project": ("project",),
    "model": ("model",),
    "agent": ("agent",),
    "blocks": ("agent", "start"),
}


def _sums(totals: Totals) -> Sums:
    c = totals.counts()
    return (
        c["requests"], c["input_tokens"], c["output_tokens"], c["cache_read_tokens"],
        c["cache_write_tokens"], c["reasoning_tokens"], totals.values[COST],
    )  # fmt: skip


def _actual_breakdown(corpus: Corpus, cells: Any, kind: str, the_zone: Zone) -> dict[Any, Sums]:
    """Each (row, model)'s sums as --breakdown reports them; and on the way, each row is
    the sum of its models' parts, exactly, with the estimate of any of them."""
    query = Query(kind, the_zone, corpus.first_weekday, breakdown=True)
    report = build(cells, query, PRICER, NOW)
    out = {}
    for row in report.rows:
        key = _row_key(kind, row.identity)
        parts = row.totals.models
        assert parts, key
        added = [sum(column) for column in zip(*(_sums(t) for t in parts.values()), strict=True)]
        assert tuple(added) == _sums(row.totals), key
        assert row.totals.estimated == any(t.estimated for t in parts.values()), key
        assert row.totals.first == min(t.first for t in parts.values()), key
        assert row.totals.last == max(t.last for t in parts.values()), key
        for model, totals in parts.items():
            out[key, model] = _sums(totals)
        # what the JSON document shows: the same parts, the costliest first
        shown = _json_row(row, breakdown=True)["breakdown"]
        assert [part["model"] for part in shown] == sorted(
            parts, key=lambda m: (-parts[m].values[COST], m)
        )
        assert [part["requests"] for part in shown] == [parts[p["model"]].values[0] for p in shown]
    return out


def _row_key(kind: str, identity: dict[str, Any]) -> Any:
    values = tuple(identity[name] for name in _KEYS[kind])
    return values[0] if len(values) == 1 else values


def _blocks_as_shown(expected: dict[Any, Sums], the_zone: Zone) -> dict[Any, Sums]:
    return {(agent, local_time(start, the_zone)): sums for (agent, start), sums in expected.items()}


# --- the tests -------------------------------------------------------------------------------


@settings(max_examples=60)
@given(corpora())
def test_report_totals_equal_a_brute_force_recount(corpus: Corpus) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shards, the_zone, dirs = _shards(corpus, Path(tmp))
        spent = recount(dirs, PRICER)
        cells = shards.read(1).cells
    for kind in KINDS:
        expected = _expected(corpus, spent, kind)
        if kind == "blocks":
            expected = _blocks_as_shown(expected, the_zone)
        assert _actual(corpus, cells, kind, the_zone) == expected, kind


@settings(max_examples=40)
@given(corpora())
def test_breakdown_parts_equal_a_brute_force_recount_per_model(corpus: Corpus) -> None:
    """--breakdown: each row's part per model is the recount of that model's requests in
    that row, and the parts add up to the row."""
    with tempfile.TemporaryDirectory() as tmp:
        shards, the_zone, dirs = _shards(corpus, Path(tmp))
        spent = recount(dirs, PRICER)
        cells = shards.read(1).cells
    for kind in KINDS:
        expected = _expected(corpus, spent, kind, per_model=True)
        if kind == "blocks":
            expected = {
                ((agent, local_time(start, the_zone)), model): sums
                for ((agent, start), model), sums in expected.items()
            }
        assert _actual_breakdown(corpus, cells, kind, the_zone) == expected, kind


@settings(max_examples=60)
@given(corpora(), st.data())
def test_any_split_over_processes_counts_as_one_reading(
    corpus: Corpus, data: st.DataObject
) -> None:
    """Files split into shards at random (a project's sessions apart, forks away from the
    file they copy): the merged cells are the one reading's, exactly."""
    with tempfile.TemporaryDirectory() as tmp:
        shards, _, _ = _shards(corpus, Path(tmp))
        one = shards.read(1)
        count = len(shards.files)
        if count < 2:
            return
        assignment = data.draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))
        split = [[i for i in range(count) if assignment[i] == k] for k in range(4)]
        split = [shard for shard in split if shard]
        merged = shards.read(4, shards=split, fork=False)
    assert merged.cells == one.cells
    assert merged.bytes_read == one.bytes_read


@settings(max_examples=5)
@given(corpora(max_files=8).filter(lambda corpus: len(corpus.files) >= 2))
def test_forked_processes_count_as_one_reading(corpus: Corpus) -> None:
    """The real thing: forked readers, files read by two processes, merged exactly."""
    with tempfile.TemporaryDirectory() as tmp:
        shards, _, _ = _shards(corpus, Path(tmp))
        one = shards.read(1)
        count = len(shards.files)
        split = [list(range(0, count, 2)), list(range(1, count, 2))]
        forked = shards.read(2, shards=split)
    assert forked.processes == 2
    assert forked.cells == one.cells
    assert gc.isenabled()  # the reading's pause of the collector ends with it


def test_requests_copied_into_files_read_by_two_processes_are_read_again(tmp_path: Path) -> None:
    base = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC).timestamp()
    line = (
        '{"type":"assistant","timestamp":"2026-11-22T12:00:00.000Z","cwd":"/p/x",'
        '"requestId":"req_1","message":{"id":"msg_1","model":"claude-opus-5-5",'
        '"usage":{"input_tokens":3,"output_tokens":5}}}\n'
    )
    project = tmp_path / ".claude" / "projects" / "x"
    project.mkdir(parents=True)
    for n, name in enumerate(("a", "b", "c")):  # b resumes a (copies its line); c is apart
        path = project / f"{name}.jsonl"
        path.write_text(line if name != "c" else line.replace("_1", "_2"))
        os.utime(path, (base + n, base + n))
    sources = _sources({"claude-code": tmp_path / ".claude"})
    found = find(sources)
    shards = Shards(sources, found.files, Tally(PRICER, zone("UTC", {})), NOW)
    split = [[0, 2], [1]]
    merged = shards.read(2, shards=split, fork=False)
    assert merged.reread_files == 2  # a and b; c was counted where it was read
    assert merged.cells == shards.read(1).cells
    ((_, _, _, session, *_), values), *_ = sorted(merged.cells.items())
    assert session == "a" and values[0] == 1  # the request is a's, once


def test_a_request_that_grew_across_files_of_two_processes_counts_as_one_reading(
    tmp_path: Path,
) -> None:
    """The request is in c (read first: 10 output tokens), then a (5) and b (8, its growth
    over a): one reading counts c's 10 and nothing more. a and b go to one process, c to
    the other: b's growth over a must not survive the merge."""
    base = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC).timestamp()
    project = tmp_path / ".claude" / "projects" / "x"
    project.mkdir(parents=True)
    for n, (name, output) in enumerate((("c", 10), ("a", 5), ("b", 8))):
        path = project / f"{name}.jsonl"
        path.write_text(
            '{"type":"assistant","timestamp":"2026-11-22T12:00:00.000Z","cwd":"/p/x",'
            '"requestId":"req_1","message":{"id":"msg_1","model":"claude-opus-5-5",'
            f'"usage":{{"input_tokens":3,"output_tokens":{output}}}}}}}\n'
        )
        os.utime(path, (base + n, base + n))
    sources = _sources({"claude-code": tmp_path / ".claude"})
    found = find(sources)
    assert [Path(f.path).stem for _, f in found.files] == ["c", "a", "b"]
    shards = Shards(sources, found.files, Tally(PRICER, zone("UTC", {})), NOW)
    merged = shards.read(2, shards=[[1, 2], [0]], fork=False)
    assert merged.cells == shards.read(1).cells
    ((key, values),) = merged.cells.items()
    assert key[3] == "c" and values[:3] == [1, 3, 10]


@settings(max_examples=30)
@given(corpora(), st.data())
def test_since_and_until_keep_exactly_those_days(corpus: Corpus, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        dirs = corpus.write(Path(tmp))
        spent = recount(dirs, PRICER)
        days = sorted({local_date(s.when, corpus.zone) for s in spent})
        if not days:
            return
        since = data.draw(st.sampled_from(days))
        until = data.draw(st.sampled_from([d for d in days if d >= since]))
        the_zone = zone(corpus.zone, {})
        sources = _sources(dirs)
        # only the files that can hold those days are read
        found = find(sources, the_zone.start(since.toordinal()))
        cells = Shards(sources, found.files, Tally(PRICER, the_zone), NOW).read(1).cells
    kept = [s for s in spent if since <= local_date(s.when, corpus.zone) <= until]
    got = _actual(
        corpus, cells, "daily", the_zone, since=since.toordinal(), until=until.toordinal()
    )
    assert got == _expected(corpus, kept, "daily")


@settings(max_examples=10)
@given(corpora())
def test_agent_filter_keeps_one_agent(corpus: Corpus) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shards, the_zone, dirs = _shards(corpus, Path(tmp))
        spent = recount(dirs, PRICER)
        cells = shards.read(1).cells
    for agent in ("claude-code", "codex", "gemini"):
        got = _actual(corpus, cells, "daily", the_zone, agents=frozenset({agent}))
        assert got == _expected(corpus, [s for s in spent if s.agent == agent], "daily")


# --- calendar ----------------------------------------------------------------------------------


@given(st.sampled_from(("America/New_York", "America/Santiago", "Australia/Lord_Howe",
                        "Pacific/Chatham", "Asia/Kolkata")),
       st.floats(1.7e9, 1.9e9))  # fmt: skip
def test_a_day_is_the_local_calendar_date_and_starts_where_it_says(name: str, when: float) -> None:
    the_zone = zone(name, {})
    day = the_zone.day(when)
    assert day == local_date(when, name).toordinal()
    start = the_zone.start(day)
    assert start <= when
    assert the_zone.day(start) == day
    assert the_zone.day(start - 1) < day  # nothing of the day before it


def test_a_day_that_begins_after_a_skipped_midnight() -> None:
    """Santiago springs forward at 24:00: 2026-09-06 has no midnight, it begins at 01:00."""
    the_zone = zone("America/Santiago", {})
    day = dt.date(2026, 9, 6).toordinal()
    start = the_zone.start(day)
    local = dt.datetime.fromtimestamp(start, the_zone.tz)
    assert (local.date(), local.hour, local.minute) == (dt.date(2026, 9, 6), 1, 0)


def test_blocks_start_on_the_hour_and_last_five_hours() -> None:
    hours = [10, 11, 14, 15, 16, 30]
    assert periods.block_starts(hours) == [h * 3600 for h in (10, 10, 10, 15, 15, 30)]


def test_planned_shards_keep_groups_whole_and_even() -> None:
    from aitop.providers.base import LogFile

    files = [
        ("claude-code", LogFile(f"/p/{g}/{i}.jsonl", str(i), None, size, i, g))
        for i, (g, size) in enumerate(
            [("a", 200 << 20), ("b", 50 << 20), ("b", 50 << 20), ("b", 50 << 20), ("c", 1 << 20)]
        )
    ]
    shards = plan(files, 2)
    loads = sorted(sum(files[i][1].size for i in shard) >> 20 for shard in shards)
    assert loads == [150, 201]  # a alone is over half: the rest together
    assert sorted(i for shard in shards for i in shard) == list(range(5))
    assert any({1, 2, 3} <= set(shard) for shard in shards)  # b's sessions stay together
    assert all(shard == sorted(shard) for shard in shards)


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "2026/11/22", ""])
def test_bad_dates_are_one_clear_error(text: str) -> None:
    from aitop.errors import AitopError

    with pytest.raises(AitopError) as caught:
        periods.parse_date(text, "--since")
    assert caught.value.line().startswith(f"aitop: error: --since: {text!r} is not a date")


def test_every_agent_in_the_registry_is_in_the_report() -> None:
    """An agent gets into `aitop report` and the budgets by being in the registry with a
    history hook (its log files and its provider's reader): every one has one."""
    missing = [name for name, agent in AGENTS.items() if agent.history is None]
    assert not missing, f"{missing}: give their registry entries a history (providers/base.py)"
    with tempfile.TemporaryDirectory() as tmp:
        for name, agent in AGENTS.items():
            assert agent.history is not None
            history = agent.history(tmp, {})
            assert history.agent == name
            assert history.log_files() == []
            assert history.retention()


@settings(max_examples=25)
@given(corpora(max_files=4), st.integers(1, 700))
def test_slices_of_any_size_read_the_same(corpus: Corpus, budget: int) -> None:
    """History reads into one reused buffer, a slice at a time: lines cut between slices,
    and slices smaller than a line, give what one read of each whole file gives."""
    from aitop.history import Reading
    from aitop.providers.dedup import Dedup

    with tempfile.TemporaryDirectory() as tmp:
        shards, _, _ = _shards(corpus, Path(tmp))
        whole = shards.read(1).cells
        reading = Reading(shards.sources, shards.files, lambda _agent: Dedup(limit=None))
        cells: dict[Any, Any] = {}
        while not reading.done():
            for _, events in reading.work(NOW, budget):
                shards.tally.add(cells, events)
    assert cells == whole


def test_each_agent_is_shared_out_evenly() -> None:
    """A byte of one agent's logs does not cost what another's does: each agent's files
    are split evenly on their own, not only the bytes in all."""
    from aitop.providers.base import LogFile

    files = [("claude-code", LogFile(f"/c/p{i % 3}/{i}.jsonl", str(i), None, 50 << 20, i, f"p{i % 3}"))
             for i in range(10)]  # fmt: skip
    files += [("codex", LogFile(f"/x/{i}.jsonl", str(i), None, 150 << 10, 100 + i, "d"))
              for i in range(220)]  # fmt: skip
    for shard in plan(files, 2):
        agents = [files[i][0] for i in shard]
        assert agents.count("claude-code") == 5 and agents.count("codex") == 110


def test_the_current_block_says_it_is_now_and_how_long_it_has_left() -> None:
    """`blocks`: the 5-hour window the clock is in is `active`, with the seconds it has
    left; one that has ended is neither."""
    from aitop.history import FIRST, LAST, OUTPUT, REQUESTS

    utc = zone("UTC", {})
    start = (int(NOW) // 3600 - 2) * 3600  # a block that began two hours before NOW
    old = start - 86_400  # and one a day earlier

    def cell(when: float) -> tuple[tuple[int, int, str, str, str, str, str], list[float]]:
        values = [0.0] * (LAST + 1)
        values[REQUESTS], values[OUTPUT], values[FIRST], values[LAST] = 1, 5, when, when
        key = (utc.day(when), int(when // 3600), "claude-code", "s1", "p", "claude-opus-5-5",
               "anthropic")  # fmt: skip
        return key, values

    cells = dict([cell(start + 60), cell(old + 60)])
    report = build(cells, Query("blocks", utc, 0), PRICER, NOW)
    by_start = {row.identity["start"]: row.identity for row in report.rows}
    now_block = by_start[local_time(start, utc)]
    assert now_block["active"] is True
    assert now_block["remaining_s"] == round(start + periods.BLOCK_S - NOW)
    past = by_start[local_time(old, utc)]
    assert (past["active"], past["remaining_s"]) == (False, 0)
