"""Transcripts from hell: a path outside the projects directory, a symlink to /dev/zero
or to another user's file, a FIFO, a directory, a file truncated or replaced while
tailed, a 64 MB single line, invalid UTF-8 and NUL bytes inside lines, a line cut
mid-write → each ignored or handled as DESIGN.md says ("Transcript paths from
payloads", "Accounting" 1 and 2), counted, and never holding up the loop: hook frames
sent all the while are ingested, and snapshots keep coming at the tick rate."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aitop import events as ev
from aitop.providers.claude_code.transcript import tailer as claude_tailer
from reliability.rig import (
    Place,
    drain,
    is_root,
    monitor,
    payload,
    place,
    send,
    session,
    tool_call,
    wait_for,
)

from support import Monitor, Snapshot

DELAY = 0.1  # the tick of the monitor under test
BIG = 64 << 20  # one line of 64 MB
MAX_GAP_S = 1.0  # between two snapshots; the default tick is 1 s


def assistant(msg: str, out: int = 5, *, text: str = "hi", extra: bytes = b"") -> bytes:
    line = {
        "type": "assistant",
        "timestamp": "2099-01-01T00:00:00.000Z",  # clamped to now: since start
        "requestId": "req_" + msg,
        "message": {
            "id": msg,
            "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": text}],
            "usage": {"input_tokens": 10, "output_tokens": out},
        },
    }
    data = json.dumps(line).encode()
    if extra:
        data = data[:-1] + b', "x": ' + extra + b"}"
    return data + b"\n"


class Heartbeat:
    """A hook frame every 50 ms, each its own tool call, while the hell goes on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sent = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop:
            send(self.path, tool_call("heartbeat", f"toolu_beat_{self.sent}"))
            self.sent += 1
            time.sleep(0.05)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop = True
        self.thread.join(timeout=10)


def requests(snap: Snapshot, session_id: str) -> int:
    row = session(snap, session_id)
    return 0 if row is None else int(row["requests"])


def transcripts(snap: Snapshot) -> dict[str, Any]:
    return dict(snap["transcripts"])


@pytest.mark.slow
def test_transcripts_from_hell(tmp_path: Path) -> None:
    with place() as where:
        evil = where.projects / "-evil"
        evil.mkdir(mode=0o700)
        outside = where.base / "outside.jsonl"
        outside.write_bytes(assistant("msg_outside"))
        foreign = where.base / "foreign.jsonl"
        foreign.write_bytes(assistant("msg_foreign"))
        unsafe: dict[str, Path | str] = {
            "outside": outside,
            "dotdot": evil / ".." / ".." / ".." / "outside.jsonl",
            "relative": "projects/-evil/rel.jsonl",
            "not-jsonl": evil / "notes.txt",
            "zero": evil / "zero.jsonl",
            "link-out": evil / "link-out.jsonl",
            "fifo": evil / "fifo.jsonl",
            "dir": evil / "dir.jsonl",
        }
        (evil / "notes.txt").write_bytes(assistant("msg_txt"))
        (evil / "zero.jsonl").symlink_to("/dev/zero")
        (evil / "link-out.jsonl").symlink_to(outside)
        os.mkfifo(evil / "fifo.jsonl", 0o600)
        (evil / "dir.jsonl").mkdir()
        if is_root():  # another user's file, inside the projects dir and linked to
            other = evil / "other.jsonl"
            other.write_bytes(assistant("msg_other"))
            os.chown(other, 65534, 65534)
            os.chown(foreign, 65534, 65534)
            (evil / "link-foreign.jsonl").symlink_to(foreign)
            unsafe |= {"other": other, "link-foreign": evil / "link-foreign.jsonl"}

        # Written before the monitor starts, and made to look old so that start-up does
        # not read it: making a 64 MB string holds this process (the reader of the
        # snapshots) long enough to stall the monitor on a full stdout pipe.
        big = evil / "big.jsonl"
        with big.open("wb") as f:
            f.write(assistant("msg_big", text="x" * BIG))
            f.write(assistant("msg_after_big"))
        os.utime(big, (time.time() - 3600, time.time() - 3600))

        with monitor(where.env(), delay=DELAY) as mon, Heartbeat(where.socket) as beat:
            named = _hell(where, mon, evil, unsafe)
            beat.stop = True
            beat.thread.join(timeout=10)
            drain(mon)
            snap = wait_for(mon, lambda s: s["since_start"]["tool_calls"] == beat.sent)
            assert snap["ingest"]["frames"] == beat.sent + named  # every one, once
            assert snap["ingest"]["rejected_malformed"] == 0


