"""Shared test helpers: where the real Claude Code captures live, and small builders."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, settings

from aitop.events import Usage

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


def pytest_configure(config: pytest.Config) -> None:
    # Pricer.load() reads the user's price overlay (`aitop prices --update`) from the cache
    # directory: every test prices with the shipped table, whatever this machine has cached.
    cache = tempfile.mkdtemp(prefix="aitop-test-cache-")
    config.stash[_CACHE_KEY] = cache
    os.environ["XDG_CACHE_HOME"] = cache


def pytest_unconfigure(config: pytest.Config) -> None:
    cache = config.stash.get(_CACHE_KEY, None)
    if cache is not None:
        shutil.rmtree(cache, ignore_errors=True)


_CACHE_KEY = pytest.StashKey[str]()


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


class MockResponse(NamedTuple):
    """One response the mock Anthropic API returned (from its request log)."""

    session_id: str  # Claude Code's x-claude-code-session-id header
    model: str
    usage: Usage
    compaction: bool  # the summary request of a /compact, which no transcript records


def api_usage(usage: dict[str, Any]) -> Usage:
    """The API's usage object as aitop's Usage: cache writes split by lifetime, all
    5-minute ones when the response gives no split."""
    cache = usage.get("cache_creation") or {}
    return Usage(
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        cache_read_tokens=usage["cache_read_input_tokens"],
        cache_write_5m_tokens=cache.get(
            "ephemeral_5m_input_tokens", usage["cache_creation_input_tokens"]
        ),
        cache_write_1h_tokens=cache.get("ephemeral_1h_input_tokens", 0),
    )


def mock_responses(log: Path) -> list[MockResponse]:
    """Every response with a body, in order; HTTP errors spent nothing and are left out."""
    out = []
    for line in log.read_text().splitlines():
        request = json.loads(line)
        if "msg_id" in request:
            out.append(
                MockResponse(
                    session_id=request["headers"]["x-claude-code-session-id"],
                    model=request["model"],
                    usage=api_usage(request["usage"]),
                    compaction=request["reply"] == "compact_summary",
                )
            )
    return out


@pytest.fixture(scope="module")
def utc() -> Iterator[None]:
    """Local time pinned to UTC (the screen's clock shows local time): for golden frames."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()
