"""Where aitop's files live. Standard library only (`os`): the hook imports this.

Every function takes the environment as a mapping so tests can pass their own.
"""

import os

# `_collections_abc` is loaded by every interpreter at start-up; `collections.abc`
# would pull in `collections`, `operator`, `keyword`... on the hook's critical path.
from _collections_abc import Mapping

SOCKET_NAME = "aitop.sock"
LOG_NAME = "aitop.log"


def home(environ: Mapping[str, str]) -> str:
    value = environ.get("HOME")
    return value if value else os.path.expanduser("~")


def state_dir(environ: Mapping[str, str]) -> str:
    """`~/.aitop`: the socket and the log, created 0700."""
    return os.path.join(home(environ), ".aitop")


def socket_path(environ: Mapping[str, str], override: str | None = None) -> str:
    """`--socket`, else `$AITOP_SOCKET`, else `~/.aitop/aitop.sock`."""
    if override:
        return override
    value = environ.get("AITOP_SOCKET")
    if value:
        return value
    return os.path.join(state_dir(environ), SOCKET_NAME)


def log_path(environ: Mapping[str, str]) -> str:
    return os.path.join(state_dir(environ), LOG_NAME)


def claude_dir(environ: Mapping[str, str], override: str | None = None) -> str:
    """`--claude-dir`, else `$CLAUDE_CONFIG_DIR`, else `~/.claude`."""
    if override:
        return override
    value = environ.get("CLAUDE_CONFIG_DIR")
    if value:
        return value
    return os.path.join(home(environ), ".claude")


def projects_dir(claude: str) -> str:
    """Claude Code writes one transcript per session under `<claude>/projects/<project>/`."""
    return os.path.join(claude, "projects")


def config_path(environ: Mapping[str, str], override: str | None = None) -> str:
    """`--config`, else `$XDG_CONFIG_HOME/aitop/config.toml` (default `~/.config`)."""
    if override:
        return override
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(home(environ), ".config")
    return os.path.join(base, "aitop", "config.toml")
