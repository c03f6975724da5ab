"""`aitop install --agent codex`: put aitop's hooks into Codex's hooks.json, have Codex
trust exactly those, and take them out again.

The file gets the guarantees Claude Code's settings.json gets (the shared
`aitop.providers.install` machinery): read whole and checked before anything changes
(`file:line:col` errors, duplicate keys refused, numbers and key order kept), written
atomically with a `.bak`, mode kept, through a symlink; the user's hooks and keys stay;
install is idempotent and uninstall removes exactly aitop's hooks.

What is Codex's own:

* Trust. `codex exec` silently skips a hook nobody trusted. Codex records trust in the
  user's config.toml, keyed by the hook's *position* in hooks.json (event, group index,
  handler index). So aitop's group goes at the END of each event's list, never before the
  user's (which would move their keys and un-trust them), and any removal that moves one
  of the user's hooks is said, hook by hook. With `--write` and a `codex` on PATH, aitop
  then has Codex itself trust exactly the hooks whose command is the one aitop wrote
  (`trust`: `codex app-server`), and checks that Codex says so. Without one, it says what
  to do in codex.
* The hook: `{"type": "command", "command": "…/aitop hook --agent codex", "timeout": 5}`,
  in a group without a matcher (every tool, every source); 3 s for SessionEnd and
  Interrupt, which Codex holds to at most 3 s and warns about otherwise. An `async` key on
  aitop's hook is dropped, as for Claude Code.
* Codex refuses a whole hooks.json for one thing it does not know (a top-level key other
  than `hooks` and `description`, a float timeout): aitop keeps such a file as it is (it
  is the user's), and `--check` and `--write` report Codex's own complaint.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import os
import shlex
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.codex.hooks import HOOK_EVENTS, KNOWN_EVENTS
from aitop.providers.codex.rollout import AGENT
from aitop.providers.codex.trust import (
    TRUSTED,
    AppServer,
    AppServerError,
    ListedHook,
    find_codex,
    forget,
    list_hooks,
    trust,
)
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
    hook_socket,
    is_aitop_command,
    update_command,
)
from aitop.providers.install.command import (
    module_importable_elsewhere as _module_importable_elsewhere,
)
from aitop.providers.install.command import temporary_dirs as _temporary_dirs
from aitop.providers.install.jsonfile import Loaded, ShapeError, load
from aitop.providers.install.jsontext import JsonObject, Reader, compact, kind, quoted
from aitop.providers.install.summary import Changes, Update, apply, events_text, say

TITLE = "Codex"
HOOKS_NAME = "hooks.json"
CONFIG_NAME = "config.toml"
HOOK_TIMEOUT_S = 5  # seconds: a stuck hook can never stall Codex for longer
SHORT_TIMEOUT_S = 3  # Codex holds these events' hooks to 3 s, and warns about more
SHORT_TIMEOUT_EVENTS = frozenset({"SessionEnd", "Interrupt"})
# The events whose matcher Codex keeps; for the others a matcher is ignored
MATCHER_EVENTS = frozenset(
    {
        "PreToolUse",
        "PostToolUse",
        "PermissionRequest",
        "SessionStart",
        "SessionEnd",
        "PreCompact",
        "PostCompact",
        "SubagentStart",
        "SubagentStop",
    }
)
INSTALL = "aitop install --agent codex --write"
REINSTALL = f"run: {INSTALL}"
TRUST_IN_CODEX = 'start codex and choose "Trust all and continue" (or review them with /hooks)'
WRITE_AND_TRUST = "run with --write to apply (aitop then asks Codex to trust them)"
WRITE_AND_FORGET = "run with --write to apply (aitop then has Codex forget its trust of them)"
# Codex reads hooks.json with serde, which refuses a repeated field
CODEX = Reader("Codex", "Codex refuses repeated keys, and a rewrite would keep only one")


# ---------------------------------------------------------------------------------------
# The file's shape, and which hooks are aitop's


def check_shape(document: Any) -> None:
    """Raise `ShapeError` unless aitop can walk and change this hooks.json's hooks.

    Hook objects themselves are not checked: one that is not an object with an aitop
    `command` is someone else's, and is left exactly as it is.
    """
    if not isinstance(document, dict):
        raise ShapeError((), f"{HOOKS_NAME} holds {kind(document)}, expected an object")
    if "hooks" not in document:
        return
    hooks = document["hooks"]
    if not isinstance(hooks, dict):
        raise ShapeError(("hooks",), f'"hooks" is {kind(hooks)}, expected an object of event names')
    for event, groups in hooks.items():
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


def is_aitop_hook(hook: Any) -> bool:
    return isinstance(hook, dict) and is_aitop_command(hook.get("command"))


@dataclass(frozen=True)
class AitopHook:
    """One aitop hook in hooks.json, and where: Codex's trust key is this position."""

    event: str
    group_index: int
    handler_index: int
    group: JsonObject
    hook: JsonObject


