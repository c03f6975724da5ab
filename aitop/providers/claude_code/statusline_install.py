"""`aitop install --statusline`: make `aitop statusline` Claude Code's status line command,
and take it out again, under the guarantees of `aitop install` (read whole and checked
before anything is written, atomic, a `.bak`, nothing else in the file touched).

Claude Code has one `statusLine` (`{"type": "command", "command": ..., "padding"?,
"refreshInterval"?}`), and its stdin is the only place the plan limits of a Claude.ai
login can be read. A user who already has a status line keeps it:

* none yet → `{"type": "command", "command": "<aitop> statusline"}` is added;
* the user's own command → it is *chained*: the command becomes
  `<aitop> statusline -- '<their command>'` (one shell word, quoted), which runs theirs
  with the same stdin and shows its output; every other key of the object stays as it
  was; and install says so, in words, before and after;
* aitop's already → only aitop's part changes, when aitop moved or `--socket` was
  given: what the user put before it and the chained command stay byte for byte;
* anything aitop cannot read as that object (not an object, no string `command`, a
  `type` other than "command") → an error, nothing written.

`--uninstall` puts back exactly what was there: the chained command (unquoted, so the
very string it was) in the same place of the same object, or no `statusLine` at all when
aitop's had none to chain.
"""

from __future__ import annotations

import copy
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.claude_code.jsontext import Settings, compact, quoted
from aitop.providers.claude_code.settings_file import (
    Loaded,
    ShapeError,
    check_shape,
    encode_settings,
    load_settings,
    write_settings,
)
from aitop.providers.install import command as hook_command
from aitop.providers.install.command import STATUSLINE, Word
from aitop.providers.install.jsontext import kind as kind_of
from aitop.providers.install.summary import WRITE_TO_APPLY, say

KEY = "statusLine"
CHAIN = "--"
UNINSTALL = "aitop install --statusline --uninstall --write"


def statusline_command(hook: str) -> str:
    """The status line command for the hook command install chose (`<aitop> hook
    [--socket PATH]` → `<aitop> statusline [--socket PATH]`): the same executable."""
    parsed = hook_command.parse(hook)
    if parsed is None:
        raise ValueError(f"not an aitop hook command: {hook!r}")
    word = parsed.words[parsed.hook]
    return hook[: word.start] + STATUSLINE + hook[word.end :]


@dataclass(frozen=True)
class Ours:
    """aitop's status line command, in parts: what precedes aitop's own part (an
    environment assignment the user added), aitop's part, and the chained command."""

    before: str
    own: str
    chained: str | None  # the user's command, as the string it was; None: none chained
    chained_text: str  # the same as written after `--` (quoted), kept verbatim


def parse_ours(command: Any) -> Ours | None:
    """aitop's status line command in parts; None for anything else (a user's command)."""
    parsed = hook_command.parse(command, STATUSLINE)
    if parsed is None:
        return None
    text: str = parsed.text
    words: tuple[Word, ...] = parsed.words
    start = words[parsed.start].start
    after = [i for i in range(parsed.hook + 1, len(words)) if words[i].value == CHAIN]
    if not after:
        return Ours(text[:start], text[start:].rstrip(), None, "")
    dash = words[after[0]]
    rest = words[after[0] + 1 :]
    chained = " ".join(word.value for word in rest)  # as `aitop statusline` runs it
    tail = text[rest[0].start :] if rest else ""
    return Ours(text[:start], text[start : dash.start].rstrip(), chained, tail)


def _chain(own: str, chained_text: str) -> str:
    return f"{own} {CHAIN} {chained_text}" if chained_text else own


@dataclass(frozen=True)
class Change:
    """What install or uninstall did to `statusLine`."""

    kind: str  # "added", "chained", "updated", "unchanged", "removed", "restored", "none"
    before: Any = None  # the command before (None: no statusLine)
    after: Any = None  # and after

    @property
    def any(self) -> bool:
        return self.kind not in ("unchanged", "none")


def _shape(settings: Any) -> Settings | None:
    """The `statusLine` object, or None; ShapeError for one aitop cannot read safely."""
    check_shape(settings)
    if KEY not in settings:
        return None
    line = settings[KEY]
    where = quoted(KEY)
    if not isinstance(line, dict):
        raise ShapeError((KEY,), f"{where} is {kind_of(line)}, expected an object with a command")
    if "command" not in line or not isinstance(line["command"], str):
        got = kind_of(line["command"]) if "command" in line else "missing"
        raise ShapeError(
            (KEY, "command") if "command" in line else (KEY,),
            f'{where}."command" is {got}, expected the status line command (a string)',
        )
    if line.get("type", "command") != "command":
        raise ShapeError(
            (KEY, "type"),
            f'{where}."type" is {compact(line["type"])}; aitop knows only "command"',
        )
    return line


def install_statusline(settings: Any, own: str) -> tuple[Settings, Change]:
    """A copy of `settings` whose status line is `own` (`<aitop> statusline [...]`),
    with the user's command chained to it."""
    line = _shape(settings)
    result: Settings = copy.deepcopy(settings)
    if line is None:
        result[KEY] = {"type": "command", "command": own}
        return result, Change("added", None, own)
    before = line["command"]
    ours = parse_ours(before)
    if ours is None:
        after = _chain(own, shlex.quote(before))
        result[KEY]["command"] = after
        return result, Change("chained", before, after)
    after = ours.before + _chain(own, ours.chained_text)
    if after == before:
        return result, Change("unchanged", before, before)
    result[KEY]["command"] = after
    return result, Change("updated", before, after)


