"""Pricing: model + usage + request time -> cost in pico-dollars.

The table is data (`pricing.toml` next to this module, figures and sources in its comments).
Money is an int number of pico-dollars (1e-12 USD): every rate in the table is a whole
number of pico-dollars per token, so sums over millions of requests stay exact.

Rules (DESIGN.md "Accounting" rule 4):
* model ids are normalised (`[1m]`, Bedrock/Vertex decorations, dates) before lookup;
* a long-context tier re-prices ALL tokens of a request whose prompt is strictly above the
  tier's threshold (genai-prices' `TieredPrices` does `total_input_tokens > tier.start`);
* prices change on dates: each model has price periods, picked by the request's own time;
* `speed == "fast"` and `inference_geo == "us"` multiply every rate (per-model factors);
* an unknown model is priced by its family's newest model and marked estimated, never $0.
"""

from __future__ import annotations

import datetime
import math
import os
import re
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Literal, NamedTuple

import msgspec
from msgspec import Meta, Struct

from aitop.events import Usage

PICO_PER_USD = 10**12
_PICO_PER_USD_PER_MTOK = 10**6  # $1 per million tokens = 1e6 pico-dollars per token

FAMILIES = ("opus", "sonnet", "haiku", "fable", "mythos")
_DEFAULT_FAMILY = "sonnet"  # what a model with no recognisable family is priced as
_DEFAULT_CONTEXT_WINDOW = 200_000
_ONE_MILLION = 1_000_000
_MAX_CACHED_IDS = 4096  # model strings come from transcripts: few, but never trust a count

Rate = Annotated[float, Meta(ge=0)]  # USD per million tokens
Family = Literal["opus", "sonnet", "haiku", "fable", "mythos"]


def _check_finite(values: tuple[float | None, ...]) -> None:
    # TOML and config files can spell `inf` and `nan`; Meta(ge=0) lets inf through.
    if not all(v is None or math.isfinite(v) for v in values):
        raise ValueError("prices must be finite")


# --- the user's overrides (config.toml) ---------------------------------------------------


class ModelPrice(Struct, forbid_unknown_fields=True):
    """A user's price for one model, USD per million tokens (flat: no tier, no dates)."""

    input: Rate
    output: Rate
    cache_write_5m: Rate | None = None  # default 1.25 x input
    cache_write_1h: Rate | None = None  # default 2 x input
    cache_read: Rate | None = None  # default 0.1 x input
    context_window: Annotated[int, Meta(gt=0)] | None = None  # default: the table's, or 200K

    def __post_init__(self) -> None:
        _check_finite(
            (self.input, self.output, self.cache_write_5m, self.cache_write_1h, self.cache_read)
        )


# --- the bundled table (pricing.toml): our own file, so unknown fields are errors ------------


class _TierData(Struct, forbid_unknown_fields=True, frozen=True):
    above: Annotated[int, Meta(gt=0)]  # prompt tokens strictly above this use the tier
    input: Rate
    output: Rate
    cache_write_5m: Rate
    cache_write_1h: Rate
    cache_read: Rate

    def __post_init__(self) -> None:
        _check_finite(
            (self.input, self.output, self.cache_write_5m, self.cache_write_1h, self.cache_read)
        )


class _PeriodData(Struct, forbid_unknown_fields=True, frozen=True):
    input: Rate
    output: Rate
    cache_write_5m: Rate
    cache_write_1h: Rate
    cache_read: Rate
    since: datetime.date | None = None  # 00:00 UTC; None on a model's first period only
    tier: _TierData | None = None

    def __post_init__(self) -> None:
        _check_finite(
            (self.input, self.output, self.cache_write_5m, self.cache_write_1h, self.cache_read)
        )


class _ModelData(Struct, forbid_unknown_fields=True, frozen=True):
    id: str
    name: str
    family: Family
    context_window: Annotated[int, Meta(gt=0)]
    price: list[_PeriodData] = []
    same_as: str | None = None
    aliases: list[str] = []
    fast: Annotated[float, Meta(ge=1)] | None = None
    us_geo: Annotated[float, Meta(ge=1)] | None = None