def find_aitop_hooks(document: JsonObject) -> Iterator[AitopHook]:
    """aitop's hooks in file order. The document must have passed `check_shape`."""
    for event, groups in document.get("hooks", {}).items():
        for g, group in enumerate(groups):
            for h, hook in enumerate(group.get("hooks", [])):
                if is_aitop_hook(hook):
                    yield AitopHook(event, g, h, group, hook)


def restricting_matcher(event: str, group: JsonObject) -> str | None:
    """The group's matcher if it limits what reaches its hooks (Codex ignores a matcher
    on the events that have none to match)."""
    matcher = group.get("matcher")
    if event not in MATCHER_EVENTS or matcher in (None, "", "*"):
        return None
    return str(matcher)


# ---------------------------------------------------------------------------------------
# The merge: pure functions on dicts


def aitop_hook(command: str, event: str) -> JsonObject:
    timeout = SHORT_TIMEOUT_S if event in SHORT_TIMEOUT_EVENTS else HOOK_TIMEOUT_S
    return {"type": "command", "command": command, "timeout": timeout}


@dataclass(frozen=True)
class Moved:
    """One of the user's hooks that a merge moved: Codex no longer trusts it there."""

    event: str
    hook: Any
    before: tuple[int, int]  # (group index, handler index)
    after: tuple[int, int]

    def describe(self) -> str:
        command = self.hook.get("command") if isinstance(self.hook, dict) else None
        shown = quoted(command) if isinstance(command, str) else compact(self.hook)
        return f"{self.event}: {shown[:80]}"


@dataclass(frozen=True)
class Merge:
    document: JsonObject
    changes: Changes
    moved: list[Moved]


def _user_places(hooks: JsonObject) -> dict[str, list[tuple[int, int, Any]]]:
    """Where each hook that is not aitop's sits, per event Codex knows, in file order."""
    places: dict[str, list[tuple[int, int, Any]]] = {}
    for event, groups in hooks.items():
        if event not in KNOWN_EVENTS:
            continue  # Codex never loads it: its positions key nothing
        for g, group in enumerate(groups):
            entries = group.get("hooks")
            for h, entry in enumerate(entries if isinstance(entries, list) else []):
                if not is_aitop_hook(entry):
                    places.setdefault(event, []).append((g, h, entry))
    return places


def _moved(before: dict[str, list[tuple[int, int, Any]]], hooks: JsonObject) -> list[Moved]:
    """The user's hooks whose position changed. A merge never adds, drops or reorders
    them, so the n-th of an event before is the n-th after."""
    after = _user_places(hooks)
    moved: list[Moved] = []
    for event, places in before.items():
        for (g0, h0, hook), (g1, h1, _) in zip(places, after.get(event, []), strict=True):
            if (g0, h0) != (g1, h1):
                moved.append(Moved(event, hook, (g0, h0), (g1, h1)))
    return moved


def _strip_aitop_hooks(hooks: JsonObject, keep_first_in: set[str]) -> list[str]:
    """Remove aitop's hooks from every event, in place, but the first of each event in
    `keep_first_in`. A group this empties goes if it has no key but `hooks` (the shape
    aitop creates), and an event list this empties goes. One event name per hook removed."""
    removed_from: list[str] = []
    for event in list(hooks):
        kept_first = False
        groups: list[Any] = []
        for group in hooks[event]:
            entries = group.get("hooks")
            if not isinstance(entries, list) or not any(is_aitop_hook(e) for e in entries):
                groups.append(group)
                continue
            remaining: list[Any] = []
            for entry in entries:
                if not is_aitop_hook(entry):
                    remaining.append(entry)
                elif event in keep_first_in and not kept_first:
                    kept_first = True
                    remaining.append(entry)
                else:
                    removed_from.append(event)
            if not remaining and group.keys() == {"hooks"}:
                continue
            group["hooks"] = remaining
            groups.append(group)
        if groups or event not in removed_from:
            hooks[event] = groups
        else:
            del hooks[event]
    return removed_from


