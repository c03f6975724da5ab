"""The price overlay: LiteLLM's table made into an overlay, the overlay file, and how
Pricer.load merges it with the shipped table.

The rule (pricing.py): the user's config > the overlay > the shipped table. A model the
table lacks is taken from the overlay whatever its date. For a model the table has, an
overlay fetched on a later day than the table's date whose figures differ starts a new price
period on its fetch day (00:00 UTC); earlier requests keep the table's prices, and price
changes the table announces for later dates still happen. A long-context tier the overlay
leaves out is no news (LiteLLM omits several vendors' tiers).
"""

from __future__ import annotations

import calendar
import datetime
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from aitop import price_overlay
from aitop.events import Usage
from aitop.litellm_prices import LiteLLMError, convert
from aitop.price_overlay import Overlay, OverlayError
from aitop.pricing import ModelPrice, Pricer

TABLE = Path(__file__).resolve().parent / "fixtures" / "litellm"
LITELLM = (TABLE / "model_prices_1.109.1_anthropic_openai.json").read_bytes()
SHIPPED = Pricer.load(overlay=False)
M = 1_000_000
UTC = datetime.UTC
AFTER = datetime.datetime(2026, 11, 25, 15, 30, tzinfo=UTC)  # the table is of 2026-11-22
BEFORE = datetime.datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
URL = "http://127.0.0.1:9/model_prices_and_context_window.json"


def ts(day: str) -> float:
    return float(calendar.timegm(datetime.datetime.fromisoformat(day).timetuple()))


def litellm(changes: dict[str, dict[str, Any] | None]) -> bytes:
    """The stored LiteLLM table with entries changed (merged), added, or removed (None)."""
    table = json.loads(LITELLM)
    for key, fields in changes.items():
        if fields is None:
            del table[key]
        else:
            table[key] = {**table.get(key, {}), **fields}
    return json.dumps(table).encode()


def overlay_file(tmp_path: Path, body: bytes, fetched: datetime.datetime) -> str:
    path = str(tmp_path / "cache" / "aitop" / price_overlay.FILE_NAME)
    price_overlay.write(path, convert(body, URL, fetched))
    return path


