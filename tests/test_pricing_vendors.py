"""Prices per vendor: OpenAI's and Google's models and rules, the vendor of an unknown model.

The usage priced is aitop's normalised one: input = uncached prompt tokens, cache reads and
writes apart, output with reasoning inside. A provider converts its agent's fields first
(Codex: input = input_tokens - cached_input_tokens; Gemini CLI: input = input - cached,
output = output + thoughts); the tests below do the same with real captures.
"""

from __future__ import annotations

import calendar
import datetime
import json
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from aitop import pricing
from aitop.events import Usage
from aitop.pricing import ModelInfo, ModelPrice, Pricer, family_of, normalise_model, vendor_of

PRICER = Pricer.load(overlay=False)
M = 1_000_000  # pico-dollars per token at $1 per million tokens
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def ts(day: str) -> float:
    return float(calendar.timegm(datetime.datetime.fromisoformat(day).timetuple()))


NOW = ts("2026-11-22T12:00:00")


def pico(usd_per_mtok: str | Decimal, tokens: int = 1) -> int:
    value = Decimal(usd_per_mtok) * M * tokens
    assert value == int(value)
    return int(value)


# --- ids: vendor, family, spelling ----------------------------------------------------------

IDS = [
    # raw id, normalised, vendor, family
    ("gpt-5.1", "gpt-5.1", "openai", "gpt"),
    ("gpt-5-1", "gpt-5.1", "openai", "gpt"),  # gateways' spelling (genai-prices matches it)
    ("gpt-5-1-codex-max", "gpt-5.1-codex-max", "openai", "gpt"),
    ("gpt-5-2025-08-07", "gpt-5", "openai", "gpt"),
    ("openai/gpt-5.5", "gpt-5.5", "openai", "gpt"),
    ("GPT-6.2-Sol", "gpt-6.2-sol", "openai", "sol"),
    ("gpt-6.1-terra", "gpt-6.1-terra", "openai", "terra"),
    ("gpt-5.6-luna-2026-07-30", "gpt-5.6-luna", "openai", "luna"),
    ("gpt-5.4-mini-2026-03-17", "gpt-5.4-mini", "openai", "mini"),
    ("gpt-5.1-codex-mini", "gpt-5.1-codex-mini", "openai", "mini"),
    ("gpt-5.5-pro", "gpt-5.5-pro", "openai", "pro"),
    ("codex-mini-latest", "codex-mini", "openai", "mini"),
    ("codex-auto-review", "codex-auto-review", "openai", "gpt"),
    ("o3-2025-04-16", "o3", "openai", "gpt"),
    ("o4-mini", "o4-mini", "openai", "mini"),
    ("gemini-2.5-pro", "gemini-2.5-pro", "google", "pro"),
    ("models/gemini-3.8-flash", "gemini-3.8-flash", "google", "flash"),
    ("google/gemini-3.5-flash-lite", "gemini-3.5-flash-lite", "google", "flash-lite"),
    ("gemini-4-argon", "gemini-4-argon", "google", "argon"),
    ("gemini-9-ultra", "gemini-9-ultra", "google", None),
    ("claude-opus-4.6", "claude-opus-4-6", "anthropic", "opus"),  # Anthropic: dots to dashes
    ("llama-4", "llama-4", None, None),
]


@pytest.mark.parametrize(("raw", "normalised", "vendor", "family"), IDS)
def test_ids_name_their_vendor_and_family(
    raw: str, normalised: str, vendor: str | None, family: str | None
) -> None:
    assert normalise_model(raw) == normalised
    assert normalise_model(normalised) == normalised
    assert vendor_of(normalised) == vendor
    assert family_of(vendor, normalised) == family


# --- OpenAI: every model in pricing.md 4.2 ---------------------------------------------------

