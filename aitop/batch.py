"""`aitop -b`: like `top -b`, no terminal control. A plain-text frame, or with
`--json` one snapshot object per line (DESIGN.md, "Snapshot JSON"), every `-d`
seconds, `-n` times or until SIGINT/SIGTERM."""

from __future__ import annotations

import time
from typing import Any, TextIO

import msgspec
import orjson

from aitop.snapshot import Snapshot
from aitop.surrogates import printable
from aitop.ui import sections
from aitop.ui.sections import plain
from aitop.ui.sort import DEFAULT_SORT, sort_rows

DEFAULT_WIDTH = 200


def to_json(snapshot: Snapshot, *, timelines: bool = False) -> bytes:
    """One line. Sessions' timelines only when asked (`--timeline`): a log of `aitop -b
    --json -d 1 >> file` would otherwise repeat them every second."""
    data = msgspec.to_builtins(snapshot)
    if not timelines:
        for row in data["sessions"]:
            row.pop("timeline", None)
    try:
        return orjson.dumps(data) + b"\n"
    except orjson.JSONEncodeError:
        # a string that is not Unicode (a file name's undecodable byte, as a lone
        # surrogate) slipped through: written escaped, never at the cost of the line
        return orjson.dumps(_printable(data)) + b"\n"


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_printable(item) for item in value]
    if isinstance(value, dict):
        return {printable(key): _printable(item) for key, item in value.items()}
    return value


def to_text(snapshot: Snapshot, width: int = DEFAULT_WIDTH) -> str:
    clock = time.strftime("%H:%M:%S", time.localtime(snapshot.now))
    parts: list[list[sections.Line]] = [
        sections.header(snapshot, width, clock),
        sections.windows_table(snapshot.windows, width, series=snapshot.series),
        # in the screen's default order: waiting sessions first, ended ones last
        sections.table(
            sections.session_columns(snapshot.now),
            sort_rows(snapshot.sessions, DEFAULT_SORT),
            width,
        ),
    ]
    if snapshot.tools:
        parts.append(sections.tools_table(snapshot.tools, width))
    if snapshot.models:
        parts.append(sections.models_table(snapshot.models, width))
    if len(snapshot.agents) > 1:  # with one agent, it would repeat the totals above
        parts.append(sections.agents_table(snapshot.agents, width))
    if snapshot.alerts:
        parts.append(sections.alert_lines(snapshot.alerts, width))
    blocks = ["\n".join(plain(line).rstrip() for line in part) for part in parts]
    return "\n\n".join(blocks) + "\n\n"


class BatchWriter:
    """Writes `count` frames (None: until stopped); returns False when done."""

    def __init__(
        self, out: TextIO, *, json: bool, count: int | None, width: int, timelines: bool = False
    ) -> None:
        self.out = out
        self.json = json
        self.timelines = timelines
        self.left = count
        self.width = width

    def __call__(self, snapshot: Snapshot) -> bool:
        if self.json:
            data = to_json(snapshot, timelines=self.timelines)
            binary = getattr(self.out, "buffer", None)
            if binary is not None:
                binary.write(data)
                binary.flush()
            else:
                self.out.write(data.decode())
        else:
            self.out.write(to_text(snapshot, self.width))
        self.out.flush()
        if self.left is not None:
            self.left -= 1
            return self.left > 0
        return True
