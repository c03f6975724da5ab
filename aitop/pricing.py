"""Pricing: model + usage + request time -> cost in pico-dollars, per vendor.

The table is data (`pricing.toml` next to this module, figures and sources in its comments).
Money is an int number of pico-dollars (1e-12 USD): every rate in the table is a whole
number of pico-dollars per token, so sums over millions of requests stay exact.

The usage priced is aitop's normalised one (events.Usage): `input_tokens` are the
*uncached* prompt tokens, cache reads and writes are counted apart, and `output_tokens`
include reasoning. Providers convert their agent's fields before pricing (OpenAI's
`input_tokens` include `cached_input_tokens`; Gemini's prompt count includes cached
tokens). Only these fields are priced, so a reasoning count shown apart is never paid twice.

Rules (DESIGN.md "Accounting" rule 4):
* model ids are normalised (`[1m]`, Bedrock/Vertex decorations, dates) before lookup;
* every model belongs to a vendor (Anthropic, OpenAI, Google) with that vendor's rules:
  Anthropic prices 5-minute and 1-hour cache writes; OpenAI and Google bill a cache write
  as input unless the model has a cache-write price, and an uncached model reads at the
  input price;
* a long-context tier re-prices ALL tokens of a request whose prompt is strictly above the
  tier's threshold (genai-prices' `TieredPrices` does `total_input_tokens > tier.start`);
* prices change on dates: each model has price periods, picked by the request's own time;
* `speed == "fast"` and `inference_geo == "us"` (Anthropic) and an OpenAI `service_tier`
  of "priority" (also spelt "fast") or "flex" change the price: per-model multipliers, or
  the vendor's own figures for that tier where they are not a plain multiple;
* an unknown model is priced by its own vendor's family's newest model and marked
  estimated, never as another vendor's model and never $0. The vendor is the caller's
  when it says (`vendor=`), else read from the id (claude-*, gpt-*/o<digit>*/codex-*,
  gemini-*); an id of no known vendor is priced as the newest Sonnet, estimated;
* a price overlay (`aitop prices --update`, see price_overlay) adds the models the table
  lacks, and for a model the table has, starts a new price period on the day it was
  fetched if that day is after the table's date and its figures differ (a long-context
  tier it leaves out is kept: LiteLLM omits some); earlier requests keep the table's
  prices and the table's later dated changes still apply. The user's config wins over
  both.
"""

from __future__ import annotations

import datetime
import math
import os
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Annotated, Literal, NamedTuple

import msgspec
from msgspec import Meta, Struct

from aitop import price_overlay
from aitop.events import Usage

PICO_PER_USD = 10**12
_PICO_PER_USD_PER_MTOK = 10**6  # $1 per million tokens = 1e6 pico-dollars per token

VENDORS = ("anthropic", "openai", "google")
FAMILIES = ("opus", "sonnet", "haiku", "fable", "mythos")  # Anthropic's
OPENAI_FAMILIES = ("gpt", "sol", "terra", "luna", "astra", "pro", "mini", "nano")
GOOGLE_FAMILIES = ("pro", "flash", "flash-lite", "argon")
# what a model of a vendor but of no recognisable family is priced as
DEFAULT_FAMILY = {"anthropic": "sonnet", "openai": "gpt", "google": "pro"}
_DEFAULT_CONTEXT_WINDOW = 200_000
_MAX_CACHED_IDS = 4096  # model strings come from transcripts: few, but never trust a count

Rate = Annotated[float, Meta(ge=0)]  # USD per million tokens
Vendor = Literal["anthropic", "openai", "google"]
Family = Literal[
    "opus", "sonnet", "haiku", "fable", "mythos",
    "gpt", "sol", "terra", "luna", "astra", "pro", "mini", "nano",
    "flash", "flash-lite", "argon",
]  # fmt: skip
Multiplier = Annotated[float, Meta(gt=0)]

# service tiers -> offset into an entry's variants (4 per tier: plain, us, fast, fast + us)
_STANDARD, _PRIORITY, _FLEX = 0, 1, 2
_SERVICE_OFFSET = {"priority": 4, "fast": 4, "flex": 8}  # OpenAI renamed priority "fast"


