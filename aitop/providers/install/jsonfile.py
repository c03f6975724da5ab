"""An agent's JSON settings file: read and check it whole before anything changes, write it
atomically (temp file in the same directory, fsync, rename, fsync of the directory),
keeping its mode, its owner and the previous bytes as `<name>.bak`, through a symlink to
its target. Anything wrong is one `file:line:col` error, exit 2, and nothing written.

What shape the document must have is the agent's to say: `load` takes its check, which
raises `ShapeError` with the JSON path of the first value that is wrong.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from aitop.errors import AitopError, ExitCode
from aitop.providers.install.jsontext import (
    JsonObject,
    JsonPath,
    JsonSyntaxError,
    Reader,
    dump,
    line_and_column,
    parse,
)

NOTHING_WRITTEN = "nothing was written"


class ShapeError(Exception):
    """The document holds something where aitop needs an object or a list."""

    def __init__(self, path: JsonPath, what: str) -> None:
        super().__init__(what)
        self.path = path
        self.what = what


ShapeCheck = Callable[[Any], None]  # raises ShapeError


@dataclass(frozen=True)
class Loaded:
    path: str  # as the user named it, for messages
    data: bytes | None  # None: no such file yet
    document: JsonObject


def _error_at(path: str, text: str | None, pos: int | None, what: str) -> AitopError:
    where = path
    if text is not None and pos is not None:
        line, column = line_and_column(text, pos)
        where = f"{path}:{line}:{column}"
    return AitopError(f"{where}: {what}", NOTHING_WRITTEN, ExitCode.USAGE)


def read_bytes(path: str) -> bytes | None:
    """The file's bytes, or None if it does not exist. Raises AitopError if unreadable."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None  # also a dangling symlink: its target gets created
    except OSError as error:
        raise AitopError(
            f"{path}: cannot read: {error.strerror}", NOTHING_WRITTEN, ExitCode.USAGE
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise AitopError(f"{path}: not a regular file", NOTHING_WRITTEN, ExitCode.USAGE)
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise AitopError(
            f"{path}: cannot read: {error.strerror}", NOTHING_WRITTEN, ExitCode.USAGE
        ) from None


def load(path: str, reader: Reader, check_shape: ShapeCheck) -> Loaded:
    """Read and check the file: an AitopError (exit 2, `file:line:col`) for anything wrong."""
    data = read_bytes(path)
    if data is None:
        return Loaded(path, None, {})
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise AitopError(
            f"{path}:{line}:{column}: not UTF-8 text", NOTHING_WRITTEN, ExitCode.USAGE
        ) from None
    try:
        document, where = parse(text, reader)
    except JsonSyntaxError as error:
        raise _error_at(path, text, error.pos, error.what) from None
    try:
        check_shape(document)
    except ShapeError as error:
        raise _error_at(path, text, where.get(error.path), error.what) from None
    return Loaded(path, data, document)


def encode(document: JsonObject, path: str) -> bytes:
    try:
        return dump(document)
    except (orjson.JSONEncodeError, TypeError) as error:
        # The reader refuses what orjson cannot write (lone surrogates, huge integers are
        # kept as text), so this guards only against values built some other way.
        raise AitopError(
            f"{path}: cannot be written back unchanged: {error}", NOTHING_WRITTEN, ExitCode.USAGE
        ) from None


def write(path: str, data: bytes, previous: bytes | None) -> str:
    """Atomically replace the file (through a symlink) and keep `previous` as `.bak`.

    Returns the path written. A file that changed since it was read is left alone.
    """
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    try:
        if previous is None:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            mode, owner = 0o600, None
        else:
            info = os.stat(target)
            mode, owner = stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid)
        if read_bytes(target) != previous:
            raise AitopError(
                f"{path} changed while aitop was working", f"{NOTHING_WRITTEN}; run it again"
            )
        if previous is not None:
            replace_file(target + ".bak", previous, mode, owner)
        replace_file(target, data, mode, owner)
    except OSError as error:
        raise AitopError(
            f"cannot write {path}: {error.strerror or error}", NOTHING_WRITTEN
        ) from None
    return target


def replace_file(target: str, data: bytes, mode: int, owner: tuple[int, int] | None = None) -> None:
    """Write a temp file beside `target`, make it durable, rename it over `target` (and
    make the rename durable): a reader sees the old bytes or the new, never half."""
    directory = os.path.dirname(target)
    fd, temp = tempfile.mkstemp(
        prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory
    )
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), mode)
            if owner is not None and owner != (os.geteuid(), os.getegid()):
                # `sudo aitop install` must not leave the user a file owned by root
                with contextlib.suppress(PermissionError):
                    os.fchown(file.fileno(), *owner)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable. Some file systems cannot; the data is written anyway."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
