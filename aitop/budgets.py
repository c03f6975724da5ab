"""Budgets: today's, this week's and this month's spend against the limits of
config.toml's `[budgets]`, for all agents together and per agent. Pure: the time and
the zone are passed in.

Spend is kept per local day and agent (`Spend`, exact pico-dollars). The monitor fills it
from the agents' logs since the start of the longest budget period (read in slices in
its loop, app.py) for the requests made before it started, and from the live requests
after. Days, weeks and months are in local time; a week starts on `week_start`.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from aitop import periods
from aitop.pricing import PICO_PER_USD
from aitop.snapshot import BudgetRow

Usd = Annotated[float, Meta(ge=0)]
PERIODS = ("daily", "weekly", "monthly")
WORDS = {"daily": "today", "weekly": "this week", "monthly": "this month"}
WARN_AT = 0.8  # of a budget: a warning; at 1.0, critical


class Limits(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Spend limits in US dollars per period; 0: none."""

    daily_usd: Usd = 0.0
    weekly_usd: Usd = 0.0
    monthly_usd: Usd = 0.0

    def limit(self, period: str) -> float:
        limit: float = getattr(self, f"{period}_usd")
        return limit

    def any(self) -> bool:
        return any(self.limit(period) for period in PERIODS)


class Budgets(Limits, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The `[budgets]` table: limits for all agents together, and `[budgets.agents.NAME]`
    for one agent."""

    agents: dict[str, Limits] = {}

    def configured(self) -> bool:
        return self.any() or any(limits.any() for limits in self.agents.values())

    def periods(self) -> list[str]:
        """The periods some budget is set for."""
        every = [self, *self.agents.values()]
        return [period for period in PERIODS if any(b.limit(period) for b in every)]


def first_day(period: str, today: int, first_weekday: int) -> int:
    """The first day of the `period` that `today` is in."""
    if period == "daily":
        return today
    if period == "weekly":
        return periods.week(today, first_weekday)
    return periods.month(today)


def earliest_day(budgets: Budgets, today: int, first_weekday: int) -> int | None:
    """The first day any budget counts from (a week can begin in the month before)."""
    days = [first_day(period, today, first_weekday) for period in budgets.periods()]
    return min(days) if days else None


class Spend:
    """Pico-dollars spent per (local day, agent)."""

    def __init__(self) -> None:
        self.days: dict[tuple[int, str], int] = {}

    def add(self, day: int, agent: str, pico: int) -> None:
        key = (day, agent)
        self.days[key] = self.days.get(key, 0) + pico

    def total(self, since_day: int, agent: str | None = None) -> int:
        return sum(
            pico
            for (day, who), pico in self.days.items()
            if day >= since_day and (agent is None or who == agent)
        )

    def drop_before(self, day: int) -> None:
        """Forget the days no budget counts any more (memory stays flat)."""
        for key in [key for key in self.days if key[0] < day]:
            del self.days[key]


def rows(
    budgets: Budgets, spend: Spend, today: int, first_weekday: int, counting: bool
) -> list[BudgetRow]:
    """Every budget set, with what has been spent in its period so far. `counting`: the
    logs are still being read, so the spend shown is the part counted yet."""
    out: list[BudgetRow] = []
    owners: list[tuple[str | None, Limits]] = [(None, budgets), *sorted(budgets.agents.items())]
    for agent, limits in owners:
        for period in PERIODS:
            limit = limits.limit(period)
            if not limit:
                continue
            start = first_day(period, today, first_weekday)
            spent = spend.total(start, agent) / PICO_PER_USD
            out.append(
                BudgetRow(
                    period=period,
                    agent=agent,
                    start=periods.iso_date(start),
                    spent_usd=spent,
                    limit_usd=limit,
                    counting=counting,
                )
            )
    return out
