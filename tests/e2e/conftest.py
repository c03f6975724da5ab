"""Fixtures for the real agent CLI tests: each binary (installed once, cached) and rigs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import codex_driver, driver, gemini_driver, opencode_driver


@pytest.fixture(scope="session")
def claude_binary() -> Path:
    """Claude Code, pinned, from the npm cache dir: a skip without npm/node, a failure
    when npm is there and the install does not work (CI has the registry)."""
    try:
        return driver.ensure_claude(driver.cache_dir())
    except driver.Unavailable as exc:
        pytest.skip(str(exc))
    except driver.InstallFailed as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def make_rig(tmp_path: Path, claude_binary: Path) -> Iterator[Callable[..., driver.Rig]]:
    rigs: list[driver.Rig] = []

    def make(**sandbox_options: Any) -> driver.Rig:
        rig = driver.Rig(tmp_path / f"rig{len(rigs)}", claude_binary, **sandbox_options)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


@pytest.fixture(scope="session")
def codex_js() -> Path:
    """Codex, pinned, from the npm cache dir (its npm wrapper `codex.js`): a skip without
    npm/node, a failure when npm is there and the install does not work."""
    try:
        return codex_driver.ensure_codex(codex_driver.cache_dir())
    except driver.Unavailable as exc:
        pytest.skip(str(exc))
    except driver.InstallFailed as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def make_codex_rig(
    tmp_path: Path, codex_js: Path
) -> Iterator[Callable[..., codex_driver.CodexRig]]:
    rigs: list[codex_driver.CodexRig] = []

    def make(**options: Any) -> codex_driver.CodexRig:
        rig = codex_driver.CodexRig(tmp_path / f"codex{len(rigs)}", codex_js, **options)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


@pytest.fixture(scope="session")
def opencode_binary() -> Path:
    """OpenCode, pinned, from the npm cache dir (its platform binary): a skip without
    npm/node, a failure when npm is there and the install does not work."""
    try:
        return opencode_driver.ensure_opencode(opencode_driver.cache_dir())
    except driver.Unavailable as exc:
        pytest.skip(str(exc))
    except driver.InstallFailed as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def make_opencode_rig(
    tmp_path: Path, opencode_binary: Path
) -> Iterator[Callable[..., opencode_driver.OpenCodeRig]]:
    rigs: list[opencode_driver.OpenCodeRig] = []

    def make(**options: Any) -> opencode_driver.OpenCodeRig:
        rig = opencode_driver.OpenCodeRig(tmp_path / f"oc{len(rigs)}", opencode_binary, **options)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


@pytest.fixture(scope="session")
def gemini_prefix() -> Path:
    """The npm prefix holding Gemini CLI, pinned (installed there once): a skip without
    npm/node, a failure when npm is there and the install does not work."""
    prefix = gemini_driver.cache_dir()
    try:
        gemini_driver.ensure_gemini(prefix)
    except driver.Unavailable as exc:
        pytest.skip(str(exc))
    except driver.InstallFailed as exc:
        pytest.fail(str(exc), pytrace=False)
    return prefix
