"""The monitor sits in a pane all day: a file it cannot read, a file deleted while it reads
it, a name that is not UTF-8, a long refresh interval, a flood of made-up sessions. None of
them may hang it, blind it or lose a live session; a stop signal always ends it cleanly,
with the terminal restored. Real `aitop` processes throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reliability.rig import Place, is_root, monitor, place, send, session, wait_for

from conftest import aitop_command
from support import F1_ID, Tty, assistant_line, restamped_f1

pytestmark = pytest.mark.slow

# root reads a `chmod 000` file: without these two capabilities it cannot, as any user
NO_DAC = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


@pytest.fixture
def where() -> Iterator[Place]:
    with place() as made:
        yield made


def _line(msg: str, out: int) -> str:
    return assistant_line(msg, out, datetime.now(UTC).isoformat().replace("+00:00", "Z"))


def _transcript(where: Place, name: str, *lines: str) -> Path:
    project = where.projects / "-home-user-p"
    project.mkdir(mode=0o700, exist_ok=True)
    path = project / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _unreadable(where: Place) -> tuple[Path, tuple[str, ...]]:
    """A transcript the monitor can see but not open (another user's 0600 file, a
    `chmod 000` one), and how to start aitop so that it cannot."""
    path = _transcript(where, "locked.jsonl", _line("m1", 5))
    path.chmod(0)
    return path, NO_DAC if is_root() else ()


def _huge(where: Place) -> Path:
    """A transcript far too large to read before the test deletes it (sparse: no disk)."""
    path = _transcript(where, "huge.jsonl")
    with path.open("r+b") as handle:
        handle.truncate(1 << 40)
    return path


def _log(where: Place) -> str:
    return (where.home / ".aitop" / "aitop.log").read_text(errors="replace")


def _needs_setpriv() -> None:
    if is_root() and not os.access("/usr/bin/setpriv", os.X_OK):
        pytest.skip("needs setpriv (util-linux) to run aitop as root without DAC override")


def test_an_unreadable_transcript_never_holds_the_monitor(where: Place) -> None:
    _needs_setpriv()
    path, prefix = _unreadable(where)
    with monitor(where.env(), prefix=prefix) as mon:  # the first frame comes: no hang
        snap = wait_for(mon, lambda s: s["transcripts"]["unreadable"] == 1)
        later = wait_for(mon, lambda s: s["uptime_s"] > snap["uptime_s"] + 0.3)
        assert later["transcripts"]["unreadable"] == 1
        assert f"cannot read {path}: Permission denied" in _log(where)
        assert mon.stop(signal.SIGTERM) == 0


def test_a_transcript_deleted_mid_read_never_holds_the_monitor(where: Place) -> None:
    path = _huge(where)
    with monitor(where.env()) as mon:
        snap = mon.next()
        assert snap["transcripts"]["backlog_bytes"] > 0  # still reading it
        path.unlink()
        snap = wait_for(mon, lambda s: s["transcripts"]["unreadable"] == 1)
        wait_for(mon, lambda s: s["uptime_s"] > snap["uptime_s"] + 0.3)  # and it goes on
        assert mon.stop(signal.SIGINT) == 0
    assert "No such file or directory" in _log(where)


@pytest.mark.parametrize("condition", ["unreadable", "deleted mid-read"])
def test_a_stop_signal_restores_the_terminal_whatever_the_files(
    where: Place, condition: str
) -> None:
    prefix: tuple[str, ...] = ()
    if condition == "unreadable":
        _needs_setpriv()
        _path, prefix = _unreadable(where)
    else:
        huge = _huge(where)
    env = where.env(TERM="xterm-256color", TZ="UTC")
    tty = Tty([*prefix, *aitop_command()], env, 100, 30)
    try:
        tty.wait_text("Sessions")
        if condition == "deleted mid-read":
            huge.unlink()
        shown = tty.text().splitlines()[0]
        tty.wait_for(lambda text: text.splitlines()[0] != shown, "the clock to move on")
        tty.process.send_signal(signal.SIGTERM)
        assert tty.finish() == 0
        raw = bytes(tty.raw)
        assert raw.rfind(b"\x1b[?1049l") > raw.rfind(b"\x1b[?1049h") > 0  # left the alt screen
        assert not where.socket.exists()
    finally:
        tty.close()


# --- names that are not UTF-8 -------------------------------------------------------------


def _misnamed_f1(where: Place) -> str:
    """F1, its main transcript renamed to a name that is not UTF-8; its id as shown."""
    restamped_f1(where.home, datetime.now(UTC))
    source = where.home / ".claude" / "projects"
    for path in source.rglob("*"):
        target = where.projects / path.relative_to(source)
        if path.is_dir():
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
        else:
            target.write_bytes(path.read_bytes())
    (main,) = where.projects.glob(f"*/{F1_ID}.jsonl")
    os.rename(main, os.path.join(os.fsencode(main.parent), b"ab\xffcd.jsonl"))
    return "ab\\xffcd"


def test_a_transcript_name_that_is_not_utf8_through_batch_json(where: Place) -> None:
    shown = _misnamed_f1(where)
    for _ in range(2):  # and on every restart
        result = subprocess.run(
            [*aitop_command(), "-b", "--json", "-n", "1"],
            env=where.env(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert (result.returncode, result.stderr) == (0, b"")
        snap = json.loads(result.stdout)
        row = session(snap, shown)
        assert (
            row is not None and row["requests"] == 6
        )  # its main thread (its subagent is under the old id)


def test_a_transcript_name_that_is_not_utf8_on_the_screen(where: Place) -> None:
    shown = _misnamed_f1(where)
    tty = Tty(aitop_command(), where.env(TERM="xterm-256color", TZ="UTC"), 160, 40)
    try:
        tty.wait_text("Sessions 2")
        tty.press("/ab\\xff")  # the filter finds it by the id as shown
        tty.wait_text("1 of 2")
        tty.press("\r\r")  # keep the filter; open the detail
        tty.wait_text(shown)
        tty.press("q")
        assert tty.finish() == 0
    finally:
        tty.close()


# --- discovery does not wait for the next frame --------------------------------------------


def test_discovery_does_not_depend_on_the_refresh_interval(where: Place) -> None:
    """`aitop -b --json -d 60 >> log`: a session no hook announced, started just after a
    frame, is in the next frame a minute later (discovery used to look back 15 s, at
    frames only)."""
    with monitor(where.env(), delay=60) as mon:
        _transcript(where, "quiet.jsonl", _line("m1", 3), _line("m2", 4))
        snap = mon.next(timeout=90)
        row = session(snap, "quiet")
        assert row is not None and row["output_tokens"] == 7
        assert mon.stop() == 0


# --- a flood of made-up sessions ------------------------------------------------------------


def test_a_session_flood_never_costs_a_live_session(where: Place) -> None:
    path = _transcript(where, "live.jsonl", _line("m1", 42))
    envelope = b'AITOP/1 {"agent":"claude-code","pid":%d}\n' % os.getpid()  # alive: us
    start = {"hook_event_name": "SessionStart", "session_id": "live", "transcript_path": str(path)}
    with monitor(where.env(), "--no-backfill") as mon:
        send(where.socket, envelope + json.dumps(start).encode())
        wait_for(mon, lambda s: (session(s, "live") or {}).get("output_tokens") == 42)
        flood = 1500
        for i in range(flood):
            junk = {"hook_event_name": "UserPromptSubmit", "session_id": f"junk-{i}"}
            send(where.socket, envelope + json.dumps(junk).encode())
        snap = wait_for(mon, lambda s: s["ingest"]["frames"] == flood + 1)
        row = session(snap, "live")
        assert row is not None and row["output_tokens"] == 42 and row["status"] == "active"
        assert len(snap["sessions"]) <= 1000
        assert mon.stop() == 0
