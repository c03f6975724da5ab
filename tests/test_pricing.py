"""Pricing: DESIGN.md "Accounting" rule 4 and the table in pricing.md, rule by rule.

Money is in pico-dollars: $1 per million tokens is 1_000_000 pico-dollars per token.
"""

from __future__ import annotations

import calendar
import datetime
import json
import math
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitop import pricing
from aitop.events import Usage
from aitop.pricing import PICO_PER_USD, ModelInfo, ModelPrice, Pricer, normalise_model

from conftest import SESSIONS

M = 1_000_000  # pico-dollars per token at $1 per million tokens

PRICER = Pricer.load()


def ts(day: str) -> float:
    """Unix seconds of an ISO date or date-time, UTC."""
    parsed = datetime.datetime.fromisoformat(day)
    return float(calendar.timegm(parsed.timetuple()))


NOW = ts("2026-11-22T12:00:00")  # after every dated change in the table
FIXTURE = SESSIONS / "F1-print-tools-subagent"


def one(field: str, n: int = 1) -> Usage:
    return Usage(**{field: n})


# --- rule 1: normalise model ids ---------------------------------------------------------

NORMALISED = [
    ("claude-opus-4-6", "claude-opus-4-6"),
    ("claude-opus-4-6[1m]", "claude-opus-4-6"),
    ("claude-opus-4-6[1M]", "claude-opus-4-6"),
    ("claude-sonnet-5-5[1m]", "claude-sonnet-5-5"),
    ("  Claude-Opus-4-6 ", "claude-opus-4-6"),
    ("anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
    ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
    ("apac.anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"),
    ("global.anthropic.claude-opus-4-7-v1", "claude-opus-4-7"),
    ("anthropic.claude-3-sonnet-20240229-v1:0:200k", "claude-3-sonnet"),
    ("bedrock/us.anthropic.claude-opus-4-6-v1:0", "claude-opus-4-6"),
    (
        "arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-opus-4-6-v1",
        "claude-opus-4-6",
    ),
    ("claude-opus-4-6@default", "claude-opus-4-6"),
    ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("claude-opus-4-6-20260205", "claude-opus-4-6"),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
    ("claude-3-opus-latest", "claude-3-opus"),
    ("claude-opus-5-2026-06-01", "claude-opus-5"),
    ("anthropic/claude-opus-4.6", "claude-opus-4-6"),
    ("claude-3.5-sonnet", "claude-3-5-sonnet"),
    ("<synthetic>", "<synthetic>"),
    ("", ""),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALISED)
def test_rule1_normalise_model_ids(raw: str, expected: str) -> None:
    assert normalise_model(raw) == expected


RESOLVED = [
    ("claude-opus-4-6[1m]", "claude-opus-4-6"),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
    ("claude-opus-4-20250514", "claude-opus-4"),
    ("claude-opus-4-0", "claude-opus-4"),  # an alias
    ("claude-sonnet-4-0", "claude-sonnet-4"),
    ("claude-4-5-opus", "claude-opus-4-5"),  # gateways swap family and version
    ("claude-sonnet-3.7", "claude-3-7-sonnet"),
    ("claude-mythos-5", "claude-mythos-5"),  # shares Fable 5's rates, its own id
    ("claude-mythos-5-2", "claude-mythos-5-2"),
]


@pytest.mark.parametrize(("raw", "canonical"), RESOLVED)
def test_rule1_resolve_to_canonical_id(raw: str, canonical: str) -> None:
    info = PRICER.resolve(raw)
    assert info.id == canonical
    assert not info.estimated
    assert info.priced_as is None


@pytest.mark.parametrize(
    ("twin", "source"),
    [
        ("claude-mythos-5", "claude-fable-5"),
        ("claude-mythos-5-1", "claude-fable-5-1"),
        ("claude-mythos-5-2", "claude-fable-5-2"),
        ("claude-mythos-preview", "claude-fable-5"),
    ],
)
def test_rule1_mythos_shares_fable_rates(twin: str, source: str) -> None:
    usage = Usage(123, 456, 789, 1011, 1213)
    for speed, geo in [(None, None), ("fast", "us")]:
        assert PRICER.cost_pico(twin, usage, NOW, speed, geo) == PRICER.cost_pico(
            source, usage, NOW, speed, geo
        )
    assert PRICER.resolve(twin).family == "mythos"


@given(st.text(max_size=60))
def test_rule1_normalise_is_idempotent(raw: str) -> None:
    once = normalise_model(raw)
    assert normalise_model(once) == once


@given(st.sampled_from([raw for raw, _ in NORMALISED + RESOLVED]), st.sampled_from(["", "[1m]"]))
def test_rule1_normalise_is_idempotent_on_real_ids(raw: str, suffix: str) -> None:
    once = normalise_model(raw + suffix)
    assert normalise_model(once) == once


# --- rule 2: every model in pricing.md 4.1 and the older ones genai-prices knows -------------

# transcript id, canonical id (None: the same), name after "Claude ",
# "in out 5m-write 1h-write cache-read" in USD per million tokens, context window;
# today's rates (2026-11-22). Sources: pricing.md 4.1; Claude 3.x from genai-prices 0.2.3.
TABLE = [
    ("claude-opus-4-1-20250805", "claude-opus-4-1", "Opus 4.1", "15 75 18.75 30 1.50", "200K"),
    ("claude-opus-4-20250514", "claude-opus-4", "Opus 4", "15 75 18.75 30 1.50", "200K"),
    ("claude-opus-4-5-20251101", "claude-opus-4-5", "Opus 4.5", "5 25 6.25 10 0.50", "200K"),
    ("claude-opus-4-6", None, "Opus 4.6", "5 25 6.25 10 0.50", "1M"),
    ("claude-opus-4-6-20260205", "claude-opus-4-6", "Opus 4.6", "5 25 6.25 10 0.50", "1M"),
    ("claude-opus-4-7", None, "Opus 4.7", "5 25 6.25 10 0.50", "1M"),
    ("claude-opus-4-8", None, "Opus 4.8", "5 25 6.25 10 0.50", "1M"),
    ("claude-opus-5", None, "Opus 5", "5 25 6.25 10 0.50", "1M"),
    ("claude-opus-5-5", None, "Opus 5.5", "4 20 5 8 0.20", "1M"),
    ("claude-sonnet-4-20250514", "claude-sonnet-4", "Sonnet 4", "3 15 3.75 6 0.30", "200K"),
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", "Sonnet 4.5", "3 15 3.75 6 0.30", "200K"),
    ("claude-sonnet-4-6", None, "Sonnet 4.6", "3 15 3.75 6 0.30", "1M"),
    ("claude-sonnet-5", None, "Sonnet 5", "2 10 2.50 4 0.20", "1M"),
    ("claude-sonnet-5-5", None, "Sonnet 5.5", "2 10 2.50 4 0.10", "1M"),
    ("claude-haiku-4-5-20251001", "claude-haiku-4-5", "Haiku 4.5", "1 5 1.25 2 0.10", "200K"),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku", "Haiku 3.5", "0.80 4 1 1.60 0.08", "200K"),
    ("claude-haiku-5-5", None, "Haiku 5.5", "0.10 0.50 0.125 0.20 0.01", "1M"),
    ("claude-fable-5", None, "Fable 5", "10 50 12.50 20 1.00", "1M"),
    ("claude-mythos-5", None, "Mythos 5", "10 50 12.50 20 1.00", "1M"),
    ("claude-fable-5-1", None, "Fable 5.1", "10 50 12.50 20 0.25", "1M"),
    ("claude-mythos-5-1", None, "Mythos 5.1", "10 50 12.50 20 0.25", "1M"),
    ("claude-fable-5-2", None, "Fable 5.2", "8 40 10 16 0.20", "1M"),
    ("claude-mythos-5-2", None, "Mythos 5.2", "8 40 10 16 0.20", "1M"),
    # not in pricing.md: LiteLLM 1.109.1 (deprecated 2026-06-09), Fable 5's rates
    ("claude-mythos-preview", None, "Mythos Preview", "10 50 12.50 20 1.00", "1M"),
    # older models that Claude Code transcripts of 2024-2025 can name: genai-prices 0.2.3
    ("claude-3-7-sonnet-20250219", "claude-3-7-sonnet", "Sonnet 3.7", "3 15 3.75 6 0.30", "200K"),
    ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet", "Sonnet 3.5", "3 15 3.75 6 0.30", "200K"),
    ("claude-3-opus-20240229", "claude-3-opus", "Opus 3", "15 75 18.75 30 1.50", "200K"),
    ("claude-3-sonnet-20240229", "claude-3-sonnet", "Sonnet 3", "3 15 3.75 6 0.30", "200K"),
    ("claude-3-haiku-20240307", "claude-3-haiku", "Haiku 3", "0.25 1.25 0.30 0.50 0.03", "200K"),
]  # fmt: skip
WINDOW = {"200K": 200_000, "1M": 1_000_000}
RATE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
)


