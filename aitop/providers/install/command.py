"""An aitop hook command as shell text: which `aitop` to write into it, which commands are
aitop's, where their parts are, and how `aitop install` updates one without touching what
the user added. Every agent's install uses it: the agents all run a hook's command through
a shell.

Which commands are aitop's: split like a shell would (`shlex.split`), a word named
`aitop` (any directory; `python -m aitop` too) followed by `hook`.

The agent runs a hook's `command` through a shell, and people add to it: environment
assignments or a wrapper before it (`AITOP_TAG=work`, `env FOO=1`, `nice -n 5`),
arguments after it (`--socket PATH`, `--agent NAME`, `2>/dev/null || true`). Install
owns two things in that text, and rewrites only those, in place:

* the executable: the `aitop` script, or the Python of `python -m aitop` (its flags
  stay); it is replaced when it is not the one install chose (aitop moved, or a bare
  `aitop` that depended on PATH), and switching between the two forms replaces
  `PYTHON … -m aitop hook` or `…/aitop hook` as a whole;
* an option install sets (`--agent NAME` for an agent other than Claude Code, `--socket
  PATH` only when install is given `--socket`): its value is replaced wherever the hook's
  arguments have it, else it goes right after `hook` (in the order install writes them).
  Without `--socket` given to install, a `--socket` the user chose stays.

Everything else keeps its exact text: the words are found by a splitter that agrees with
`shlex.split` but remembers where each word is, so nothing is re-quoted (re-quoting
`AITOP_TAG="$PROJECT"` would turn an assignment the shell expands into a command name).
The hook's arguments end where the shell's command does (an unquoted `;`, `&`, `|`, `<`,
`>`, `(`, `)`, a `#` comment or a new line): what follows is someone else's command.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aitop import paths
from aitop.env import Env

AITOP = "aitop"
HOOK = "hook"
STATUSLINE = "statusline"  # the status line command has the same shape (statusline_install)
_WHITESPACE = " \t\r\n"  # shlex's
_CONTROL = frozenset(";&|<>()")  # unquoted, each ends the command the shell runs
_INTERPRETERS = ("python", "pypy")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# The options `aitop hook` reads with a value (aitop/hook.py): `--agent --socket` names
# an agent, so the scan pairs them the same way.
_VALUE_OPTIONS = ("--socket", "--agent")


@dataclass(frozen=True)
class Word:
    """One shell word: its value once unquoted, and where its text is in the command."""

    value: str
    start: int
    end: int
    ends_command: bool  # the shell's command ends before it or inside it


def split_words(text: str) -> list[Word]:
    """The words of `shlex.split(text)` with their places; ValueError where it raises one."""
    words: list[Word] = []
    pos, size = 0, len(text)
    while True:
        gap = pos
        while pos < size and text[pos] in _WHITESPACE:
            pos += 1
        if pos == size:
            return words
        start = pos
        value: list[str] = []
        ends_command = text[pos] == "#" or (bool(words) and "\n" in text[gap:pos])
        while pos < size and text[pos] not in _WHITESPACE:
            char = text[pos]
            if char == "\\":
                if pos + 1 == size:
                    raise ValueError("No escaped character")
                value.append(text[pos + 1])
                pos += 2
            elif char == "'":
                close = text.find("'", pos + 1)
                if close < 0:
                    raise ValueError("No closing quotation")
                value.append(text[pos + 1 : close])
                pos = close + 1
            elif char == '"':
                pos = _double_quoted(text, pos + 1, value)
            else:
                ends_command = ends_command or char in _CONTROL
                value.append(char)
                pos += 1
        words.append(Word("".join(value), start, pos, ends_command))


def _double_quoted(text: str, pos: int, value: list[str]) -> int:
    """Read a double-quoted string from just after its opening quote; where it ends.

    Like shlex: a backslash escapes only `"` and itself, and stays before anything else.
    """
    size = len(text)
    while pos < size:
        char = text[pos]
        if char == '"':
            return pos + 1
        if char == "\\" and pos + 1 < size:
            escaped = text[pos + 1]
            value.append(escaped if escaped in '"\\' else char + escaped)
            pos += 2
        else:
            value.append(char)
            pos += 1
    raise ValueError("No closing quotation")


def aitop_index(values: Sequence[str], subcommand: str = HOOK) -> int | None:
    """Where `aitop` (any directory, or the module of `python -m aitop`) precedes `hook`
    (or another `subcommand`)."""
    for index in range(len(values) - 1):
        if os.path.basename(values[index]) == AITOP and values[index + 1] == subcommand:
            return index
    return None


@dataclass(frozen=True)
class AitopCommand:
    """An aitop hook command's words and where its parts are (indices into `words`)."""

    text: str
    words: tuple[Word, ...]
    start: int  # aitop's own part begins: the script, the Python of `-m aitop`, or `-m`
    executable: int | None  # the script or the Python; None: a Python not recognisable
    hook: int  # the `hook` word; the hook's arguments follow it, up to `end`
    end: int
    module: bool  # `python -m aitop hook` rather than the `aitop` script

    @property
    def arguments(self) -> tuple[Word, ...]:
        return self.words[self.hook + 1 : self.end]


