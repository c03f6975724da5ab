"""What the Claude Code provider can tell about its own set-up, in Claude Code's words.

When nothing shows up, or sessions show $0, the reason is almost always the set-up:
hooks not installed, hooks that send to another socket, or aitop reading another
Claude directory than the one Claude Code writes (a `CLAUDE_CONFIG_DIR` mismatch). These
are turned into `Diagnostic`s: `info` for the empty screen, `warning`/`critical` (which
become alerts) for what is wrong, each with the exact fix. Reading settings.json is
read-only and done again only when the file changes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aitop import paths
from aitop.providers.claude_code.install import find_aitop_hooks
from aitop.providers.claude_code.settings_file import load_settings
from aitop.providers.install.hooks_state import HooksInSettings
from aitop.snapshot import Diagnostic

SETTINGS_NAME = "settings.json"
INSTALL = "run 'aitop install --write'"


def _shown(path: str, environ: Mapping[str, str]) -> str:
    home = paths.home(environ).rstrip(os.sep)
    if home and (path + os.sep).startswith(home + os.sep):
        return "~" + path[len(home) :]
    return path


class Setup:
    def __init__(self, claude_dir: str, socket_path: str, environ: Mapping[str, str]) -> None:
        self.claude_dir = os.path.abspath(claude_dir)
        self.settings = os.path.join(self.claude_dir, SETTINGS_NAME)
        self.socket = os.path.abspath(socket_path)
        self.default_socket = os.path.join(paths.state_dir(environ), paths.SOCKET_NAME)
        self.environ = environ
        self._hooks = HooksInSettings(self.settings, load_settings, find_aitop_hooks)

    def _show(self, path: str) -> str:
        return _shown(path, self.environ)

    def diagnostics(
        self, frames: int, watched: int, outside: Mapping[str, int]
    ) -> list[Diagnostic]:
        """`frames`: hook events received; `watched`: transcripts followed; `outside`:
        transcripts refused for being in another Claude directory, by that directory."""
        out: list[Diagnostic] = []
        projects = self._show(paths.projects_dir(self.claude_dir))
        for root, count in sorted(outside.items()):
            out.append(
                Diagnostic(
                    f"claude-code:outside:{root}",
                    "critical",
                    f"Claude Code writes {count} transcript{'s' if count != 1 else ''} under"
                    f" {self._show(root)}, but aitop reads {projects}: those sessions show no"
                    f" tokens and $0; restart aitop with --claude-dir {root}",
                )
            )
        if not os.path.isdir(self.claude_dir):
            out.append(
                Diagnostic(
                    "claude-code:no-dir",
                    "info",
                    f"{self._show(self.claude_dir)} does not exist yet: Claude Code has not run"
                    " as this user, or it writes elsewhere (its CLAUDE_CONFIG_DIR; give aitop"
                    " the same with --claude-dir).",
                )
            )
        out += self._hook_notes(frames)
        if watched:
            text = f"Claude Code transcripts: following {watched} under {projects}."
        else:
            text = f"Claude Code transcripts: none written in the last 15 minutes under {projects}."
        out.append(Diagnostic("claude-code:transcripts", "info", text))
        return out

    def _hook_notes(self, frames: int) -> list[Diagnostic]:
        state, sockets = self._hooks.read()
        settings = self._show(self.settings)
        if state.startswith("unreadable"):
            why = state.removeprefix("unreadable: ")
            return [Diagnostic("claude-code:hooks", "info", f"Cannot read {why}.")]
        if state == "missing":
            return [
                Diagnostic(
                    "claude-code:hooks",
                    "info",
                    f"aitop's hooks are not in {settings}: {INSTALL} (without them aitop sees"
                    " no waiting sessions, turns or tool durations).",
                )
            ]
        ours = self.socket
        elsewhere = sorted(s for s in sockets if s is not None and os.path.abspath(s) != ours)
        if elsewhere:
            return [
                Diagnostic(
                    "claude-code:hooks-socket",
                    "warning",
                    f"the hooks in {settings} send to {elsewhere[0]}, but this aitop listens on"
                    f" {ours}: start aitop with --socket {elsewhere[0]}, or run"
                    f" 'aitop install --write --socket {ours}'",
                )
            ]
        if None in sockets and ours != self.default_socket and not frames:
            return [
                Diagnostic(
                    "claude-code:hooks-socket",
                    "warning",
                    f"the hooks in {settings} send to {self.default_socket} unless Claude Code"
                    f" runs with AITOP_SOCKET={ours}; to send them here, run"
                    f" 'aitop install --write --socket {ours}'",
                )
            ]
        if frames:
            return [Diagnostic("claude-code:hooks", "info", f"aitop's hooks are in {settings}.")]
        return [
            Diagnostic(
                "claude-code:hooks",
                "info",
                f"aitop's hooks are in {settings}, but none has run yet: sessions started"
                " before they were installed send nothing until they are restarted.",
            )
        ]
