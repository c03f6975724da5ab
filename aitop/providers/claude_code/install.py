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
* The merge is pure functions on dicts (`install_hooks`, `uninstall_hooks`): the rules
  Claude Code's, Codex's and Gemini CLI's files share (`install.matcher_groups`: which
  hooks are aitop's, keep the first and update it in place, remove the rest, remove a
  group only when it is empty and aitop's shape, so that install then uninstall gives
  the settings back), with Claude Code's own parts here.

Rules where a choice had to be made:

* Install makes aitop's registration exactly the chosen events. An aitop hook updated in
  place loses an `async` key, because Claude Code loses async hook calls when `claude -p`
  exits; aitop hooks in events not chosen are removed, WorktreeCreate's above all (its
  hooks must print a path).
* A custom aitop hook command is kept: what the user added before aitop's part or after
  it (`AITOP_TAG=work`, `env FOO=1`, `--agent NAME`, a `--socket` of their own, `|| true`)
  stays byte for byte. Install changes only what it must: the executable, when it is not
  the one install chose (aitop moved), and the `--socket` value, when install is given
  `--socket` (`install.command.update_command`). The summary then says what changed in each
  hook, key by key, old → new; "updated in place" would hide a changed command.
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
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from aitop import paths
from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.claude_code.hooks import HOOK_EVENTS
from aitop.providers.claude_code.jsontext import Settings
from aitop.providers.claude_code.settings_file import check_shape, load_settings
from aitop.providers.install import matcher_groups
from aitop.providers.install.check import (
    Finding,
    Inspection,
    monitor_finding,
    programs_here,
    tilde,
    unreadable_finding,
)
from aitop.providers.install.check import (
    probe_monitor as probe_monitor,
)
from aitop.providers.install.command import (
    HookCommand,
    command_for,
    executable,
    is_executable_file,
)
from aitop.providers.install.command import (
    choose_hook_command as choose_hook_command,
)
from aitop.providers.install.command import (
    hook_socket as hook_socket,
)
from aitop.providers.install.command import (
    is_aitop_command as is_aitop_command,
)
from aitop.providers.install.command import (
    looks_temporary as looks_temporary,
)
from aitop.providers.install.command import temporary_dirs as _temporary_dirs
from aitop.providers.install.matcher_groups import (
    AitopHook,
    HookFile,
    counts_by_event,
    inspect_file,
    matcher_findings,
    registration_finding,
    repeat_finding,
)
from aitop.providers.install.matcher_groups import (
    is_aitop_hook as is_aitop_hook,
)
from aitop.providers.install.summary import Changes, say

TITLE = "Claude Code"
HOOK_TIMEOUT_S = 5  # seconds: a stuck hook can never stall Claude Code for longer
SETTINGS_NAME = "settings.json"

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
# Which hooks are aitop's, and the merge (`install.matcher_groups`, in Claude Code's words)


# the program an aitop hook command starts: the script, or the Python of `-m aitop`
aitop_program = executable


def aitop_hook(command: str) -> Settings:
    """The hook object Claude Code accepts (captured from a real run): no matcher needed."""
    return {"type": "command", "command": command, "timeout": HOOK_TIMEOUT_S}


def restricting_matcher(group: Settings) -> str | None:
    """The group's matcher if it limits which events reach its hooks."""
    matcher = group.get("matcher")
    return None if matcher in (None, "", "*") else str(matcher)


HOOKS = HookFile(
    title=TITLE,
    command="aitop install",
    noun="settings file",
    check_shape=check_shape,
    hook=lambda command, event: aitop_hook(command),
    restricting_matcher=lambda event, group: restricting_matcher(group),
    drop=frozenset({"async"}),  # async calls are lost when `claude -p` exits
)
INSTALL = HOOKS.install
REINSTALL = HOOKS.reinstall


def find_aitop_hooks(settings: Settings) -> Iterator[AitopHook]:
    """aitop's hooks in file order. The settings must have passed `check_shape`."""
    return matcher_groups.find_aitop_hooks(HOOKS, settings)


def install_hooks(settings: Any, command: str, events: Sequence[str]) -> tuple[Settings, Changes]:
    """A copy of `settings` with aitop's hook registered for exactly `events`; `ShapeError`
    before changing anything if the settings have the wrong shape."""
    return matcher_groups.install_hooks(HOOKS, settings, command, events)


def uninstall_hooks(settings: Any) -> tuple[Settings, Changes]:
    """A copy of `settings` without any aitop hook, and without what only they needed."""
    return matcher_groups.uninstall_hooks(HOOKS, settings)


# ---------------------------------------------------------------------------------------
# --check: findings about settings that parsed