def parse(command: object, subcommand: str = HOOK) -> AitopCommand | None:
    """The parts of an aitop hook command (or of another `subcommand`'s); None for
    anything else. `hook` is then the subcommand's word."""
    if not isinstance(command, str):
        return None
    try:
        words = split_words(command)
    except ValueError:  # an unbalanced quote: not a command aitop wrote
        return None
    index = aitop_index([w.value for w in words], subcommand)
    if index is None:
        return None
    hook = index + 1
    end = next((i for i in range(hook + 1, len(words)) if words[i].ends_command), len(words))
    if index >= 1 and words[index - 1].value == "-m":
        python = _interpreter(words, index - 1)
        start = index - 1 if python is None else python
        return AitopCommand(command, tuple(words), start, python, hook, end, module=True)
    return AitopCommand(command, tuple(words), index, index, hook, end, module=False)


def _interpreter(words: Sequence[Word], dash_m: int) -> int | None:
    """The Python that `-m` belongs to: the nearest word before it named python*/pypy*
    (its flags may sit between), never an assignment like `PYTHONPATH=…/python3`."""
    for index in range(dash_m - 1, -1, -1):
        value = words[index].value
        if os.path.basename(value).startswith(_INTERPRETERS) and not _ASSIGNMENT.match(value):
            return index
    return None


def executable(command: object) -> str | None:
    """The program an aitop hook command starts: the script, or the Python of `-m aitop`
    (else, for a Python aitop cannot tell, the first word that is not an assignment)."""
    parsed = parse(command)
    if parsed is None:
        return None
    if parsed.executable is not None:
        return parsed.words[parsed.executable].value
    return next(w.value for w in parsed.words if not _ASSIGNMENT.match(w.value))


def update_command(old: str, new: str) -> str:
    """`old` with install's part made `new`'s, and every other byte of it kept.

    `new` is the command install chose, with nothing before it: `PROGRAM hook [--socket
    PATH]` or `PYTHON -m aitop hook [--socket PATH]`. An `old` that already agrees with
    it comes back unchanged. ValueError if either is not an aitop hook command.
    """
    was, chosen = parse(old), _parse_chosen(new)
    if was is None:
        raise ValueError(f"not an aitop hook command: {old!r}")
    edits = _executable_edits(was, chosen) + _option_edits(was, chosen)
    text = old
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _parse_chosen(new: str) -> AitopCommand:
    parsed = parse(new)
    if parsed is not None and parsed.module:
        # install writes its Python first, whatever it is called
        parsed = dataclasses.replace(parsed, start=0, executable=0)
    if parsed is None or parsed.start != 0 or parsed.end != len(parsed.words):
        raise ValueError(f"not a command aitop install writes: {new!r}")
    return parsed


def _text(command: AitopCommand, word: Word) -> str:
    return command.text[word.start : word.end]


Edit = tuple[int, int, str]  # replace text[start:end] with this


def _executable_edits(was: AitopCommand, chosen: AitopCommand) -> list[Edit]:
    assert chosen.executable is not None
    new = chosen.words[chosen.executable]
    if was.module == chosen.module and was.executable is not None:
        old = was.words[was.executable]
        return [] if old.value == new.value else [(old.start, old.end, _text(chosen, new))]
    # The other form (or a Python aitop cannot tell): the invocation up to `hook` goes
    # whole; `start` is `-m` for that Python, so whatever runs it stays.
    first, hook = was.words[was.start], was.words[was.hook]
    return [(first.start, hook.end, chosen.text[: chosen.words[chosen.hook].end])]


def _option_edits(was: AitopCommand, chosen: AitopCommand) -> list[Edit]:
    options = chosen.arguments
    if len(options) % 2 or not all(w.value.startswith("--") for w in options[::2]):
        raise ValueError(f"not a command aitop install writes: {chosen.text!r}")
    edits: list[Edit] = []
    missing = ""  # options the command lacks, in install's order, as one insertion
    for name, value in zip(options[::2], options[1::2], strict=True):
        found = _option_values(was, name.value)
        for old_value, prefix in found:
            if old_value.value[len(prefix) :] != value.value:
                edits.append((old_value.start, old_value.end, prefix + _text(chosen, value)))
        if not found:
            missing += f" {_text(chosen, name)} {_text(chosen, value)}"
    if missing:
        at = was.words[was.hook].end
        edits.append((at, at, missing))
    return edits


def _option_values(command: AitopCommand, name: str) -> list[tuple[Word, str]]:
    """Each word giving option `name` a value, scanned like `aitop hook` reads its
    arguments, with what precedes the value in that word (`--socket=` or nothing)."""
    found: list[tuple[Word, str]] = []
    arguments = command.arguments
    index = 0
    while index < len(arguments):
        value = arguments[index].value
        if value in _VALUE_OPTIONS and index + 1 < len(arguments):
            if value == name:
                found.append((arguments[index + 1], ""))
            index += 2
            continue
        if value.startswith(name + "="):
            found.append((arguments[index], name + "="))
        index += 1
    return found


