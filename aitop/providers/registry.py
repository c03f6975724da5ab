"""Every agent aitop knows, in one place: its name on the wire, how the screen calls it,
where its files are (the option, the environment variables, the default), and how to
make its provider. Adding an agent is a package under `aitop/providers/` and one entry
here; the monitor, the command line and the screen read this table, nothing else.

Providers are imported only when made, so that parsing the command line stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aitop import paths
from aitop.providers.base import Provider


@dataclass(frozen=True)
class Agent:
    name: str  # the envelope's agent ("claude-code"), the `agent` of its sessions
    label: str  # how the screen names it ("claude")
    flag: str  # the option that says where its files are ("--claude-dir")
    metavar: str
    help: str
    environment: tuple[str, ...]  # variables that say it, the first one set wins
    default: Callable[[Mapping[str, str]], str]  # else this, from the environment
    make: Callable[[str], Provider]  # its provider, from that directory

    @property
    def dest(self) -> str:
        """The option's attribute name in the parsed arguments."""
        return self.flag.removeprefix("--").replace("-", "_")

    def directory(self, environ: Mapping[str, str], override: str | None = None) -> str:
        if override:
            return override
        for name in self.environment:
            if environ.get(name):
                return environ[name]
        return self.default(environ)


def _claude_code(directory: str) -> Provider:
    from aitop.providers.claude_code.provider import ClaudeCode

    return ClaudeCode(paths.projects_dir(directory))


def _codex(directory: str) -> Provider:
    from aitop.providers.codex.provider import Codex

    return Codex(directory)


AGENTS: dict[str, Agent] = {
    "claude-code": Agent(
        name="claude-code",
        label="claude",
        flag="--claude-dir",
        metavar="DIR",
        help="Claude Code's directory (default: $CLAUDE_CONFIG_DIR, else ~/.claude)",
        environment=("CLAUDE_CONFIG_DIR",),
        default=lambda environ: os.path.join(paths.home(environ), ".claude"),
        make=_claude_code,
    ),
    "codex": Agent(
        name="codex",
        label="codex",
        flag="--codex-home",
        metavar="DIR",
        help="Codex's directory (default: $CODEX_HOME, else ~/.codex)",
        environment=("CODEX_HOME",),
        default=lambda environ: os.path.join(paths.home(environ), ".codex"),
        make=_codex,
    ),
}


def label(agent: str) -> str:
    """The screen's name for an agent: its label, or the name itself if unknown."""
    known = AGENTS.get(agent)
    return known.label if known is not None else agent