@pytest.fixture
def aitop_log() -> Iterator[list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep()
    logger = logging.getLogger("aitop")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


# --- LiteLLM's table -> an overlay --------------------------------------------------------------


def test_litellm_1_109_1_changes_none_of_aitops_prices(tmp_path: Path) -> None:
    overlay = convert(LITELLM, URL, AFTER)
    assert overlay.source == URL and overlay.fetched == AFTER
    assert len(overlay.sha256) == 64
    ids = {m.id for m in overlay.models}
    assert len(ids) == len(overlay.models) == 48
    assert {"claude-opus-4-6", "gpt-5.5", "gpt-5.6", "gpt-5.6-sol"} <= ids
    pricer = Pricer.load(overlay=overlay_file(tmp_path, LITELLM, AFTER))
    report = pricer.overlay
    assert report is not None and report.state == "used"
    assert report.changed == ()  # every figure LiteLLM gives is already aitop's
    assert report.added == 8  # gpt-5-chat, gpt-5.5-cyber, ... (see test_pricing_litellm)
    usage = Usage(300_000, 1000, 5000, 700, 300)  # above every long-context threshold
    for model in SHIPPED.model_ids():
        for when in (ts("2026-03-01"), ts("2026-11-25"), ts("2027-02-01")):
            for tier in (None, "priority", "flex"):
                assert pricer.cost_pico(model, usage, when, service_tier=tier) == (
                    SHIPPED.cost_pico(model, usage, when, service_tier=tier)
                ), model
    # Sonnet 4.5's own LiteLLM key lists no >200K tier: aitop's stays
    sonnet = next(m for m in overlay.models if m.id == "claude-sonnet-4-5")
    assert sonnet.standard.tier is None
    assert (
        pricer.cost_pico("claude-sonnet-4-5", Usage(200_001), ts("2026-12-01")) == 200_001 * 6 * M
    )


def test_litellm_conversion_reads_every_rate_aitop_prices() -> None:
    body = json.dumps(
        {
            "claude-opus-9": {  # an Anthropic model with all of its fields
                "litellm_provider": "anthropic",
                "mode": "chat",
                "input_cost_per_token": 4e-06,
                "output_cost_per_token": 2e-05,
                "cache_read_input_token_cost": 2e-07,
                "cache_creation_input_token_cost": 5e-06,
                "cache_creation_input_token_cost_above_1hr": 8e-06,
                "input_cost_per_token_above_200k_tokens": 8e-06,
                "output_cost_per_token_above_200k_tokens": 3e-05,
                "max_input_tokens": 1000000,
                "provider_specific_entry": {"us": 1.1, "fast": 2.0},
            },
            "claude-haiku-9": {  # left out: Anthropic's published multipliers of input
                "litellm_provider": "anthropic",
                "mode": "chat",
                "input_cost_per_token": 1e-06,
                "output_cost_per_token": 5e-06,
            },
            "gpt-9": {  # left out: OpenAI bills an unpriced read or write as input
                "litellm_provider": "openai",
                "mode": "responses",
                "input_cost_per_token": 2e-06,
                "output_cost_per_token": 8e-06,
                "input_cost_per_token_priority": 4e-06,
                "input_cost_per_token_flex": 1e-06,
                "cache_read_input_token_cost_flex": 9e-08,
            },
            "gemini/gemini-9-flash": {
                "litellm_provider": "gemini",
                "mode": "chat",
                "input_cost_per_token": 3e-07,
                "output_cost_per_token": 2.5e-06,
                "cache_read_input_token_cost": 3e-08,
            },
            "azure/gpt-9": {"litellm_provider": "azure", "mode": "chat"},  # not the vendor's
            "gpt-9-tts": {"litellm_provider": "openai", "mode": "audio_speech"},  # not chat
            "gpt-9-free": {"litellm_provider": "openai", "mode": "chat"},  # no price given
            "sample_spec": {"litellm_provider": "one of https://docs.litellm.ai/docs/providers"},
        }
    ).encode()
    models = {m.id: m for m in convert(body, URL, AFTER).models}
    assert sorted(models) == ["claude-haiku-9", "claude-opus-9", "gemini-9-flash", "gpt-9"]
    opus = models["claude-opus-9"]
    assert (opus.vendor, opus.context_window, opus.fast, opus.us_geo) == (
        "anthropic",
        1_000_000,
        2.0,
        1.1,
    )
    assert opus.standard.rates == price_overlay.OverlayRates(4, 20, 5, 8, 0.2)
    assert opus.standard.tier_above == 200_000
    # the tier's cache rates LiteLLM leaves out are the standard ones scaled like input
    assert opus.standard.tier == price_overlay.OverlayRates(8, 30, 10, 16, 0.4)
    haiku = models["claude-haiku-9"].standard.rates
    assert haiku == price_overlay.OverlayRates(1, 5, 1.25, 2, 0.1)
    gpt = models["gpt-9"]
    assert gpt.vendor == "openai"
    assert gpt.standard.rates == price_overlay.OverlayRates(2, 8, 2, 2, 2)
    assert gpt.priority is not None and gpt.priority.rates == price_overlay.OverlayRates(
        4, 16, 4, 4, 4
    )
    assert gpt.flex is not None and gpt.flex.rates == price_overlay.OverlayRates(1, 4, 1, 1, 0.09)
    assert models["gemini-9-flash"].vendor == "google"


def test_the_key_that_is_the_id_wins() -> None:
    body = json.dumps(
        {
            "gpt-9-2027-01-01": {
                "litellm_provider": "openai",
                "mode": "chat",
                "input_cost_per_token": 9e-06,
                "output_cost_per_token": 9e-06,
            },
            "gpt-9": {
                "litellm_provider": "openai",
                "mode": "chat",
                "input_cost_per_token": 1e-06,
                "output_cost_per_token": 1e-06,
            },
        }
    ).encode()
    (model,) = convert(body, URL, AFTER).models
    assert model.id == "gpt-9" and model.standard.rates.input == 1


GOOD = {"litellm_provider": "openai", "mode": "chat", "output_cost_per_token": 1e-06}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>rate limited</html>", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "not a JSON object of models"),
        (b'{"gpt-9": 1}', "model 'gpt-9' is not a JSON object"),
        (b"{}", "no Anthropic, OpenAI or Gemini chat model"),
        (json.dumps({"x": {"litellm_provider": "mistral", "mode": "chat"}}).encode(),
         "no Anthropic, OpenAI or Gemini chat model"),
        (json.dumps({"gpt-9": {**GOOD, "input_cost_per_token": -1e-06}}).encode(),
         "input_cost_per_token is -1e-06, not a price per token"),
        (json.dumps({"gpt-9": {**GOOD, "input_cost_per_token": "0.000001"}}).encode(),
         "input_cost_per_token is '0.000001', not a number"),
        (json.dumps({"gpt-9": {**GOOD, "input_cost_per_token": True}}).encode(),
         "input_cost_per_token is True, not a number"),
        (json.dumps({"gpt-9": {**GOOD, "input_cost_per_token": 5.0}}).encode(),
         "not a price per token"),
        (json.dumps({"gpt-9": {**GOOD, "input_cost_per_token": 1e-06,
                               "cache_read_input_token_cost": None}}).encode(), None),
        (json.dumps({"claude-9": {**GOOD, "litellm_provider": "anthropic",
                                  "input_cost_per_token": 1e-06,
                                  "provider_specific_entry": {"fast": "2x"}}}).encode(),
         "provider_specific_entry.fast is '2x', not a multiplier"),
    ],
)  # fmt: skip
def test_a_malformed_table_is_refused(body: bytes, message: str | None) -> None:
    if message is None:  # null is an absent field, as LiteLLM writes some
        assert convert(body, URL, AFTER).models
        return
    with pytest.raises(LiteLLMError, match=message.replace("(", r"\(").replace(")", r"\)")):
        convert(body, URL, AFTER)


