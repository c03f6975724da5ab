"""`aitop install`: wire aitop into Claude Code's settings.json safely, and out again (#3).

The merge is tested as pure functions (with hypothesis over arbitrary settings, with and
without other tools' hooks and old aitop entries); the command is run in-process through
`aitop.cli.main` with a fake environment, and once as a real `python -m aitop` process.
No test touches the real ~/.claude: HOME and the settings path always point into tmp.
"""

from __future__ import annotations

import copy
import io
import json
import os
import shlex
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitop import hook as hook_module
from aitop.cli import main
from aitop.env import Env
from aitop.errors import AitopError
from aitop.providers.claude_code import install as inst
from aitop.providers.claude_code import jsontext
from aitop.providers.claude_code import settings_file as sfile
from aitop.providers.claude_code.hooks import HOOK_EVENTS
from aitop.providers.install import command as hook_command

CMD = "/opt/aitop/bin/aitop hook"
ROOT = Path(__file__).resolve().parent.parent
REGISTRABLE = [e for e in inst.CLAUDE_CODE_EVENTS if e not in inst.NEVER_REGISTERED]


# ---------------------------------------------------------------------------------------
# helpers


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
    """A stand-in `aitop` executable: what `install` writes into the hooks."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "aitop"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return exe


@pytest.fixture(autouse=True)
def no_temporary_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    """tmp_path is under /tmp: without this every run would warn that aitop looks temporary."""
    monkeypatch.setattr(inst, "_temporary_dirs", lambda: ())


def cli(args: list[str], home: Path, executable: Path | str, **environ: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    env = Env(
        stdout=out,
        stderr=err,
        environ={"HOME": str(home), "PATH": str(home / "no-such-bin"), **environ},
        executable=str(executable),
    )
    code = main(["install", *args], env=env)
    return Run(code, out.getvalue(), err.getvalue())


def settings_file(home: Path) -> Path:
    return home / ".claude" / "settings.json"


def write_settings(path: Path, settings: Any, mode: int = 0o600) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = jsontext.dump_settings(settings)
    path.write_bytes(data)
    path.chmod(mode)
    return data


def expected_hooks(command: str, events: tuple[str, ...] | list[str] = HOOK_EVENTS) -> Any:
    return {
        event: [{"hooks": [{"type": "command", "command": command, "timeout": 5}]}]
        for event in events
    }


def events_with_aitop(settings: Any) -> list[str]:
    return [found.event for found in inst.find_aitop_hooks(settings)]


def same(a: Any, b: Any) -> bool:
    """Equal including key order (dict == ignores it)."""
    return jsontext.dump_settings(a) == jsontext.dump_settings(b)


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# ---------------------------------------------------------------------------------------
# strategies

keys = st.text(max_size=6)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3),
    max_leaves=8,
)
# inside hooks, where there are many of them: smaller, so the properties stay fast
small_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=2) | st.dictionaries(keys, children, max_size=2),
    max_leaves=3,
)
other_commands = st.sampled_from(
    [
        "npx prettier --write",
        "/usr/bin/notify-send done",
        "aitop-helper hook",
        "bash -c 'aitop hook'",
        "'unbalanced quote",
        "python -m aitopx hook",
        "aitop hooks",
        "aitop",
    ]
) | st.text(max_size=12).filter(lambda c: not inst.is_aitop_command(c))
other_hooks = st.fixed_dictionaries(
    {"type": st.just("command"), "command": other_commands},
    optional={"timeout": st.integers(0, 600), "async": st.booleans()},
) | small_values.filter(lambda v: not inst.is_aitop_hook(v))
# aitop hook commands as people write them: something before (an assignment, a wrapper,
# another command), the executable (a script or a Python), something after (arguments,
# a redirection, another command)
custom_aitop_commands = st.builds(
    "{}{} hook{}".format,
    st.sampled_from(
        [
            "",
            "AITOP_TAG=work ",
            'AITOP_TAG="$PROJECT" ',
            "env FOO=1 ",
            "nice -n 5 ",
            "cd /w && ",
            "PYTHONPATH=/src/python3 ",
        ]
    ),
    st.sampled_from(
        [
            "aitop",
            "/old/venv/bin/aitop",
            "'/path with space/aitop'",
            "/opt/aitop/bin/aitop",
            "/usr/bin/python3 -m aitop",
            "/usr/bin/python3 -X dev -m aitop",
            "uv run -m aitop",
        ]
    ),
    st.sampled_from(
        [
            "",
            " --socket /x.sock",
            " --agent claude-code",
            " --socket=/y.sock --agent x",
            " 2>/dev/null || true",
            " --socket '/a b.sock' ; echo --socket z",
            " --agent --socket",
            " --socket",
            " # --socket /c",
            "\necho --socket /d",
        ]
    ),
)
SHELLISH = " \t\n'\"\\;|&>#=-$/xpythonm"
fuzzed_aitop_commands = st.builds(
    "{} aitop hook {}".format,
    st.text(alphabet=SHELLISH, max_size=10),
    st.text(alphabet=SHELLISH, max_size=10),
).filter(inst.is_aitop_command)
aitop_commands = custom_aitop_commands | fuzzed_aitop_commands
# what install writes: the script or `python -m aitop`, with or without --socket
install_commands = st.sampled_from(
    [
        CMD,
        f"{CMD} --socket /run/m.sock",
        "'/opt/my aitop/aitop' hook --socket '/run/a b.sock'",
        "/usr/bin/python3 -m aitop hook",
        "/venv/bin/python -m aitop hook --socket /run/m.sock",
    ]
)
old_aitop_hooks = st.fixed_dictionaries(
    {"type": st.just("command"), "command": st.just(CMD) | custom_aitop_commands},
    optional={"timeout": st.integers(1, 60), "async": st.booleans(), "statusMessage": keys},
)
event_names = st.sampled_from(inst.CLAUDE_CODE_EVENTS) | st.text(max_size=8)
chosen_events = st.just(list(HOOK_EVENTS)) | st.lists(
    st.sampled_from(REGISTRABLE), min_size=1, max_size=5, unique=True
)


def groups(hook_strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    with_hooks = st.fixed_dictionaries(
        {"hooks": st.lists(hook_strategy, max_size=3)},
        optional={"matcher": st.sampled_from(["", "*", "Bash", "Edit|Write"]), "x": small_values},
    )
    without_hooks = st.fixed_dictionaries({}, optional={"matcher": keys, "x": small_values})
    return with_hooks | without_hooks


@st.composite
def settings_objects(draw: st.DrawFn, hook_strategy: st.SearchStrategy[Any]) -> dict[str, Any]:
    """Arbitrary settings, sometimes with a `hooks` object (at any position)."""
    items = list(
        draw(st.dictionaries(keys.filter(lambda k: k != "hooks"), json_values, max_size=4)).items()
    )
    if draw(st.booleans()):
        hooks = draw(
            st.dictionaries(event_names, st.lists(groups(hook_strategy), max_size=3), max_size=4)
        )
        items.insert(draw(st.integers(0, len(items))), ("hooks", hooks))
    return dict(items)


# Settings objects are costly to draw: half the profile's examples keeps this file fast,
# and CI's profile (more examples) still scales them up.
merge_examples = settings(max_examples=max(20, settings().max_examples // 2))
without_aitop = settings_objects(other_hooks)
with_old_aitop = settings_objects(other_hooks | old_aitop_hooks)


def normalised(settings: dict[str, Any], events: list[str]) -> dict[str, Any]:
    """What install-then-uninstall can give back: an empty list already there for an event
    aitop registers (or an empty `hooks`) reads like none at all, and goes."""
    result = copy.deepcopy(settings)
    hooks = result.get("hooks")
    if isinstance(hooks, dict):
        for event in events:
            if hooks.get(event) == []:
                del hooks[event]
        if not hooks:
            del result["hooks"]
    return result


def survivors(settings: dict[str, Any]) -> Any:
    """Everything that is not aitop's, in order: other keys, other tools' hooks and groups.

    A group holding nothing but aitop hooks (and no key but `hooks`) is aitop's shape and
    may come or go; every other group must stay, with its keys and its other hooks.
    """
    hooks = settings.get("hooks", {})
    projected = {}
    for event, event_groups in hooks.items():
        kept = []
        for group in event_groups:
            entries = group.get("hooks")
            others = [e for e in entries or [] if not inst.is_aitop_hook(e)]
            if group.keys() == {"hooks"} and entries and not others:
                continue
            kept.append(({k: v for k, v in group.items() if k != "hooks"}, others))
        if kept:
            projected[event] = kept
    rest = [(k, v) for k, v in settings.items() if k != "hooks"]
    return rest, projected


# ---------------------------------------------------------------------------------------
# the merge, as properties


@merge_examples
@given(without_aitop, chosen_events, install_commands)
def test_install_then_uninstall_returns_the_original(
    original: dict[str, Any], events: list[str], command: str
) -> None:
    installed, _ = inst.install_hooks(original, command, events)
    restored, changes = inst.uninstall_hooks(installed)
    assert same(restored, normalised(original, events))
    assert sorted(changes.removed) == sorted(events)


@merge_examples
@given(with_old_aitop, chosen_events, install_commands)
def test_install_then_uninstall_equals_uninstall_when_aitop_was_there(
    original: dict[str, Any], events: list[str], command: str
) -> None:
    installed, _ = inst.install_hooks(original, command, events)
    without, _ = inst.uninstall_hooks(original)
    assert same(inst.uninstall_hooks(installed)[0], normalised(without, events))


@merge_examples
@given(with_old_aitop, chosen_events, install_commands)
def test_install_twice_equals_install_once(
    original: dict[str, Any], events: list[str], command: str
) -> None:
    once, _ = inst.install_hooks(original, command, events)
    twice, changes = inst.install_hooks(once, command, events)
    assert same(twice, once)
    assert not changes.any
    assert changes.unchanged == events


@merge_examples
@given(with_old_aitop, chosen_events, install_commands)
def test_every_non_aitop_hook_and_key_survives_install(
    original: dict[str, Any], events: list[str], command: str
) -> None:
    before = copy.deepcopy(original)
    installed, _ = inst.install_hooks(original, command, events)
    assert same(original, before)  # a pure function: the input is untouched
    assert survivors(installed) == survivors(original)
    expected_keys = list(original) + ([] if "hooks" in original else ["hooks"])
    assert list(installed) == expected_keys


@merge_examples
@given(with_old_aitop)
def test_every_non_aitop_hook_and_key_survives_uninstall(original: dict[str, Any]) -> None:
    before = copy.deepcopy(original)
    removed, _ = inst.uninstall_hooks(original)
    assert same(original, before)
    assert survivors(removed) == survivors(original)
    assert events_with_aitop(removed) == []


@merge_examples
@given(with_old_aitop, chosen_events, install_commands)
def test_install_registers_aitop_once_for_exactly_the_chosen_events(
    original: dict[str, Any], events: list[str], command: str
) -> None:
    installed, changes = inst.install_hooks(original, command, events)
    assert sorted(events_with_aitop(installed)) == sorted(events)
    first_commands: dict[str, str] = {}
    for old in inst.find_aitop_hooks(original):
        first_commands.setdefault(old.event, old.hook["command"])
    for found in inst.find_aitop_hooks(installed):
        old_command = first_commands.get(found.event)
        expected = command if old_command is None else update_keeps(old_command, command)
        assert found.hook["command"] == expected
        assert found.hook["timeout"] == 5
        assert found.hook["type"] == "command"
        assert "async" not in found.hook
    assert [u.event for u in changes.updates] == changes.updated


# ---------------------------------------------------------------------------------------
# an aitop hook command's text: install changes its part and keeps the user's


def hook_sees(command: str) -> tuple[str | None, str]:
    """The socket and agent `aitop hook` reads from this command's arguments."""
    parsed = hook_command.parse(command)
    assert parsed is not None
    return hook_module._parse_args([w.value for w in parsed.arguments])


