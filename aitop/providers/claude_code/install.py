"""`aitop install`: put aitop's hooks into Claude Code's settings.json, and take them out.

A user's settings.json holds their permissions, their own hooks, their MCP servers and
their status line: installing must never cost them any of it. So:

* The file is read by a position-aware JSON reader (`install.jsontext`, shared with the
  other agents' installs) that reports every problem as `file:line:col` and keeps what a
  rewrite could lose (duplicate keys are refused, numbers keep their exact text).
* Anything aitop cannot read or does not understand (malformed JSON, a non-object root,
  a `hooks` value of the wrong shape) stops everything before a byte is written
  (`settings_file`, the shape; `install.jsonfile` writes atomically, keeps the mode and
  a `.bak`, and writes through a symlink).
* The merge is pure functions on dicts (`install_hooks`, `uninstall_hooks`), here.

Which hooks are aitop's: a hook object whose `command`, split like a shell would, has a
token named `aitop` (any directory; `python -m aitop` too) followed by `hook` (the rule,
and the command's text, are `install.command`'s).

Rules where a choice had to be made:

* Install makes aitop's registration exactly the chosen events: the first aitop hook of
  a chosen event is updated where it is (timeout, `type`; an `async` key is dropped,
  because Claude Code loses async hook calls when `claude -p` exits), further aitop hooks
  in that event are removed, and aitop hooks in events not chosen are removed
  (WorktreeCreate's above all: its hooks must print a path). An event without one gets a
  new matcher group `{"hooks": [aitop's hook]}` at the end of its list.
* A custom aitop hook command is kept: what the user added before aitop's part or after
  it (`AITOP_TAG=work`, `env FOO=1`, `--agent NAME`, a `--socket` of their own, `|| true`)
  stays byte for byte. Install changes only what it must: the executable, when it is not
  the one install chose (aitop moved), and the `--socket` value, when install is given
  `--socket` (`install.command.update_command`). The summary then says what changed in each
  hook, key by key, old → new; "updated in place" would hide a changed command.
* Removing an aitop hook removes its matcher group only when the group became empty and
  has no key but `hooks`: that is the only shape aitop creates, so a group the user wrote
  with a `matcher` (or anything else) stays, with an empty `hooks` list. An event list is
  removed when removing aitop's hooks emptied it, and `hooks` when that emptied it. So
  install then uninstall gives back the original settings, except that an empty event
  list (or empty `hooks` object) that was already there before goes too: Claude Code
  reads an empty list exactly like a missing one.
* A file that is empty or only whitespace holds nothing to lose: it is read as `{}`.
* A string with an unpaired UTF-16 surrogate escape (`"\\ud800"`) is refused like bad
  JSON: UTF-8, and so the rewritten file, cannot hold it.
* A file that changed between reading and writing (Claude Code writes it too) is left
  alone: run again.
* `--socket PATH` given to install goes into the hook command (`aitop hook --socket
  PATH`), so the hooks reach the monitor that listens there.
* Uninstall takes aitop's hooks out of every event, so `--events` does not go with it;
  `--check` reports a problem (exit 1) rather than an error for a file it cannot read.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aitop import paths
from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.claude_code.hooks import HOOK_EVENTS
from aitop.providers.claude_code.jsontext import Settings, quoted
from aitop.providers.claude_code.settings_file import (
    Loaded,
    check_shape,
    load_settings,
)
from aitop.providers.install.check import (
    Finding,
    Inspection,
    program_findings,
    socket_to_probe,
    tilde,
)
from aitop.providers.install.check import (
    probe_monitor as probe_monitor,
)
from aitop.providers.install.command import (
    HookCommand,
    choose_hook_command,
    executable,
    is_aitop_command,
    update_command,
)
from aitop.providers.install.command import (
    hook_socket as hook_socket,
)
from aitop.providers.install.command import (
    looks_temporary as looks_temporary,
)
from aitop.providers.install.command import (
    module_importable_elsewhere as _module_importable_elsewhere,
)
from aitop.providers.install.command import temporary_dirs as _temporary_dirs
from aitop.providers.install.summary import Changes, Update, apply, events_text, say

TITLE = "Claude Code"
HOOK_TIMEOUT_S = 5  # seconds: a stuck hook can never stall Claude Code for longer
SETTINGS_NAME = "settings.json"
INSTALL = "aitop install --write"
REINSTALL = f"run: {INSTALL}"

# Every hook event Claude Code 2.1.330 knows (see the fixtures' README). This is the list
# `--events` is checked against; the events aitop *uses* are `HOOK_EVENTS`, a subset.
CLAUDE_CODE_EVENTS: tuple[str, ...] = (
    "SessionStart",
    "SessionEnd",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "PermissionRequest",
    "PermissionDenied",
    "Notification",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "PreModelSwitch",
    "PostModelSwitch",
    "InstructionsLoaded",
    "CwdChanged",
    "FileChanged",
    "ConfigChange",
    "DirectoryAdded",
    "MessageDisplay",
    "Setup",
    "TeammateIdle",
    "TaskCreated",
    "TaskCompleted",
    "Elicitation",
    "ElicitationResult",
    "WorktreeCreate",
    "WorktreeRemove",
)
# A WorktreeCreate hook replaces worktree creation and must print the new path: a silent
# forwarder there would break every worktree.
NEVER_REGISTERED = frozenset({"WorktreeCreate"})


# ---------------------------------------------------------------------------------------
# Which hooks are aitop's


# the program an aitop hook command starts: the script, or the Python of `-m aitop`
aitop_program = executable


def is_aitop_hook(hook: Any) -> bool:
    return isinstance(hook, dict) and is_aitop_command(hook.get("command"))


@dataclass(frozen=True)
class AitopHook:
    """One aitop hook found in the settings, and where."""

    event: str
    group: Settings
    hook: Settings


def find_aitop_hooks(settings: Settings) -> Iterator[AitopHook]:
    """aitop's hooks in file order. The settings must have passed `check_shape`."""
    hooks = settings.get("hooks", {})
    for event, groups in hooks.items():
        for group in groups:
            for hook in group.get("hooks", []):
                if is_aitop_hook(hook):
                    yield AitopHook(event, group, hook)


