"""How numbers read on screen and in batch text: short, aligned, never misleading.

Pure functions of their inputs; shared by the screen and by `aitop -b`.
"""

from __future__ import annotations

import math

from aitop.providers.registry import label

SPARK = "▁▂▃▄▅▆▇█"
DASH = "–"


def count(n: int) -> str:
    """12, 1,234, 12.3k, 1.23M: at most six characters."""
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1000:.1f}k" if n < 100_000 else f"{n / 1000:.0f}k"
    if n < 1_000_000_000:
        return f"{n / 1e6:.2f}M" if n < 10_000_000 else f"{n / 1e6:.1f}M"
    return f"{n / 1e9:.2f}G"


def usd(value: float, estimated: bool = False) -> str:
    """$0.0012, $0.13, $12.34, $1,234, $12.3k; `≈` in front of an estimate."""
    mark = "≈" if estimated else ""
    if value == 0:
        return f"{mark}$0"
    if abs(value) < 0.01:
        return f"{mark}${value:.4f}"
    if abs(value) < 1000:
        return f"{mark}${value:,.2f}"
    if abs(value) < 100_000:
        return f"{mark}${value:,.0f}"
    return f"{mark}${value / 1000:,.1f}k"


def rate(value: float, unit: str = "") -> str:
    if value == 0:
        return "0" + unit
    if value < 10:
        return f"{value:.1f}{unit}"
    return count(round(value)) + unit


def percent(fraction: float | None) -> str:
    if fraction is None or math.isnan(fraction):
        return DASH
    if 0 < fraction < 0.01:
        return "<1%"
    return f"{fraction:.0%}"


def millis(ms: float | None) -> str:
    if ms is None:
        return DASH
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    return f"{ms / 60_000:.1f}m"


def age(seconds: float) -> str:
    """How long ago: 5s, 3m, 2h, 4d."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    if seconds < 86_400:
        return f"{seconds // 3600:.0f}h"
    return f"{seconds // 86_400:.0f}d"


def duration(seconds: float) -> str:
    """Uptime as top writes it, so that `1:06` reads as an hour and six minutes:
    42s, 12 min, 1:06, 2d 3:04."""
    seconds = int(max(0.0, seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}:{minutes:02d}"
    if hours:
        return f"{hours}:{minutes:02d}"
    if minutes:
        return f"{minutes} min"
    return f"{seconds}s"


def sparkline(values: list[float]) -> str:
    """One character per value, scaled to the largest; blanks for zero."""
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    out = []
    for value in values:
        if value <= 0:
            out.append(" ")
        else:
            out.append(SPARK[min(len(SPARK) - 1, int(value / top * (len(SPARK) - 1) + 0.5))])
    return "".join(out)


def bar(fraction: float, width: int) -> str:
    """A fill bar of `width` cells: █ for full cells, ▏..▉ for the last partial one."""
    if width <= 0:
        return ""
    fraction = min(1.0, max(0.0, fraction))
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if part and full < width else ""
    return ("█" * full + partial).ljust(width)


def model(name: str | None) -> str:
    """A model id without the vendor prefix all of a vendor's ids share: opus-5-5,
    sonnet-4-5. Anthropic's `claude-` is the vendor's naming, not an agent's: the same
    model reads the same in a Claude Code, an OpenCode or any other agent's row."""
    if not name:
        return DASH
    return name.removeprefix("claude-")


def agent(name: str) -> str:
    """How the screen names an agent: `claude`, `codex` (the registry's labels)."""
    return label(name)
