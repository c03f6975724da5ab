"""`aitop install --agent codex`: aitop's hooks into Codex's hooks.json with the guarantees
Claude Code's settings get, appended where they move none of the user's hooks (Codex keys
trust by position), trusted through Codex itself; and `--check` for every agent (#12, #13).

The merge is tested as pure functions (hypothesis, over arbitrary hooks.json documents with
other hooks and old aitop hooks anywhere); the command in-process through `aitop.cli.main`
with a fake environment. Codex's own answers come from a stand-in (tests/fake_codex.py) here,
for the failures a real Codex will not produce on demand; the real Codex 0.171.0 proves the
trust round trip in tests/e2e/test_real_codex_install.py.
"""

from __future__ import annotations

import copy
import io
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitop.cli import main
from aitop.env import Env
from aitop.install_command import installable
from aitop.providers.codex import install as cinst
from aitop.providers.codex import trust as ctrust
from aitop.providers.codex.hooks import HOOK_EVENTS, KNOWN_EVENTS
from aitop.providers.install import jsontext
from aitop.providers.install.command import update_command

CMD = "/opt/aitop/bin/aitop hook --agent codex"
FAKE_CODEX = Path(__file__).resolve().parent / "fake_codex.py"


# ---------------------------------------------------------------------------------------
# helpers


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err


@pytest.fixture(autouse=True)
def no_temporary_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    """tmp_path is under /tmp: without this every run would warn that aitop looks temporary."""
    monkeypatch.setattr(cinst, "_temporary_dirs", lambda: ())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    (path / ".codex").mkdir(parents=True)
    return path


@pytest.fixture
def aitop_exe(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "aitop"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return exe


@pytest.fixture
def codex_bin(tmp_path: Path) -> Path:
    """A directory whose `codex` is the stand-in (put it on PATH to use it)."""
    directory = tmp_path / "codex-bin"
    directory.mkdir()
    codex = directory / "codex"
    codex.write_text(f"#!{sys.executable}\nexec(open({str(FAKE_CODEX)!r}).read())\n")
    codex.chmod(0o755)
    return directory


def cli(args: list[str], home: Path, executable: Path, path: str = "", **environ: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    env = Env(
        stdout=out,
        stderr=err,
        environ={"HOME": str(home), "PATH": path or str(home / "no-such-bin"), **environ},
        executable=str(executable),
    )
    code = main(["install", *args], env=env)
    return Run(code, out.getvalue(), err.getvalue())


def hooks_file(home: Path) -> Path:
    return home / ".codex" / "hooks.json"


def write_hooks(path: Path, document: Any, mode: int = 0o600) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = jsontext.dump(document)
    path.write_bytes(data)
    path.chmod(mode)
    return data


def command_of(exe: Path) -> str:
    return f"{exe} hook --agent codex"


def aitop_group(command: str, event: str) -> dict[str, Any]:
    return {"hooks": [cinst.aitop_hook(command, event)]}


def user_hook(command: str) -> dict[str, Any]:
    return {"type": "command", "command": command}


def fake_trust(home: Path) -> dict[str, str]:
    path = home / ".codex" / "fake-trust.json"
    return json.loads(path.read_text()) if path.exists() else {}


def fake_requests(home: Path) -> list[dict[str, Any]]:
    path = home / ".codex" / "fake-requests.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# ---------------------------------------------------------------------------------------
# strategies: hooks.json documents, every user hook with a command of its own, so its
# position can be followed through a merge

keys = st.text(max_size=6)
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8)
small_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=2) | st.dictionaries(keys, children, max_size=2),
    max_leaves=3,
)
USER = "user-hook"  # replaced by a unique command per hook
user_hooks = st.fixed_dictionaries(
    {"type": st.just("command"), "command": st.just(USER)},
    optional={"timeout": st.integers(0, 600), "statusMessage": keys, "async": st.booleans()},
) | small_values.filter(lambda v: not cinst.is_aitop_hook(v) and v != USER)
old_aitop_commands = st.sampled_from(
    [
        CMD,
        "/old/venv/bin/aitop hook --agent codex",
        "AITOP_TAG=work /opt/aitop/bin/aitop hook --agent codex",
        "/opt/aitop/bin/aitop hook",
        "/usr/bin/python3 -m aitop hook --agent claude-code --socket /x.sock",
    ]
)
old_aitop_hooks = st.fixed_dictionaries(
    {"type": st.just("command"), "command": old_aitop_commands},
    optional={"timeout": st.integers(1, 60), "async": st.booleans(), "statusMessage": keys},
)
event_names = st.sampled_from(KNOWN_EVENTS) | st.text(max_size=8)


