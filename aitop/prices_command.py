"""`aitop prices [--update [URL]] [--json]`: the prices aitop uses, and fetching newer ones.

Prices go stale: without `--update` this shows the table's date and source, the overlay's
(if any) and every model's prices in force now. `--update` downloads LiteLLM's price table
(or URL's), refuses it unless it is one (nothing is written then), and keeps what aitop
uses of it as a dated overlay in the cache directory (price_overlay). This is the only
place aitop goes to the network, and only when asked to.
"""

from __future__ import annotations

import argparse
import datetime
import os
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aitop import __version__, paths
from aitop.env import Env
from aitop.errors import AitopError, ExitCode

if TYPE_CHECKING:  # the parser is built for every command: import these only to run this one
    from aitop.price_overlay import Overlay
    from aitop.pricing import ListedPrice, OverlayReport, Pricer, Rates

DEFAULT_URL = (
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
)
MAX_DOWNLOAD = 64 * 1024 * 1024  # LiteLLM's table is ~2 MB
TIMEOUT_S = 30.0
_PICO_PER_USD_PER_MTOK = 10**6  # pico-dollars per token at $1 per million tokens
_UTC = datetime.UTC


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--update",
        nargs="?",
        const=DEFAULT_URL,
        metavar="URL",
        help="fetch LiteLLM's price table (default: its public copy on GitHub) and keep it"
        " as a dated overlay in $XDG_CACHE_HOME/aitop/ (default ~/.cache/aitop/)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace, env: Env) -> int:
    from aitop import config as config_module
    from aitop import price_overlay
    from aitop.pricing import Pricer

    config_path = paths.config_path(env.environ, args.config)
    config = config_module.load(config_path, required=args.config is not None)
    overrides = config.pricing.models
    path = price_overlay.overlay_path(env.environ)
    now = env.wall_clock()
    if args.update is not None:
        update(args.update, path, now)
    pricer = Pricer.load(overrides, overlay=path)
    if args.json:
        import orjson

        document = as_json(pricer, now, config_path if overrides else None)
        env.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        lines = header(pricer, path, config_path if overrides else None)
        if args.update is None:
            lines += ["", *table(pricer, now)]
        for line in lines:
            print(line, file=env.stdout)
    return int(ExitCode.OK)


# --- fetching ---------------------------------------------------------------------------------


def update(url: str, path: str, now: float) -> Overlay:
    """Fetch `url`, check it, save it as the overlay in `path`; AitopError when any step
    fails, and then `path` is as it was."""
    from aitop import price_overlay
    from aitop.litellm_prices import LiteLLMError, convert

    body = fetch(url)
    fetched = datetime.datetime.fromtimestamp(now, _UTC)
    try:
        overlay = convert(body, url, fetched)
    except LiteLLMError as exc:
        raise AitopError(
            f"refused {url}: {exc} (nothing was saved)",
            "check that the URL serves LiteLLM's model_prices_and_context_window.json",
        ) from None
    try:
        price_overlay.write(path, overlay)
    except OSError as exc:
        directory = os.path.dirname(path)
        raise AitopError(
            f"cannot save the prices to {path}: {exc.strerror}",
            f"check that {directory} is a directory you can write to",
        ) from None
    return overlay


