"""A tool call's input in a few safe words, for the timeline: a command's first words, a
file's name, a URL's host. Never more: prompts, file contents, patches and search queries
are not shown, and a summary is one short line of printable text whatever it came from.
Each provider decides which of its tools' fields to summarise; these say how, and in
which order one is preferred to another (`first_target`).
"""

from __future__ import annotations

import os
from typing import TypeVar

import msgspec

from aitop.surrogates import printable

T = TypeVar("T")

WIDTH = 40  # characters
WORDS = 4


def clean(text: str, width: int = WIDTH) -> str:
    """One line of printable text, at most `width` characters (cut with …)."""
    flat = " ".join(printable(text).split())  # newlines, tabs, control characters: spaces
    flat = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def command(text: str) -> str | None:
    """A shell command's first words (its first line): `npm test -- --watch` → `npm test --
    --watch`, `cd src && make all && ...` → `cd src && make`."""
    first = text.strip().split("\n", 1)[0]
    words = first.split()
    if not words:
        return None
    return clean(" ".join(words[:WORDS]))


def file_name(path: str) -> str | None:
    name = os.path.basename(path.rstrip("/")) if path else ""
    return clean(name) if name else None


def host(url: str) -> str | None:
    """`https://user@docs.example.com:8443/a?b` → `docs.example.com` (read by hand: no URL
    library, whose import would put a network module where none belongs)."""
    rest = url.partition("://")[2] or url
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    name = authority.rpartition("@")[2]
    name = name[1 : name.find("]")] if name.startswith("[") else name.partition(":")[0]
    return clean(name) if name else None


def pattern(text: str) -> str | None:
    """A search pattern (a glob, a regular expression), shortly."""
    return clean(text, 30) if text else None


def patched_files(patch: str) -> str | None:
    """The files an `apply_patch` patch names (`*** Add File: x`), not its lines."""
    names = []
    for line in patch.splitlines():
        for head in ("*** Add File: ", "*** Update File: ", "*** Delete File: "):
            if line.startswith(head):
                names.append(os.path.basename(line[len(head) :].strip()))
    return clean(", ".join(names)) if names else None


def first_target(
    *,
    shell: str | None = None,
    path: str | None = None,
    search: str | None = None,
    url: str | None = None,
    label: str | None = None,
) -> str | None:
    """A call's summary from what names what it works on, the first given in this order:
    a shell command (`command`), a file (`file_name`), a search pattern (`pattern`), a
    URL (`host`), a label such as a subagent's type (`clean`)."""
    if shell is not None:
        return command(shell)
    if path:
        return file_name(path)
    if search:
        return pattern(search)
    if url:
        return host(url)
    if label:
        return clean(label)
    return None


def decoded(decoder: msgspec.json.Decoder[T], raw: bytes) -> T | None:
    """A tool's input as it came, decoded, or None: anything that is not a JSON object of
    the decoder's type has no summary (and never an error)."""
    if not raw.startswith(b"{"):
        return None
    try:
        return decoder.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
