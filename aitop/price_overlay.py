"""The price overlay: newer prices fetched by `aitop prices --update`, kept in the cache.

A JSON file in `$XDG_CACHE_HOME/aitop/` (default `~/.cache/aitop/`) that aitop writes
itself (so unknown fields are errors), dated with the moment it was fetched and naming
where from. Rates are USD per million tokens with every field resolved (no defaults left
to apply); `pricing.Pricer.load` merges it into the bundled table. This module only
reads and writes the file: `litellm_prices` makes one from LiteLLM's table.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

FORMAT = 1
FILE_NAME = "prices-litellm.json"
MAX_BYTES = 32 * 1024 * 1024  # LiteLLM's whole table is ~2 MB; the overlay keeps a fraction

Rate = Annotated[float, Meta(ge=0)]  # USD per million tokens
Vendor = Literal["anthropic", "openai", "google"]


class OverlayError(Exception):
    """The overlay cannot be used: what is wrong with it, in words."""


class OverlayRates(Struct, forbid_unknown_fields=True, frozen=True):
    input: Rate
    output: Rate
    cache_write_5m: Rate
    cache_write_1h: Rate
    cache_read: Rate

    def __post_init__(self) -> None:
        values = (self.input, self.output, self.cache_write_5m, self.cache_write_1h)
        if not all(math.isfinite(v) for v in (*values, self.cache_read)):
            raise ValueError("prices must be finite")


class OverlayPrice(Struct, forbid_unknown_fields=True, frozen=True):
    """One service tier's rates, and its long-context tier if the source lists one."""

    rates: OverlayRates
    tier_above: Annotated[int, Meta(gt=0)] | None = None
    tier: OverlayRates | None = None

    def __post_init__(self) -> None:
        if (self.tier_above is None) != (self.tier is None):
            raise ValueError("tier_above and tier come together")


class OverlayModel(Struct, forbid_unknown_fields=True, frozen=True):
    id: str  # normalised (pricing.normalise_model)
    vendor: Vendor
    standard: OverlayPrice
    priority: OverlayPrice | None = None  # OpenAI `service_tier` priority ("fast")
    flex: OverlayPrice | None = None
    context_window: Annotated[int, Meta(gt=0)] | None = None
    fast: Annotated[float, Meta(ge=1)] | None = None  # Anthropic `speed: fast` multiplier
    us_geo: Annotated[float, Meta(ge=1)] | None = None  # Anthropic US-only inference


class Overlay(Struct, forbid_unknown_fields=True, frozen=True):
    format: int
    fetched: datetime.datetime  # UTC
    source: str  # the URL it came from
    sha256: str  # of the bytes downloaded
    models: list[OverlayModel]


_decoder = msgspec.json.Decoder(Overlay)


def overlay_path(environ: Mapping[str, str]) -> str:
    """`$XDG_CACHE_HOME/aitop/prices-litellm.json` (default `~/.cache`)."""
    base = environ.get("XDG_CACHE_HOME") or os.path.join(_home(environ), ".cache")
    return os.path.join(base, "aitop", FILE_NAME)


def _home(environ: Mapping[str, str]) -> str:
    value = environ.get("HOME")
    return value if value else os.path.expanduser("~")


def read(path: str) -> Overlay | None:
    """The overlay in `path`, None when there is none; OverlayError when unusable."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OverlayError(f"cannot read it: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise OverlayError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
    return parse(data)


def parse(data: bytes) -> Overlay:
    try:
        overlay = _decoder.decode(data)
    except (msgspec.DecodeError, ValueError) as exc:
        raise OverlayError(f"not an aitop price overlay ({exc})") from None
    if overlay.format != FORMAT:
        raise OverlayError(f"format {overlay.format}, this aitop reads format {FORMAT}")
    if overlay.fetched.tzinfo is None:
        raise OverlayError("its fetch time has no time zone")
    ids = [m.id for m in overlay.models]
    if len(set(ids)) != len(ids):
        raise OverlayError("a model appears twice")
    return overlay


def encode(overlay: Overlay) -> bytes:
    return msgspec.json.format(msgspec.json.encode(overlay), indent=1) + b"\n"


def write(path: str, overlay: Overlay) -> None:
    """Replace `path` atomically (temporary file in the same directory, fsync, rename):
    a reader sees the old overlay or the new one, never half of one."""
    import tempfile

    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".prices-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(encode(overlay))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (best effort)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
