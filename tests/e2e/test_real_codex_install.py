"""`aitop install --agent codex` against the real Codex CLI (npm `@openai/codex`, pinned):
after `--write`, `codex exec` runs aitop's hooks WITHOUT `--dangerously-bypass-hook-trust`
(a real `aitop -b --json` on the hooks' socket counts the frames), because aitop had Codex
itself trust them, and only them: the user's own hooks in the same file stay untrusted and
do not run. Without a `codex` to ask, `--check` reports the untrusted hooks; uninstall gives
the file back and has Codex forget aitop's trust, and nothing else.

The rig (codex_driver.py) gives each test its own CODEX_HOME whose hooks.json already holds
the user's hooks (a recorder for every documented event, untrusted), a mock API, and the
cached Codex; aitop runs as a real process with that CODEX_HOME.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aitop.providers.codex.hooks import HOOK_EVENTS

from .codex_driver import BYPASS_FLAG, DOCUMENTED_EVENTS, SYSTEM_PATH, CodexRig
from conftest import aitop_command
from support import Monitor, Snapshot, private_dir

pytestmark = [pytest.mark.real_codex, pytest.mark.slow]

MakeRig = Callable[..., CodexRig]
PROMPT = "Please run [shell:echo hi]"
# the hooks one such turn fires (tests/e2e/test_real_codex.py::TURN_EVENTS)
TURN_EVENTS = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Stop",
    "SessionEnd",
]


class Installer:
    """`aitop install --agent codex …` as the user runs it: their HOME and CODEX_HOME (the
    rig's), `codex` on PATH or not, and hooks that send to `socket`."""

    def __init__(self, rig: CodexRig, root: Path) -> None:
        self.rig = rig
        self.socket = private_dir(root / "run") / "aitop.sock"
        bin_dir = private_dir(root / "bin")
        (bin_dir / "codex").symlink_to(rig.codex_js)  # the npm wrapper, as npm links it
        self.with_codex = f"{bin_dir}:{os.path.dirname(rig.node)}:{SYSTEM_PATH}"
        self.without_codex = f"{os.path.dirname(rig.node)}:{SYSTEM_PATH}"

    def env(self, codex: bool = True) -> dict[str, str]:
        return {
            "HOME": str(self.rig.sandbox.home),
            "CODEX_HOME": str(self.rig.sandbox.codex_home),
            "PATH": self.with_codex if codex else self.without_codex,
            "AITOP_SOCKET": str(self.socket),
            "LANG": "C.UTF-8",
        }

    def run(self, *args: str, codex: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*aitop_command(), "install", "--agent", "codex", *args],
            env=self.env(codex),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def monitor(self) -> Monitor:
        monitor = Monitor(self.env(), "--codex-home", str(self.rig.sandbox.codex_home))
        monitor.wait_listening()
        return monitor


@pytest.fixture
def installer(make_codex_rig: MakeRig, tmp_path: Path) -> Iterator[Installer]:
    rig = make_codex_rig(trust="none", events=DOCUMENTED_EVENTS)
    yield Installer(rig, tmp_path / "aitop")


def _frames(snapshot: Snapshot) -> int:
    return int(snapshot["ingest"]["frames"])


def _codex_session(snapshot: Snapshot, session_id: str | None) -> bool:
    return any(
        s["agent"] == "codex" and s["session_id"] == session_id for s in snapshot["sessions"]
    )


def _aitop_command(rig: CodexRig) -> str:
    document = json.loads(rig.sandbox.hooks_json.read_text())
    commands = {
        hook["command"]
        for groups in document["hooks"].values()
        for group in groups
        for hook in group["hooks"]
        if "aitop" in hook["command"]
    }
    (command,) = commands
    return command


def test_after_install_write_codex_runs_aitops_hooks_without_the_bypass_flag(
    installer: Installer,
) -> None:
    rig = installer.rig
    done = installer.run("--write", "--socket", str(installer.socket))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "aitop install: Codex now trusts aitop's 12 hooks (Codex recorded it in"
        " ~/.codex/config.toml)"
    )
    ours = _aitop_command(rig)
    status = {(e["command"], e["trustStatus"]) for e in rig.hooks_list()}
    assert status == {(ours, "trusted"), (rig.sandbox.recorder_command(), "untrusted")}
    with installer.monitor() as monitor:
        run = rig.exec(PROMPT)
        assert BYPASS_FLAG not in run.argv and "dangerously" not in run.stderr
        snapshot = monitor.settle(
            lambda s: _frames(s) >= len(TURN_EVENTS) and _codex_session(s, run.session_id)
        )
        assert _codex_session(snapshot, run.session_id)
        assert _frames(snapshot) == len(TURN_EVENTS)
    assert rig.hook_payloads() == []  # the user's hooks: untrusted, so Codex skipped them
    checked = installer.run("--check")
    assert "ok: Codex trusts aitop's 12 hooks\n" in checked.stdout


def test_check_reports_the_untrusted_hooks_when_nothing_could_trust_them(
    installer: Installer,
) -> None:
    rig = installer.rig
    done = installer.run("--write", "--socket", str(installer.socket), codex=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "aitop install: Codex runs a new hook only once you trust it, and there is no `codex`"
        ' on PATH to ask: start codex and choose "Trust all and continue" (or review them with'
        " /hooks)"
    )
    checked = installer.run("--check")
    assert checked.returncode == 1
    events = ", ".join(HOOK_EVENTS)
    assert checked.stdout.splitlines()[2] == (
        f"problem: Codex does not trust aitop's 12 hooks ({events}), so it skips them without"
        " a word; run: aitop install --agent codex --write, or start codex and choose"
        ' "Trust all and continue" (or review them with /hooks)'
    )
    with installer.monitor() as monitor:
        rig.exec(PROMPT)
        assert _frames(monitor.next()) == 0 and _frames(monitor.next()) == 0
        # and the advice works
        again = installer.run("--write")
        assert again.returncode == 0, again.stderr
        run = rig.exec(PROMPT)
        snapshot = monitor.settle(lambda s: _frames(s) >= len(TURN_EVENTS))
        assert _frames(snapshot) == len(TURN_EVENTS)
        assert _codex_session(snapshot, run.session_id)


def test_uninstall_gives_the_file_back_and_codex_forgets_only_aitops_trust(
    installer: Installer,
) -> None:
    rig = installer.rig
    original = rig.sandbox.hooks_json.read_bytes()
    assert installer.run("--write").returncode == 0
    rig.trust_via_codex(rig.sandbox.recorder_command())  # the user trusts their own hooks
    keys = {e["key"]: e["trustStatus"] for e in rig.hooks_list()}
    assert set(keys.values()) == {"trusted"} and len(keys) == 2 * len(DOCUMENTED_EVENTS)
    done = installer.run("--uninstall", "--write")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "aitop install: Codex removed its trust records for aitop's 12 removed hooks from"
        " ~/.codex/config.toml"
    )
    assert rig.sandbox.hooks_json.read_bytes() == original
    config = rig.sandbox.config.read_text()
    remaining = {e["key"]: e["trustStatus"] for e in rig.hooks_list()}
    assert set(remaining.values()) == {"trusted"} and len(remaining) == len(DOCUMENTED_EVENTS)
    assert all(key in config for key in remaining)
    assert not any(key in config for key in set(keys) - set(remaining))
    rig.exec(PROMPT)
    assert [p["hook_event_name"] for p in rig.hook_payloads()] == TURN_EVENTS
