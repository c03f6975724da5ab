"""JSON written by JavaScript may hold lone UTF-16 surrogates (`"\\ud83d"`: a string cut in
the middle of an emoji, as tool output truncation does). msgspec refuses them even in
fields it skips, which would cost the whole line or frame; aitop never reads that text,
so on that failure the surrogates are made replacement characters and it tries again.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def without_surrogates(raw: bytes) -> bytes | None:
    """`raw` with every surrogate escape made U+FFFD; None when it has none."""
    if b"\\u" not in raw:
        return None
    fixed, count = _SURROGATE.subn(rb"\\ufffd", raw)
    return fixed if count else None