@pytest.mark.parametrize(("raw", "canonical", "name", "rates", "window"), TABLE)
def test_rule2_every_model_in_the_table(
    raw: str, canonical: str | None, name: str, rates: str, window: str
) -> None:
    info = PRICER.resolve(raw)
    expected = ModelInfo(
        canonical or raw, f"Claude {name}", info.family, WINDOW[window], False, vendor="anthropic"
    )
    assert info == expected
    assert info.family is not None and info.family in info.id
    assert [PRICER.cost_pico(raw, one(field), NOW) for field in RATE_FIELDS] == [
        int(Decimal(rate) * M) for rate in rates.split()
    ]


def test_rule2_the_table_holds_exactly_these_models_newest_first() -> None:
    ids = PRICER.model_ids("anthropic")
    assert sorted(ids) == sorted({canonical or raw for raw, canonical, *_ in TABLE})
    assert ids[0] == "claude-fable-5-2"
    # each family's newest model comes first among that family's ids
    assert ids.index("claude-opus-5-5") < ids.index("claude-opus-5") < ids.index("claude-opus-4-8")
    assert ids.index("claude-sonnet-5-5") < ids.index("claude-sonnet-5")
    assert ids.index("claude-sonnet-4-6") < ids.index("claude-3-sonnet")
    assert (
        ids.index("claude-haiku-5-5") < ids.index("claude-haiku-4-5") < ids.index("claude-3-haiku")
    )


