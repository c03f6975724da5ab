"""config.toml: defaults, every value checked, one clear line for each mistake."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from aitop import config
from aitop.cli import main
from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.pricing import ModelPrice


def test_missing_file_is_the_defaults(tmp_path: Path) -> None:
    assert config.load(str(tmp_path / "none.toml")) == config.DEFAULT


def test_missing_file_named_on_the_command_line_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AitopError, match="no such file") as error:
        config.load(str(tmp_path / "none.toml"), required=True)
    assert error.value.code == ExitCode.USAGE


def test_every_table_is_read() -> None:
    text = b"""
refresh = 2.5
bell = true
theme = "mono"
[alerts]
burn_rate_usd_per_hour = 12
session_budget_usd = 3.5
[pricing.models."my-model"]
input = 1.5
output = 7.5
context_window = 300000
"""
    got = config.parse(text, "config.toml")
    assert (got.refresh, got.bell, got.theme) == (2.5, True, "mono")
    assert got.alerts.burn_rate_usd_per_hour == 12 and got.alerts.session_budget_usd == 3.5
    assert got.alerts.context_fill == 0.8  # untouched defaults stay
    assert got.pricing.models["my-model"] == ModelPrice(
        input=1.5, output=7.5, context_window=300000
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'[alerts]\nburn_rate_usd_per_hour = "lots"', "config.toml: alerts.burn_rate_usd_per_hour: expected a number, got a string"),
        (b"refresh = 0", "config.toml: refresh: expected a number > 0.0"),
        (b"[alerts]\ncontext_fill = 1.5", "config.toml: alerts.context_fill: expected a number <= 1.0"),
        (b'theme = "neon"', "config.toml: theme: expected one of 'default', 'mono', got 'neon'"),
        (b"colour = true", "config.toml: unknown key 'colour'"),
        (b"[alerts]\nburn = 1", "config.toml: alerts: unknown key 'burn'"),
        (b'[pricing.models.x]\ninput = 1', "config.toml: pricing.models.x: missing key 'output'"),
        (b"refresh = = 1", "config.toml:1:11: invalid value"),
        (b"refresh = 1\nrefresh = 2", "config.toml: cannot overwrite a value"),
        (b'[pricing.models."claude-x"]\ninput = 1\noutput = -2', "config.toml: pricing.models.claude-x.output: expected a number >= 0"),
        (b"\xff\xfe", "config.toml: not UTF-8 text"),
    ],
)  # fmt: skip
def test_bad_values_are_one_clear_line(text: bytes, message: str) -> None:
    with pytest.raises(AitopError) as error:
        config.parse(text, "config.toml")
    assert error.value.line().startswith(f"aitop: error: {message}")
    assert error.value.code == ExitCode.USAGE
    assert "\n" not in error.value.line()


def test_cli_reports_a_bad_config_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[alerts]\nburn_rate_usd_per_hour = "x"\n')
    err = io.StringIO()
    code = main(
        ["--config", str(path), "--print-config"],
        Env(stdout=io.StringIO(), stderr=err, environ={"HOME": str(tmp_path)}),
    )
    assert code == 2
    assert err.getvalue() == (
        f"aitop: error: {path}: alerts.burn_rate_usd_per_hour: expected a number, got a string;"
        " fix or remove it\n"
    )


def test_print_config_shows_the_effective_values(tmp_path: Path) -> None:
    cfg = tmp_path / "xdg" / "aitop" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("refresh = 3\n")
    out = io.StringIO()
    env = Env(
        stdout=out,
        stderr=io.StringIO(),
        environ={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")},
    )
    assert main(["--print-config"], env) == 0
    assert '"refresh": 3.0' in out.getvalue() and '"burn_rate_usd_per_hour": 5.0' in out.getvalue()