def _check_finite(values: tuple[float | None, ...]) -> None:
    # TOML and config files can spell `inf` and `nan`; Meta(ge=0) lets inf through.
    if not all(v is None or math.isfinite(v) for v in values):
        raise ValueError("prices must be finite")


# --- the user's overrides (config.toml) ---------------------------------------------------


class ModelPrice(Struct, forbid_unknown_fields=True):
    """A user's price for one model, USD per million tokens (flat: no tier, no dates).

    Cache defaults follow the model's vendor: for Anthropic (and a model of no known
    vendor) 5-minute writes 1.25x, 1-hour writes 2x and reads 0.1x input; for OpenAI and
    Google writes at the input price and reads at 0.1x input."""

    input: Rate
    output: Rate
    cache_write_5m: Rate | None = None
    cache_write_1h: Rate | None = None
    cache_read: Rate | None = None
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
    cache_read: Rate | None = None
    cache_write_5m: Rate | None = None  # Anthropic
    cache_write_1h: Rate | None = None  # Anthropic
    cache_write: Rate | None = None  # OpenAI, Google: one cache-write price

    def __post_init__(self) -> None:
        _check_finite(
            (
                self.input,
                self.output,
                self.cache_read,
                self.cache_write_5m,
                self.cache_write_1h,
                self.cache_write,
            )
        )


class _PeriodData(Struct, forbid_unknown_fields=True, frozen=True):
    input: Rate
    output: Rate
    cache_read: Rate | None = None
    cache_write_5m: Rate | None = None
    cache_write_1h: Rate | None = None
    cache_write: Rate | None = None
    since: datetime.date | None = None  # 00:00 UTC; None on a book's first period only
    tier: _TierData | None = None

    def __post_init__(self) -> None:
        _check_finite(
            (
                self.input,
                self.output,
                self.cache_read,
                self.cache_write_5m,
                self.cache_write_1h,
                self.cache_write,
            )
        )


class _ModelData(Struct, forbid_unknown_fields=True, frozen=True):
    id: str
    name: str
    vendor: Vendor
    family: Family
    context_window: Annotated[int, Meta(gt=0)]
    price: list[_PeriodData] = []
    priority_price: list[_PeriodData] = []  # the vendor's own priority figures
    flex_price: list[_PeriodData] = []
    same_as: str | None = None
    aliases: list[str] = []
    fast: Annotated[float, Meta(ge=1)] | None = None
    us_geo: Annotated[float, Meta(ge=1)] | None = None
    priority: Multiplier | None = None  # of every standard rate
    flex: Multiplier | None = None


class _TableData(Struct, forbid_unknown_fields=True, frozen=True):
    date: datetime.date
    model: list[_ModelData]
    source: str = ""


# --- the public result of a lookup -------------------------------------------------------


class ModelInfo(Struct, frozen=True):
    id: str  # canonical id in the table; for an estimated model, its normalised id
    name: str  # display name
    family: str | None
    context_window: int  # tokens
    estimated: bool  # not in the table: priced by its family's newest model
    priced_as: str | None = None  # for an estimated model: the table id whose rates it uses
    vendor: str | None = None  # "anthropic", "openai", "google"; None: not known


class Rates(NamedTuple):
    """Pico-dollars per token."""

    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int


class ListedPrice(NamedTuple):
    """A model's standard prices at one time, as `aitop prices` shows them."""

    info: ModelInfo
    source: str  # "table", "overlay" (fetched by `aitop prices --update`) or "config"
    since: datetime.date | None  # when the period in force began; None: always
    rates: Rates
    tier_above: int | None  # a prompt above this many tokens prices every token at `tier`
    tier: Rates | None
    priority: Rates | None  # the service tier's rates where they differ from standard
    flex: Rates | None


class OverlayReport(NamedTuple):
    """What became of the price overlay, for `aitop prices` to say."""

    path: str
    state: Literal["used", "older", "ignored"]  # older: only for models the table lacks
    reason: str = ""  # why it was ignored
    fetched: datetime.datetime | None = None
    source: str = ""
    models: int = 0
    changed: tuple[str, ...] = ()  # table models given a new price period
    added: int = 0  # models the table lacks


# --- prices before compiling: USD per million tokens, every field resolved ---------------


class _RateData(NamedTuple):
    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float


