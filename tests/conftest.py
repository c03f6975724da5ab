"""Shared test helpers: where the real Claude Code captures live, and small builders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "claude-code"
SESSIONS = FIXTURES / "sessions"
PAYLOADS = FIXTURES / "hook-payloads"

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.register_profile(
    "ci", deadline=None, suppress_health_check=list(HealthCheck), max_examples=200
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def fixture_sessions() -> list[Path]:
    return sorted(p for p in SESSIONS.iterdir() if p.is_dir())


@pytest.fixture
def python() -> str:
    return sys.executable


def aitop_command() -> list[str]:
    """The installed `aitop` script (what `aitop install` writes into the hooks)."""
    script = Path(sys.executable).parent / "aitop"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "aitop"]