def uninstall_statusline(settings: Any) -> tuple[Settings, Change]:
    """A copy of `settings` with the status line it had before aitop's."""
    line = _shape(settings)
    result: Settings = copy.deepcopy(settings)
    if line is None:
        return result, Change("none")
    before = line["command"]
    ours = parse_ours(before)
    if ours is None:
        return result, Change("none", before, before)
    if ours.chained is None:
        del result[KEY]
        return result, Change("removed", before, None)
    result[KEY]["command"] = ours.chained
    return result, Change("restored", before, ours.chained)


# ---------------------------------------------------------------------------------------
# The command


def _describe(change: Change, path: str, past: bool) -> list[str]:
    verb = {
        "added": ("added", "add"),
        "chained": ("chained", "chain"),
        "updated": ("updated", "update"),
        "removed": ("removed", "remove"),
        "restored": ("restored", "restore"),
    }[change.kind][0 if past else 1]
    if change.kind == "added":
        return [f"{verb} aitop's status line ({quoted(change.after)}) to {path}"]
    if change.kind == "chained":
        return [
            f"{verb} your status line command {quoted(change.before)} to aitop's in {path}:"
            " `aitop statusline` runs it with the same input and shows its output, and"
            " sends the input (plan limits, cost, context) to aitop",
            f"  {KEY}.command {quoted(change.before)} → {quoted(change.after)}",
            f"  to put yours back exactly: {UNINSTALL}",
        ]
    if change.kind == "updated":
        return [
            f"{verb} aitop's status line in {path}",
            f"  {KEY}.command {quoted(change.before)} → {quoted(change.after)}",
        ]
    if change.kind == "removed":
        return [f"{verb} aitop's status line from {path}"]
    return [
        f"{verb} your status line command {quoted(change.after)} in {path}",
        f"  {KEY}.command {quoted(change.before)} → {quoted(change.after)}",
    ]


def _apply(loaded: Loaded, result: Settings, change: Change, write: bool, env: Env) -> int:
    data = encode_settings(result, loaded.path)
    if not write:
        env.stdout.write(data.decode("utf-8"))
        env.stdout.flush()
        if change.any:
            lines = _describe(change, loaded.path, past=False)
            say(env, f"would {lines[0]}; {WRITE_TO_APPLY}")
            for line in lines[1:]:
                say(env, line)
        return int(ExitCode.OK)
    if not change.any:
        return int(ExitCode.OK)
    target = write_settings(loaded.path, data, loaded.data)
    lines = _describe(change, target, past=True)
    backup = f"; the previous version is in {target}.bak" if loaded.data is not None else ""
    say(env, lines[0] + backup)
    for line in lines[1:]:
        say(env, line)
    return int(ExitCode.OK)


def _refuse(loaded: Loaded, error: ShapeError) -> AitopError:
    return AitopError(
        f"{loaded.path}: {error.what}",
        "nothing was written; fix or remove it by hand, then run this again",
        ExitCode.USAGE,
    )


def run_install(path: str, hook: str, write: bool, env: Env) -> int:
    loaded = load_settings(path)
    own = statusline_command(hook)
    try:
        result, change = install_statusline(loaded.document, own)
    except ShapeError as error:
        raise _refuse(loaded, error) from None
    if change.kind == "unchanged":
        say(env, f"aitop's status line is already in {loaded.path}; nothing to write")
    return _apply(loaded, result, change, write, env)


def run_uninstall(path: str, write: bool, env: Env) -> int:
    loaded = load_settings(path)
    if loaded.data is None:
        say(env, f"no settings file at {loaded.path}; nothing to remove")
        return int(ExitCode.OK)
    try:
        result, change = uninstall_statusline(loaded.document)
    except ShapeError as error:
        raise _refuse(loaded, error) from None
    if not change.any:
        say(env, f"no aitop status line in {loaded.path}; nothing to write")
    return _apply(loaded, result, change, write, env)


def findings(
    settings: Settings, where: str, program_exists: Callable[[str], bool]
) -> list[tuple[str, str]]:
    """`--check --statusline`: (level, text) about the status line in settings that
    passed `check_shape`; level "ok" or "problem"."""
    fix = "run: aitop install --statusline --write"
    try:
        line = _shape(settings)
    except ShapeError as error:
        return [("problem", f"{error.what}; fix it by hand, then {fix}")]
    if line is None:
        return [("problem", f"no status line in {where}; {fix}")]
    command = line["command"]
    ours = parse_ours(command)
    parsed = hook_command.parse(command, STATUSLINE)
    if ours is None or parsed is None:
        return [("problem", f"the status line in {where} is not aitop's; {fix} (yours is kept)")]
    out = [("ok", f"the status line in {where} runs {quoted(ours.own)}")]
    if ours.chained is not None:
        out.append(("ok", f"and shows your own command's output: {quoted(ours.chained)}"))
    if parsed.executable is not None:
        program = parsed.words[parsed.executable].value
        if os.path.isabs(program) and not program_exists(program):
            out.append(
                ("problem", f"the status line points at {program}, which does not exist; {fix}")
            )
    return out