class _TableData(Struct, forbid_unknown_fields=True, frozen=True):
    date: datetime.date
    model: list[_ModelData]


# --- the public result of a lookup -------------------------------------------------------


class ModelInfo(Struct, frozen=True):
    id: str  # canonical id in the table; for an estimated model, its normalised id
    name: str  # display name
    family: str | None
    context_window: int  # tokens
    estimated: bool  # not in the table: priced by its family's newest model
    priced_as: str | None = None  # for an estimated model: the table id whose rates it uses


# --- compiled prices: ints, multipliers folded in ------------------------------------------


class _Rates(NamedTuple):
    """Pico-dollars per token."""

    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int


class _Period(NamedTuple):
    since: float  # Unix seconds; -inf for the first period
    rates: _Rates
    tier_above: int  # _NO_TIER when the period has none
    tier: _Rates


_NO_TIER = 2**63  # more prompt tokens than any request can have


_Periods = tuple[_Period, ...]


class _Entry(NamedTuple):
    info: ModelInfo
    # indexed by 2 * fast + us: plain, us, fast, fast + us
    variants: tuple[_Periods, _Periods, _Periods, _Periods]


class _Model(NamedTuple):
    """A model as the table (plus overrides) says, before compiling."""

    info: ModelInfo
    aliases: tuple[str, ...]
    periods: tuple[_PeriodData, ...]
    fast: float
    us_geo: float


def _pico(usd_per_mtok: float, multiplier: float) -> int:
    # The true value is a whole number of pico-dollars (rates have at most 6 decimals), and
    # a float product is within a few ulps of it, so round() lands on it exactly; the tests
    # check every compiled rate against Decimal arithmetic.
    return round(usd_per_mtok * multiplier * _PICO_PER_USD_PER_MTOK)


def _rates(r: _PeriodData | _TierData, multiplier: float) -> _Rates:
    return _Rates(
        _pico(r.input, multiplier),
        _pico(r.output, multiplier),
        _pico(r.cache_write_5m, multiplier),
        _pico(r.cache_write_1h, multiplier),
        _pico(r.cache_read, multiplier),
    )


def _since(day: datetime.date | None) -> float:
    if day is None:
        return -math.inf
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC).timestamp()


def _compile(periods: tuple[_PeriodData, ...], multiplier: float) -> _Periods:
    out = []
    for p in periods:
        rates = _rates(p, multiplier)
        if p.tier is None:
            out.append(_Period(_since(p.since), rates, _NO_TIER, rates))
        else:
            out.append(_Period(_since(p.since), rates, p.tier.above, _rates(p.tier, multiplier)))
    return tuple(out)


def _entry(model: _Model) -> _Entry:
    f, us = model.fast, model.us_geo
    return _Entry(
        model.info,
        (
            _compile(model.periods, 1.0),
            _compile(model.periods, us),
            _compile(model.periods, f),
            _compile(model.periods, f * us),
        ),
    )


# --- model ids ---------------------------------------------------------------------------

_CONTEXT_SUFFIX = re.compile(r"\[\d+[km]\]$")  # Claude Code's selection suffix: [1m]
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z-]+\.)?anthropic\.")  # us./eu./apac./global.anthropic.
_BEDROCK_VERSION = re.compile(r"-v\d+(?::[0-9a-z]+)*$")  # -v1, -v1:0, -v1:0:200k
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")
_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")  # claude-3.5-sonnet, claude-opus-4.6
_FAMILY = re.compile("|".join(FAMILIES))
# `claude-4-5-opus` <-> `claude-opus-4-5`: gateways spell both orders.
_VERSION_FIRST = re.compile(rf"^claude-(\d+(?:-\d+)?)-({'|'.join(FAMILIES)})$")
_FAMILY_FIRST = re.compile(rf"^claude-({'|'.join(FAMILIES)})-(\d+(?:-\d+)?)$")


def _normalise_once(model: str) -> str:
    s = model.strip().lower()
    s = _CONTEXT_SUFFIX.sub("", s)
    s = s.rpartition("/")[2]  # anthropic/…, bedrock/…, vertex_ai/…, an ARN's …/profile-id
    s = _BEDROCK_PREFIX.sub("", s)
    s = s.partition("@")[0]  # Vertex: claude-opus-4-6@default, claude-sonnet-4-5@20250929
    s = _BEDROCK_VERSION.sub("", s)
    s = _DATE_SUFFIX.sub("", s)
    return _VERSION_DOT.sub("-", s)


