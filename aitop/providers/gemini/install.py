"""`aitop install --agent gemini`: put aitop's hooks into Gemini CLI's settings.json, and
take them out (an `Installer`: see `aitop/providers/install/`).

Gemini CLI 0.61.0 reads its hooks from `<gemini dir>/settings.json` (`~/.gemini`, or
`$GEMINI_CLI_HOME/.gemini`) in Claude Code's shape: `"hooks": {"<Event>": [{"matcher":
…, "hooks": [{"type": "command", "command": …, "timeout": MS}]}]}`, run each command
through a shell with the payload on stdin, and wait for it (the timeout is in
milliseconds). The file holds the user's auth, model, MCP servers and more, so the same
guarantees as Claude Code's install hold (the shared machinery: a position-aware reader
that refuses what it cannot rewrite without loss, an atomic write with a `.bak`, an
exact summary of what changed), and the same rules for what is aitop's
(`install.matcher_groups`):

* a hook object whose command runs `aitop hook` is aitop's; install makes aitop's
  registration exactly the chosen events (all 11 by default: `hooks.HOOK_EVENTS`), each
  `{"hooks": [{"type": "command", "command": "/abs/aitop hook --agent gemini", "timeout":
  5000}]}` (no matcher: Gemini CLI then runs it for every tool and trigger), updating an
  aitop hook already there in place and keeping what the user added to its command;
* uninstall removes aitop's hooks from every event, a group only when it became empty
  and has no key but `hooks` (the shape install writes), an event list or `hooks` only
  when that emptied it.

Where Gemini CLI differs:

* `hooks` may also hold three settings that are not events (`enabled`, `disabled`,
  `notifications`, an older place for them): they are left as they are;
* `hooksConfig.enabled: false` turns every hook off, and `hooksConfig.disabled` lists
  hooks turned off by name (a command hook's name is its command): install says so
  (it does not undo the user's choice) and `--check` reports it as a problem;
* Gemini CLI accepts `//` comment lines in settings.json; aitop cannot rewrite such a
  file without losing them, so it refuses it with that reason, and nothing is written.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.gemini.chats import AGENT
from aitop.providers.gemini.hooks import HOOK_EVENTS
from aitop.providers.install import matcher_groups
from aitop.providers.install.check import Finding, Inspection, programs_here
from aitop.providers.install.command import command_for, temporary_dirs
from aitop.providers.install.jsonfile import NOTHING_WRITTEN, Loaded, load, read_bytes
from aitop.providers.install.jsontext import (
    JsonObject,
    JsonSyntaxError,
    Reader,
    line_and_column,
    parse,
)
from aitop.providers.install.matcher_groups import (
    AitopHook,
    HookFile,
    inspect_file,
    matcher_findings,
    registration_finding,
    repeat_findings,
)
from aitop.providers.install.matcher_groups import (
    is_aitop_hook as is_aitop_hook,
)
from aitop.providers.install.summary import Changes

TITLE = "Gemini CLI"
SETTINGS_NAME = "settings.json"
HOOK_TIMEOUT_MS = 5000  # milliseconds: a stuck hook can never stall Gemini CLI for longer
GEMINI_CLI = Reader(TITLE, "Gemini CLI would silently use only the last")
# Keys of `hooks` that are settings, not events (Gemini CLI's HOOKS_CONFIG_FIELDS).
CONFIG_FIELDS = frozenset({"enabled", "disabled", "notifications"})


# ---------------------------------------------------------------------------------------
# The shape aitop needs, and which hooks are aitop's


def check_shape(settings: Any) -> None:
    """Raise `ShapeError` unless aitop can walk and change these settings' hooks (the
    shape Claude Code's settings share: `install.matcher_groups`; `CONFIG_FIELDS` are
    not events)."""
    matcher_groups.check_shape(settings, "the settings are", CONFIG_FIELDS)


def load_settings(path: str) -> Loaded:
    """Read and check settings.json: an AitopError (exit 2, `file:line:col`) for anything
    wrong; a comment gets its own reason (Gemini CLI allows them, JSON does not)."""
    try:
        return load(path, GEMINI_CLI, check_shape)
    except AitopError:
        _refuse_comments(path)
        raise


def _refuse_comments(path: str) -> None:
    data = read_bytes(path)
    if data is None:
        return
    text = data.decode("utf-8", "replace")
    try:
        parse(text, GEMINI_CLI)
    except JsonSyntaxError as error:
        if text[error.pos : error.pos + 2] in ("//", "/*"):
            line, column = line_and_column(text, error.pos)
            raise AitopError(
                f"{path}:{line}:{column}: a comment, which Gemini CLI allows but a rewrite"
                " would lose",
                f"{NOTHING_WRITTEN}; remove the comments, or add the hooks by hand (aitop"
                " install --agent gemini prints them for a file without comments)",
                ExitCode.USAGE,
            ) from None


def aitop_hook(command: str) -> JsonObject:
    """The hook object Gemini CLI runs (captured from a real run; timeout in ms)."""
    return {"type": "command", "command": command, "timeout": HOOK_TIMEOUT_MS}


def restricting_matcher(group: JsonObject) -> str | None:
    """The group's matcher if it limits which tools or triggers reach its hooks."""
    matcher = group.get("matcher")
    if matcher is None or (isinstance(matcher, str) and matcher.strip() in ("", "*")):
        return None
    return str(matcher)


