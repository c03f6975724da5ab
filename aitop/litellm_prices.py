"""LiteLLM's price table (`model_prices_and_context_window.json`) -> a price overlay.

The table maps a model key to its prices in USD per token, with many providers and fields
aitop does not use. Only the vendors' own keys are taken (`litellm_provider` anthropic,
openai or gemini; `mode` chat or responses) and only the fields aitop prices; every value
taken must be a finite number of dollars in range, or the whole table is refused: a
malformed download must never become prices. Pure: bytes in, an Overlay out.

Fields read, per service tier (suffix "", "_priority", "_flex"):
  input_cost_per_token, output_cost_per_token, cache_read_input_token_cost,
  cache_creation_input_token_cost (a 5-minute write for Anthropic, OpenAI's one kind),
  cache_creation_input_token_cost_above_1hr (Anthropic's 1-hour write),
  the same with `_above_<N>k_tokens` (a long-context tier above N thousand prompt tokens),
  max_input_tokens, provider_specific_entry {"us": x, "fast": y} (Anthropic multipliers).
A rate the entry leaves out follows its vendor's rule: Anthropic writes 1.25x (5-minute)
and 2x (1-hour) input and reads 0.1x input (its published multipliers); OpenAI and Google
bill an unpriced write or read as input. A missing long-context or service-tier rate is the
standard one scaled like input.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import re
from decimal import Decimal
from typing import Any

import msgspec

from aitop.price_overlay import FORMAT, Overlay, OverlayModel, OverlayPrice, OverlayRates
from aitop.pricing import normalise_model

_VENDOR = {"anthropic": "anthropic", "openai": "openai", "gemini": "google"}
_MODES = ("chat", "responses")
_MAX_USD_PER_TOKEN = 0.01  # $10,000 per million tokens: anything above is not a price
_TIER_INPUT = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")
_SERVICE_SUFFIX = {"standard": "", "priority": "_priority", "flex": "_flex"}


class LiteLLMError(Exception):
    """The download is not a usable LiteLLM price table: what is wrong, in words."""


def convert(body: bytes, source: str, fetched: datetime.datetime) -> Overlay:
    """The overlay made from LiteLLM's table `body`, fetched from `source` at `fetched`."""
    try:
        table = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise LiteLLMError(f"not JSON ({exc})") from None
    if not isinstance(table, dict):
        raise LiteLLMError("not a JSON object of models")
    chosen: dict[str, tuple[bool, OverlayModel]] = {}
    for key, entry in table.items():
        if not isinstance(entry, dict):
            raise LiteLLMError(f"model {key!r} is not a JSON object")
        vendor = _VENDOR.get(entry.get("litellm_provider"))  # type: ignore[arg-type]
        if vendor is None or entry.get("mode") not in _MODES:
            continue
        if "input_cost_per_token" not in entry or "output_cost_per_token" not in entry:
            continue  # listed without a price: nothing to learn
        model_id = normalise_model(key)
        if not model_id:
            continue
        model = _model(key, model_id, vendor, entry)
        # several keys can name one model (dated, prefixed): the key that is the id wins
        exact = key.rpartition("/")[2].lower() == model_id
        if model_id not in chosen or (exact and not chosen[model_id][0]):
            chosen[model_id] = (exact, model)
    if not chosen:
        raise LiteLLMError(
            "no Anthropic, OpenAI or Gemini chat model in it: is it LiteLLM's"
            " model_prices_and_context_window.json?"
        )
    return Overlay(
        format=FORMAT,
        fetched=fetched.astimezone(datetime.UTC),
        source=source,
        sha256=hashlib.sha256(body).hexdigest(),
        models=[chosen[i][1] for i in sorted(chosen)],
    )


def _model(key: str, model_id: str, vendor: str, entry: dict[str, Any]) -> OverlayModel:
    standard = _price(key, vendor, entry, "", None)
    services = {}
    for name in ("priority", "flex"):
        suffix = _SERVICE_SUFFIX[name]
        if f"input_cost_per_token{suffix}" in entry:
            services[name] = _price(key, vendor, entry, suffix, standard)
    context = entry.get("max_input_tokens")
    extra = entry.get("provider_specific_entry")
    fast = us = None
    if vendor == "anthropic" and isinstance(extra, dict):
        fast = _multiplier(key, "provider_specific_entry.fast", extra.get("fast"))
        us = _multiplier(key, "provider_specific_entry.us", extra.get("us"))
    return OverlayModel(
        id=model_id,
        vendor=vendor,  # type: ignore[arg-type]
        standard=standard,
        priority=services.get("priority"),
        flex=services.get("flex"),
        context_window=context if type(context) is int and context > 0 else None,
        fast=fast,
        us_geo=us,
    )


