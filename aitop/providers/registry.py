"""Every agent aitop knows, in one place: its name on the wire, how the screen calls it,
where its files are (the option, the environment variables, the default), how to make
its provider, and its `aitop install` module. Adding an agent is a package under
`aitop/providers/` and one entry here; the monitor, the command line and the screen read
this table, nothing else.

Providers and installers are imported only when used, so that parsing the command line
stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aitop import paths
from aitop.errors import AitopError, ExitCode
from aitop.providers.base import History, Provider, Where

if TYPE_CHECKING:
    from aitop.providers.install import Installer


@dataclass(frozen=True)
class Agent:
    name: str  # the envelope's agent ("claude-code"), the `agent` of its sessions
    title: str  # how sentences name it ("Claude Code")
    label: str  # how the screen's columns name it ("claude")
    flag: str  # the option that says where its files are ("--claude-dir")
    metavar: str
    help: str
    environment: tuple[str, ...]  # variables that say it, the first one set wins
    default: Callable[[Mapping[str, str]], str]  # else this, from the environment
    default_shown: str  # the same, as the help says it ("~/.claude")
    make: Callable[[Where], Provider]  # its provider, from that directory
    # its logs as history (`aitop report`, the budgets), from that directory and the
    # environment; an agent without one is named in the report as not read
    history: Callable[[str, Mapping[str, str]], History] | None = None
    # its `aitop install` module (None: aitop cannot install its hooks yet)
    installer: Callable[[], Installer] | None = None

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

    def check_directory(self, directory: str, given: bool) -> None:
        """At start-up: a directory that cannot be the agent's is one clear line, and so
        is a missing one the user named (a missing default is said on the screen: the
        agent may simply not have run yet)."""
        if os.path.isdir(directory):
            return
        where = f"{self.flag} {directory}" if given else directory
        variables = ", ".join("$" + name for name in self.environment)
        fix = (
            f"give {self.flag} the directory {self.title} writes to: its {variables},"
            f" {self.default_shown} by default"
            if variables
            else f"give {self.flag} the directory {self.title} writes to ({self.default_shown}"
            " by default)"
        )
        if os.path.lexists(directory):
            raise AitopError(f"{where} is not a directory", fix, ExitCode.USAGE)
        if given:
            raise AitopError(f"{where}: no such directory", fix, ExitCode.USAGE)


def _claude_code(where: Where) -> Provider:
    from aitop.providers.claude_code.provider import ClaudeCode
    from aitop.providers.claude_code.setup import Setup

    setup = Setup(where.directory, where.socket_path, where.environ)
    return ClaudeCode(paths.projects_dir(where.directory), setup)


def _codex(where: Where) -> Provider:
    from aitop.providers.codex.provider import Codex

    return Codex(where.directory)


def _claude_code_history(directory: str, environ: Mapping[str, str]) -> History:
    from aitop.providers.claude_code.history import ClaudeHistory

    return ClaudeHistory(directory, paths.projects_dir(directory))


def _codex_history(directory: str, environ: Mapping[str, str]) -> History:
    from aitop.providers.codex.history import CodexHistory

    return CodexHistory(directory)


def _opencode(where: Where) -> Provider:
    from aitop.providers.opencode.provider import OpenCode

    return OpenCode(where.directory, where.environ)


def _opencode_history(directory: str, environ: Mapping[str, str]) -> History:
    from aitop.providers.opencode.history import OpenCodeHistory

    return OpenCodeHistory(directory, environ)  # $OPENCODE_DB may name another store


def _opencode_data(environ: Mapping[str, str]) -> str:
    """OpenCode's data directory: `$XDG_DATA_HOME/opencode`, else ~/.local/share/opencode
    (XDG_DATA_HOME names the parent, so it is not one of the `environment` variables)."""
    base = environ.get("XDG_DATA_HOME") or os.path.join(paths.home(environ), ".local", "share")
    return os.path.join(base, "opencode")


def _gemini(where: Where) -> Provider:
    from aitop.providers.gemini.provider import Gemini
    from aitop.providers.gemini.setup import Setup

    return Gemini(where.directory, Setup(where.directory, where.socket_path, where.environ))


def _gemini_history(directory: str, environ: Mapping[str, str]) -> History:
    from aitop.providers.gemini.history import GeminiHistory

    return GeminiHistory(directory)


def _gemini_dir(environ: Mapping[str, str]) -> str:
    """Gemini CLI's own rule: `$GEMINI_CLI_HOME` stands for the home directory."""
    return os.path.join(environ.get("GEMINI_CLI_HOME") or paths.home(environ), ".gemini")


def _claude_code_installer() -> Installer:
    from aitop.providers.claude_code import install

    return install


def _codex_installer() -> Installer:
    from aitop.providers.codex import install

    return install


def _opencode_installer() -> Installer:
    from aitop.providers.opencode import install

    return install


def _gemini_installer() -> Installer:
    from aitop.providers.gemini import install

    return install


AGENTS: dict[str, Agent] = {
    "claude-code": Agent(
        name="claude-code",
        title="Claude Code",
        label="claude",
        flag="--claude-dir",
        metavar="DIR",
        help="Claude Code's directory (default: $CLAUDE_CONFIG_DIR, else ~/.claude)",
        environment=("CLAUDE_CONFIG_DIR",),
        default=lambda environ: os.path.join(paths.home(environ), ".claude"),
        default_shown="~/.claude",
        make=_claude_code,
        history=_claude_code_history,
        installer=_claude_code_installer,
    ),
    "codex": Agent(
        name="codex",
        title="Codex",
        label="codex",
        flag="--codex-home",
        metavar="DIR",
        help="Codex's directory (default: $CODEX_HOME, else ~/.codex)",
        environment=("CODEX_HOME",),
        default=lambda environ: os.path.join(paths.home(environ), ".codex"),
        default_shown="~/.codex",
        make=_codex,
        history=_codex_history,
        installer=_codex_installer,
    ),
    "opencode": Agent(
        name="opencode",
        title="OpenCode",
        label="opencode",
        flag="--opencode-data",
        metavar="DIR",
        help="OpenCode's data directory, where its opencode.db is (default:"
        " $XDG_DATA_HOME/opencode, else ~/.local/share/opencode)",
        environment=(),
        default=_opencode_data,
        default_shown="$XDG_DATA_HOME/opencode, else ~/.local/share/opencode",
        make=_opencode,
        history=_opencode_history,
        installer=_opencode_installer,
    ),
    "gemini": Agent(
        name="gemini",
        title="Gemini CLI",
        label="gemini",
        flag="--gemini-dir",
        metavar="DIR",
        help="Gemini CLI's directory (default: $GEMINI_CLI_HOME/.gemini, else ~/.gemini)",
        environment=(),  # $GEMINI_CLI_HOME names the home it is in: `_gemini_dir`
        default=_gemini_dir,
        default_shown="$GEMINI_CLI_HOME/.gemini, else ~/.gemini",
        make=_gemini,
        history=_gemini_history,
        installer=_gemini_installer,
    ),
}


def label(agent: str) -> str:
    """The screen's name for an agent: its label, or the name itself if unknown."""
    known = AGENTS.get(agent)
    return known.label if known is not None else agent
