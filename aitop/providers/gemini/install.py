"""`aitop install --agent gemini`: put aitop's hooks into Gemini CLI's settings.json, and
take them out (an `Installer`: see `aitop/providers/install/`).

Gemini CLI 0.61.0 reads its hooks from `<gemini dir>/settings.json` (`~/.gemini`, or
`$GEMINI_CLI_HOME/.gemini`) in Claude Code's shape: `"hooks": {"<Event>": [{"matcher":
…, "hooks": [{"type": "command", "command": …, "timeout": MS}]}]}`, run each command
through a shell with the payload on stdin, and wait for it (the timeout is in
milliseconds). The file holds the user's auth, model, MCP servers and more, so the same
guarantees as Claude Code's install hold (the shared machinery: a position-aware reader
that refuses what it cannot rewrite without loss, an atomic write with a `.bak`, an
exact summary of what changed), and the same rules for what is aitop's:

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
import copy
import difflib
import os
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.gemini.chats import AGENT
from aitop.providers.gemini.hooks import HOOK_EVENTS
from aitop.providers.install.check import (
    Finding,
    Inspection,
    program_findings,
    socket_to_probe,
    tilde,
)
from aitop.providers.install.command import (
    HookCommand,
    choose_hook_command,
    is_aitop_command,
    module_importable_elsewhere,
    temporary_dirs,
    update_command,
)
from aitop.providers.install.jsonfile import NOTHING_WRITTEN, Loaded, ShapeError, load, read_bytes
from aitop.providers.install.jsontext import (
    JsonObject,
    JsonSyntaxError,
    Reader,
    kind,
    line_and_column,
    parse,
    quoted,
)
from aitop.providers.install.summary import Changes, Update, apply, events_text, say

TITLE = "Gemini CLI"
SETTINGS_NAME = "settings.json"
HOOK_TIMEOUT_MS = 5000  # milliseconds: a stuck hook can never stall Gemini CLI for longer
INSTALL = "aitop install --agent gemini --write"
REINSTALL = f"run: {INSTALL}"
GEMINI_CLI = Reader(TITLE, "Gemini CLI would silently use only the last")
# Keys of `hooks` that are settings, not events (Gemini CLI's HOOKS_CONFIG_FIELDS).
CONFIG_FIELDS = frozenset({"enabled", "disabled", "notifications"})


# ---------------------------------------------------------------------------------------
# The shape aitop needs, and which hooks are aitop's


def check_shape(settings: Any) -> None:
    """Raise `ShapeError` unless aitop can walk and change these settings' hooks.

    Hook objects themselves are not checked: one that is not an object with an aitop
    `command` is someone else's, and is left exactly as it is.
    """
    if not isinstance(settings, dict):
        raise ShapeError((), f"the settings are {kind(settings)}, expected an object")
    hooks = settings.get("hooks")
    if hooks is None and "hooks" not in settings:
        return
    if not isinstance(hooks, dict):
        raise ShapeError(("hooks",), f'"hooks" is {kind(hooks)}, expected an object of event names')
    for event, groups in hooks.items():
        if event in CONFIG_FIELDS:
            continue
        where = f'"hooks".{quoted(event)}'
        if not isinstance(groups, list):
            raise ShapeError(
                ("hooks", event), f"{where} is {kind(groups)}, expected a list of matcher groups"
            )
        for index, group in enumerate(groups):
            if not isinstance(group, dict):
                raise ShapeError(
                    ("hooks", event, index),
                    f"{where}[{index}] is {kind(group)}, expected a matcher group object",
                )
            if "hooks" in group and not isinstance(group["hooks"], list):
                raise ShapeError(
                    ("hooks", event, index, "hooks"),
                    f'{where}[{index}]."hooks" is {kind(group["hooks"])}, expected a list',
                )


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


def is_aitop_hook(hook: Any) -> bool:
    return isinstance(hook, dict) and is_aitop_command(hook.get("command"))


@dataclass(frozen=True)
class AitopHook:
    """One aitop hook found in the settings, and where."""

    event: str
    group: JsonObject
    hook: JsonObject


def _events(hooks: JsonObject) -> Iterator[str]:
    return (event for event in hooks if event not in CONFIG_FIELDS)


def find_aitop_hooks(settings: JsonObject) -> Iterator[AitopHook]:
    """aitop's hooks in file order. The settings must have passed `check_shape`."""
    hooks = settings.get("hooks") or {}
    for event in _events(hooks):
        for group in hooks[event]:
            for hook in group.get("hooks", []):
                if is_aitop_hook(hook):
                    yield AitopHook(event, group, hook)


def restricting_matcher(group: JsonObject) -> str | None:
    """The group's matcher if it limits which tools or triggers reach its hooks."""
    matcher = group.get("matcher")
    if matcher is None or (isinstance(matcher, str) and matcher.strip() in ("", "*")):
        return None
    return str(matcher)


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
# The merge: pure functions on dicts