def update_keeps(old: str, new: str) -> str:
    """`update_command(old, new)`, checked against what must hold of it."""
    result = hook_command.update_command(old, new)
    was = hook_command.parse(old)
    assert was is not None
    assert inst.is_aitop_command(result)
    assert hook_command.executable(result) == hook_command.executable(new)
    new_socket, _ = hook_sees(new)
    old_socket, old_agent = hook_sees(old)
    assert hook_sees(result) == (new_socket or old_socket, old_agent)
    before = was.words[was.start].start  # the user's text before aitop's part: kept
    assert result[:before] == old[:before]
    after = was.words[was.end].start if was.end < len(was.words) else len(old)
    assert result.endswith(old[after:])  # and after the hook's arguments: kept
    return result


@given(st.text(alphabet=" \t\r\n'\"\\ab#;", max_size=20) | st.text(max_size=12))
def test_word_splitter_agrees_with_shlex(text: str) -> None:
    try:
        expected = shlex.split(text)
    except ValueError:
        with pytest.raises(ValueError):
            hook_command.split_words(text)
        return
    words = hook_command.split_words(text)
    assert [w.value for w in words] == expected
    for word in words:
        assert shlex.split(text[word.start : word.end]) == [word.value]


@given(aitop_commands, install_commands)
def test_custom_hook_command_kept_by_update_and_only_installs_part_changes(
    old: str, new: str
) -> None:
    result = update_keeps(old, new)
    assert hook_command.update_command(result, new) == result
    same_executable = hook_command.executable(old) == hook_command.executable(new)
    if same_executable and hook_sees(new)[0] in (None, hook_sees(old)[0]):
        assert result == old  # nothing install must change: not a byte changes


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("aitop hook", CMD, CMD),
        (CMD, CMD, CMD),
        ("AITOP_TAG=x /old/aitop hook --socket S", CMD, f"AITOP_TAG=x {CMD} --socket S"),
        (
            "AITOP_TAG=x /old/aitop hook --socket S",
            f"{CMD} --socket '/a b'",
            f"AITOP_TAG=x {CMD} --socket '/a b'",
        ),
        (
            "/old/aitop hook --socket=/a --agent x",
            f"{CMD} --socket /b",
            f"{CMD} --socket=/b --agent x",
        ),
        ("/old/aitop hook --agent x", f"{CMD} --socket /b", f"{CMD} --socket /b --agent x"),
        ('AITOP_TAG="$P" aitop hook || true', CMD, f'AITOP_TAG="$P" {CMD} || true'),
        ("aitop hook ; x --socket /a", f"{CMD} --socket /b", f"{CMD} --socket /b ; x --socket /a"),
        ("env FOO=1 /old/aitop hook", "/py -m aitop hook", "env FOO=1 /py -m aitop hook"),
        ("FOO=1 python3 -X dev -m aitop hook", CMD, f"FOO=1 {CMD}"),
        (
            "FOO=1 python3 -X dev -m aitop hook",
            "/py/python3 -m aitop hook",
            "FOO=1 /py/python3 -X dev -m aitop hook",
        ),
        ("uv run -m aitop hook", CMD, f"uv run {CMD}"),
        ("'/my aitop/aitop'  hook  --agent x", CMD, "/opt/aitop/bin/aitop  hook  --agent x"),
    ],
)
def test_update_changes_only_the_executable_and_a_socket_given_to_install(
    old: str, new: str, expected: str
) -> None:
    assert hook_command.update_command(old, new) == expected


