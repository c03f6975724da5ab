"""`aitop install --statusline`: Claude Code's one `statusLine` key, with install's
guarantees. The user's own status line command is kept, chained (its output is still what
Claude Code shows), said in words, and `--uninstall` restores it exactly; nothing else in
the file changes; a status line aitop cannot read is never written over."""

from __future__ import annotations

import io
import json
import shlex
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitop import install_command
from aitop.cli import main
from aitop.env import Env
from aitop.providers.claude_code import install as inst
from aitop.providers.claude_code import jsontext
from aitop.providers.claude_code.settings_file import ShapeError
from aitop.providers.claude_code.statusline_install import (
    install_statusline,
    parse_ours,
    statusline_command,
    uninstall_statusline,
)
from aitop.statusline import _parse_args

OWN = "/opt/aitop/bin/aitop statusline"
MOVED = "/usr/local/bin/aitop statusline"


def same(a: Any, b: Any) -> bool:
    """Equal including key order (dict == ignores it)."""
    return jsontext.dump_settings(a) == jsontext.dump_settings(b)


def runs(command: str) -> str | None:
    """The user command `aitop statusline` would run, after the shell split `command`
    (what Claude Code runs) into its arguments."""
    words = shlex.split(command)
    at = next(i for i in range(len(words) - 1) if words[i + 1] == "statusline")
    _socket, chained = _parse_args(words[at + 2 :])
    return chained if "--" in words[at + 2 :] else None


# --- the merge, pure ---------------------------------------------------------------------


def test_no_status_line_gets_aitops() -> None:
    result, change = install_statusline({"model": "opus"}, OWN)
    assert same(result, {"model": "opus", "statusLine": {"type": "command", "command": OWN}})
    assert change.kind == "added"
    back, change = uninstall_statusline(result)
    assert same(back, {"model": "opus"}) and change.kind == "removed"


def test_the_users_command_is_chained_and_restored_exactly() -> None:
    theirs = {"type": "command", "command": '~/.claude/line.sh "$PWD" | cut -c1-80', "padding": 0}
    settings = {"statusLine": theirs, "permissions": {"allow": ["Bash"]}}
    result, change = install_statusline(settings, OWN)
    line = result["statusLine"]
    assert list(line) == ["type", "command", "padding"] and line["padding"] == 0
    assert line["command"] == OWN + " -- '~/.claude/line.sh \"$PWD\" | cut -c1-80'"
    assert change.kind == "chained" and change.before == theirs["command"]
    assert runs(line["command"]) == theirs["command"]
    back, change = uninstall_statusline(result)
    assert same(back, settings) and change.kind == "restored"


def test_aitops_own_is_left_alone_and_updated_in_place_when_aitop_moved() -> None:
    chained = install_statusline({"statusLine": {"command": "my-line"}}, OWN)[0]
    assert install_statusline(chained, OWN)[1].kind == "unchanged"
    # what the user put before aitop's part stays, and so does the chained command's text
    chained["statusLine"]["command"] = "AITOP_TAG=work " + chained["statusLine"]["command"]
    moved, change = install_statusline(chained, MOVED)
    assert change.kind == "updated"
    assert moved["statusLine"]["command"] == f"AITOP_TAG=work {MOVED} -- my-line"
    assert uninstall_statusline(moved)[0]["statusLine"] == {"command": "my-line"}


def test_a_socket_given_to_install_goes_into_the_command() -> None:
    own = statusline_command("/opt/aitop/bin/aitop hook --socket /run/a.sock")
    assert own == "/opt/aitop/bin/aitop statusline --socket /run/a.sock"
    assert statusline_command("'/my dir/python3' -m aitop hook") == (
        "'/my dir/python3' -m aitop statusline"
    )
    result = install_statusline({"statusLine": {"command": "x"}}, own)[0]
    assert _parse_args(shlex.split(result["statusLine"]["command"])[2:]) == ("/run/a.sock", "x")


