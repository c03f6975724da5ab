"""What the Gemini CLI provider can tell about its own set-up, in Gemini CLI's words.

Said only where Gemini CLI is used (its directory exists): whether aitop's hooks are in
its settings.json and switched on, whether they send to this monitor, whether chat files
are written where aitop reads them. `info` for the empty screen, `warning`/`critical`
(alerts) for what is wrong, each with its fix. settings.json is read again only when it
changes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aitop.providers.gemini.install import (
    INSTALL,
    SETTINGS_NAME,
    find_aitop_hooks,
    hooks_switched_off,
    load_settings,
)
from aitop.providers.install.check import tilde
from aitop.providers.install.hooks_state import HooksInSettings
from aitop.snapshot import Diagnostic


class Setup:
    def __init__(self, gemini_dir: str, socket_path: str, environ: Mapping[str, str]) -> None:
        self.gemini_dir = os.path.abspath(gemini_dir)
        self.settings = os.path.join(self.gemini_dir, SETTINGS_NAME)
        self.socket = os.path.abspath(socket_path)
        self.environ = environ
        self._hooks = HooksInSettings(
            self.settings, load_settings, find_aitop_hooks, hooks_switched_off
        )

    def diagnostics(
        self, frames: int, watched: int, outside: Mapping[str, int]
    ) -> list[Diagnostic]:
        """`frames`: hook events received (all agents); `watched`: chat files followed;
        `outside`: chat files refused for being in another Gemini directory, by it."""
        if not os.path.isdir(self.gemini_dir):
            return []  # Gemini CLI not used here: nothing to say
        out: list[Diagnostic] = []
        tmp = tilde(os.path.join(self.gemini_dir, "tmp"), self.environ)
        for root, count in sorted(outside.items()):
            out.append(
                Diagnostic(
                    f"gemini:outside:{root}",
                    "critical",
                    f"Gemini CLI writes {count} chat file{'s' if count != 1 else ''} under"
                    f" {tilde(root, self.environ)}, but aitop reads {tmp}: those sessions show"
                    f" no tokens and $0; restart aitop with --gemini-dir {root}",
                )
            )
        out += self._hook_notes()
        text = (
            f"Gemini CLI chat files: following {watched} under {tmp}."
            if watched
            else f"Gemini CLI chat files: none written in the last 15 minutes under {tmp}."
        )
        out.append(Diagnostic("gemini:chats", "info", text))
        return out

    def _hook_notes(self) -> list[Diagnostic]:
        state, sockets = self._hooks.read()
        settings = tilde(self.settings, self.environ)
        if state.startswith("unreadable"):
            why = state.removeprefix("unreadable: ")
            return [Diagnostic("gemini:hooks", "info", f"Cannot read {why}.")]
        if state == "missing":
            return [
                Diagnostic(
                    "gemini:hooks",
                    "info",
                    f"aitop's hooks are not in {settings}: run '{INSTALL}' (without them"
                    " aitop sees no failed requests, tool durations or waiting sessions of"
                    " Gemini CLI).",
                )
            ]
        if state == "off":
            return [
                Diagnostic(
                    "gemini:hooks",
                    "warning",
                    f'hooks are switched off in {settings} ("hooksConfig": {{"enabled":'
                    ' false}): Gemini CLI runs none of aitop\'s; set "enabled" to true there',
                )
            ]
        elsewhere = sorted(
            s for s in sockets if s is not None and os.path.abspath(s) != self.socket
        )
        if elsewhere:
            return [
                Diagnostic(
                    "gemini:hooks-socket",
                    "warning",
                    f"the hooks in {settings} send to {elsewhere[0]}, but this aitop listens on"
                    f" {self.socket}: start aitop with --socket {elsewhere[0]}, or run"
                    f" '{INSTALL} --socket {self.socket}'",
                )
            ]
        return [Diagnostic("gemini:hooks", "info", f"aitop's hooks are in {settings}.")]
