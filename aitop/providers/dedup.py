"""Count every API request once, whatever the number of lines or files that repeat it.

The agents write a response's usage more than once: Claude Code one line per content
block, Codex a record and a copy in its compaction line; resumed and forked sessions copy
whole histories into another file. So usage is counted per request key (each agent says
what identifies a request), globally across files, and a repeated key whose usage grew
(older Claude Code streamed growing `output_tokens`) adds only the difference.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator

from aitop import events as ev

MAX_SEEN_KEYS = 2_000_000  # ~one per API request ever read; far beyond any real history


class Dedup:
    """Usage already counted per request key, and the file that first counted it.
    `limit`: the keys remembered (the oldest go first); None remembers every key."""

    def __init__(self, limit: int | None = MAX_SEEN_KEYS) -> None:
        self._seen: OrderedDict[str, tuple[ev.Usage, str]] = OrderedDict()
        self._limit = limit

    def add(
        self, key: str, usage: ev.Usage, owner: str = ""
    ) -> tuple[ev.Usage, ev.Usage | None] | None:
        """(total, previous) when the key brings something new; None for a pure copy."""
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = (usage, owner)
            if self._limit is not None and len(self._seen) > self._limit:
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


class Linked(Dedup):
    """A Dedup that forgets nothing and knows which files share requests.

    `aitop report` reads files in several processes, each with its own Linked dedup, and
    must count as one process reading every file would (aitop/shards.py). Files are joined
    into groups whenever a key is seen in two of them (union-find on the owners): a group
    whose keys no other process saw is counted exactly where it was read."""

    def __init__(self) -> None:
        super().__init__(limit=None)
        self._parent: dict[str, str] = {}

    def add(
        self, key: str, usage: ev.Usage, owner: str = ""
    ) -> tuple[ev.Usage, ev.Usage | None] | None:
        seen = self._seen.get(key)
        if seen is not None and seen[1] != owner:
            self._join(seen[1], owner)
        return super().add(key, usage, owner)

    def group(self, owner: str) -> str:
        """The group's name: one of its files."""
        parent = self._parent
        root = owner
        while parent.get(root, root) != root:
            root = parent[root]
        while owner != root:  # path compression
            parent[owner], owner = root, parent[owner]
        return root

    def _join(self, a: str, b: str) -> None:
        ra, rb = self.group(a), self.group(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def digests(self, namespace: str) -> Iterator[tuple[str, int]]:
        """(group, 64-bit digest of the namespaced key) for every key: equal keys have
        equal digests in every process; two keys that collide only cost a re-read."""
        prefix = namespace.encode() + b"\x1e"
        blake = hashlib.blake2b
        for key, (_, owner) in self._seen.items():
            digest = blake(prefix + key.encode("utf-8", "surrogatepass"), digest_size=8)
            yield self.group(owner), int.from_bytes(digest.digest(), "little")


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
