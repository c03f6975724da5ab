"""`aitop install --agent codex`: put aitop's hooks into Codex's hooks.json, have Codex
trust exactly those, and take them out again.

The file gets the guarantees Claude Code's settings.json gets (the shared
`aitop.providers.install` machinery): read whole and checked before anything changes
(`file:line:col` errors, duplicate keys refused, numbers and key order kept), written
atomically with a `.bak`, mode kept, through a symlink; the user's hooks and keys stay;
install is idempotent and uninstall removes exactly aitop's hooks, by the rules Claude
Code's and Gemini CLI's files share (`install.matcher_groups`).

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
import os
import shlex
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
from aitop.providers.install import matcher_groups
from aitop.providers.install.check import Finding, Inspection, programs_here, tilde
from aitop.providers.install.command import (
    HookCommand,
    command_for,
    hook_socket,
    is_aitop_command,
)
from aitop.providers.install.command import temporary_dirs as _temporary_dirs
from aitop.providers.install.jsonfile import Loaded, load
from aitop.providers.install.jsontext import JsonObject, Reader, compact, quoted
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
from aitop.providers.install.summary import Changes, apply, events_text, say

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
TRUST_IN_CODEX = 'start codex and choose "Trust all and continue" (or review them with /hooks)'
WRITE_AND_TRUST = "run with --write to apply (aitop then asks Codex to trust them)"
WRITE_AND_FORGET = "run with --write to apply (aitop then has Codex forget its trust of them)"
# Codex reads hooks.json with serde, which refuses a repeated field
CODEX = Reader("Codex", "Codex refuses repeated keys, and a rewrite would keep only one")


# ---------------------------------------------------------------------------------------
# The file's shape, which hooks are aitop's, the merge (`install.matcher_groups`)


def check_shape(document: Any) -> None:
    """Raise `ShapeError` unless aitop can walk and change this hooks.json's hooks."""
    matcher_groups.check_shape(document, f"{HOOKS_NAME} holds")


def restricting_matcher(event: str, group: JsonObject) -> str | None:
    """The group's matcher if it limits what reaches its hooks (Codex ignores a matcher
    on the events that have none to match)."""
    matcher = group.get("matcher")
    if event not in MATCHER_EVENTS or matcher in (None, "", "*"):
        return None
    return str(matcher)


def aitop_hook(command: str, event: str) -> JsonObject:
    timeout = SHORT_TIMEOUT_S if event in SHORT_TIMEOUT_EVENTS else HOOK_TIMEOUT_S
    return {"type": "command", "command": command, "timeout": timeout}


HOOKS = HookFile(
    title=TITLE,
    command="aitop install --agent codex",
    noun="hooks file",
    check_shape=check_shape,
    hook=aitop_hook,
    restricting_matcher=restricting_matcher,
    drop=frozenset({"async"}),  # as for Claude Code
)
INSTALL = HOOKS.install
REINSTALL = HOOKS.reinstall


def find_aitop_hooks(document: JsonObject) -> Iterator[AitopHook]:
    """aitop's hooks in file order, each with its position (Codex's trust key). The
    document must have passed `check_shape`."""
    return matcher_groups.find_aitop_hooks(HOOKS, document)


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


def _user_places(document: JsonObject) -> dict[str, list[tuple[int, int, Any]]]:
    """Where each hook that is not aitop's sits, per event Codex knows, in file order. The
    document must have passed `check_shape`."""
    places: dict[str, list[tuple[int, int, Any]]] = {}
    for event, groups in document.get("hooks", {}).items():
        if event not in KNOWN_EVENTS:
            continue  # Codex never loads it: its positions key nothing
        for g, group in enumerate(groups):
            entries = group.get("hooks")
            for h, entry in enumerate(entries if isinstance(entries, list) else []):
                if not is_aitop_hook(entry):
                    places.setdefault(event, []).append((g, h, entry))
    return places


def _moved(document: JsonObject, merged: JsonObject) -> list[Moved]:
    """The user's hooks whose position the merge changed. A merge never adds, drops or
    reorders them, so the n-th of an event before is the n-th after."""
    after = _user_places(merged)
    moved: list[Moved] = []
    for event, places in _user_places(document).items():
        for (g0, h0, hook), (g1, h1, _) in zip(places, after.get(event, []), strict=True):
            if (g0, h0) != (g1, h1):
                moved.append(Moved(event, hook, (g0, h0), (g1, h1)))
    return moved


def install_hooks(document: Any, command: str, events: Sequence[str]) -> Merge:
    """A copy of `document` with aitop's hook registered for exactly `events`, and the
    user's hooks it moved (none: aitop's new groups go at the END of each list).

    An aitop hook already there is updated where it is (its command keeps what the user
    added, see `update_command`). Raises `ShapeError` before changing anything if the
    document has the wrong shape.
    """
    result, changes = matcher_groups.install_hooks(HOOKS, document, command, events)
    return Merge(result, changes, _moved(document, result))


def uninstall_hooks(document: Any) -> Merge:
    """A copy of `document` without any aitop hook, and without what only they needed;
    the user's hooks that removing aitop's moved."""
    result, changes = matcher_groups.uninstall_hooks(HOOKS, document)
    return Merge(result, changes, _moved(document, result))


# ---------------------------------------------------------------------------------------
# The command


def parse_events(text: str) -> tuple[str, ...]:
    """`--events` for Codex: event names Codex knows; order kept, repeats dropped."""
    return matcher_groups.parse_events(
        text,
        KNOWN_EVENTS,
        HOOK_EVENTS,
        lambda name: f"--events: unknown Codex hook event {name!r}",
        f"Codex has: {','.join(KNOWN_EVENTS)}",
    )


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


def _load(path: str) -> Loaded:
    return load(path, CODEX, check_shape)


def run(args: argparse.Namespace, env: Env) -> int:
    """Print (or with --write, write and have Codex trust) hooks.json with aitop's hooks
    merged in, or out."""
    _refuse_settings(args)
    events = HOOK_EVENTS if args.events is None else parse_events(args.events)
    home = codex_home(args, env.environ)
    loaded = _load(os.path.join(home, HOOKS_NAME))
    command: str | None = None
    if args.uninstall:
        merged = matcher_groups.uninstall(HOOKS, loaded, env)
        if merged is None:
            return int(ExitCode.OK)
    else:
        hook = _hook_command(env, getattr(args, "socket", None))
        command = hook.command
        merged = matcher_groups.install(HOOKS, loaded, hook, events, env)
    merge = Merge(*merged, _moved(loaded.document, merged[0]))
    if not args.write:
        hint = WRITE_AND_FORGET if args.uninstall else WRITE_AND_TRUST
        apply(loaded, merge.document, merge.changes, False, env, hint=hint)
        _say_moved(merge.moved, env, done=False)
        return int(ExitCode.OK)
    own = None if command is None else _hook_command(env, None).command
    return _write(loaded, merge, own, home, env)


def _hook_command(env: Env, socket: str | None) -> HookCommand:
    return command_for(env, _temporary_dirs(), socket, AGENT)


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

    def judge(document: JsonObject, found: list[AitopHook], shown: str) -> list[Finding]:
        commands = [str(f.hook["command"]) for f in found]
        return [
            registration_finding(found, events, shown, REINSTALL),
            *programs_here(commands, env.environ, TITLE, REINSTALL),
            *repeat_findings(found, REINSTALL),
            *matcher_findings(HOOKS, found),
            *(_trust_findings(found, path, shown, home, env) if found else ()),
        ]

    return inspect_file(HOOKS, path, _load, judge, getattr(args, "socket", None), env.environ)


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