def install_hooks(document: Any, command: str, events: Sequence[str]) -> Merge:
    """A copy of `document` with aitop's hook registered for exactly `events`.

    An aitop hook already there is updated where it is (its command keeps what the user
    added, see `update_command`); an event without one gets a new group at the END of its
    list, so no hook of the user's moves. Raises `ShapeError` before changing anything if
    the document has the wrong shape.
    """
    check_shape(document)
    result: JsonObject = copy.deepcopy(document)
    hooks: JsonObject = result.get("hooks", {})
    before = _user_places(hooks)
    changes = Changes()
    changes.removed = _strip_aitop_hooks(hooks, keep_first_in=set(events))
    first_hooks: dict[str, JsonObject] = {}
    for found in find_aitop_hooks({"hooks": hooks}):
        first_hooks.setdefault(found.event, found.hook)
    for event in events:
        existing = first_hooks.get(event)
        if existing is None:
            hooks.setdefault(event, []).append({"hooks": [aitop_hook(command, event)]})
            changes.added.append(event)
            continue
        was = dict(existing)
        existing.update(aitop_hook(update_command(existing["command"], command), event))
        existing.pop("async", None)
        if existing == was:
            changes.unchanged.append(event)
        else:
            changes.updated.append(event)
            changes.updates.append(Update(event, was, dict(existing)))
    if hooks and "hooks" not in result:
        result["hooks"] = hooks
    return Merge(result, changes, _moved(before, hooks))


def uninstall_hooks(document: Any) -> Merge:
    """A copy of `document` without any aitop hook, and without what only they needed."""
    check_shape(document)
    result: JsonObject = copy.deepcopy(document)
    changes = Changes()
    hooks: JsonObject | None = result.get("hooks")
    if hooks is None:
        return Merge(result, changes, [])
    before = _user_places(hooks)
    changes.removed = _strip_aitop_hooks(hooks, keep_first_in=set())
    if changes.removed and not hooks:
        del result["hooks"]
    return Merge(result, changes, _moved(before, hooks))


# ---------------------------------------------------------------------------------------
# The command


