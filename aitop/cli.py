"""Command line: parse arguments, run a command, turn every user mistake into one line.

    aitop [options]                      the live screen
    aitop -b [-n N] [-d SECS] [--json]   batch mode, like top -b
    aitop hook                           forward one hook event (run by the agent)
    aitop install [...]                  wire aitop's hooks into an agent (Claude Code, Codex)
    aitop prices [--update [URL]] [--json]   the prices in use; fetch newer ones
    aitop version

Heavy modules are imported inside the commands that need them: start-up is a feature.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from aitop import __version__, paths
from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.registry import AGENTS

PROG = "aitop"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise AitopError(message, f"see '{self.prog} --help'", ExitCode.USAGE)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and 3600, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options every command takes, before or after the command name."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--socket",
        metavar="PATH",
        default=default,
        help="the monitor's socket (default: $AITOP_SOCKET, else ~/.aitop/aitop.sock)",
    )
    for agent in AGENTS.values():  # where each agent keeps its files
        parser.add_argument(agent.flag, metavar=agent.metavar, default=default, help=agent.help)
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="configuration file (default: $XDG_CONFIG_HOME/aitop/config.toml)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="top for AI coding agents: live tokens, cost, cache, tools and alerts.",
        epilog="Commands: hook, install, prices, version. 'aitop COMMAND --help' for each.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "-b", "--batch", action="store_true", help="batch mode: plain frames on stdout, no screen"
    )
    parser.add_argument(
        "-n",
        "--iterations",
        type=_positive_int,
        metavar="N",
        help="stop after N frames (default: until interrupted)",
    )
    parser.add_argument(
        "-d",
        "--delay",
        type=_positive_float,
        metavar="SECS",
        help="seconds between frames (default: refresh from the config, 1)",
    )
    parser.add_argument(
        "--json", action="store_true", help="with -b: one JSON snapshot object per line"
    )
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="with -b --json: include each session's timeline (what it did last)",
    )
    parser.add_argument(
        "--bell", action="store_true", help="ring the bell and notify when a new alert appears"
    )
    parser.add_argument(
        "--no-backfill",
        action="store_true",
        help="read transcripts only when a hook names them: no start-up read of the last"
        " 15 minutes, no discovery of sessions that no hook announced",
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the effective configuration and exit"
    )
    _common(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    hook = commands.add_parser(
        "hook",
        help="forward one hook event from stdin to the monitor (run by the agent)",
        description="Forward the hook payload on stdin to the monitor. Silent; always exits 0.",
    )
    hook.add_argument(
        "--agent", metavar="NAME", default="claude-code", help="the agent (default: claude-code)"
    )
    _common(hook, suppress=True)

    install = commands.add_parser(
        "install",
        help="add aitop's hooks to an agent's settings (or remove them, or check them)",
        description="Print the agent's settings with aitop's hooks merged in (Claude Code's"
        " settings.json by default, Codex's hooks.json with --agent codex, Gemini CLI's"
        " settings.json with --agent gemini); --write writes them, and has Codex trust its"
        " hooks.",
    )
    from aitop import install_command

    install_command.add_arguments(install)
    _common(install, suppress=True)

    prices = commands.add_parser(
        "prices",
        help="show the prices in use, and their date and source; --update fetches newer ones",
        description="Show the date and source of aitop's prices and every model's price;"
        " --update fetches LiteLLM's price table (the only network access aitop makes) and"
        " keeps it as a dated overlay.",
    )
    from aitop import prices_command

    prices_command.add_arguments(prices)
    _common(prices, suppress=True)

    version = commands.add_parser("version", help="print the version")
    _common(version, suppress=True)
    return parser


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    env = env or Env()
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["hook"]:
        from aitop.hook import main as hook_main

        return hook_main(args_list[1:])
    try:
        args = build_parser().parse_args(args_list)
        return _run(args, env)
    except AitopError as error:
        env.error(error.line())
        return int(error.code)
    except KeyboardInterrupt:
        return int(ExitCode.OK)
    except BrokenPipeError:
        _quiet_broken_pipe()
        return int(ExitCode.OK)
    except Exception as exc:
        from aitop.log import debugging, log

        log.exception("internal error")
        if debugging(env.environ):
            raise
        env.error(
            f"aitop: error: internal error: {type(exc).__name__}: {exc}; "
            "please report it (AITOP_LOG_LEVEL=debug shows the traceback)"
        )
        return int(ExitCode.FAILURE)


def _run(args: argparse.Namespace, env: Env) -> int:
    if args.command == "version":
        print(f"{PROG} {__version__}", file=env.stdout)
        return int(ExitCode.OK)
    if args.command == "install":
        from aitop import install_command

        return install_command.run(args, env)
    if args.command == "prices":
        from aitop import prices_command

        return prices_command.run(args, env)
    return _monitor(args, env)


def _monitor(args: argparse.Namespace, env: Env) -> int:
    from aitop import config as config_module

    config_path = paths.config_path(env.environ, args.config)
    config = config_module.load(config_path, required=args.config is not None)
    if args.print_config:
        import orjson

        text = orjson.dumps(config_module.to_dict(config), option=orjson.OPT_INDENT_2).decode()
        print(text, file=env.stdout)
        return int(ExitCode.OK)
    if args.json and not args.batch:
        raise AitopError("--json needs -b", "run: aitop -b --json", ExitCode.USAGE)
    if args.timeline and not (args.batch and args.json):
        raise AitopError(
            "--timeline needs -b --json", "run: aitop -b --json --timeline", ExitCode.USAGE
        )
    if args.iterations is not None and not args.batch:
        raise AitopError("-n needs -b", "run: aitop -b -n N", ExitCode.USAGE)

    from aitop.app import Monitor, Options
    from aitop.log import setup

    agent_dirs = {}
    for name, agent in AGENTS.items():
        given = getattr(args, agent.dest, None)
        agent_dirs[name] = agent.directory(env.environ, given)
        agent.check_directory(agent_dirs[name], given=given is not None)
    setup(paths.log_path(env.environ), env.environ)
    options = Options(
        socket_path=os.path.abspath(paths.socket_path(env.environ, args.socket)),
        agent_dirs=agent_dirs,
        config=config,
        backfill=not args.no_backfill,
    )
    interval = args.delay or config.refresh
    monitor = Monitor(options, env)
    if args.batch:
        from aitop.batch import DEFAULT_WIDTH, BatchWriter

        width = _columns(env, DEFAULT_WIDTH)
        writer = BatchWriter(
            env.stdout, json=args.json, count=args.iterations, width=width, timelines=args.timeline
        )
        monitor.open()
        try:
            monitor.run(interval, writer)
        finally:
            monitor.close()
        return int(ExitCode.OK)
    from aitop.ui.screen import run_screen

    return run_screen(
        monitor, env, interval=interval, bell=args.bell or config.bell, theme=config.theme
    )


def _columns(env: Env, default: int) -> int:
    value = env.environ.get("COLUMNS", "")
    return int(value) if value.isdigit() and int(value) >= 40 else default


def _quiet_broken_pipe() -> None:
    """`aitop -b | head`: stop quietly, without Python's 'Exception ignored' message."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
