"""`aitop install`: put aitop's hooks into Claude Code's settings.json, and take them out.

A user's settings.json holds their permissions, their own hooks, their MCP servers and
their status line: installing must never cost them any of it. So:

* The file is read by a position-aware JSON reader (`jsontext`) that reports every
  problem as `file:line:col` and keeps what a rewrite could lose (duplicate keys are
  refused, numbers keep their exact text).
* Anything aitop cannot read or does not understand (malformed JSON, a non-object root,
  a `hooks` value of the wrong shape) stops everything before a byte is written
  (`settings_file`, which also writes atomically, keeps the mode and a `.bak`, and
  writes through a symlink).
* The merge is pure functions on dicts (`install_hooks`, `uninstall_hooks`), here.

Which hooks are aitop's: a hook object whose `command`, split like a shell would, has a
token named `aitop` (any directory; `python -m aitop` too) followed by `hook` (the rule,
and the command's text, are `hook_command`'s).

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
  `--socket` (`hook_command.update_command`). The summary then says what changed in each
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
import shlex
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aitop import paths
from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.claude_code.hook_command import (
    AITOP,
    aitop_index,
    executable,
    update_command,
)
from aitop.providers.claude_code.hook_command import (
    parse as parse_command,
)
from aitop.providers.claude_code.hooks import HOOK_EVENTS
from aitop.providers.claude_code.jsontext import Settings, compact, quoted
from aitop.providers.claude_code.settings_file import (
    Loaded,
    check_shape,
    encode_settings,
    load_settings,
    write_settings,
)

HOOK_TIMEOUT_S = 5  # seconds: a stuck hook can never stall Claude Code for longer
SETTINGS_NAME = "settings.json"
PROBE_TIMEOUT_S = 0.5
REINSTALL = "run: aitop install --write"

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


def _command_tokens(command: Any) -> list[str] | None:
    if not isinstance(command, str):
        return None
    try:
        return shlex.split(command)
    except ValueError:  # an unbalanced quote: not a command aitop wrote
        return None


def is_aitop_command(command: Any) -> bool:
    tokens = _command_tokens(command)
    return tokens is not None and aitop_index(tokens) is not None


def is_aitop_hook(hook: Any) -> bool:
    return isinstance(hook, dict) and is_aitop_command(hook.get("command"))


def aitop_program(command: str) -> str | None:
    """The executable an aitop hook command runs: the script, or the Python of `-m aitop`,
    whatever comes before it (`AITOP_TAG=x python3 -m aitop hook` runs python3)."""
    return executable(command)


def hook_socket(command: str) -> str | None:
    """The socket an aitop hook command sends to (its `--socket PATH`); None when it
    names none, and the hook then uses $AITOP_SOCKET or the default."""
    parsed = parse_command(command)
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


@dataclass(frozen=True)
class Update:
    """One aitop hook install changed: the hook object before and after."""

    event: str
    before: Settings
    after: Settings


@dataclass
class Changes:
    """What a merge did, event by event (an event appears once per hook)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)  # one for each event in `updated`

    @property
    def any(self) -> bool:
        return bool(self.added or self.updated or self.removed)


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


@dataclass(frozen=True)
class HookCommand:
    command: str  # the shell command written into settings.json
    program: str  # the executable it starts
    warnings: tuple[str, ...] = ()


