"""`aitop install --agent gemini`: aitop's hooks into Gemini CLI's settings.json, and out.

The same guarantees as Claude Code's install (the shared machinery), in Gemini CLI's
words: nothing of the user's is lost, a file aitop cannot rewrite is never written, the
merge is idempotent and uninstall gives the original back. The command runs in-process
through `aitop.cli.main` with a fake environment; no test touches the real ~/.gemini.
"""

from __future__ import annotations

import copy
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitop.cli import main
from aitop.env import Env
from aitop.providers.gemini import install as inst
from aitop.providers.gemini.hooks import HOOK_EVENTS
from aitop.providers.install.jsontext import dump

CMD = "/opt/aitop/bin/aitop hook --agent gemini"


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def aitop_exe(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "aitop"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return exe


@pytest.fixture(autouse=True)
def no_temporary_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    """tmp_path is under /tmp: without this every run would warn that aitop looks temporary."""
    monkeypatch.setattr(inst, "temporary_dirs", lambda: ())


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "m.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    yield path
    server.close()


def cli(args: list[str], home: Path, executable: Path, **environ: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    env = Env(
        stdout=out,
        stderr=err,
        environ={"HOME": str(home), "PATH": str(home / "no-such-bin"), **environ},
        executable=str(executable),
    )
    code = main(["install", *args], env=env)
    return Run(code, out.getvalue(), err.getvalue())


def settings_path(home: Path) -> Path:
    return home / ".gemini" / "settings.json"


def write(path: Path, settings: Any) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dump(settings)
    path.write_bytes(data)
    return data


def commands(settings: dict[str, Any]) -> dict[str, list[str]]:
    return {
        event: [h["command"] for g in groups for h in g.get("hooks", [])]
        for event, groups in settings.get("hooks", {}).items()
        if event not in inst.CONFIG_FIELDS
    }


USER = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "model": {"name": "gemini-2.5-pro"},
    "hooksConfig": {"enabled": True, "notifications": False},
    "hooks": {
        "BeforeTool": [
            {"matcher": "write_file", "hooks": [{"type": "command", "command": "./lint.sh"}]}
        ],
        "disabled": ["old-hook"],  # a setting kept under `hooks` by older versions
    },
    "mcpServers": {"x": {"command": "x-server", "timeout": 1.50}},
}


# --- the command --------------------------------------------------------------------------


def test_install_writes_every_event_keeping_everything_else(home: Path, aitop_exe: Path) -> None:
    text = json.dumps(USER, indent=2).replace('"timeout": 1.5', '"timeout": 1.50')
    settings_path(home).parent.mkdir()
    settings_path(home).write_text(text)
    before = text.encode()
    run = cli(["--agent", "gemini", "--write"], home, aitop_exe)
    assert run.code == 0, run.err
    assert run.out == ""
    assert run.err == (
        f"aitop install: added 11 hooks ({', '.join(HOOK_EVENTS)}) to"
        f" {settings_path(home)}; the previous version is in {settings_path(home)}.bak\n"
    )
    settings = json.loads(settings_path(home).read_text())
    ours = f"{aitop_exe} hook --agent gemini"
    expected = {event: [ours] for event in HOOK_EVENTS}
    expected["BeforeTool"] = ["./lint.sh", ours]
    assert commands(settings) == expected
    assert settings["hooks"]["AfterAgent"] == [
        {"hooks": [{"type": "command", "command": ours, "timeout": 5000}]}
    ]
    for key in ("security", "model", "hooksConfig", "mcpServers"):
        assert settings[key] == USER[key]
    assert settings["hooks"]["disabled"] == ["old-hook"]
    assert '"timeout": 1.50' in settings_path(home).read_text()  # numbers keep their text
    assert (home / ".gemini" / "settings.json.bak").read_bytes() == before
    # again: nothing to do
    again = cli(["--agent", "gemini", "--write"], home, aitop_exe)
    assert again.code == 0 and "are already in" in again.err
    # and out again: the user's file as it was
    out = cli(["--agent", "gemini", "--uninstall", "--write"], home, aitop_exe)
    assert out.code == 0, out.err
    assert json.loads(settings_path(home).read_text()) == USER


def test_without_write_it_prints_the_file_and_changes_nothing(home: Path, aitop_exe: Path) -> None:
    run = cli(["--agent", "gemini"], home, aitop_exe)
    assert run.code == 0
    assert not settings_path(home).exists()
    assert len(commands(json.loads(run.out))) == 11
    assert "would create" in run.err and "--write" in run.err


def test_gemini_cli_home_and_gemini_dir_say_where(
    home: Path, aitop_exe: Path, tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere"
    run = cli(["--agent", "gemini", "--write"], home, aitop_exe, GEMINI_CLI_HOME=str(other))
    assert run.code == 0, run.err
    assert (other / ".gemini" / "settings.json").exists() and not settings_path(home).exists()
    given_dir = tmp_path / "given"
    run = cli(["--agent", "gemini", "--write", "--gemini-dir", str(given_dir)], home, aitop_exe)
    assert run.code == 0 and (given_dir / "settings.json").exists()


def test_a_socket_and_a_custom_command_are_kept(home: Path, aitop_exe: Path) -> None:
    custom = {
        "hooks": {
            "AfterTool": [{"hooks": [{"type": "command", "command": "AITOP_TAG=w aitop hook"}]}]
        }
    }
    write(settings_path(home), custom)
    run = cli(["--agent", "gemini", "--write", "--socket", "/run/a.sock"], home, aitop_exe)
    assert run.code == 0, run.err
    settings = json.loads(settings_path(home).read_text())
    assert commands(settings)["AfterTool"] == [
        f"AITOP_TAG=w {aitop_exe} hook --agent gemini --socket /run/a.sock"
    ]
    assert "AfterTool: command" in run.err  # the summary says what changed in it


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{\n  // my settings\n}\n", ":2:3: a comment, which Gemini CLI allows but a rewrite"),
        ('{"a": 1,}', ":1:9: "),
        ("[]", "the settings are an array, expected an object"),
        ('{"hooks": {"AfterTool": {}}}', '"hooks"."AfterTool" is an object, expected a list'),
        ('{"a": 1, "a": 2}', "duplicate key"),
    ],
)
def test_a_file_aitop_cannot_rewrite_is_never_written(
    home: Path, aitop_exe: Path, text: str, said: str
) -> None:
    path = settings_path(home)
    path.parent.mkdir()
    path.write_text(text)
    for args in (["--write"], ["--uninstall", "--write"]):
        run = cli(["--agent", "gemini", *args], home, aitop_exe)
        assert run.code == 2
        assert run.err.startswith(f"aitop: error: {path}") and said in run.err, run.err
        assert "nothing was written" in run.err and run.err.count("\n") == 1
        assert path.read_text() == text and not path.with_suffix(".json.bak").exists()


def test_events_are_gemini_clis(home: Path, aitop_exe: Path) -> None:
    run = cli(["--agent", "gemini", "--write", "--events", "AfterTool,BeforeTool"], home, aitop_exe)
    assert run.code == 0
    assert sorted(commands(json.loads(settings_path(home).read_text()))) == [
        "AfterTool",
        "BeforeTool",
    ]
    run = cli(["--agent", "gemini", "--events", "PreToolUse"], home, aitop_exe)
    assert run.code == 2
    assert "'PreToolUse' is not a Gemini CLI hook event" in run.err


def test_switched_off_hooks_are_said_not_undone(home: Path, aitop_exe: Path) -> None:
    write(settings_path(home), {"hooksConfig": {"enabled": False}})
    run = cli(["--agent", "gemini", "--write"], home, aitop_exe)
    assert run.code == 0
    assert "warning: hooks are switched off in" in run.err
    assert json.loads(settings_path(home).read_text())["hooksConfig"] == {"enabled": False}


# --- --check ------------------------------------------------------------------------------


def test_check_all_well(home: Path, aitop_exe: Path, monitor: Path) -> None:
    cli(["--agent", "gemini", "--write", "--socket", str(monitor)], home, aitop_exe)
    run = cli(["--check", "--agent", "gemini"], home, aitop_exe)
    assert (run.code, run.err) == (0, "")
    assert run.out == (
        "ok: 11 of 11 hook events registered in ~/.gemini/settings.json\n"
        f"ok: hooks run {aitop_exe}\n"
        f"ok: a monitor is listening on {monitor}\n"
    )


def test_check_covers_gemini_when_it_is_on_the_machine(
    home: Path, aitop_exe: Path, monitor: Path
) -> None:
    run = cli(["--check"], home, aitop_exe, AITOP_SOCKET=str(monitor))
    assert ".gemini" not in run.out  # no ~/.gemini: not Gemini CLI's business
    (home / ".gemini").mkdir()
    run = cli(["--check"], home, aitop_exe, AITOP_SOCKET=str(monitor))
    assert run.code == 1
    assert run.out == (
        "problem: no settings file at ~/.gemini/settings.json; run: aitop install --agent gemini"
        " --write\n"
        f"ok: a monitor is listening on {monitor}\n"
    )
    (home / ".claude").mkdir()
    cli(["--agent", "gemini", "--write"], home, aitop_exe)
    run = cli(["--check"], home, aitop_exe, AITOP_SOCKET=str(monitor))
    assert "Claude Code:\n" in run.out and "Gemini CLI:\n" in run.out
    gemini_part = run.out.split("Gemini CLI:\n")[1]
    assert gemini_part.startswith("ok: 11 of 11 hook events registered in ~/.gemini/settings.json")


def test_check_finds_what_would_keep_the_hooks_from_running(
    home: Path, aitop_exe: Path, monitor: Path
) -> None:
    settings, _ = inst.install_hooks({}, f"{aitop_exe} hook --agent gemini", HOOK_EVENTS)
    settings["hooksConfig"] = {"enabled": False, "disabled": [f"{aitop_exe} hook --agent gemini"]}
    settings["hooks"]["AfterTool"].append({"hooks": [{"type": "command", "command": "aitop hook"}]})
    settings["hooks"]["BeforeTool"][0]["matcher"] = "read_file"
    write(settings_path(home), settings)
    run = cli(["--check", "--agent", "gemini", "--socket", str(monitor)], home, aitop_exe)
    assert run.code == 1
    lines = run.out.splitlines()
    assert (
        'problem: hooks are switched off in ~/.gemini/settings.json ("hooksConfig": {"enabled": false}), so Gemini CLI runs none of them; set "enabled" to true there'
        in lines
    )
    assert sum('is listed in "hooksConfig"."disabled"' in line for line in lines) == 11
    assert any("registered 2 times for AfterTool" in line for line in lines)
    assert any(
        line.startswith("warning: aitop's BeforeTool hook is in a group with matcher")
        for line in lines
    )
    assert any("hooks run `aitop` by name and it is not on PATH" in line for line in lines)


# --- the merge, as pure functions -----------------------------------------------------------

keys = st.text(max_size=6)
scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=2) | st.dictionaries(keys, c, max_size=2),
    max_leaves=4,
)
other_hooks = st.fixed_dictionaries(
    {
        "type": st.just("command"),
        "command": st.sampled_from(["./lint.sh", "notify-send x", "aitop hooks"]),
    },
    optional={"timeout": st.integers(0, 60_000), "name": st.text(max_size=4)},
)
groups = st.fixed_dictionaries(
    {"hooks": st.lists(other_hooks, max_size=2)},
    optional={
        "matcher": st.sampled_from(["*", "", "read_file", "startup"]),
        "sequential": st.booleans(),
    },
)
settings_strategy = st.dictionaries(
    st.sampled_from(["model", "ui", "hooksConfig", "mcpServers", "x"]), values, max_size=3
) | st.builds(
    lambda base, hooks: {**base, "hooks": hooks},
    st.dictionaries(st.sampled_from(["model", "ui"]), values, max_size=2),
    st.dictionaries(
        st.sampled_from([*HOOK_EVENTS[:4], "Custom"]), st.lists(groups, max_size=2), max_size=3
    )
    | st.builds(
        lambda h, flag: {**h, "enabled": flag},
        st.dictionaries(
            st.sampled_from(HOOK_EVENTS[4:7]), st.lists(groups, max_size=2), max_size=2
        ),
        st.booleans(),
    ),
)