def aitop_hook(command: str) -> JsonObject:
    """The hook object Gemini CLI runs (captured from a real run; timeout in ms)."""
    return {"type": "command", "command": command, "timeout": HOOK_TIMEOUT_MS}


def _remove_aitop_hooks(groups: list[Any], keep_first: bool) -> tuple[list[Any], int]:
    """The event's groups without aitop's hooks (but the first, if asked); how many went."""
    kept_first = False
    removed = 0
    result: list[Any] = []
    for group in groups:
        entries = group.get("hooks")
        if not isinstance(entries, list) or not any(is_aitop_hook(e) for e in entries):
            result.append(group)
            continue
        remaining: list[Any] = []
        for entry in entries:
            if not is_aitop_hook(entry):
                remaining.append(entry)
            elif keep_first and not kept_first:
                kept_first = True
                remaining.append(entry)
            else:
                removed += 1
        if not remaining and group.keys() == {"hooks"}:
            continue  # the shape aitop creates, now empty: aitop's to remove
        group["hooks"] = remaining
        result.append(group)
    return result, removed


def _strip_aitop_hooks(hooks: JsonObject, keep_first_in: set[str]) -> list[str]:
    """Remove aitop's hooks from every event, in place, but the first of each event in
    `keep_first_in`; an event list this empties goes. One event name per hook removed."""
    removed_from: list[str] = []
    for event in list(_events(hooks)):
        groups, removed = _remove_aitop_hooks(hooks[event], keep_first=event in keep_first_in)
        removed_from += [event] * removed
        if removed and not groups:
            del hooks[event]
        else:
            hooks[event] = groups
    return removed_from


def install_hooks(settings: Any, command: str, events: Sequence[str]) -> tuple[JsonObject, Changes]:
    """A copy of `settings` with aitop's hook registered for exactly `events`.

    `command` is the one install chose; an aitop hook already there keeps what the user
    added to its command (see `update_command`). Raises `ShapeError` before changing
    anything if the settings have the wrong shape.
    """
    check_shape(settings)
    result: JsonObject = copy.deepcopy(settings)
    changes = Changes()
    hooks: JsonObject = result.get("hooks") or {}
    changes.removed = _strip_aitop_hooks(hooks, keep_first_in=set(events))
    first_hooks: dict[str, JsonObject] = {}
    for found in find_aitop_hooks({"hooks": hooks}):
        first_hooks.setdefault(found.event, found.hook)
    for event in events:
        existing = first_hooks.get(event)
        if existing is None:
            hooks.setdefault(event, []).append({"hooks": [aitop_hook(command)]})
            changes.added.append(event)
            continue
        before = dict(existing)
        existing.update(aitop_hook(update_command(existing["command"], command)))
        if existing == before:
            changes.unchanged.append(event)
        else:
            changes.updated.append(event)
            changes.updates.append(Update(event, before, dict(existing)))
    if hooks and not result.get("hooks"):
        result["hooks"] = hooks
    return result, changes


def uninstall_hooks(settings: Any) -> tuple[JsonObject, Changes]:
    """A copy of `settings` without any aitop hook, and without what only they needed."""
    check_shape(settings)
    result: JsonObject = copy.deepcopy(settings)
    changes = Changes()
    hooks: JsonObject | None = result.get("hooks")
    if not hooks:
        return result, changes
    changes.removed = _strip_aitop_hooks(hooks, keep_first_in=set())
    if changes.removed and not hooks:
        del result["hooks"]
    return result, changes


# ---------------------------------------------------------------------------------------
# --check: findings about settings that parsed


def inspect_settings(settings: JsonObject, events: Sequence[str], where: str) -> list[Finding]:
    """What is right and wrong with aitop's hooks in settings that passed `check_shape`
    (the programs they run are checked apart)."""
    found = list(find_aitop_hooks(settings))
    registered = [e for e in events if any(f.event == e for f in found)]
    findings: list[Finding] = []
    if not registered:
        findings.append(Finding("problem", f"aitop's hooks are not in {where}; {REINSTALL}"))
    elif len(registered) < len(events):
        missing = ", ".join(e for e in events if e not in registered)
        findings.append(
            Finding(
                "problem",
                f"{len(registered)} of {len(events)} hook events registered in {where} "
                f"(missing: {missing}); {REINSTALL}",
            )
        )
    else:
        findings.append(
            Finding("ok", f"{len(events)} of {len(events)} hook events registered in {where}")
        )
    if found and hooks_switched_off(settings):
        findings.append(Finding("problem", _switched_off_note(where)))
    off = disabled_names(settings)
    for event in dict.fromkeys(f.event for f in found if _hook_name(f.hook) in off):
        findings.append(Finding("problem", _disabled_note(event, where)))
    counts: dict[str, int] = {}
    for item in found:
        counts[item.event] = counts.get(item.event, 0) + 1
    for event, count in counts.items():
        if count > 1:
            findings.append(
                Finding(
                    "problem",
                    f"aitop is registered {count} times for {event}, so those events count "
                    f"{count} times; {REINSTALL}",
                )
            )
    for item in found:
        matcher = restricting_matcher(item.group)
        if matcher is not None:
            findings.append(Finding("warning", _matcher_note(item.event, matcher)))
    return findings


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