# Codex id, canonical id (None: the same), "in cached out cache-write" USD per million tokens
# (cache write "-": none, billed as input), input context, >272K "in cached out" ("-": none),
# priority multiplier; today's rates (2026-11-22). Source: pricing.md 4.2.
OPENAI = [
    ("gpt-5", None, "1.25 0.125 10 -", 272_000, "-", 2),
    ("gpt-5-codex", None, "1.25 0.125 10 -", 272_000, "-", 2),
    ("gpt-5-mini", None, "0.25 0.025 2 -", 272_000, "-", Decimal("1.8")),  # LiteLLM, genai
    ("gpt-5.1", None, "1.25 0.125 10 -", 272_000, "-", 2),
    ("gpt-5.1-codex", None, "1.25 0.125 10 -", 400_000, "-", 2),
    ("gpt-5.1-codex-max", None, "1.25 0.125 10 -", 400_000, "-", 2),
    ("gpt-5.1-codex-mini", None, "0.25 0.025 2 -", 400_000, "-", 1),
    ("gpt-5.2", None, "1.75 0.175 14 -", 272_000, "-", 2),
    ("gpt-5.2-codex", None, "1.75 0.175 14 -", 272_000, "-", 2),
    ("gpt-5.3-codex", None, "1.75 0.175 14 -", 272_000, "-", 2),
    ("gpt-5.4", None, "2.50 0.25 15 -", 1_050_000, "5 0.50 22.50", 2),
    ("gpt-5.4-mini", None, "0.75 0.075 4.50 -", 272_000, "-", 2),
    ("gpt-5.5", None, "5 0.50 30 -", 1_050_000, "10 1 45", Decimal("2.5")),
    ("gpt-5.5-codex", "gpt-5.5", "5 0.50 30 -", 1_050_000, "10 1 45", Decimal("2.5")),
    ("gpt-5.6", "gpt-5.6-sol", "4 0.40 20 5", 922_000, "8 0.80 30", 2),
    ("gpt-5.6-sol", None, "4 0.40 20 5", 922_000, "8 0.80 30", 2),
    ("gpt-5.6-terra", None, "2 0.20 12 2.50", 922_000, "4 0.40 18", 2),
    ("gpt-5.6-luna", None, "0.20 0.02 1.20 0.25", 922_000, "0.40 0.04 1.80", 2),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "canonical", "rates", "window", "tier", "priority"), OPENAI)
def test_openai_models_of_pricing_md(
    raw: str, canonical: str | None, rates: str, window: int, tier: str, priority: Decimal
) -> None:
    info = PRICER.resolve(raw)
    assert (info.id, info.vendor, info.estimated) == (canonical or raw, "openai", False)
    assert info.context_window == window
    in_, cached, out, write = rates.split()
    write = in_ if write == "-" else write
    fields = [("input_tokens", in_), ("cache_read_tokens", cached), ("output_tokens", out)]
    fields += [("cache_write_5m_tokens", write), ("cache_write_1h_tokens", write)]
    for field, rate in fields:
        assert PRICER.cost_pico(raw, Usage(**{field: 1}), NOW) == pico(rate), field
        # the priority ("fast") service tier multiplies the whole price
        for spelling in ("priority", "fast"):
            cost = PRICER.cost_pico(raw, Usage(**{field: 1}), NOW, service_tier=spelling)
            assert cost == pico(Decimal(rate) * priority)
    big = Usage(input_tokens=272_001)
    expected = "-" if tier == "-" else tier.split()[0]
    assert PRICER.cost_pico(raw, big, NOW) == pico(in_ if expected == "-" else expected, 272_001)
    if tier != "-":  # the tier re-prices every token of the request, output and cache too
        t_in, t_cached, t_out = tier.split()
        usage = Usage(272_000 - 1000, 100, 1001)
        assert PRICER.cost_pico(raw, usage, NOW) == (
            pico(t_in, 271_000) + pico(t_out, 100) + pico(t_cached, 1001)
        )


def test_openai_input_includes_cached_so_the_provider_subtracts_it() -> None:
    # codex.md: a real token_count row on gpt-5.4 (2026-04-16): input_tokens 15562 of which
    # cached_input_tokens 10624, output_tokens 355 of which reasoning_output_tokens 166.
    usage = Usage(input_tokens=15562 - 10624, cache_read_tokens=10624, output_tokens=355)
    # 4938 x $2.50 + 10624 x $0.25 + 355 x $15 per million = $0.020326; reasoning is inside
    # output and is not priced again
    assert PRICER.cost_pico("gpt-5.4", usage, ts("2026-04-16T21:49:38")) == 20_326_000_000


