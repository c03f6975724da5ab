"""Command line: parse arguments, run a command, turn every user mistake into one line.

    aitop [options]                      the live screen
    aitop -b [-n N] [-d SECS] [--json]   batch mode, like top -b
    (both attach to the monitor running on the socket, if one is; --standalone: never)
    aitop --metrics [HOST:]PORT          also serve /metrics for Prometheus
    aitop hook                           forward one hook event (run by the agent)
    aitop statusline [-- CMD]            Claude Code's status line: forward, print one line
    aitop install [...]                  wire aitop into an agent (Claude Code, Codex, ...)
    aitop prices [--update [URL]] [--json]   the prices in use; fetch newer ones
    aitop report [PERIOD] [...]          history from the agents' own logs
    aitop version

Heavy modules are imported inside the commands that need them: start-up is a feature.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from aitop import __version__, paths
from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.registry import AGENTS

if TYPE_CHECKING:
    from aitop.config import Config
    from aitop.export import MetricsServer
    from aitop.loop import Source
    from aitop.viewer import Attachment

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
        epilog="Commands: hook, statusline, install, prices, report, version."
        " 'aitop COMMAND --help' for each.",
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
        "--standalone",
        action="store_true",
        help="run a monitor of its own even when one runs on the socket (which then refuses it:"
        " one monitor per socket); by default -b and the screen attach to a running monitor",
    )
    parser.add_argument(
        "--metrics",
        metavar="[HOST:]PORT",
        help="serve /metrics (Prometheus text and OpenMetrics) on this address; loopback"
        " (127.0.0.1) unless a host is given, and only with --metrics-network if it is not"
        " loopback (default: 'metrics' in the config)",
    )
    parser.add_argument(
        "--metrics-network",
        action="store_true",
        help="allow --metrics on an address other than loopback: every host that can reach"
        " it can read what your agents cost",
    )
    parser.add_argument(
        "--metrics-sessions",
        action="store_true",
        help="add per-session series to /metrics (one series per session: many sessions"
        " make many series)",
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

    statusline = commands.add_parser(
        "statusline",
        help="Claude Code's status line command: forward its input, print one line",
        description="Run by Claude Code as its statusLine command: send the status line's"
        " input on stdin (plan limits, the session's own cost and context) to the monitor,"
        " and print one line: aitop's own (model, context, cost, 5h and 7d limits), or the"
        " output of COMMAND run with the same input. Silent on stderr; always exits 0."
        " 'aitop install --statusline --write' sets it up.",
    )
    statusline.add_argument(
        "chained",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND",
        help="your own status line command, run with the same stdin; its output is shown",
    )
    statusline.add_argument(
        "--socket",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the monitor's socket (default: $AITOP_SOCKET, else ~/.aitop/aitop.sock)",
    )

    install = commands.add_parser(
        "install",
        help="add aitop's hooks to an agent's settings (or remove them, or check them)",
        description="Print the agent's settings with aitop's hooks merged in (Claude Code's"
        " settings.json by default, Codex's hooks.json with --agent codex, OpenCode's plugin"
        " with --agent opencode, Gemini CLI's settings.json with --agent gemini); --write"
        " writes them, and has Codex trust its hooks.",
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

    report = commands.add_parser("report", help=REPORT_HELP, description=REPORT_DESCRIPTION)
    _report_arguments(report, suppress=True)

    version = commands.add_parser("version", help="print the version")
    _common(version, suppress=True)
    return parser


REPORT_HELP = (
    "what was spent, by day, week, month, session, project, model, agent or 5-hour block,"
    " from the agents' own logs"
)
REPORT_DESCRIPTION = (
    "What the agents spent, from their own logs on this machine (aitop keeps no history):"
    " the live monitor's parsers, dedup and prices, read on every core."
)


def _report_arguments(parser: argparse.ArgumentParser, suppress: bool) -> None:
    from aitop import report_command

    report_command.add_arguments(parser)
    _common(parser, suppress=suppress)


def _report_parser() -> argparse.ArgumentParser:
    """`aitop report ...` alone: the same options as the full parser's `report`, without
    building (and importing) every other command's; its time is spent reading instead."""
    parser = _Parser(prog=f"{PROG} report", description=REPORT_DESCRIPTION)
    _report_arguments(parser, suppress=False)
    parser.set_defaults(command="report")
    return parser


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    env = env or Env()
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["hook"]:
        from aitop.hook import main as hook_main

        return hook_main(args_list[1:])
    if args_list[:1] == ["statusline"] and not _help_only(args_list[1:]):
        from aitop.statusline import main as statusline_main

        return statusline_main(args_list[1:])
    try:
        if args_list[:1] == ["report"]:
            args = _report_parser().parse_args(args_list[1:])
        else:
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


