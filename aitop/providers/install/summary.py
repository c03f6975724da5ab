"""What `aitop install` tells the user about a merge, and how it prints or writes the
result: the same sentences for every agent (`added 12 hooks (…) to …`, `Stop: command
"old" → "new"`), on stderr, so stdout holds only the file's new text in a dry run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aitop.env import Env
from aitop.providers.install.jsonfile import Loaded, encode, write
from aitop.providers.install.jsontext import JsonObject, compact

WRITE_TO_APPLY = "run with --write to apply"


@dataclass(frozen=True)
class Update:
    """One aitop hook install changed: the hook object before and after."""

    event: str
    before: JsonObject
    after: JsonObject


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


def say(env: Env, text: str) -> None:
    print(f"aitop install: {text}", file=env.stderr, flush=True)


def events_text(events: Sequence[str]) -> str:
    names = ", ".join(dict.fromkeys(events))
    return f"{len(events)} hook{'s' if len(events) != 1 else ''} ({names})"


def _change_phrases(changes: Changes, past: bool) -> list[str]:
    add, update, remove = ("added", "updated", "removed") if past else ("add", "update", "remove")
    phrases = []
    if changes.added:
        phrases.append(f"{add} {events_text(changes.added)}")
    if changes.updated:
        count = len(changes.updated)
        phrases.append(f"{update} {count} aitop hook{'s' if count != 1 else ''}")
    if changes.removed:
        phrases.append(f"{remove} aitop's {events_text(changes.removed)}")
    return phrases


def describe(changes: Changes, past: bool, path: str) -> str:
    phrases = _change_phrases(changes, past)
    text = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    if changes.added and not (changes.updated or changes.removed):
        return f"{text} to {path}"
    if changes.removed and not (changes.added or changes.updated):
        return f"{text} from {path}"
    return f"{text} in {path}"


def update_lines(changes: Changes) -> list[str]:
    """What changed in each updated hook, old → new; hooks with the same change together."""
    events_by_change: dict[str, list[str]] = {}
    for update in changes.updates:
        change = difference(update.before, update.after)
        events_by_change.setdefault(change, []).append(update.event)
    return [f"  {', '.join(events)}: {change}" for change, events in events_by_change.items()]


def difference(before: JsonObject, after: JsonObject) -> str:
    """`key old → new` for each key that differs, in the file's key order."""
    parts = []
    for key in dict.fromkeys([*before, *after]):
        old = compact(before[key]) if key in before else "(none)"
        new = compact(after[key]) if key in after else "(none)"
        if old != new:
            parts.append(f"{key} {old} → {new}")
    return "; ".join(parts)


def apply(
    loaded: Loaded,
    result: JsonObject,
    changes: Changes,
    write_file: bool,
    env: Env,
    hint: str = WRITE_TO_APPLY,
) -> str | None:
    """Without `write_file`, print the new text and what writing it would change (`hint`
    says how); with it, write the file (atomically, with a .bak) if anything changed, and
    say what changed. Returns the path written, or None."""
    data = encode(result, loaded.path)
    if not write_file:
        env.stdout.write(data.decode("utf-8"))
        env.stdout.flush()
        if changes.any:
            what = (
                f"create {loaded.path} with {events_text(changes.added)}"
                if loaded.data is None
                else describe(changes, past=False, path=loaded.path)
            )
            say(env, f"would {what}; {hint}")
            for line in update_lines(changes):
                say(env, line)
        return None
    if not changes.any:
        return None
    target = write(loaded.path, data, loaded.data)
    if loaded.data is None:
        say(env, f"created {target} with {events_text(changes.added)}")
    else:
        what = describe(changes, past=True, path=target)
        say(env, f"{what}; the previous version is in {target}.bak")
        for line in update_lines(changes):
            say(env, line)
    return target