class _Point(NamedTuple):
    """A price period: from `since` (Unix seconds) until the next one."""

    since: float
    rates: _RateData
    tier_above: int  # _NO_TIER when the period has none
    tier: _RateData
    multiplier: float  # of every rate (a service tier derived from the standard prices)


_NO_TIER = 2**63  # more prompt tokens than any request can have

_Book = tuple[_Point, ...]  # one service tier's periods, oldest first


class _Model(NamedTuple):
    """A model as the table (plus overlay and overrides) says, before compiling."""

    info: ModelInfo
    aliases: tuple[str, ...]
    books: tuple[_Book, _Book, _Book]  # standard, priority, flex
    fast: float
    us_geo: float
    # the priority and flex multipliers their books were derived with; None: the
    # vendor's own figures
    service: tuple[float | None, float | None]
    source: str  # "table", "overlay", "config"
    listed: bool  # in model_ids(): the table's and the user's models


# --- compiled prices: ints, multipliers folded in ------------------------------------------


class _Period(NamedTuple):
    since: float  # Unix seconds; -inf for the first period
    rates: Rates
    tier_above: int  # _NO_TIER when the period has none
    tier: Rates


_Periods = tuple[_Period, ...]


class _Entry(NamedTuple):
    info: ModelInfo
    # indexed by 4 * service tier + 2 * fast + us: standard, priority, flex, each plain,
    # us, fast, fast + us
    variants: tuple[_Periods, ...]


def _pico(usd_per_mtok: float, multiplier: float) -> int:
    # The true value is a whole number of pico-dollars (rates have at most 6 decimals), and
    # a float product is within a few ulps of it, so round() lands on it exactly; the tests
    # check every compiled rate against Decimal arithmetic.
    return round(usd_per_mtok * multiplier * _PICO_PER_USD_PER_MTOK)


def _rates(r: _RateData, multiplier: float) -> Rates:
    return Rates(
        _pico(r.input, multiplier),
        _pico(r.output, multiplier),
        _pico(r.cache_write_5m, multiplier),
        _pico(r.cache_write_1h, multiplier),
        _pico(r.cache_read, multiplier),
    )


def _compile(book: _Book, multiplier: float) -> _Periods:
    out = []
    for p in book:
        m = p.multiplier * multiplier
        rates = _rates(p.rates, m)
        tier = rates if p.tier_above == _NO_TIER else _rates(p.tier, m)
        out.append(_Period(p.since, rates, p.tier_above, tier))
    return tuple(out)


def _entry(model: _Model) -> _Entry:
    compiled: dict[tuple[int, float], _Periods] = {}
    variants = []
    f, us = model.fast, model.us_geo
    for service in (_STANDARD, _PRIORITY, _FLEX):
        for multiplier in (1.0, us, f, f * us):
            key = (service, multiplier)
            if key not in compiled:
                compiled[key] = _compile(model.books[service], multiplier)
            variants.append(compiled[key])
    return _Entry(model.info, tuple(variants))


# --- model ids ---------------------------------------------------------------------------

_CONTEXT_SUFFIX = re.compile(r"\[\d+[km]\]$")  # Claude Code's selection suffix: [1m]
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z-]+\.)?anthropic\.")  # us./eu./apac./global.anthropic.
_BEDROCK_VERSION = re.compile(r"-v\d+(?::[0-9a-z]+)*$")  # -v1, -v1:0, -v1:0:200k
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")
_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")  # claude-3.5-sonnet, claude-opus-4.6
# OpenAI's and Google's own ids keep the dot (gpt-5.1, gemini-2.5-pro); gateways also
# spell gpt-5-1 (genai-prices matches both)
_DOTTED = ("gpt-", "gemini-")
_GPT_VERSION_DASH = re.compile(r"^gpt-(\d+)-(\d)(?=-|$)")
_FAMILY = re.compile("|".join(FAMILIES))
_OPENAI_FAMILY = re.compile(r"-(sol|terra|luna|astra|pro|mini|nano)(?=-|$)")
_GOOGLE_FAMILY = re.compile(r"-(flash-lite|flash|pro|argon)(?=-|$)")
_OPENAI_ID = re.compile(r"^(?:gpt-|chatgpt-|codex-|o\d)")
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
    if s.startswith(_DOTTED):
        return _GPT_VERSION_DASH.sub(r"gpt-\1.\2", s)
    return _VERSION_DOT.sub("-", s)