def test_openai_cache_writes_are_input_unless_the_model_prices_them() -> None:
    writes = Usage(cache_write_5m_tokens=100_000)
    assert PRICER.cost_pico("gpt-5.5", writes, NOW) == pico(5, 100_000)  # as input
    assert PRICER.cost_pico("gpt-5.6-sol", writes, NOW) == pico(5, 100_000)  # 1.25 x $4
    assert PRICER.cost_pico("gpt-6.1-sol", writes, NOW) == pico("2.5", 100_000)
    # a model with no cached price (a pro model) reads at the input price
    assert PRICER.cost_pico("gpt-5.5-pro", Usage(cache_read_tokens=1), NOW) == pico(30)


def test_openai_service_tiers() -> None:
    usage = Usage(1000, 1000, 1000, 1000)
    standard = PRICER.cost_pico("gpt-5", usage, NOW)
    for same in (None, "default", "auto", "scale", "standard", ""):
        assert PRICER.cost_pico("gpt-5", usage, NOW, service_tier=same) == standard
    assert PRICER.cost_pico("gpt-5", usage, NOW, service_tier="flex") * 2 == standard
    assert PRICER.cost_pico("gpt-5", usage, NOW, service_tier="priority") == 2 * standard
    # gpt-5.4's flex figures are OpenAI's own: cached input $0.13, not half of $0.25
    read = Usage(cache_read_tokens=1)
    assert PRICER.cost_pico("gpt-5.4", read, NOW, service_tier="flex") == pico("0.13")
    assert PRICER.cost_pico("gpt-5.4", Usage(1), NOW, service_tier="flex") == pico("1.25")
    # o4-mini's priority is $2/$0.50/$8, not a round multiple of $1.10/$0.275/$4.40
    o4 = [PRICER.cost_pico("o4-mini", Usage(**{f: 1}), NOW, service_tier="priority") for f in
          ("input_tokens", "cache_read_tokens", "output_tokens")]  # fmt: skip
    assert o4 == [pico(2), pico("0.5"), pico(8)]
    # a tier on a model with no such figures costs the standard price
    codex_mini = PRICER.cost_pico("gpt-5.1-codex-mini", usage, NOW)
    assert PRICER.cost_pico("gpt-5.1-codex-mini", usage, NOW, service_tier="flex") == codex_mini
    # Anthropic's speed and OpenAI's tier do not mix up: `speed` means nothing to OpenAI
    assert PRICER.cost_pico("gpt-5", usage, NOW, "fast") == standard


def test_openai_dated_price_cuts() -> None:
    one = Usage(input_tokens=1)
    assert PRICER.cost_pico("gpt-5.6-sol", one, ts("2026-08-20T23:59:59")) == pico(5)
    assert PRICER.cost_pico("gpt-5.6-sol", one, ts("2026-08-21")) == pico(4)
    assert PRICER.cost_pico("gpt-5.6-terra", one, ts("2026-07-29")) == pico("2.5")
    assert PRICER.cost_pico("gpt-5.6-luna", one, ts("2026-07-30")) == pico("0.2")
    assert PRICER.cost_pico("o3", one, ts("2025-06-09")) == pico(10)
    assert PRICER.cost_pico("o3", one, ts("2025-06-10")) == pico(2)
    # a service tier multiplies the price of the day
    assert PRICER.cost_pico("gpt-5.6-sol", one, ts("2026-08-20"), service_tier="flex") == (
        pico("2.5")
    )


# --- Codex 0.171.0's default model is in no table: priced by its family, marked -------------


def test_gpt_6_2_sol_is_priced_as_the_newest_sol_and_marked_estimated() -> None:
    info = PRICER.resolve("gpt-6.2-sol")
    assert info == ModelInfo(
        "gpt-6.2-sol",
        "gpt-6.2-sol",
        "sol",
        1_050_000,
        estimated=True,
        priced_as="gpt-6.1-sol",
        vendor="openai",
    )
    usage = Usage(1000, 2000, 3000, 4000, 5000)
    for tier in (None, "priority", "flex"):
        assert PRICER.cost_pico("gpt-6.2-sol", usage, NOW, service_tier=tier) == (
            PRICER.cost_pico("gpt-6.1-sol", usage, NOW, service_tier=tier)
        )
    # the same when the caller says the vendor
    assert PRICER.resolve("gpt-6.2-sol", "openai") == info


