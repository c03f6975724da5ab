"""Claude Code's tool inputs, in a few safe words for the timeline (see providers/summary.py):
only the fields that name what a call works on are read; prompts, contents and edits never."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from aitop.providers import summary

Text = Annotated[str, Meta(max_length=100_000)]


class ToolInput(Struct):
    command: Text | None = None  # Bash
    file_path: Text | None = None  # Read, Write, Edit, MultiEdit
    notebook_path: Text | None = None  # NotebookEdit
    pattern: Text | None = None  # Grep, Glob
    url: Text | None = None  # WebFetch
    subagent_type: Text | None = None  # Agent (Task before it)


_decoder = msgspec.json.Decoder(ToolInput)


def summarize(name: str, given: ToolInput | None) -> str | None:
    if given is None:
        return None
    return summary.first_target(
        shell=given.command if name == "Bash" else None,
        path=given.file_path or given.notebook_path,
        search=given.pattern,
        url=given.url,
        label=given.subagent_type,
    )


def summarize_raw(name: str, raw: bytes) -> str | None:
    """From a hook's `tool_input` as it came (anything: a bad one has no summary)."""
    return summarize(name, summary.decoded(_decoder, raw))
