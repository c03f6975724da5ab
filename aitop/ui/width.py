"""Display width: wide (CJK) characters take two cells, combining marks none.

Measured with `wcwidth`, the table blessed itself uses (it comes with blessed), so a
cut line is exactly as wide on screen as the layout planned.
"""

from __future__ import annotations

from functools import lru_cache

from wcwidth import wcwidth

ELLIPSIS = "…"


@lru_cache(maxsize=4096)
def display_width(text: str) -> int:
    if text.isascii() and text.isprintable():
        return len(text)
    return sum(max(0, wcwidth(ch)) for ch in text)


def cut(text: str, width: int) -> str:
    """`text` cut to at most `width` cells, ending in … when something was cut."""
    if width <= 0:
        return ""
    if display_width(text) <= width:
        return text
    out = []
    used = 0
    for ch in text:
        w = max(0, wcwidth(ch))
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def pad(text: str, width: int, right: bool = False) -> str:
    """`text` cut or padded with spaces to exactly `width` cells."""
    text = cut(text, width)
    gap = " " * (width - display_width(text))
    return gap + text if right else text + gap