# --- the overlay file -------------------------------------------------------------------------


def test_overlay_file_round_trip_and_strictness(tmp_path: Path) -> None:
    overlay = convert(LITELLM, URL, AFTER)
    path = tmp_path / "sub" / "dir" / "prices.json"
    price_overlay.write(str(path), overlay)
    assert price_overlay.read(str(path)) == overlay
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["prices.json"]  # no temporary left
    assert price_overlay.read(str(tmp_path / "absent.json")) is None
    document = json.loads(path.read_bytes())
    for change, message in [
        ({"format": 2}, "format 2"),
        ({"colour": 1}, "not an aitop price overlay"),
        ({"fetched": "2026-11-25T15:30:00"}, "no time zone"),
        ({"models": document["models"][:1] * 2}, "a model appears twice"),
        ({"models": [{**document["models"][0], "vendor": "mistral"}]}, "not an aitop"),
    ]:
        path.write_bytes(json.dumps({**document, **change}).encode())
        with pytest.raises(OverlayError, match=message):
            price_overlay.read(str(path))
    path.write_bytes(b"\x00garbage")
    with pytest.raises(OverlayError, match="not an aitop price overlay"):
        price_overlay.read(str(path))


def test_overlay_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prices.json"
    first = convert(LITELLM, URL, BEFORE)
    price_overlay.write(str(path), first)
    before = path.read_bytes()

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        price_overlay.write(str(path), convert(LITELLM, URL, AFTER))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["prices.json"]


def test_the_overlay_path_follows_xdg() -> None:
    assert price_overlay.overlay_path({"HOME": "/home/u"}) == (
        "/home/u/.cache/aitop/prices-litellm.json"
    )
    assert price_overlay.overlay_path({"HOME": "/home/u", "XDG_CACHE_HOME": "/c"}) == (
        "/c/aitop/prices-litellm.json"
    )


# --- merging: config > overlay > table ---------------------------------------------------------


def gpt_5_5_cheaper() -> bytes:
    return litellm(
        {
            "gpt-5.5": {"input_cost_per_token": 4e-06, "input_cost_per_token_priority": 1e-05},
            "gpt-5.5-2026-04-23": None,
        }
    )


