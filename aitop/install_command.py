"""`aitop install`: wire aitop's hooks into an agent, take them out, or check them.

    aitop install [--agent NAME] [--write | --dry-run] [--uninstall]
    aitop install --check [--agent NAME]
    aitop install --statusline [--write | --check | --uninstall]   (Claude Code's status line)

One agent at a time (Claude Code unless `--agent` says otherwise: each agent's install
module, from the registry, does the work); `--check` without `--agent` checks every agent
found on this machine (its directory exists), each in its own lines, and fails if any
has a problem.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.install.check import monitor_finding
from aitop.providers.registry import AGENTS

DEFAULT_AGENT = "claude-code"


def installable() -> list[str]:
    return [name for name, agent in AGENTS.items() if agent.installer is not None]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from aitop.providers.claude_code.hooks import HOOK_EVENTS

    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--write", action="store_true", help="write the agent's file (atomically, with a .bak)"
    )
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="print the resulting file without writing it (the default)",
    )
    mode.add_argument(
        "--check",
        action="store_true",
        help="say whether the hooks are installed (and, for Codex, trusted) and a monitor is"
        " listening, for --agent or for every agent found (exit 0/1)",
    )
    parser.add_argument(
        "--uninstall", action="store_true", help="remove aitop's hooks instead of adding them"
    )
    parser.add_argument(
        "--agent",
        metavar="NAME",
        choices=installable(),
        help=f"the agent: {', '.join(installable())} (default: {DEFAULT_AGENT}; --check"
        " without it checks every agent found)",
    )
    parser.add_argument(
        "--settings",
        metavar="PATH",
        help="Claude Code's settings file (default: settings.json in --claude-dir,"
        " $CLAUDE_CONFIG_DIR or ~/.claude), or with --agent gemini Gemini CLI's (default:"
        " settings.json in --gemini-dir); with --agent opencode, OpenCode's config directory"
        " (default: $XDG_CONFIG_HOME/opencode, else ~/.config/opencode); Codex's hooks are in"
        " --codex-home's hooks.json",
    )
    parser.add_argument(
        "--events",
        metavar="LIST",
        help="comma-separated hook events to register (default for Claude Code:"
        f" {', '.join(HOOK_EVENTS)}; for Codex its 12 documented events; for Gemini CLI"
        " all 11 of its events)",
    )
    parser.add_argument(
        "--statusline",
        action="store_true",
        help="manage Claude Code's status line instead of its hooks: make it `aitop statusline`"
        " (plan limits), keeping a status line command you have as the one it shows",
    )


def run(args: argparse.Namespace, env: Env) -> int:
    if args.check and args.uninstall:
        raise AitopError(
            "--check and --uninstall do not go together", "use one of them", ExitCode.USAGE
        )
    if args.uninstall and args.events is not None:
        raise AitopError(
            "--events does not go with --uninstall (it removes aitop's hooks from every event)",
            "leave out --events",
            ExitCode.USAGE,
        )
    if args.statusline:
        return _statusline(args, env)
    if args.check:
        return _check(args, env)
    installer = AGENTS[args.agent or DEFAULT_AGENT].installer
    assert installer is not None  # --agent's choices are the agents that have one
    return installer().run(args, env)


def _statusline(args: argparse.Namespace, env: Env) -> int:
    """`--statusline` is Claude Code's alone: it has the only status line to read limits from."""
    from aitop.providers.claude_code.install import run_statusline

    if args.events is not None:
        raise AitopError(
            "--events does not go with --statusline (the status line is not a hook)",
            "leave out --events",
            ExitCode.USAGE,
        )
    if args.agent not in (None, DEFAULT_AGENT):
        raise AitopError(
            f"--statusline is Claude Code's; {AGENTS[args.agent].title} has no status line"
            " command to install",
            "leave out --statusline",
            ExitCode.USAGE,
        )
    return run_statusline(args, env)


def agents_to_check(args: argparse.Namespace, environ: Mapping[str, str]) -> list[str]:
    """`--agent`'s, else every agent whose directory exists (or was given), else the
    default agent (whose check then says what is missing). `--settings` is Claude Code's."""
    if args.agent:
        return [args.agent]
    if args.settings is not None:
        return [DEFAULT_AGENT]
    found = []
    for name in installable():
        agent = AGENTS[name]
        given = getattr(args, agent.dest, None)
        if given or os.path.isdir(agent.directory(environ, given)):
            found.append(name)
    return found or [DEFAULT_AGENT]


def _check(args: argparse.Namespace, env: Env) -> int:
    names = agents_to_check(args, env.environ)
    problems = False
    for name in names:
        agent = AGENTS[name]
        assert agent.installer is not None
        inspection = agent.installer().inspect(args, env)
        findings = [*inspection.findings, monitor_finding(inspection.socket, env.environ)]
        if len(names) > 1:
            print(f"{agent.title}:", file=env.stdout)
        for finding in findings:
            print(finding.line(), file=env.stdout)
        problems = problems or any(f.level == "problem" for f in findings)
    env.stdout.flush()
    return int(ExitCode.FAILURE if problems else ExitCode.OK)
