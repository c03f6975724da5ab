"""OpenCode's SQLite store, opened read-only where it is, one short statement at a time.

OpenCode writes `opencode.db` in WAL mode and does not checkpoint on exit: the rows often
sit only in `opencode.db-wal`. So the file is opened in place (a copy of the main file
alone has no tables) with a read-only URI (`mode=ro`), never `immutable=1` (which ignores
the WAL, and lies while OpenCode writes). A reader never blocks the monitor's loop: the
busy timeout is a few milliseconds, every statement is bounded (indexed, with a LIMIT)
and read to its end at once (an open statement would hold back OpenCode's checkpoints),
and any failure — busy or locked, a file that is not (yet) a database or is damaged, the
tables not created yet — is "try later", counted by kind, never raised.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from aitop.log import log

BUSY_TIMEOUT_S = 0.005

Row = tuple[Any, ...]


def db_path(data_dir: str, environ: Mapping[str, str]) -> str | None:
    """Where OpenCode keeps its store: `$OPENCODE_DB` (absolute, or relative to its data
    directory; `:memory:` keeps none), else `opencode.db` in its data directory."""
    override = environ.get("OPENCODE_DB") or ""
    if override == ":memory:":
        return None
    if override:
        return os.path.join(data_dir, override)  # an absolute override wins in join
    return os.path.join(data_dir, "opencode.db")


def _uri_path(path: str) -> str:
    """A path as SQLite's `file:` URI reads it: `?` and `#` would end it, `%` escapes."""
    return path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")


def _kind(exc: sqlite3.Error) -> str:
    """What went wrong, in the few words the counts and the log use."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text:
        return "busy"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        return "damaged"
    if "not a database" in text:
        return "damaged"
    if "no such table" in text or "no such column" in text:
        return "no tables"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return "cannot open"
    return "error"


class TryLater(Exception):
    """The store could not answer one statement (why: `Store.last_failure`)."""


class Store:
    def __init__(self, path: str | None, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = os.path.abspath(path) if path else None
        self.busy_timeout_s = busy_timeout_s
        self._db: sqlite3.Connection | None = None
        self.failures: dict[str, int] = {}  # by kind, since start
        self.last_failure: str | None = None  # why the last try failed; None: it worked
        self.last_kind: str | None = None  # ... in one word ("busy", "damaged"...)
        self.opens = 0
        self._said: set[str] = set()

    @property
    def exists(self) -> bool:
        return self.path is not None and os.path.exists(self.path)

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row] | None:
        """Every row of one bounded statement, or None: try later (the reason is counted)."""
        db = self._connection()
        if db is None:
            return None
        try:
            cursor = db.execute(sql, params)
            try:
                found = cursor.fetchall()
            finally:
                cursor.close()
        except sqlite3.Error as exc:
            self._failed(exc)
            return None
        except (ValueError, OverflowError) as exc:  # text the driver cannot hand over
            self._failed(sqlite3.DataError(str(exc)))
            return None
        self.last_failure = self.last_kind = None
        return found

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Every row of one bounded statement; `TryLater` if the store cannot answer."""
        found = self.rows(sql, params)
        if found is None:
            raise TryLater(self.last_failure or "")
        return found

    def _connection(self) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        if self.path is None:
            return None
        if not os.path.exists(self.path):
            self.last_failure = self.last_kind = "no such file"  # not run yet: not counted
            return None
        uri = "file:" + _uri_path(self.path) + "?mode=ro"
        try:
            db = sqlite3.connect(
                uri,
                uri=True,
                timeout=self.busy_timeout_s,
                isolation_level=None,  # no transaction is ever left open
                check_same_thread=True,
            )
            db.text_factory = bytes  # JSON goes to msgspec as bytes, as it is stored
        except sqlite3.Error as exc:
            self._failed(exc)
            return None
        self.opens += 1
        self._db = db
        return db

    def _failed(self, exc: sqlite3.Error) -> None:
        kind = _kind(exc)
        self.failures[kind] = self.failures.get(kind, 0) + 1
        self.last_failure = f"{kind}: {exc}"
        self.last_kind = kind
        if kind not in self._said:
            self._said.add(kind)
            log.info("OpenCode store %s: %s (trying again later)", self.path, exc)
        if kind != "busy":  # a new file, or one repaired: open it afresh next time
            self.close()

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
