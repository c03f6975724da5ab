"""History from the agents' own logs: what `aitop report` prints and the budgets count.

aitop keeps no history of its own: every agent in the registry that has a history hook
(providers/base.py `History`) lists its log files and reads them with its provider's own
reader, so the parsers, the dedup and the prices are the live monitor's. Each request's
spend (aggregate.priced: its usage, or the growth of a request seen before, and its
cost) is summed into cells small enough to make any report from: (local day, UTC hour,
agent, session, project, model, vendor). Days are in the report's zone; UTC hours are
what the 5-hour blocks are made of (a block starts on a whole hour).

Files are read in one canonical order, oldest modified first (as the live backfill
does), so "the file that counted a request first" means the same in every reading;
aitop/shards.py reads them in several processes and gets the same cells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from aitop import events as ev
from aitop.aggregate import priced, project_name
from aitop.periods import Zone
from aitop.pricing import Pricer
from aitop.providers.base import History, LogFile, LogReader
from aitop.providers.dedup import Dedup

# a cell's values, in this order
(
    REQUESTS,
    INPUT,
    OUTPUT,
    CACHE_READ,
    CACHE_WRITE_5M,
    CACHE_WRITE_1H,
    REASONING,
    COST,  # pico-dollars
    FIRST,  # the earliest request's time
    LAST,  # the latest request's time
) = range(10)
SUMS = COST + 1  # the values that add up (FIRST and LAST are a min and a max)
SLICE_BYTES = 4 << 20  # one file read at most this much at a time: memory stays flat
# A file not modified since this long before the first instant wanted cannot hold a
# request after it (a line is written when its request ends; clocks can differ a little)
MTIME_MARGIN_S = 86_400.0

# (local day ordinal, UTC hour index, agent, session id, project, model, vendor)
CellKey = tuple[int, int, str, str, str, str, str]
Cells = dict[CellKey, list[float]]
Entry = tuple[str, LogFile]  # (agent, file)


class Found(NamedTuple):
    """The agents' log files on this machine."""

    files: list[Entry]  # the ones to read, in the canonical order
    oldest: dict[str, float | None]  # per agent: its oldest file's mtime (of them all)
    on_disk: dict[str, int]  # per agent: how many files it has


def find(sources: Mapping[str, History], since: float | None = None) -> Found:
    """Every agent's files; those modified since `since` (minus a margin) to read."""
    files: list[Entry] = []
    oldest: dict[str, float | None] = {}
    on_disk: dict[str, int] = {}
    cutoff = None if since is None else since - MTIME_MARGIN_S
    for agent, history in sources.items():
        found = history.log_files()
        on_disk[agent] = len(found)
        oldest[agent] = min((f.mtime for f in found), default=None)
        files.extend((agent, f) for f in found if cutoff is None or f.mtime >= cutoff)
    files.sort(key=lambda entry: (entry[1].mtime, entry[1].path))
    return Found(files, oldest, on_disk)


class Reading:
    """Reads `files` in their order, each through its agent's reader (one dedup per
    agent), a slice at a time: `work` never reads much more than its budget."""

    def __init__(
        self,
        sources: Mapping[str, History],
        files: list[Entry],
        dedup: Callable[[str], Dedup],
    ) -> None:
        self.sources = sources
        self.files = files
        self.dedups: dict[str, Dedup] = {}
        self._dedup = dedup
        self._readers: dict[str, LogReader] = {}
        self.position = 0  # the file being read
        self.bytes_read = 0

    def done(self) -> bool:
        return self.position >= len(self.files)

    def reader(self, agent: str) -> LogReader:
        reader = self._readers.get(agent)
        if reader is None:
            dedup = self.dedups[agent] = self._dedup(agent)
            reader = self._readers[agent] = self.sources[agent].reader(dedup)
        return reader

    def work(self, now: float, budget: int) -> list[tuple[int, list[ev.Event]]]:
        """At most about `budget` bytes more: (index of the file in `files`, its events)."""
        out: list[tuple[int, list[ev.Event]]] = []
        spent = 0
        while self.position < len(self.files) and spent < budget:
            agent, file = self.files[self.position]
            reader = self.reader(agent)
            before = reader.bytes_read()
            events, finished = reader.read(file, now, min(SLICE_BYTES, budget - spent))
            spent += reader.bytes_read() - before
            if events:
                out.append((self.position, events))
            if finished:
                self.position += 1
        self.bytes_read += spent
        return out

    def unreadable(self) -> list[tuple[str, str]]:
        return [item for reader in self._readers.values() for item in reader.unreadable()]


class Tally:
    """Requests into cells: the one place history turns an event into spend."""

    def __init__(self, pricer: Pricer, zone: Zone) -> None:
        self.pricer = pricer
        self.zone = zone
        self._projects: dict[tuple[str | None, str], str] = {}

    def add(self, into: Cells, events: Iterable[ev.Event]) -> None:
        for event in events:
            if type(event) is not ev.Request:
                continue
            usage, cost = priced(self.pricer, event)
            info = event.session
            when = info.time
            project = self._projects.get((info.cwd, info.session_id))
            if project is None:
                project = self._projects[info.cwd, info.session_id] = project_name(
                    info.cwd, info.session_id
                )
            key = (
                self.zone.day(when),
                int(when // 3600),
                info.agent,
                info.session_id,
                project,
                event.model,
                event.vendor or "",
            )
            cell = into.get(key)
            if cell is None:
                cell = into[key] = [0, 0, 0, 0, 0, 0, 0, 0, when, when]
            elif when < cell[FIRST]:
                cell[FIRST] = when
            elif when > cell[LAST]:
                cell[LAST] = when
            if event.previous is None:
                cell[REQUESTS] += 1
            cell[INPUT] += usage.input_tokens
            cell[OUTPUT] += usage.output_tokens
            cell[CACHE_READ] += usage.cache_read_tokens
            cell[CACHE_WRITE_5M] += usage.cache_write_5m_tokens
            cell[CACHE_WRITE_1H] += usage.cache_write_1h_tokens
            cell[REASONING] += usage.reasoning_tokens
            cell[COST] += cost


def merge(into: Cells, cells: Cells) -> None:
    """Add `cells` to `into`."""
    for key, values in cells.items():
        cell = into.get(key)
        if cell is None:
            into[key] = list(values)
            continue
        for field in range(SUMS):
            cell[field] += values[field]
        if values[FIRST] < cell[FIRST]:
            cell[FIRST] = values[FIRST]
        if values[LAST] > cell[LAST]:
            cell[LAST] = values[LAST]