@given(settings_strategy, st.lists(st.sampled_from(HOOK_EVENTS), min_size=1, unique=True))
def test_install_then_uninstall_gives_the_settings_back(
    settings: dict[str, Any], events: list[str]
) -> None:
    original = copy.deepcopy(settings)
    installed, changes = inst.install_hooks(settings, CMD, events)
    assert settings == original  # a copy is changed, never the input
    assert sorted(changes.added) == sorted(events)
    assert {e for e, cmds in commands(installed).items() if CMD in cmds} == set(events)
    again, second = inst.install_hooks(installed, CMD, events)
    assert again == installed and not second.any
    removed, gone = inst.uninstall_hooks(installed)
    assert sorted(gone.removed) == sorted(events)
    expected = copy.deepcopy(original)
    hooks = expected.get("hooks")
    if isinstance(hooks, dict):  # empty event lists, an emptied `hooks`: what only aitop needed
        for event in [e for e in events if hooks.get(e) == []]:
            del hooks[event]
        if not hooks:
            del expected["hooks"]
    assert removed == expected


@given(settings_strategy)
def test_other_hooks_are_never_touched(settings: dict[str, Any]) -> None:
    installed, _ = inst.install_hooks(settings, CMD, HOOK_EVENTS)
    before = [h for hs in commands(settings).values() for h in hs]
    after = [h for hs in commands(installed).values() for h in hs if h != CMD]
    assert sorted(before) == sorted(after)
