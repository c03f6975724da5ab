"""The monitor's budgets: today's, this week's and this month's spend, live.

The spend of the requests made before the monitor started comes from the agents' logs
since the first day any budget counts from: history.Reading, the providers' own readers
(the report's), read in slices by the monitor's loop when it has nothing else to do, so
the first frame never waits for it (the header says "counting…" until it is done). The
requests made after the start are counted from the live events, as the windows are. The
loop owns this object: no thread touches it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aitop import events as ev
from aitop.aggregate import priced
from aitop.budgets import Budgets, Spend, earliest_day, rows
from aitop.history import Reading, find
from aitop.periods import Zone
from aitop.pricing import Pricer
from aitop.providers.base import History
from aitop.providers.dedup import Dedup
from aitop.snapshot import BudgetRow

SLICE_BYTES = 1 << 20


class BudgetWatch:
    def __init__(
        self,
        budgets: Budgets,
        first_weekday: int,
        zone: Zone,
        pricer: Pricer,
        sources: Mapping[str, History],
        start: float,
    ) -> None:
        self.budgets = budgets
        self.first_weekday = first_weekday
        self.zone = zone
        self.pricer = pricer
        self.sources = sources
        self.start = start  # the logs count what came before it, the live events the rest
        self.spend = Spend()
        self._reading: Reading | None = None
        self._first_day: int | None = None  # of the periods being counted from the logs
        self.counting = budgets.configured()

    def pending(self) -> bool:
        return self.counting

    def work(self, now: float, budget: int = SLICE_BYTES) -> None:
        """One slice of the start-up reading: first the list of files, then their bytes."""
        if not self.counting:
            return
        if self._reading is None:
            self._first_day = earliest_day(
                self.budgets, self.zone.day(self.start), self.first_weekday
            )
            since = None if self._first_day is None else self.zone.start(self._first_day)
            files = find(self.sources, since).files if since is not None else []
            self._reading = Reading(self.sources, files, lambda _agent: Dedup(limit=None))
            return
        for _, events in self._reading.work(now, budget):
            self._count(events, before_start=True)
        if self._reading.done():
            self._reading = None
            self.counting = False

    def live(self, events: Iterable[ev.Event]) -> None:
        """Requests the live providers read: those made since the start count."""
        self._count(events, before_start=False)

    def _count(self, events: Iterable[ev.Event], *, before_start: bool) -> None:
        for event in events:
            if type(event) is not ev.Request:
                continue
            when = event.session.time
            if (when < self.start) != before_start:
                continue
            day = self.zone.day(when)
            if before_start and self._first_day is not None and day < self._first_day:
                continue  # older than every period: no budget counts it
            _, cost = priced(self.pricer, event)
            self.spend.add(day, event.session.agent, cost)

    def rows(self, now: float) -> list[BudgetRow]:
        today = self.zone.day(now)
        first = earliest_day(self.budgets, today, self.first_weekday)
        if first is not None and not self.counting:
            self.spend.drop_before(first)
        return rows(self.budgets, self.spend, today, self.first_weekday, self.counting)
