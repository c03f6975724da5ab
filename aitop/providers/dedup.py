"""Count every API request once, whatever the number of lines or files that repeat it.

The agents write a response's usage more than once: Claude Code one line per content
block, Codex a record and a copy in its compaction line; resumed and forked sessions copy
whole histories into another file. So usage is counted per request key (each agent says
what identifies a request), globally across files, and a repeated key whose usage grew
(older Claude Code streamed growing `output_tokens`) adds only the difference.
"""

from __future__ import annotations

from collections import OrderedDict

from aitop import events as ev

MAX_SEEN_KEYS = 2_000_000  # ~one per API request ever read; far beyond any real history


class Dedup:
    """Usage already counted per request key, and the file that first counted it."""

    def __init__(self, limit: int = MAX_SEEN_KEYS) -> None:
        self._seen: OrderedDict[str, tuple[ev.Usage, str]] = OrderedDict()
        self._limit = limit

    def add(
        self, key: str, usage: ev.Usage, owner: str = ""
    ) -> tuple[ev.Usage, ev.Usage | None] | None:
        """(total, previous) when the key brings something new; None for a pure copy."""
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = (usage, owner)
            if len(self._seen) > self._limit:
                self._seen.popitem(last=False)
            return usage, None
        previous, first_owner = seen
        if previous.covers(usage):
            return None
        total = previous.union(usage)
        self._seen[key] = (total, first_owner)
        return total, previous

    def owner(self, key: str) -> str | None:
        """The file that first counted `key`, if any did."""
        seen = self._seen.get(key)
        return None if seen is None else seen[1]

    def __len__(self) -> int:
        return len(self._seen)


class Once:
    """Keys of things counted once whatever repeats them (a compaction, an API error)."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self._seen: set[str] = set()
        self._limit = limit

    def first(self, key: str) -> bool:
        if key in self._seen:
            return False
        if len(self._seen) < self._limit:
            self._seen.add(key)
        return True