def test_a_newer_price_starts_on_the_day_it_was_fetched(tmp_path: Path) -> None:
    pricer = Pricer.load(overlay=overlay_file(tmp_path, gpt_5_5_cheaper(), AFTER))
    assert pricer.overlay is not None and pricer.overlay.changed == ("gpt-5.5",)
    one = Usage(input_tokens=1)
    assert pricer.cost_pico("gpt-5.5", one, ts("2026-11-24T23:59:59")) == 5 * M
    assert pricer.cost_pico("gpt-5.5", one, ts("2026-11-25T00:00:00")) == 4 * M
    assert pricer.cost_pico("gpt-5.5", one, ts("2026-11-25"), service_tier="priority") == 10 * M
    # what LiteLLM did not change stays: output, the >272K tier, flex as LiteLLM gives it
    assert pricer.cost_pico("gpt-5.5", Usage(output_tokens=1), ts("2026-12-01")) == 30 * M
    assert pricer.cost_pico("gpt-5.5", Usage(272_001), ts("2026-12-01")) == 272_001 * 10 * M
    assert pricer.cost_pico("gpt-5.5", one, ts("2026-12-01"), service_tier="flex") == (2_500_000)
    info = pricer.resolve("gpt-5.5")
    assert not info.estimated and info.name == "GPT-5.5"  # the table's model, newer prices
    listed = {row.info.id: row for row in pricer.price_list(ts("2026-12-01"))}
    assert listed["gpt-5.5"].source == "overlay"
    assert listed["gpt-5.5"].since == datetime.date(2026, 11, 25)
    assert listed["gpt-5.4"].source == "table"


def test_a_tier_the_overlay_leaves_out_is_kept_when_other_prices_change(tmp_path: Path) -> None:
    body = litellm({"claude-sonnet-4-5": {"input_cost_per_token": 2.5e-06}})
    pricer = Pricer.load(overlay=overlay_file(tmp_path, body, AFTER))
    assert pricer.overlay is not None and pricer.overlay.changed == ("claude-sonnet-4-5",)
    assert pricer.cost_pico("claude-sonnet-4-5", Usage(1), ts("2026-12-01")) == 2_500_000
    assert pricer.cost_pico("claude-sonnet-4-5", Usage(200_001), ts("2026-12-01")) == (
        200_001 * 6 * M
    )


def test_an_overlay_older_than_the_table_only_adds_models(tmp_path: Path) -> None:
    pricer = Pricer.load(overlay=overlay_file(tmp_path, gpt_5_5_cheaper(), BEFORE))
    report = pricer.overlay
    assert report is not None and report.state == "older" and report.changed == ()
    assert pricer.cost_pico("gpt-5.5", Usage(1), ts("2026-12-01")) == 5 * M
    # but a model the table lacks is priced, not estimated
    chat = pricer.resolve("gpt-5-chat-latest")
    assert not chat.estimated and chat.vendor == "openai"
    assert pricer.cost_pico("gpt-5-chat-latest", Usage(1), ts("2026-12-01")) == 1_250_000


def test_dated_changes_the_table_announces_still_happen(tmp_path: Path) -> None:
    body = json.dumps(
        {
            "gemini/gemini-3.8-flash": {
                "litellm_provider": "gemini",
                "mode": "chat",
                "input_cost_per_token": 8e-07,
                "output_cost_per_token": 3.75e-06,
                "cache_read_input_token_cost": 7.5e-08,
            }
        }
    ).encode()
    pricer = Pricer.load(overlay=overlay_file(tmp_path, body, AFTER))
    one = Usage(input_tokens=1)
    assert pricer.cost_pico("gemini-3.8-flash", one, ts("2026-11-24")) == 750_000
    assert pricer.cost_pico("gemini-3.8-flash", one, ts("2026-11-25")) == 800_000
    assert pricer.cost_pico("gemini-3.8-flash", one, ts("2027-01-01")) == 1_500_000  # the table's


def test_a_family_falls_back_on_its_newest_model_at_its_newer_price(tmp_path: Path) -> None:
    body = litellm(
        {
            "gpt-6.1-sol": {
                "litellm_provider": "openai",
                "mode": "responses",
                "input_cost_per_token": 1.5e-06,
                "output_cost_per_token": 1e-05,
                "cache_read_input_token_cost": 1e-07,
                "cache_creation_input_token_cost": 2.5e-06,
            }
        }
    )
    pricer = Pricer.load(overlay=overlay_file(tmp_path, body, AFTER))
    assert pricer.overlay is not None and pricer.overlay.changed == ("gpt-6.1-sol",)
    estimate = pricer.resolve("gpt-6.2-sol")
    assert estimate.estimated and estimate.priced_as == "gpt-6.1-sol"
    assert pricer.cost_pico("gpt-6.2-sol", Usage(1), ts("2026-12-01")) == 1_500_000


