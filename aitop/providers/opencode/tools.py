"""OpenCode's tool inputs, in a few safe words for the timeline (see providers/summary.py):
only the fields that name what a call works on are read (OpenCode 1.18.33's tool schemas:
`bash{command}`, `read`/`write`/`edit{filePath}`, `glob`/`grep{pattern}`, `webfetch{url}`,
`task{subagent_type}`); prompts, contents and edits never."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from aitop.providers import summary

Text = Annotated[str, Meta(max_length=100_000)]


class ToolInput(Struct):
    command: Text | None = None
    filePath: Text | None = None
    pattern: Text | None = None
    url: Text | None = None
    subagent_type: Text | None = None


_decoder = msgspec.json.Decoder(ToolInput)


def summarize(name: str, given: ToolInput | None) -> str | None:
    if given is None:
        return None
    return summary.first_target(
        shell=given.command if name == "bash" else None,
        path=given.filePath,
        search=given.pattern,
        url=given.url,
        label=given.subagent_type,
    )


def summarize_raw(name: str, raw: bytes) -> str | None:
    """From a tool part's `state.input` as it is stored (anything: a bad one has none)."""
    return summarize(name, summary.decoded(_decoder, raw))
