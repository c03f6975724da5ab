"""`aitop prices [--update [URL]] [--json]`: what prices are in use, and fetching newer ones.

`--update` is tested against a copy of LiteLLM's table served on 127.0.0.1 by http.server;
nothing here goes further than loopback. Without `--update`, aitop never opens a network
connection (checked by making every connection attempt fail).
"""

from __future__ import annotations

import datetime
import io
import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aitop import prices_command
from aitop.cli import build_parser, main
from aitop.env import Env

from conftest import ROOT

TABLE = Path(__file__).resolve().parent / "fixtures" / "litellm"
LITELLM = (TABLE / "model_prices_1.109.1_anthropic_openai.json").read_bytes()
NOW = datetime.datetime(2026, 12, 1, 9, 30, tzinfo=datetime.UTC).timestamp()
LINE = re.compile(r"^aitop: error: [^\n]+; [^\n]+\n$")  # one line: what; what to do


class Served:
    """What the loopback server answers: a status and a body per path."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    served = Served()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append(self.path)
            status, body = served.routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def env(tmp_path: Path) -> Env:
    environ = {
        "HOME": str(tmp_path / "home"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    return Env(stdout=io.StringIO(), stderr=io.StringIO(), environ=environ, wall_clock=lambda: NOW)


def overlay_path(env: Env) -> Path:
    return Path(env.environ["XDG_CACHE_HOME"]) / "aitop" / "prices-litellm.json"


def run(env: Env, *args: str) -> tuple[int, str, str]:
    assert isinstance(env.stdout, io.StringIO) and isinstance(env.stderr, io.StringIO)
    env.stdout.seek(0)
    env.stdout.truncate()
    env.stderr.seek(0)
    env.stderr.truncate()
    code = main(["prices", *args], env)
    return code, env.stdout.getvalue(), env.stderr.getvalue()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every attempt to connect a socket anywhere fails loudly (and is recorded)."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise AssertionError(f"network access to {address!r}")

    def refuse_create(address: object, *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise AssertionError(f"network access to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse_create)
    return attempts


# --- showing the prices ---------------------------------------------------------------------


def test_prices_show_the_tables_date_and_source_and_every_model(
    env: Env, no_network: list[object]
) -> None:
    code, out, err = run(env)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("prices: aitop's table of 2026-11-22, from genai-prices 0.2.3")
    assert lines[1] == (
        "overlay: none; 'aitop prices --update' fetches LiteLLM's newer prices into"
        f" {overlay_path(env)}"
    )
    rows = {line.split()[0]: line.split() for line in lines if re.match(r"^[a-z0-9]", line)}
    # in force on 2026-12-01: Gemini 4 Argon's introductory price has ended
    assert rows["gemini-4-argon"][:6] == ["gemini-4-argon", "google", "1048576", "4", "20", "0.2"]
    assert rows["gpt-6.1-sol"][:8] == ["gpt-6.1-sol", "openai", "1.05M", "2", "10", "0.1", "2.5",
                                       "2.5"]  # fmt: skip
    assert "priority x2.5, flex x0.5" in " ".join(rows["gpt-5.5"])
    assert rows["claude-sonnet-4-5"][8:10] == [">200K:", "6/22.5"]
    assert rows["claude-sonnet-5-5"][-2:] == ["2026-10-07", "table"]
    assert "gpt-6.2-sol" not in rows  # in no table: priced as gpt-6.1-sol, marked ≈
    assert no_network == []


def test_prices_json(env: Env, no_network: list[object]) -> None:
    code, out, _ = run(env, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["table"]["date"] == "2026-11-22"
    assert document["overlay"] is None
    assert document["unit"] == "USD per million tokens"
    assert document["now"] == "2026-12-01T09:30:00+00:00"
    models = {m["id"]: m for m in document["models"]}
    assert models["gpt-5.4"]["flex"] == {
        "input": 1.25,
        "output": 7.5,
        "cache_write_5m": 1.25,
        "cache_write_1h": 1.25,
        "cache_read": 0.13,
    }
    assert models["gpt-5.4"]["long_context"]["above"] == 272_000
    assert models["claude-haiku-5-5"]["cache_read"] == 0.01
    assert {m["vendor"] for m in document["models"]} == {"anthropic", "openai", "google"}
    assert no_network == []


def test_prices_include_the_users_config(env: Env, tmp_path: Path) -> None:
    config = tmp_path / "config" / "aitop" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[pricing.models."gpt-5.5"]\ninput = 1\noutput = 2\n')
    code, out, _ = run(env)
    assert code == 0
    assert f"config: prices in {config} override both" in out
    row = next(line for line in out.splitlines() if line.startswith("gpt-5.5 "))
    assert row.split()[3:5] == ["1", "2"] and row.endswith("config")


# --- --update -------------------------------------------------------------------------------


def test_update_fetches_validates_and_keeps_a_dated_overlay(
    env: Env, server: tuple[str, Served]
) -> None:
    base, served = server
    served.routes["/prices.json"] = (200, LITELLM)
    url = f"{base}/prices.json"
    code, out, err = run(env, "--update", url)
    assert (code, err) == (0, "")
    assert served.requests == ["/prices.json"]
    path = overlay_path(env)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    saved = json.loads(path.read_bytes())
    assert saved["source"] == url
    assert saved["fetched"] == "2026-12-01T09:30:00Z"
    assert (
        f"overlay: {path}, fetched 2026-12-01 09:30 UTC from {url}: 48 models; newer prices"
        " from 2026-12-01 for: none; 8 models the table lacks"
    ) in out
    # and from now on `aitop prices` says so, and prices with it
    code, out, _ = run(env, "--json")
    document = json.loads(out)
    assert document["overlay"]["state"] == "used"
    assert document["overlay"]["fetched"] == "2026-12-01T09:30:00+00:00"
    sources = {m["id"]: m["source"] for m in document["models"]}
    assert sources["gpt-5-chat"] == "overlay" and sources["gpt-5.5"] == "table"


def test_update_with_newer_figures_changes_prices_from_that_day(
    env: Env, server: tuple[str, Served]
) -> None:
    base, served = server
    table = json.loads(LITELLM)
    table["gpt-5.5"]["input_cost_per_token"] = 4e-06
    served.routes["/t.json"] = (200, json.dumps(table).encode())
    code, out, _ = run(env, "--update", f"{base}/t.json", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["overlay"]["changed"] == ["gpt-5.5"]
    gpt = next(m for m in document["models"] if m["id"] == "gpt-5.5")
    assert (gpt["input"], gpt["since"], gpt["source"]) == (4.0, "2026-12-01", "overlay")


def test_update_uses_litellms_public_table_by_default() -> None:
    args = build_parser().parse_args(["prices", "--update"])
    assert (
        args.update
        == prices_command.DEFAULT_URL
        == (
            "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
        )
    )
    assert build_parser().parse_args(["prices"]).update is None


BAD = [
    (b"<html>Too Many Requests</html>", "not JSON"),
    (b'{"gpt-5": {"litellm_provider": "openai", "mode": "chat",'
     b' "input_cost_per_token": -1, "output_cost_per_token": 1e-05}}', "not a price per token"),
    (b"{}", "no Anthropic, OpenAI or Gemini chat model"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "why"), BAD)
def test_a_malformed_download_is_refused_and_nothing_is_written(
    env: Env, server: tuple[str, Served], body: bytes, why: str
) -> None:
    base, served = server
    served.routes["/good.json"] = (200, LITELLM)
    served.routes["/bad.json"] = (200, body)
    assert run(env, "--update", f"{base}/good.json")[0] == 0
    before = overlay_path(env).read_bytes()
    code, out, err = run(env, "--update", f"{base}/bad.json")
    assert (code, out) == (1, "")
    assert LINE.match(err), err
    assert err.startswith(f"aitop: error: refused {base}/bad.json: ")
    assert why in err and "(nothing was saved)" in err
    assert err.endswith(
        "; check that the URL serves LiteLLM's model_prices_and_context_window.json\n"
    )
    assert overlay_path(env).read_bytes() == before
    assert [p.name for p in overlay_path(env).parent.iterdir()] == ["prices-litellm.json"]


def test_a_malformed_first_download_writes_nothing(env: Env, server: tuple[str, Served]) -> None:
    base, served = server
    served.routes["/bad.json"] = (200, b"[]")
    code, _, err = run(env, "--update", f"{base}/bad.json")
    assert code == 1 and LINE.match(err)
    assert not overlay_path(env).exists()


def test_http_errors_are_one_line(env: Env, server: tuple[str, Served]) -> None:
    base, _ = server
    code, out, err = run(env, "--update", f"{base}/missing.json")
    assert (code, out) == (1, "")
    assert err == (
        f"aitop: error: cannot fetch {base}/missing.json: HTTP 404 Not Found; check the URL,"
        " or run 'aitop prices --update' for LiteLLM's own table\n"
    )
    assert not overlay_path(env).exists()


def test_an_unreachable_server_is_one_line(env: Env) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = run(env, "--update", f"http://127.0.0.1:{port}/t.json")
    assert code == 1
    assert LINE.match(err), err
    assert err.startswith(f"aitop: error: cannot fetch http://127.0.0.1:{port}/t.json: ")
    assert err.endswith("; check the network connection and the URL, then try again\n")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/t.json", "prices"])
def test_only_http_urls(env: Env, url: str, no_network: list[object]) -> None:
    code, _, err = run(env, "--update", url)
    assert code == 2
    assert err.startswith(
        f"aitop: error: --update: expected an http:// or https:// URL, got {url!r}"
    )
    assert LINE.match(err)
    assert no_network == []


def test_an_oversized_download_is_refused(
    env: Env, server: tuple[str, Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, served = server
    served.routes["/big.json"] = (200, LITELLM)
    monkeypatch.setattr(prices_command, "MAX_DOWNLOAD", len(LITELLM) - 1)
    code, _, err = run(env, "--update", f"{base}/big.json")
    assert code == 1 and LINE.match(err)
    assert "larger than" in err and "(nothing was saved)" in err
    assert not overlay_path(env).exists()


def test_an_unwritable_cache_is_one_line(env: Env, server: tuple[str, Served]) -> None:
    base, served = server
    served.routes["/t.json"] = (200, LITELLM)
    cache = Path(env.environ["XDG_CACHE_HOME"])
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("a file, not a directory")
    code, _, err = run(env, "--update", f"{base}/t.json")
    assert code == 1
    assert LINE.match(err), err
    assert err.startswith(f"aitop: error: cannot save the prices to {overlay_path(env)}: ")


def test_a_broken_overlay_is_said_and_ignored(env: Env) -> None:
    path = overlay_path(env)
    path.parent.mkdir(parents=True)
    path.write_text("{")
    code, out, err = run(env)
    assert (code, err) == (0, "")
    second = out.splitlines()[1]
    assert second.startswith(f"overlay: {path} is ignored: not an aitop price overlay")
    assert second.endswith("; 'aitop prices --update' fetches it again")


def test_an_old_overlay_is_said(env: Env, server: tuple[str, Served]) -> None:
    base, served = server
    served.routes["/t.json"] = (200, LITELLM)
    old = Env(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ=env.environ,
        wall_clock=lambda: datetime.datetime(2026, 11, 12, tzinfo=datetime.UTC).timestamp(),
    )
    assert run(old, "--update", f"{base}/t.json")[0] == 0
    _, out, _ = run(env)
    assert "older than the table, so used only for the 8 models the table lacks" in out


# --- no network anywhere else ------------------------------------------------------------------


def test_only_the_prices_command_can_reach_the_network() -> None:
    # aitop's sockets are Unix sockets; an HTTP client appears in one module only, and a
    # network socket in one more: --metrics, which listens and never connects out
    clients = re.compile(r"\b(urllib|http\.client|urlopen|create_connection)\b")
    network = re.compile(r"\bAF_INET6?\b")
    sources = {
        str(path.relative_to(ROOT)): path.read_text() for path in (ROOT / "aitop").rglob("*.py")
    }
    assert sorted(name for name, text in sources.items() if clients.search(text)) == [
        "aitop/prices_command.py"
    ]
    assert sorted(name for name, text in sources.items() if network.search(text)) == [
        "aitop/export.py"
    ]
    assert ".connect(" not in sources["aitop/export.py"]


def test_pricing_does_not_touch_the_network(
    no_network: list[object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aitop.events import Usage
    from aitop.pricing import Pricer

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    pricer = Pricer.load()
    assert pricer.cost_pico("gpt-6.2-sol", Usage(1), NOW) == 2_000_000
    assert no_network == []