def test_models_only_the_overlay_knows(tmp_path: Path) -> None:
    body = litellm(
        {
            "gpt-6.2-sol": {
                "litellm_provider": "openai",
                "mode": "responses",
                "input_cost_per_token": 1.8e-06,
                "output_cost_per_token": 9e-06,
                "cache_read_input_token_cost": 9e-08,
                "cache_creation_input_token_cost": 2.25e-06,
                "max_input_tokens": 500000,
            }
        }
    )
    pricer = Pricer.load(overlay=overlay_file(tmp_path, body, AFTER))
    info = pricer.resolve("gpt-6.2-sol")
    assert not info.estimated and info.vendor == "openai" and info.context_window == 500_000
    usage = Usage(1000, 100, 10_000, 10)
    assert pricer.cost_pico("gpt-6.2-sol", usage, ts("2026-12-01")) == (
        1000 * 1_800_000 + 100 * 9 * M + 10_000 * 90_000 + 10 * 2_250_000
    )
    # priced, but not listed (the detail view compares with the table's models) and not
    # the fallback of its family: a later sol is still estimated from the table's newest
    assert "gpt-6.2-sol" not in pricer.model_ids()
    assert pricer.model_ids() == SHIPPED.model_ids()
    assert pricer.resolve("gpt-6.3-sol").priced_as == "gpt-6.1-sol"


def test_an_alias_gets_newer_prices_unless_the_models_own_id_says_otherwise(
    tmp_path: Path,
) -> None:
    # LiteLLM lists gpt-5.6 (aitop: an alias of gpt-5.6-sol) and gpt-5.6-sol apart
    alias_only = litellm({"gpt-5.6": {"input_cost_per_token": 3e-06}})
    own = Pricer.load(overlay=overlay_file(tmp_path, alias_only, AFTER))
    assert own.overlay is not None and own.overlay.changed == ()  # gpt-5.6-sol's own key rules
    without_own = litellm({"gpt-5.6": {"input_cost_per_token": 3e-06}, "gpt-5.6-sol": None})
    pricer = Pricer.load(overlay=overlay_file(tmp_path, without_own, AFTER))
    assert pricer.overlay is not None and pricer.overlay.changed == ("gpt-5.6-sol",)
    assert pricer.cost_pico("gpt-5.6-sol", Usage(1), ts("2026-12-01")) == 3 * M


def test_the_users_config_beats_the_overlay(tmp_path: Path) -> None:
    path = overlay_file(tmp_path, gpt_5_5_cheaper(), AFTER)
    pricer = Pricer.load({"gpt-5.5": ModelPrice(input=1, output=1)}, overlay=path)
    assert pricer.cost_pico("gpt-5.5", Usage(1), ts("2026-12-01")) == M
    assert pricer.cost_pico("gpt-5-chat", Usage(1), ts("2026-12-01")) == 1_250_000  # overlay


def test_a_bad_overlay_is_ignored_with_one_log_line(tmp_path: Path, aitop_log: list[str]) -> None:
    path = tmp_path / "prices.json"
    path.write_text('{"format": 1, "fetched": "2026-11-25T00:00:00Z"')
    pricer = Pricer.load(overlay=str(path))
    report = pricer.overlay
    assert report is not None and report.state == "ignored"
    assert "not an aitop price overlay" in report.reason
    assert aitop_log == [f"price overlay {path} ignored: {report.reason}"]
    assert pricer.cost_pico("gpt-5.5", Usage(1), ts("2026-12-01")) == 5 * M
    # an unreadable one too (a directory where the file should be: unreadable even by root)
    path.unlink()
    path.mkdir()
    report = Pricer.load(overlay=str(path)).overlay
    assert report is not None and report.state == "ignored"
    assert report.reason == "cannot read it: Is a directory"


def test_no_overlay_and_no_file(tmp_path: Path) -> None:
    assert Pricer.load(overlay=str(tmp_path / "none.json")).overlay is None
    assert Pricer.load(overlay=False).overlay is None


def test_load_reads_the_users_overlay_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    overlay_file(tmp_path, gpt_5_5_cheaper(), AFTER)  # tmp_path/cache/aitop/...
    pricer = Pricer.load()
    assert pricer.overlay is not None and pricer.overlay.changed == ("gpt-5.5",)
    assert pricer.cost_pico("gpt-5.5", Usage(1), ts("2026-12-01")) == 4 * M


def test_overlay_struct_decodes_only_what_aitop_writes() -> None:
    overlay = convert(LITELLM, URL, AFTER)
    again = msgspec.json.decode(price_overlay.encode(overlay), type=Overlay)
    assert again == overlay