HOOKS = HookFile(
    title=TITLE,
    command="aitop install --agent gemini",
    noun="settings file",
    check_shape=check_shape,
    hook=lambda command, event: aitop_hook(command),
    restricting_matcher=lambda event, group: restricting_matcher(group),
    not_events=CONFIG_FIELDS,
)
INSTALL = HOOKS.install
REINSTALL = HOOKS.reinstall


def find_aitop_hooks(settings: JsonObject) -> Iterator[AitopHook]:
    """aitop's hooks in file order. The settings must have passed `check_shape`."""
    return matcher_groups.find_aitop_hooks(HOOKS, settings)


def hooks_switched_off(settings: JsonObject) -> bool:
    """`hooksConfig.enabled: false`: Gemini CLI runs no hook at all."""
    config = settings.get("hooksConfig")
    return isinstance(config, dict) and config.get("enabled") is False


def disabled_names(settings: JsonObject) -> set[str]:
    """The hooks turned off by name (`hooksConfig.disabled`: a command hook's name is its
    `name`, else its command)."""
    config = settings.get("hooksConfig")
    names = config.get("disabled") if isinstance(config, dict) else None
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def _hook_name(hook: JsonObject) -> str:
    name = hook.get("name")
    return name if isinstance(name, str) and name else str(hook.get("command", ""))


# ---------------------------------------------------------------------------------------
# The merge: `install.matcher_groups`'s, on Gemini CLI's settings


def install_hooks(settings: Any, command: str, events: Sequence[str]) -> tuple[JsonObject, Changes]:
    """A copy of `settings` with aitop's hook registered for exactly `events`; `ShapeError`
    before changing anything if the settings have the wrong shape."""
    return matcher_groups.install_hooks(HOOKS, settings, command, events)


def uninstall_hooks(settings: Any) -> tuple[JsonObject, Changes]:
    """A copy of `settings` without any aitop hook, and without what only they needed."""
    return matcher_groups.uninstall_hooks(HOOKS, settings)


# ---------------------------------------------------------------------------------------
# --check: findings about settings that parsed


def inspect_settings(settings: JsonObject, events: Sequence[str], where: str) -> list[Finding]:
    """What is right and wrong with aitop's hooks in settings that passed `check_shape`
    (the programs they run are checked apart)."""
    found = list(find_aitop_hooks(settings))
    return [
        registration_finding(found, events, where, REINSTALL),
        *(Finding("problem", note) for note in _off_notes(settings, found, where)),
        *repeat_findings(found, REINSTALL),
        *matcher_findings(HOOKS, found),
    ]


def _off_notes(settings: JsonObject, found: Sequence[AitopHook], where: str) -> list[str]:
    """What keeps Gemini CLI from running aitop's hooks: all hooks switched off, or
    aitop's turned off by name."""
    notes = [_switched_off_note(where)] if found and hooks_switched_off(settings) else []
    off = disabled_names(settings)
    for event in dict.fromkeys(f.event for f in found if _hook_name(f.hook) in off):
        notes.append(_disabled_note(event, where))
    return notes


def _switched_off_note(where: str) -> str:
    return (
        f'hooks are switched off in {where} ("hooksConfig": {{"enabled": false}}), so Gemini'
        ' CLI runs none of them; set "enabled" to true there'
    )


def _disabled_note(event: str, where: str) -> str:
    return (
        f'aitop\'s {event} hook is listed in "hooksConfig"."disabled" in {where}, so Gemini'
        " CLI does not run it; take it out of that list (or /hooks enable in Gemini CLI)"
    )


# ---------------------------------------------------------------------------------------
# The command


def parse_events(text: str) -> tuple[str, ...]:
    """`--events`: known Gemini CLI events; order kept, repeats dropped."""
    return matcher_groups.parse_events(
        text,
        HOOK_EVENTS,
        HOOK_EVENTS,
        lambda name: f"--events: {name!r} is not a Gemini CLI hook event",
        f"Gemini CLI's: {','.join(HOOK_EVENTS)}",
    )


def settings_path(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    if getattr(args, "settings", None):
        return str(args.settings)
    from aitop.providers.registry import AGENTS

    directory = AGENTS[AGENT].directory(environ, getattr(args, "gemini_dir", None))
    return os.path.join(directory, SETTINGS_NAME)


def run(args: argparse.Namespace, env: Env) -> int:
    """Print (or with --write, write) the settings with aitop's hooks merged in, or out."""
    events = HOOK_EVENTS if args.events is None else parse_events(args.events)
    path = settings_path(args, env.environ)
    loaded = load_settings(path)
    hook = None
    if not args.uninstall:
        hook = command_for(env, temporary_dirs(), getattr(args, "socket", None), AGENT)
    return matcher_groups.apply_merge(
        HOOKS,
        loaded,
        hook,
        events,
        args.write,
        env,
        notes=lambda settings, found: _off_notes(settings, found, path),
    )


def inspect(args: argparse.Namespace, env: Env) -> Inspection:
    """`--check`: what is right and wrong with aitop's hooks in Gemini CLI's settings.json,
    and the socket they reach. A file aitop cannot read is a problem here, not an error."""
    events = HOOK_EVENTS if args.events is None else parse_events(args.events)

    def judge(settings: JsonObject, found: list[AitopHook], shown: str) -> list[Finding]:
        commands = [str(f.hook["command"]) for f in found]
        return [
            *inspect_settings(settings, events, shown),
            *programs_here(commands, env.environ, TITLE, REINSTALL),
        ]

    return inspect_file(
        HOOKS,
        settings_path(args, env.environ),
        load_settings,
        judge,
        getattr(args, "socket", None),
        env.environ,
    )