def test_update_refuses_what_is_not_an_aitop_command() -> None:
    with pytest.raises(ValueError):
        hook_command.update_command("echo hook", CMD)
    with pytest.raises(ValueError):
        hook_command.update_command(CMD, f"FOO=1 {CMD}")


# ---------------------------------------------------------------------------------------
# the merge, by example


def test_install_into_empty_settings_adds_one_group_per_event() -> None:
    installed, changes = inst.install_hooks({}, CMD, HOOK_EVENTS)
    assert installed == {"hooks": expected_hooks(CMD)}
    assert list(installed["hooks"]) == list(HOOK_EVENTS)
    assert changes.added == list(HOOK_EVENTS)


def test_install_updates_an_old_aitop_entry_in_place_beside_another_tool() -> None:
    original = {
        "hooks": {
            "PreToolUse": [
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh"}]},
                {
                    "hooks": [
                        {"type": "command", "command": "lint"},
                        {
                            "command": "/old/venv/bin/aitop hook",
                            "statusMessage": "m",
                            "async": True,
                        },
                        {"type": "command", "command": "aitop hook"},
                    ]
                },
            ],
        }
    }
    installed, changes = inst.install_hooks(original, CMD, ["PreToolUse"])
    assert installed == {
        "hooks": {
            "PreToolUse": [
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh"}]},
                {
                    "hooks": [
                        {"type": "command", "command": "lint"},
                        {"command": CMD, "statusMessage": "m", "type": "command", "timeout": 5},
                    ]
                },
            ]
        }
    }
    assert changes.updated == ["PreToolUse"]
    assert changes.removed == ["PreToolUse"]


def test_install_removes_aitop_from_events_not_chosen_and_from_worktree_create() -> None:
    original = {
        "hooks": {
            "WorktreeCreate": [{"hooks": [{"type": "command", "command": "aitop hook"}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "aitop hook"}]}],
            "MessageDisplay": [
                {"matcher": "", "hooks": [{"type": "command", "command": "aitop hook"}]}
            ],
        }
    }
    installed, changes = inst.install_hooks(original, CMD, ["Stop"])
    assert installed == {
        "hooks": {
            "Stop": [{"hooks": [{"type": "command", "command": CMD, "timeout": 5}]}],
            "MessageDisplay": [{"matcher": "", "hooks": []}],
        }
    }
    assert changes.removed == ["WorktreeCreate", "MessageDisplay"]


def test_uninstall_keeps_a_group_with_other_keys_even_when_its_hooks_become_empty() -> None:
    original = {
        "model": "opus",
        "hooks": {
            "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": CMD}]}],
            "Stop": [{"hooks": [{"type": "command", "command": CMD}]}],
        },
    }
    removed, changes = inst.uninstall_hooks(original)
    assert removed == {"model": "opus", "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": []}]}}
    assert changes.removed == ["PreToolUse", "Stop"]


def test_uninstall_removes_the_hooks_object_it_emptied_but_not_one_that_was_empty() -> None:
    emptied, _ = inst.uninstall_hooks({"hooks": {"Stop": [{"hooks": [{"command": CMD}]}]}})
    assert emptied == {}
    untouched, changes = inst.uninstall_hooks({"hooks": {}, "a": 1})
    assert untouched == {"hooks": {}, "a": 1}
    assert not changes.any


def test_an_empty_event_list_already_there_reads_like_none_and_goes_on_uninstall() -> None:
    """The one place where install∘uninstall is not the identity: install cannot tell
    `"Stop": []` from no `Stop` at all, and Claude Code treats both alike."""
    installed, _ = inst.install_hooks({"hooks": {"Stop": []}, "a": 1}, CMD, ["Stop"])
    assert inst.uninstall_hooks(installed)[0] == {"a": 1}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("aitop hook", True),
        ("/usr/local/bin/aitop hook", True),
        ("'/Users/me/my tools/aitop' hook", True),
        ("/venv/bin/python3 -m aitop hook", True),
        ("/x/aitop hook --socket /tmp/a.sock", True),
        ("aitop hooks", False),
        ("aitop", False),
        ("myaitop hook", False),
        ("aitop.sh hook", False),
        ("bash -c 'aitop hook'", False),
        ("'unbalanced aitop hook", False),
        (42, False),
        (None, False),
    ],
)
def test_which_commands_are_aitops(command: Any, expected: bool) -> None:
    assert inst.is_aitop_command(command) is expected


def test_aitop_program_is_the_script_or_the_python_of_dash_m() -> None:
    assert inst.aitop_program("'/a b/aitop' hook") == "/a b/aitop"
    assert inst.aitop_program("/usr/bin/python3 -m aitop hook") == "/usr/bin/python3"
    assert inst.aitop_program("AITOP_TAG=x /usr/bin/python3 -m aitop hook") == "/usr/bin/python3"
    assert inst.aitop_program("env -u X python3 -X dev -m aitop hook") == "python3"
    assert inst.aitop_program("PYTHONPATH=/s/python3 uv run -m aitop hook") == "uv"
    assert inst.aitop_program("echo hi") is None


def test_the_events_aitop_uses_are_claude_code_events_and_never_worktree_create() -> None:
    assert set(HOOK_EVENTS) <= set(inst.CLAUDE_CODE_EVENTS)
    assert "WorktreeCreate" not in HOOK_EVENTS


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ([], ()),
        ({"hooks": []}, ("hooks",)),
        ({"hooks": None}, ("hooks",)),
        ({"hooks": {"Stop": {}}}, ("hooks", "Stop")),
        ({"hooks": {"Stop": ["aitop hook"]}}, ("hooks", "Stop", 0)),
        ({"hooks": {"Stop": [{"hooks": {}}]}}, ("hooks", "Stop", 0, "hooks")),
    ],
)
def test_merge_refuses_a_wrong_shape_before_changing_anything(settings: Any, path: Any) -> None:
    with pytest.raises(sfile.ShapeError) as raised:
        inst.install_hooks(settings, CMD, HOOK_EVENTS)
    assert raised.value.path == path
    with pytest.raises(sfile.ShapeError):
        inst.uninstall_hooks(settings)


