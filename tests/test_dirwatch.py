"""Discovery without hooks of a session resumed in an old transcript: the lines are appended
to a file weeks old (no new file, so its directory's time does not move). The README's
promise: with inotify it is found at the next discovery pass (the monitor makes one a
second, DISCOVER_S); without, every file's time is looked at once a minute, so it is found
within a minute, and a new file within the 5 s of a directory check. Time is injected: the
passes are the monitor's, a second apart; the files' times are set to match."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aitop import events as ev
from aitop.app import DISCOVER_S
from aitop.providers.claude_code.provider import SESSION_FILES_DEPTH, ClaudeCode
from aitop.providers.dirwatch import CHECK_S, MARGIN_S, SWEEP_S, DirWatch

from support import assistant_line

NOW = 1_795_400_000.0
WEEKS_AGO = NOW - 30 * 86_400


def _line(msg: str, out: int) -> str:
    return assistant_line(msg, out)


@pytest.fixture
def old(tmp_path: Path) -> Path:
    """A transcript last written a month ago, among others as old."""
    projects = tmp_path / "projects"
    for n in range(3):
        project = projects / f"-src-p{n}"
        project.mkdir(parents=True)
        for m in range(3):
            path = project / f"s{n}{m}.jsonl"
            path.write_text(_line(f"m{n}{m}", 1) + "\n")
            os.utime(path, (WEEKS_AGO, WEEKS_AGO))
    return projects / "-src-p1" / "s11.jsonl"


def _append(path: Path, when: float, line: str) -> None:
    with path.open("a") as out:
        out.write(line + "\n")
    os.utime(path, (when, when))


def _passes(start: float, seconds: float) -> Iterator[float]:
    """The discovery passes' times, DISCOVER_S apart."""
    n = 1
    while n * DISCOVER_S <= seconds:
        yield start + n * DISCOVER_S
        n += 1


def _polling(old: Path) -> DirWatch:
    watch = DirWatch(str(old.parent.parent), SESSION_FILES_DEPTH, ".jsonl", use_inotify=False)
    watch.start(NOW)
    assert watch.mode == "polling"
    return watch


@pytest.mark.parametrize("after", [1, 4, 30, 59, 60, 61, 100, 119])
def test_without_inotify_an_append_to_an_old_transcript_is_found_within_a_minute(
    old: Path, after: int
) -> None:
    """Whenever it comes (just after a sweep, just before one): found within SWEEP_S; the
    directory checks every 5 s do not see it (nothing in the directory changed)."""
    watch = _polling(old)
    appended = NOW + after
    found: list[float] = []
    for now in _passes(NOW, 240):
        if now == appended:
            _append(old, now, _line("resumed", 7))
        changed = watch.changed(now)
        assert set(changed) <= {str(old)}, changed  # none of the untouched old files
        found += [now] * len(changed)
    assert found, "never found"
    assert found[0] - appended <= SWEEP_S  # "found within a minute"
    assert (found[0] - NOW) % SWEEP_S == 0  # by a sweep: a directory check cannot see it
    # at most once more, at the next sweep, when written within MARGIN_S of the last one
    # (mtimes are coarse on some file systems); the provider skips a file it follows
    assert found[1:] in ([], [found[0] + SWEEP_S]), found
    assert len(found) == 1 or found[0] - MARGIN_S <= appended
    assert SWEEP_S == 60.0  # what the README says


def test_without_inotify_a_new_transcript_is_found_at_the_next_directory_check(
    old: Path,
) -> None:
    watch = _polling(old)
    found: dict[str, float] = {}
    new = old.parent / "s-new.jsonl"
    for now in _passes(NOW, 20):
        if now == NOW + 7:
            new.write_text(_line("new", 1) + "\n")
            os.utime(new, (now, now))
        for path in watch.changed(now):
            found.setdefault(path, now)
    assert found == {str(new): NOW + 10}  # the check after it: within CHECK_S
    assert found[str(new)] - (NOW + 7) <= CHECK_S == 5.0


def test_with_inotify_an_append_to_an_old_transcript_is_found_at_the_next_pass(
    old: Path,
) -> None:
    watch = DirWatch(str(old.parent.parent), SESSION_FILES_DEPTH, ".jsonl")
    watch.start(NOW)
    try:
        if watch.mode != "inotify":
            pytest.skip("no inotify here")
        assert watch.changed(NOW + 1) == []
        with old.open("a") as out:  # the file's real time: inotify needs none
            out.write(_line("resumed", 7) + "\n")
        assert watch.changed(NOW + 2) == [str(old)]  # the very next pass
        assert watch.changed(NOW + 3) == []
    finally:
        watch.close()


@pytest.mark.parametrize("use_inotify", [True, False])
def test_a_session_resumed_in_an_old_transcript_is_followed_and_its_request_read(
    old: Path, use_inotify: bool
) -> None:
    """The provider's discovery: the backfill leaves the month-old transcripts alone; the
    one resumed is followed (inotify: at the next pass; without: within a minute), and the
    resumed request is read from it."""
    provider = ClaudeCode(str(old.parent.parent), use_inotify=use_inotify)
    try:
        assert provider.backfill(NOW) == 0
        if use_inotify and provider.dirwatch.mode != "inotify":
            pytest.skip("no inotify here")
        appended = NOW + 3
        found_at = None
        for now in _passes(NOW, 120):
            if now == appended:
                _append(old, now, _line("resumed", 7))
            if provider.discover(now):
                assert found_at is None, "found twice"
                found_at = now
        assert found_at is not None
        assert found_at - appended <= (DISCOVER_S if use_inotify else SWEEP_S)
        events = []
        for _ in range(10):
            if not provider.pending():
                break
            events.extend(provider.work(found_at, 1 << 20))
        outputs = [e.usage.output_tokens for e in events if isinstance(e, ev.Request)]
        assert 7 in outputs
        assert {e.session.session_id for e in events} == {"s11"}
    finally:
        provider.close()