def test_uninstall_leaves_a_status_line_that_is_not_aitops() -> None:
    settings = {"statusLine": {"type": "command", "command": "mine"}}
    result, change = uninstall_statusline(settings)
    assert same(result, settings) and not change.any


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("echo hi", '"statusLine" is a string, expected an object with a command'),
        (["x"], '"statusLine" is an array'),
        ({"type": "command"}, '"statusLine"."command" is missing'),
        ({"command": 3}, '"statusLine"."command" is a number'),
        ({"type": "script", "command": "x"}, '"statusLine"."type" is "script"'),
    ],
)
def test_a_status_line_aitop_cannot_read_is_refused(line: Any, what: str) -> None:
    for merge in (lambda s: install_statusline(s, OWN), uninstall_statusline):
        with pytest.raises(ShapeError) as error:
            merge({"statusLine": line})
        assert error.value.what.startswith(what)


commands = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40
)
others = st.dictionaries(
    st.sampled_from(["padding", "refreshInterval", "hideVimModeIndicator", "x"]),
    st.integers(0, 9) | st.booleans(),
    max_size=3,
)
prefixes = st.dictionaries(
    st.text(max_size=5), st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5), max_size=3
)


@given(prefixes, st.one_of(st.none(), st.tuples(commands, others, st.booleans())), prefixes)
def test_install_then_uninstall_gives_back_exactly_what_was_there(
    before: dict[str, Any], line: tuple[str, dict[str, Any], bool] | None, after: dict[str, Any]
) -> None:
    settings: dict[str, Any] = {k: v for k, v in before.items() if k not in ("statusLine", "hooks")}
    if line is not None:
        command, extra, typed = line
        settings["statusLine"] = (
            ({"type": "command"} if typed else {}) | {"command": command} | extra
        )
    settings |= {k: v for k, v in after.items() if k not in ("statusLine", "hooks")}
    installed, change = install_statusline(settings, OWN)
    assert change.any
    command = installed["statusLine"]["command"]
    ours = parse_ours(command)
    assert ours is not None
    if line is not None and parse_ours(line[0]) is None:
        # what the shell gives `aitop statusline` is the user's command, to the byte
        assert runs(command) == line[0] == ours.chained
    assert install_statusline(installed, OWN)[1].kind == "unchanged"  # idempotent
    back, _ = uninstall_statusline(installed)
    assert same(back, settings)


# --- the command ---------------------------------------------------------------------------


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture(autouse=True)
def no_temporary_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inst, "_temporary_dirs", lambda: ())


@pytest.fixture
def exe(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    path = bin_dir / "aitop"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def cli(args: list[str], home: Path, exe: Path) -> Run:
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdout=out, stderr=err, environ={"HOME": str(home), "PATH": "/nowhere"},
              executable=str(exe))  # fmt: skip
    code = main(["install", "--statusline", *args], env=env)
    return Run(code, out.getvalue(), err.getvalue())


def settings_at(home: Path, data: Any) -> Path:
    path = home / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jsontext.dump_settings(data))
    path.chmod(0o640)
    return path


def test_install_never_replaces_a_status_line_without_saying_so(tmp_path: Path, exe: Path) -> None:
    theirs = "bunx ccusage statusline"
    original = {"statusLine": {"type": "command", "command": theirs, "padding": 1}, "z": [1]}
    path = settings_at(tmp_path, original)
    before = path.read_bytes()
    dry = cli([], tmp_path, exe)
    assert dry.code == 0 and path.read_bytes() == before  # the default writes nothing
    assert f'would chain your status line command "{theirs}"' in dry.err
    assert "run with --write to apply" in dry.err
    assert json.loads(dry.out)["statusLine"]["command"] == f"{exe} statusline -- '{theirs}'"

    done = cli(["--write"], tmp_path, exe)
    assert done.code == 0
    assert f'chained your status line command "{theirs}"' in done.err
    assert "aitop install --statusline --uninstall --write" in done.err  # how to undo it
    assert Path(str(path) + ".bak").read_bytes() == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the mode is kept
    written = json.loads(path.read_text())
    assert written["z"] == [1] and written["statusLine"]["padding"] == 1

    again = cli(["--write"], tmp_path, exe)
    assert "already in" in again.err and "nothing to write" in again.err

    undone = cli(["--uninstall", "--write"], tmp_path, exe)
    assert undone.code == 0 and f'restored your status line command "{theirs}"' in undone.err
    assert same(json.loads(path.read_text()), original)