# ---------------------------------------------------------------------------------------
# the JSON text


@given(json_values)
def test_reader_agrees_with_the_standard_library_on_valid_json(value: Any) -> None:
    text = json.dumps(value, indent=1)
    parsed, _ = jsontext.parse_settings(text)

    def plain(v: Any) -> Any:
        if isinstance(v, jsontext.RawNumber):
            return float(v.text)
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    assert plain(parsed) == json.loads(text)


@given(st.text(alphabet='{}[],:" \n0123456789.eE-+tfrulnsaNI\\', max_size=30))
def test_reader_is_never_more_lenient_than_the_standard_library(text: str) -> None:
    try:
        jsontext.parse_settings(text)
    except jsontext.SettingsSyntaxError as error:
        assert 0 <= error.pos <= len(text)
        return
    if text.strip():
        json.loads(text)  # accepted by aitop ⇒ valid JSON


@merge_examples
@given(with_old_aitop)
def test_text_round_trip_is_stable(settings_object: dict[str, Any]) -> None:
    data = jsontext.dump_settings(settings_object)
    parsed, _ = jsontext.parse_settings(data.decode())
    assert jsontext.dump_settings(parsed) == data


def test_numbers_are_written_back_exactly_as_they_were() -> None:
    text = '{"a": 1e400, "b": 123456789012345678901234567890, "c": [1.10, -0, -0.0, 5E-3]}'
    parsed, _ = jsontext.parse_settings(text)
    assert parsed["a"] == jsontext.RawNumber("1e400")
    assert jsontext.dump_settings(parsed) == (
        b'{\n  "a": 1e400,\n  "b": 123456789012345678901234567890,\n'
        b'  "c": [\n    1.10,\n    -0,\n    -0.0,\n    5E-3\n  ]\n}\n'
    )


def test_positions_point_at_each_value() -> None:
    text = '{\n  "hooks": {\n    "Stop": [ {"hooks": 1} ]\n  }\n}'
    _, where = jsontext.parse_settings(text)
    assert jsontext.line_and_column(text, where[("hooks", "Stop", 0, "hooks")]) == (3, 25)
    assert jsontext.line_and_column(text, where[()]) == (1, 1)


# ---------------------------------------------------------------------------------------
# which aitop the hooks run


def make_exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_command_is_the_running_aitop_made_absolute_and_quoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = make_exe(tmp_path / "my tools" / "aitop")
    monkeypatch.chdir(tmp_path / "my tools")
    chosen = inst.choose_hook_command("./aitop", "/nonexistent/python", "", ())
    assert chosen.command == f"{shlex.quote(str(exe))} hook"
    assert chosen.program == str(exe)
    assert chosen.warnings == ()


def test_command_under_python_dash_m_is_the_script_next_to_the_interpreter(tmp_path: Path) -> None:
    python = make_exe(tmp_path / "venv" / "bin" / "python")
    script = make_exe(tmp_path / "venv" / "bin" / "aitop")
    chosen = inst.choose_hook_command(str(ROOT / "aitop" / "__main__.py"), str(python), "", ())
    assert chosen.command == f"{script} hook"


def test_command_falls_back_to_aitop_on_path(tmp_path: Path) -> None:
    on_path = make_exe(tmp_path / "bin" / "aitop")
    chosen = inst.choose_hook_command(
        "/src/aitop/__main__.py", str(tmp_path / "py" / "python"), str(tmp_path / "bin"), ()
    )
    assert chosen.command == f"{on_path} hook"


def test_command_falls_back_to_python_dash_m_with_warnings(tmp_path: Path) -> None:
    python = str(tmp_path / "py" / "python3")
    chosen = inst.choose_hook_command(
        "/src/aitop/__main__.py", python, str(tmp_path), (), module_importable=False
    )
    assert chosen.command == f"{python} -m aitop hook"
    assert inst.is_aitop_command(chosen.command)
    assert "starts slower" in chosen.warnings[0]
    assert "only from the current directory" in chosen.warnings[1]


def test_command_warns_when_aitop_looks_temporary(tmp_path: Path) -> None:
    exe = make_exe(tmp_path / "build" / "aitop")
    chosen = inst.choose_hook_command(str(exe), "", "", [str(tmp_path)])
    assert chosen.warnings == (
        f"{exe} looks temporary (under {tmp_path}); the hooks break when it is deleted: "
        "install aitop somewhere lasting and run this again",
    )


def test_command_carries_an_explicit_socket(tmp_path: Path) -> None:
    exe = make_exe(tmp_path / "aitop")
    chosen = inst.choose_hook_command(str(exe), "", "", (), socket_override="/run/a b.sock")
    assert chosen.command == f"{exe} hook --socket '/run/a b.sock'"


# ---------------------------------------------------------------------------------------
# the command: printing and writing


def test_dry_run_is_the_default_prints_the_merged_settings_and_writes_nothing(
    home: Path, aitop_exe: Path
) -> None:
    run = cli([], home, aitop_exe)
    path = settings_file(home)
    assert run.code == 0
    assert json.loads(run.out) == {"hooks": expected_hooks(f"{aitop_exe} hook")}
    assert run.err == (
        f"aitop install: would create {path} with 14 hooks ({', '.join(HOOK_EVENTS)}); "
        "run with --write to apply\n"
    )
    assert not (home / ".claude").exists()
    assert cli(["--dry-run"], home, aitop_exe).out == run.out


def test_write_creates_the_file_0600_in_a_directory_0700(home: Path, aitop_exe: Path) -> None:
    run = cli(["--write"], home, aitop_exe)
    path = settings_file(home)
    assert run.code == 0
    assert run.out == ""
    assert run.err == f"aitop install: created {path} with 14 hooks ({', '.join(HOOK_EVENTS)})\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"hooks": expected_hooks(f"{aitop_exe} hook")}
    assert listing(path.parent) == ["settings.json"]


def test_write_keeps_keys_order_indentation_mode_and_a_backup(home: Path, aitop_exe: Path) -> None:
    path = settings_file(home)
    path.parent.mkdir()
    original = (
        b'{"statusLine": {"type": "command", "command": "~/bin/status"},\n'
        b' "permissions": {"allow": ["Bash"], "deny": []}, "zzz": null,\n'
        b' "hooks": {"Stop": [{"matcher": "",\n'
        b' "hooks": [{"type": "command", "command": "say done"}]}]}}'
    )
    path.write_bytes(original)
    path.chmod(0o644)
    run = cli(["--write", "--events", "Stop"], home, aitop_exe)
    assert run.code == 0
    assert run.err == (
        f"aitop install: added 1 hook (Stop) to {path}; the previous version is in {path}.bak\n"
    )
    assert path.read_text() == (
        "{\n"
        '  "statusLine": {\n    "type": "command",\n    "command": "~/bin/status"\n  },\n'
        '  "permissions": {\n    "allow": [\n      "Bash"\n    ],\n    "deny": []\n  },\n'
        '  "zzz": null,\n'
        '  "hooks": {\n    "Stop": [\n'
        '      {\n        "matcher": "",\n        "hooks": [\n'
        '          {\n            "type": "command",\n            "command": "say done"\n'
        "          }\n        ]\n      },\n"
        '      {\n        "hooks": [\n'
        '          {\n            "type": "command",\n'
        f'            "command": "{aitop_exe} hook",\n'
        '            "timeout": 5\n          }\n        ]\n      }\n'
        "    ]\n  }\n}\n"
    )
    backup = path.with_name("settings.json.bak")
    assert backup.read_bytes() == original
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(backup.stat().st_mode) == 0o644
    assert listing(path.parent) == ["settings.json", "settings.json.bak"]


