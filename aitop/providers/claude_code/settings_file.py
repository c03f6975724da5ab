"""Claude Code's settings.json: the shape `aitop install` needs in it, read through the
shared reader and file writer (`aitop.providers.install.jsonfile`) in Claude Code's words.
"""

from __future__ import annotations

from typing import Any

from aitop.providers.claude_code.jsontext import CLAUDE_CODE
from aitop.providers.install.jsonfile import (
    NOTHING_WRITTEN,
    Loaded,
    ShapeError,
    encode,
    load,
    read_bytes,
    write,
)
from aitop.providers.install.jsontext import kind, quoted

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
    """Raise `ShapeError` unless aitop can walk and change these settings' hooks.

    Hook objects themselves are not checked: one that is not an object with an aitop
    `command` is someone else's, and is left exactly as it is.
    """
    if not isinstance(settings, dict):
        raise ShapeError((), f"the settings are {kind(settings)}, expected an object")
    if "hooks" not in settings:
        return
    hooks = settings["hooks"]
    if not isinstance(hooks, dict):
        raise ShapeError(("hooks",), f'"hooks" is {kind(hooks)}, expected an object of event names')
    for event, groups in hooks.items():
        where = f'"hooks".{quoted(event)}'
        if not isinstance(groups, list):
            raise ShapeError(
                ("hooks", event), f"{where} is {kind(groups)}, expected a list of matcher groups"
            )
        for index, group in enumerate(groups):
            if not isinstance(group, dict):
                raise ShapeError(
                    ("hooks", event, index),
                    f"{where}[{index}] is {kind(group)}, expected a matcher group object",
                )
            if "hooks" in group and not isinstance(group["hooks"], list):
                raise ShapeError(
                    ("hooks", event, index, "hooks"),
                    f'{where}[{index}]."hooks" is {kind(group["hooks"])}, expected a list',
                )


def load_settings(path: str) -> Loaded:
    """Read and check settings.json: an AitopError (exit 2, `file:line:col`) for anything wrong."""
    return load(path, CLAUDE_CODE, check_shape)
