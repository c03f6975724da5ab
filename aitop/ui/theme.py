"""Colour schemes: semantic roles → blessed style names, one table per theme.

Pure data plus the rule that picks a theme; only the screen turns a style name into
escape sequences. The monochrome scheme uses attributes only (bold, underline,
reverse), so NO_COLOR and monochrome terminals still see thresholds and the selection.
"""

from __future__ import annotations

from collections.abc import Mapping

# "orange" is colour 208 on 256-colour terminals; with 8 colours it falls back to yellow
ORANGE = "orange"

DEFAULT: Mapping[str, str] = {
    "title": "bold",
    "head": "black_on_green",
    "head_sort": "black_on_cyan",
    "label": "cyan",
    "good": "green",
    "warn": ORANGE,
    "bad": "bold_red",
    "waiting": "black_on_yellow",
    "dim": "bright_black",
    "money": "",
    "spark": "cyan",
    "bar": "green",
    "alert": "red",
    "alert_critical": "bold_red",
    "selected": "reverse",
    "tab": "",
    "tab_on": "black_on_cyan",
    "key": "bold",
    "keylabel": "black_on_cyan",
    "paused": "black_on_yellow",
    "notice": "bold",
    "error": "bold_white_on_red",
    "section": "bold",
}

MONO: Mapping[str, str] = {
    "title": "bold",
    "head": "bold_underline",
    "head_sort": "bold_reverse",
    "label": "",
    "good": "",
    "warn": "bold",
    "bad": "bold_underline",
    "waiting": "bold_underline",
    "dim": "",
    "money": "",
    "spark": "",
    "bar": "",
    "alert": "bold",
    "alert_critical": "bold_underline",
    "selected": "reverse",
    "tab": "",
    "tab_on": "reverse",
    "key": "bold",
    "keylabel": "reverse",
    "paused": "reverse",
    "notice": "bold",
    "error": "bold_reverse",
    "section": "bold",
}

THEMES: Mapping[str, Mapping[str, str]] = {"default": DEFAULT, "mono": MONO}


def choose(configured: str, environ: Mapping[str, str], colors: int) -> str:
    """The theme to use: the configured one, unless the terminal or the user says no
    colour (NO_COLOR set to anything, TERM=dumb, fewer than 8 colours)."""
    if environ.get("NO_COLOR", "") != "":
        return "mono"
    if environ.get("TERM", "") == "dumb" or colors < 8:
        return "mono"
    return configured if configured in THEMES else "default"