def test_nothing_changes_nothing_is_written(home: Path, aitop_exe: Path) -> None:
    cli(["--write"], home, aitop_exe)
    path = settings_file(home)
    before = path.stat()
    run = cli(["--write"], home, aitop_exe)
    assert run.code == 0
    assert run.err == (
        f"aitop install: aitop's 14 hooks ({', '.join(HOOK_EVENTS)}) are already in {path}; "
        "nothing to write\n"
    )
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert listing(path.parent) == ["settings.json"]


def test_an_old_aitop_path_is_replaced_and_the_summary_says_old_to_new(
    home: Path, aitop_exe: Path
) -> None:
    path = settings_file(home)
    old = {"type": "command", "command": "/old/venv/bin/aitop hook", "timeout": 30}
    write_settings(path, {"hooks": {"Stop": [{"hooks": [{"command": "say"}, old]}]}})
    run = cli(["--write", "--events", "Stop"], home, aitop_exe)
    assert run.err == (
        f"aitop install: updated 1 aitop hook in {path}; the previous version is in {path}.bak\n"
        f'aitop install:   Stop: command "/old/venv/bin/aitop hook" → "{aitop_exe} hook"; '
        "timeout 30 → 5\n"
    )
    assert json.loads(path.read_text()) == {
        "hooks": {
            "Stop": [
                {
                    "hooks": [
                        {"command": "say"},
                        {"type": "command", "command": f"{aitop_exe} hook", "timeout": 5},
                    ]
                }
            ]
        }
    }


def test_custom_hook_command_kept_on_reinstall(home: Path, aitop_exe: Path) -> None:
    """What the user added to aitop's hook command (an assignment, a wrapper, a socket of
    their own, other arguments) is theirs: installing the same aitop again keeps every byte."""
    path = settings_file(home)
    assert cli(["--write"], home, aitop_exe).code == 0
    settings = json.loads(path.read_text())
    customised = {
        "SessionStart": f"AITOP_TAG=work {aitop_exe} hook --socket /run/work.sock",
        "Stop": f"env FOO=1 {aitop_exe} hook --agent claude-code",
        "PreToolUse": f'AITOP_TAG="$PROJECT" nice -n 5 {aitop_exe} hook 2>/dev/null || true',
    }
    for event, command in customised.items():
        settings["hooks"][event][0]["hooks"][0]["command"] = command
    data = write_settings(path, settings)
    run = cli(["--write"], home, aitop_exe)
    assert (run.code, run.out) == (0, "")
    assert run.err == (
        f"aitop install: aitop's 14 hooks ({', '.join(HOOK_EVENTS)}) are already in {path}; "
        "nothing to write\n"
    )
    assert path.read_bytes() == data
    assert listing(path.parent) == ["settings.json"]


