"""Codex's hook trust, asked of Codex itself: `codex app-server` (JSON-RPC over stdio).

`codex exec` skips a hook nobody trusted without a word. Codex keeps trust in the user's
config.toml, under a key made from the hook's *position* in hooks.json and a hash of what
it runs; upstream calls both legacy and means to change them. So aitop never computes or
writes that record itself: it asks Codex (`hooks/list` gives each hook's key, current hash
and trust status; `config/batchWrite` has Codex write the record, the way its own "Trust"
dialog does) and reads the answer back. The README's "Hooks need trust" says what the user
sees; tests/e2e/test_real_codex_install.py proves it against the real Codex.

Every exchange is bounded: one deadline for the whole conversation, and the server (the npm
wrapper and the native binary it starts, one process group) is stopped by its id at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any

import msgspec

from aitop import __version__

CODEX = "codex"
APP_SERVER_TIMEOUT_S = 30.0  # the whole conversation; a cold start takes well under 1 s
STOP_GRACE_S = 2.0
TRUSTED = frozenset({"trusted", "managed"})  # managed hooks (MDM, system) always run


class AppServerError(Exception):
    """Codex could not be asked: one line saying why."""


class ListedHook(msgspec.Struct, rename="camel"):
    """One hook as `hooks/list` describes it (only the fields aitop reads)."""

    key: str
    event_name: str
    source_path: str
    current_hash: str
    trust_status: str  # untrusted | trusted | modified | managed
    handler_type: str = "command"
    command: str | None = None
    source: str = ""
    enabled: bool = True


class HookProblem(msgspec.Struct):
    message: str
    path: str = ""


class _Listing(msgspec.Struct):
    hooks: list[ListedHook]
    errors: list[HookProblem] = []
    warnings: list[str] = []


class _ListResponse(msgspec.Struct):
    data: list[_Listing]


class _Message(msgspec.Struct):
    id: int | str | None = None
    method: str | None = None  # set on the server's own requests and notifications
    result: Any = None
    error: Any = None


_message = msgspec.json.Decoder(_Message)


def find_codex(environ: Mapping[str, str]) -> str | None:
    """The `codex` the user would run: the first on their PATH."""
    found = shutil.which(CODEX, path=environ.get("PATH", os.defpath))
    return os.path.abspath(found) if found else None


class AppServer:
    """`codex app-server` for `codex_home`, spoken to one request at a time."""

    def __init__(
        self,
        codex: str,
        codex_home: str,
        environ: Mapping[str, str],
        timeout: float | None = None,
    ) -> None:
        self.timeout = APP_SERVER_TIMEOUT_S if timeout is None else timeout
        self.deadline = time.monotonic() + self.timeout
        self._next_id = 0
        self._pending = b""
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        try:
            self.process = subprocess.Popen(
                [codex, "app-server"],
                cwd=codex_home,  # no project around it: only the user's own layer
                env={**environ, "CODEX_HOME": codex_home},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                start_new_session=True,  # its own group, so the native binary stops too
            )
        except OSError as error:
            self._stderr.close()
            raise AppServerError(f"cannot run {codex}: {error.strerror or error}") from None
        try:
            self.call("initialize", {"clientInfo": {"name": "aitop", "version": __version__}})
            self._send({"method": "initialized"})
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> AppServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def call(self, method: str, params: Mapping[str, Any]) -> Any:
        """The result of one request; AppServerError for an error, an exit or the deadline."""
        self._next_id += 1
        number = self._next_id
        self._send({"id": number, "method": method, "params": params})
        while True:
            line = self._line(method)
            try:
                message = _message.decode(line)
            except msgspec.DecodeError:
                continue  # not a JSON-RPC message (a log line): not ours
            if message.id != number or message.method is not None:
                continue  # a notification, the server's own request, another answer
            if message.error is not None:
                raise AppServerError(f"{method} failed: {_error_text(message.error)}")
            return message.result

    def _send(self, message: Mapping[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            raise AppServerError(self._ended()) from None

    def _line(self, method: str) -> bytes:
        """The next whole line of output, within the deadline."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self._pending:
            left = self.deadline - time.monotonic()
            readable = select.select([fd], [], [], max(0.0, left))[0] if left > 0 else []
            if not readable:
                raise AppServerError(
                    f"codex app-server did not answer {method} within {self.timeout:.0f} s"
                )
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise AppServerError(self._ended())
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    def _ended(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_GRACE_S)
        code = self.process.returncode
        said = _last_line(self._stderr)
        status = "ended" if code is None else f"exited with status {code}"
        return f"codex app-server {status}" + (f": {said}" if said else "")

    def close(self) -> None:
        """Close its input (it then quits by itself) and stop its group if it lingers."""
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, sig)
                try:
                    self.process.wait(timeout=STOP_GRACE_S)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


