"""Gemini CLI's tool arguments, in a few safe words for the timeline (see
providers/summary.py): only the fields that name what a call works on are read; prompts,
file contents, edits and search queries never. Gemini CLI 0.61.0's own tools:
run_shell_command (`command`), read_file/write_file/replace (`file_path`), list_directory
(`dir_path`), glob/grep_search (`pattern`), web_fetch (a `prompt` holding URLs: not shown),
invoke_agent (`agent_name`)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from aitop.providers import summary

Text = Annotated[str, Meta(max_length=100_000)]


class ToolArgs(Struct):
    command: Text | None = None
    file_path: Text | None = None
    dir_path: Text | None = None
    pattern: Text | None = None
    agent_name: Text | None = None


_decoder = msgspec.json.Decoder(ToolArgs)


def decode_args(raw: bytes) -> ToolArgs | None:
    """A call's `args` as they came (anything: bad ones are None)."""
    return summary.decoded(_decoder, raw)


def summarize(name: str, args: ToolArgs | None) -> str | None:
    if args is None:
        return None
    return summary.first_target(
        shell=args.command if name == "run_shell_command" else None,
        path=args.file_path or args.dir_path,
        search=args.pattern,
        label=args.agent_name,
    )