@pytest.mark.parametrize(
    ("old", "options", "new"),
    [
        (
            "AITOP_TAG=work /old/bin/aitop hook --socket /run/work.sock",
            [],
            "AITOP_TAG=work {exe} hook --socket /run/work.sock",
        ),
        (
            "env FOO=1 aitop hook --agent claude-code",
            [],
            "env FOO=1 {exe} hook --agent claude-code",
        ),
        (
            "AITOP_TAG=work {exe} hook --socket /run/work.sock",
            ["--socket", "/run/new.sock"],
            "AITOP_TAG=work {exe} hook --socket /run/new.sock",
        ),
        (
            "env FOO=1 /old/bin/aitop hook --agent claude-code 2>/dev/null",
            ["--socket", "/run/new.sock"],
            "env FOO=1 {exe} hook --socket /run/new.sock --agent claude-code 2>/dev/null",
        ),
    ],
    ids=["moved", "by-name", "socket-given", "moved-and-socket-given"],
)
def test_custom_hook_command_kept_when_aitop_moved_or_a_socket_is_given(
    home: Path, aitop_exe: Path, old: str, options: list[str], new: str
) -> None:
    """Install changes only what it must (the executable, a `--socket` given to it) and
    says exactly that, old → new; never \"updated in place\"."""
    path = settings_file(home)
    old, new = old.format(exe=aitop_exe), new.format(exe=aitop_exe)
    hook = {"type": "command", "command": old, "timeout": 5}
    original = write_settings(path, {"hooks": {"Stop": [{"hooks": [hook]}]}})
    run = cli(["--write", "--events", "Stop", *options], home, aitop_exe)
    assert (run.code, run.out) == (0, "")
    assert run.err == (
        f"aitop install: updated 1 aitop hook in {path}; the previous version is in {path}.bak\n"
        f"aitop install:   Stop: command {jsontext.quoted(old)} → {jsontext.quoted(new)}\n"
    )
    assert path.read_bytes() == jsontext.dump_settings(
        {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": new, "timeout": 5}]}]}}
    )
    assert path.with_name("settings.json.bak").read_bytes() == original


def test_the_summary_groups_hooks_with_the_same_change(home: Path, aitop_exe: Path) -> None:
    path = settings_file(home)
    installed, _ = inst.install_hooks(
        {}, "/old/bin/aitop hook", ["Stop", "PreToolUse", "PostToolUse"]
    )
    installed["hooks"]["Stop"][0]["hooks"][0]["async"] = True
    installed["hooks"]["SessionEnd"] = [
        {"hooks": [{"command": "AITOP_TAG=x /old/bin/aitop hook --agent claude-code"}]}
    ]
    write_settings(path, installed)
    run = cli(["--events", "Stop,PreToolUse,PostToolUse,SessionEnd"], home, aitop_exe)
    assert run.err == (
        f"aitop install: would update 4 aitop hooks in {path}; run with --write to apply\n"
        f'aitop install:   Stop: command "/old/bin/aitop hook" → "{aitop_exe} hook"; '
        "async true → (none)\n"
        "aitop install:   PreToolUse, PostToolUse: "
        f'command "/old/bin/aitop hook" → "{aitop_exe} hook"\n'
        "aitop install:   SessionEnd: command "
        '"AITOP_TAG=x /old/bin/aitop hook --agent claude-code" → '
        f'"AITOP_TAG=x {aitop_exe} hook --agent claude-code"; '
        'type (none) → "command"; timeout (none) → 5\n'
    )


def test_a_symlinked_settings_file_is_written_through_to_its_target(
    tmp_path: Path, home: Path, aitop_exe: Path
) -> None:
    target = tmp_path / "dotfiles" / "claude.json"
    original = write_settings(target, {"model": "opus"}, mode=0o640)
    link = settings_file(home)
    link.parent.mkdir()
    link.symlink_to(target)
    assert cli(["--write"], home, aitop_exe).code == 0
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert json.loads(target.read_text())["model"] == "opus"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.with_name("claude.json.bak").read_bytes() == original
    assert listing(link.parent) == ["settings.json"]


def test_a_dangling_symlink_gets_its_target_created(
    tmp_path: Path, home: Path, aitop_exe: Path
) -> None:
    target = tmp_path / "dotfiles" / "claude.json"
    link = settings_file(home)
    link.parent.mkdir()
    link.symlink_to(target)
    assert cli(["--write"], home, aitop_exe).code == 0
    assert link.is_symlink()
    assert json.loads(target.read_text()) == {"hooks": expected_hooks(f"{aitop_exe} hook")}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_uninstall_removes_exactly_what_install_added(home: Path, aitop_exe: Path) -> None:
    path = settings_file(home)
    original = write_settings(
        path,
        {
            "env": {"X": "1"},
            "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"command": "guard"}]}]},
            "big": jsontext.RawNumber("123456789012345678901234567890"),
            "huge": jsontext.RawNumber("1e400"),
        },
    )
    assert cli(["--write"], home, aitop_exe).code == 0
    installed = path.read_text()
    assert "123456789012345678901234567890" in installed
    assert "1e400" in installed
    run = cli(["--uninstall", "--write"], home, aitop_exe)
    assert run.code == 0
    in_file_order = ["PreToolUse", *(e for e in HOOK_EVENTS if e != "PreToolUse")]
    assert run.err == (
        f"aitop install: removed aitop's 14 hooks ({', '.join(in_file_order)}) from {path}; "
        f"the previous version is in {path}.bak\n"
    )
    assert path.read_bytes() == original


def test_uninstall_dry_run_prints_and_keeps_the_file(home: Path, aitop_exe: Path) -> None:
    cli(["--write"], home, aitop_exe)
    path = settings_file(home)
    before = path.read_bytes()
    run = cli(["--uninstall"], home, aitop_exe)
    assert run.out == "{}\n"
    assert run.err == (
        f"aitop install: would remove aitop's 14 hooks ({', '.join(HOOK_EVENTS)}) from {path}; "
        "run with --write to apply\n"
    )
    assert path.read_bytes() == before


def test_uninstall_without_a_file_creates_nothing(home: Path, aitop_exe: Path) -> None:
    run = cli(["--uninstall", "--write"], home, aitop_exe)
    assert (run.code, run.out) == (0, "")
    assert (
        run.err == f"aitop install: no settings file at {settings_file(home)}; nothing to remove\n"
    )
    assert not (home / ".claude").exists()


def test_uninstall_without_aitop_hooks_writes_nothing(home: Path, aitop_exe: Path) -> None:
    path = settings_file(home)
    original = write_settings(path, {"hooks": {}})
    run = cli(["--uninstall", "--write"], home, aitop_exe)
    assert run.err == f"aitop install: no aitop hooks in {path}; nothing to write\n"
    assert path.read_bytes() == original
    assert listing(path.parent) == ["settings.json"]


def test_settings_path_from_option_claude_dir_or_environment(
    tmp_path: Path, home: Path, aitop_exe: Path
) -> None:
    explicit = tmp_path / "explicit" / "s.json"
    assert cli(["--write", "--settings", str(explicit)], home, aitop_exe).code == 0
    assert explicit.exists()
    from_env = tmp_path / "cfg"
    cli(["--write"], home, aitop_exe, CLAUDE_CONFIG_DIR=str(from_env))
    assert (from_env / "settings.json").exists()
    from_option = tmp_path / "opt"
    cli(["--write", "--claude-dir", str(from_option)], home, aitop_exe, CLAUDE_CONFIG_DIR="/x")
    assert (from_option / "settings.json").exists()
    assert not settings_file(home).exists()


def test_events_option_chooses_the_set(home: Path, aitop_exe: Path) -> None:
    run = cli(["--write", "--events", " Stop,PreToolUse,Stop, "], home, aitop_exe)
    assert run.code == 0
    assert list(json.loads(settings_file(home).read_text())["hooks"]) == ["Stop", "PreToolUse"]


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            "Stop,WorktreeCreate",
            "aitop: error: --events: aitop never registers WorktreeCreate (its hooks must print "
            "a path, so a forwarder there breaks it); leave WorktreeCreate out\n",
        ),
        (
            "pretooluse",
            "aitop: error: --events: unknown hook event 'pretooluse'; did you mean PreToolUse?\n",
        ),
        (
            "Bogus",
            f"aitop: error: --events: unknown hook event 'Bogus'; aitop uses: "
            f"{','.join(HOOK_EVENTS)}\n",
        ),
        (
            " , ",
            f"aitop: error: --events is empty; name one or more of: {', '.join(HOOK_EVENTS)}\n",
        ),
    ],
)
def test_events_option_refuses_worktree_create_and_unknown_names(
    home: Path, aitop_exe: Path, events: str, message: str
) -> None:
    run = cli(["--write", "--events", events], home, aitop_exe)
    assert (run.code, run.out, run.err) == (2, "", message)
    assert not (home / ".claude").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--check", "--write"], "argument --write: not allowed with argument --check"),
        (["--write", "--dry-run"], "argument --dry-run: not allowed with argument --write"),
        (["--check", "--uninstall"], "--check and --uninstall do not go together; use one of them"),
        (["--uninstall", "--events", "Stop"], "--events does not go with --uninstall"),
    ],
)
def test_options_that_do_not_go_together(
    home: Path, aitop_exe: Path, args: list[str], message: str
) -> None:
    run = cli(args, home, aitop_exe)
    assert run.code == 2
    assert run.err.startswith(f"aitop: error: {message}")


def test_warns_when_aitop_looks_temporary(
    home: Path, aitop_exe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inst, "_temporary_dirs", lambda: (str(aitop_exe.parent),))
    run = cli([], home, aitop_exe)
    assert run.err.splitlines()[0] == (
        f"aitop install: warning: {aitop_exe} looks temporary (under {aitop_exe.parent}); the "
        "hooks break when it is deleted: install aitop somewhere lasting and run this again"
    )


def test_warns_about_a_matcher_that_hides_events_from_aitop(home: Path, aitop_exe: Path) -> None:
    write_settings(
        settings_file(home),
        {"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"command": "aitop hook"}]}]}},
    )
    run = cli(["--events", "PreToolUse"], home, aitop_exe)
    assert run.err.splitlines()[0] == (
        'aitop install: warning: aitop\'s PreToolUse hook is in a group with matcher "Bash", so '
        "it sees only what matches; to see everything: aitop install --uninstall --write && "
        "aitop install --write"
    )


def test_a_file_changed_while_working_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b"{}")
    with pytest.raises(AitopError) as raised:
        sfile.write_settings(str(path), b'{"a": 1}\n', previous=b"")
    assert raised.value.line() == (
        f"aitop: error: {path} changed while aitop was working; nothing was written; run it again"
    )
    assert path.read_bytes() == b"{}"
    assert listing(tmp_path) == ["settings.json"]