def _error_text(error: Any) -> str:
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return json.dumps(error)[:200]


def _last_line(stream: IO[bytes]) -> str:
    """The last non-empty line of what the server wrote to stderr (why it failed)."""
    with contextlib.suppress(OSError, ValueError):
        stream.seek(0)
        lines = [line.strip() for line in stream.read()[-4096:].splitlines() if line.strip()]
        if lines:
            return lines[-1].decode("utf-8", "replace")[:300]
    return ""


# ---------------------------------------------------------------------------------------
# What Codex says about one hooks.json


@dataclass(frozen=True)
class Listing:
    """The hooks Codex found in one hooks.json, and what it could not read there."""

    hooks: list[ListedHook]
    problems: list[str]  # Codex's own words: the file failed to parse, a hook was skipped


def same_file(listed: str, path: str) -> bool:
    """Whether Codex's `sourcePath` is `path`: Codex resolves CODEX_HOME's links, and the
    file itself may be a link (a dotfiles checkout)."""
    candidates = {
        os.path.realpath(path),
        os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path)),
    }
    return listed in candidates or os.path.realpath(listed) in candidates


def list_hooks(server: AppServer, codex_home: str, hooks_json: str) -> Listing:
    """`hooks/list`: the user-layer hooks Codex found in `hooks_json`, in its order."""
    result = server.call("hooks/list", {"cwds": [codex_home]})
    try:
        response = msgspec.convert(result, _ListResponse)
    except msgspec.ValidationError as error:
        raise AppServerError(f"hooks/list gave an answer aitop cannot read: {error}") from None
    hooks: list[ListedHook] = []
    problems: list[str] = []
    name = os.path.basename(hooks_json)
    for entry in response.data:
        hooks += [
            h for h in entry.hooks if h.source == "user" and same_file(h.source_path, hooks_json)
        ]
        problems += [p.message for p in entry.errors if name in p.path or name in p.message]
        problems += [w for w in entry.warnings if name in w]
    return Listing(hooks, list(dict.fromkeys(problems)))


def trust(server: AppServer, hooks: Iterable[ListedHook]) -> None:
    """Have Codex record trust for exactly `hooks`, at the hash it computed for each."""
    state = {hook.key: {"trusted_hash": hook.current_hash} for hook in hooks}
    if state:
        edit = {"keyPath": "hooks.state", "value": state, "mergeStrategy": "upsert"}
        server.call("config/batchWrite", {"edits": [edit]})


def forget(server: AppServer, keys: Sequence[str]) -> list[str]:
    """Have Codex remove its trust records for `keys`; the keys it could not name (a
    quote or backslash in the path) are returned, left as they are."""
    nameable = [key for key in keys if '"' not in key and "\\" not in key]
    edits = [
        {"keyPath": f'hooks.state."{key}"', "value": None, "mergeStrategy": "replace"}
        for key in nameable
    ]
    if edits:
        server.call("config/batchWrite", {"edits": edits})
    return [key for key in keys if key not in nameable]