def normalise_model(model: str) -> str:
    """The table's spelling of a model id: `us.anthropic.claude-opus-4-6-v1` -> `claude-opus-4-6`.

    Repeated until nothing changes, so that it is idempotent whatever the input. Every pass
    that changes something shortens the string, or turns dots into dashes (other ids) or
    dashes into dots (gpt- and gemini- ids, a prefix no such change alters), so this
    terminates.
    """
    while True:
        s = _normalise_once(model)
        if s == model:
            return s
        model = s


def vendor_of(model_id: str) -> str | None:
    """The vendor a normalised model id names, None when it names none."""
    if model_id.startswith("claude"):
        return "anthropic"
    if _OPENAI_ID.match(model_id):
        return "openai"
    if model_id.startswith("gemini-"):
        return "google"
    return None


def family_of(vendor: str | None, model_id: str) -> str | None:
    """The family of a normalised id within its vendor's line-up, None if it shows none.

    OpenAI's tiers are a word in the id (gpt-6.1-sol, gpt-5.4-mini, o4-mini); an id with
    none is the plain flagship line, "gpt" (gpt-5.5, gpt-5.1-codex-max, o3)."""
    if vendor == "openai":
        m = _OPENAI_FAMILY.search(model_id)
        return m[1] if m else "gpt"
    if vendor == "google":
        m = _GOOGLE_FAMILY.search(model_id)
        return m[1] if m else None
    m = _FAMILY.search(model_id)
    return m[0] if m else None


def _swapped(model_id: str) -> str | None:
    if m := _VERSION_FIRST.match(model_id):
        return f"claude-{m[2]}-{m[1]}"
    if m := _FAMILY_FIRST.match(model_id):
        return f"claude-{m[2]}-{m[1]}"
    return None


# --- the table ----------------------------------------------------------------------------

# os.path, not pathlib or importlib.resources: this loads at monitor start-up
_TABLE_PATH = os.path.join(os.path.dirname(__file__), "pricing.toml")


@cache
def _bundled() -> tuple[str, str, tuple[_Model, ...]]:
    """The bundled table, parsed and checked once per process: (date, source, models)."""
    with open(_TABLE_PATH, "rb") as f:
        table = msgspec.toml.decode(f.read(), type=_TableData)
    return table.date.isoformat(), table.source, tuple(_models_of(table))


def _since(day: datetime.date | None) -> float:
    if day is None:
        return -math.inf
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC).timestamp()


def _resolved(vendor: str, r: _PeriodData | _TierData, where: str) -> _RateData:
    """The five rates of a period or tier, by its vendor's rules."""
    if vendor == "anthropic":
        # every rate is data: 2026 models break the 0.1x read rule
        if r.cache_write is not None:
            raise ValueError(f"{where}: Anthropic prices cache_write_5m and cache_write_1h")
        if r.cache_read is None or r.cache_write_5m is None or r.cache_write_1h is None:
            raise ValueError(f"{where}: cache_read, cache_write_5m and cache_write_1h needed")
        return _RateData(r.input, r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read)
    if r.cache_write_5m is not None or r.cache_write_1h is not None:
        raise ValueError(f"{where}: {vendor} has one cache-write price: cache_write")
    # no cache-write price: a written token is billed as input; no cached price: no discount
    write = r.input if r.cache_write is None else r.cache_write
    read = r.input if r.cache_read is None else r.cache_read
    return _RateData(r.input, r.output, write, write, read)


def _book(vendor: str, periods: Iterable[_PeriodData], where: str) -> _Book:
    points = []
    for p in periods:
        rates = _resolved(vendor, p, where)
        if p.tier is None:
            points.append(_Point(_since(p.since), rates, _NO_TIER, rates, 1.0))
        else:
            tier = _resolved(vendor, p.tier, where)
            points.append(_Point(_since(p.since), rates, p.tier.above, tier, 1.0))
    starts = [p.since for p in periods]
    if not starts or starts[0] is not None:
        raise ValueError(f"{where}: a first price period with no `since`")
    later = [d for d in starts[1:] if d is not None]
    if len(later) != len(starts) - 1 or later != sorted(set(later)):
        raise ValueError(f"{where}: `since` dates must increase")
    return tuple(points)


