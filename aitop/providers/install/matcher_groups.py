"""Hooks in matcher groups, the shape Claude Code's settings.json, Codex's hooks.json and
Gemini CLI's settings.json share, and aitop's merge into it, defined once:

    {"hooks": {EVENT: [{"matcher"?: …, "hooks": [{"type": "command", "command": …}, …]}, …]}}

Each agent's install module describes its file in a `HookFile` (aitop's hook object, the
matcher rule, the words of its errors and advice) and keeps only what is its own.

Which hooks are aitop's: a hook object whose `command` runs `aitop hook`
(`install.command.is_aitop_command`). The rules, the same for every agent:

* Install makes aitop's registration exactly the chosen events: the first aitop hook of a
  chosen event is updated where it is (its command keeps what the user added, see
  `update_command`; the keys the agent's `drop` names go), further aitop hooks of that
  event are removed, and so are aitop hooks in events not chosen. An event without one
  gets a new group `{"hooks": [aitop's hook]}` at the END of its list, so no hook of the
  user's moves (Codex keys its trust by position).
* Removing an aitop hook removes its group only when the group became empty and has no
  key but `hooks`: that is the only shape aitop creates, so a group the user wrote (with a
  `matcher`, or anything else) stays, with an empty `hooks` list. An event list goes when
  removing aitop's hooks emptied it, and `hooks` when that emptied it. So install then
  uninstall gives the document back, but for an empty event list (or `hooks`) that was
  there before: the agents read an empty list exactly like a missing one.
* Keys of `hooks` that are settings rather than events (Gemini CLI's `enabled`, …) are
  never walked nor changed.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.install.check import (
    Finding,
    Inspection,
    socket_to_probe,
    tilde,
    unreadable_finding,
)
from aitop.providers.install.command import HookCommand, is_aitop_command, update_command
from aitop.providers.install.jsonfile import Loaded, ShapeCheck, ShapeError
from aitop.providers.install.jsontext import JsonObject, kind, quoted
from aitop.providers.install.summary import Changes, Update, apply, events_text, say


@dataclass(frozen=True)
class HookFile:
    """What one agent's file of matcher groups does its own way."""

    title: str  # the agent, in messages: "Codex"
    command: str  # what installs aitop for it: "aitop install --agent codex"
    noun: str  # the file, in messages: "hooks file"
    check_shape: ShapeCheck  # `check_shape` with the file's own words
    hook: Callable[[str, str], JsonObject]  # aitop's hook object for (command, event)
    # the group's matcher, if it narrows what of the event reaches its hooks
    restricting_matcher: Callable[[str, JsonObject], str | None]
    drop: frozenset[str] = frozenset()  # keys an aitop hook loses when install updates it
    not_events: frozenset[str] = frozenset()  # keys of `hooks` that are settings

    @property
    def install(self) -> str:
        return f"{self.command} --write"

    @property
    def reinstall(self) -> str:
        return f"run: {self.install}"

    def events(self, hooks: JsonObject) -> list[str]:
        return [event for event in hooks if event not in self.not_events]


# ---------------------------------------------------------------------------------------
# The shape aitop needs, and which hooks are aitop's


def check_shape(document: Any, whole: str, not_events: Collection[str] = ()) -> None:
    """Raise `ShapeError` unless aitop can walk and change the document's hooks; `whole`
    names the document in the error ("the settings are", "hooks.json holds").

    Hook objects themselves are not checked: one that is not an object with an aitop
    `command` is someone else's, and is left exactly as it is.
    """
    if not isinstance(document, dict):
        raise ShapeError((), f"{whole} {kind(document)}, expected an object")
    if "hooks" not in document:
        return
    hooks = document["hooks"]
    if not isinstance(hooks, dict):
        raise ShapeError(("hooks",), f'"hooks" is {kind(hooks)}, expected an object of event names')
    for event, groups in hooks.items():
        if event in not_events:
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


def is_aitop_hook(hook: Any) -> bool:
    return isinstance(hook, dict) and is_aitop_command(hook.get("command"))


@dataclass(frozen=True)
class AitopHook:
    """One aitop hook in the document, and where (Codex's trust key is this position)."""

    event: str
    group_index: int
    handler_index: int
    group: JsonObject
    hook: JsonObject


def find_aitop_hooks(form: HookFile, document: JsonObject) -> Iterator[AitopHook]:
    """aitop's hooks in file order. The document must have passed `check_shape`."""
    hooks = document.get("hooks", {})
    for event in form.events(hooks):
        for g, group in enumerate(hooks[event]):
            for h, hook in enumerate(group.get("hooks", [])):
                if is_aitop_hook(hook):
                    yield AitopHook(event, g, h, group, hook)