def parse_events(text: str) -> tuple[str, ...]:
    """`--events` for Codex: event names Codex knows; order kept, repeats dropped."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise AitopError(
            "--events is empty", f"name one or more of: {', '.join(HOOK_EVENTS)}", ExitCode.USAGE
        )
    for name in names:
        if name not in KNOWN_EVENTS:
            close = difflib.get_close_matches(name, KNOWN_EVENTS, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else f"Codex has: {','.join(KNOWN_EVENTS)}"
            raise AitopError(f"--events: unknown Codex hook event {name!r}", hint, ExitCode.USAGE)
    return names


def codex_home(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """`--codex-home`, else `$CODEX_HOME`, else `~/.codex` (the registry's rule), absolute:
    it is also the CODEX_HOME aitop gives `codex app-server`."""
    from aitop.providers.registry import AGENTS

    return os.path.abspath(AGENTS[AGENT].directory(environ, getattr(args, "codex_home", None)))


def _refuse_settings(args: argparse.Namespace) -> None:
    if getattr(args, "settings", None) is not None:
        raise AitopError(
            "--settings names Claude Code's settings file, not Codex's",
            "for Codex give --codex-home DIR (its hooks are in DIR/hooks.json)",
            ExitCode.USAGE,
        )


def run(args: argparse.Namespace, env: Env) -> int:
    """Print (or with --write, write and have Codex trust) hooks.json with aitop's hooks
    merged in, or out."""
    _refuse_settings(args)
    events = HOOK_EVENTS if args.events is None else parse_events(args.events)
    home = codex_home(args, env.environ)
    loaded = load(os.path.join(home, HOOKS_NAME), CODEX, check_shape)
    command: str | None = None
    if args.uninstall:
        if loaded.data is None:
            say(env, f"no hooks file at {loaded.path}; nothing to remove")
            return int(ExitCode.OK)
        merge = uninstall_hooks(loaded.document)
        if not merge.changes.any:
            say(env, f"no aitop hooks in {loaded.path}; nothing to write")
    else:
        hook = _hook_command(env, getattr(args, "socket", None))
        command = hook.command
        for warning in hook.warnings:
            say(env, f"warning: {warning}")
        merge = install_hooks(loaded.document, command, events)
        for found in find_aitop_hooks(merge.document):
            matcher = restricting_matcher(found.event, found.group)
            if matcher is not None:
                say(env, f"warning: {_matcher_note(found.event, matcher)}")
        if not merge.changes.any:
            say(
                env, f"aitop's {events_text(events)} are already in {loaded.path}; nothing to write"
            )
    if not args.write:
        hint = WRITE_AND_FORGET if args.uninstall else WRITE_AND_TRUST
        apply(loaded, merge.document, merge.changes, False, env, hint=hint)
        _say_moved(merge.moved, env, done=False)
        return int(ExitCode.OK)
    own = None if command is None else _hook_command(env, None).command
    return _write(loaded, merge, own, home, env)


def _hook_command(env: Env, socket: str | None) -> HookCommand:
    return choose_hook_command(
        env.executable,
        sys.executable,
        env.environ.get("PATH", os.defpath),
        _temporary_dirs(),
        module_importable=_module_importable_elsewhere(),
        socket_override=socket,
        agent=AGENT,
    )


def is_own_command(command: str | None, base: str) -> bool:
    """Whether `command` is one aitop install writes: `base` (`…/aitop hook --agent
    codex`), or `base --socket PATH`. Nothing the user added: aitop has Codex trust only
    what it wrote itself."""
    if command == base:
        return True
    socket = hook_socket(command) if command is not None else None
    return (
        socket is not None
        and os.path.isabs(socket)
        and command == f"{base} --socket {shlex.quote(socket)}"
    )


def _matcher_note(event: str, matcher: str) -> str:
    return (
        f"aitop's {event} hook is in a group with matcher {quoted(matcher)}, so it sees only "
        "what matches; to see everything: aitop install --agent codex --uninstall --write && "
        f"{INSTALL}"
    )


def _say_moved(moved: Sequence[Moved], env: Env, done: bool) -> None:
    if not moved:
        return
    one = len(moved) == 1
    verb = "moved" if done else "would move"
    hooks = "; ".join(m.describe() for m in moved)
    them = "it" if one else "them"
    say(
        env,
        f"warning: this {verb} {len(moved)} of your hooks within {HOOKS_NAME} ({hooks}); "
        f"Codex keys trust by position, so if you trusted {them}, Codex skips {them} until "
        f"you trust {them} again: {TRUST_IN_CODEX}",
    )


def _write(loaded: Loaded, merge: Merge, command: str | None, home: str, env: Env) -> int:
    """Write the file, then have Codex trust aitop's hooks (install: `command` is the one
    aitop writes, without a socket) or forget the trust it recorded for them (uninstall:
    None), through one `codex app-server`."""
    codex = find_codex(env.environ)
    server: AppServer | None = None
    failure: str | None = None
    before: list[ListedHook] = []
    try:
        if codex is not None and (command is not None or merge.changes.removed):
            try:
                server = AppServer(codex, home, env.environ)
                if command is None:
                    before = list_hooks(server, home, loaded.path).hooks
            except AppServerError as error:
                failure = str(error)
        apply(loaded, merge.document, merge.changes, True, env)
        _say_moved(merge.moved, env, done=True)
        if command is None:
            if not merge.changes.removed:
                return int(ExitCode.OK)
            return _forget(server, before, failure, loaded.path, home, env)
        if codex is None:
            say(
                env,
                "Codex runs a new hook only once you trust it, and there is no `codex` on "
                f"PATH to ask: {TRUST_IN_CODEX}",
            )
            return int(ExitCode.OK)
        if server is None:
            raise AitopError(
                f"could not ask Codex to trust aitop's hooks: {failure}", TRUST_IN_CODEX
            )
        return _trust(server, merge.document, command, loaded.path, home, env)
    finally:
        if server is not None:
            server.close()


def _title(event_name: str) -> str:
    """Codex's `preToolUse` as hooks.json spells it: `PreToolUse`."""
    return event_name[:1].upper() + event_name[1:]