def groups(hook_strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    with_hooks = st.fixed_dictionaries(
        {"hooks": st.lists(hook_strategy, max_size=3)},
        optional={"matcher": st.sampled_from(["", "*", "Bash", "Edit|Write"]), "x": small_values},
    )
    without_hooks = st.fixed_dictionaries({}, optional={"matcher": keys, "x": small_values})
    return with_hooks | without_hooks


def _number_user_hooks(document: dict[str, Any]) -> dict[str, Any]:
    count = 0
    for event_groups in document.get("hooks", {}).values():
        for group in event_groups:
            for hook in group.get("hooks", []):
                if isinstance(hook, dict) and hook.get("command") == USER:
                    hook["command"] = f"{USER}-{count}"
                    count += 1
    return document


@st.composite
def documents(draw: st.DrawFn, hook_strategy: st.SearchStrategy[Any]) -> dict[str, Any]:
    """Arbitrary hooks.json objects, sometimes with `hooks` (at any position)."""
    items = list(
        draw(st.dictionaries(keys.filter(lambda k: k != "hooks"), small_values, max_size=3)).items()
    )
    if draw(st.booleans()):
        hooks = draw(
            st.dictionaries(event_names, st.lists(groups(hook_strategy), max_size=3), max_size=4)
        )
        items.insert(draw(st.integers(0, len(items))), ("hooks", hooks))
    return _number_user_hooks(dict(items))


chosen_events = st.just(list(HOOK_EVENTS)) | st.lists(
    st.sampled_from(KNOWN_EVENTS), min_size=1, max_size=5, unique=True
)
install_commands = st.sampled_from(
    [CMD, f"{CMD} --socket /run/m.sock", "/usr/bin/python3 -m aitop hook --agent codex"]
)
merge_examples = settings(max_examples=max(20, settings().max_examples // 2))
without_aitop = documents(user_hooks)
with_old_aitop = documents(user_hooks | old_aitop_hooks)


def same(a: Any, b: Any) -> bool:
    """Equal including key order."""
    return jsontext.dump(a) == jsontext.dump(b)


def normalised(document: dict[str, Any], events: list[str]) -> dict[str, Any]:
    """What install-then-uninstall can give back: an empty list already there for an event
    aitop registers (or an empty `hooks`) reads like none at all, and goes."""
    result = copy.deepcopy(document)
    hooks = result.get("hooks")
    if isinstance(hooks, dict):
        for event in events:
            if hooks.get(event) == []:
                del hooks[event]
        if not hooks:
            del result["hooks"]
    return result


def user_positions(document: dict[str, Any]) -> dict[str, tuple[str, int, int]]:
    """Where each numbered user hook is: (event, group index, handler index)."""
    found = {}
    for event, event_groups in document.get("hooks", {}).items():
        for g, group in enumerate(event_groups):
            for h, hook in enumerate(group.get("hooks", [])):
                if isinstance(hook, dict) and str(hook.get("command", "")).startswith(USER):
                    found[hook["command"]] = (event, g, h)
    return found


# ---------------------------------------------------------------------------------------
# the merge, as properties


@merge_examples
@given(without_aitop, chosen_events, install_commands)
def test_install_then_uninstall_returns_the_original(
    original: dict[str, Any], events: list[str], command: str
) -> None:
    installed = cinst.install_hooks(original, command, events)
    removed = cinst.uninstall_hooks(installed.document)
    assert same(removed.document, normalised(original, events))
    assert installed.moved == [] and removed.moved == []


@merge_examples
@given(with_old_aitop, chosen_events, install_commands)
def test_install_twice_equals_install_once(
    original: dict[str, Any], events: list[str], command: str
) -> None:
    once = cinst.install_hooks(original, command, events)
    twice = cinst.install_hooks(once.document, command, events)
    assert same(twice.document, once.document)
    assert not twice.changes.any and twice.moved == []


@merge_examples
@given(without_aitop, chosen_events, install_commands)
def test_install_moves_no_hook_of_the_user_and_appends_aitops_at_the_end(
    original: dict[str, Any], events: list[str], command: str
) -> None:
    merged = cinst.install_hooks(original, command, events)
    assert user_positions(merged.document) == user_positions(original)
    for event in events:
        groups_after = merged.document["hooks"][event]
        assert groups_after[-1] == aitop_group(command, event)
        assert groups_after[:-1] == original.get("hooks", {}).get(event, [])


@merge_examples
@given(with_old_aitop, chosen_events, install_commands)
def test_every_move_of_a_users_hook_is_reported_and_nothing_else_changes_for_them(
    original: dict[str, Any], events: list[str], command: str
) -> None:
    """Removing old or extra aitop hooks may move the user's later hooks: the merge says
    exactly which (in the events Codex loads), and keeps their order and content."""
    for merged in (
        cinst.install_hooks(original, command, events),
        cinst.uninstall_hooks(original),
    ):
        before, after = user_positions(original), user_positions(merged.document)
        assert set(after) == set(before)
        expected = {
            name: (before[name][1:], after[name][1:])
            for name in before
            if before[name] != after[name] and before[name][0] in KNOWN_EVENTS
        }
        reported = {
            m.hook["command"]: (m.before, m.after)
            for m in merged.moved
            if isinstance(m.hook, dict) and str(m.hook.get("command", "")).startswith(USER)
        }
        assert reported == expected
        for event in {e for e, _, _ in before.values()}:
            order = sorted((n for n in before if before[n][0] == event), key=lambda n: before[n])
            assert order == sorted(
                (n for n in after if after[n][0] == event), key=lambda n: after[n]
            )


@merge_examples
@given(with_old_aitop, chosen_events, install_commands)
def test_install_registers_aitop_once_for_exactly_the_chosen_events(
    original: dict[str, Any], events: list[str], command: str
) -> None:
    merged = cinst.install_hooks(original, command, events)
    found = [f.event for f in cinst.find_aitop_hooks(merged.document)]
    assert sorted(found) == sorted(events)
    for hook in cinst.find_aitop_hooks(merged.document):
        assert "async" not in hook.hook
        timeout = 3 if hook.event in ("SessionEnd", "Interrupt") else 5
        assert hook.hook["timeout"] == timeout
        assert "--agent codex" in hook.hook["command"]


@merge_examples
@given(with_old_aitop)
def test_uninstall_leaves_no_aitop_hook_and_every_other_key(original: dict[str, Any]) -> None:
    merged = cinst.uninstall_hooks(original)
    assert list(cinst.find_aitop_hooks(merged.document)) == []
    assert [(k, v) for k, v in merged.document.items() if k != "hooks"] == [
        (k, v) for k, v in original.items() if k != "hooks"
    ]


def test_a_hook_already_there_is_updated_where_it_is_and_keeps_what_the_user_added() -> None:
    document = {
        "hooks": {
            "Stop": [
                {"hooks": [{"type": "command", "command": "AITOP_TAG=w /old/aitop hook"}]},
                {"hooks": [user_hook("touch x")]},
            ]
        }
    }
    merged = cinst.install_hooks(document, CMD, ["Stop"])
    assert merged.document["hooks"]["Stop"] == [
        {
            "hooks": [
                {
                    "type": "command",
                    "command": "AITOP_TAG=w /opt/aitop/bin/aitop hook --agent codex",
                    "timeout": 5,
                }
            ]
        },
        {"hooks": [user_hook("touch x")]},
    ]
    assert (merged.changes.updated, merged.moved) == (["Stop"], [])


def test_removing_an_aitop_group_before_the_users_reports_the_move() -> None:
    document = {
        "hooks": {
            "Stop": [aitop_group(CMD, "Stop"), {"matcher": "x", "hooks": [user_hook("echo after")]}]
        }
    }
    merged = cinst.uninstall_hooks(document)
    assert merged.document == {
        "hooks": {"Stop": [{"matcher": "x", "hooks": [user_hook("echo after")]}]}
    }
    assert [(m.event, m.before, m.after, m.describe()) for m in merged.moved] == [
        ("Stop", (1, 0), (0, 0), 'Stop: "echo after"')
    ]


def test_options_install_adds_go_after_hook_in_the_order_install_writes_them() -> None:
    assert (
        update_command("AITOP_TAG=w /old/aitop hook 2>/dev/null", f"{CMD} --socket /s")
        == "AITOP_TAG=w /opt/aitop/bin/aitop hook --agent codex --socket /s 2>/dev/null"
    )
    assert update_command("/opt/aitop/bin/aitop hook --agent claude-code", CMD) == CMD


@pytest.mark.parametrize(
    ("command", "own"),
    [
        (CMD, True),
        (f"{CMD} --socket /run/a.sock", True),
        (f"{CMD} --socket '/run/a b.sock'", True),
        (f"{CMD} --socket run/a.sock", False),
        (f"{CMD} --socket=/run/a.sock", False),
        (f"AITOP_TAG=w {CMD}", False),
        (f"{CMD} ; rm -rf ~", False),
        (f"{CMD} --socket /a --socket /b", False),
        ("/elsewhere/aitop hook --agent codex", False),
        (None, False),
    ],
)
def test_the_commands_aitop_has_codex_trust(command: str | None, own: bool) -> None:
    assert cinst.is_own_command(command, CMD) is own


def test_the_events_are_codexs() -> None:
    assert KNOWN_EVENTS[:12] == HOOK_EVENTS
    assert set(KNOWN_EVENTS) - set(HOOK_EVENTS) == {"PreModelRequest", "PostModelRequest"}


# ---------------------------------------------------------------------------------------
# the command: files


def test_dry_run_prints_the_file_and_writes_nothing(home: Path, aitop_exe: Path) -> None:
    run = cli(["--agent", "codex"], home, aitop_exe)
    assert run.code == 0
    assert json.loads(run.out) == {
        "hooks": {event: [aitop_group(command_of(aitop_exe), event)] for event in HOOK_EVENTS}
    }
    assert run.err == (
        f"aitop install: would create {hooks_file(home)} with 12 hooks ({', '.join(HOOK_EVENTS)});"
        " run with --write to apply (aitop then asks Codex to trust them)\n"
    )
    assert not hooks_file(home).exists()


def test_write_without_codex_says_what_to_do_and_exits_0(home: Path, aitop_exe: Path) -> None:
    run = cli(["--agent", "codex", "--write"], home, aitop_exe)
    assert (run.code, run.out) == (0, "")
    assert run.err.splitlines() == [
        f"aitop install: created {hooks_file(home)} with 12 hooks ({', '.join(HOOK_EVENTS)})",
        "aitop install: Codex runs a new hook only once you trust it, and there is no `codex` on"
        ' PATH to ask: start codex and choose "Trust all and continue" (or review them with'
        " /hooks)",
    ]
    path = hooks_file(home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["hooks"]["SessionEnd"] == [
        {"hooks": [{"type": "command", "command": command_of(aitop_exe), "timeout": 3}]}
    ]


def test_write_keeps_the_users_hooks_key_order_mode_and_a_backup(
    home: Path, aitop_exe: Path
) -> None:
    original = {
        "description": "mine",
        "hooks": {"Stop": [{"hooks": [user_hook("touch x")]}], "Nope": []},
    }
    path = hooks_file(home)
    data = write_hooks(path, original, mode=0o640)
    assert cli(["--agent", "codex", "--write"], home, aitop_exe).code == 0
    written = json.loads(path.read_text())
    assert list(written) == ["description", "hooks"]
    assert written["hooks"]["Stop"] == [
        {"hooks": [user_hook("touch x")]},
        aitop_group(command_of(aitop_exe), "Stop"),
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert (path.parent / "hooks.json.bak").read_bytes() == data
    assert cli(["--agent", "codex", "--uninstall", "--write"], home, aitop_exe).code == 0
    assert path.read_bytes() == data


@settings(max_examples=25)
@given(without_aitop)
def test_files_install_then_uninstall_are_byte_identical(original: dict[str, Any]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        exe = root / "bin" / "aitop"
        exe.parent.mkdir()
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
        path = hooks_file(root)
        data = write_hooks(path, original)
        assert cli(["--agent", "codex", "--write"], root, exe).code == 0
        assert cli(["--agent", "codex", "--uninstall", "--write"], root, exe).code == 0
        assert path.read_bytes() == jsontext.dump(normalised(original, list(HOOK_EVENTS)))
        if normalised(original, list(HOOK_EVENTS)) == original:
            assert path.read_bytes() == data


def test_codex_home_from_option_or_environment(tmp_path: Path, home: Path, aitop_exe: Path) -> None:
    other = tmp_path / "elsewhere"
    assert (
        cli(["--agent", "codex", "--write", "--codex-home", str(other)], home, aitop_exe).code == 0
    )
    assert (other / "hooks.json").exists() and not hooks_file(home).exists()
    env_home = tmp_path / "from-env"
    run = cli(["--agent", "codex", "--write"], home, aitop_exe, CODEX_HOME=str(env_home))
    assert run.code == 0 and (env_home / "hooks.json").exists()


def test_the_summary_says_what_moved(home: Path, aitop_exe: Path) -> None:
    command = command_of(aitop_exe)
    document = {
        "hooks": {
            "Stop": [aitop_group(command, "Stop"), aitop_group("/old/aitop hook", "Stop")],
            "PreToolUse": [aitop_group(command, "PreToolUse"), {"hooks": [user_hook("echo y")]}],
        }
    }
    write_hooks(hooks_file(home), document)
    run = cli(["--agent", "codex", "--events", "Stop"], home, aitop_exe)
    assert run.err.splitlines()[-1] == (
        "aitop install: warning: this would move 1 of your hooks within hooks.json (PreToolUse:"
        ' "echo y"); Codex keys trust by position, so if you trusted it, Codex skips it until'
        ' you trust it again: start codex and choose "Trust all and continue" (or review them'
        " with /hooks)"
    )


ERROR_CASES = [
    ("malformed", b'{"hooks": {}\n  "x": 1}', "2:3: expecting ',' or '}', found '\"'"),
    ("root array", b"[]", "1:1: hooks.json holds an array, expected an object"),
    ("hooks null", b'{"hooks": null}', '1:11: "hooks" is null, expected an object of event names'),
    (
        "event not a list",
        b'{"hooks": {\n  "Stop": {"hooks": []}}}',
        '2:11: "hooks"."Stop" is an object, expected a list of matcher groups',
    ),
    (
        "group not an object",
        b'{"hooks": {"Stop": [{"hooks": []}, 5]}}',
        '1:36: "hooks"."Stop"[1] is a number, expected a matcher group object',
    ),
    (
        "group hooks not a list",
        b'{"hooks": {"Stop": [{"hooks": null}]}}',
        '1:31: "hooks"."Stop"[0]."hooks" is null, expected a list',
    ),
    (
        "duplicate key",
        b'{"hooks": {"Stop": [],\n "Stop": []}}',
        '2:2: duplicate key "Stop" (Codex refuses repeated keys, and a rewrite would keep only'
        " one)",
    ),
    (
        "NaN",
        b'{"hooks": {"Stop": [{"hooks": [{"timeout": NaN}]}]}}',
        "1:44: NaN is not valid JSON (Codex cannot read it either)",
    ),
    ("not UTF-8", b'{"a":\n "caf\xe9"}', "2:6: not UTF-8 text"),
    (
        "byte order mark",
        b"\xef\xbb\xbf{}",
        "1:1: the file starts with a byte order mark (BOM), which JSON does not allow",
    ),
]


@pytest.mark.parametrize(
    ("data", "what"), [(d, w) for _, d, w in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
@pytest.mark.parametrize("mode", [["--write"], ["--uninstall", "--write"], []])
def test_unusable_hooks_json_exits_2_and_stays_byte_identical(
    home: Path, aitop_exe: Path, codex_bin: Path, data: bytes, what: str, mode: list[str]
) -> None:
    path = hooks_file(home)
    path.write_bytes(data)
    run = cli(["--agent", "codex", *mode], home, aitop_exe, path=str(codex_bin))
    assert (run.code, run.out) == (2, "")
    assert run.err == f"aitop: error: {path}:{what}; nothing was written\n"
    assert path.read_bytes() == data
    assert sorted(p.name for p in path.parent.iterdir()) == ["hooks.json"]  # codex never ran


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--settings", "/x.json"],
            "aitop: error: --settings names Claude Code's settings file, not Codex's; for Codex"
            " give --codex-home DIR (its hooks are in DIR/hooks.json)",
        ),
        (
            ["--events", "Stop,Notification"],
            "aitop: error: --events: unknown Codex hook event 'Notification'; Codex has:"
            f" {','.join(KNOWN_EVENTS)}",
        ),
        (
            ["--events", "Stp"],
            "aitop: error: --events: unknown Codex hook event 'Stp'; did you mean Stop?",
        ),
        (
            ["--agent", "nobody"],
            "aitop: error: argument --agent: invalid choice: 'nobody' (choose from"
            f" {', '.join(repr(name) for name in installable())}); see 'aitop install --help'",
        ),
    ],
)
def test_bad_options_are_one_line(home: Path, aitop_exe: Path, args: list[str], error: str) -> None:
    run = cli(["--agent", "codex", *args], home, aitop_exe)
    assert (run.code, run.out, run.err) == (2, "", error + "\n")


# ---------------------------------------------------------------------------------------
# the command: trust, through (a stand-in for) codex app-server


def test_write_has_codex_trust_exactly_aitops_hooks(
    home: Path, aitop_exe: Path, codex_bin: Path
) -> None:
    """Only hooks that run exactly the command aitop writes: not the user's, and not an
    aitop hook the user added to (here a second command after it)."""
    command = command_of(aitop_exe)
    added_to = f"{command} ; rm -rf ~/tmp/x"
    write_hooks(
        hooks_file(home),
        {
            "hooks": {
                "Stop": [{"hooks": [user_hook("touch x")]}],
                "PreToolUse": [{"hooks": [{**user_hook(added_to), "timeout": 5}]}],
            }
        },
    )
    run = cli(["--agent", "codex", "--write"], home, aitop_exe, path=str(codex_bin))
    assert run.code == 0, run.err
    assert run.err.splitlines()[1:] == [
        "aitop install: Codex now trusts aitop's 11 hooks (Codex recorded it in"
        " ~/.codex/config.toml)",
        "aitop install: warning: Codex does not trust aitop's 1 hook (PreToolUse), whose command"
        f' is yours (aitop has Codex trust only a command it writes: "{command}", with or'
        ' without --socket PATH); start codex and choose "Trust all and continue" (or review'
        " them with /hooks)",
    ]
    trusted = fake_trust(home)
    assert len(trusted) == 11
    assert not any(key.endswith((":stop:0:0", ":pre_tool_use:0:0")) for key in trusted)
    again = cli(["--agent", "codex", "--write"], home, aitop_exe, path=str(codex_bin))
    assert "aitop install: Codex already trusts aitop's 11 hooks\n" in again.err
    writes = [r for r in fake_requests(home) if r.get("method") == "config/batchWrite"]
    assert len(writes) == 1  # nothing to trust the second time


def test_uninstall_has_codex_forget_the_trust_of_aitops_hooks_only(
    home: Path, aitop_exe: Path, codex_bin: Path
) -> None:
    path = hooks_file(home)
    data = write_hooks(path, {"hooks": {"Stop": [{"hooks": [user_hook("touch x")]}]}})
    cli(["--agent", "codex", "--write"], home, aitop_exe, path=str(codex_bin))
    trust_file = home / ".codex" / "fake-trust.json"
    users = {f"{os.path.realpath(path)}:stop:0:0": "sha256:the-users"}
    trust_file.write_text(json.dumps({**fake_trust(home), **users}))
    run = cli(["--agent", "codex", "--uninstall", "--write"], home, aitop_exe, path=str(codex_bin))
    assert run.code == 0, run.err
    assert run.err.splitlines()[-1] == (
        "aitop install: Codex removed its trust records for aitop's 12 removed hooks from"
        " ~/.codex/config.toml"
    )
    assert path.read_bytes() == data
    assert fake_trust(home) == users


def test_uninstall_without_codex_says_what_stays_and_nothing_when_nothing_was_removed(
    home: Path, aitop_exe: Path
) -> None:
    cli(["--agent", "codex", "--write"], home, aitop_exe)
    run = cli(["--agent", "codex", "--uninstall", "--write"], home, aitop_exe)
    assert (run.code, run.err.splitlines()[-1]) == (
        0,
        "aitop install: if Codex trusted aitop's removed hooks, its records of that stay in"
        " ~/.codex/config.toml (no `codex` on PATH to remove them); they trust nothing else",
    )
    again = cli(["--agent", "codex", "--uninstall", "--write"], home, aitop_exe)
    assert (again.code, again.err) == (
        0,
        f"aitop install: no aitop hooks in {hooks_file(home)}; nothing to write\n",
    )


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        (
            "exit",
            "codex app-server exited with status 3: Error: config.toml: expected a table at line 3",
        ),
        ("silent", "codex app-server did not answer initialize within 1 s"),
    ],
)
def test_a_codex_that_fails_or_hangs_is_one_line_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    aitop_exe: Path,
    codex_bin: Path,
    mode: str,
    why: str,
) -> None:
    monkeypatch.setattr(ctrust, "APP_SERVER_TIMEOUT_S", 1.0)
    monkeypatch.setattr(ctrust, "STOP_GRACE_S", 0.2)
    run = cli(
        ["--agent", "codex", "--write"], home, aitop_exe, path=str(codex_bin), FAKE_CODEX=mode
    )
    assert run.code == 1
    assert run.err.splitlines()[-1] == (
        f"aitop: error: could not ask Codex to trust aitop's hooks: {why}; start codex and"
        ' choose "Trust all and continue" (or review them with /hooks)'
    )
    assert json.loads(hooks_file(home).read_text())["hooks"]  # the file is written anyway
    check = cli(
        ["--agent", "codex", "--check"], home, aitop_exe, path=str(codex_bin), FAKE_CODEX=mode
    )
    assert (
        f"warning: cannot tell whether Codex trusts aitop's hooks ({why}); start codex and"
        ' choose "Trust all and continue" (or review them with /hooks)\n'
    ) in check.out


def test_a_trust_codex_does_not_confirm_is_an_error(
    home: Path, aitop_exe: Path, codex_bin: Path
) -> None:
    run = cli(
        ["--agent", "codex", "--write"],
        home,
        aitop_exe,
        path=str(codex_bin),
        FAKE_CODEX="ignore-writes",
    )
    assert run.code == 1
    assert run.err.splitlines()[-1] == (
        f"aitop: error: Codex did not confirm trust for aitop's 12 hooks ({', '.join(HOOK_EVENTS)});"
        ' start codex and choose "Trust all and continue" (or review them with /hooks)'
    )


def test_a_hooks_json_codex_cannot_read_is_said_in_codexs_words(
    home: Path, aitop_exe: Path, codex_bin: Path
) -> None:
    run = cli(
        ["--agent", "codex", "--write"],
        home,
        aitop_exe,
        path=str(codex_bin),
        FAKE_CODEX="unreadable",
    )
    assert run.code == 1
    path = os.path.realpath(hooks_file(home))
    assert run.err.splitlines()[-1] == (
        f"aitop: error: Codex cannot use {hooks_file(home)}: failed to parse hooks config {path}:"
        " unknown field `x` at line 1; fix the file (Codex runs none of its hooks until then),"
        " then run: aitop install --agent codex --write"
    )


# ---------------------------------------------------------------------------------------
# --check


def test_check_reports_untrusted_modified_and_trusted_hooks(
    home: Path, aitop_exe: Path, codex_bin: Path
) -> None:
    monitor = home / "no.sock"
    cli(["--agent", "codex", "--write"], home, aitop_exe)  # no codex on PATH: not trusted
    run = cli(
        ["--check", "--agent", "codex", "--socket", str(monitor)],
        home,
        aitop_exe,
        path=str(codex_bin),
    )
    assert run.code == 1
    assert run.out.splitlines() == [
        "ok: 12 of 12 hook events registered in ~/.codex/hooks.json",
        f"ok: hooks run {aitop_exe}",
        f"problem: Codex does not trust aitop's 12 hooks ({', '.join(HOOK_EVENTS)}), so it skips"
        " them without a word; run: aitop install --agent codex --write, or start codex and"
        ' choose "Trust all and continue" (or review them with /hooks)',
        "warning: the hooks name no socket: they reach"
        f" {monitor} only if Codex runs with AITOP_SOCKET={monitor}; to be sure, run: aitop"
        f" install --agent codex --write --socket {monitor}",
        "problem: no monitor listening on ~/no.sock; start aitop in another terminal",
    ]
    cli(["--agent", "codex", "--write"], home, aitop_exe, path=str(codex_bin))
    trusted = cli(["--check", "--agent", "codex"], home, aitop_exe, path=str(codex_bin))
    assert "ok: Codex trusts aitop's 12 hooks\n" in trusted.out
    path = hooks_file(home)
    document = json.loads(path.read_text())
    document["hooks"]["Stop"][0]["hooks"][0]["timeout"] = 9
    write_hooks(path, document)
    modified = cli(["--check", "--agent", "codex"], home, aitop_exe, path=str(codex_bin))
    assert (
        "problem: aitop's 1 hook (Stop) changed since Codex trusted them, so Codex skips them;"
        " run: aitop install --agent codex --write, or start codex and choose"
        ' "Trust all and continue" (or review them with /hooks)\n'
    ) in modified.out


def test_check_without_codex_cannot_tell_and_says_what_to_do(home: Path, aitop_exe: Path) -> None:
    cli(["--agent", "codex", "--write"], home, aitop_exe)
    run = cli(["--check", "--agent", "codex"], home, aitop_exe)
    assert run.out.splitlines()[2] == (
        "warning: cannot tell whether Codex trusts aitop's hooks: no `codex` on PATH to ask;"
        ' if codex says "Hooks need review" when it starts, choose "Trust all and continue"'
    )


def test_check_without_a_hooks_file(home: Path, aitop_exe: Path) -> None:
    run = cli(["--check", "--agent", "codex"], home, aitop_exe)
    assert run.code == 1
    assert run.out.splitlines()[0] == (
        "problem: no hooks file at ~/.codex/hooks.json; run: aitop install --agent codex --write"
    )


def test_check_covers_every_agent_found_each_in_its_own_lines(
    tmp_path: Path, home: Path, aitop_exe: Path
) -> None:
    """#13: both directories exist: both are checked, each under its name; one agent's
    problem fails the whole check."""
    (home / ".claude").mkdir()
    cli(["--write"], home, aitop_exe)
    cli(["--agent", "codex", "--write"], home, aitop_exe)
    run = cli(["--check"], home, aitop_exe)
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0] == "Claude Code:"
    assert lines[1] == "ok: 14 of 14 hook events registered in ~/.claude/settings.json"
    codex_at = lines.index("Codex:")
    assert lines[codex_at + 1] == "ok: 12 of 12 hook events registered in ~/.codex/hooks.json"
    assert (
        lines[-1]
        == "problem: no monitor listening on ~/.aitop/aitop.sock; start aitop in another terminal"
    )


@pytest.mark.parametrize(
    ("present", "given", "checked"),
    [
        ([], [], ["Claude Code"]),
        ([".codex"], [], ["Codex"]),
        ([".claude"], [], ["Claude Code"]),
        ([".claude", ".codex"], [], ["Claude Code", "Codex"]),
        ([".claude", ".codex"], ["--agent", "codex"], ["Codex"]),
        ([".claude", ".codex"], ["--settings", "S"], ["Claude Code"]),
        ([], ["--codex-home", "C"], ["Codex"]),
        (
            [".claude", ".codex", ".local/share/opencode", ".gemini"],
            [],
            ["Claude Code", "Codex", "OpenCode", "Gemini CLI"],
        ),
        ([".local/share/opencode", ".gemini"], [], ["OpenCode", "Gemini CLI"]),
    ],
)
def test_check_chooses_the_agents_found(
    tmp_path: Path, aitop_exe: Path, present: list[str], given: list[str], checked: list[str]
) -> None:
    root = tmp_path / "h"
    root.mkdir()
    for name in present:
        (root / name).mkdir(parents=True)
    args = [str(root / "x.json") if a == "S" else str(root / "c") if a == "C" else a for a in given]
    run = cli(["--check", *args], root, aitop_exe)
    titles = [line[:-1] for line in run.out.splitlines() if line.endswith(":")]
    if len(checked) > 1:
        assert titles == checked
    else:
        assert titles == []
        expected = "settings" if checked == ["Claude Code"] else "hooks file"
        assert expected in run.out.splitlines()[0]
