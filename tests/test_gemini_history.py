"""Gemini CLI's chat files as history (aitop/providers/gemini/history.py): `aitop report` over
the real captures (tests/fixtures/gemini/runs) gives each session its live row to the
token, through the live provider's own reader; its files are listed as the live provider
finds them; how far back they go is Gemini CLI 0.61.0's `general.sessionRetention`."""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from e2e.gemini_ledger import ledgers, read_jsonl
from gemini_support import G1, G2, RUNS, copy_home, gemini_dir, read_all

from aitop import events as ev
from aitop.aggregate import COST, FIELDS, Aggregator
from aitop.cli import main
from aitop.env import Env
from aitop.history import Reading, find
from aitop.pricing import PICO_PER_USD, Pricer
from aitop.providers.dedup import Dedup
from aitop.providers.gemini.chats import session_of
from aitop.providers.gemini.history import GeminiHistory, read_settings, retention
from aitop.providers.gemini.provider import Gemini

NOW = 1_900_000_000.0  # after every capture
COUNTED = ("requests", "input_tokens", "output_tokens", "cache_read_tokens",
           "cache_write_tokens", "reasoning_tokens")  # fmt: skip


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every captured run's Gemini directory in one home (one project, three sessions, a
    subagent's file)."""
    home = tmp_path_factory.mktemp("home")
    for run in sorted(RUNS.iterdir()):
        shutil.copytree(gemini_dir(run) / "tmp", home / ".gemini" / "tmp", dirs_exist_ok=True)
    return home


def report_json(home: Path, *argv: str) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    environ = {"HOME": str(home), "TZ": "UTC", "XDG_CONFIG_HOME": str(home / "config")}
    env = Env(stdout=out, stderr=err, environ=environ, wall_clock=lambda: NOW)
    assert main(["report", *argv, "--json"], env) == 0, err.getvalue()
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


def live_rows(gemini: Path) -> dict[str, list[int]]:
    """The live monitor's first-sight read of every chat file, through its provider and
    its aggregator: each session's totals."""
    aggregator = Aggregator(Pricer.load(), NOW)
    provider = Gemini(str(gemini))
    aggregator.apply_all(read_all(provider, NOW), NOW)
    provider.close()
    return {
        sid: state.totals
        for (agent, sid), state in {**aggregator.archive, **aggregator.sessions}.items()
        if agent == "gemini" and state.totals[FIELDS.index("requests")]
    }


def test_each_sessions_report_total_is_its_live_row_to_the_token(home: Path) -> None:
    live = live_rows(home / ".gemini")
    document = report_json(home, "session")
    reported = {row["session_id"]: row for row in document["rows"] if row["agent"] == "gemini"}
    assert sorted(reported) == sorted(live)
    assert len(live) == 3  # G1's session, G2's two (one ran a subagent)
    for sid, totals in live.items():
        row = reported[sid]
        assert [row[f] for f in COUNTED] == [totals[FIELDS.index(f)] for f in COUNTED], sid
        assert row["cost_usd"] == totals[COST] / PICO_PER_USD, sid
    # and the mock's own log of what it answered (the router's calls are in no chat file)
    for sid, ledger in ledgers(read_jsonl(G2 / "mock-requests.jsonl"),
                               read_jsonl(G2 / "invocations.jsonl")).items():  # fmt: skip
        counts = ledger.counts()
        assert {f: reported[sid][f] for f in counts} == counts, sid
    (log,) = [log for log in document["logs"] if log["agent"] == "gemini"]
    assert log["read"] and log["files"] == 4


def test_the_report_says_how_far_back_by_the_users_setting(home: Path) -> None:
    other = home.parent / "with-settings"
    shutil.copytree(home, other)
    (other / ".gemini" / "settings.json").write_text(
        '{\n  // kept a year\n  "general": {"sessionRetention": {"maxAge": "52w"}}\n}\n'
    )
    document = report_json(other, "agent")
    (log,) = [log for log in document["logs"] if log["agent"] == "gemini"]
    assert log["retention"] == (
        "Gemini CLI deletes a project's sessions not updated for 52 weeks when it starts in"
        ' that project (general.sessionRetention in its settings.json: {"maxAge":"52w"})'
    )
    (row,) = document["rows"]
    live = live_rows(home / ".gemini")
    assert row["agent"] == "gemini"
    assert row["requests"] == sum(totals[FIELDS.index("requests")] for totals in live.values())


def test_the_files_are_the_live_providers_with_its_sessions_and_subagents(tmp_path: Path) -> None:
    gemini = copy_home(G2, tmp_path)
    files = GeminiHistory(str(gemini)).log_files()
    on_disk = sorted((gemini / "tmp").glob("*/chats/**/*.jsonl"))
    assert sorted(f.path for f in files) == [str(p) for p in on_disk]
    for file in files:
        assert (file.session_id, file.subagent_id) == session_of(file.path)
        assert file.group == str(gemini / "tmp" / "project")  # a project's files together
        assert file.size == Path(file.path).stat().st_size
    (sub,) = [f for f in files if f.subagent_id is not None]
    assert sub.session_id == "e17055ab-a53a-4722-8dce-470b059777fa"  # its parent's
    # files that are no chat file are not listed
    (gemini / "tmp" / "project" / "chats" / "notes.jsonl").write_text("{}\n")
    logs = gemini / "tmp" / "project" / "logs"  # empty in the capture, so not in git
    logs.mkdir(exist_ok=True)
    (logs / "x.jsonl").write_text("{}\n")
    assert len(GeminiHistory(str(gemini)).log_files()) == len(files)


