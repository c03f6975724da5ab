"""Which aitop session an OpenCode session is part of: its root (a subagent's session has a
`parent_id`, a subagent's subagent a parent with one too) and the root's directory. Shared
by the live reader and the history, so that a request lands in the same row in both.

Sessions are looked up in the store by primary key, a bounded `IN (...)` list per level;
what the store cannot say (a row of a session not written yet, a deleted parent) counts as
a root.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from aitop import events as ev
from aitop.providers.opencode.records import AGENT, Where
from aitop.providers.opencode.store import Store

IDS = 100  # ids per `IN (...)` list
MAX_DEPTH = 32  # subagents of subagents: a longer parent chain is a loop
SESSIONS_KEPT = 50_000

SESSIONS = "SELECT id, parent_id, directory FROM session WHERE id IN ({})"


class Session(NamedTuple):
    parent: str | None
    directory: str | None


def text(value: object) -> str:
    """A store value as text (the store hands text over as bytes)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class Sessions:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._known: OrderedDict[str, Session] = OrderedDict()

    def learn(self, session_id: str, session: Session) -> None:
        known = self._known.get(session_id)
        if known is not None:  # what one source says is kept when another says less
            session = Session(session.parent or known.parent, session.directory or known.directory)
        self._known[session_id] = session
        self._known.move_to_end(session_id)
        if len(self._known) > SESSIONS_KEPT:
            self._known.popitem(last=False)

    def get(self, session_id: str) -> Session | None:
        return self._known.get(session_id)

    def _resolved(self, session_id: str) -> bool:
        session = self._known.get(session_id)
        return session is not None and session.directory is not None

    def resolve(self, session_ids: list[str]) -> None:
        """Know every session of `session_ids` and their parents, up to the roots. A
        session the store does not have (yet) stays unknown: it counts as a root. Raises
        `store.TryLater` when the store cannot answer."""
        unknown = [s for s in dict.fromkeys(session_ids) if not self._resolved(s)]
        for _ in range(MAX_DEPTH):
            parents: list[str] = []
            for at in range(0, len(unknown), IDS):
                chunk = unknown[at : at + IDS]
                rows = self.store.query(SESSIONS.format(",".join("?" * len(chunk))), chunk)
                for session_id, parent, directory in rows:
                    up = text(parent) if parent else None
                    self.learn(text(session_id), Session(up, text(directory)))
                    if up:
                        parents.append(up)
            for sid in unknown:  # a parent the plugin named, which the store has not
                known = self._known.get(sid)
                if known is not None and known.parent:
                    parents.append(known.parent)
            unknown = [s for s in dict.fromkeys(parents) if not self._resolved(s)]
            if not unknown:
                return

    def root(self, session_id: str) -> tuple[str, str | None]:
        """(root session, its directory)."""
        current = session_id
        seen = {current}
        for _ in range(MAX_DEPTH):
            session = self._known.get(current)
            if session is None or not session.parent or session.parent in seen:
                break
            current = session.parent
            seen.add(current)
        root = self._known.get(current)
        return current, root.directory if root is not None else None

    def where(self, session_id: str, when: float) -> Where:
        """The row a request of `session_id` at `when` counts in."""
        root, directory = self.root(session_id)
        info = ev.SessionInfo(agent=AGENT, session_id=root, time=when, cwd=directory)
        return Where(info, session_id if session_id != root else None)
