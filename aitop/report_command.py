"""`aitop report [daily|weekly|monthly|session|project|model|agent|blocks]`: history from
the agents' own logs, read on every core (history.py, shards.py, report.py)."""

from __future__ import annotations

import argparse
import os

from aitop import paths
from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.periods import WEEKDAYS
from aitop.providers.registry import AGENTS

KINDS = ("daily", "weekly", "monthly", "session", "project", "model", "agent", "blocks")


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"expected 1 to 256, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "period",
        nargs="?",
        choices=KINDS,
        default="daily",
        metavar="PERIOD",
        help="group by: " + ", ".join(KINDS) + " (default: daily)",
    )
    parser.add_argument("--since", metavar="DATE", help="from this day (YYYY-MM-DD), inclusive")
    parser.add_argument("--until", metavar="DATE", help="to this day (YYYY-MM-DD), inclusive")
    parser.add_argument(
        "--tz",
        metavar="ZONE",
        help="the time zone days are counted in, e.g. Europe/Paris (default: local time)",
    )
    parser.add_argument(
        "--week-start",
        choices=WEEKDAYS,
        metavar="DAY",
        help="the first day of a week (default: week_start in the config, monday)",
    )
    parser.add_argument(
        "--agent",
        action="append",
        choices=list(AGENTS),
        metavar="NAME",
        help="only this agent (" + ", ".join(AGENTS) + "); may be repeated",
    )
    parser.add_argument(
        "--breakdown", action="store_true", help="each row's spend per model, under it"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON document")
    output.add_argument("--csv", action="store_true", help="CSV, one line per row")
    parser.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="processes reading the logs (default: one per core)",
    )


def run(args: argparse.Namespace, env: Env) -> int:
    from aitop import config as config_module
    from aitop import history, periods, report, shards
    from aitop.pricing import Pricer

    config = config_module.load(
        paths.config_path(env.environ, args.config), required=args.config is not None
    )
    zone = periods.zone(args.tz, env.environ)
    since = None if args.since is None else periods.parse_date(args.since, "--since")
    until = None if args.until is None else periods.parse_date(args.until, "--until")
    if since is not None and until is not None and since > until:
        raise AitopError(
            f"--since {args.since} is after --until {args.until}",
            "give the earlier day to --since",
            ExitCode.USAGE,
        )
    wanted = frozenset(args.agent) if args.agent else None
    now = env.wall_clock()
    sources = {}
    notes = []
    for name, agent in AGENTS.items():
        given = getattr(args, agent.dest, None)
        directory = agent.directory(env.environ, given)
        if given is not None:
            agent.check_directory(directory, given=True)
        if wanted is not None and name not in wanted:
            continue
        if agent.history is None:
            notes.append(report.LogNote(name, agent.title, directory, 0, None, "", read=False))
            continue
        sources[name] = agent.history(directory, env.environ)
    pricer = Pricer.load(config.pricing.models)
    found = history.find(sources, None if since is None else zone.start(since))
    tally = history.Tally(pricer, zone)
    outcome = shards.Shards(sources, found.files, tally, now).read(args.workers or shards.workers())
    for name, source in sources.items():
        agent = AGENTS[name]
        notes.append(
            report.LogNote(
                name,
                agent.title,
                _shown(agent.directory(env.environ, getattr(args, agent.dest, None)), env),
                found.on_disk[name],
                found.oldest[name],
                source.retention(),
                read=True,
            )
        )
    notes.sort(key=lambda note: list(AGENTS).index(note.agent))
    first_weekday = WEEKDAYS.index(args.week_start or config.week_start)
    query = report.Query(args.period, zone, first_weekday, since, until, wanted, args.breakdown)
    built = report.build(outcome.cells, query, pricer, now)
    reading = report.Reading(
        len(found.files),
        outcome.bytes_read,
        outcome.processes,
        outcome.reread_files,
        outcome.unreadable,
    )
    if args.json:
        import orjson

        from aitop.surrogates import printable_data

        document = report.as_json(built, notes, reading)
        try:
            text = orjson.dumps(document, option=orjson.OPT_INDENT_2)
        except orjson.JSONEncodeError:  # a name that is not Unicode: written escaped
            text = orjson.dumps(printable_data(document), option=orjson.OPT_INDENT_2)
        env.stdout.write(text.decode() + "\n")
    elif args.csv:
        env.stdout.write(report.as_csv(built))
    else:
        labels = {name: agent.label for name, agent in AGENTS.items()}
        for line in report.table(built, notes, reading, labels):
            print(line, file=env.stdout)
    return int(ExitCode.OK)


def _shown(directory: str, env: Env) -> str:
    """A directory as the user would write it: under ~ when it is."""
    home = paths.home(env.environ).rstrip(os.sep)
    if home and (directory == home or directory.startswith(home + os.sep)):
        return "~" + directory[len(home) :]
    return directory
