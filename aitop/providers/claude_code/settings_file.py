"""Claude Code's settings.json: the shape `aitop install` needs in it, read through the
shared reader and file writer (`aitop.providers.install.jsonfile`) in Claude Code's words.
"""

from __future__ import annotations

from typing import Any

from aitop.providers.claude_code.jsontext import CLAUDE_CODE
from aitop.providers.install import matcher_groups
from aitop.providers.install.jsonfile import (
    NOTHING_WRITTEN,
    Loaded,
    ShapeError,
    encode,
    load,
    read_bytes,
    write,
)

__all__ = [
    "NOTHING_WRITTEN",
    "Loaded",
    "ShapeError",
    "check_shape",
    "encode_settings",
    "load_settings",
    "read_settings_bytes",
    "write_settings",
]

encode_settings = encode
read_settings_bytes = read_bytes
write_settings = write


def check_shape(settings: Any) -> None:
    """Raise `ShapeError` unless aitop can walk and change these settings' hooks (the
    shape every agent with matcher groups shares: `install.matcher_groups`)."""
    matcher_groups.check_shape(settings, "the settings are")


def load_settings(path: str) -> Loaded:
    """Read and check settings.json: an AitopError (exit 2, `file:line:col`) for anything wrong."""
    return load(path, CLAUDE_CODE, check_shape)