def test_an_empty_file_is_read_as_empty_settings(home: Path, aitop_exe: Path) -> None:
    path = settings_file(home)
    path.parent.mkdir()
    path.write_bytes(b"\n  \n")
    assert cli(["--write"], home, aitop_exe).code == 0
    assert json.loads(path.read_text()) == {"hooks": expected_hooks(f"{aitop_exe} hook")}
    assert path.with_name("settings.json.bak").read_bytes() == b"\n  \n"


# ---------------------------------------------------------------------------------------
# every error: exit 2, one line with file:line:col, the file byte-identical

ERROR_CASES = [
    (
        "malformed",
        b'{"permissions": {"allow": ["Bash"]},\n  "model": "opus"\n  "x": 1}',
        "3:3: expecting ',' or '}', found '\"'",
    ),
    (
        "trailing comma",
        b'{"a": [1, 2,]}',
        "1:13: a comma before ']' (JSON allows no trailing comma)",
    ),
    (
        "trailing comma in object",
        b'{"a": 1,\n}',
        "2:1: a comma before '}' (JSON allows no trailing comma)",
    ),
    ("truncated", b'{"a": [1, 2', "1:12: unexpected end of file, expecting ',' or ']'"),
    ("single quotes", b"{'a': 1}", '1:2: expecting a key in double quotes, found "\'"'),
    ("comment", b'{"a": 1} // mine', "1:10: unexpected text after the end of the JSON value"),
    ("root array", b"[]", "1:1: the settings are an array, expected an object"),
    ("root string", b'  "x"', "1:3: the settings are a string, expected an object"),
    ("root null", b"null", "1:1: the settings are null, expected an object"),
    (
        "hooks list",
        b'{"hooks": []}',
        '1:11: "hooks" is an array, expected an object of event names',
    ),
    (
        "hooks string",
        b'{"hooks": "x"}',
        '1:11: "hooks" is a string, expected an object of event names',
    ),
    ("hooks null", b'{"hooks": null}', '1:11: "hooks" is null, expected an object of event names'),
    (
        "event not a list",
        b'{"hooks": {\n  "Stop": {"hooks": []}}}',
        '2:11: "hooks"."Stop" is an object, expected a list of matcher groups',
    ),
    (
        "group not an object",
        b'{"hooks": {"Stop": [{"hooks": []}, "aitop hook"]}}',
        '1:36: "hooks"."Stop"[1] is a string, expected a matcher group object',
    ),
    (
        "group hooks not a list",
        b'{"hooks": {"Stop": [{"hooks": {"type": "command"}}]}}',
        '1:31: "hooks"."Stop"[0]."hooks" is an object, expected a list',
    ),
    (
        "duplicate key",
        b'{"hooks": {},\n "hooks": {"Stop": []}}',
        '2:2: duplicate key "hooks" (Claude Code would silently use only the last)',
    ),
    ("NaN", b'{"a": NaN}', "1:7: NaN is not valid JSON (Claude Code cannot read it either)"),
    (
        "Infinity",
        b'{"a": [Infinity]}',
        "1:8: Infinity is not valid JSON (Claude Code cannot read it either)",
    ),
    (
        "-Infinity",
        b'{"a": -Infinity}',
        "1:7: -Infinity is not valid JSON (Claude Code cannot read it either)",
    ),
    (
        "byte order mark",
        b"\xef\xbb\xbf{}",
        "1:1: the file starts with a byte order mark (BOM), which JSON does not allow",
    ),
    ("not UTF-8", b'{"a":\n "caf\xe9"}', "2:6: not UTF-8 text"),
    ("control character", b'{"a": "x\ty"}', "1:9: Invalid control character at"),
    (
        "lone surrogate",
        b'{"a": "\\ud800"}',
        "1:7: a string holds an unpaired UTF-16 surrogate escape, which aitop cannot write back",
    ),
    ("too deep", b'{"a": ' + b"[" * 300, "1:262: nested more than 256 levels deep"),
]


@pytest.mark.parametrize(
    ("data", "what"),
    [(data, what) for _, data, what in ERROR_CASES],
    ids=[c[0] for c in ERROR_CASES],
)
@pytest.mark.parametrize("mode", [["--write"], ["--uninstall", "--write"], []])
def test_unusable_settings_exit_2_and_stay_byte_identical(
    home: Path, aitop_exe: Path, data: bytes, what: str, mode: list[str]
) -> None:
    path = settings_file(home)
    path.parent.mkdir()
    path.write_bytes(data)
    run = cli(mode, home, aitop_exe)
    assert (run.code, run.out) == (2, "")
    assert run.err == f"aitop: error: {path}:{what}; nothing was written\n"
    assert path.read_bytes() == data
    assert listing(path.parent) == ["settings.json"]


