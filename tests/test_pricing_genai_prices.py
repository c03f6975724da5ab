"""Cross-check aitop's prices against genai-prices 0.2.3 (a test-only dependency).

Every Claude model that both know is compared on generated usages (input, output, cache
reads, 5-minute and 1-hour cache writes), request times across the dated price changes,
and standard or fast speed, to the pico-dollar; then every OpenAI model (with OpenAI's
service tiers) and every Gemini model that both know, the same way. Where the two disagree
for a documented reason, the case is excluded by name below and the disagreement itself is
pinned by a test.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import genai_prices
import pytest
from genai_prices import data as genai_data
from hypothesis import event, given, settings
from hypothesis import strategies as st

from aitop.events import Usage
from aitop.pricing import PICO_PER_USD, Pricer

PRICER = Pricer.load()
UTC = datetime.UTC
M = 1_000_000

ANTHROPIC = next(p for p in genai_data.providers if p.id == "anthropic")
GENAI_IDS = [model.id for model in ANTHROPIC.models]

# genai-prices models aitop does not price, and why
NOT_IN_AITOP = {
    "claude-2": "Claude 2.0/2.1 has no tool use, so Claude Code cannot run on it; retired 2025",
    "claude-v1": "Claude 1: no tool use, retired long before Claude Code; no cache prices",
}
# aitop models genai-prices 0.2.3 does not know, and where aitop's figures come from
NOT_IN_GENAI = {
    "claude-mythos-5": "pricing.md and LiteLLM: Fable 5's rates",
    "claude-mythos-5-1": "pricing.md and LiteLLM: Fable 5.1's rates",
    "claude-mythos-preview": "LiteLLM only (deprecated 2026-06-09): Fable 5's rates",
}

SONNET_5_5_READ_CUT = datetime.datetime(2026, 10, 7, tzinfo=UTC)
TIER_END_4_6 = datetime.datetime(2026, 3, 13, tzinfo=UTC)


def excluded(genai_id: str, usage: Usage, when: datetime.datetime, speed: str | None) -> str | None:
    """Why aitop and genai-prices may disagree on this case, or None if they must agree."""
    if genai_id == "claude-sonnet-4-0" and usage.prompt_tokens > 200_000:
        return "pricing.md: Sonnet 4 has a >200K premium (1M beta); genai-prices has no tier"
    if genai_id == "claude-sonnet-5-5" and when < SONNET_5_5_READ_CUT and usage.cache_read_tokens:
        return "pricing.md: Sonnet 5.5 read 0.20 until 2026-10-07; genai-prices has 0.10 undated"
    if genai_id in ("claude-opus-4-6", "claude-opus-4-7") and speed == "fast":
        return "pricing.md: Opus 4.6/4.7 fast mode is 6x; genai-prices has no fast price for them"
    return None


def genai_usage(usage: Usage) -> genai_prices.Usage:
    # genai-prices counts cache tokens inside input_tokens (its tier threshold is on that
    # total) and 1-hour writes inside cache_write_tokens.
    return genai_prices.Usage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
    )


def genai_pico(
    model_ref: str, usage: Usage, when: datetime.datetime, speed: str | None
) -> tuple[str, Decimal]:
    """(the genai-prices model id that priced it, its price in pico-dollars)."""
    result = genai_prices.calc_price(
        genai_usage(usage),
        model_ref,
        provider_id="anthropic",
        genai_request_timestamp=when,
        price_context={"speed": speed} if speed else None,
    )
    return result.model.id, result.total_price * PICO_PER_USD


def aitop_pico(model: str, usage: Usage, when: datetime.datetime, speed: str | None) -> int:
    return PRICER.cost_pico(model, usage, when.timestamp(), speed)


COMPARED = [genai_id for genai_id in GENAI_IDS if genai_id not in NOT_IN_AITOP]


def test_every_model_both_know_is_compared() -> None:
    # genai-prices' side: each of its Claude models is aitop's (not estimated) or skipped
    # with a reason
    assert set(NOT_IN_AITOP) <= set(GENAI_IDS)
    for genai_id in COMPARED:
        info = PRICER.resolve(genai_id)
        assert not info.estimated, f"{genai_id}: add it to pricing.toml or to NOT_IN_AITOP"
    # aitop's side: each of its models is found by genai-prices (as the same model) or is
    # listed with a reason
    when = datetime.datetime(2026, 11, 22, tzinfo=UTC)
    for model_id in PRICER.model_ids("anthropic"):
        try:
            genai_id, _ = genai_pico(model_id, Usage(1, 1), when, None)
        except LookupError:
            assert model_id in NOT_IN_GENAI, f"{model_id}: genai-prices does not know it"
            continue
        assert model_id not in NOT_IN_GENAI
        assert genai_id in COMPARED
        assert PRICER.resolve(genai_id).id == model_id


N = st.integers(0, 120_000)
USAGES = st.builds(
    Usage,
    input_tokens=st.one_of(st.integers(0, 50), N),
    output_tokens=st.integers(0, 64_000),
    cache_read_tokens=st.one_of(st.just(0), N, st.integers(0, 900_000)),
    cache_write_5m_tokens=st.one_of(st.just(0), N),
    cache_write_1h_tokens=st.one_of(st.just(0), N),
)
START = datetime.datetime(2025, 1, 1, tzinfo=UTC)
WHEN = st.one_of(
    st.sampled_from(
        [
            TIER_END_4_6 - datetime.timedelta(seconds=1),
            TIER_END_4_6,
            SONNET_5_5_READ_CUT - datetime.timedelta(seconds=1),
            SONNET_5_5_READ_CUT,
        ]
    ),
    st.integers(0, 2 * 365 * 86_400).map(lambda s: START + datetime.timedelta(seconds=s)),
)
SPEED = st.sampled_from([None, "standard", "fast"])


@pytest.mark.parametrize("genai_id", COMPARED)
@settings(max_examples=30, deadline=None)
@given(usage=USAGES, when=WHEN, speed=SPEED)
def test_aitop_matches_genai_prices(
    genai_id: str, usage: Usage, when: datetime.datetime, speed: str | None
) -> None:
    reason = excluded(genai_id, usage, when, speed)
    if reason is not None:
        event(f"excluded: {reason}")
        return
    matched, theirs = genai_pico(genai_id, usage, when, speed)
    assert matched == genai_id
    assert aitop_pico(genai_id, usage, when, speed) == theirs


@pytest.mark.parametrize("genai_id", COMPARED)
@pytest.mark.parametrize("threshold", [100_000, 200_000])
@pytest.mark.parametrize("delta", [-1, 0, 1])
@pytest.mark.parametrize("when", [TIER_END_4_6 - datetime.timedelta(days=1), SONNET_5_5_READ_CUT])
def test_tier_boundary_matches_genai_prices(
    genai_id: str, threshold: int, delta: int, when: datetime.datetime
) -> None:
    # genai-prices applies a tier when the prompt is strictly above its start; so does aitop
    usage = Usage(threshold + delta - 300, 1000, 100, 100, 100)
    assert usage.prompt_tokens == threshold + delta
    if excluded(genai_id, usage, when, None) is None:
        assert aitop_pico(genai_id, usage, when, None) == genai_pico(genai_id, usage, when, None)[1]


# --- the disagreements, pinned ------------------------------------------------------------


def test_disagreement_sonnet_4_long_context_tier() -> None:
    usage = Usage(200_001, 1000)
    when = datetime.datetime(2025, 9, 1, tzinfo=UTC)
    theirs = genai_pico("claude-sonnet-4-0", usage, when, None)[1]
    assert theirs == 200_001 * 3 * M + 1000 * 15 * M  # base rates
    assert aitop_pico("claude-sonnet-4", usage, when, None) == 200_001 * 6 * M + 1000 * 22_500_000
    assert excluded("claude-sonnet-4-0", usage, when, None)


def test_disagreement_sonnet_5_5_cache_read_before_2026_10_07() -> None:
    usage = Usage(cache_read_tokens=1_000_000)
    when = SONNET_5_5_READ_CUT - datetime.timedelta(seconds=1)
    assert genai_pico("claude-sonnet-5-5", usage, when, None)[1] == 100_000 * M
    assert aitop_pico("claude-sonnet-5-5", usage, when, None) == 200_000 * M
    assert excluded("claude-sonnet-5-5", usage, when, None)


@pytest.mark.parametrize("model", ["claude-opus-4-6", "claude-opus-4-7"])
def test_disagreement_opus_4_6_and_4_7_fast_mode(model: str) -> None:
    usage = Usage(1000, 1000, 1000, 1000, 1000)
    when = datetime.datetime(2026, 11, 22, tzinfo=UTC)
    standard = genai_pico(model, usage, when, None)[1]
    assert genai_pico(model, usage, when, "fast")[1] == standard  # genai-prices: no fast price
    assert aitop_pico(model, usage, when, "fast") == 6 * standard
    assert excluded(model, usage, when, "fast")


# --- OpenAI and Google: every model both know ------------------------------------------------

PROVIDERS = {p.id: p for p in genai_data.providers if p.id in ("openai", "google")}
OTHER = [(vendor, model_id) for vendor in PROVIDERS for model_id in PRICER.model_ids(vendor)]
# genai-prices gives OpenAI's flex and priority figures only from the day it verified them
# ("Tier history before this verification is not modeled"); aitop has them always.
TIERS_VERIFIED = datetime.datetime(2026, 10, 12, tzinfo=UTC)
SERVICE_TIERS = [None, "default", "priority", "fast", "flex"]


def genai_model(vendor: str, model_id: str) -> genai_prices.types.ModelInfo:
    found = PROVIDERS[vendor].find_model(model_id)
    assert found is not None, f"{model_id}: genai-prices does not know it"
    return found


def other_pico(
    vendor: str, model_id: str, usage: Usage, when: datetime.datetime, tier: str | None
) -> tuple[str, Decimal]:
    result = genai_prices.calc_price(
        genai_usage(usage),
        model_id,
        provider_id=vendor,
        genai_request_timestamp=when,
        price_context={"service_tier": tier} if tier else None,
    )
    return result.model.id, result.total_price * PICO_PER_USD


def excluded_other(
    vendor: str, model_id: str, usage: Usage, when: datetime.datetime, tier: str | None
) -> str | None:
    """Why aitop and genai-prices may disagree on this OpenAI or Google case, or None."""
    if tier in ("priority", "fast", "flex"):
        for variant in genai_model(vendor, model_id).price_variants or ():
            start = variant.constraint.start_date if variant.constraint else None
            if variant.when.get("service_tier") == tier and start and when.date() < start:
                return "genai-prices prices service tiers only from the day it verified them"
        long = usage.prompt_tokens > 272_000
        if model_id in ("gpt-5.4", "gpt-5.5") and tier in ("priority", "fast") and long:
            return "priority >272K: genai-prices has no tier there; aitop applies 2x/2.5x to it"
        if model_id == "gpt-5.5-pro" and tier == "flex" and long:
            return "gpt-5.5-pro flex >272K: genai-prices' flex has no tier; aitop halves it"
    return None


def test_every_openai_and_google_model_is_one_genai_prices_knows() -> None:
    assert {vendor for vendor, _ in OTHER} == {"openai", "google"}
    when = datetime.datetime(2026, 11, 22, tzinfo=UTC)
    for vendor, model_id in OTHER:
        matched, _ = other_pico(vendor, model_id, Usage(1, 1), when, None)
        # the same model, or (a -codex model, an alias) the one whose prices it shares
        assert PRICER.resolve(matched, vendor).estimated is False, matched
        assert genai_model(vendor, model_id).id == matched


OTHER_USAGES = st.builds(
    Usage,
    input_tokens=st.one_of(st.integers(0, 50), N),
    output_tokens=st.integers(0, 64_000),
    cache_read_tokens=st.one_of(st.just(0), N, st.integers(0, 900_000)),
    cache_write_5m_tokens=st.one_of(st.just(0), N),  # OpenAI's one kind of cache write
)
# the dated changes in aitop's OpenAI and Google prices, and genai-prices' tier verification
CHANGES = [(2025, 6, 10), (2026, 7, 30), (2026, 8, 21), (2026, 10, 12), (2026, 12, 1), (2027, 1, 1)]
OTHER_WHEN = st.one_of(
    st.sampled_from(
        [
            datetime.datetime(*day, tzinfo=UTC) + datetime.timedelta(seconds=delta)
            for day in CHANGES
            for delta in (-1, 0)
        ]
    ),
    st.integers(0, 3 * 365 * 86_400).map(lambda s: START + datetime.timedelta(seconds=s)),
)


@pytest.mark.parametrize(("vendor", "model_id"), OTHER)
@settings(max_examples=30, deadline=None)
@given(usage=OTHER_USAGES, when=OTHER_WHEN, tier=st.sampled_from(SERVICE_TIERS))
def test_aitop_matches_genai_prices_openai_google(
    vendor: str, model_id: str, usage: Usage, when: datetime.datetime, tier: str | None
) -> None:
    reason = excluded_other(vendor, model_id, usage, when, tier)
    if reason is not None:
        event(f"excluded: {reason}")
        return
    _, theirs = other_pico(vendor, model_id, usage, when, tier)
    ours = PRICER.cost_pico(model_id, usage, when.timestamp(), service_tier=tier, vendor=vendor)
    assert ours == theirs


@pytest.mark.parametrize(("vendor", "model_id"), OTHER)
@pytest.mark.parametrize("threshold", [200_000, 272_000])
@pytest.mark.parametrize("delta", [-1, 0, 1])
@pytest.mark.parametrize("tier", [None, "priority", "flex"])
def test_tier_boundary_matches_genai_prices_openai_google(
    vendor: str, model_id: str, threshold: int, delta: int, tier: str | None
) -> None:
    when = datetime.datetime(2026, 11, 22, tzinfo=UTC)
    usage = Usage(threshold + delta - 300, 1000, 200, 100)
    assert usage.prompt_tokens == threshold + delta
    if excluded_other(vendor, model_id, usage, when, tier) is None:
        ours = PRICER.cost_pico(model_id, usage, when.timestamp(), service_tier=tier)
        assert ours == other_pico(vendor, model_id, usage, when, tier)[1]


# --- the disagreements, pinned ------------------------------------------------------------


def test_disagreement_service_tiers_before_genai_prices_verified_them() -> None:
    usage = Usage(1000, 1000, 1000)
    before = TIERS_VERIFIED - datetime.timedelta(days=1)
    standard = other_pico("openai", "gpt-5", usage, before, None)[1]
    assert other_pico("openai", "gpt-5", usage, before, "priority")[1] == standard
    assert PRICER.cost_pico("gpt-5", usage, before.timestamp(), service_tier="priority") == (
        2 * standard
    )
    assert excluded_other("openai", "gpt-5", usage, before, "priority")
    # from that day on they agree
    after = other_pico("openai", "gpt-5", usage, TIERS_VERIFIED, "priority")[1]
    assert after == 2 * standard


@pytest.mark.parametrize(("model", "factor"), [("gpt-5.4", 2), ("gpt-5.5", Decimal("2.5"))])
def test_disagreement_priority_above_272k(model: str, factor: Decimal) -> None:
    usage = Usage(300_000, 1000)
    when = datetime.datetime(2026, 11, 22, tzinfo=UTC)
    standard = other_pico("openai", model, usage, when, None)[1]  # the >272K tier
    theirs = other_pico("openai", model, usage, when, "priority")[1]
    ours = PRICER.cost_pico(model, usage, when.timestamp(), service_tier="priority")
    assert ours == standard * factor
    assert theirs < ours  # genai-prices: priority's flat rates, no tier
    assert excluded_other("openai", model, usage, when, "priority")


def test_disagreement_gpt_5_5_pro_flex_above_272k() -> None:
    usage = Usage(300_000, 1000)
    when = datetime.datetime(2026, 11, 22, tzinfo=UTC)
    standard = other_pico("openai", "gpt-5.5-pro", usage, when, None)[1]
    assert other_pico("openai", "gpt-5.5-pro", usage, when, "flex")[1] == 300_000 * 15 * M + (
        1000 * 90 * M
    )
    ours = PRICER.cost_pico("gpt-5.5-pro", usage, when.timestamp(), service_tier="flex")
    assert ours == standard / 2
    assert excluded_other("openai", "gpt-5.5-pro", usage, when, "flex")
