"""What the Gemini CLI provider says about its set-up (aitop/providers/gemini/setup.py): only
where Gemini CLI is used, each problem with its fix."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gemini_support import ENVELOPE

from aitop.providers.gemini import install as inst
from aitop.providers.gemini.hooks import HOOK_EVENTS
from aitop.providers.gemini.provider import Gemini
from aitop.providers.gemini.setup import Setup


def provider(gemini_dir: Path, socket: Path) -> Gemini:
    return Gemini(str(gemini_dir), Setup(str(gemini_dir), str(socket), {"HOME": "/nowhere"}))


def notes(gemini: Gemini) -> dict[str, tuple[str, str]]:
    return {d.id: (d.severity, d.message) for d in gemini.diagnostics(0)}


def install(gemini_dir: Path, command: str, **extra: object) -> None:
    settings, _ = inst.install_hooks({}, command, HOOK_EVENTS)
    gemini_dir.mkdir(exist_ok=True)
    (gemini_dir / "settings.json").write_text(json.dumps({**settings, **extra}))


def test_nothing_is_said_where_gemini_cli_is_not_used(tmp_path: Path) -> None:
    assert notes(provider(tmp_path / ".gemini", tmp_path / "s.sock")) == {}


def test_missing_hooks_then_installed(tmp_path: Path) -> None:
    gemini_dir = tmp_path / ".gemini"
    gemini_dir.mkdir()
    gemini = provider(gemini_dir, tmp_path / "s.sock")
    said = notes(gemini)
    assert said["gemini:hooks"][0] == "info"
    assert "run 'aitop install --agent gemini --write'" in said["gemini:hooks"][1]
    assert said["gemini:chats"][1].startswith("Gemini CLI chat files: none written")
    install(gemini_dir, "/bin/aitop hook --agent gemini")
    assert notes(gemini)["gemini:hooks"] == (
        "info",
        f"aitop's hooks are in {gemini_dir}/settings.json.",
    )


def test_switched_off_hooks_and_another_socket_are_warnings(tmp_path: Path) -> None:
    gemini_dir = tmp_path / ".gemini"
    install(gemini_dir, "/bin/aitop hook --agent gemini", hooksConfig={"enabled": False})
    gemini = provider(gemini_dir, tmp_path / "s.sock")
    severity, message = notes(gemini)["gemini:hooks"]
    assert severity == "warning" and '"enabled" to true' in message
    install(gemini_dir, "/bin/aitop hook --agent gemini --socket /other.sock")
    severity, message = notes(gemini)["gemini:hooks-socket"]
    assert severity == "warning" and "/other.sock" in message and "--socket" in message


def test_chat_files_written_elsewhere_are_critical_with_the_option_to_pass(tmp_path: Path) -> None:
    gemini_dir = tmp_path / ".gemini"
    gemini_dir.mkdir()
    gemini = provider(gemini_dir, tmp_path / "s.sock")
    elsewhere = tmp_path / "other" / ".gemini" / "tmp" / "p" / "chats" / "session-x.jsonl"
    frame = {
        "session_id": "s1",
        "transcript_path": str(elsewhere),
        "cwd": "/p",
        "hook_event_name": "BeforeAgent",
        "prompt": "hi",
    }
    gemini.decode(json.dumps(frame).encode(), ENVELOPE, time.time())
    severity, message = notes(gemini)[f"gemini:outside:{tmp_path / 'other' / '.gemini'}"]
    assert severity == "critical"
    assert message.endswith(f"restart aitop with --gemini-dir {tmp_path / 'other' / '.gemini'}")