def _aitops(hooks: Sequence[ListedHook]) -> list[ListedHook]:
    """aitop's hooks among what Codex listed, in the order aitop registers events."""
    ours = [h for h in hooks if h.handler_type == "command" and is_aitop_command(h.command)]
    order = {event: n for n, event in enumerate(KNOWN_EVENTS)}
    return sorted(ours, key=lambda h: order.get(_title(h.event_name), len(order)))


def _trust(
    server: AppServer, document: JsonObject, command: str, path: str, home: str, env: Env
) -> int:
    """Have Codex trust the hooks in `path` that run a command aitop writes (`command`, or
    it with a `--socket`), never another hook; then require Codex to say they are trusted."""
    written = sum(
        1 for f in find_aitop_hooks(document) if is_own_command(f.hook["command"], command)
    )
    try:
        listing = list_hooks(server, home, path)
        ours = [h for h in _aitops(listing.hooks) if is_own_command(h.command, command)]
        newly = [h for h in ours if h.trust_status not in TRUSTED]
        trust(server, newly)
        listing = list_hooks(server, home, path)
    except AppServerError as error:
        raise AitopError(
            f"could not ask Codex to trust aitop's hooks: {error}", TRUST_IN_CODEX
        ) from None
    if listing.problems:
        raise AitopError(
            f"Codex cannot use {path}: {listing.problems[0]}",
            f"fix the file (Codex runs none of its hooks until then), then {REINSTALL}",
        )
    aitops = _aitops(listing.hooks)
    ours = [h for h in aitops if is_own_command(h.command, command)]
    if len(ours) < written:
        raise AitopError(
            f"Codex lists {len(ours)} of the {written} aitop hooks in {path}",
            "start codex and look at /hooks",
        )
    untrusted = [_title(h.event_name) for h in ours if h.trust_status not in TRUSTED]
    if untrusted:
        raise AitopError(
            f"Codex did not confirm trust for aitop's {events_text(untrusted)}", TRUST_IN_CODEX
        )
    config = tilde(os.path.join(home, CONFIG_NAME), env.environ)
    if newly:
        say(env, f"Codex now trusts aitop's {len(ours)} hooks (Codex recorded it in {config})")
    elif ours:
        say(env, f"Codex already trusts aitop's {len(ours)} hooks")
    yours = [
        _title(h.event_name)
        for h in aitops
        if not is_own_command(h.command, command) and h.trust_status not in TRUSTED
    ]
    if yours:
        say(
            env,
            f"warning: Codex does not trust aitop's {events_text(yours)}, whose command is "
            f"yours (aitop has Codex trust only a command it writes: {quoted(command)}, with "
            f"or without --socket PATH); {TRUST_IN_CODEX}",
        )
    disabled = [_title(h.event_name) for h in aitops if not h.enabled]
    if disabled:
        say(
            env,
            f"warning: aitop's {events_text(disabled)} are disabled in Codex; enable them in "
            "codex (/hooks)",
        )
    return int(ExitCode.OK)


def _forget(
    server: AppServer | None,
    before: Sequence[ListedHook],
    failure: str | None,
    path: str,
    home: str,
    env: Env,
) -> int:
    """After an uninstall: have Codex remove the trust it recorded for aitop's hooks."""
    records = [h.key for h in _aitops(before) if h.trust_status == "trusted"]
    config = tilde(os.path.join(home, CONFIG_NAME), env.environ)
    if server is None:
        why = failure or "no `codex` on PATH to remove them"
        say(
            env,
            f"if Codex trusted aitop's removed hooks, its records of that stay in {config} "
            f"({why}); they trust nothing else",
        )
        return int(ExitCode.OK)
    if not records:
        return int(ExitCode.OK)
    try:
        kept = forget(server, records)
    except AppServerError as error:
        raise AitopError(
            f"could not have Codex forget its trust of aitop's removed hooks: {error}",
            f"they stay in {config}, trusting nothing but those hooks",
        ) from None
    removed = len(records) - len(kept)
    if removed:
        say(
            env,
            f"Codex removed its trust records for aitop's {removed} removed hooks from {config}",
        )
    if kept:
        say(env, f"{len(kept)} trust records stay in {config}: their keys cannot be named")
    return int(ExitCode.OK)


# ---------------------------------------------------------------------------------------
# --check


