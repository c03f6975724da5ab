"""Shared by the bench scripts: timing, medians, and the `name: value` output lines."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def emit(name: str, value: object, unit: str = "") -> None:
    """One figure per line: `name: value [unit]`, easy to grep and to paste."""
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    print(f"{name}: {text}{(' ' + unit) if unit else ''}", flush=True)


def machine() -> None:
    emit(
        "machine",
        f"{platform.machine()} {os.cpu_count()} cores, {platform.system()} {platform.release()}",
    )
    emit("python", sys.version.split()[0])
    emit("date", time.strftime("%Y-%m-%d"))


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def aitop_script() -> str:
    """The installed `aitop` script next to this interpreter: what `aitop install` writes."""
    script = Path(sys.executable).parent / "aitop"
    if not script.exists():
        raise SystemExit(
            "bench: the aitop script is not installed next to this Python; pip install . first"
        )
    return str(script)