def _is_executable_file(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def choose_hook_command(
    argv0: str,
    python: str,
    search_path: str,
    temporary_dirs: Sequence[str],
    module_importable: bool = True,
    socket_override: str | None = None,
    is_executable: Callable[[str], bool] = _is_executable_file,
) -> HookCommand:
    """The absolute `aitop` to run, so hooks work whatever PATH Claude Code has.

    In order: the program running now if it is an `aitop` executable; the `aitop` script
    next to the running Python (`python -m aitop` in a venv); `aitop` on PATH; else
    `python -m aitop`, which works but starts slower than the script.
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
        command = f"{shlex.quote(program)} hook"
    else:
        program = os.path.abspath(python) if python else "python3"
        command = f"{shlex.quote(program)} -m {AITOP} hook"
        warnings.append(
            f"no `aitop` executable found; the hooks will run `{command}`, which starts "
            "slower; install aitop with pip or pipx so the `aitop` script exists"
        )
        if not module_importable:
            warnings.append(
                f"{program} imports aitop only from the current directory, so the hooks "
                "will fail elsewhere; install it (pip install -e .) and run this again"
            )
    if socket_override:
        command += f" --socket {shlex.quote(os.path.abspath(socket_override))}"
    temporary = looks_temporary(program, temporary_dirs)
    if temporary:
        warnings.append(
            f"{program} looks temporary (under {temporary}); the hooks break when it is "
            "deleted: install aitop somewhere lasting and run this again"
        )
    return HookCommand(command, program, tuple(warnings))


def looks_temporary(path: str, temporary_dirs: Sequence[str]) -> str | None:
    """The temporary directory `path` lies under, if any (a build or a venv under /tmp)."""
    for candidate in {os.path.abspath(path), os.path.realpath(path)}:
        for directory in temporary_dirs:
            if candidate.startswith(directory.rstrip(os.sep) + os.sep):
                return directory
    return None


def _temporary_dirs() -> tuple[str, ...]:
    dirs = {"/tmp", "/var/tmp", "/dev/shm", tempfile.gettempdir()}
    return tuple(sorted(dirs | {os.path.realpath(d) for d in dirs}))


def _module_importable_elsewhere() -> bool:
    """Whether `python -m aitop` would find the package from another directory.

    `sys.path[0]` is the directory `python -m` started in; any other entry holding the
    package (site-packages, an editable install's path) works from anywhere.
    """
    root = os.path.realpath(os.path.dirname(os.path.dirname(paths.__file__)))
    return any(entry and os.path.realpath(entry) == root for entry in sys.path[1:])


# ---------------------------------------------------------------------------------------
# --check: findings about settings that parsed


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "warning" (all is well, but worth knowing) or "problem"
    text: str

    def line(self) -> str:
        return f"{self.level}: {self.text}"


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
    findings += _program_findings(found, program_exists, find_on_path)
    findings += _hook_shape_findings(found)
    return findings


def _program_findings(
    found: Sequence[AitopHook],
    program_exists: Callable[[str], bool],
    find_on_path: Callable[[str], str | None],
) -> list[Finding]:
    findings: list[Finding] = []
    programs = dict.fromkeys(aitop_program(str(f.hook["command"])) or "" for f in found)
    programs.pop("", None)  # cannot happen: every found hook's command names aitop
    for program in programs:
        if not os.path.isabs(program):
            on_path = find_on_path(program)
            if on_path is None:
                findings.append(
                    Finding(
                        "problem",
                        f"hooks run `{program}` by name and it is not on PATH; {REINSTALL}",
                    )
                )
            else:
                findings.append(
                    Finding(
                        "warning",
                        f"hooks run `{program}` by name (here {on_path}), which depends on "
                        f"Claude Code's PATH; {REINSTALL} to use an absolute path",
                    )
                )
        elif program_exists(program):
            findings.append(Finding("ok", f"hooks run {program}"))
        else:
            findings.append(
                Finding("problem", f"hooks point at {program}, which does not exist; {REINSTALL}")
            )
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


def probe_monitor(socket_path: str) -> str | None:
    """None if a monitor accepts connections on `socket_path`, else why not.

    Connects and closes at once without sending: the monitor counts a zero-byte
    connection as a probe, not as a malformed frame.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(PROBE_TIMEOUT_S)
        sock.connect(socket_path)
    except FileNotFoundError:
        return "no monitor listening"
    except ConnectionRefusedError:
        return "no monitor listening (a stale socket)"
    except TimeoutError:
        return f"the monitor did not answer within {PROBE_TIMEOUT_S} s"
    except OSError as error:
        return f"cannot connect: {error.strerror or error}"
    finally:
        sock.close()
    return None


# ---------------------------------------------------------------------------------------
# The command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--write", action="store_true", help="write the settings file (atomically, with a .bak)"
    )
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="print the resulting settings without writing them (the default)",
    )
    mode.add_argument(
        "--check",
        action="store_true",
        help="say whether the hooks are installed and a monitor is listening (exit 0/1)",
    )
    parser.add_argument(
        "--uninstall", action="store_true", help="remove aitop's hooks instead of adding them"
    )
    parser.add_argument(
        "--settings",
        metavar="PATH",
        help="the settings file (default: settings.json in --claude-dir, $CLAUDE_CONFIG_DIR "
        "or ~/.claude)",
    )
    parser.add_argument(
        "--events",
        metavar="LIST",
        help=f"comma-separated hook events to register (default: {', '.join(HOOK_EVENTS)})",
    )
    parser.add_argument(
        "--statusline",
        action="store_true",
        help="manage Claude Code's status line instead of the hooks: make it `aitop statusline`"
        " (plan limits), keeping a status line command you have as the one it shows",
    )


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
    if args.check and args.uninstall:
        raise AitopError(
            "--check and --uninstall do not go together", "use one of them", ExitCode.USAGE
        )
    if args.uninstall and args.events is not None:
        raise AitopError(
            "--events does not go with --uninstall (it removes aitop's hooks from every event)",
            "leave out --events",
            ExitCode.USAGE,
        )
    if getattr(args, "statusline", False) and args.events is not None:
        raise AitopError(
            "--events does not go with --statusline (the status line is not a hook)",
            "leave out --events",
            ExitCode.USAGE,
        )
    events = HOOK_EVENTS if args.events is None else parse_events(args.events)
    path = settings_path(args, env.environ)
    socket_override = getattr(args, "socket", None)
    if getattr(args, "statusline", False):
        return _statusline(args, path, socket_override, env)
    if args.check:
        return _check(path, events, socket_override, env)
    loaded = load_settings(path)
    if args.uninstall:
        return _uninstall(loaded, write=args.write, env=env)
    hook = _chosen_command(env, socket_override)
    return _install(loaded, hook, events, write=args.write, env=env)