def _x2_requests() -> list[tuple[str, Usage, float]]:
    requests = []
    path = FIXTURES / "codex" / "X2-model-switch-responses.jsonl"
    for line in path.read_text().splitlines():
        record = json.loads(line)
        usage = record["usage"]
        cached = usage["input_tokens_details"]["cached_tokens"]
        when = ts(record["ts"].rstrip("Z"))
        requests.append(
            (
                record["model"],
                Usage(
                    input_tokens=usage["input_tokens"] - cached,
                    output_tokens=usage["output_tokens"],  # reasoning_tokens are inside
                    cache_read_tokens=cached,
                ),
                when,
            )
        )
    return requests


def test_a_real_codex_session_across_three_models() -> None:
    # Session X2 of the Codex fixtures: gpt-6.2-sol (Codex 0.171.0's default), then gpt-5.5,
    # then gpt-6.1-terra; each switch compacts on the old model first. 10 responses.
    requests = _x2_requests()
    assert len(requests) == 10
    rates = {  # USD per million: input, cached input, output
        "gpt-6.2-sol": ("2", "0.10", "10"),  # estimated: gpt-6.1-sol's
        "gpt-5.5": ("5", "0.50", "30"),
        "gpt-6.1-terra": ("1", "0.05", "5"),
    }
    expected = 0
    for model, usage, _ in requests:
        r_in, r_cached, r_out = (Decimal(r) for r in rates[model])
        expected += pico(
            r_in * usage.input_tokens
            + r_cached * usage.cache_read_tokens
            + r_out * usage.output_tokens
        )
    total = sum(
        PRICER.cost_pico(model, usage, when, vendor="openai") for model, usage, when in requests
    )
    assert total == expected
    # mock ground truth (accounting.txt): 165019 input of which 145152 cached, 2458 output
    assert sum(u.input_tokens + u.cache_read_tokens for _, u, _ in requests) == 165019
    assert sum(u.cache_read_tokens for _, u, _ in requests) == 145152
    assert sum(u.output_tokens for _, u, _ in requests) == 2458
    estimated = {m for m, _, _ in requests if PRICER.resolve(m, "openai").estimated}
    assert estimated == {"gpt-6.2-sol"}


# --- Google -------------------------------------------------------------------------------------

GOOGLE = [
    # id, "in cached out" today, >200K "in cached out" ("-": none); genai-prices 0.2.3
    ("gemini-2.5-pro", "1.25 0.125 10", "2.50 0.25 15"),
    ("gemini-2.5-flash", "0.30 0.03 2.50", "-"),
    ("gemini-2.5-flash-lite", "0.10 0.01 0.40", "-"),
    ("gemini-3.1-pro-preview", "2 0.20 12", "4 0.40 18"),
    ("gemini-3.5-flash-lite", "0.30 0.03 2.50", "-"),
    ("gemini-3.8-flash", "0.75 0.075 3.75", "-"),
    ("gemini-4-argon", "2 0.10 10", "-"),
]


@pytest.mark.parametrize(("model", "rates", "tier"), GOOGLE)
def test_google_models(model: str, rates: str, tier: str) -> None:
    info = PRICER.resolve(model)
    assert (info.vendor, info.estimated) == ("google", False)
    in_, cached, out = rates.split()
    for field, rate in (("input_tokens", in_), ("cache_read_tokens", cached),
                        ("output_tokens", out), ("cache_write_5m_tokens", in_)):  # fmt: skip
        assert PRICER.cost_pico(model, Usage(**{field: 1}), NOW) == pico(rate)
    big = Usage(200_001, 10)
    t_in, _, t_out = (rates if tier == "-" else tier).split()
    assert PRICER.cost_pico(model, big, NOW) == pico(t_in, 200_001) + pico(t_out, 10)


def test_google_dated_changes() -> None:
    one = Usage(input_tokens=1)
    # gemini-4-argon's introductory price ends 2026-11-30; the flash line's 2026-12-31
    assert PRICER.cost_pico("gemini-4-argon", one, ts("2026-11-30T23:59:59")) == pico(2)
    assert PRICER.cost_pico("gemini-4-argon", one, ts("2026-12-01")) == pico(4)
    assert PRICER.cost_pico("gemini-3.7-flash", one, ts("2026-12-31T23:59:59")) == pico("0.75")
    assert PRICER.cost_pico("gemini-3.7-flash", one, ts("2027-01-01")) == pico("1.5")


