"""What aitop can tell about its own set-up: the Claude directory at start-up, whether
the hooks are installed and where they send, transcripts written elsewhere. Each case
is a diagnostic with the exact fix; the wrong ones are alerts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aitop.errors import AitopError
from aitop.providers.claude_code.install import hook_socket
from aitop.providers.claude_code.setup import Setup
from aitop.providers.claude_code.transcript import tailer as claude_tailer
from aitop.providers.registry import AGENTS

check_claude_dir = AGENTS["claude-code"].check_directory


def test_a_claude_dir_that_cannot_be_one_is_one_line_at_start_up(tmp_path: Path) -> None:
    check_claude_dir(str(tmp_path), given=True)  # fine
    check_claude_dir(str(tmp_path / "missing"), given=False)  # the default: not yet
    with pytest.raises(AitopError) as error:
        check_claude_dir(str(tmp_path / "missing"), given=True)
    assert error.value.line() == (
        f"aitop: error: --claude-dir {tmp_path}/missing: no such directory; give --claude-dir"
        " the directory Claude Code writes to: its $CLAUDE_CONFIG_DIR, ~/.claude by default"
    )
    afile = tmp_path / "file"
    afile.write_text("")
    for given in (True, False):
        with pytest.raises(AitopError, match="is not a directory"):
            check_claude_dir(str(afile), given=given)


@pytest.mark.parametrize(
    ("command", "socket"),
    [
        ("/usr/bin/aitop hook", None),
        ("/usr/bin/aitop hook --socket /run/a.sock", "/run/a.sock"),
        ("/usr/bin/aitop hook --socket=/run/b.sock", "/run/b.sock"),
        ("'/opt/my tools/aitop' hook --socket '/run/my sock'", "/run/my sock"),
        ("/venv/bin/python -m aitop hook --socket /run/c.sock", "/run/c.sock"),
        ("echo --socket /x", None),
    ],
)
def test_the_socket_a_hook_command_sends_to(command: str, socket: str | None) -> None:
    assert hook_socket(command) == socket


def settings(claude: Path, *commands: str) -> None:
    claude.mkdir(parents=True, exist_ok=True)
    hooks = {"Stop": [{"hooks": [{"type": "command", "command": c} for c in commands]}]}
    (claude / "settings.json").write_text(json.dumps({"hooks": hooks}))


def notes(
    setup: Setup, frames: int = 0, outside: dict[str, int] | None = None
) -> dict[str, tuple[str, str]]:
    return {d.id: (d.severity, d.message) for d in setup.diagnostics(frames, 0, outside or {})}


def test_the_empty_screen_says_what_was_and_was_not_seen(tmp_path: Path) -> None:
    home = tmp_path / "home"
    claude = home / ".claude"
    ours = str(home / ".aitop" / "aitop.sock")
    setup = Setup(str(claude), ours, {"HOME": str(home)})
    found = notes(setup)
    assert found["claude-code:no-dir"][0] == "info"
    assert "~/.claude does not exist yet" in found["claude-code:no-dir"][1]
    assert found["claude-code:hooks"] == (
        "info",
        "aitop's hooks are not in ~/.claude/settings.json: run 'aitop install --write' (without"
        " them aitop sees no waiting sessions, turns or tool durations).",
    )
    assert found["claude-code:transcripts"][1] == (
        "Claude Code transcripts: none written in the last 15 minutes under ~/.claude/projects."
    )
    # installed: no longer "run install" (the old empty screen said so after it was run)
    settings(claude, "/usr/bin/aitop hook")
    found = notes(setup)
    assert "no-dir" not in " ".join(found)
    assert found["claude-code:hooks"][0] == "info"
    assert "none has run yet" in found["claude-code:hooks"][1]
    assert "aitop install" not in found["claude-code:hooks"][1]
    assert (
        notes(setup, frames=3)["claude-code:hooks"][1]
        == "aitop's hooks are in ~/.claude/settings.json."
    )


def test_hooks_that_send_to_another_socket_are_a_warning_with_both_fixes(tmp_path: Path) -> None:
    claude = tmp_path / ".claude"
    settings(claude, "/usr/bin/aitop hook --socket /run/other.sock")
    setup = Setup(str(claude), "/run/mine.sock", {"HOME": str(tmp_path)})
    severity, message = notes(setup)["claude-code:hooks-socket"]
    assert severity == "warning"
    assert message == (
        "the hooks in ~/.claude/settings.json send to /run/other.sock, but this aitop listens"
        " on /run/mine.sock: start aitop with --socket /run/other.sock, or run"
        " 'aitop install --write --socket /run/mine.sock'"
    )
    # hooks without --socket reach a monitor elsewhere only through AITOP_SOCKET
    settings(claude, "/usr/bin/aitop hook")
    severity, message = notes(setup)["claude-code:hooks-socket"]
    assert severity == "warning" and "AITOP_SOCKET=/run/mine.sock" in message
    assert "claude-code:hooks-socket" not in notes(setup, frames=1)  # they arrive: it works


def test_unreadable_settings_are_said_not_rewritten(tmp_path: Path) -> None:
    claude = tmp_path / ".claude"
    claude.mkdir()
    (claude / "settings.json").write_text("{ not json")
    severity, message = notes(Setup(str(claude), "/s", {}))["claude-code:hooks"]
    assert severity == "info" and message.startswith(f"Cannot read {claude}/settings.json:1:")
    assert (claude / "settings.json").read_text() == "{ not json"


def test_transcripts_outside_the_watched_directory_are_critical_with_the_fix(
    tmp_path: Path,
) -> None:
    """A CLAUDE_CONFIG_DIR mismatch: hooks name transcripts aitop does not read."""
    claude = tmp_path / ".claude"
    tailer = claude_tailer(str(claude / "projects"))
    elsewhere = tmp_path / "work-claude"
    assert not tailer.watch(f"{elsewhere}/projects/-src-web/s1.jsonl", "s1")
    assert not tailer.watch(
        f"{elsewhere}/projects/-src-web/s1/subagents/agent-a1.jsonl", "s1", "a1"
    )
    assert not tailer.watch("relative/s2.jsonl", "s2")  # unsafe, not "elsewhere"
    assert tailer.outside == {str(elsewhere): 2}
    found = notes(Setup(str(claude), "/s", {}), outside=tailer.outside)
    severity, message = found[f"claude-code:outside:{elsewhere}"]
    assert severity == "critical"
    assert message.endswith(f"show no tokens and $0; restart aitop with --claude-dir {elsewhere}")
    assert "writes 2 transcripts under" in message


def test_the_empty_screen_stops_saying_install_once_installed(tmp_path: Path) -> None:
    from aitop.ui.render import render
    from aitop.ui.sections import plain
    from aitop.ui.view import View

    from ui_support import fixture_snapshot

    def screen() -> str:
        snap = fixture_snapshot(tmp_path, sessions=False, busy=False)
        return "\n".join(plain(line) for line in render(snap, View(), 100, 30))

    assert "run 'aitop install --write'" in screen()
    settings(tmp_path / ".claude", "/usr/bin/aitop hook")
    text = screen()
    assert "aitop install" not in text
    assert "0 hook events received" in text and "none has run yet" in text
