"""The log: ~/.aitop/aitop.log, rotated at 10 MB with one backup, level from
AITOP_LOG_LEVEL; the hook logs nothing unless asked; logging never stops aitop."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aitop import log as aitop_log
from aitop.log import MAX_BYTES, level_from, log, setup

from support import private_dir, run_hook


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    log.addHandler(logging.NullHandler())


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("debug", logging.DEBUG),
        ("WARNING", logging.WARNING),
        (" error ", logging.ERROR),
        ("", logging.INFO),
        ("loud", logging.INFO),
    ],
)
def test_level_comes_from_the_environment(value: str, level: int) -> None:
    assert level_from({"AITOP_LOG_LEVEL": value}) == level


def test_rotates_at_ten_megabytes_with_one_backup(tmp_path: Path) -> None:
    path = tmp_path / ".aitop" / "aitop.log"
    setup(str(path), {})
    line = "x" * 1000
    for _ in range(MAX_BYTES * 25 // 10 // 1000):  # 2.5 times the limit
        log.info(line)
    assert MAX_BYTES == 10 * 1024 * 1024
    assert path.stat().st_size <= MAX_BYTES
    assert (tmp_path / ".aitop" / "aitop.log.1").stat().st_size <= MAX_BYTES
    assert not (tmp_path / ".aitop" / "aitop.log.2").exists()
    assert os.stat(path.parent).st_mode & 0o777 == 0o700


def test_debug_lines_only_at_debug_level(tmp_path: Path) -> None:
    path = tmp_path / "aitop.log"
    setup(str(path), {"AITOP_LOG_LEVEL": "info"})
    log.debug("hidden")
    log.info("shown")
    assert path.read_text().count("shown") == 1 and "hidden" not in path.read_text()


def test_an_unwritable_log_never_stops_aitop(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    setup(str(blocked / "aitop.log"), {})  # its directory cannot be made
    log.error("still fine")
    assert any(isinstance(h, logging.NullHandler) for h in log.handlers)


def test_a_full_disk_never_reaches_the_screen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    setup(str(tmp_path / "aitop.log"), {})
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.stream = open("/dev/full", "w")  # noqa: SIM115 - the handler owns it
    log.error("the disk is full")
    assert capsys.readouterr() == ("", "")


def test_nothing_on_stderr_before_setup(capsys: pytest.CaptureFixture[str]) -> None:
    for handler in list(log.handlers):
        log.removeHandler(handler)
    log.addHandler(logging.NullHandler())
    log.error("no handler but the null one")
    assert capsys.readouterr() == ("", "")
    assert aitop_log.log.propagate is False


def test_the_hook_logs_nothing_unless_asked(tmp_path: Path) -> None:
    home = private_dir(tmp_path / "home")
    private_dir(home / ".aitop")
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "AITOP_SOCKET": str(tmp_path / "none.sock"),
    }
    payload = b'{"session_id":"s","hook_event_name":"Stop"}'
    assert run_hook(payload, env).returncode == 0
    assert not (home / ".aitop" / "aitop.log").exists()
    result = run_hook(payload, env | {"AITOP_LOG_LEVEL": "debug"})
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    text = (home / ".aitop" / "aitop.log").read_text()
    assert "DEBUG aitop.hook" in text and "hook failed" in text  # no monitor to talk to


def test_the_log_keeps_a_line_that_names_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    """Written as JSON and the screen show it, `\\xNN` for each such byte: never lost."""
    log_file = tmp_path / "aitop.log"
    setup(str(log_file), {"AITOP_LOG_LEVEL": "info"})
    log.warning("cannot read %s", os.fsdecode(b"/x/\xff.jsonl"))
    for handler in log.handlers:
        handler.flush()
    assert "cannot read /x/\\xff.jsonl" in log_file.read_text()