def test_a_real_gemini_cli_session() -> None:
    # Gemini CLI 0.61.0 capture G1 (fixtures/gemini/README.md): 7 responses of
    # gemini-3.8-flash, prompt 84803 of which 37246 cached, output 308 plus 119 thoughts
    # (Gemini counts thoughts apart from candidates, and bills them as output).
    usage = Usage(input_tokens=84803 - 37246, cache_read_tokens=37246, output_tokens=308 + 119)
    when = ts("2026-12-01")
    # 47557 x $0.75 + 37246 x $0.075 + 427 x $3.75 per million = $0.04006245
    assert PRICER.cost_pico("gemini-3.8-flash", usage, when, vendor="google") == 40_062_450_000


# --- unknown models: their own vendor's family, never another vendor's -----------------------

UNKNOWN = [
    # model, vendor the caller names, priced as, vendor of the estimate
    ("gpt-6.2-sol", None, "gpt-6.1-sol", "openai"),
    ("gpt-6.3-terra", None, "gpt-6.1-terra", "openai"),
    ("gpt-6.1-luna", None, "gpt-6-luna", "openai"),
    ("gpt-7", None, "gpt-5.5", "openai"),
    ("gpt-5.9-mini", None, "gpt-5.4-mini", "openai"),
    ("gpt-6-nano", None, "gpt-5.4-nano", "openai"),
    ("gpt-6-pro", None, "gpt-5.5-pro", "openai"),
    ("o5", None, "gpt-5.5", "openai"),
    ("gpt-5.3-codex-spark", None, "gpt-5.5", "openai"),
    ("gemini-4-flash", None, "gemini-3.8-flash", "google"),
    ("gemini-3.9-flash-lite", None, "gemini-3.5-flash-lite", "google"),
    ("gemini-5-pro", None, "gemini-3.1-pro-preview", "google"),
    ("gemini-5-xenon", None, "gemini-3.1-pro-preview", "google"),
    # the caller's vendor decides for an id that names none
    ("my-deployment", "openai", "gpt-5.5", "openai"),
    ("my-deployment", "google", "gemini-3.1-pro-preview", "google"),
    ("my-deployment", "anthropic", "claude-sonnet-5-5", "anthropic"),
    ("my-deployment", None, "claude-sonnet-5-5", None),  # no vendor at all: as today
    ("my-deployment", "mistral", "claude-sonnet-5-5", None),  # a vendor aitop does not price
    ("my-deployment-mini", "openai", "gpt-5.4-mini", "openai"),
]


@pytest.mark.parametrize(("model", "vendor", "priced_as", "estimate_vendor"), UNKNOWN)
def test_unknown_models_are_priced_by_their_own_vendors_family(
    model: str, vendor: str | None, priced_as: str, estimate_vendor: str | None
) -> None:
    info = PRICER.resolve(model, vendor)
    assert info.estimated
    assert info.priced_as == priced_as
    assert info.vendor == estimate_vendor
    base = PRICER.resolve(priced_as)
    assert base.vendor == (estimate_vendor or "anthropic")
    assert info.context_window == base.context_window
    usage = Usage(1000, 2000, 3000, 4000, 5000)
    cost = PRICER.cost_pico(model, usage, NOW, service_tier="priority", vendor=vendor)
    assert cost == PRICER.cost_pico(priced_as, usage, NOW, service_tier="priority") > 0
    assert PRICER.context_window(model, vendor=vendor) == base.context_window


def test_a_known_model_is_its_own_whatever_vendor_the_caller_names() -> None:
    # Vertex serves Claude, OpenRouter serves anything: a model in the table is that model
    for vendor in ("anthropic", "openai", "google", None):
        assert PRICER.resolve("claude-opus-4-6", vendor).id == "claude-opus-4-6"
        assert PRICER.resolve("gpt-5.5", vendor).id == "gpt-5.5"
    # and the caller's vendor does not leak into another caller's lookups (separate caches)
    assert PRICER.resolve("my-deployment", "openai").priced_as == "gpt-5.5"
    assert PRICER.resolve("my-deployment").priced_as == "claude-sonnet-5-5"


# --- the table, by vendor --------------------------------------------------------------------


def test_model_ids_by_vendor() -> None:
    everything = PRICER.model_ids()
    parts = {v: PRICER.model_ids(v) for v in pricing.VENDORS}
    assert sorted(everything) == sorted(i for ids in parts.values() for i in ids)
    assert parts["openai"][0] == "gpt-6.1-sol"
    assert parts["google"][0] == "gemini-4-argon"
    assert parts["anthropic"][0] == "claude-fable-5-2"
    for vendor, ids in parts.items():
        assert all(PRICER.resolve(i).vendor == vendor for i in ids)