def normalise_model(model: str) -> str:
    """The table's spelling of a model id: `us.anthropic.claude-opus-4-6-v1` -> `claude-opus-4-6`.

    Repeated until nothing changes, so that it is idempotent whatever the input. Every pass
    that changes something shortens the string or removes a dot, so this terminates.
    """
    while True:
        s = _normalise_once(model)
        if s == model:
            return s
        model = s


def _swapped(model_id: str) -> str | None:
    if m := _VERSION_FIRST.match(model_id):
        return f"claude-{m[2]}-{m[1]}"
    if m := _FAMILY_FIRST.match(model_id):
        return f"claude-{m[2]}-{m[1]}"
    return None


def _family(model_id: str) -> str | None:
    m = _FAMILY.search(model_id)
    return m[0] if m else None


# --- the table ----------------------------------------------------------------------------

# os.path, not pathlib or importlib.resources: this loads at monitor start-up
_TABLE_PATH = os.path.join(os.path.dirname(__file__), "pricing.toml")


@cache
def _bundled() -> tuple[str, tuple[tuple[_Model, _Entry], ...]]:
    """The bundled table, parsed, checked and compiled once per process."""
    with open(_TABLE_PATH, "rb") as f:
        table = msgspec.toml.decode(f.read(), type=_TableData)
    return table.date.isoformat(), tuple((m, _entry(m)) for m in _models_of(table))


def _models_of(table: _TableData) -> list[_Model]:
    by_id = {m.id: m for m in table.model}
    if len(by_id) != len(table.model):
        raise ValueError("pricing.toml: duplicate model id")
    models = []
    for m in table.model:
        if any(normalise_model(i) != i for i in (m.id, *m.aliases)):
            raise ValueError(f"pricing.toml: {m.id}: ids must be in normalised form")
        source = m
        if m.same_as is not None:
            source = by_id[m.same_as]
            if m.price or m.fast or m.us_geo or source.same_as is not None:
                raise ValueError(f"pricing.toml: {m.id}: same_as takes all prices from one model")
        periods = tuple(source.price)
        starts = [p.since for p in periods]
        if not periods or starts[0] is not None:
            raise ValueError(f"pricing.toml: {m.id}: a first price period with no `since`")
        later = [d for d in starts[1:] if d is not None]
        if len(later) != len(periods) - 1 or later != sorted(set(later)):
            raise ValueError(f"pricing.toml: {m.id}: `since` dates must increase")
        info = ModelInfo(m.id, m.name, m.family, m.context_window, estimated=False)
        models.append(
            _Model(info, tuple(m.aliases), periods, source.fast or 1.0, source.us_geo or 1.0)
        )
    return models


def _overridden(model: _Model | None, model_id: str, price: ModelPrice) -> _Model:
    """`model` (or a new model `model_id`) at the user's flat price.

    A replaced model keeps its name, family, aliases and its fast / US-geo multipliers: those
    describe the service, the user's figures its base rates.
    """
    period = _PeriodData(
        input=price.input,
        output=price.output,
        cache_write_5m=price.input * 1.25 if price.cache_write_5m is None else price.cache_write_5m,
        cache_write_1h=price.input * 2 if price.cache_write_1h is None else price.cache_write_1h,
        cache_read=price.input * 0.1 if price.cache_read is None else price.cache_read,
    )
    if model is None:
        window = price.context_window or _DEFAULT_CONTEXT_WINDOW
        info = ModelInfo(model_id, model_id, _family(model_id), window, estimated=False)
        return _Model(info, (), (period,), 1.0, 1.0)
    window = price.context_window or model.info.context_window
    info = ModelInfo(model.info.id, model.info.name, model.info.family, window, estimated=False)
    return model._replace(info=info, periods=(period,))