def _matcher_note(event: str, matcher: str) -> str:
    return (
        f"aitop's {event} hook is in a group with matcher {quoted(matcher)}, so it sees only "
        "what matches; to see everything: aitop install --agent gemini --uninstall --write"
        " && aitop install --agent gemini --write"
    )


# ---------------------------------------------------------------------------------------
# The command


def parse_events(text: str) -> tuple[str, ...]:
    """`--events`: known Gemini CLI events; order kept, repeats dropped."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise AitopError(
            "--events is empty", f"name one or more of: {', '.join(HOOK_EVENTS)}", ExitCode.USAGE
        )
    for name in names:
        if name not in HOOK_EVENTS:
            close = difflib.get_close_matches(name, HOOK_EVENTS, n=1, cutoff=0.6)
            hint = (
                f"did you mean {close[0]}?" if close else f"Gemini CLI's: {','.join(HOOK_EVENTS)}"
            )
            raise AitopError(
                f"--events: {name!r} is not a Gemini CLI hook event", hint, ExitCode.USAGE
            )
    return names


def settings_path(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    if getattr(args, "settings", None):
        return str(args.settings)
    from aitop.providers.registry import AGENTS

    directory = AGENTS[AGENT].directory(environ, getattr(args, "gemini_dir", None))
    return os.path.join(directory, SETTINGS_NAME)


def run(args: argparse.Namespace, env: Env) -> int:
    """Print (or with --write, write) the settings with aitop's hooks merged in, or out."""
    events = HOOK_EVENTS if args.events is None else parse_events(args.events)
    loaded = load_settings(settings_path(args, env.environ))
    if args.uninstall:
        return _uninstall(loaded, write=args.write, env=env)
    hook = choose_hook_command(
        env.executable,
        sys.executable,
        env.environ.get("PATH", os.defpath),
        temporary_dirs(),
        module_importable=module_importable_elsewhere(),
        socket_override=getattr(args, "socket", None),
        agent=AGENT,
    )
    return _install(loaded, hook, events, write=args.write, env=env)


def _install(
    loaded: Loaded, hook: HookCommand, events: Sequence[str], write: bool, env: Env
) -> int:
    for warning in hook.warnings:
        say(env, f"warning: {warning}")
    result, changes = install_hooks(loaded.document, hook.command, events)
    found = list(find_aitop_hooks(result))
    for item in found:
        matcher = restricting_matcher(item.group)
        if matcher is not None:
            say(env, f"warning: {_matcher_note(item.event, matcher)}")
    if hooks_switched_off(result):
        say(env, f"warning: {_switched_off_note(loaded.path)}")
    off = disabled_names(result)
    for event in dict.fromkeys(f.event for f in found if _hook_name(f.hook) in off):
        say(env, f"warning: {_disabled_note(event, loaded.path)}")
    if not changes.any:
        say(env, f"aitop's {events_text(events)} are already in {loaded.path}; nothing to write")
    apply(loaded, result, changes, write, env)
    return int(ExitCode.OK)


def _uninstall(loaded: Loaded, write: bool, env: Env) -> int:
    if loaded.data is None:
        say(env, f"no settings file at {loaded.path}; nothing to remove")
        return int(ExitCode.OK)
    result, changes = uninstall_hooks(loaded.document)
    if not changes.any:
        say(env, f"no aitop hooks in {loaded.path}; nothing to write")
    apply(loaded, result, changes, write, env)
    return int(ExitCode.OK)


def inspect(args: argparse.Namespace, env: Env) -> Inspection:
    """`--check`: what is right and wrong with aitop's hooks in Gemini CLI's settings.json,
    and the socket they reach. A file aitop cannot read is a problem here, not an error."""
    events = HOOK_EVENTS if args.events is None else parse_events(args.events)
    path = settings_path(args, env.environ)
    shown = tilde(path, env.environ)
    findings: list[Finding] = []
    found: list[AitopHook] = []
    try:
        loaded = load_settings(path)
    except AitopError as error:
        findings.append(
            Finding(
                "problem",
                f"{error.what}; fix it by hand (aitop never rewrites a file it cannot read)",
            )
        )
    else:
        if loaded.data is None:
            findings.append(Finding("problem", f"no settings file at {shown}; {REINSTALL}"))
        else:
            found = list(find_aitop_hooks(loaded.document))
            findings += inspect_settings(loaded.document, events, shown)
            search_path = env.environ.get("PATH", os.defpath)
            findings += program_findings(
                [str(f.hook["command"]) for f in found],
                _is_executable_file,
                lambda name: shutil.which(name, path=search_path),
                TITLE,
                REINSTALL,
            )
    commands = [str(f.hook.get("command", "")) for f in found]
    socket_path, notes = socket_to_probe(
        commands, getattr(args, "socket", None), env.environ, TITLE, REINSTALL, INSTALL
    )
    return Inspection(findings + notes, socket_path)


def _is_executable_file(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)
