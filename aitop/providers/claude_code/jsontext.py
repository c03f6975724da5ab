"""Claude Code's settings as JSON text: the shared reader and writer
(`aitop.providers.install.jsontext`), with Claude Code named in its errors."""

from __future__ import annotations

from typing import Any

from aitop.providers.install.jsontext import (
    JsonObject,
    JsonPath,
    JsonSyntaxError,
    RawNumber,
    Reader,
    compact,
    dump,
    line_and_column,
    parse,
    quoted,
)

__all__ = [
    "CLAUDE_CODE",
    "JsonPath",
    "RawNumber",
    "Settings",
    "SettingsSyntaxError",
    "compact",
    "dump_settings",
    "line_and_column",
    "parse_settings",
    "quoted",
]

# Claude Code reads settings.json with `JSON.parse`, which keeps the last of two equal keys
CLAUDE_CODE = Reader("Claude Code", "Claude Code would silently use only the last")

Settings = JsonObject
SettingsSyntaxError = JsonSyntaxError
dump_settings = dump


def parse_settings(text: str) -> tuple[Any, dict[JsonPath, int]]:
    """The value in `text` and where each value starts; `SettingsSyntaxError` if unusable."""
    return parse(text, CLAUDE_CODE)