def test_rule2_table_date() -> None:
    assert PRICER.date == "2026-11-22"


# --- rule 3: cost ----------------------------------------------------------------------

HAND_COMPUTED = [
    # Opus 4.6, flat: 1000 x 5 + 500 x 25 + 2000 x 0.50 + 300 x 6.25 + 100 x 10 = $0.021375
    ("claude-opus-4-6", Usage(1000, 500, 2000, 300, 100), NOW, 21_375_000_000),
    # Opus 5.5 reads at 0.05x input: 10_000 x 0.20 = $0.002
    ("claude-opus-5-5", Usage(cache_read_tokens=10_000), NOW, 2_000_000_000),
    # Fable 5.1 reads at 0.025x input: 10_000 x 0.25 = $0.0025
    ("claude-fable-5-1", Usage(cache_read_tokens=10_000), NOW, 2_500_000_000),
    # Haiku 5.5 below its tier: 7 x 0.10 + 11 x 0.50 + 13 x 0.01 + 17 x 0.125 + 19 x 0.20
    ("claude-haiku-5-5", Usage(7, 11, 13, 17, 19), NOW, 12_255_000),
    # Haiku 3.5: 1_000_000 input tokens = $0.80 exactly
    ("claude-3-5-haiku-20241022", Usage(input_tokens=1_000_000), NOW, 800_000_000_000),
    ("claude-sonnet-4-5", Usage(), NOW, 0),
]


@pytest.mark.parametrize(("model", "usage", "when", "pico"), HAND_COMPUTED)
def test_rule3_cost_hand_computed(model: str, usage: Usage, when: float, pico: int) -> None:
    assert PRICER.cost_pico(model, usage, when) == pico


def test_rule3_cache_read_multipliers_come_from_data() -> None:
    # 0.1x, 0.05x, 0.025x input: nothing derives a read price from the input price
    ratios = {
        m: Decimal(PRICER.cost_pico(m, one("cache_read_tokens"), NOW))
        / PRICER.cost_pico(m, one("input_tokens"), NOW)
        for m in ("claude-opus-4-6", "claude-opus-5-5", "claude-sonnet-5-5", "claude-fable-5-1")
    }
    assert ratios == {
        "claude-opus-4-6": Decimal("0.1"),
        "claude-opus-5-5": Decimal("0.05"),
        "claude-sonnet-5-5": Decimal("0.05"),
        "claude-fable-5-1": Decimal("0.025"),
    }


