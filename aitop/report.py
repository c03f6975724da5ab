"""`aitop report`: what was spent, by day, week, month, session, project, model, agent or
5-hour block, from the cells history.py reads out of the agents' own logs. Pure: rows
from cells, then a table, JSON or CSV from rows.

The JSON document is a contract like the snapshot's (README, "History: aitop report"):
fields are added, never renamed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from aitop import periods
from aitop.history import (
    CACHE_READ,
    CACHE_WRITE_1H,
    CACHE_WRITE_5M,
    COST,
    FIRST,
    INPUT,
    LAST,
    OUTPUT,
    REASONING,
    REQUESTS,
    CellKey,
    Cells,
)
from aitop.periods import Zone
from aitop.pricing import PICO_PER_USD, Pricer

COUNTS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "total_tokens",
    "cost_usd",
    "cost_estimated",
)


class Query(NamedTuple):
    kind: str
    zone: Zone
    first_weekday: int  # 0 = Monday
    since: int | None = None  # first day (ordinal, in the zone), inclusive
    until: int | None = None  # last day, inclusive
    agents: frozenset[str] | None = None  # None: every agent
    breakdown: bool = False


class Totals:
    """Sums over cells: counts, the first and last request, the models, the estimate."""

    __slots__ = ("estimated", "first", "last", "models", "values")

    def __init__(self) -> None:
        self.values = [0] * (COST + 1)
        self.first = float("inf")
        self.last = float("-inf")
        self.models: dict[str, Totals] = {}
        self.estimated = False

    def add(self, values: list[float], estimated: bool) -> None:
        sums = self.values
        for field in range(COST + 1):
            sums[field] += int(values[field])
        self.first = min(self.first, values[FIRST])
        self.last = max(self.last, values[LAST])
        self.estimated = self.estimated or estimated

    def counts(self) -> dict[str, Any]:
        v = self.values
        cache_write = v[CACHE_WRITE_5M] + v[CACHE_WRITE_1H]
        return {
            "requests": v[REQUESTS],
            "input_tokens": v[INPUT],
            "output_tokens": v[OUTPUT],
            "cache_read_tokens": v[CACHE_READ],
            "cache_write_tokens": cache_write,
            "reasoning_tokens": v[REASONING],
            "total_tokens": v[INPUT] + v[OUTPUT] + v[CACHE_READ] + cache_write,
            "cost_usd": v[COST] / PICO_PER_USD,
            "cost_estimated": self.estimated,
        }


class Row(NamedTuple):
    order: tuple[Any, ...]
    identity: dict[str, Any]  # what the row is: its date, session, model...
    totals: Totals


class Report(NamedTuple):
    query: Query
    rows: list[Row]
    totals: Totals


def build(cells: Cells, query: Query, pricer: Pricer, now: float) -> Report:
    """The report's rows and totals: the cells in the query's days and agents, grouped."""
    estimate = _Estimates(pricer)
    wanted = [
        (key, values)
        for key, values in cells.items()
        if (query.agents is None or key[2] in query.agents)
        and (query.since is None or key[0] >= query.since)
        and (query.until is None or key[0] <= query.until)
    ]
    totals = Totals()
    groups: dict[Any, Totals] = {}
    identities: dict[Any, dict[str, Any]] = {}
    group_of = _blocks(wanted) if query.kind == "blocks" else _GROUPERS[query.kind](query)
    for key, values in wanted:
        estimated = estimate(key[5], key[6])
        totals.add(values, estimated)
        group = group_of(key)
        row = groups.get(group)
        if row is None:
            row = groups[group] = Totals()
            identities[group] = {}
        row.add(values, estimated)
        _note(identities[group], key, values)
        model = row.models.get(key[5])
        if model is None:
            model = row.models[key[5]] = Totals()
        model.add(values, estimated)
    rows = [
        Row(*_describe(query, group, identities[group], groups[group], now)) for group in groups
    ]
    rows.sort(key=lambda row: row.order)
    return Report(query, rows, totals)


class _Estimates:
    """Whether a model's price is an estimate (its family's, not its own)."""

    def __init__(self, pricer: Pricer) -> None:
        self.pricer = pricer
        self._known: dict[tuple[str, str], bool] = {}

    def __call__(self, model: str, vendor: str) -> bool:
        found = self._known.get((model, vendor))
        if found is None:
            info = self.pricer.resolve(model, vendor or None)
            found = self._known[model, vendor] = info.estimated
        return found


def _note(identity: dict[str, Any], key: CellKey, values: list[float]) -> None:
    """What a row remembers of its cells beyond sums: agents, sessions, projects; the
    project of its earliest request."""
    identity.setdefault("agents", set()).add(key[2])
    identity.setdefault("sessions", set()).add((key[2], key[3]))
    first = identity.get("first_at")
    if first is None or values[FIRST] < first:
        identity["first_at"] = values[FIRST]
        identity["project"] = key[4]


_GROUPERS: dict[str, Callable[[Query], Callable[[CellKey], Any]]] = {
    "daily": lambda q: lambda key: key[0],
    "weekly": lambda q: lambda key: periods.week(key[0], q.first_weekday),
    "monthly": lambda q: lambda key: periods.month(key[0]),
    "session": lambda q: lambda key: (key[2], key[3]),
    "project": lambda q: lambda key: key[4],
    "model": lambda q: lambda key: key[5],
    "agent": lambda q: lambda key: key[2],
}


def _blocks(wanted: list[tuple[CellKey, list[float]]]) -> Callable[[CellKey], Any]:
    """Each agent's 5-hour blocks (each vendor's limits run on their own clock)."""
    hours: dict[str, set[int]] = {}
    for key, _ in wanted:
        hours.setdefault(key[2], set()).add(key[1])
    block: dict[tuple[str, int], tuple[str, int]] = {}
    for agent, active in hours.items():
        ordered = sorted(active)
        for hour, start in zip(ordered, periods.block_starts(ordered), strict=True):
            block[agent, hour] = (agent, start)
    return lambda key: block[key[2], key[1]]


def _describe(
    query: Query, group: Any, notes: dict[str, Any], totals: Totals, now: float
) -> tuple[tuple[Any, ...], dict[str, Any], Totals]:
    kind = query.kind
    zone = query.zone
    if kind == "daily":
        return (group,), {"date": periods.iso_date(group)}, totals
    if kind == "weekly":
        return (group,), {"week": periods.iso_date(group)}, totals
    if kind == "monthly":
        return (group,), {"month": periods.iso_date(group)[:7]}, totals
    if kind == "session":
        agent, session_id = group
        identity = {
            "agent": agent,
            "session_id": session_id,
            "project": notes["project"],
            "first": local_time(totals.first, zone),
            "last": local_time(totals.last, zone),
            "models": sorted(totals.models),
        }
        return (totals.last, agent, session_id), identity, totals
    if kind == "project":
        identity = {
            "project": group,
            "sessions": len(notes["sessions"]),
            "agents": sorted(notes["agents"]),
        }
        return (-totals.values[COST], group), identity, totals
    if kind == "model":
        return (-totals.values[COST], group), {"model": group}, totals
    if kind == "agent":
        identity = {"agent": group, "sessions": len(notes["sessions"])}
        return (-totals.values[COST], group), identity, totals
    agent, start = group  # blocks
    end = start + periods.BLOCK_S
    identity = {
        "agent": agent,
        "start": local_time(start, zone),
        "end": local_time(end, zone),
        "first": local_time(totals.first, zone),
        "last": local_time(totals.last, zone),
        "active": start <= now < end,
        "remaining_s": max(0, round(end - now)) if start <= now < end else 0,
    }
    return (start, agent), identity, totals


def local_time(when: float, zone: Zone) -> str:
    return dt.datetime.fromtimestamp(when, zone.tz).isoformat(timespec="seconds")


# --- output -------------------------------------------------------------------------------


class LogNote(NamedTuple):
    """How far back an agent's logs go on this machine."""

    agent: str
    title: str
    directory: str
    files: int  # on disk
    oldest: float | None  # the oldest file's modification time
    retention: str  # what decides it, in the agent's words ("" if not read)
    read: bool  # False: the report cannot read this agent's logs yet