def _scaled(book: _Book, multiplier: float) -> _Book:
    return tuple(p._replace(multiplier=multiplier) for p in book)


def _models_of(table: _TableData) -> list[_Model]:
    by_id = {m.id: m for m in table.model}
    if len(by_id) != len(table.model):
        raise ValueError("pricing.toml: duplicate model id")
    models = []
    for m in table.model:
        where = f"pricing.toml: {m.id}"
        if any(normalise_model(i) != i for i in (m.id, *m.aliases)):
            raise ValueError(f"{where}: ids must be in normalised form")
        if vendor_of(m.id) != m.vendor:
            raise ValueError(f"{where}: the id does not name vendor {m.vendor}")
        if family_of(m.vendor, m.id) != m.family:
            raise ValueError(f"{where}: the id does not name family {m.family}")
        source = m
        if m.same_as is not None:
            source = by_id[m.same_as]
            own = (m.price, m.priority_price, m.flex_price, m.fast, m.us_geo, m.priority, m.flex)
            if any(own) or source.same_as is not None or source.vendor != m.vendor:
                raise ValueError(f"{where}: same_as takes all prices from one model")
        standard = _book(m.vendor, source.price, where)
        books = [standard]
        service: list[float | None] = []
        for own_book, multiplier, name in (
            (source.priority_price, source.priority, "priority"),
            (source.flex_price, source.flex, "flex"),
        ):
            if own_book and multiplier is not None:
                raise ValueError(f"{where}: {name} is a multiplier or a price, not both")
            if own_book:
                books.append(_book(m.vendor, own_book, f"{where}: {name}_price"))
                service.append(None)
            else:
                books.append(_scaled(standard, multiplier or 1.0))
                service.append(multiplier or 1.0)
        info = ModelInfo(m.id, m.name, m.family, m.context_window, estimated=False, vendor=m.vendor)
        models.append(
            _Model(
                info,
                tuple(m.aliases),
                (books[0], books[1], books[2]),
                source.fast or 1.0,
                source.us_geo or 1.0,
                (service[0], service[1]),
                "table",
                True,
            )
        )
    return models


# --- the user's overrides ------------------------------------------------------------------


def _overridden(model: _Model | None, model_id: str, price: ModelPrice) -> _Model:
    """`model` (or a new model `model_id`) at the user's flat price.

    A replaced model keeps its name, family, aliases, vendor and its fast, US-geo and
    service-tier multipliers: those describe the service, the user's figures its base
    rates (a tier the vendor prices with its own figures takes the user's base rates).
    """
    vendor = model.info.vendor if model is not None else vendor_of(model_id)
    if vendor in ("openai", "google"):
        write_5m = write_1h = price.input
    else:
        write_5m, write_1h = price.input * 1.25, price.input * 2
    rates = _RateData(
        input=price.input,
        output=price.output,
        cache_write_5m=write_5m if price.cache_write_5m is None else price.cache_write_5m,
        cache_write_1h=write_1h if price.cache_write_1h is None else price.cache_write_1h,
        cache_read=price.input * 0.1 if price.cache_read is None else price.cache_read,
    )
    point = _Point(-math.inf, rates, _NO_TIER, rates, 1.0)
    if model is None:
        window = price.context_window or _DEFAULT_CONTEXT_WINDOW
        info = ModelInfo(
            model_id,
            model_id,
            family_of(vendor, model_id),
            window,
            estimated=False,
            vendor=vendor,
        )
        books = ((point,), (point,), (point,))
        return _Model(info, (), books, 1.0, 1.0, (1.0, 1.0), "config", True)
    window = price.context_window or model.info.context_window
    old = model.info
    info = ModelInfo(old.id, old.name, old.family, window, estimated=False, vendor=old.vendor)
    priority, flex = (m if m is not None else 1.0 for m in model.service)
    books = ((point,), (point._replace(multiplier=priority),), (point._replace(multiplier=flex),))
    return model._replace(
        info=info, books=books, service=(priority, flex), source="config", listed=True
    )


# --- the overlay ---------------------------------------------------------------------------


def _overlay_rates(r: price_overlay.OverlayRates) -> _RateData:
    return _RateData(r.input, r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read)


