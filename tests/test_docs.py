"""The man page and the shell completions agree with the real argument parser:
no option missing, none invented; and the man page renders without warnings."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aitop.cli import build_parser
from aitop.providers.claude_code.hooks import HOOK_EVENTS

from conftest import ROOT

MAN = ROOT / "man" / "aitop.1"
BASH = ROOT / "completions" / "aitop.bash"
ZSH = ROOT / "completions" / "_aitop"
FISH = ROOT / "completions" / "aitop.fish"


def _parsers() -> dict[str, argparse.ArgumentParser]:
    main = build_parser()
    found = {"": main}
    for action in main._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


ALL_OPTIONS = set().union(*(_options(p) for p in _parsers().values()))
COMMANDS = set(_parsers()) - {""}


def _man_text() -> str:
    """The page's words with roff escapes taken out: `\\-\\-socket` -> `--socket`."""
    text = MAN.read_text()
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-")
    return text


def _fish_options(text: str) -> set[str]:
    lines = "\n".join(line for line in text.splitlines() if line.startswith("complete "))
    longs = {"--" + m for m in re.findall(r" -l ([a-z][a-z-]*)", lines)}
    shorts = {"-" + m for m in re.findall(r" -s ([a-zA-Z])\b", lines)}
    return longs | shorts


def _mentioned(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*[a-z]|-[a-zA-Z])(?![\w-])", text))


@pytest.mark.parametrize("path", [MAN, BASH, ZSH], ids=lambda p: p.name)
def test_every_option_is_documented(path: Path) -> None:
    text = _man_text() if path == MAN else path.read_text()
    missing = {o for o in ALL_OPTIONS if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text)}
    assert not missing, f"{path.name} does not mention {sorted(missing)}"


def test_fish_completes_every_option() -> None:
    assert _fish_options(FISH.read_text()) == ALL_OPTIONS


@pytest.mark.parametrize("path", [MAN, BASH, ZSH], ids=lambda p: p.name)
def test_no_option_is_invented(path: Path) -> None:
    text = _man_text() if path == MAN else path.read_text()
    if path == MAN:
        # only the options the page defines (.TP entries and the synopsis), not prose
        # that quotes other programs (top -b)
        text = "\n".join(
            line
            for line in text.splitlines()
            if line.startswith((".TP", ".B", ".BR", ".BI", ".RB"))
        )
    shell_flags = {
        "-o",
        "-P",
        "-W",
        "-f",
        "-d",
        "-F",
        "-s",
        "-l",
        "-x",
        "-r",
        "-a",
        "-n",
        "-C",
        "-t",
        "-S",
        "-A",
    }
    invented = _mentioned(text) - ALL_OPTIONS - shell_flags
    assert not invented, f"{path.name} mentions {sorted(invented)}, which aitop does not have"


@pytest.mark.parametrize("path", [MAN, BASH, ZSH, FISH], ids=lambda p: p.name)
def test_every_command_is_documented(path: Path) -> None:
    text = path.read_text()
    assert all(re.search(rf"\b{command}\b", text) for command in COMMANDS)


@pytest.mark.parametrize("path", [BASH, ZSH, FISH], ids=lambda p: p.name)
def test_completed_events_are_the_ones_aitop_registers(path: Path) -> None:
    """The completions spell the list out; this keeps them equal to HOOK_EVENTS."""
    text = path.read_text()
    listed = [
        word
        for word in re.findall(r"\b[A-Z][A-Za-z]+\b", text)
        if word in HOOK_EVENTS or word.endswith(("Start", "Stop", "Use", "Compact"))
    ]
    assert set(listed) == set(HOOK_EVENTS)


def test_man_page_default_events_are_the_ones_aitop_registers() -> None:
    text = " ".join(_man_text().split())
    default = re.search(r"default set \(([^)]*)\)", text)
    assert default is not None
    assert [e.strip() for e in default.group(1).split(",")] == list(HOOK_EVENTS)


