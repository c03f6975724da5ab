"""The models Gemini CLI 0.61.0 can send are in the price table, priced as genai-prices 0.2.3
prices them (the same rules as every vendor: cached input, long-context tiers, dated periods).

The list is Gemini CLI's own: `VALID_GEMINI_MODELS` in its bundle (packages/core/src/config/
models.ts); a real_gemini test reads it from the installed bundle, so it cannot drift.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path

import genai_prices
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitop.events import Usage
from aitop.pricing import PICO_PER_USD, Pricer

PRICER = Pricer.load()
UTC = datetime.UTC

# Gemini CLI 0.61.0's VALID_GEMINI_MODELS (and the `-preview` name its model configs also
# use for 3.1 Flash-Lite).
CLI_MODELS = (
    "gemini-3-pro-preview",
    "gemini-3.1-pro-preview",
    "gemini-3.1-pro-preview-customtools",
    "gemini-3-flash-preview",
    "gemini-2.5-pro",
    "gemini-3.5-flash",
    "gemini-3.8-flash",
    "gemini-3-flash",
    "gemini-3.1-flash-lite",
    "gemini-3.1-flash-lite-preview",
    "gemini-3.5-flash-lite",
    "gemma-4-31b-it",
    "gemma-4-26b-a4b-it",
)
# ...and the ones aitop does not price as themselves, with why
NOT_PRICED = {
    "gemini-3-flash": "the Code Assist backend's name for its flash model (Google sign-in, a"
    " subscription): no API price exists; priced as the newest flash, marked estimated",
    "gemma-4-31b-it": "free on the Gemini API (genai-prices lists no price); aitop's vendor rules"
    " know gemini-* ids only: priced as Google's default family, marked estimated",
    "gemma-4-26b-a4b-it": "as gemma-4-31b-it",
}
PRICED = [m for m in CLI_MODELS if m not in NOT_PRICED]


def genai_pico(model: str, usage: Usage, when: datetime.datetime) -> Decimal:
    result = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.input_tokens + usage.cache_read_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            output_tokens=usage.output_tokens,
        ),
        model,
        provider_id="google",
        genai_request_timestamp=when,
    )
    return result.total_price * PICO_PER_USD


@pytest.mark.parametrize("model", PRICED)
def test_every_model_gemini_cli_sends_is_priced_as_itself(model: str) -> None:
    info = PRICER.resolve(model, "google")
    assert not info.estimated and info.vendor == "google", info


@pytest.mark.parametrize("model", sorted(NOT_PRICED))
def test_the_others_are_priced_by_family_and_said_to_be_estimates(model: str) -> None:
    info = PRICER.resolve(model, "google")
    assert info.estimated and info.vendor == "google"


@pytest.mark.parametrize("model", PRICED)
@settings(max_examples=40, deadline=None)
@given(
    usage=st.builds(
        Usage,
        input_tokens=st.integers(0, 400_000),
        output_tokens=st.integers(0, 64_000),
        cache_read_tokens=st.integers(0, 400_000),
    ),
    when=st.sampled_from(
        [
            datetime.datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC),
            datetime.datetime(2026, 12, 1, tzinfo=UTC),
            datetime.datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
            datetime.datetime(2027, 1, 1, tzinfo=UTC),
        ]
    ),
)
def test_prices_are_genai_prices(model: str, usage: Usage, when: datetime.datetime) -> None:
    ours = PRICER.cost_pico(model, usage, when.timestamp(), vendor="google")
    assert ours == genai_pico(model, usage, when)


def cli_models_in(bundle_dir: Path) -> set[str]:
    """The model ids of models.ts in an installed Gemini CLI bundle."""
    for path in sorted(bundle_dir.glob("*.js")):
        text = path.read_text(errors="replace")
        start = text.find("// packages/core/src/config/models.ts")
        end = text.find("var VALID_GEMINI_MODELS", start)
        if start >= 0 and end > start:
            found = set(re.findall(r'^var \w+ = "([a-z0-9.-]+)";$', text[start:end], re.M))
            return found - {"none"}
    raise AssertionError(f"no models.ts in {bundle_dir}")


@pytest.mark.real_gemini
def test_the_list_is_the_installed_gemini_clis(gemini_bundle: Path) -> None:
    assert cli_models_in(gemini_bundle) == set(CLI_MODELS) - {"gemini-3.1-flash-lite-preview"}


@pytest.fixture
def gemini_bundle() -> Path:
    from e2e import driver, gemini_driver

    try:
        found = gemini_driver.ensure_gemini(gemini_driver.cache_dir())
    except driver.Unavailable as exc:
        pytest.skip(str(exc))
    return found.parent
