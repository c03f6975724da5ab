"""What a session's usage would have cost on every other model in the pricing table.

A session row keeps totals, not each request, so the comparison prices the session's
*average request* on each model and scales the session's real cost by the ratio to
its own model: its own model's line is then exactly what it cost, and every other
line is what the same token mix costs there (long-context tiers judged on the
average prompt). Models with the same price share a line, named by the newest.
Pure: the pricing table is data.
"""

from __future__ import annotations

from typing import NamedTuple

from aitop.events import Usage
from aitop.pricing import Pricer
from aitop.snapshot import SessionRow


class Comparison(NamedTuple):
    model: str
    cost_usd: float
    this: bool  # the session's own model
    same: int = 0  # how many more models (older ones) cost exactly the same


def compare(pricer: Pricer, row: SessionRow, when: float) -> list[Comparison]:
    """Every priced model of the session's model's vendor, cheapest first; empty when there
    is nothing to compare."""
    if not row.model or row.requests <= 0 or row.cost_usd <= 0:
        return []
    n = row.requests
    average = Usage(
        input_tokens=round(row.input_tokens / n),
        output_tokens=round(row.output_tokens / n),
        cache_read_tokens=round(row.cache_read_tokens / n),
        cache_write_5m_tokens=round(row.cache_write_tokens / n),
    )
    own = pricer.cost_pico(row.model, average, when)
    if own <= 0:
        return []
    info = pricer.resolve(row.model)
    own_id = info.id
    by_cost: dict[int, list[str]] = {}  # pico-dollars of the average request -> models
    # the models of its own vendor (all of them for a model of no known vendor), newest
    # first: the first of a price names it
    for model in pricer.model_ids(info.vendor):
        by_cost.setdefault(pricer.cost_pico(model, average, when), []).append(model)
    out = []
    for pico, models in by_cost.items():
        this = own_id in models
        name = own_id if this else models[0]
        out.append(Comparison(name, row.cost_usd * pico / own, this, len(models) - 1))
    if not any(c.this for c in out):
        out.append(Comparison(row.model, row.cost_usd, True))  # estimated: not in the table
    out.sort(key=lambda c: (c.cost_usd, c.model))
    return out
