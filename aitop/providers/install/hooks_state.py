"""What an agent's settings file says of aitop's hooks, for the set-up diagnostics the
monitor shows: read again only when the file changed (a `stat` per look, on the loop)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from aitop.errors import AitopError
from aitop.providers.install.command import hook_socket
from aitop.providers.install.jsonfile import Loaded
from aitop.providers.install.jsontext import JsonObject
from aitop.providers.install.matcher_groups import AitopHook

# ("missing" | "installed" | "off" | "unreadable: why", the sockets the hooks send to)
HooksState = tuple[str, frozenset[str | None]]


class HooksInSettings:
    def __init__(
        self,
        path: str,
        load: Callable[[str], Loaded],
        find: Callable[[JsonObject], Iterable[AitopHook]],
        switched_off: Callable[[JsonObject], bool] | None = None,
    ) -> None:
        self.path = path
        self._load, self._find, self._switched_off = load, find, switched_off
        self._stamp: tuple[int, int, int] | None = None
        self._state: HooksState = ("unread", frozenset())

    def read(self) -> HooksState:
        try:
            info = os.stat(self.path)
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            stamp = (0, 0, 0)
        if stamp != self._stamp:
            self._stamp = stamp
            self._state = self._read()
        return self._state

    def _read(self) -> HooksState:
        try:
            loaded = self._load(self.path)
        except AitopError as error:
            return (f"unreadable: {error.what}", frozenset())
        found = list(self._find(loaded.document)) if loaded.data is not None else []
        sockets = frozenset(hook_socket(str(f.hook.get("command", ""))) for f in found)
        if not found:
            return ("missing", sockets)
        if self._switched_off is not None and self._switched_off(loaded.document):
            return ("off", sockets)
        return ("installed", sockets)