def _overlay_point(price: price_overlay.OverlayPrice, since: float, multiplier: float) -> _Point:
    rates = _overlay_rates(price.rates)
    if price.tier is None or price.tier_above is None:
        return _Point(since, rates, _NO_TIER, rates, multiplier)
    return _Point(since, rates, price.tier_above, _overlay_rates(price.tier), multiplier)


def _in_force(book: _Book, when: float) -> _Point:
    for point in reversed(book):
        if when >= point.since:
            return point
    return book[0]


def _differs(book: _Book, price: price_overlay.OverlayPrice, when: float) -> bool:
    """Whether `price` says something else than `book` does at `when` (to the pico-dollar).
    A tier the overlay leaves out is no news: LiteLLM often omits a vendor's own tiers."""
    shipped = _in_force(book, when)
    new = _overlay_point(price, when, 1.0)
    if _rates(shipped.rates, shipped.multiplier) != _rates(new.rates, 1.0):
        return True
    if new.tier_above == _NO_TIER:
        return False
    return new.tier_above != shipped.tier_above or _rates(
        shipped.tier, shipped.multiplier
    ) != _rates(new.tier, 1.0)


def _insert(book: _Book, point: _Point) -> _Book:
    kept = [p for p in book if p.since != point.since]
    return tuple(sorted([*kept, point], key=lambda p: p.since))


def _overlaid(model: _Model, new: price_overlay.OverlayModel, since: float) -> _Model:
    """`model` with `new`'s prices from `since` on; later dated changes the table knows
    (announced ones) still apply after. A long-context tier `new` leaves out is kept from
    the table's price in force: no news, not news of its end."""
    shipped = _in_force(model.books[_STANDARD], since)
    standard = _overlay_point(new.standard, since, 1.0)
    if standard.tier_above == _NO_TIER and shipped.tier_above != _NO_TIER:
        standard = standard._replace(tier_above=shipped.tier_above, tier=shipped.tier)
    books = [_insert(model.books[_STANDARD], standard)]
    for n, price in ((_PRIORITY, new.priority), (_FLEX, new.flex)):
        multiplier = model.service[n - 1]
        if price is not None:  # the source's own figures for the tier
            books.append(_insert(model.books[n], _overlay_point(price, since, 1.0)))
        elif multiplier is not None:
            books.append(_insert(model.books[n], standard._replace(multiplier=multiplier)))
        else:
            books.append(model.books[n])  # the vendor's own figures, and no newer ones
    return model._replace(books=(books[0], books[1], books[2]), source="overlay")


def _added(new: price_overlay.OverlayModel) -> _Model:
    """A model only the overlay knows."""
    standard = (_overlay_point(new.standard, -math.inf, 1.0),)
    books = [standard]
    service: list[float | None] = []
    for price in (new.priority, new.flex):
        if price is None:
            books.append(standard)
            service.append(1.0)
        else:
            books.append((_overlay_point(price, -math.inf, 1.0),))
            service.append(None)
    info = ModelInfo(
        new.id,
        new.id,
        family_of(new.vendor, new.id),
        new.context_window or _DEFAULT_CONTEXT_WINDOW,
        estimated=False,
        vendor=new.vendor,
    )
    return _Model(
        info,
        (),
        (books[0], books[1], books[2]),
        new.fast or 1.0,
        new.us_geo or 1.0,
        (service[0], service[1]),
        "overlay",
        False,
    )


def _index(models: list[_Model]) -> dict[str, int]:
    return {i: n for n, m in enumerate(models) for i in (m.info.id, *m.aliases)}


def _position(index: Mapping[str, int], model_id: str) -> int | None:
    n = index.get(model_id)
    if n is None and (swapped := _swapped(model_id)) is not None:
        n = index.get(swapped)
    return n