class Pricer:
    """The pricing table plus the user's overrides; looks up and prices per request."""

    date: str  # the day the table's prices were gathered, ISO 8601

    def __init__(self, date: str, entries: list[tuple[_Model, _Entry]]) -> None:
        self.date = date
        self._ids = [model.info.id for model, _ in entries]
        self._by_id: dict[str, _Entry] = {}
        self._newest: dict[str, _Entry] = {}  # family -> its first (newest) model
        for model, entry in entries:
            for model_id in (model.info.id, *model.aliases):
                self._by_id[model_id] = entry
            if model.info.family is not None:
                self._newest.setdefault(model.info.family, entry)
        # raw model string -> entry: normalising costs a few regexes, a request a dict hit
        self._cache: dict[str, _Entry] = {}

    @classmethod
    def load(cls, overrides: Mapping[str, ModelPrice] | None = None) -> Pricer:
        """The bundled table with `overrides` applied: an override replaces the model its id
        names (normalised) or adds a new one; either way it is not estimated."""
        date, bundled = _bundled()
        entries = list(bundled)
        if overrides:
            index = {i: n for n, (m, _) in enumerate(entries) for i in (m.info.id, *m.aliases)}
            for key, price in overrides.items():
                model_id = normalise_model(key)
                n = index.get(model_id)
                if n is None and (swapped := _swapped(model_id)) is not None:
                    n = index.get(swapped)
                if n is None:
                    model = _overridden(None, model_id, price)
                    index[model_id] = len(entries)
                    entries.append((model, _entry(model)))
                else:
                    model = _overridden(entries[n][0], model_id, price)
                    entries[n] = (model, _entry(model))
        return cls(date, entries)

    def _find(self, model_id: str) -> _Entry | None:
        entry = self._by_id.get(model_id)
        if entry is None and (swapped := _swapped(model_id)) is not None:
            entry = self._by_id.get(swapped)
        return entry

    def _lookup(self, model: str) -> _Entry:
        entry = self._cache.get(model)
        if entry is not None:
            return entry
        model_id = normalise_model(model)
        entry = self._find(model_id)
        if entry is None:
            family = _family(model_id)
            base = self._newest.get(family or _DEFAULT_FAMILY) or self._newest[_DEFAULT_FAMILY]
            info = ModelInfo(
                model_id,
                model_id,
                family,
                base.info.context_window,
                estimated=True,
                priced_as=base.info.id,
            )
            entry = _Entry(info, base.variants)
        if len(self._cache) >= _MAX_CACHED_IDS:
            self._cache.clear()
        self._cache[model] = entry
        return entry

    def resolve(self, model: str) -> ModelInfo:
        """The table's model for `model`, or an estimate by family (`estimated=True`)."""
        return self._lookup(model).info

    def cost_pico(
        self,
        model: str,
        usage: Usage,
        when: float,
        speed: str | None = None,
        inference_geo: str | None = None,
    ) -> int:
        """What one request cost, in pico-dollars; `when` is its Unix time (UTC)."""
        periods = self._lookup(model).variants[2 * (speed == "fast") + (inference_geo == "us")]
        for period in reversed(periods):
            if when >= period.since:
                break
        u = usage
        prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_5m_tokens
        prompt += u.cache_write_1h_tokens
        r = period.tier if prompt > period.tier_above else period.rates
        return (
            u.input_tokens * r.input
            + u.output_tokens * r.output
            + u.cache_write_5m_tokens * r.cache_write_5m
            + u.cache_write_1h_tokens * r.cache_write_1h
            + u.cache_read_tokens * r.cache_read
        )

    def context_window(
        self, model: str, selected: str | None = None, observed_tokens: int = 0
    ) -> int:
        """The context window `model` runs with, in tokens.

        `selected` is the model the user picked in Claude Code: a `[1m]` suffix means the
        1M window. A request seen using more than the table's window was on the 1M beta.
        """
        window = self._lookup(model).info.context_window
        if selected is not None and selected.strip().lower().endswith("[1m]"):
            window = max(window, _ONE_MILLION)
        if observed_tokens > window:
            window = max(_ONE_MILLION, observed_tokens)
        return window

    def model_ids(self) -> list[str]:
        """Canonical ids of every priced model, newest first (the table's order; models
        added by overrides last)."""
        return list(self._ids)