def test_override_of_an_openai_model_keeps_its_service_tiers() -> None:
    pricer = Pricer.load({"gpt-5.5": ModelPrice(input=1, output=2)}, overlay=False)
    usage = Usage(input_tokens=1, cache_write_5m_tokens=1, cache_read_tokens=10)
    # OpenAI's rule for what the user left out: writes at the input price, reads 0.1x
    assert pricer.cost_pico("gpt-5.5", usage, NOW) == pico(1) + pico(1) + pico("0.1", 10)
    assert pricer.cost_pico("gpt-5.5", usage, NOW, service_tier="priority") == pico(
        "2.5"
    ) * 2 + pico("0.25", 10)
    assert pricer.resolve("gpt-5.5").vendor == "openai"


# --- the data file: each vendor's rules are checked --------------------------------------------

HEAD = 'date = 2026-11-22\n[[model]]\nname = "X"\ncontext_window = 1\n'
PERIOD = "[[model.price]]\ninput = 1.0\noutput = 1.0\n"
ANTHROPIC_PERIOD = PERIOD + "cache_read = 1.0\ncache_write_5m = 1.0\ncache_write_1h = 1.0\n"


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ('id = "gpt-x"\nvendor = "anthropic"\nfamily = "opus"\n' + ANTHROPIC_PERIOD,
         "does not name vendor anthropic"),
        ('id = "claude-x"\nvendor = "openai"\nfamily = "gpt"\n' + PERIOD,
         "does not name vendor openai"),
        ('id = "gpt-x-mini"\nvendor = "openai"\nfamily = "gpt"\n' + PERIOD,
         "does not name family gpt"),
        ('id = "claude-opus-x"\nvendor = "anthropic"\nfamily = "opus"\n' + PERIOD,
         "cache_read, cache_write_5m and cache_write_1h needed"),
        ('id = "claude-opus-x"\nvendor = "anthropic"\nfamily = "opus"\n' + ANTHROPIC_PERIOD
         + "cache_write = 1.0\n", "Anthropic prices cache_write_5m and cache_write_1h"),
        ('id = "gpt-x"\nvendor = "openai"\nfamily = "gpt"\n' + PERIOD + "cache_write_5m = 1.0\n",
         "one cache-write price"),
        ('id = "gpt-x"\nvendor = "openai"\nfamily = "gpt"\nflex = 0.5\n' + PERIOD
         + "[[model.flex_price]]\ninput = 1.0\noutput = 1.0\n", "a multiplier or a price"),
        ('id = "gpt-x"\nvendor = "openai"\nfamily = "gpt"\n' + PERIOD
         + "[[model.priority_price]]\nsince = 2026-01-01\ninput = 1.0\noutput = 1.0\n",
         "a first price period with no `since`"),
    ],
)  # fmt: skip
def test_data_file_vendor_rules(snippet: str, message: str) -> None:
    table = msgspec.toml.decode((HEAD + snippet).encode(), type=pricing._TableData)
    with pytest.raises(ValueError, match=message):
        pricing._models_of(table)


def test_data_file_needs_a_vendor_and_knows_only_three() -> None:
    for vendor_line in ("", 'vendor = "mistral"\n'):
        snippet = HEAD + 'id = "claude-x"\nfamily = "opus"\n' + vendor_line + ANTHROPIC_PERIOD
        with pytest.raises(msgspec.ValidationError, match="vendor"):
            msgspec.toml.decode(snippet.encode(), type=pricing._TableData)


def test_same_as_stays_within_a_vendor() -> None:
    snippet = (
        'date = 2026-11-22\n[[model]]\nid = "gpt-x"\nname = "X"\nvendor = "openai"\n'
        'family = "gpt"\ncontext_window = 1\n' + PERIOD + '[[model]]\nid = "gemini-x-pro"\n'
        'name = "Y"\nvendor = "google"\nfamily = "pro"\ncontext_window = 1\nsame_as = "gpt-x"\n'
    )
    table = msgspec.toml.decode(snippet.encode(), type=pricing._TableData)
    with pytest.raises(ValueError, match="same_as"):
        pricing._models_of(table)