# ---------------------------------------------------------------------------------------
# The merge: pure functions on dicts


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


def _strip_aitop_hooks(form: HookFile, hooks: JsonObject, keep_first_in: set[str]) -> list[str]:
    """Remove aitop's hooks from every event, in place, but the first of each event in
    `keep_first_in`; an event list this empties goes. One event name per hook removed."""
    removed_from: list[str] = []
    for event in form.events(hooks):
        groups, removed = _remove_aitop_hooks(hooks[event], keep_first=event in keep_first_in)
        removed_from += [event] * removed
        if removed and not groups:
            del hooks[event]
        else:
            hooks[event] = groups
    return removed_from


def install_hooks(
    form: HookFile, document: Any, command: str, events: Sequence[str]
) -> tuple[JsonObject, Changes]:
    """A copy of `document` with aitop's hook registered for exactly `events`.

    `command` is the one install chose; an aitop hook already there keeps what the user
    added to its command (see `update_command`). Raises `ShapeError` before changing
    anything if the document has the wrong shape.
    """
    form.check_shape(document)
    result: JsonObject = copy.deepcopy(document)
    changes = Changes()
    hooks: JsonObject = result.get("hooks", {})
    changes.removed = _strip_aitop_hooks(form, hooks, keep_first_in=set(events))
    first_hooks: dict[str, JsonObject] = {}
    for found in find_aitop_hooks(form, {"hooks": hooks}):
        first_hooks.setdefault(found.event, found.hook)
    for event in events:
        existing = first_hooks.get(event)
        if existing is None:
            hooks.setdefault(event, []).append({"hooks": [form.hook(command, event)]})
            changes.added.append(event)
            continue
        before = dict(existing)
        existing.update(form.hook(update_command(existing["command"], command), event))
        for key in form.drop:
            existing.pop(key, None)
        if existing == before:
            changes.unchanged.append(event)
        else:
            changes.updated.append(event)
            changes.updates.append(Update(event, before, dict(existing)))
    if hooks and "hooks" not in result:
        result["hooks"] = hooks
    return result, changes


def uninstall_hooks(form: HookFile, document: Any) -> tuple[JsonObject, Changes]:
    """A copy of `document` without any aitop hook, and without what only they needed."""
    form.check_shape(document)
    result: JsonObject = copy.deepcopy(document)
    changes = Changes()
    hooks: JsonObject | None = result.get("hooks")
    if hooks is None:
        return result, changes
    changes.removed = _strip_aitop_hooks(form, hooks, keep_first_in=set())
    if changes.removed and not hooks:
        del result["hooks"]
    return result, changes


# ---------------------------------------------------------------------------------------
# What install and uninstall say


def parse_events(
    text: str,
    known: Sequence[str],
    offered: Sequence[str],
    unknown: Callable[[str], str],
    otherwise: str,
    refuse: Callable[[str], None] | None = None,
) -> tuple[str, ...]:
    """`--events`: names the agent knows (`known`), order kept, repeats dropped.

    An error for none (naming `offered`), for a name `refuse` raises about, and for one
    not known (`unknown(name)` says so; the closest known name is the advice, else
    `otherwise`), in the order given."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise AitopError(
            "--events is empty", f"name one or more of: {', '.join(offered)}", ExitCode.USAGE
        )
    for name in names:
        if refuse is not None:
            refuse(name)
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else otherwise
            raise AitopError(unknown(name), hint, ExitCode.USAGE)
    return names


def apply_merge(
    form: HookFile,
    loaded: Loaded,
    hook: HookCommand | None,
    events: Sequence[str],
    write: bool,
    env: Env,
    notes: Callable[[JsonObject, list[AitopHook]], Iterable[str]] | None = None,
) -> int:
    """Print the loaded file (or with `write`, write it) with aitop's `hook` merged in for
    `events` (see `install`), or with `hook` None, aitop's hooks taken out."""
    if hook is None:
        merged = uninstall(form, loaded, env)
    else:
        merged = install(form, loaded, hook, events, env, notes)
    if merged is not None:
        apply(loaded, *merged, write, env)
    return int(ExitCode.OK)


