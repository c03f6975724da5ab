"""Watching a monitor over its socket: the request, and the stream that answers it.

A client of the same user connects and sends `WATCH_REQUEST`, keeping its side of the
connection open (closing it is how a viewer leaves). The monitor answers with lines: a
hello control line, the latest snapshot, then one snapshot per tick (the `aitop -b
--json` schema), until either side goes; a monitor that stops says so in a last control
line. Control lines start with `AITOP/1 `, like a hook frame's envelope; every other line
is a snapshot.
"""

from __future__ import annotations

import msgspec
from msgspec import Struct

from aitop.wire import ENVELOPE_PREFIX

WATCH_REQUEST = ENVELOPE_PREFIX + b'{"watch":1}\n'
STREAM_VERSION = 1


class Control(Struct, frozen=True, omit_defaults=True):
    """A control line's object: a hello (`watching`), a goodbye (`bye`) or a refusal."""

    watching: int | None = None  # the stream's version
    pid: int | None = None  # the monitor's process
    version: str | None = None  # aitop's
    interval: float | None = None  # seconds between the monitor's ticks
    bye: str | None = None  # the monitor stops, and why
    refused: str | None = None  # no stream, and why


_decoder = msgspec.json.Decoder(Control)


def control_line(control: Control) -> bytes:
    return ENVELOPE_PREFIX + msgspec.json.encode(control) + b"\n"


def is_control(line: bytes) -> bool:
    return line.startswith(ENVELOPE_PREFIX)


def parse_control(line: bytes) -> Control | None:
    """The control line's object; None when it is not one aitop can read."""
    try:
        return _decoder.decode(line[len(ENVELOPE_PREFIX) :])
    except (msgspec.DecodeError, RecursionError):
        return None