class Reading(NamedTuple):
    files: int
    bytes: int
    processes: int
    reread_files: int
    unreadable: list[tuple[str, str]]


def as_json(report: Report, logs: list[LogNote], reading: Reading) -> dict[str, Any]:
    q = report.query
    return {
        "report": q.kind,
        "time_zone": q.zone.name,
        "week_start": periods.WEEKDAYS[q.first_weekday],
        "since": None if q.since is None else periods.iso_date(q.since),
        "until": None if q.until is None else periods.iso_date(q.until),
        "agents": None if q.agents is None else sorted(q.agents),
        "rows": [_json_row(row, q.breakdown) for row in report.rows],
        "totals": report.totals.counts(),
        "logs": [
            {
                "agent": note.agent,
                "title": note.title,
                "directory": note.directory,
                "read": note.read,
                "files": note.files,
                "oldest": None if note.oldest is None else local_time(note.oldest, q.zone),
                "retention": note.retention,
            }
            for note in logs
        ],
        "reading": {
            "files": reading.files,
            "bytes": reading.bytes,
            "processes": reading.processes,
            "reread_files": reading.reread_files,
            "unreadable": [{"path": path, "why": why} for path, why in reading.unreadable],
        },
    }


def _json_row(row: Row, breakdown: bool) -> dict[str, Any]:
    out = {**row.identity, **row.totals.counts()}
    out.setdefault("models", sorted(row.totals.models))
    if breakdown:
        out["breakdown"] = [
            {"model": model, **totals.counts()} for model, totals in _by_cost(row.totals.models)
        ]
    return out