@pytest.mark.parametrize("run", [G1, G2], ids=["G1", "G2"])
def test_the_reader_gives_the_live_requests(run: Path) -> None:
    """The same Request events, session (a subagent's: its parent's), subagent, model,
    usage (thoughts as reasoning), time and cwd; and nothing but requests."""
    live = [e for e in read_all(Gemini(str(gemini_dir(run))), NOW) if isinstance(e, ev.Request)]
    history = GeminiHistory(str(gemini_dir(run)))
    found = find({"gemini": history})
    reading = Reading({"gemini": history}, found.files, lambda _agent: Dedup(limit=None))
    read: list[ev.Event] = []
    while not reading.done():
        for _, events in reading.work(NOW, 1 << 16):
            read += events
    assert all(type(e) is ev.Request for e in read)
    assert read and Counter(read) == Counter(live)
    root = (gemini_dir(run) / "tmp" / "project" / ".project_root").read_text().strip()
    assert {e.session.cwd for e in read} == {root}  # the project, as the live rows say it
    assert reading.unreadable() == []
    if run is G2:
        assert {r.subagent_id for r in live} > {None}


def test_how_far_back_by_default_and_by_the_users_setting(tmp_path: Path) -> None:
    default = (
        "Gemini CLI deletes a project's sessions not updated for 30 days when it starts in"
        " that project (its general.sessionRetention setting: on, maxAge 30d by default)"
    )
    assert GeminiHistory(str(tmp_path / "nowhere")).retention() == default
    assert retention({"general": {"enableAutoUpdate": False}}) == default

    def said(setting: object) -> str:
        return retention({"general": {"sessionRetention": setting}})

    assert said({"maxAge": "1w", "maxCount": 20}).startswith(
        "Gemini CLI deletes a project's sessions not updated for 1 week, and all but its 20"
        " latest, when it starts in that project (general.sessionRetention in its settings.json"
    )
    assert said({"maxAge": "2m"}).startswith(
        "Gemini CLI deletes a project's sessions not updated for 2 months (60 days) when"
    )
    assert said({"maxAge": None, "maxCount": 5}).startswith(
        "Gemini CLI deletes all but a project's 5 latest sessions when it starts in that project"
    )
    # what switches Gemini CLI's clean-up off (its validateRetentionConfig)
    assert said({"enabled": False}) == (
        'Gemini CLI keeps its chat files (general.sessionRetention in its settings.json:'
        ' {"enabled":false})'
    )  # fmt: skip
    for setting, why in (
        ({"maxAge": "30 days"}, "maxAge is not <number><h|d|w|m>"),
        ({"maxAge": "0d"}, "maxAge is not <number><h|d|w|m>"),
        ({"maxAge": "12h"}, "maxAge is less than minRetention"),
        ({"maxAge": "12h", "minRetention": "6h"}, ""),
        ({"maxCount": 0}, "maxCount is less than 1"),
        ({"maxAge": "", "maxCount": None}, "maxCount is less than 1"),
        ({"maxAge": None}, "neither maxAge nor maxCount is set"),
    ):
        text = said(setting)
        if why:
            assert text.startswith("Gemini CLI keeps its chat files (") and text.endswith(
                f": not valid, {why})"
            ), text
        else:
            assert text.startswith("Gemini CLI deletes a project's sessions not updated for 12")


def test_the_settings_are_read_as_gemini_cli_reads_them(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(
        '/* mine */ {"general": {"sessionRetention": {"maxAge": "7d"}}, // 7 days\n'
        ' "url": "http://x/*y*/"}'
    )
    assert read_settings(str(settings)) == {
        "general": {"sessionRetention": {"maxAge": "7d"}},
        "url": "http://x/*y*/",
    }
    settings.write_text("{not json")
    assert read_settings(str(settings)) is None
    assert read_settings(str(tmp_path / "missing.json")) is None


def test_a_chat_file_read_in_slices_of_any_size_gives_the_same_requests() -> None:
    history = GeminiHistory(str(gemini_dir(G1)))
    (file,) = history.log_files()
    whole: list[ev.Event] = []
    reader = history.reader(Dedup())
    done = False
    while not done:
        events, done = reader.read(file, NOW, 1 << 20)
        whole += events
    for budget in (1, 97, 4096):
        reader = history.reader(Dedup())
        sliced: list[ev.Event] = []
        done = False
        while not done:
            events, done = reader.read(file, NOW, budget)
            sliced += events
        assert [e.usage for e in sliced if isinstance(e, ev.Request)] == [
            e.usage for e in whole if isinstance(e, ev.Request)
        ]
    assert reader.bytes_read() == file.size