def _chosen_command(env: Env, socket_override: str | None) -> HookCommand:
    return choose_hook_command(
        env.executable,
        sys.executable,
        env.environ.get("PATH", os.defpath),
        _temporary_dirs(),
        module_importable=_module_importable_elsewhere(),
        socket_override=socket_override,
    )


def _statusline(args: argparse.Namespace, path: str, socket_override: str | None, env: Env) -> int:
    """`--statusline`: the status line rather than the hooks (statusline_install)."""
    from aitop.providers.claude_code import statusline_install

    if args.check:
        return _check_statusline(path, socket_override, env)
    if args.uninstall:
        return statusline_install.run_uninstall(path, write=args.write, env=env)
    hook = _chosen_command(env, socket_override)
    for warning in hook.warnings:
        _say(env, f"warning: {warning.replace('the hooks', 'the status line')}")
    return statusline_install.run_install(path, hook.command, write=args.write, env=env)


def _check_statusline(path: str, socket_given: str | None, env: Env) -> int:
    from aitop.providers.claude_code import statusline_install

    shown = _tilde(path, env.environ)
    findings: list[Finding] = []
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
        findings += [
            Finding(level, text)
            for level, text in statusline_install.findings(
                loaded.settings, shown, _is_executable_file
            )
        ]
    socket_path = os.path.abspath(socket_given) if socket_given else paths.socket_path(env.environ)
    why_not = probe_monitor(socket_path)
    shown_socket = _tilde(socket_path, env.environ)
    if why_not is None:
        findings.append(Finding("ok", f"a monitor is listening on {shown_socket}"))
    else:
        findings.append(
            Finding("problem", f"{why_not} on {shown_socket}; start aitop in another terminal")
        )
    for finding in findings:
        print(finding.line(), file=env.stdout)
    env.stdout.flush()
    problems = any(f.level == "problem" for f in findings)
    return int(ExitCode.FAILURE if problems else ExitCode.OK)


def _say(env: Env, text: str) -> None:
    print(f"aitop install: {text}", file=env.stderr, flush=True)


def _events_text(events: Sequence[str]) -> str:
    names = ", ".join(dict.fromkeys(events))
    return f"{len(events)} hook{'s' if len(events) != 1 else ''} ({names})"


def _change_phrases(changes: Changes, past: bool) -> list[str]:
    add, update, remove = ("added", "updated", "removed") if past else ("add", "update", "remove")
    phrases = []
    if changes.added:
        phrases.append(f"{add} {_events_text(changes.added)}")
    if changes.updated:
        count = len(changes.updated)
        phrases.append(f"{update} {count} aitop hook{'s' if count != 1 else ''}")
    if changes.removed:
        phrases.append(f"{remove} aitop's {_events_text(changes.removed)}")
    return phrases


def _describe(changes: Changes, past: bool, path: str) -> str:
    phrases = _change_phrases(changes, past)
    text = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    if changes.added and not (changes.updated or changes.removed):
        return f"{text} to {path}"
    if changes.removed and not (changes.added or changes.updated):
        return f"{text} from {path}"
    return f"{text} in {path}"


def _update_lines(changes: Changes) -> list[str]:
    """What changed in each updated hook, old → new; hooks with the same change together."""
    events_by_change: dict[str, list[str]] = {}
    for update in changes.updates:
        change = _difference(update.before, update.after)
        events_by_change.setdefault(change, []).append(update.event)
    return [f"  {', '.join(events)}: {change}" for change, events in events_by_change.items()]


def _difference(before: Settings, after: Settings) -> str:
    """`key old → new` for each key that differs, in the file's key order."""
    parts = []
    for key in dict.fromkeys([*before, *after]):
        old = compact(before[key]) if key in before else "(none)"
        new = compact(after[key]) if key in after else "(none)"
        if old != new:
            parts.append(f"{key} {old} → {new}")
    return "; ".join(parts)