def _by_cost(models: Mapping[str, Totals]) -> list[tuple[str, Totals]]:
    return sorted(models.items(), key=lambda item: (-item[1].values[COST], item[0]))


def as_csv(report: Report) -> str:
    """One line per row (per row and model with --breakdown); no totals line, so that
    the columns add up."""
    rows = report.rows
    identity = _identity_columns(report.query.kind)
    header = [*identity, *(["model"] if report.query.breakdown else []), *COUNTS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        ident = [_cell_text(row.identity.get(column)) for column in identity]
        if report.query.breakdown:
            for model, totals in _by_cost(row.totals.models):
                writer.writerow([*ident, model, *_count_texts(totals)])
        else:
            writer.writerow([*ident, *_count_texts(row.totals)])
    return out.getvalue()


def _identity_columns(kind: str) -> list[str]:
    return {
        "daily": ["date"],
        "weekly": ["week"],
        "monthly": ["month"],
        "session": ["agent", "session_id", "project", "first", "last", "models"],
        "project": ["project", "sessions", "agents"],
        "model": ["model"],
        "agent": ["agent", "sessions"],
        "blocks": ["agent", "start", "end", "first", "last", "active"],
    }[kind]


def _cell_text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _count_texts(totals: Totals) -> list[str]:
    counts = totals.counts()
    texts = [str(counts[name]) for name in COUNTS[:-2]]
    cost = totals.values[COST]
    texts.append(f"{cost // PICO_PER_USD}.{cost % PICO_PER_USD:012d}".rstrip("0").rstrip("."))
    texts.append("true" if totals.estimated else "false")
    return texts


# --- the table ----------------------------------------------------------------------------

_TITLES = {
    "daily": "date",
    "weekly": "week of",
    "monthly": "month",
    "session": "session",
    "project": "project",
    "model": "model",
    "agent": "agent",
    "blocks": "5-hour block",
}


def table(
    report: Report, logs: list[LogNote], reading: Reading, labels: Mapping[str, str]
) -> list[str]:
    """The readable table: a row per period (or session...), models under each with
    --breakdown, a totals row; `≈` marks costs from an estimated price. Then where the
    history comes from and how far back it goes. `labels`: each agent's short name."""
    q = report.query
    head = [_TITLES[q.kind], "requests", "input", "output", "cache read", "cache write", "cost"]
    body: list[list[str]] = []
    for row in report.rows:
        body.append([_label(q.kind, row, labels), *_figures(row.totals)])
        if q.breakdown:
            for model, totals in _by_cost(row.totals.models):
                body.append(["  " + model, *_figures(totals)])
    total = ["total", *_figures(report.totals)]
    widths = [max(len(cells[i]) for cells in (head, *body, total)) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    out = [_title(q), ""]
    out.append(line(head))
    out.extend(line(cells) for cells in body)
    if not body:
        out.append("(nothing spent in these days)")
    out.append("-" * len(line(total)))
    out.append(line(total))
    if report.totals.estimated:
        out.append("≈: priced by the model's family: the model is not in the price table")
    out.append("")
    out.extend(log_lines(logs, reading, q.zone))
    return out


def _title(q: Query) -> str:
    if q.since is None and q.until is None:
        span = "every day on record"
    elif q.until is None:
        span = f"since {periods.iso_date(q.since or 0)}"
    elif q.since is None:
        span = f"until {periods.iso_date(q.until)}"
    else:
        span = f"{periods.iso_date(q.since)} to {periods.iso_date(q.until)}"
    agents = "" if q.agents is None else ", " + ", ".join(sorted(q.agents))
    week = f", weeks from {periods.WEEKDAYS[q.first_weekday]}" if q.kind == "weekly" else ""
    return f"aitop report {q.kind}: {span} ({q.zone.name}{week}{agents})"


def _label(kind: str, row: Row, labels: Mapping[str, str]) -> str:
    ident = row.identity
    if kind == "daily":
        return str(ident["date"])
    if kind == "weekly":
        return str(ident["week"])
    if kind == "monthly":
        return str(ident["month"])
    if kind == "session":
        short = labels.get(ident["agent"], ident["agent"])
        last = ident["last"][:16].replace("T", " ")
        return f"{last} {short} {ident['project']} {ident['session_id'][:8]}"
    if kind == "project":
        return str(ident["project"])
    if kind == "model":
        return str(ident["model"])
    if kind == "agent":
        return labels.get(ident["agent"], ident["agent"])
    start = ident["start"][:16].replace("T", " ")
    end = ident["end"][11:16]
    short = labels.get(ident["agent"], ident["agent"])
    left = ident["remaining_s"]
    active = f" (now, {left // 3600}h{left % 3600 // 60:02d} left)" if ident["active"] else ""
    return f"{start}-{end} {short}{active}"


def _figures(totals: Totals) -> list[str]:
    c = totals.counts()
    money = ("≈" if totals.estimated else "") + _usd(totals.values[COST])
    return [
        f"{c['requests']:,}",
        f"{c['input_tokens']:,}",
        f"{c['output_tokens']:,}",
        f"{c['cache_read_tokens']:,}",
        f"{c['cache_write_tokens']:,}",
        money,
    ]


def _usd(pico: int) -> str:
    """To the cent; below a cent, to a hundredth of one (so a cheap model is not $0.00)."""
    if 0 < pico < PICO_PER_USD // 100:
        tenths = (pico + PICO_PER_USD // 20_000) // (PICO_PER_USD // 10_000)
        return f"${tenths // 10_000}.{tenths % 10_000:04d}"
    cents = (pico + PICO_PER_USD // 200) // (PICO_PER_USD // 100)
    return f"${cents // 100:,}.{cents % 100:02d}"


def log_lines(logs: Iterable[LogNote], reading: Reading, zone: Zone) -> list[str]:
    """Where the history comes from, and how far back it goes on this machine."""
    out = ["How far back: the agents' own logs on this machine are all the history there is."]
    for note in logs:
        if not note.read:
            out.append(f"  {note.title}: not in the report yet (aitop cannot read its logs back)")
        elif note.oldest is None:
            out.append(f"  {note.title}: no logs in {note.directory}")
        else:
            oldest = dt.datetime.fromtimestamp(note.oldest, zone.tz).date().isoformat()
            files = f"{note.files:,} log file{'' if note.files == 1 else 's'}"
            out.append(
                f"  {note.title}: {files} in {note.directory}, the oldest last written on"
                f" {oldest}."
                f" {note.retention}."
            )
    if reading.unreadable:
        out.append(
            f"  {len(reading.unreadable)} file(s) could not be read and are not counted,"
            f" e.g. {reading.unreadable[0][0]}: {reading.unreadable[0][1]}"
        )
    return out