def restricting_matcher(group: Settings) -> str | None:
    """The group's matcher if it limits which events reach its hooks."""
    matcher = group.get("matcher")
    return None if matcher in (None, "", "*") else str(matcher)


# ---------------------------------------------------------------------------------------
# The merge: pure functions on dicts


def aitop_hook(command: str) -> Settings:
    """The hook object Claude Code accepts (captured from a real run): no matcher needed."""
    return {"type": "command", "command": command, "timeout": HOOK_TIMEOUT_S}


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


def _strip_aitop_hooks(hooks: Settings, keep_first_in: set[str]) -> list[str]:
    """Remove aitop's hooks from every event, in place, but the first of each event in
    `keep_first_in`; an event list this empties goes. One event name per hook removed."""
    removed_from: list[str] = []
    for event in list(hooks):
        groups, removed = _remove_aitop_hooks(hooks[event], keep_first=event in keep_first_in)
        removed_from += [event] * removed
        if removed and not groups:
            del hooks[event]
        else:
            hooks[event] = groups
    return removed_from


def install_hooks(settings: Any, command: str, events: Sequence[str]) -> tuple[Settings, Changes]:
    """A copy of `settings` with aitop's hook registered for exactly `events`.

    `command` is the one install chose; an aitop hook already there keeps what the user
    added to its command (see `update_command`). Raises `ShapeError` before changing
    anything if the settings have the wrong shape.
    """
    check_shape(settings)
    result: Settings = copy.deepcopy(settings)
    changes = Changes()
    hooks: Settings = result.get("hooks", {})
    changes.removed = _strip_aitop_hooks(hooks, keep_first_in=set(events))
    first_hooks: dict[str, Settings] = {}
    for found in find_aitop_hooks(result):
        first_hooks.setdefault(found.event, found.hook)
    for event in events:
        existing = first_hooks.get(event)
        if existing is None:
            hooks.setdefault(event, []).append({"hooks": [aitop_hook(command)]})
            changes.added.append(event)
            continue
        before = dict(existing)
        existing.update(aitop_hook(update_command(existing["command"], command)))
        existing.pop("async", None)  # async calls are lost when `claude -p` exits
        if existing == before:
            changes.unchanged.append(event)
        else:
            changes.updated.append(event)
            changes.updates.append(Update(event, before, dict(existing)))
    if hooks and "hooks" not in result:
        result["hooks"] = hooks
    return result, changes


def uninstall_hooks(settings: Any) -> tuple[Settings, Changes]:
    """A copy of `settings` without any aitop hook, and without what only they needed."""
    check_shape(settings)
    result: Settings = copy.deepcopy(settings)
    changes = Changes()
    hooks: Settings | None = result.get("hooks")
    if hooks is None:
        return result, changes
    changes.removed = _strip_aitop_hooks(hooks, keep_first_in=set())
    if changes.removed and not hooks:
        del result["hooks"]
    return result, changes


# ---------------------------------------------------------------------------------------
# Which aitop the hooks run


# ---------------------------------------------------------------------------------------
# --check: findings about settings that parsed


def inspect_settings(
    settings: Settings,
    events: Sequence[str],
    where: str,
    program_exists: Callable[[str], bool],
    find_on_path: Callable[[str], str | None],
) -> list[Finding]:
    """What is right and wrong with aitop's hooks in settings that passed `check_shape`."""
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
    commands = [str(f.hook["command"]) for f in found]
    findings += program_findings(commands, program_exists, find_on_path, TITLE, REINSTALL)
    findings += _hook_shape_findings(found)
    return findings