@pytest.mark.skipif(not shutil.which("man"), reason="man is not installed")
def test_man_page_renders_without_warnings() -> None:
    result = subprocess.run(
        ["man", "--warnings", "-l", str(MAN)],
        env=os.environ | {"MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert result.stderr == ""
    assert "aitop install" in result.stdout and "EXIT STATUS" in result.stdout


def _bash_complete(words: list[str]) -> list[str]:
    script = (
        f"source {BASH}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        "_aitop\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    return result.stdout.split()


def test_bash_completion_works() -> None:
    assert _bash_complete(["aitop", "ins"]) == ["install"]
    assert "--uninstall" in _bash_complete(["aitop", "install", "--"])
    assert "--batch" not in _bash_complete(["aitop", "install", "--"])
    assert set(_bash_complete(["aitop", "--"])) >= {
        "--batch",
        "--json",
        "--no-backfill",
        "--socket",
    }
    assert _bash_complete(["aitop", "install", "--events", "Session"]) == [
        "SessionStart",
        "SessionEnd",
    ]
    assert _bash_complete(["aitop", "install", "--events", "Stop,Pre"]) == [
        "Stop,PreToolUse",
        "Stop,PreCompact",
    ]
    assert _bash_complete(["aitop", "install", "--agent", "o"]) == ["opencode"]
    assert "--opencode-data" in _bash_complete(["aitop", "--"])
    assert _bash_complete(["aitop", "pri"]) == ["prices"]
    assert {"--update", "--json"} <= set(_bash_complete(["aitop", "prices", "--"]))
    assert "--batch" not in _bash_complete(["aitop", "prices", "--"])
    # --update takes an optional URL: options still complete after it
    assert "--json" in _bash_complete(["aitop", "prices", "--update", "--"])
    assert _bash_complete(["aitop", "rep"]) == ["report"]
    assert _bash_complete(["aitop", "report", "w"]) == ["weekly"]
    assert {"--since", "--breakdown", "--csv", "--tz"} <= set(
        _bash_complete(["aitop", "report", "--"])
    )
    assert _bash_complete(["aitop", "report", "--agent", "c"]) == ["claude-code", "codex"]
    assert _bash_complete(["aitop", "report", "--week-start", "s"]) == ["saturday", "sunday"]


@pytest.mark.parametrize(("shell", "path"), [("zsh", ZSH), ("fish", FISH)])
def test_completion_syntax(shell: str, path: Path) -> None:
    if not shutil.which(shell):
        pytest.skip(f"{shell} is not installed")
    flag = ["-n"]
    result = subprocess.run(
        [shell, *flag, str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not shutil.which("fish"), reason="fish is not installed")
def test_fish_completion_works() -> None:
    def complete(line: str) -> list[str]:
        script = f"source {FISH}; complete -C{line!r}"
        result = subprocess.run(
            ["fish", "-c", script], capture_output=True, text=True, timeout=30, check=True
        )
        return [row.split("\t")[0] for row in result.stdout.splitlines()]

    assert "--events" in complete("aitop install --ev")
    assert "--batch" in complete("aitop --ba")
    assert "--batch" not in complete("aitop install --")
    assert set(complete("aitop ")) >= {"hook", "install", "version"}


def test_man_page_keys_are_the_keymap() -> None:
    """The KEYS section is made from the same table as the keys and the help screen."""
    from aitop.ui.keymap import man_section

    text = MAN.read_text()
    keys = text[text.index(".SH KEYS\n") : text.index(".SH FILES")]
    assert keys.endswith(man_section()), "regenerate with aitop.ui.keymap.man_section()"


def test_bash_completes_the_status_line() -> None:
    assert _bash_complete(["aitop", "stat"]) == ["statusline"]
    assert "--statusline" in _bash_complete(["aitop", "install", "--"])
    assert set(_bash_complete(["aitop", "statusline", "-"])) >= {"--socket", "--"}
    assert _bash_complete(["aitop", "statusline", "--", "-"]) == []  # the user's command


README = ROOT / "README.md"


def test_the_readme_has_plan_limits_and_their_json_fields() -> None:
    from aitop.snapshot import LimitRow

    text = README.read_text()
    assert "\n## Plan limits\n" in text
    listing = re.search(r'"limits": \[\{([^\]]*)\}\]', text)
    assert listing is not None, "the README's snapshot listing has no limits"
    fields = re.findall(r'"(\w+)"', listing.group(1))
    assert fields == list(LimitRow.__struct_fields__)


def test_the_limits_table_is_documented_with_its_defaults() -> None:
    import tomllib

    from aitop.limit_alerts import LimitSettings

    text = README.read_text()
    block = re.search(r"\n\[limits\][^\n]*\n((?:\w+ = [^\n]*\n)+)", text)
    assert block is not None, "no [limits] table in the README's configuration"
    documented = tomllib.loads(block.group(1))
    assert documented == {
        name: getattr(LimitSettings(), name) for name in LimitSettings.__struct_fields__
    }
    man = _man_text()
    assert all(name in man for name in LimitSettings.__struct_fields__)


def test_the_readmes_configuration_example_is_one_valid_file() -> None:
    """Every key where it belongs: a top-level key written after a table would land in
    that table, and the example would be refused as it stands."""
    from aitop.config import parse

    block = re.search(r"```toml\n(refresh = .*?)```", README.read_text(), re.S)
    assert block is not None, "no configuration example in the README"
    config = parse(block.group(1).encode(), "README.md")
    assert config.week_start == "monday" and config.budgets.configured()
    assert config.metrics == "" and config.alerts.request_slow_s == 180