def inspect_settings(
    settings: Settings, events: Sequence[str], where: str, environ: Mapping[str, str]
) -> list[Finding]:
    """What is right and wrong with aitop's hooks in settings that passed `check_shape`."""
    found = list(find_aitop_hooks(settings))
    commands = [str(f.hook["command"]) for f in found]
    return [
        registration_finding(found, events, where, REINSTALL),
        *programs_here(commands, environ, TITLE, REINSTALL),
        *_hook_shape_findings(found),
    ]


def _hook_shape_findings(found: Sequence[AitopHook]) -> list[Finding]:
    findings: list[Finding] = []
    for event, count in counts_by_event(found).items():
        if event in NEVER_REGISTERED:
            findings.append(
                Finding(
                    "problem",
                    f"aitop is registered for {event}, which breaks it (those hooks must print "
                    f"a path); {REINSTALL}",
                )
            )
        if count > 1:
            findings.append(repeat_finding(event, count, REINSTALL))
    for event in dict.fromkeys(f.event for f in found if f.hook.get("async") is True):
        findings.append(
            Finding(
                "problem",
                f"aitop's {event} hook is async, so Claude Code drops its calls when "
                f"`claude -p` exits; {REINSTALL}",
            )
        )
    return findings + matcher_findings(HOOKS, found)


# ---------------------------------------------------------------------------------------
# The command


def parse_events(text: str) -> tuple[str, ...]:
    """`--events`: known Claude Code events, never WorktreeCreate; order kept, repeats dropped."""
    return matcher_groups.parse_events(
        text,
        CLAUDE_CODE_EVENTS,
        HOOK_EVENTS,
        lambda name: f"--events: unknown hook event {name!r}",
        f"aitop uses: {','.join(HOOK_EVENTS)}",
        refuse=_refuse_never_registered,
    )


def _refuse_never_registered(name: str) -> None:
    if name in NEVER_REGISTERED:
        raise AitopError(
            f"--events: aitop never registers {name} (its hooks must print a path, so a "
            "forwarder there breaks it)",
            f"leave {name} out",
            ExitCode.USAGE,
        )


def settings_path(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    if args.settings:
        return str(args.settings)
    return os.path.join(paths.claude_dir(environ, getattr(args, "claude_dir", None)), SETTINGS_NAME)


def run(args: argparse.Namespace, env: Env) -> int:
    """Print (or with --write, write) the settings with aitop's hooks merged in, or out."""
    events = HOOK_EVENTS if args.events is None else parse_events(args.events)
    loaded = load_settings(settings_path(args, env.environ))
    hook = None if args.uninstall else _chosen_command(env, getattr(args, "socket", None))
    return matcher_groups.apply_merge(HOOKS, loaded, hook, events, args.write, env)


def _chosen_command(env: Env, socket_override: str | None) -> HookCommand:
    return command_for(env, _temporary_dirs(), socket_override)


def run_statusline(args: argparse.Namespace, env: Env) -> int:
    """`--statusline`: the status line rather than the hooks (statusline_install)."""
    from aitop.providers.claude_code import statusline_install

    path = settings_path(args, env.environ)
    socket_override = getattr(args, "socket", None)
    if args.check:
        return _check_statusline(path, socket_override, env)
    if args.uninstall:
        return statusline_install.run_uninstall(path, write=args.write, env=env)
    hook = _chosen_command(env, socket_override)
    for warning in hook.warnings:
        say(env, f"warning: {warning.replace('the hooks', 'the status line')}")
    return statusline_install.run_install(path, hook.command, write=args.write, env=env)


def _check_statusline(path: str, socket_given: str | None, env: Env) -> int:
    from aitop.providers.claude_code import statusline_install

    shown = tilde(path, env.environ)
    findings: list[Finding] = []
    try:
        loaded = load_settings(path)
    except AitopError as error:
        findings.append(unreadable_finding(error))
    else:
        findings += [
            Finding(level, text)
            for level, text in statusline_install.findings(
                loaded.document, shown, is_executable_file
            )
        ]
    socket_path = os.path.abspath(socket_given) if socket_given else paths.socket_path(env.environ)
    findings.append(monitor_finding(socket_path, env.environ))
    for finding in findings:
        print(finding.line(), file=env.stdout)
    env.stdout.flush()
    problems = any(f.level == "problem" for f in findings)
    return int(ExitCode.FAILURE if problems else ExitCode.OK)


def inspect(args: argparse.Namespace, env: Env) -> Inspection:
    """`--check`: what is right and wrong with aitop's hooks in settings.json, and the
    socket they reach. A file aitop cannot read is a problem here, not an error."""
    events = HOOK_EVENTS if args.events is None else parse_events(args.events)
    return inspect_file(
        HOOKS,
        settings_path(args, env.environ),
        load_settings,
        lambda settings, found, shown: inspect_settings(settings, events, shown, env.environ),
        getattr(args, "socket", None),
        env.environ,
    )