def _hell(where: Place, mon: Monitor, evil: Path, unsafe: dict[str, Path | str]) -> int:
    """The scenes, one after the other; how many frames named a transcript."""
    frames = 0
    gaps: list[float] = []
    last_uptime: list[float] = []

    def watch(check: Any, timeout: float = 60.0) -> Snapshot:
        """wait_for, keeping the time between consecutive snapshots (the monitor's own)."""

        def seen(snap: Snapshot) -> bool:
            if last_uptime:
                gaps.append(snap["uptime_s"] - last_uptime[0])
                last_uptime[0] = snap["uptime_s"]
            else:
                last_uptime.append(snap["uptime_s"])
            return bool(check(snap))

        return wait_for(mon, seen, timeout=timeout)

    def named(session_id: str, path: str | Path) -> None:
        """A hook frame that names `path` as the session's transcript."""
        nonlocal frames
        send(where.socket, payload("Stop", session_id=session_id, transcript_path=str(path)))
        frames += 1

    # unsafe paths: each refused and counted once, none of their requests counted
    for key, path in unsafe.items():
        named(f"unsafe-{key}", path)
    snap = watch(lambda s: transcripts(s)["unsafe_paths"] == len(unsafe))
    assert all(requests(snap, f"unsafe-{key}") == 0 for key in unsafe)
    assert snap["since_start"]["requests"] == 0

    # a line cut mid-write: nothing until its end arrives, then counted once
    cut = evil / "cut.jsonl"
    line = assistant("msg_cut", 7)
    cut.write_bytes(line[:50])
    named("cut", cut)
    for _ in range(5):
        snap = watch(lambda s: True)
    assert session(snap, "cut") is not None and requests(snap, "cut") == 0
    assert transcripts(snap)["rejected_lines"] == 0
    with cut.open("ab") as f:
        f.write(line[50:])
    snap = watch(lambda s: requests(s, "cut") == 1)
    assert transcripts(snap)["rejected_lines"] == 0

    # invalid UTF-8, NUL bytes and nesting inside lines: those lines rejected and counted
    bad = evil / "bad.jsonl"
    bad.write_bytes(
        assistant("msg_bad_1").replace(b"claude-sonnet-4-5", b"claude-\xff-4-5")
        + assistant("msg_bad_2", text="t").replace(b'"t"', b'"t\xc3"')
        + assistant("msg_bad_3").replace(b'"hi"', b'"h\x00i"')
        + assistant("msg_bad_4", extra=b"[" * 5000 + b"]" * 5000)
        + b"\x00" * 100
        + b"\n"
        + assistant("msg_fine_1", text="a\u0000b")  # escaped: a character like any other
        + assistant("msg_fine_2")
    )
    named("bad", bad)
    snap = watch(lambda s: requests(s, "bad") == 2)
    assert transcripts(snap)["rejected_lines"] == 4

    # truncated while tailed: read again from the start, nothing counted twice
    trunc = evil / "trunc.jsonl"
    trunc.write_bytes(assistant("msg_t1") + assistant("msg_t2") + assistant("msg_t3"))
    named("trunc", trunc)
    watch(lambda s: requests(s, "trunc") == 3)
    trunc.write_bytes(assistant("msg_t2"))  # shorter than what was read: truncated
    named("trunc", trunc)
    for _ in range(3):
        watch(lambda s: True)
    with trunc.open("ab") as f:
        f.write(assistant("msg_t4"))
    snap = watch(lambda s: requests(s, "trunc") == 4)

    # replaced while tailed (a new file renamed over it): the same
    repl = evil / "repl.jsonl"
    repl.write_bytes(assistant("msg_r1") + assistant("msg_r2"))
    named("repl", repl)
    watch(lambda s: requests(s, "repl") == 2)
    fresh = evil / "repl.jsonl.new"
    fresh.write_bytes(assistant("msg_r1") + assistant("msg_r2") + assistant("msg_r3"))
    os.replace(fresh, repl)
    named("repl", repl)
    snap = watch(lambda s: requests(s, "repl") == 3)

    # one line of 64 MB, then a normal one: skipped and counted, the next one read
    big = evil / "big.jsonl"
    long_before = transcripts(snap)["long_lines"]
    named("big", big)
    snap = watch(lambda s: requests(s, "big") == 1, timeout=120)
    assert transcripts(snap)["long_lines"] == long_before + 1

    # and at the end, all of it exactly once
    total = 1 + 2 + 4 + 3 + 1  # cut, bad, trunc, repl, big
    snap = watch(lambda s: s["transcripts"]["requests"] == total)
    assert snap["since_start"]["requests"] == total
    assert transcripts(snap)["unsafe_paths"] == len(unsafe)
    assert mon.process.poll() is None
    print(f"\nhell: {len(gaps)} snapshots, the longest gap {max(gaps):.2f} s (tick {DELAY} s)")
    assert max(gaps) <= MAX_GAP_S
    return frames


def test_hellish_lines_in_process(tmp_path: Path) -> None:
    """The line rules of the test above without a monitor: fast, and exact per line."""
    project = tmp_path / "projects" / "-p"
    project.mkdir(parents=True)
    path = project / "s.jsonl"
    path.write_bytes(
        assistant("msg_deep", extra=b"[" * 100_000 + b"]" * 100_000)
        + assistant("msg_obj", extra=b'{"a":' * 3000 + b"1" + b"}" * 3000)
        + assistant("msg_utf8", text="t").replace(b'"t"', b'"t\xed\xa0\x80"')
        + assistant("msg_nul").replace(b'"hi"', b'"h\x00i"')
        + assistant("msg_ok", text="\u0000 and é")
    )
    tailer = claude_tailer(str(tmp_path / "projects"))
    assert tailer.watch(str(path), "s")
    got = [e for e in tailer.read(str(path), 4_000_000_000.0) if isinstance(e, ev.Request)]
    assert [e.usage.output_tokens for e in got] == [5]
    assert (tailer.reader.stats.rejected_lines, tailer.reader.stats.requests) == (4, 1)