def _hook_shape_findings(found: Sequence[AitopHook]) -> list[Finding]:
    findings: list[Finding] = []
    counts: dict[str, int] = {}
    for item in found:
        counts[item.event] = counts.get(item.event, 0) + 1
    for event, count in counts.items():
        if event in NEVER_REGISTERED:
            findings.append(
                Finding(
                    "problem",
                    f"aitop is registered for {event}, which breaks it (those hooks must print "
                    f"a path); {REINSTALL}",
                )
            )
        if count > 1:
            findings.append(
                Finding(
                    "problem",
                    f"aitop is registered {count} times for {event}, so those events count "
                    f"{count} times; {REINSTALL}",
                )
            )
    for event in dict.fromkeys(f.event for f in found if f.hook.get("async") is True):
        findings.append(
            Finding(
                "problem",
                f"aitop's {event} hook is async, so Claude Code drops its calls when "
                f"`claude -p` exits; {REINSTALL}",
            )
        )
    for item in found:
        matcher = restricting_matcher(item.group)
        if matcher is not None:
            findings.append(Finding("warning", _matcher_note(item.event, matcher)))
    return findings


def _matcher_note(event: str, matcher: str) -> str:
    return (
        f"aitop's {event} hook is in a group with matcher {quoted(matcher)}, so it sees only "
        "what matches; to see everything: aitop install --uninstall --write && aitop install "
        "--write"
    )


# ---------------------------------------------------------------------------------------
# The command


def parse_events(text: str) -> tuple[str, ...]:
    """`--events`: known Claude Code events, never WorktreeCreate; order kept, repeats dropped."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise AitopError(
            "--events is empty", f"name one or more of: {', '.join(HOOK_EVENTS)}", ExitCode.USAGE
        )
    for name in names:
        if name in NEVER_REGISTERED:
            raise AitopError(
                f"--events: aitop never registers {name} (its hooks must print a path, so a "
                "forwarder there breaks it)",
                f"leave {name} out",
                ExitCode.USAGE,
            )
        if name not in CLAUDE_CODE_EVENTS:
            close = difflib.get_close_matches(name, CLAUDE_CODE_EVENTS, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else f"aitop uses: {','.join(HOOK_EVENTS)}"
            raise AitopError(f"--events: unknown hook event {name!r}", hint, ExitCode.USAGE)
    return names


def settings_path(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    if args.settings:
        return str(args.settings)
    return os.path.join(paths.claude_dir(environ, getattr(args, "claude_dir", None)), SETTINGS_NAME)


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
        _temporary_dirs(),
        module_importable=_module_importable_elsewhere(),
        socket_override=getattr(args, "socket", None),
    )
    return _install(loaded, hook, events, write=args.write, env=env)


def _apply(loaded: Loaded, result: Settings, changes: Changes, write: bool, env: Env) -> int:
    apply(loaded, result, changes, write, env)
    return int(ExitCode.OK)


def _install(
    loaded: Loaded, hook: HookCommand, events: Sequence[str], write: bool, env: Env
) -> int:
    for warning in hook.warnings:
        say(env, f"warning: {warning}")
    result, changes = install_hooks(loaded.document, hook.command, events)
    for found in find_aitop_hooks(result):
        matcher = restricting_matcher(found.group)
        if matcher is not None:
            say(env, f"warning: {_matcher_note(found.event, matcher)}")
    if not changes.any:
        say(env, f"aitop's {events_text(events)} are already in {loaded.path}; nothing to write")
    return _apply(loaded, result, changes, write, env)


def _uninstall(loaded: Loaded, write: bool, env: Env) -> int:
    if loaded.data is None:
        say(env, f"no settings file at {loaded.path}; nothing to remove")
        return int(ExitCode.OK)
    result, changes = uninstall_hooks(loaded.document)
    if not changes.any:
        say(env, f"no aitop hooks in {loaded.path}; nothing to write")
    return _apply(loaded, result, changes, write, env)


def inspect(args: argparse.Namespace, env: Env) -> Inspection:
    """`--check`: what is right and wrong with aitop's hooks in settings.json, and the
    socket they reach. A file aitop cannot read is a problem here, not an error."""
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
            search_path = env.environ.get("PATH", os.defpath)
            found = list(find_aitop_hooks(loaded.document))
            findings += inspect_settings(
                loaded.document,
                events,
                shown,
                program_exists=_is_executable_file,
                find_on_path=lambda name: shutil.which(name, path=search_path),
            )
    commands = [str(f.hook.get("command", "")) for f in found]
    socket_path, notes = socket_to_probe(
        commands, getattr(args, "socket", None), env.environ, TITLE, REINSTALL, INSTALL
    )
    return Inspection(findings + notes, socket_path)


def _is_executable_file(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)
