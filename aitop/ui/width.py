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


def printable(text: str) -> str:
    """`text` with control characters shown as `?`: names come from other programs'
    files, and an escape sequence in one must never reach the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def cut(text: str, width: int) -> str:
    """`text` cut to at most `width` cells, ending in … when something was cut.
    Control characters become `?` (see `printable`)."""
    if width <= 0:
        return ""
    text = printable(text)
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
    if len(text) <= width and text.isascii() and text.isprintable():  # the usual case
        return text.rjust(width) if right else text.ljust(width)
    text = cut(text, width)
    gap = " " * (width - display_width(text))
    return gap + text if right else text + gap


def cut_left(text: str, width: int) -> str:
    """`text` cut to at most `width` cells from the left: …/src/project."""
    text = printable(text)
    if display_width(text) <= width:
        return text
    if width <= 0:
        return ""
    out: list[str] = []
    used = 0
    for ch in reversed(text):
        w = max(0, wcwidth(ch))
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return ELLIPSIS + "".join(reversed(out))


def wrap(text: str, width: int, sep: str = " ") -> list[str]:
    """`text` in lines of at most `width` cells, broken at `sep` (a word longer than a
    line is cut)."""
    lines: list[str] = []
    current = ""
    for word in text.split(sep):
        candidate = f"{current}{sep}{word}" if current else word
        if display_width(candidate) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return [cut(line, width) for line in lines]