def fetch(url: str, timeout: float = TIMEOUT_S) -> bytes:
    """The body at `url` (http or https), at most MAX_DOWNLOAD bytes."""
    import http.client
    import urllib.error
    import urllib.request

    limit = MAX_DOWNLOAD
    scheme = url.partition(":")[0].lower()
    if scheme not in ("http", "https") or "://" not in url:
        raise AitopError(
            f"--update: expected an http:// or https:// URL, got {url!r}",
            "give the address of a model_prices_and_context_window.json, or no URL for"
            " LiteLLM's own",
            ExitCode.USAGE,
        )
    request = urllib.request.Request(
        url, headers={"User-Agent": f"aitop/{__version__}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body: bytes = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise AitopError(
            f"cannot fetch {url}: HTTP {exc.code} {exc.reason}",
            "check the URL, or run 'aitop prices --update' for LiteLLM's own table",
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise AitopError(
            f"cannot fetch {url}: {reason}",
            "check the network connection and the URL, then try again",
        ) from None
    if len(body) > limit:
        size = f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"
        raise AitopError(
            f"refused {url}: larger than {size} (nothing was saved)",
            "check that the URL serves LiteLLM's model_prices_and_context_window.json",
        )
    return body


# --- showing ----------------------------------------------------------------------------------


def _day(stamp: datetime.datetime | None) -> str:
    return stamp.astimezone(_UTC).strftime("%Y-%m-%d %H:%M UTC") if stamp else "?"


def overlay_line(report: OverlayReport | None, path: str) -> str:
    if report is None:
        return f"overlay: none; 'aitop prices --update' fetches LiteLLM's newer prices into {path}"
    if report.state == "ignored":
        return (
            f"overlay: {report.path} is ignored: {report.reason};"
            " 'aitop prices --update' fetches it again"
        )
    where = f"overlay: {report.path}, fetched {_day(report.fetched)} from {report.source}"
    if report.state == "older":
        return (
            f"{where}: older than the table, so used only for the {report.added} models"
            " the table lacks; 'aitop prices --update' fetches newer prices"
        )
    changed = ", ".join(report.changed) if report.changed else "none"
    since = report.fetched.astimezone(_UTC).date().isoformat() if report.fetched else "?"
    return (
        f"{where}: {report.models} models; newer prices from {since} for: {changed};"
        f" {report.added} models the table lacks"
    )


def header(pricer: Pricer, path: str, config_path: str | None) -> list[str]:
    """Where the prices come from: the table, the overlay in `path`, the config."""
    lines = [f"prices: aitop's table of {pricer.date}, from {pricer.source}"]
    lines.append(overlay_line(pricer.overlay, path))
    if config_path is not None:
        lines.append(f"config: prices in {config_path} override both")
    return lines


def _usd(pico: int) -> str:
    """Pico-dollars per token as USD per million tokens, exactly: 125000 -> '0.125'."""
    text = format(Decimal(pico) / _PICO_PER_USD_PER_MTOK, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _tokens(n: int) -> str:
    """1_000_000 -> 1M, 1_050_000 -> 1.05M, 272_000 -> 272K, 1_048_576 -> 1048576."""
    if n % 1000:
        return str(n)
    if n >= 1_000_000:
        return f"{Decimal(n) / 1_000_000:f}".rstrip("0").rstrip(".") + "M"
    return f"{n // 1000}K"


def _service(row: ListedPrice) -> str:
    parts = []
    for name, rates in (("priority", row.priority), ("flex", row.flex)):
        if rates is not None and row.rates.input:
            factor = round(Decimal(rates.input) / Decimal(row.rates.input), 2).normalize()
            parts.append(f"{name} x{factor:f}")
    return ", ".join(parts) or "-"


_COLUMNS = (
    ("MODEL", 24, "<"),
    ("VENDOR", 9, "<"),
    ("CONTEXT", 7, ">"),
    ("INPUT", 7, ">"),
    ("OUTPUT", 7, ">"),
    ("READ", 7, ">"),
    ("WRITE", 7, ">"),
    ("WRITE1H", 7, ">"),
    ("LONG CONTEXT", 18, "<"),
    ("SERVICE TIERS", 24, "<"),
    ("SINCE", 10, "<"),
    ("SOURCE", 7, "<"),
)


def table(pricer: Pricer, now: float) -> list[str]:
    """Every model's standard prices in force at `now`, USD per million tokens."""
    lines = [
        "USD per million tokens, in force now. READ: a cached prompt token; WRITE, WRITE1H:"
        " a cache write (Anthropic: 5-minute, 1-hour);",
        "LONG CONTEXT: above that many prompt tokens every token of the request costs"
        " these input/output rates; SINCE: start of the period in force.",
        "",
        _row([name for name, _, _ in _COLUMNS]),
    ]
    for row in pricer.price_list(now):
        r, info = row.rates, row.info
        tier = "-"
        if row.tier_above is not None and row.tier is not None:
            tier = f">{_tokens(row.tier_above)}: {_usd(row.tier.input)}/{_usd(row.tier.output)}"
        cells = [
            info.id,
            info.vendor or "-",
            _tokens(info.context_window),
            _usd(r.input),
            _usd(r.output),
            _usd(r.cache_read),
            _usd(r.cache_write_5m),
            _usd(r.cache_write_1h),
            tier,
            _service(row),
            row.since.isoformat() if row.since else "-",
            row.source,
        ]
        lines.append(_row(cells))
    return lines


def _row(cells: list[str]) -> str:
    out = []
    for text, (_, width, align) in zip(cells, _COLUMNS, strict=True):
        out.append(f"{text:{align}{width}}")
    return "  ".join(out).rstrip()


def _rates_json(rates: Rates) -> dict[str, float]:
    return {field: float(_usd(value)) for field, value in zip(rates._fields, rates, strict=True)}


def as_json(pricer: Pricer, now: float, config_path: str | None) -> dict[str, Any]:
    report = pricer.overlay
    overlay = None
    if report is not None:
        overlay = {
            "path": report.path,
            "state": report.state,
            "reason": report.reason or None,
            "fetched": report.fetched.isoformat() if report.fetched else None,
            "source": report.source or None,
            "models": report.models,
            "changed": list(report.changed),
            "added": report.added,
        }
    models = []
    for row in pricer.price_list(now):
        info = row.info
        models.append(
            {
                "id": info.id,
                "name": info.name,
                "vendor": info.vendor,
                "family": info.family,
                "context_window": info.context_window,
                "source": row.source,
                "since": row.since.isoformat() if row.since else None,
                **_rates_json(row.rates),
                "long_context": None
                if row.tier_above is None or row.tier is None
                else {"above": row.tier_above, **_rates_json(row.tier)},
                "priority": None if row.priority is None else _rates_json(row.priority),
                "flex": None if row.flex is None else _rates_json(row.flex),
            }
        )
    return {
        "table": {"date": pricer.date, "source": pricer.source},
        "overlay": overlay,
        "config": config_path,
        "now": datetime.datetime.fromtimestamp(now, _UTC).isoformat(),
        "unit": "USD per million tokens",
        "models": models,
    }
