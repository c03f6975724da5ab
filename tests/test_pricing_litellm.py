"""Cross-check aitop's prices against LiteLLM 1.109.1's table, field by field.

The `litellm` package is not a test dependency (a 44 MB wheel that pulls in openai,
tokenizers, boto3 and reads its table from the network at import): the table it bundles,
reduced to its Anthropic and OpenAI keys as gathered for reference/pricing.md, is stored in
tests/fixtures/litellm/. Every key of those vendors' own APIs (chat and responses modes)
is read here directly, not through aitop's converter, and each rate LiteLLM gives is
compared with aitop's to the pico-dollar at the table's date: input, output, cache read,
cache writes (Anthropic's 1-hour one too), long-context rates, priority and flex rates,
and Anthropic's US-geo and fast multipliers. Not compared: OpenAI's 12-hour cache
retention (`..._above_12hr`), which Codex does not report apart and aitop does not price.
"""

from __future__ import annotations

import calendar
import datetime
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aitop.events import Usage
from aitop.pricing import Pricer, normalise_model

PRICER = Pricer.load(overlay=False)
TABLE = Path(__file__).resolve().parent / "fixtures" / "litellm"
LITELLM = json.loads((TABLE / "model_prices_1.109.1_anthropic_openai.json").read_text())
WHEN = float(calendar.timegm(datetime.date(2026, 11, 12).timetuple()))  # LiteLLM's date

# LiteLLM keys aitop does not price, and why (none of them is a coding agent's model)
NOT_IN_AITOP = {
    "gpt-5-chat": "ChatGPT's model; not offered to coding agents",
    "gpt-5.1-chat": "ChatGPT's model (gpt-5.1-chat-latest)",
    "gpt-5.2-chat": "ChatGPT's model (gpt-5.2-chat-latest)",
    "gpt-5.3-chat": "ChatGPT's model (gpt-5.3-chat-latest)",
    "gpt-5-search-api": "the search endpoint's model",
    "gpt-5.5-cyber": "a restricted-access model, not in pricing.md",
    "gpt-5.5-cyber-preview": "a restricted-access model, not in pricing.md",
    "gpt-5.6-cyber": "a restricted-access model, not in pricing.md",
}
VENDOR = {"anthropic": "anthropic", "openai": "openai"}
KEYS = sorted(
    key
    for key, entry in LITELLM.items()
    if entry.get("litellm_provider") in VENDOR and entry.get("mode") in ("chat", "responses")
)
# which usage field each LiteLLM rate prices
FIELDS = {
    "input_cost_per_token": "input_tokens",
    "output_cost_per_token": "output_tokens",
    "cache_read_input_token_cost": "cache_read_tokens",
    "cache_creation_input_token_cost": "cache_write_5m_tokens",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h_tokens",
}
TIER = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")


def usd_per_token(pico: int) -> Decimal:
    return Decimal(pico) / 10**12


def rate(model: str, field: str, tier: str | None, prompt: int = 0) -> Decimal:
    """aitop's price of one more token of `field` in a request of `prompt` input tokens."""
    padding = Usage(input_tokens=prompt)
    more = padding.union(Usage(**{field: 1})) if field != "input_tokens" else Usage(prompt + 1)
    cost = PRICER.cost_pico(model, more, WHEN, service_tier=tier)
    return usd_per_token(cost - PRICER.cost_pico(model, padding, WHEN, service_tier=tier))


def theirs(value: Any) -> Decimal:
    return Decimal(repr(value))


def test_every_litellm_model_of_anthropic_and_openai_is_priced_by_aitop() -> None:
    assert len(KEYS) >= 60
    for key in KEYS:
        model_id = normalise_model(key)
        info = PRICER.resolve(model_id)
        if model_id in NOT_IN_AITOP:
            assert info.estimated, f"{model_id} is priced now: drop it from NOT_IN_AITOP"
            continue
        assert not info.estimated, f"{key}: add it to pricing.toml or to NOT_IN_AITOP"
        assert info.vendor == VENDOR[LITELLM[key]["litellm_provider"]]


COMPARED = [k for k in KEYS if normalise_model(k) not in NOT_IN_AITOP]


@pytest.mark.parametrize("key", COMPARED)
def test_aitop_matches_litellm(key: str) -> None:
    entry = LITELLM[key]
    model = normalise_model(key)
    checked = 0
    for suffix, tier in (("", None), ("_priority", "priority"), ("_flex", "flex")):
        for name, field in FIELDS.items():
            if name + suffix in entry:
                assert rate(model, field, tier) == theirs(entry[name + suffix]), name + suffix
                checked += 1
            above = [int(m[1]) for n in entry if (m := TIER.match(n))]
            for k in above:  # a long-context rate: a prompt of one token more than k thousand
                long_name = f"{name}_above_{k}k_tokens{suffix}"
                if long_name in entry:
                    got = rate(model, field, tier, prompt=k * 1000 + 1)
                    assert got == theirs(entry[long_name]), long_name
                    checked += 1
    assert checked >= 2  # input and output at least
    # Anthropic's multipliers: LiteLLM's provider_specific_entry {"us": 1.1, "fast": 2.0}
    extra = entry.get("provider_specific_entry") or {}
    usage = Usage(1000, 1000, 1000, 1000, 1000)
    standard = Decimal(PRICER.cost_pico(model, usage, WHEN))
    us = Decimal(PRICER.cost_pico(model, usage, WHEN, inference_geo="us"))
    assert us == standard * theirs(extra.get("us", 1))
    if "fast" in extra:
        fast = Decimal(PRICER.cost_pico(model, usage, WHEN, "fast"))
        assert fast == standard * theirs(extra["fast"])


def test_context_windows_agree_where_pricing_md_does_not_choose_otherwise() -> None:
    # pricing.md's "Input ctx" column is aitop's source; LiteLLM's max_input_tokens agrees
    # for every model both know (gpt-5.6's 922K is LiteLLM's own figure).
    differ = {
        normalise_model(k)
        for k in COMPARED
        if LITELLM[k].get("max_input_tokens") != PRICER.resolve(k).context_window
    }
    assert differ == set()
