"""The log file, `~/.aitop/aitop.log`: rotated at 10 MB with one backup.

Logging must never stop the monitor or touch the screen: a full disk or a read-only
directory just means no log.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
from collections.abc import Mapping

from aitop.surrogates import printable

MAX_BYTES = 10 * 1024 * 1024
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

log = logging.getLogger("aitop")
log.addHandler(logging.NullHandler())  # never Python's last-resort handler on stderr
log.propagate = False


def level_from(environ: Mapping[str, str]) -> int:
    return LEVELS.get(environ.get("AITOP_LOG_LEVEL", "info").strip().lower(), logging.INFO)


def debugging(environ: Mapping[str, str]) -> bool:
    return level_from(environ) == logging.DEBUG


class _QuietHandler(logging.handlers.RotatingFileHandler):
    """A full disk or a vanished directory costs log lines, never the monitor."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass  # never print a logging failure over the screen

    def flush(self) -> None:
        with contextlib.suppress(OSError):
            super().flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            super().close()


class _Printable(logging.Formatter):
    """A file name that is not UTF-8 is written as JSON and the screen show it."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def setup(path: str, environ: Mapping[str, str]) -> None:
    logging.raiseExceptions = False
    log.setLevel(level_from(environ))
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        handler = _QuietHandler(
            path,
            maxBytes=MAX_BYTES,
            backupCount=1,
            delay=True,
            encoding="utf-8",
        )
    except OSError:
        log.addHandler(logging.NullHandler())
        return
    handler.setFormatter(_Printable("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