def inspect(args: argparse.Namespace, env: Env) -> Inspection:
    """`--check`: what is right and wrong with aitop's hooks in hooks.json, whether Codex
    trusts them, and the socket they reach."""
    _refuse_settings(args)
    events = HOOK_EVENTS if args.events is None else parse_events(args.events)
    home = codex_home(args, env.environ)
    path = os.path.join(home, HOOKS_NAME)
    shown = tilde(path, env.environ)
    findings: list[Finding] = []
    found: list[AitopHook] = []
    try:
        loaded = load(path, CODEX, check_shape)
    except AitopError as error:
        findings.append(
            Finding(
                "problem",
                f"{error.what}; fix it by hand (aitop never rewrites a file it cannot read)",
            )
        )
    else:
        if loaded.data is None:
            findings.append(Finding("problem", f"no hooks file at {shown}; {REINSTALL}"))
        else:
            found = list(find_aitop_hooks(loaded.document))
            findings += _registration_findings(found, events, shown, env)
            if found:
                findings += _trust_findings(found, path, shown, home, env)
    commands = [str(f.hook["command"]) for f in found]
    socket_path, notes = socket_to_probe(
        commands, getattr(args, "socket", None), env.environ, TITLE, REINSTALL, INSTALL
    )
    return Inspection(findings + notes, socket_path)


def _registration_findings(
    found: Sequence[AitopHook], events: Sequence[str], where: str, env: Env
) -> list[Finding]:
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
    search_path = env.environ.get("PATH", os.defpath)
    findings += program_findings(
        [str(f.hook["command"]) for f in found],
        lambda program: os.path.isfile(program) and os.access(program, os.X_OK),
        lambda name: shutil.which(name, path=search_path),
        TITLE,
        REINSTALL,
    )
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
        matcher = restricting_matcher(item.event, item.group)
        if matcher is not None:
            findings.append(Finding("warning", _matcher_note(item.event, matcher)))
    return findings


def _trust_findings(
    found: Sequence[AitopHook], path: str, shown: str, home: str, env: Env
) -> list[Finding]:
    """What Codex itself says about aitop's hooks: trusted, untrusted, modified."""
    cannot_tell = "cannot tell whether Codex trusts aitop's hooks"
    codex = find_codex(env.environ)
    if codex is None:
        return [
            Finding(
                "warning",
                f'{cannot_tell}: no `codex` on PATH to ask; if codex says "Hooks need '
                'review" when it starts, choose "Trust all and continue"',
            )
        ]
    try:
        with AppServer(codex, home, env.environ) as server:
            listing = list_hooks(server, home, path)
    except AppServerError as error:
        return [Finding("warning", f"{cannot_tell} ({error}); {TRUST_IN_CODEX}")]
    if listing.problems:
        return [
            Finding(
                "problem",
                f"Codex cannot use {shown}: {listing.problems[0]}; fix the file (Codex runs "
                "none of its hooks until then)",
            )
        ]
    aitops = _aitops(listing.hooks)
    findings: list[Finding] = []
    if len(aitops) < len(found):
        findings.append(
            Finding(
                "problem",
                f"Codex lists {len(aitops)} of the {len(found)} aitop hooks in {shown}; start "
                "codex and look at /hooks",
            )
        )
    by_status: dict[str, list[str]] = {}
    for hook in aitops:
        by_status.setdefault(hook.trust_status, []).append(_title(hook.event_name))
    trusted = [h for h in aitops if h.trust_status in TRUSTED]
    if aitops and len(trusted) == len(aitops):
        findings.append(Finding("ok", f"Codex trusts aitop's {len(aitops)} hooks"))
    if "untrusted" in by_status:
        findings.append(
            Finding(
                "problem",
                f"Codex does not trust aitop's {events_text(by_status['untrusted'])}, so it "
                f"skips them without a word; {REINSTALL}, or {TRUST_IN_CODEX}",
            )
        )
    if "modified" in by_status:
        findings.append(
            Finding(
                "problem",
                f"aitop's {events_text(by_status['modified'])} changed since Codex trusted "
                f"them, so Codex skips them; {REINSTALL}, or {TRUST_IN_CODEX}",
            )
        )
    disabled = [_title(h.event_name) for h in aitops if not h.enabled]
    if disabled:
        findings.append(
            Finding(
                "problem",
                f"aitop's {events_text(disabled)} are disabled in Codex; enable them in "
                "codex (/hooks)",
            )
        )
    return findings