def _with_overlay(
    models: list[_Model], overlay: price_overlay.Overlay, table_date: str, path: str
) -> tuple[list[_Model], OverlayReport]:
    """The table's models with the overlay merged in (see the module's docstring)."""
    fetched_day = overlay.fetched.astimezone(datetime.UTC).date()
    newer = fetched_day > datetime.date.fromisoformat(table_date)
    since = _since(fetched_day)
    index = _index(models)
    matched: dict[int, price_overlay.OverlayModel] = {}
    added: list[_Model] = []
    for new in overlay.models:
        n = _position(index, new.id)
        if n is None:
            added.append(_added(new))
        elif n not in matched or new.id == models[n].info.id:  # its own id wins an alias
            matched[n] = new
    out = list(models)
    changed = []
    if newer:
        for n, new in sorted(matched.items()):
            model = models[n]
            tiers = ((_STANDARD, new.standard), (_PRIORITY, new.priority), (_FLEX, new.flex))
            if any(p is not None and _differs(model.books[b], p, since) for b, p in tiers):
                out[n] = _overlaid(model, new, since)
                changed.append(model.info.id)
    report = OverlayReport(
        path,
        "used" if newer else "older",
        fetched=overlay.fetched,
        source=overlay.source,
        models=len(overlay.models),
        changed=tuple(changed),
        added=len(added),
    )
    return out + added, report


# --- the pricer ----------------------------------------------------------------------------


