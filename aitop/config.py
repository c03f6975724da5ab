"""config.toml: refresh interval, alert thresholds, bell, theme, model prices.

Read with tomllib, validated with msgspec; a bad value is one clear line naming the
key, never a traceback. A missing file is the defaults, unless `--config` named it.
"""

from __future__ import annotations

import re
import tomllib
from typing import Annotated, Any, Literal, get_args

import msgspec
from msgspec import Meta, Struct

from aitop.alerts import Thresholds
from aitop.errors import AitopError, ExitCode
from aitop.pricing import ModelPrice


class PricingConfig(Struct, frozen=True, forbid_unknown_fields=True):
    models: dict[str, ModelPrice] = {}


Theme = Literal["default", "mono"]
THEMES: tuple[str, ...] = get_args(Theme)


class Config(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    refresh: Annotated[float, Meta(gt=0, le=3600)] = 1.0  # seconds between frames
    bell: bool = False  # ring (and notify) when a new alert appears
    theme: Theme = "default"
    privacy: bool = False  # no tool input at all in timelines (not even a command's first words)
    alerts: Thresholds = Thresholds()
    pricing: PricingConfig = PricingConfig()


DEFAULT = Config()

_TYPE_WORDS = {
    "float": "a number",
    "int": "an integer",
    "bool": "true or false",
    "str": "a string",
    "object": "a table",
    "array": "an array",
}


def load(path: str, *, required: bool = False) -> Config:
    """The configuration in `path`; the defaults when it does not exist."""
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except FileNotFoundError:
        if required:
            raise AitopError(
                f"{path}: no such file", "create it or drop --config", ExitCode.USAGE
            ) from None
        return DEFAULT
    except OSError as exc:
        raise AitopError(f"{path}: {exc.strerror}", "check the file", ExitCode.USAGE) from None
    return parse(text, path)


def parse(text: bytes, name: str) -> Config:
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise AitopError(f"{name}: not UTF-8 text", "save it as UTF-8", ExitCode.USAGE) from None
    except tomllib.TOMLDecodeError as exc:
        raise AitopError(_toml_error(name, str(exc)), "fix the file", ExitCode.USAGE) from None
    try:
        _check_model_prices(data)
        return msgspec.convert(data, Config)
    except msgspec.ValidationError as exc:
        raise AitopError(
            _validation_error(name, str(exc)), "fix or remove it", ExitCode.USAGE
        ) from None


def _check_model_prices(data: dict[str, Any]) -> None:
    """Each model on its own, so an error can name it (msgspec says `models[...]`)."""
    pricing = data.get("pricing")
    models = pricing.get("models") if isinstance(pricing, dict) else None
    if not isinstance(models, dict):
        return
    for model, price in models.items():
        try:
            msgspec.convert(price, ModelPrice)
        except msgspec.ValidationError as exc:
            text, _, where = str(exc).partition(" - at `")
            inner = where.rstrip("`").removeprefix("$")
            raise msgspec.ValidationError(
                f"{text} - at `$.pricing.models.{model}{inner}`"
            ) from None


def _toml_error(name: str, message: str) -> str:
    found = re.search(r"^(.*) \(at line (\d+), column (\d+)\)$", message)
    if found:
        what, line, column = found.groups()
        return f"{name}:{line}:{column}: {what[:1].lower()}{what[1:]}"
    return f"{name}: {message[:1].lower()}{message[1:]}"


def _validation_error(name: str, message: str) -> str:
    """msgspec's 'Expected `float`, got `str` - at `$.alerts.x`' in words:
    'name: alerts.x: expected a number, got a string'."""
    text, _, where = message.partition(" - at `")
    key = where.rstrip("`").removeprefix("$").lstrip(".")
    if found := re.match(r"Object contains unknown field `(.*)`", text):
        text = f"unknown key {found.group(1)!r}"
    elif found := re.match(r"Object missing required field `(.*)`", text):
        text = f"missing key {found.group(1)!r}"
    elif found := re.match(r"Invalid enum value (.*)", text):
        choices = ", ".join(repr(c) for c in _CHOICES.get(key, ()))
        text = f"expected one of {choices}, got {found.group(1)}" if choices else text.lower()
    else:
        text = re.sub(r"`(\w+)`", lambda m: _TYPE_WORDS.get(m.group(1), m.group(1)), text)
        text = text[:1].lower() + text[1:]
    return f"{name}: {key}: {text}" if key else f"{name}: {text}"


_CHOICES = {"theme": THEMES}


def to_dict(config: Config) -> dict[str, Any]:
    """The effective configuration, as `aitop --print-config` shows it."""
    result: dict[str, Any] = msgspec.to_builtins(config)
    return result