def _help_only(args: Sequence[str]) -> bool:
    """`aitop statusline --help`: argparse's help, not the status line."""
    before = list(args)[: list(args).index("--")] if "--" in args else list(args)
    return "-h" in before or "--help" in before


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
    if args.command == "report":
        from aitop import report_command

        return report_command.run(args, env)
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

    from aitop.log import setup

    setup(paths.log_path(env.environ), env.environ)
    socket_path = os.path.abspath(paths.socket_path(env.environ, args.socket))
    metrics = _metrics_address(
        args, config, config_path
    )  # a bad address is refused before anything starts
    source, attached = _source(args, env, config, socket_path)
    exporter: MetricsServer | None = None
    try:
        if metrics is not None and (attached is False or args.metrics is not None):
            # the config's address is the monitor's: a viewer serves only when asked to
            from aitop.export import MetricsServer

            host, port = metrics
            exporter = MetricsServer(
                host,
                port,
                lambda: source.latest,
                sessions=args.metrics_sessions or config.metrics_sessions,
            )
            exporter.start()
        interval = args.delay or config.refresh
        if args.batch:
            _batch(args, env, source, attached, socket_path, interval)
        else:
            from aitop.ui.screen import run_screen

            run_screen(
                source, env, interval=interval, bell=args.bell or config.bell, theme=config.theme
            )
    finally:
        if exporter is not None:
            exporter.close()
        source.close()
    ended = getattr(source, "ended", None)
    if ended is not None and not source.stopping:
        raise ended  # the monitor stopped or went: the viewer did not end by itself
    return int(ExitCode.OK)


def _metrics_address(
    args: argparse.Namespace, config: Config, config_path: str
) -> tuple[str, int] | None:
    given = args.metrics is not None
    text = args.metrics if given else config.metrics
    if not text:
        return None
    from aitop.export import parse_address

    return parse_address(
        text,
        network=args.metrics_network or config.metrics_network,
        where="--metrics" if given else f"{config_path}: metrics =",
    )


def _source(
    args: argparse.Namespace, env: Env, config: Config, socket_path: str
) -> tuple[Source, bool]:
    """The monitor running on the socket, attached to; else a monitor of this process's
    own, listening already. (source, attached)"""
    from aitop.viewer import connect

    if not args.standalone:
        found = connect(socket_path)
        if found is not None:
            return _viewer(socket_path, found, config), True
    from aitop.app import Monitor, Options
    from aitop.server import AlreadyRunning

    agent_dirs = {}
    for name, agent in AGENTS.items():
        given = getattr(args, agent.dest, None)
        agent_dirs[name] = agent.directory(env.environ, given)
        agent.check_directory(agent_dirs[name], given=given is not None)
    if not args.batch:
        from aitop.ui.screen import check_terminal

        check_terminal(env)  # before the socket is taken
    options = Options(
        socket_path=socket_path,
        agent_dirs=agent_dirs,
        config=config,
        backfill=not args.no_backfill,
    )
    monitor = Monitor(options, env)
    try:
        monitor.listen()
    except AlreadyRunning:
        monitor.close()
        found = None if args.standalone else connect(socket_path)
        if found is None:
            raise
        return _viewer(socket_path, found, config), True  # one started a moment ago
    except BaseException:
        monitor.close()
        raise
    return monitor, False


def _viewer(socket_path: str, found: Attachment, config: Config) -> Source:
    from aitop.pricing import Pricer
    from aitop.viewer import Viewer

    return Viewer(socket_path, found, Pricer.load(config.pricing.models))


def _batch(
    args: argparse.Namespace,
    env: Env,
    source: Source,
    attached: bool,
    socket_path: str,
    interval: float,
) -> None:
    from aitop.batch import DEFAULT_WIDTH, BatchWriter

    width = _columns(env, DEFAULT_WIDTH)
    # with --timeline, the monitor's own line is the one its viewers get: encoded once
    encode = getattr(source, "json_line", None) if args.timeline else None
    writer = BatchWriter(
        env.stdout,
        json=args.json,
        count=args.iterations,
        width=width,
        timelines=args.timeline,
        encode=encode,
    )
    if not args.json:  # the first line says whose numbers these are (JSON: "attached")
        pid = getattr(getattr(source, "hello", None), "pid", os.getpid())
        what = "attached to the monitor" if attached else "running its own monitor"
        print(f"aitop -b: {what} on {socket_path} (pid {pid})", file=env.stdout, flush=True)
    source.open()
    source.run(interval, writer)


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