# ---------------------------------------------------------------------------------------
# Which aitop the hooks run


def is_aitop_command(command: object) -> bool:
    """Whether a hook command runs `aitop hook` (in any form `parse` knows)."""
    if not isinstance(command, str):
        return False
    try:
        tokens = shlex.split(command)
    except ValueError:  # an unbalanced quote: not a command aitop wrote
        return False
    return aitop_index(tokens) is not None


def hook_socket(command: str) -> str | None:
    """The socket an aitop hook command sends to (its `--socket PATH`); None when it
    names none, and the hook then uses $AITOP_SOCKET or the default."""
    parsed = parse(command)
    if parsed is None:
        return None
    rest = [word.value for word in parsed.arguments]
    for n, token in enumerate(rest):
        if token == "--socket" and n + 1 < len(rest):
            return rest[n + 1]
        if token.startswith("--socket="):
            return token.removeprefix("--socket=")
    return None


@dataclass(frozen=True)
class HookCommand:
    command: str  # the shell command written into the agent's file
    program: str  # the executable it starts
    warnings: tuple[str, ...] = ()


def is_executable_file(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def choose_hook_command(
    argv0: str,
    python: str,
    search_path: str,
    temporary_dirs: Sequence[str],
    module_importable: bool = True,
    socket_override: str | None = None,
    is_executable: Callable[[str], bool] = is_executable_file,
    agent: str | None = None,
) -> HookCommand:
    """The absolute `aitop` to run, so hooks work whatever PATH the agent has.

    In order: the program running now if it is an `aitop` executable; the `aitop` script
    next to the running Python (`python -m aitop` in a venv); `aitop` on PATH; else
    `python -m aitop`, which works but starts slower than the script. `agent` goes into
    the command as `--agent NAME` (`aitop hook` assumes Claude Code without it).
    """
    candidates = [os.path.abspath(argv0)] if os.path.basename(argv0) == AITOP else []
    if python:
        candidates.append(os.path.join(os.path.dirname(os.path.abspath(python)), AITOP))
    program = next((c for c in candidates if is_executable(c)), None)
    if program is None:
        found = shutil.which(AITOP, path=search_path)
        program = os.path.abspath(found) if found else None
    warnings: list[str] = []
    if program is not None:
        command = f"{shlex.quote(program)} {HOOK}"
    else:
        program = os.path.abspath(python) if python else "python3"
        command = f"{shlex.quote(program)} -m {AITOP} {HOOK}"
        warnings.append(
            f"no `aitop` executable found; the hooks will run `{command}`, which starts "
            "slower; install aitop with pip or pipx so the `aitop` script exists"
        )
        if not module_importable:
            warnings.append(
                f"{program} imports aitop only from the current directory, so the hooks "
                "will fail elsewhere; install it (pip install -e .) and run this again"
            )
    if agent:
        command += f" --agent {shlex.quote(agent)}"
    if socket_override:
        command += f" --socket {shlex.quote(os.path.abspath(socket_override))}"
    temporary = looks_temporary(program, temporary_dirs)
    if temporary:
        warnings.append(
            f"{program} looks temporary (under {temporary}); the hooks break when it is "
            "deleted: install aitop somewhere lasting and run this again"
        )
    return HookCommand(command, program, tuple(warnings))


def command_for(
    env: Env, temporary: Sequence[str], socket_override: str | None, agent: str | None = None
) -> HookCommand:
    """`choose_hook_command` for the aitop running in `env`, this Python and `env`'s PATH.
    `temporary` is `temporary_dirs()`, looked up by the caller (tests replace it)."""
    return choose_hook_command(
        env.executable,
        sys.executable,
        env.environ.get("PATH", os.defpath),
        temporary,
        module_importable=module_importable_elsewhere(),
        socket_override=socket_override,
        agent=agent,
    )


def looks_temporary(path: str, temporary_dirs: Sequence[str]) -> str | None:
    """The temporary directory `path` lies under, if any (a build or a venv under /tmp)."""
    for candidate in {os.path.abspath(path), os.path.realpath(path)}:
        for directory in temporary_dirs:
            if candidate.startswith(directory.rstrip(os.sep) + os.sep):
                return directory
    return None


def temporary_dirs() -> tuple[str, ...]:
    dirs = {"/tmp", "/var/tmp", "/dev/shm", tempfile.gettempdir()}
    return tuple(sorted(dirs | {os.path.realpath(d) for d in dirs}))


def module_importable_elsewhere() -> bool:
    """Whether `python -m aitop` would find the package from another directory.

    `sys.path[0]` is the directory `python -m` started in; any other entry holding the
    package (site-packages, an editable install's path) works from anywhere.
    """
    root = os.path.realpath(os.path.dirname(os.path.dirname(paths.__file__)))
    return any(entry and os.path.realpath(entry) == root for entry in sys.path[1:])
