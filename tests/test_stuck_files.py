"""Files that cannot be read never hold the loop; sessions that leave the table come back
whole; names that are not UTF-8 are shown, not fatal. In-process, with an injected clock."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import threading
from pathlib import Path

import pytest

from aitop import events as ev
from aitop.app import Monitor, Options, StopNow
from aitop.batch import to_json
from aitop.config import DEFAULT
from aitop.env import Env
from aitop.providers import tail
from aitop.providers.claude_code.provider import ClaudeCode
from aitop.providers.claude_code.transcript import session_of
from aitop.providers.tail import RETRY_FIRST_S, RETRY_MAX_S
from aitop.surrogates import printable

from support import assistant_line, private_dir

NOW = 1_795_400_000.0


def _line(msg: str, out: int, ts: str = "2026-11-22T21:00:00.000Z") -> bytes:
    return (assistant_line(msg, out, ts) + "\n").encode()


def _provider(tmp_path: Path) -> tuple[ClaudeCode, Path]:
    project = tmp_path / "projects" / "-p"
    project.mkdir(parents=True, mode=0o700)
    return ClaudeCode(str(tmp_path / "projects"), use_inotify=False), project


def _unopenable(monkeypatch: pytest.MonkeyPatch, path: Path, code: int = errno.EACCES) -> None:
    """`path` cannot be opened, as another user's 0600 file or a `chmod 000` one is not
    (root can open those, so the failure is injected where the tailer opens files)."""
    real_open = os.open

    def failing(name: str, flags: int, *args: int) -> int:
        if os.path.realpath(name) == os.path.realpath(path):
            raise OSError(code, os.strerror(code), name)
        return real_open(name, flags, *args)

    monkeypatch.setattr(tail.os, "open", failing)


def _drain(provider: ClaudeCode, now: float, rounds: int = 50) -> list[ev.Event]:
    """What the loop does: work while there is work; a file that gives nothing must not
    keep `pending()` true (the loop would spin at 100 % CPU)."""
    events: list[ev.Event] = []
    for _ in range(rounds):
        if not provider.pending():
            return events
        events.extend(provider.work(now, 1 << 20))
    raise AssertionError("still pending after 50 rounds of work: the loop would never rest")


def test_an_unreadable_file_is_counted_backed_off_and_never_holds_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    provider, project = _provider(tmp_path)
    stuck, fine = project / "stuck.jsonl", project / "fine.jsonl"
    stuck.write_bytes(_line("m1", 5))
    fine.write_bytes(_line("m2", 7))
    _unopenable(monkeypatch, stuck)
    with caplog.at_level(logging.WARNING, logger="aitop"):
        assert provider.backfill(NOW) == 2
        events = _drain(provider, NOW)
    assert [e.usage.output_tokens for e in events if isinstance(e, ev.Request)] == [7]
    assert provider.tailer.unreadable() == 1
    assert f"cannot read {stuck}: Permission denied" in caplog.text
    # not tried again before its time; then with a doubling wait
    provider.poll(NOW + RETRY_FIRST_S / 2)
    assert not provider.pending()
    waits = []
    now = NOW
    for _ in range(10):
        now += RETRY_MAX_S
        provider.poll(now)
        _drain(provider, now)
        waits.append(provider.tailer._files[str(stuck)].wait_s)
    assert waits[:3] == [2 * RETRY_FIRST_S, 4 * RETRY_FIRST_S, 8 * RETRY_FIRST_S]
    assert max(waits) == RETRY_MAX_S
    monkeypatch.undo()  # readable again (its owner fixed the mode): read, and no longer counted
    now += RETRY_MAX_S
    provider.poll(now)
    assert [e.usage.output_tokens for e in _drain(provider, now) if isinstance(e, ev.Request)] == [
        5
    ]
    assert provider.tailer.unreadable() == 0


def test_a_file_deleted_mid_read_never_holds_the_loop(tmp_path: Path) -> None:
    provider, project = _provider(tmp_path)
    big = project / "big.jsonl"
    big.write_bytes(b"".join(_line(f"m{i}", 1) for i in range(20_000)))
    provider.backfill(NOW)
    first = provider.work(NOW, 64 << 10)  # one slice of the first read
    assert first and provider.pending()
    big.unlink()
    _drain(provider, NOW)
    assert provider.tailer.unreadable() == 1


def test_a_file_not_written_yet_is_not_a_problem(tmp_path: Path) -> None:
    """A hook can name a transcript before its first line is written."""
    provider, project = _provider(tmp_path)
    path = project / "new.jsonl"
    assert provider.queue.follow(str(path), "new")
    _drain(provider, NOW)
    assert provider.tailer.unreadable() == 0
    path.write_bytes(_line("m1", 3))
    provider.poll(NOW)
    assert [e.usage.output_tokens for e in _drain(provider, NOW) if isinstance(e, ev.Request)] == [
        3
    ]


def test_the_stop_watchdog_ends_a_loop_that_never_looks_at_its_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever holds the loop (a bug, a hung file system), a stop signal ends aitop within
    a second: the watchdog raises where the loop stands, and the `finally`s run."""
    home = private_dir(tmp_path / "home")
    socket = private_dir(tmp_path / "run") / "aitop.sock"
    monitor = Monitor(
        Options(str(socket), {"claude-code": str(home / ".claude")}, DEFAULT, backfill=False),
        Env(environ={"HOME": str(home)}),
    )
    monitor.open()

    def hang(_snapshot: object) -> bool:
        while True:  # never returns, never looks at `stopping`
            pass

    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        with pytest.raises(StopNow):
            monitor.run(1.0, hang)
    finally:
        timer.cancel()
        monitor.close()
    assert not socket.exists()
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # disarmed


