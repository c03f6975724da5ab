"""Realistic transcript bytes for the benchmarks, made from the real Claude Code captures.

Every line of every captured transcript (the large api-request-shape and
file-history-snapshot lines included, 2 to 4 lines per API response) is repeated with
its ids made unique per copy, so a generated file holds as many distinct requests as
its size implies, in the mix Claude Code really writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from _common import ROOT, fail

SESSIONS = ROOT / "tests" / "fixtures" / "claude-code" / "sessions"
_ID = re.compile(rb'"(msg_|req_|toolu_)')


def _main_transcripts() -> list[Path]:
    found = sorted(p for p in SESSIONS.glob("*/claude-projects/*/*.jsonl"))
    if not found:
        fail(f"no captured transcripts under {SESSIONS}", "run the bench from a full clone")
    return found


def template_lines() -> list[bytes]:
    lines: list[bytes] = []
    for path in _main_transcripts():
        lines.extend(line for line in path.read_bytes().splitlines() if line)
    return lines


def copies(lines: list[bytes], start: int = 0) -> Iterator[bytes]:
    """Endless copies of `lines`, ids made unique: copy k turns `"msg_X` into `"msg_kK_X`."""
    k = start
    block = b"\n".join(lines) + b"\n"
    while True:
        yield _ID.sub(b'"\\1k%d_' % k, block)
        k += 1


def write(path: Path, size: int, lines: list[bytes] | None = None, first_copy: int = 0) -> int:
    """Write at least `size` bytes of transcript to `path`; how many copies it took.
    Copies are numbered from `first_copy`: give each file its own range."""
    lines = lines or template_lines()
    written = 0
    count = 0
    with path.open("wb") as out:
        for block in copies(lines, first_copy):
            if written + len(block) > size:  # the last copy only in part, whole lines
                cut = block.find(b"\n", size - written) + 1
                out.write(block[:cut])
                return count + 1
            out.write(block)
            written += len(block)
            count += 1
    return count


def one_turn(k: int) -> bytes:
    """A turn as Claude Code appends it: a prompt, two responses of 2-3 lines each, a
    tool result, and the bookkeeping lines between them (F1's resumed turn)."""
    path = next((p for p in _main_transcripts() if "F1-" in str(p)), None)
    if path is None:
        fail(f"the F1 capture is missing under {SESSIONS}", "run the bench from a full clone")
    lines = path.read_bytes().splitlines()
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if b"One more [bash:echo again]" in line and b'"type":"user"' in line
        ),
        None,
    )
    if start is None:
        fail(f"{path} no longer holds the resumed turn one_turn() copies", "update corpus.py")
    turn = b"\n".join(lines[start:]) + b"\n"
    return _ID.sub(lambda m: b'"' + m.group(1) + b"turn%d_" % k, turn)