def test_rule3_rates_are_exact_pico() -> None:
    # Every compiled rate (multipliers folded in: fast, US geo, service tier) equals exact
    # decimal arithmetic, for every vendor's models.
    *_, bundled = pricing._bundled()
    for model in bundled:
        entry = pricing._entry(model)
        fast, us = Decimal(repr(model.fast)), Decimal(repr(model.us_geo))
        multipliers = (Decimal(1), us, fast, fast * us)
        assert len(entry.variants) == 3 * len(multipliers)
        for n, periods in enumerate(entry.variants):
            book, mult = model.books[n // 4], multipliers[n % 4]
            for point, period in zip(book, periods, strict=True):
                mult_here = mult * Decimal(repr(point.multiplier))
                sources = [(point.rates, period.rates)]
                if point.tier_above != pricing._NO_TIER:
                    sources.append((point.tier, period.tier))
                for src, compiled in sources:
                    expected = [
                        Decimal(repr(getattr(src, f))) * mult_here * M for f in compiled._fields
                    ]
                    assert [Decimal(x) for x in compiled] == expected, model.info.id


Request = tuple[str, Usage, float, str | None, str | None]


def _transcript_requests(path: Path, upto_line: int | None = None) -> dict[object, Request]:
    """(message.id, requestId) -> (model, Usage, time, speed, geo), like the tailer."""
    requests: dict[object, Request] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if upto_line is not None and number > upto_line:
            break
        record = json.loads(line)
        message = record.get("message") or {}
        usage = message.get("usage") if record.get("type") == "assistant" else None
        if not usage:
            continue
        split = usage.get("cache_creation")
        writes = usage.get("cache_creation_input_tokens", 0)
        w5m, w1h = (
            (split["ephemeral_5m_input_tokens"], split["ephemeral_1h_input_tokens"])
            if split
            else (writes, 0)
        )
        requests[message["id"], record["requestId"]] = (
            message["model"],
            Usage(
                usage["input_tokens"],
                usage["output_tokens"],
                usage.get("cache_read_input_tokens", 0),
                w5m,
                w1h,
            ),
            ts(record["timestamp"].rstrip("Z")),
            usage.get("speed"),
            usage.get("inference_geo"),
        )
    return requests


def test_rule3_fixture_session_matches_claude_code_cost_state() -> None:
    project = FIXTURE / "claude-projects" / "-home-user-project"
    main = project / "11111111-2222-4333-8444-555555555555.jsonl"
    lines = main.read_text().splitlines()
    first = next(i for i, line in enumerate(lines, 1) if '"type":"cost-state"' in line)
    state = json.loads(lines[first - 1])
    assert state["totalCostUSD"] == 0.131928
    usage = state["modelUsage"]["claude-opus-5-5"]

    # Claude Code's own per-model total, priced as aitop would price it
    total = Usage(
        usage["inputTokens"],
        usage["outputTokens"],
        usage["cacheReadInputTokens"],
        usage["cacheCreationEphemeral5mInputTokens"],
        usage["cacheCreationEphemeral1hInputTokens"],
    )
    assert total == Usage(38, 631, 46055, 21989, 0)
    assert PRICER.cost_pico("claude-opus-5-5", total, NOW) == 131_928_000_000

    # and request by request, as aitop sees them: the main thread before the cost-state
    # line plus its subagent
    requests = _transcript_requests(main, first)
    requests |= _transcript_requests(
        project / main.stem / "subagents" / "agent-a2e952bb053af6377.jsonl"
    )
    pico = sum(PRICER.cost_pico(*request) for request in requests.values())
    assert pico == 131_928_000_000
    assert Decimal(pico) / PICO_PER_USD == Decimal("0.131928")


# --- rule 4: long-context tiers re-price the whole request -------------------------------

TIERS = [
    # model, when, threshold, base input rate, tier rates (in, out, 5m, 1h, read)
    ("claude-sonnet-4-5", NOW, 200_000, 3, (6, 22.5, 7.5, 12, 0.6)),
    ("claude-sonnet-4", NOW, 200_000, 3, (6, 22.5, 7.5, 12, 0.6)),
    ("claude-opus-4-6", ts("2026-03-12"), 200_000, 5, (10, 37.5, 12.5, 20, 1)),
    ("claude-sonnet-4-6", ts("2026-03-12"), 200_000, 3, (6, 22.5, 7.5, 12, 0.6)),
    ("claude-haiku-5-5", NOW, 100_000, 0.10, (0.5, 2.5, 0.625, 1, 0.05)),
]


@pytest.mark.parametrize(("model", "when", "threshold", "base", "tier"), TIERS)
def test_rule4_long_context_tier_reprices_every_token(
    model: str, when: float, threshold: int, base: float, tier: tuple[float, ...]
) -> None:
    # the prompt is input + cache read + cache writes; exactly at the threshold: base rates
    at = Usage(threshold - 25, 1000, 10, 5, 10)
    assert at.prompt_tokens == threshold
    assert PRICER.cost_pico(model, one("input_tokens"), when) == round(Decimal(str(base)) * M)
    assert PRICER.cost_pico(model, at, when) == sum(
        PRICER.cost_pico(model, one(f, getattr(at, f)), when) for f in Usage.__struct_fields__
    )
    # one token more: all tokens, output included, at the tier's rates
    over = Usage(at.input_tokens + 1, 1000, 10, 5, 10)
    t_in, t_out, t_5m, t_1h, t_read = (round(Decimal(str(x)) * M) for x in tier)
    assert PRICER.cost_pico(model, over, when) == (
        over.input_tokens * t_in + 1000 * t_out + 5 * t_5m + 10 * t_1h + 10 * t_read
    )


def test_rule4_threshold_counts_cache_tokens() -> None:
    # 1 input token, but a 200_001-token prompt from the cache: the tier applies
    usage = Usage(input_tokens=1, output_tokens=1, cache_read_tokens=200_000)
    assert (
        PRICER.cost_pico("claude-sonnet-4-5", usage, NOW) == 6 * M + 22_500_000 + 200_000 * 600_000
    )


@pytest.mark.parametrize(
    "model", ["claude-opus-4-7", "claude-opus-5-5", "claude-sonnet-5-5", "claude-fable-5-1"]
)
def test_rule4_flat_models_have_no_tier(model: str) -> None:
    small = Usage(input_tokens=1, output_tokens=1)
    big = Usage(input_tokens=900_000, output_tokens=1)
    per_input = PRICER.cost_pico(model, one("input_tokens"), NOW)
    assert PRICER.cost_pico(model, big, NOW) - PRICER.cost_pico(model, small, NOW) == (
        899_999 * per_input
    )


# --- rule 5: dated price changes ---------------------------------------------------------


def test_rule5_opus_and_sonnet_4_6_lose_their_tier_on_2026_03_13() -> None:
    big = Usage(input_tokens=300_000, output_tokens=1000)
    before, after = ts("2026-03-12T23:59:59"), ts("2026-03-13T00:00:00")
    assert PRICER.cost_pico("claude-opus-4-6", big, before) == 300_000 * 10 * M + 1000 * 37_500_000
    assert PRICER.cost_pico("claude-opus-4-6", big, after) == 300_000 * 5 * M + 1000 * 25 * M
    assert PRICER.cost_pico("claude-sonnet-4-6", big, before) == 300_000 * 6 * M + 1000 * 22_500_000
    assert PRICER.cost_pico("claude-sonnet-4-6", big, after) == 300_000 * 3 * M + 1000 * 15 * M
    # Sonnet 4.5 keeps its tier (no end date in pricing.md or genai-prices)
    assert PRICER.cost_pico("claude-sonnet-4-5", big, after) == 300_000 * 6 * M + 1000 * 22_500_000


def test_rule5_sonnet_5_5_cache_read_halves_on_2026_10_07() -> None:
    reads = Usage(cache_read_tokens=1_000_000)
    assert PRICER.cost_pico("claude-sonnet-5-5", reads, ts("2026-10-06T23:59:59")) == 200_000 * M
    assert PRICER.cost_pico("claude-sonnet-5-5", reads, ts("2026-10-07T00:00:00")) == 100_000 * M
    assert PRICER.cost_pico("claude-sonnet-5-5", reads, ts("2025-01-01")) == 200_000 * M
    # other fields did not change
    other = Usage(1, 1, 0, 1, 1)
    assert PRICER.cost_pico("claude-sonnet-5-5", other, ts("2026-10-06")) == PRICER.cost_pico(
        "claude-sonnet-5-5", other, NOW
    )


# --- rule 6: fast mode -------------------------------------------------------------------

FAST = {
    "claude-opus-4-6": 6,
    "claude-opus-4-7": 6,
    "claude-opus-4-8": 2,
    "claude-opus-5": 2,
    "claude-opus-5-5": 2,
    # genai-prices: Fable/Mythos 5.2 fast is $16/$80 = 2x (pricing.md lists no fast mode)
    "claude-fable-5-2": 2,
    "claude-mythos-5-2": 2,
}


@pytest.mark.parametrize("model", PRICER.model_ids())
def test_rule6_fast_mode_multiplies_the_whole_price(model: str) -> None:
    usage = Usage(1000, 2000, 3000, 4000, 5000)
    standard = PRICER.cost_pico(model, usage, NOW)
    assert PRICER.cost_pico(model, usage, NOW, speed="standard") == standard
    assert PRICER.cost_pico(model, usage, NOW, speed="fast") == standard * FAST.get(model, 1)


def test_rule6_fast_mode_applies_on_top_of_the_tier() -> None:
    # Opus 4.6 fast above 200K before 2026-03-13: 6 x $10 / 6 x $37.50
    big = Usage(input_tokens=300_000, output_tokens=1000)
    when = ts("2026-03-01")
    assert PRICER.cost_pico("claude-opus-4-6", big, when, speed="fast") == 6 * (
        300_000 * 10 * M + 1000 * 37_500_000
    )
    assert PRICER.cost_pico("claude-opus-4-6", one("input_tokens"), NOW, "fast") == 30 * M


# --- rule 7: US inference geo -----------------------------------------------------------

# LiteLLM 1.109.1 `provider_specific_entry: {"us": 1.1}`; Fable/Mythos 5.2 (not in LiteLLM)
# follow Anthropic's rule that it applies to every model released after 2026-02-01.
US_GEO = {
    "claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8", "claude-opus-5", "claude-opus-5-5",
    "claude-sonnet-4-6", "claude-sonnet-5", "claude-sonnet-5-5", "claude-haiku-5-5",
    "claude-fable-5", "claude-fable-5-1", "claude-mythos-5", "claude-mythos-5-1",
    "claude-mythos-preview", "claude-fable-5-2", "claude-mythos-5-2",
}  # fmt: skip


@pytest.mark.parametrize("model", PRICER.model_ids())
def test_rule7_us_inference_geo_uplift(model: str) -> None:
    usage = Usage(1000, 2000, 3000, 4000, 5000)
    standard = PRICER.cost_pico(model, usage, NOW)
    for other in (None, "", "global", "eu", "US "):
        assert PRICER.cost_pico(model, usage, NOW, inference_geo=other) == standard
    us = PRICER.cost_pico(model, usage, NOW, inference_geo="us")
    assert Decimal(us) == Decimal(standard) * (Decimal("1.1") if model in US_GEO else 1)


def test_rule7_geo_and_fast_stack() -> None:
    # Opus 4.6 input: $5 x 6 x 1.1 = $33 per million tokens
    assert PRICER.cost_pico("claude-opus-4-6", one("input_tokens"), NOW, "fast", "us") == 33 * M
    # Haiku 5.5 cache read: $0.01 x 1.1 = 11_000 pico per token, exactly
    assert PRICER.cost_pico("claude-haiku-5-5", one("cache_read_tokens"), NOW, None, "us") == 11_000


# --- rule 8: context window per model -----------------------------------------------------

WINDOWS = [
    ("claude-opus-4-6", 1_000_000),
    ("claude-sonnet-4-5-20250929", 200_000),
    ("claude-haiku-4-5", 200_000),
    ("claude-haiku-5-5[1m]", 1_000_000),
    ("claude-3-5-haiku-20241022", 200_000),
]


@pytest.mark.parametrize(("model", "window"), WINDOWS)
def test_rule8_context_window_per_model(model: str, window: int) -> None:
    """The table's window; a user's pick, the agent's word and a request seen using more
    are weighed by the aggregator (tests/test_aggregate.py)."""
    assert PRICER.context_window(model) == window


# --- rule 9: unknown models ---------------------------------------------------------------

UNKNOWN = [
    ("claude-opus-7", "opus", "claude-opus-5-5"),
    ("claude-opus-4-9-20270101", "opus", "claude-opus-5-5"),
    ("us.anthropic.claude-sonnet-6-v1:0", "sonnet", "claude-sonnet-5-5"),
    ("claude-haiku-6[1m]", "haiku", "claude-haiku-5-5"),
    ("claude-fable-6", "fable", "claude-fable-5-2"),
    ("claude-mythos-6", "mythos", "claude-mythos-5-2"),
    ("claude-instant-1", None, "claude-sonnet-5-5"),
    ("some-gateway-model", None, "claude-sonnet-5-5"),
    ("<synthetic>", None, "claude-sonnet-5-5"),
    ("", None, "claude-sonnet-5-5"),
]


@pytest.mark.parametrize(("model", "family", "priced_as"), UNKNOWN)
def test_rule9_unknown_models_priced_by_family_and_estimated(
    model: str, family: str | None, priced_as: str
) -> None:
    info = PRICER.resolve(model)
    assert info == ModelInfo(
        normalise_model(model),
        normalise_model(model),
        family,
        PRICER.resolve(priced_as).context_window,
        estimated=True,
        priced_as=priced_as,
        vendor="anthropic" if normalise_model(model).startswith("claude") else None,
    )
    usage = Usage(1000, 2000, 3000, 4000, 5000)
    cost = PRICER.cost_pico(model, usage, NOW, "fast", "us")
    assert cost == PRICER.cost_pico(priced_as, usage, NOW, "fast", "us") > 0


@given(st.text(max_size=40), st.integers(1, 10**6))
def test_rule9_never_zero_silently(model: str, tokens: int) -> None:
    info = PRICER.resolve(model)
    assert PRICER.cost_pico(model, Usage(input_tokens=tokens), NOW) > 0
    assert info.estimated == (info.priced_as is not None)


# --- rule 10: user overrides -------------------------------------------------------------


def test_rule10_override_replaces_a_model() -> None:
    pricer = Pricer.load({"Claude-Opus-4-6[1m]": ModelPrice(input=1, output=2, cache_read=0.5)})
    info = pricer.resolve("claude-opus-4-6-20260205")
    assert info == ModelInfo(
        "claude-opus-4-6", "Claude Opus 4.6", "opus", 1_000_000, False, vendor="anthropic"
    )
    usage = Usage(300_000, 10, 100, 1000, 10_000)  # no tier, no dates: the user's flat price
    expected = 300_000 * M + 10 * 2 * M + 100 * 500_000 + 1000 * 1_250_000 + 10_000 * 2 * M
    assert pricer.cost_pico("claude-opus-4-6", usage, ts("2026-03-01")) == expected
    # the service's fast-mode and US-geo multipliers still apply to the user's base rates
    assert pricer.cost_pico("claude-opus-4-6", usage, NOW, "fast") == 6 * expected
    # the bundled table is untouched
    assert PRICER.cost_pico("claude-opus-4-6", one("input_tokens"), NOW) == 5 * M


def test_rule10_override_of_an_alias_or_a_dated_id_replaces_its_model() -> None:
    pricer = Pricer.load(
        {
            "claude-opus-4-0": ModelPrice(input=1, output=1),
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0": ModelPrice(input=2, output=2),
        }
    )
    assert pricer.cost_pico("claude-opus-4-20250514", one("input_tokens"), NOW) == M
    assert pricer.cost_pico("claude-sonnet-4-5", one("input_tokens"), NOW) == 2 * M
    assert pricer.model_ids() == PRICER.model_ids()


def test_rule10_override_adds_a_model() -> None:
    pricer = Pricer.load(
        {"my-gateway/Local-Model": ModelPrice(input=2, output=8, context_window=32_000)}
    )
    info = pricer.resolve("local-model")
    assert info == ModelInfo("local-model", "local-model", None, 32_000, estimated=False)
    # defaults: 5m write 1.25x, 1h write 2x, read 0.1x input
    assert pricer.cost_pico("local-model", Usage(1, 1, 1, 1, 1), NOW) == (
        2 * M + 8 * M + 200_000 + 2_500_000 + 4 * M
    )
    assert pricer.model_ids() == [*PRICER.model_ids(), "local-model"]
    # unknown models with no family are still priced as the newest Sonnet, not as this one
    assert pricer.resolve("another-gateway-model").priced_as == "claude-sonnet-5-5"
    # a new model of a known family does not become that family's fallback
    pricer = Pricer.load({"claude-opus-9": ModelPrice(input=100, output=100)})
    assert not pricer.resolve("claude-opus-9").estimated
    assert pricer.resolve("claude-opus-8").priced_as == "claude-opus-5-5"
    assert pricer.resolve("claude-opus-9").context_window == 200_000


@pytest.mark.parametrize(
    "bad",
    [
        {"input": -1, "output": 1},
        {"input": 1, "output": math.inf},
        {"input": 1, "output": 1, "cache_read": math.nan},
        {"input": 1, "output": 1, "context_window": 0},
        {"input": 1},
        {"input": 1, "output": 1, "cache_write": 1},  # unknown field
    ],
)
def test_rule10_override_validation(bad: dict[str, float]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(bad, ModelPrice)


def test_rule10_override_from_toml() -> None:
    config = b'[pricing."claude-opus-4-6"]\ninput = 1.5\noutput = 7.5\n'
    overrides = msgspec.toml.decode(config, type=dict[str, dict[str, ModelPrice]])["pricing"]
    pricer = Pricer.load(overrides)
    assert pricer.cost_pico("claude-opus-4-6", Usage(1, 1), NOW) == 9 * M


# --- the data file -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snippet", "error"),
    [
        ("date = 2026-11-22\nextra = 1\nmodel = []\n", msgspec.ValidationError),
        (
            'date = 2026-11-22\n[[model]]\nid = "claude-x"\nname = "X"\nvendor = "anthropic"\nfamily = "opus"\n'
            "context_window = 1\ncolour = 1\n",
            msgspec.ValidationError,
        ),
        (
            'date = 2026-11-22\n[[model]]\nid = "claude-x"\nname = "X"\nvendor = "anthropic"\nfamily = "opus"\n'
            "context_window = 1\n[[model.price]]\ninput = -1.0\noutput = 1.0\n"
            "cache_write_5m = 1.0\ncache_write_1h = 1.0\ncache_read = 1.0\n",
            msgspec.ValidationError,
        ),
        (
            'date = 2026-11-22\n[[model]]\nid = "claude-x"\nname = "X"\nvendor = "anthropic"\nfamily = "opus"\n'
            "context_window = 1\n",
            ValueError,  # no price period
        ),
        (
            'date = 2026-11-22\n[[model]]\nid = "Claude-X-20250101"\nname = "X"\nvendor = "anthropic"\nfamily = "opus"\n'
            "context_window = 1\n",
            ValueError,  # not normalised
        ),
        (
            'date = 2026-11-22\n[[model]]\nid = "claude-x"\nname = "X"\nvendor = "anthropic"\nfamily = "opus"\n'
            "context_window = 1\n[[model.price]]\nsince = 2026-01-01\ninput = 1.0\noutput = 1.0\n"
            "cache_write_5m = 1.0\ncache_write_1h = 1.0\ncache_read = 1.0\n",
            ValueError,  # the first period has a start
        ),
    ],
)
def test_data_file_is_strict(snippet: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        table = msgspec.toml.decode(snippet.encode(), type=pricing._TableData)
        pricing._models_of(table)


def test_data_file_is_parsed_once() -> None:
    assert pricing._bundled() is pricing._bundled()


# --- properties ------------------------------------------------------------------------------

MODELS = st.sampled_from(PRICER.model_ids())
WHEN = st.one_of(
    st.sampled_from(
        [ts("2026-03-13") - 1, ts("2026-03-13"), ts("2026-10-07") - 1, ts("2026-10-07")]
    ),
    st.floats(ts("2024-01-01"), ts("2027-01-01")),
)
SPEED = st.sampled_from([None, "standard", "fast"])
GEO = st.sampled_from([None, "", "us"])
FIELDS = list(Usage.__struct_fields__)


def usages(most: int) -> st.SearchStrategy[Usage]:
    n = st.integers(0, most)
    return st.builds(Usage, n, n, n, n, n)


def add(a: Usage, b: Usage) -> Usage:
    return Usage(*(getattr(a, f) + getattr(b, f) for f in FIELDS))


@settings(max_examples=200)
@given(MODELS, usages(10_000), usages(10_000), WHEN, SPEED, GEO)
def test_property_cost_is_additive_below_tiers(
    model: str, a: Usage, b: Usage, when: float, speed: str | None, geo: str | None
) -> None:
    # 2 x 5 x 10_000 = 100_000: never above the lowest tier (Haiku 5.5's, strictly above 100K)
    cost = PRICER.cost_pico
    assert cost(model, add(a, b), when, speed, geo) == (
        cost(model, a, when, speed, geo) + cost(model, b, when, speed, geo)
    )


@settings(max_examples=200)
@given(MODELS, usages(400_000), st.sampled_from(FIELDS), st.integers(0, 300_000), WHEN, SPEED, GEO)
def test_property_cost_is_monotone_and_never_negative(
    model: str,
    usage: Usage,
    field: str,
    more: int,
    when: float,
    speed: str | None,
    geo: str | None,
) -> None:
    cost = PRICER.cost_pico(model, usage, when, speed, geo)
    assert cost >= 0
    bigger = add(usage, one(field, more))
    assert PRICER.cost_pico(model, bigger, when, speed, geo) >= cost