def install(
    form: HookFile,
    loaded: Loaded,
    hook: HookCommand,
    events: Sequence[str],
    env: Env,
    notes: Callable[[JsonObject, list[AitopHook]], Iterable[str]] | None = None,
) -> tuple[JsonObject, Changes]:
    """The merge `install_hooks` makes of the loaded file, with its warnings said: the
    hook command's, each matcher that narrows what an aitop hook sees, the agent's own
    `notes` about the result; and that nothing changes, if so."""
    for warning in hook.warnings:
        say(env, f"warning: {warning}")
    result, changes = install_hooks(form, loaded.document, hook.command, events)
    found = list(find_aitop_hooks(form, result))
    for note in [*matcher_notes(form, found), *(notes(result, found) if notes else ())]:
        say(env, f"warning: {note}")
    if not changes.any:
        say(env, f"aitop's {events_text(events)} are already in {loaded.path}; nothing to write")
    return result, changes


def uninstall(form: HookFile, loaded: Loaded, env: Env) -> tuple[JsonObject, Changes] | None:
    """The merge `uninstall_hooks` makes of the loaded file, saying so when it changes
    nothing; None (said) when there is no file."""
    if loaded.data is None:
        say(env, f"no {form.noun} at {loaded.path}; nothing to remove")
        return None
    result, changes = uninstall_hooks(form, loaded.document)
    if not changes.any:
        say(env, f"no aitop hooks in {loaded.path}; nothing to write")
    return result, changes


def matcher_note(form: HookFile, event: str, matcher: str) -> str:
    return (
        f"aitop's {event} hook is in a group with matcher {quoted(matcher)}, so it sees only "
        f"what matches; to see everything: {form.command} --uninstall --write && {form.install}"
    )


def matcher_notes(form: HookFile, found: Iterable[AitopHook]) -> list[str]:
    """A note for each aitop hook whose group's matcher narrows what it sees."""
    notes = []
    for item in found:
        matcher = form.restricting_matcher(item.event, item.group)
        if matcher is not None:
            notes.append(matcher_note(form, item.event, matcher))
    return notes


# ---------------------------------------------------------------------------------------
# --check


def inspect_file(
    form: HookFile,
    path: str,
    load: Callable[[str], Loaded],
    judge: Callable[[JsonObject, list[AitopHook], str], list[Finding]],
    socket_given: str | None,
    environ: Mapping[str, str],
) -> Inspection:
    """`--check` of one agent's file: a file aitop cannot read, or none, is a problem here,
    not an error; `judge(document, aitop's hooks, path as shown)` says what is right and
    wrong in one it read. Then the socket the hooks reach, to probe."""
    shown = tilde(path, environ)
    findings: list[Finding] = []
    found: list[AitopHook] = []
    try:
        loaded = load(path)
    except AitopError as error:
        findings.append(unreadable_finding(error))
    else:
        if loaded.data is None:
            findings.append(Finding("problem", f"no {form.noun} at {shown}; {form.reinstall}"))
        else:
            found = list(find_aitop_hooks(form, loaded.document))
            findings += judge(loaded.document, found, shown)
    commands = [str(f.hook.get("command", "")) for f in found]
    socket_path, notes = socket_to_probe(
        commands, socket_given, environ, form.title, form.reinstall, form.install
    )
    return Inspection(findings + notes, socket_path)


def registration_finding(
    found: Iterable[AitopHook], events: Sequence[str], where: str, reinstall: str
) -> Finding:
    """Whether aitop's hooks are registered for every one of `events`."""
    present = {f.event for f in found}
    registered = [e for e in events if e in present]
    if not registered:
        return Finding("problem", f"aitop's hooks are not in {where}; {reinstall}")
    if len(registered) < len(events):
        missing = ", ".join(e for e in events if e not in registered)
        return Finding(
            "problem",
            f"{len(registered)} of {len(events)} hook events registered in {where} "
            f"(missing: {missing}); {reinstall}",
        )
    return Finding("ok", f"{len(events)} of {len(events)} hook events registered in {where}")


def counts_by_event(found: Iterable[AitopHook]) -> dict[str, int]:
    """How many aitop hooks each event has, events in file order."""
    counts: dict[str, int] = {}
    for item in found:
        counts[item.event] = counts.get(item.event, 0) + 1
    return counts


def repeat_finding(event: str, count: int, reinstall: str) -> Finding:
    return Finding(
        "problem",
        f"aitop is registered {count} times for {event}, so those events count {count} "
        f"times; {reinstall}",
    )


def repeat_findings(found: Iterable[AitopHook], reinstall: str) -> list[Finding]:
    """A problem for each event aitop is registered for more than once."""
    return [
        repeat_finding(event, count, reinstall)
        for event, count in counts_by_event(found).items()
        if count > 1
    ]


def matcher_findings(form: HookFile, found: Iterable[AitopHook]) -> list[Finding]:
    return [Finding("warning", note) for note in matcher_notes(form, found)]
