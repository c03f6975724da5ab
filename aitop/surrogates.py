"""Text that is not valid Unicode, from two places.

JSON written by JavaScript may hold lone UTF-16 surrogates (`"\\ud83d"`: a string cut in
the middle of an emoji, as tool output truncation does). msgspec refuses them even in
fields it skips, which would cost the whole line or frame; aitop never reads that text,
so on that failure the surrogates are made replacement characters and it tries again.

File names are bytes: Python gives an undecodable byte as a lone surrogate
(`surrogateescape`), which JSON, the terminal and the log cannot carry. Where a name
becomes something aitop shows (a session id from a transcript's name), `printable`
writes each such byte as `\\xNN`, as `ls -b` does: readable, and still one name per file.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def without_surrogates(raw: bytes) -> bytes | None:
    """`raw` with every surrogate escape made U+FFFD; None when it has none."""
    if b"\\u" not in raw:
        return None
    fixed, count = _SURROGATE.subn(rb"\\ufffd", raw)
    return fixed if count else None


def printable(text: str) -> str:
    """`text` with each byte that was not UTF-8 written as `\\xNN`; `text` itself when
    it is clean (the common case costs one check)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape" if _escaped_only(text) else "surrogatepass")
        return raw.decode("utf-8", "backslashreplace")
    return text


def _escaped_only(text: str) -> bool:
    """Every surrogate in `text` is one of `surrogateescape`'s (U+DC80..U+DCFF)."""
    return all(not "\ud800" <= ch <= "\udfff" or "\udc80" <= ch <= "\udcff" for ch in text)


def printable_data(value: Any) -> Any:
    """JSON-ready data with every string (keys too) made `printable`."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [printable_data(item) for item in value]
    if isinstance(value, dict):
        return {printable(key): printable_data(item) for key, item in value.items()}
    return value
