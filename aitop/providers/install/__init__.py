"""`aitop install`, the parts every agent shares: the JSON file machinery (`jsontext`,
`jsonfile`), the hook command (`command`), the summary of a merge (`summary`), the
`--check` findings (`check`), and the merge into a file of hooks in matcher groups, the
shape Claude Code's, Codex's and Gemini CLI's files share (`matcher_groups`). No agent's
field names are in here: each agent's own install module
(`aitop/providers/<agent>/install.py`) says what its file holds.

An agent's install module is an `Installer`; the registry names it.
"""

from __future__ import annotations

import argparse
from typing import Protocol

from aitop.env import Env
from aitop.providers.install.check import Inspection


class Installer(Protocol):
    """What `aitop install` asks of an agent's install module."""

    def run(self, args: argparse.Namespace, env: Env) -> int:
        """Print the agent's file with aitop's hooks merged in (or, with --uninstall,
        out); with --write, write it. The exit status."""
        ...

    def inspect(self, args: argparse.Namespace, env: Env) -> Inspection:
        """`--check`: the findings about the agent's file, and the socket its hooks reach."""
        ...