class Pricer:
    """The pricing table plus the overlay and the user's overrides; looks up and prices
    per request."""

    date: str  # the day the table's prices were gathered, ISO 8601
    source: str  # where the table's figures come from
    overlay: OverlayReport | None  # None: there is no overlay

    def __init__(
        self,
        date: str,
        models: list[_Model],
        source: str = "",
        overlay: OverlayReport | None = None,
    ) -> None:
        self.date = date
        self.source = source
        self.overlay = overlay
        self._models = models
        self._ids = [m.info.id for m in models if m.listed]
        self._by_id: dict[str, _Model] = {}
        self._newest: dict[tuple[str, str], _Model] = {}  # (vendor, family) -> newest model
        for model in models:
            for model_id in (model.info.id, *model.aliases):
                self._by_id[model_id] = model
            info = model.info
            if model.listed and info.vendor and info.family:  # not the overlay's own
                self._newest.setdefault((info.vendor, info.family), model)
        self._entries: dict[str, _Entry] = {}  # canonical id -> compiled, on first use
        # raw model string -> entry, one map per vendor the caller named (None: none):
        # normalising costs a few regexes, a request a dict hit
        self._cache: dict[str, _Entry] = {}
        self._caches: dict[str | None, dict[str, _Entry]] = {None: self._cache}
        for vendor in VENDORS:
            self._caches[vendor] = {}

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, ModelPrice] | None = None,
        *,
        overlay: str | bool = True,
    ) -> Pricer:
        """The bundled table, the price overlay and `overrides`, in rising precedence.

        `overlay`: True reads the user's (price_overlay.overlay_path of this process's
        environment) when there is one, False reads none, a string is the file to read.
        An unreadable or invalid overlay is ignored with one log line. An override
        replaces the model its id names (normalised) or adds a new one; either way it is
        not estimated."""
        date, source, bundled = _bundled()
        models = list(bundled)
        report = None
        path = overlay if isinstance(overlay, str) else None
        if overlay is True:
            path = price_overlay.overlay_path(os.environ)
        if path:
            try:
                data = price_overlay.read(path)
            except price_overlay.OverlayError as exc:
                from aitop.log import log

                log.warning("price overlay %s ignored: %s", path, exc)
                report = OverlayReport(path, "ignored", str(exc))
            else:
                if data is not None:
                    models, report = _with_overlay(models, data, date, path)
        if overrides:
            index = _index(models)
            for key, price in overrides.items():
                model_id = normalise_model(key)
                n = _position(index, model_id)
                if n is None:
                    index[model_id] = len(models)
                    models.append(_overridden(None, model_id, price))
                else:
                    models[n] = _overridden(models[n], model_id, price)
        return cls(date, models, source, report)

    def _compiled(self, model: _Model) -> _Entry:
        entry = self._entries.get(model.info.id)
        if entry is None:
            entry = self._entries[model.info.id] = _entry(model)
        return entry

    def _find(self, model_id: str) -> _Model | None:
        model = self._by_id.get(model_id)
        if model is None and (swapped := _swapped(model_id)) is not None:
            model = self._by_id.get(swapped)
        return model

    def _estimate(self, model_id: str, vendor: str | None) -> _Entry:
        """An entry for a model the table lacks: its vendor's family's newest model."""
        if vendor not in VENDORS:
            vendor = vendor_of(model_id)
        family = family_of(vendor, model_id)
        newest = self._newest
        # no known vendor: priced by an Anthropic family, else as the newest Sonnet, as always
        fallback = newest["anthropic", "sonnet"]
        if vendor is None:
            base = newest.get(("anthropic", family or ""), fallback)
        else:
            default = newest.get((vendor, DEFAULT_FAMILY[vendor]), fallback)
            base = newest.get((vendor, family or ""), default)
        info = ModelInfo(
            model_id,
            model_id,
            family,
            base.info.context_window,
            estimated=True,
            priced_as=base.info.id,
            vendor=vendor,
        )
        return _Entry(info, self._compiled(base).variants)

    def _lookup(self, model: str, vendor: str | None) -> _Entry:
        cache = self._cache if vendor is None else self._caches.get(vendor, self._cache)
        entry = cache.get(model)
        if entry is not None:
            return entry
        model_id = normalise_model(model)
        found = self._find(model_id)
        entry = self._compiled(found) if found is not None else self._estimate(model_id, vendor)
        if len(cache) >= _MAX_CACHED_IDS:
            cache.clear()
        cache[model] = entry
        return entry

    def resolve(self, model: str, vendor: str | None = None) -> ModelInfo:
        """The table's model for `model`, or an estimate by family (`estimated=True`).

        `vendor` is the caller's when it knows it ("anthropic", "openai", "google"): an
        unknown model is then priced by that vendor's family; without it the id says."""
        return self._lookup(model, vendor).info

    def cost_pico(
        self,
        model: str,
        usage: Usage,
        when: float,
        speed: str | None = None,
        inference_geo: str | None = None,
        *,
        service_tier: str | None = None,
        vendor: str | None = None,
    ) -> int:
        """What one request cost, in pico-dollars; `when` is its Unix time (UTC).

        `speed`/`inference_geo` are Anthropic's usage fields ("fast", "us");
        `service_tier` is OpenAI's ("priority" or "fast", "flex"; "default" and None are
        standard)."""
        # this runs for every request: the cache hit and the common case inlined
        if vendor is None:
            entry = self._cache.get(model)
        else:
            entry = self._caches.get(vendor, self._cache).get(model)
        if entry is None:
            entry = self._lookup(model, vendor)
        if service_tier is None:
            periods = entry.variants[2 * (speed == "fast") + (inference_geo == "us")]
        else:
            variant = 2 * (speed == "fast") + (inference_geo == "us")
            periods = entry.variants[variant + _SERVICE_OFFSET.get(service_tier, 0)]
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

    def context_window(self, model: str, *, vendor: str | None = None) -> int:
        """The context window of `model` in the table, in tokens. (An agent that says
        which window a session runs with, a user's pick of a larger one, or a request
        seen using more: the aggregator weighs those.)"""
        return self._lookup(model, vendor).info.context_window

    def model_ids(self, vendor: str | None = None) -> list[str]:
        """Canonical ids of every priced model (of `vendor`'s, if given), newest first:
        the table's order, models added by overrides last. Models only the overlay knows
        are priced but not listed."""
        if vendor is None:
            return list(self._ids)
        return [i for i in self._ids if self._by_id[i].info.vendor == vendor]

    def price_list(self, when: float) -> list[ListedPrice]:
        """Every model's standard prices in force at `when` (Unix seconds), the table's
        models first."""
        out = []
        for model in self._models:
            entry = self._compiled(model)
            period = _period_at(entry.variants[0], when)
            point = _in_force(model.books[_STANDARD], when)
            since = None
            if point.since != -math.inf:
                since = datetime.datetime.fromtimestamp(point.since, datetime.UTC).date()
            tiered = period.tier_above != _NO_TIER
            services = []
            for variant in (4, 8):  # priority, flex
                other = _period_at(entry.variants[variant], when)
                same = other.rates == period.rates and other.tier == period.tier
                services.append(None if same else other.rates)
            out.append(
                ListedPrice(
                    model.info,
                    model.source,
                    since,
                    period.rates,
                    period.tier_above if tiered else None,
                    period.tier if tiered else None,
                    services[0],
                    services[1],
                )
            )
        return out


def _period_at(periods: _Periods, when: float) -> _Period:
    for period in reversed(periods):
        if when >= period.since:
            return period
    return periods[0]
