"""OpenCode from the command line: `aitop -b --json` reading a store where the option (or the
XDG variable) says, with no plugin; a wrong `--opencode-data` is one line at start-up."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import aitop_command
from opencode_support import SESSIONS, fixture_db
from support import isolated_env, private_dir


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*aitop_command(), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = private_dir(tmp_path / "home")
    return isolated_env(home, private_dir(tmp_path / "run") / "aitop.sock")


def recent_store(tmp_path: Path, name: str) -> Path:
    """A capture's store, its times moved to a minute ago (start-up reads the last 15
    minutes, and whole sessions of those)."""
    data = tmp_path / "data" / "opencode"
    data.mkdir(parents=True)
    shutil.copy(fixture_db(name), data / "opencode.db")
    db = sqlite3.connect(data / "opencode.db")
    now_ms = int(datetime.now(UTC).timestamp() * 1000) - 60_000
    (newest,) = db.execute("SELECT max(time_created) FROM message").fetchone()
    shift = now_ms - newest
    db.execute(
        "UPDATE message SET time_created = time_created + ?, time_updated = time_updated + ?",
        (shift, shift),
    )
    db.execute(
        "UPDATE message SET data = json_set(data, '$.time.completed', json_extract(data, '$.time.completed') + ?)"
        " WHERE json_extract(data, '$.time.completed') IS NOT NULL",
        (shift,),
    )
    db.commit()
    db.close()
    return data


@pytest.mark.parametrize("how", ["option", "xdg"])
def test_batch_reads_the_store_without_the_plugin(
    env: dict[str, str], tmp_path: Path, how: str
) -> None:
    data = recent_store(tmp_path, "O4-subagent")
    truth = json.loads((SESSIONS / "O4-subagent" / "reconcile.json").read_text())
    (root,) = [s for s in truth["sessions"] if s["parent_id"] is None]
    args = ["--opencode-data", str(data)] if how == "option" else []
    if how == "xdg":
        env = env | {"XDG_DATA_HOME": str(data.parent)}
    result = run(env, "-b", "--json", "-n", "1", *args)
    assert result.returncode == 0, result.stderr
    snap = json.loads(result.stdout.splitlines()[-1])
    (row,) = [r for r in snap["sessions"] if r["agent"] == "opencode"]
    mock = truth["mock_without_title"]
    assert row["session_id"] == root["id"]
    assert (
        row["input_tokens"],
        row["output_tokens"],
        row["cache_read_tokens"],
        row["cache_write_tokens"],
    ) == (
        mock["input"],
        mock["output"] + mock["reasoning"],
        mock["cache_read"],
        mock["cache_write"],
    )
    assert row["subagents"] == 1 and row["requests"] == 4 and row["tool_calls"] == 2
    assert row["cwd"] == "/home/user/project"
    notes = {d["id"]: d["message"] for d in snap["diagnostics"]}
    assert "title request" in notes["opencode:store"]
    assert "aitop's plugin is not in" in notes["opencode:plugin"]
    agents = {a["agent"]: a for a in snap["agents"]}
    assert agents["opencode"]["requests"] == 4


def test_a_wrong_opencode_data_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = run(env, "-b", "-n", "1", "--opencode-data", str(missing))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"aitop: error: --opencode-data {missing}: no such directory; give --opencode-data the"
        " directory OpenCode writes to ($XDG_DATA_HOME/opencode, else"
        " ~/.local/share/opencode by default)\n"
    )