def _price(
    key: str, vendor: str, entry: dict[str, Any], suffix: str, standard: OverlayPrice | None
) -> OverlayPrice:
    """One service tier's rates (`suffix`), and its long-context tier if it has one."""

    def field(name: str) -> float | None:
        return _usd(key, name + suffix, entry.get(name + suffix))

    rates = _rates(key, vendor, field, "", standard.rates if standard is not None else None)
    tier_input = re.compile(rf"^input_cost_per_token_above_(\d+)k_tokens{re.escape(suffix)}$")
    thresholds = sorted(int(m[1]) for name in entry if (m := tier_input.match(name)))
    if thresholds:
        above = thresholds[0]  # aitop prices one tier: the lowest LiteLLM lists
        tier = _rates(key, vendor, field, f"_above_{above}k_tokens", rates)
        return OverlayPrice(rates, above * 1000, tier)
    if standard is not None and standard.tier is not None:  # the standard tier, scaled
        return OverlayPrice(rates, standard.tier_above, _scaled(standard.tier, rates, standard))
    return OverlayPrice(rates)


def _rates(key: str, vendor: str, field: Any, tier: str, base: OverlayRates | None) -> OverlayRates:
    """The five rates (of the long-context `tier` if given); what the entry leaves out is
    `base` scaled like input, else by the vendor's rule."""
    input_ = field(f"input_cost_per_token{tier}")
    output = field(f"output_cost_per_token{tier}")
    read = field(f"cache_read_input_token_cost{tier}")
    write_5m = field(f"cache_creation_input_token_cost{tier}")
    write_1h = field(f"cache_creation_input_token_cost_above_1hr{tier}")
    if input_ is None:
        raise LiteLLMError(f"model {key!r}: input_cost_per_token{tier} is missing")
    if base is not None:
        scale = Decimal(repr(input_)) / Decimal(repr(base.input)) if base.input else Decimal(1)
        output = _times(base.output, scale) if output is None else output
        read = _times(base.cache_read, scale) if read is None else read
        write_5m = _times(base.cache_write_5m, scale) if write_5m is None else write_5m
        write_1h = _times(base.cache_write_1h, scale) if write_1h is None else write_1h
    if output is None:
        raise LiteLLMError(f"model {key!r}: output_cost_per_token is missing")
    if vendor == "anthropic":
        write_5m = _times(input_, Decimal("1.25")) if write_5m is None else write_5m
        write_1h = _times(input_, Decimal(2)) if write_1h is None else write_1h
        read = _times(input_, Decimal("0.1")) if read is None else read
    else:
        write_5m = input_ if write_5m is None else write_5m
        write_1h = write_5m if write_1h is None else write_1h
        read = input_ if read is None else read
    return OverlayRates(input_, output, write_5m, write_1h, read)


def _scaled(tier: OverlayRates, rates: OverlayRates, standard: OverlayPrice) -> OverlayRates:
    """`tier` (the standard long-context rates) scaled as `rates` are to the standard's."""
    base = standard.rates.input
    scale = Decimal(repr(rates.input)) / Decimal(repr(base)) if base else Decimal(1)
    return OverlayRates(
        _times(tier.input, scale),
        _times(tier.output, scale),
        _times(tier.cache_write_5m, scale),
        _times(tier.cache_write_1h, scale),
        _times(tier.cache_read, scale),
    )


def _times(usd_per_mtok: float, scale: Decimal) -> float:
    return float(Decimal(repr(usd_per_mtok)) * scale)


def _usd(key: str, name: str, value: object) -> float | None:
    """A LiteLLM rate (USD per token) as USD per million tokens, exactly; None if absent."""
    if value is None:
        return None
    if type(value) not in (int, float) or not math.isfinite(value):  # type: ignore[arg-type]
        raise LiteLLMError(f"model {key!r}: {name} is {value!r}, not a number")
    if not 0 <= value <= _MAX_USD_PER_TOKEN:  # type: ignore[operator]
        raise LiteLLMError(f"model {key!r}: {name} is {value!r}, not a price per token")
    return float(Decimal(repr(value)) * 10**6)


def _multiplier(key: str, name: str, value: object) -> float | None:
    if value is None:
        return None
    if type(value) not in (int, float) or not 1 <= value <= 100:  # type: ignore[operator]
        raise LiteLLMError(f"model {key!r}: {name} is {value!r}, not a multiplier")
    return float(value)  # type: ignore[arg-type]