def _apply(loaded: Loaded, result: Settings, changes: Changes, write: bool, env: Env) -> int:
    data = encode_settings(result, loaded.path)
    if not write:
        env.stdout.write(data.decode("utf-8"))
        env.stdout.flush()
        if changes.any:
            what = (
                f"create {loaded.path} with {_events_text(changes.added)}"
                if loaded.data is None
                else _describe(changes, past=False, path=loaded.path)
            )
            _say(env, f"would {what}; run with --write to apply")
            for line in _update_lines(changes):
                _say(env, line)
        return int(ExitCode.OK)
    if not changes.any:
        return int(ExitCode.OK)
    target = write_settings(loaded.path, data, loaded.data)
    if loaded.data is None:
        _say(env, f"created {target} with {_events_text(changes.added)}")
    else:
        what = _describe(changes, past=True, path=target)
        _say(env, f"{what}; the previous version is in {target}.bak")
        for line in _update_lines(changes):
            _say(env, line)
    return int(ExitCode.OK)


def _install(
    loaded: Loaded, hook: HookCommand, events: Sequence[str], write: bool, env: Env
) -> int:
    for warning in hook.warnings:
        _say(env, f"warning: {warning}")
    result, changes = install_hooks(loaded.settings, hook.command, events)
    for found in find_aitop_hooks(result):
        matcher = restricting_matcher(found.group)
        if matcher is not None:
            _say(env, f"warning: {_matcher_note(found.event, matcher)}")
    if not changes.any:
        _say(env, f"aitop's {_events_text(events)} are already in {loaded.path}; nothing to write")
    return _apply(loaded, result, changes, write, env)


def _uninstall(loaded: Loaded, write: bool, env: Env) -> int:
    if loaded.data is None:
        _say(env, f"no settings file at {loaded.path}; nothing to remove")
        return int(ExitCode.OK)
    result, changes = uninstall_hooks(loaded.settings)
    if not changes.any:
        _say(env, f"no aitop hooks in {loaded.path}; nothing to write")
    return _apply(loaded, result, changes, write, env)


def _tilde(path: str, environ: Mapping[str, str]) -> str:
    home = paths.home(environ).rstrip(os.sep)
    if home and path.startswith(home + os.sep):
        return "~" + path[len(home) :]
    return path


def _socket_to_probe(
    found: Sequence[AitopHook], given: str | None, environ: Mapping[str, str]
) -> tuple[str, list[Finding]]:
    """Which monitor the hooks reach, so that is the one to probe: the `--socket` given
    to --check, else the one the hooks name (`aitop install --socket` wrote it into
    them), else where a hook without one sends ($AITOP_SOCKET, else the default)."""
    default = paths.socket_path(environ)
    named = {hook_socket(str(f.hook.get("command", ""))) for f in found}
    explicit = sorted({os.path.abspath(s) for s in named if s is not None})
    if given is not None:
        target = os.path.abspath(given)
        other = [s for s in explicit if s != target]
        if other:
            return target, [
                Finding(
                    "problem",
                    f"the hooks send to {other[0]}, not to {target}; run: aitop install --write"
                    f" --socket {shlex.quote(target)}",
                )
            ]
        if None in named and os.path.abspath(default) != target:
            return target, [
                Finding(
                    "warning",
                    f"the hooks name no socket: they reach {target} only if Claude Code runs"
                    f" with AITOP_SOCKET={target}; to be sure, run: aitop install --write"
                    f" --socket {shlex.quote(target)}",
                )
            ]
        return target, []
    if len(explicit) > 1 or (explicit and None in named):
        sent = ", ".join(explicit + (["the default"] if None in named else []))
        return default, [
            Finding("problem", f"the hooks send to different sockets ({sent}); {REINSTALL}")
        ]
    return (explicit[0] if explicit else default), []


def _check(path: str, events: Sequence[str], socket_given: str | None, env: Env) -> int:
    shown = _tilde(path, env.environ)
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
            found = list(find_aitop_hooks(loaded.settings))
            findings += inspect_settings(
                loaded.settings,
                events,
                shown,
                program_exists=_is_executable_file,
                find_on_path=lambda name: shutil.which(name, path=search_path),
            )
    socket_path, notes = _socket_to_probe(found, socket_given, env.environ)
    findings += notes
    why_not = probe_monitor(socket_path)
    shown_socket = _tilde(socket_path, env.environ)
    if why_not is None:
        findings.append(Finding("ok", f"a monitor is listening on {shown_socket}"))
    else:
        findings.append(
            Finding("problem", f"{why_not} on {shown_socket}; start aitop in another terminal")
        )
    for finding in findings:
        print(finding.line(), file=env.stdout)
    env.stdout.flush()
    problems = any(f.level == "problem" for f in findings)
    return int(ExitCode.FAILURE if problems else ExitCode.OK)