# --- sessions that leave the table and come back -----------------------------------------


def test_a_parked_session_goes_on_from_where_it_was_read(tmp_path: Path) -> None:
    """Its files are not polled while it is away, and not read again when it returns."""
    provider, project = _provider(tmp_path)
    path = project / "s1.jsonl"
    path.write_bytes(_line("m1", 5))
    provider.backfill(NOW)
    _drain(provider, NOW)
    read = provider.tailer.stats.bytes_read
    provider.park("s1")
    with path.open("ab") as handle:
        handle.write(_line("m2", 6))
    provider.poll(NOW)
    assert not provider.pending()  # parked: not polled
    assert provider.discover(NOW + 120) == 1  # its file changed: found, and back
    events = _drain(provider, NOW + 120)
    assert [e.usage.output_tokens for e in events if isinstance(e, ev.Request)] == [6]
    assert provider.tailer.stats.bytes_read - read == len(_line("m2", 6))  # only the new line


# --- names that are not UTF-8 ----------------------------------------------------------


def test_a_session_id_from_a_name_that_is_not_utf8_is_printable() -> None:
    name = os.fsdecode(b"/p/projects/-x/ab\xffcd.jsonl")
    sub = os.fsdecode(b"/p/projects/-x/s\xfe1/subagents/agent-a\xff.jsonl")
    assert session_of(name) == ("ab\\xffcd", None)
    assert session_of(sub) == ("s\\xfe1", "a\\xff")
    assert printable("東京") == "東京" and printable("x\ud800y") == "x\\xed\\xa0\\x80y"


def test_json_never_loses_a_snapshot_to_a_string_that_is_not_unicode(tmp_path: Path) -> None:
    from aitop.aggregate import Aggregator
    from aitop.pricing import Pricer

    agg = Aggregator(Pricer.load(), NOW)
    agg.apply(ev.PromptSubmitted(ev.SessionInfo("claude-code", "a\udcffb", NOW)), NOW)
    line = json.loads(to_json(agg.snapshot(NOW, socket=os.fsdecode(b"/tmp/\xfe.sock"))))
    assert line["sessions"][0]["session_id"] == "a\\xffb"
    assert line["socket"] == "/tmp/\\xfe.sock"