def test_a_directory_in_place_of_the_file_is_refused(home: Path, aitop_exe: Path) -> None:
    path = settings_file(home)
    path.mkdir(parents=True)
    run = cli(["--write"], home, aitop_exe)
    assert (run.code, run.err) == (
        2,
        f"aitop: error: {path}: not a regular file; nothing was written\n",
    )
    assert listing(path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_refused(home: Path, aitop_exe: Path) -> None:
    path = settings_file(home)
    original = write_settings(path, {"a": 1}, mode=0o000)
    run = cli(["--write"], home, aitop_exe)
    assert (run.code, run.err) == (
        2,
        f"aitop: error: {path}: cannot read: Permission denied; nothing was written\n",
    )
    path.chmod(0o600)
    assert path.read_bytes() == original


# ---------------------------------------------------------------------------------------
# --check


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[Path]:
    """A listening socket where the monitor's would be."""
    path = tmp_path / "m.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    yield path
    server.close()


def test_check_all_well_exits_0(home: Path, aitop_exe: Path, monitor: Path) -> None:
    """Hooks installed with --socket: --check probes that socket, not the default one."""
    cli(["--write", "--socket", str(monitor)], home, aitop_exe)
    run = cli(["--check"], home, aitop_exe)
    assert (run.code, run.err) == (0, "")
    assert run.out == (
        "ok: 14 of 14 hook events registered in ~/.claude/settings.json\n"
        f"ok: hooks run {aitop_exe}\n"
        f"ok: a monitor is listening on {monitor}\n"
    )
    assert cli(["--check", "--socket", str(monitor)], home, aitop_exe).out == run.out


def test_check_says_when_the_hooks_send_elsewhere(
    tmp_path: Path, home: Path, aitop_exe: Path, monitor: Path
) -> None:
    other = tmp_path / "other.sock"
    cli(["--write", "--socket", str(other)], home, aitop_exe)
    run = cli(["--check", "--socket", str(monitor)], home, aitop_exe)
    assert run.code == 1
    assert (
        f"problem: the hooks send to {other}, not to {monitor}; run: aitop install --write"
        f" --socket {monitor}\n"
    ) in run.out
    # hooks that name no socket reach another one only through the agent's environment
    # (a re-install keeps a --socket already in the hooks: take them out first)
    cli(["--uninstall", "--write"], home, aitop_exe)
    cli(["--write"], home, aitop_exe)
    run = cli(["--check", "--socket", str(monitor)], home, aitop_exe)
    assert run.code == 0
    assert (
        f"warning: the hooks name no socket: they reach {monitor} only if Claude Code runs with"
        f" AITOP_SOCKET={monitor}; to be sure, run: aitop install --write --socket {monitor}\n"
    ) in run.out
    assert cli(["--check"], home, aitop_exe, AITOP_SOCKET=str(monitor)).code == 0


def test_check_without_settings_or_monitor_says_what_to_do(home: Path, aitop_exe: Path) -> None:
    run = cli(["--check"], home, aitop_exe)
    assert run.code == 1
    assert run.out == (
        "problem: no settings file at ~/.claude/settings.json; run: aitop install --write\n"
        "problem: no monitor listening on ~/.aitop/aitop.sock; start aitop in another terminal\n"
    )


def test_check_finds_a_missing_aitop_missing_events_and_a_stale_socket(
    tmp_path: Path, home: Path, aitop_exe: Path
) -> None:
    stale = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(stale))
    dead.close()  # the file stays, nobody listens: connection refused
    command = f"/old/venv/bin/aitop hook --socket {stale}"
    installed, _ = inst.install_hooks({}, command, ["Stop", "PreToolUse"])
    write_settings(settings_file(home), installed)
    run = cli(["--check"], home, aitop_exe)
    assert run.code == 1
    assert run.out == (
        "problem: 2 of 14 hook events registered in ~/.claude/settings.json (missing: "
        "SessionStart, SessionEnd, UserPromptSubmit, PostToolUse, PostToolUseFailure, "
        "StopFailure, SubagentStart, SubagentStop, PreCompact, PostCompact, Notification, "
        "PostModelSwitch); run: aitop install --write\n"
        "problem: hooks point at /old/venv/bin/aitop, which does not exist; "
        "run: aitop install --write\n"
        f"problem: no monitor listening (a stale socket) on {stale}; "
        "start aitop in another terminal\n"
    )


def test_check_finds_worktree_create_async_duplicates_and_names_without_a_path(
    home: Path, aitop_exe: Path, monitor: Path
) -> None:
    hook = {"type": "command", "command": f"{aitop_exe} hook"}
    write_settings(
        settings_file(home),
        {
            "hooks": {
                "Stop": [{"hooks": [hook, {**hook, "async": True}]}],
                "WorktreeCreate": [{"hooks": [{"command": "aitop hook"}]}],
            }
        },
    )
    run = cli(["--check", "--events", "Stop"], home, aitop_exe, AITOP_SOCKET=str(monitor))
    assert run.code == 1
    assert run.out == (
        "ok: 1 of 1 hook events registered in ~/.claude/settings.json\n"
        f"ok: hooks run {aitop_exe}\n"
        "problem: hooks run `aitop` by name and it is not on PATH; run: aitop install --write\n"
        "problem: aitop is registered 2 times for Stop, so those events count 2 times; "
        "run: aitop install --write\n"
        "problem: aitop is registered for WorktreeCreate, which breaks it (those hooks must "
        "print a path); run: aitop install --write\n"
        "problem: aitop's Stop hook is async, so Claude Code drops its calls when `claude -p` "
        "exits; run: aitop install --write\n"
        f"ok: a monitor is listening on {monitor}\n"
    )


def test_check_and_uninstall_recognise_custom_hook_commands(
    home: Path, aitop_exe: Path, monitor: Path
) -> None:
    """Commands a re-install keeps are still aitop's: --check counts them and finds the
    program each one runs (a Python after an assignment too), uninstall removes them."""
    python = os.path.abspath(sys.executable)
    commands = [
        f"AITOP_TAG=work {aitop_exe} hook --socket {monitor}",
        f"env FOO=1 {aitop_exe} hook --agent claude-code 2>/dev/null || true",
        f"AITOP_TAG=work {python} -X dev -m aitop hook",
    ]
    settings = {
        "hooks": {
            event: [{"hooks": [{"type": "command", "command": commands[i % 3], "timeout": 5}]}]
            for i, event in enumerate(HOOK_EVENTS)
        }
    }
    path = settings_file(home)
    write_settings(path, settings)
    run = cli(["--check", "--socket", str(monitor)], home, aitop_exe)
    assert run.out.splitlines()[:3] == [
        "ok: 14 of 14 hook events registered in ~/.claude/settings.json",
        f"ok: hooks run {aitop_exe}",
        f"ok: hooks run {python}",
    ]
    assert cli(["--uninstall", "--write"], home, aitop_exe).code == 0
    assert path.read_bytes() == b"{}\n"


def test_check_reports_an_unreadable_file_as_a_problem_and_leaves_it(
    home: Path, aitop_exe: Path, monitor: Path
) -> None:
    path = settings_file(home)
    path.parent.mkdir()
    path.write_bytes(b"{oops")
    run = cli(["--check", "--socket", str(monitor)], home, aitop_exe)
    assert run.code == 1
    assert run.out.splitlines()[0] == (
        f"problem: {path}:1:2: expecting a key in double quotes, found 'o'; fix it by hand "
        "(aitop never rewrites a file it cannot read)"
    )
    assert path.read_bytes() == b"{oops"


def test_check_probe_connects_and_sends_nothing(tmp_path: Path) -> None:
    """The monitor counts a zero-byte connection as a probe, not as a malformed frame."""
    path = tmp_path / "p.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        assert inst.probe_monitor(str(path)) is None
        connection, _ = server.accept()
        with connection:
            connection.settimeout(5)
            assert connection.recv(16) == b""


# ---------------------------------------------------------------------------------------
# install ∘ uninstall through real files


@settings(max_examples=25)
@given(without_aitop)
def test_files_install_then_uninstall_are_byte_identical(original: dict[str, Any]) -> None:
    events = list(HOOK_EVENTS)
    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        exe = make_exe(home / "bin" / "aitop")
        path = settings_file(home)
        data = write_settings(path, original)
        assert cli(["--write"], home, exe).code == 0
        assert cli(["--uninstall", "--write"], home, exe).code == 0
        assert path.read_bytes() == jsontext.dump_settings(normalised(original, events))
        if normalised(original, events) == original:
            assert path.read_bytes() == data


# ---------------------------------------------------------------------------------------
# a real process


def test_python_dash_m_aitop_install_writes_working_settings(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    environ = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", os.defpath),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "aitop", "install", "--write"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    written = json.loads(settings_file(home).read_text())
    assert list(written["hooks"]) == list(HOOK_EVENTS)
    commands = {g["hooks"][0]["command"] for groups in written["hooks"].values() for g in groups}
    assert len(commands) == 1
    (command,) = commands
    assert inst.is_aitop_command(command)
    program = inst.aitop_program(command)
    assert program is not None
    assert os.path.isabs(program)
    assert os.access(program, os.X_OK)