def test_install_keeps_the_hooks_and_the_hooks_install_keeps_the_status_line(
    tmp_path: Path, exe: Path
) -> None:
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdout=out, stderr=err, environ={"HOME": str(tmp_path), "PATH": "/nowhere"},
              executable=str(exe))  # fmt: skip
    assert main(["install", "--write"], env=env) == 0
    assert cli(["--write"], tmp_path, exe).code == 0
    path = tmp_path / ".claude" / "settings.json"
    data = json.loads(path.read_text())
    assert data["statusLine"]["command"] == f"{exe} statusline" and data["hooks"]
    assert main(["install", "--uninstall", "--write"], env=env) == 0
    data = json.loads(path.read_text())
    assert "hooks" not in data and data["statusLine"]["command"] == f"{exe} statusline"
    assert cli(["--uninstall", "--write"], tmp_path, exe).code == 0
    assert json.loads(path.read_text()) == {}


def test_a_status_line_aitop_cannot_read_is_one_error_and_nothing_written(
    tmp_path: Path, exe: Path
) -> None:
    path = settings_at(tmp_path, {"statusLine": "echo hi"})
    before = path.read_bytes()
    result = cli(["--write"], tmp_path, exe)
    assert result.code == 2
    assert result.err.startswith("aitop: error: ")
    assert '"statusLine" is a string, expected an object with a command; nothing was written' in (
        result.err
    )
    assert result.err.count("\n") == 1
    assert path.read_bytes() == before and not Path(str(path) + ".bak").exists()


def test_events_do_not_go_with_the_status_line(tmp_path: Path, exe: Path) -> None:
    result = cli(["--events", "Stop"], tmp_path, exe)
    assert result.code == 2 and "--events does not go with --statusline" in result.err


@pytest.mark.parametrize("agent", ["codex", "opencode", "gemini"])
def test_the_status_line_is_claude_codes_alone(tmp_path: Path, exe: Path, agent: str) -> None:
    assert agent in install_command.installable()
    result = cli(["--agent", agent, "--write"], tmp_path, exe)
    assert result.code == 2 and "--statusline is Claude Code's" in result.err
    assert not (tmp_path / ".claude").exists()
    assert cli(["--agent", "claude-code"], tmp_path, exe).code == 0


def test_uninstall_without_a_file(tmp_path: Path, exe: Path) -> None:
    result = cli(["--uninstall", "--write"], tmp_path, exe)
    assert result.code == 0 and "nothing to remove" in result.err
    assert not (tmp_path / ".claude").exists()


def test_check_says_whether_the_status_line_is_aitops(tmp_path: Path, exe: Path) -> None:
    path = settings_at(tmp_path, {"statusLine": {"type": "command", "command": "mine"}})
    result = cli(["--check"], tmp_path, exe)
    assert result.code == 1
    assert "problem: the status line in ~/.claude/settings.json is not aitop's" in result.out
    assert cli(["--write"], tmp_path, exe).code == 0
    result = cli(["--check"], tmp_path, exe)
    assert f'ok: the status line in ~/.claude/settings.json runs "{exe} statusline"' in result.out
    assert 'ok: and shows your own command\'s output: "mine"' in result.out
    assert "no monitor listening" in result.out and result.code == 1  # none runs here
    exe.unlink()
    assert "which does not exist" in cli(["--check"], tmp_path, exe).out
    path.unlink()
    assert "problem: no status line in" in cli(["--check"], tmp_path, exe).out
