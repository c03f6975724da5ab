"""Fixtures for the real agent CLI tests: each binary (installed once, cached) and rigs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from . import codex_driver, driver, gemini_driver, opencode_driver


def _installed(ensure: Callable[[Path], Path], prefix: Path) -> Path:
    """An agent's CLI, pinned, from its npm cache dir: a skip without npm/node, a failure
    when npm is there and the install does not work (CI has the registry)."""
    try:
        return ensure(prefix)
    except driver.Unavailable as exc:
        pytest.skip(str(exc))
    except driver.InstallFailed as exc:
        pytest.fail(str(exc), pytrace=False)


class _Closable(Protocol):
    def close(self) -> None: ...


R = TypeVar("R", bound=_Closable)


def _rigs(make_one: Callable[[int, Any], R]) -> Iterator[Callable[..., R]]:
    """A test's rig maker (the n-th rig of the test, its options); every rig it made is
    closed after the test."""
    rigs: list[R] = []

    def make(**options: Any) -> R:
        rig = make_one(len(rigs), options)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


@pytest.fixture(scope="session")
def claude_binary() -> Path:
    return _installed(driver.ensure_claude, driver.cache_dir())


@pytest.fixture
def make_rig(tmp_path: Path, claude_binary: Path) -> Iterator[Callable[..., driver.Rig]]:
    yield from _rigs(lambda n, o: driver.Rig(tmp_path / f"rig{n}", claude_binary, **o))


@pytest.fixture(scope="session")
def codex_js() -> Path:
    """Codex's npm wrapper `codex.js`."""
    return _installed(codex_driver.ensure_codex, codex_driver.cache_dir())


@pytest.fixture
def make_codex_rig(
    tmp_path: Path, codex_js: Path
) -> Iterator[Callable[..., codex_driver.CodexRig]]:
    yield from _rigs(lambda n, o: codex_driver.CodexRig(tmp_path / f"codex{n}", codex_js, **o))


@pytest.fixture(scope="session")
def opencode_binary() -> Path:
    """OpenCode's platform binary."""
    return _installed(opencode_driver.ensure_opencode, opencode_driver.cache_dir())


@pytest.fixture
def make_opencode_rig(
    tmp_path: Path, opencode_binary: Path
) -> Iterator[Callable[..., opencode_driver.OpenCodeRig]]:
    yield from _rigs(
        lambda n, o: opencode_driver.OpenCodeRig(tmp_path / f"oc{n}", opencode_binary, **o)
    )


@pytest.fixture(scope="session")
def gemini_prefix() -> Path:
    """The npm prefix holding Gemini CLI (installed there once)."""
    prefix = gemini_driver.cache_dir()
    _installed(gemini_driver.ensure_gemini, prefix)
    return prefix
