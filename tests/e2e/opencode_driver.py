"""Drive the real OpenCode CLI (npm `opencode-ai`, pinned) against the scripted mock LLM API
(`tests/fixtures/opencode/mock_llm.py`) on 127.0.0.1, with aitop's plugin written by
`aitop install --agent opencode --write` and a real `aitop -b --json` on the rig's socket.

What `tests/fixtures/opencode/run_real_opencode.sh` does, in Python, so that the tests own
every process (each with a timeout, each stopped by its own id):

* `ensure_opencode()` installs the pinned version with npm (`--ignore-scripts`: the
  wrapper's postinstall would run `opencode --version` under the caller's HOME) into a
  cache directory (`$AITOP_OC_CACHE`, default `~/.cache/aitop-opencode`) once and reuses
  it; it returns the platform binary, which the npm wrapper would exec.
* `MockLLM` runs the mock on a free port and reads its request log: one line per HTTP
  request, with the `x-session-id` header OpenCode sends and the exact usage the mock
  answered (`usage_norm`: the ground truth).
* `OpenCodeSandbox` is a temporary HOME with OpenCode's XDG directories under it and its
  `opencode.json`: two custom providers on the mock (Anthropic Messages and
  OpenAI-compatible Chat Completions), models named as real ones so aitop prices them.
* `OpenCodeRig` ties them together: `run()` is one `opencode run` (`--session ID`
  continues a session), `serve()` an `opencode serve` whose sessions `run --attach` uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .driver import npm_install, stop_process, wait_until
from conftest import aitop_command
from support import Monitor, private_dir

OC_PACKAGE = "opencode-ai"
OC_VERSION = "1.18.33"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "opencode"
MOCK = FIXTURES / "mock_llm.py"
API_KEY = "mock-loopback-api-key-not-a-secret-0000"
SYSTEM_PATH = "/usr/bin:/bin"  # enough for OpenCode's bash tool
NPM_TIMEOUT_S = 600.0
VERSION_TIMEOUT_S = 60.0
OPENCODE_TIMEOUT_S = 120.0
START_TIMEOUT_S = 20.0
_PLATFORMS = (
    "opencode-linux-x64",
    "opencode-linux-x64-baseline",
    "opencode-linux-arm64",
    "opencode-linux-x64-musl",
    "opencode-linux-x64-baseline-musl",
    "opencode-linux-arm64-musl",
    "opencode-darwin-arm64",
    "opencode-darwin-x64",
    "opencode-darwin-x64-baseline",
)

# The models of the sandbox's config. Costs are OpenCode's own (it prices a request with
# them); sonnet has none, so OpenCode's figure for it is 0, as for any custom model.
SONNET = "mock/claude-sonnet-4-5"
HAIKU = "mock/claude-haiku-4-5"
GPT = "mockoai/gpt-5"


# --- installing OpenCode -----------------------------------------------------------------------


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    configured = environ.get("AITOP_OC_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "aitop-opencode"


def find_opencode(prefix: Path, version: str = OC_VERSION) -> Path | None:
    """The runnable platform binary of `version` under the npm prefix, if installed."""
    for name in _PLATFORMS:
        candidate = prefix / "node_modules" / name / "bin" / "opencode"
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        try:  # a throw-away HOME: even --version creates ~/.cache/opencode, ~/.config/opencode
            result = subprocess.run(
                [str(candidate), "--version"],
                capture_output=True,
                text=True,
                timeout=VERSION_TIMEOUT_S,
                env={"PATH": SYSTEM_PATH, "HOME": str(prefix / ".probe-home")},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0 and result.stdout.split()[-1:] == [version]:
            return candidate
    return None


def ensure_opencode(prefix: Path, version: str = OC_VERSION) -> Path:
    """OpenCode `version` under `prefix`, installed with npm when missing (~6 s, ~355 MB)."""
    return npm_install(
        prefix, OC_PACKAGE, version, find_opencode, "opencode", npm_args=("--ignore-scripts",)
    )


# --- the mock API ---------------------------------------------------------------------------


class MockLLM:
    """`mock_llm.py` on 127.0.0.1, on a free port, logging every request. One mock per rig:
    its prompt-cache state spans the invocations, as a real API's would."""

    def __init__(self, work: Path) -> None:
        self.log = work / "mock-requests.jsonl"
        port_file = work / "mock.port"
        self._stderr: IO[bytes] = (work / "mock.stderr").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(MOCK),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--port-file",
                str(port_file),
                "--log",
                str(self.log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env={"PATH": SYSTEM_PATH, "LANG": "C.UTF-8"},
            start_new_session=True,
        )

        def port() -> str:
            if self.process.poll() is not None:
                raise AssertionError(f"mock API exited: {(work / 'mock.stderr').read_text()}")
            return port_file.read_text().strip() if port_file.exists() else ""

        self.base_url = f"http://127.0.0.1:{wait_until(port, 'the mock API', START_TIMEOUT_S)}/v1"

    def requests(self) -> list[dict[str, Any]]:
        """Every request logged so far (whole lines only: the mock may be mid-write)."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().split("\n")[:-1] if line]

    def close(self) -> None:
        stop_process(self.process)
        self._stderr.close()


# --- a temporary HOME -------------------------------------------------------------------------


class OpenCodeSandbox:
    """HOME with OpenCode's XDG directories, the project it works in, aitop's socket."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = private_dir(root / "home")
        self.config_home = self.home / ".config"
        self.data_home = self.home / ".local" / "share"
        self.config_dir = self.config_home / "opencode"
        self.data_dir = self.data_home / "opencode"
        self.db = self.data_dir / "opencode.db"
        self.project = self.home / "project"
        self.project.mkdir()
        (self.project / "notes.txt").write_text("hello from a test file\n")
        self.socket = private_dir(root / "run") / "aitop.sock"

    def write_config(self, base_url: str) -> None:
        """The README's config, with model names aitop's price table knows."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        options = {"baseURL": base_url, "apiKey": API_KEY}
        config = {
            "$schema": "https://opencode.ai/config.json",
            "autoupdate": False,
            "share": "disabled",
            "model": SONNET,
            "small_model": HAIKU,
            "permission": {
                "bash": "allow",
                "edit": "allow",
                "read": "allow",
                "webfetch": "deny",
                "external_directory": "allow",
            },
            "provider": {
                "mock": {
                    "npm": "@ai-sdk/anthropic",
                    "name": "Mock Anthropic (loopback)",
                    "options": options,
                    "models": {
                        "claude-sonnet-4-5": {
                            "name": "Mock Sonnet (no cost configured)",
                            "limit": {"context": 200000, "output": 32000},
                        },
                        "claude-haiku-4-5": {
                            "name": "Mock Haiku (cost configured)",
                            "limit": {"context": 200000, "output": 32000},
                            "cost": {
                                "input": 1.0,
                                "output": 5.0,
                                "cache_read": 0.1,
                                "cache_write": 1.25,
                            },
                        },
                    },
                },
                "mockoai": {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "Mock OpenAI-compatible (loopback)",
                    "options": options,
                    "models": {
                        "gpt-5": {
                            "name": "Mock GPT-5 (cost configured)",
                            "reasoning": True,
                            "limit": {"context": 272000, "output": 16000},
                            "cost": {"input": 1.25, "output": 10.0, "cache_read": 0.125},
                        }
                    },
                },
            },
        }
        (self.config_dir / "opencode.json").write_text(json.dumps(config, indent=2) + "\n")

    def env(self) -> dict[str, str]:
        """Only what OpenCode needs: nothing of the caller's leaks in."""
        return {
            "HOME": str(self.home),
            "USER": "user",
            "LOGNAME": "user",
            "SHELL": "/bin/bash",
            "TERM": "dumb",
            "PATH": SYSTEM_PATH,
            "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": str(self.config_home),
            "XDG_DATA_HOME": str(self.data_home),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "OPENCODE_DISABLE_MODELS_FETCH": "1",
            "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        }

    def aitop_env(self) -> dict[str, str]:
        """For aitop's own commands: the sandbox's HOME and XDG directories and socket."""
        env = {
            "HOME": str(self.home),
            "PATH": os.environ.get("PATH", SYSTEM_PATH),
            "LANG": "C.UTF-8",
            "AITOP_SOCKET": str(self.socket),
            "XDG_CONFIG_HOME": str(self.config_home),
            "XDG_DATA_HOME": str(self.data_home),
        }
        for name in ("VIRTUAL_ENV", "PYTHONPATH"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def run_aitop(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*aitop_command(), *args],
            env=self.aitop_env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Read the store as the README's reconcile.py does (read-only, in place)."""
        db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()


# --- opencode run / serve ---------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    name: str
    prompt: str
    model: str
    returncode: int
    stdout: str
    stderr: str
    session_id: str | None

    def output(self) -> str:
        return (
            f"--- {self.name} exit {self.returncode}\n{self.stdout[-2000:]}\n{self.stderr[-3000:]}"
        )


def _session_of(stdout: str) -> str | None:
    for line in stdout.splitlines():
        with contextlib.suppress(ValueError):
            sid = json.loads(line).get("sessionID")
            if isinstance(sid, str) and sid.startswith("ses_"):
                return sid
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OpenCodeRig:
    """One test's world: a sandbox whose OpenCode talks to its own mock; aitop's plugin
    installed (unless `plugin=False`: the store-only path) and a real `aitop -b --json`
    listening on the sandbox's socket (unless `monitor=False`: the test runs one there,
    e.g. on `socket`, a monitor it shares with other agents)."""

    def __init__(
        self,
        root: Path,
        binary: Path,
        *,
        plugin: bool = True,
        monitor: bool = True,
        socket: Path | None = None,
    ) -> None:
        self._stack = contextlib.ExitStack()
        try:
            self.binary = binary
            self.sandbox = OpenCodeSandbox(root)
            if socket is not None:
                self.sandbox.socket = socket
            self.mock = MockLLM(root)
            self._stack.callback(self.mock.close)
            self.sandbox.write_config(self.mock.base_url)
            self.installed = None
            if plugin:
                self.installed = self.sandbox.run_aitop(
                    "install",
                    "--agent",
                    "opencode",
                    "--write",
                    "--socket",
                    str(self.sandbox.socket),
                )
                assert self.installed.returncode == 0, self.installed.stderr
            if monitor:
                self.monitor = Monitor(self.sandbox.aitop_env())
                self._stack.callback(self._stop_monitor)
                self.monitor.wait_listening()
            self.invocations: list[Invocation] = []
            self._serve: subprocess.Popen[bytes] | None = None
            self._stack.callback(self.stop_serve)
        except BaseException:
            self._stack.close()
            raise

    def _stop_monitor(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.monitor.stop()
        self.monitor.__exit__()

    def start(
        self,
        prompt: str,
        *,
        model: str = SONNET,
        session: str | None = None,
        attach: str | None = None,
    ) -> tuple[subprocess.Popen[bytes], str]:
        """`opencode run` in the background; `session` continues one, `attach` runs it in
        an `opencode serve` (whose process loads the plugin)."""
        name = f"opencode-{len(self.invocations) + 1}-{time.monotonic_ns()}"
        argv = [str(self.binary), "run", "--format", "json", "-m", model]
        if session:
            argv += ["--session", session]
        if attach:
            argv += ["--attach", attach, "--dir", str(self.sandbox.project)]
        argv += ["--", prompt]
        out = (self.sandbox.root / f"{name}.stdout").open("wb")
        err = (self.sandbox.root / f"{name}.stderr").open("wb")
        with out, err:
            process = subprocess.Popen(
                argv,
                cwd=self.sandbox.project,
                env=self.sandbox.env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        return process, name

    def finish(
        self,
        process: subprocess.Popen[bytes],
        name: str,
        prompt: str,
        model: str,
        expect: int | None,
    ) -> Invocation:
        try:
            code = process.wait(timeout=OPENCODE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            stop_process(process)
            code = -1
        stdout = (self.sandbox.root / f"{name}.stdout").read_text(errors="replace")
        stderr = (self.sandbox.root / f"{name}.stderr").read_text(errors="replace")
        run = Invocation(name, prompt, model, code, stdout, stderr, _session_of(stdout))
        self.invocations.append(run)
        if code == -1:
            raise AssertionError(
                f"{name}: opencode ran over {OPENCODE_TIMEOUT_S:.0f} s\n{run.output()}"
            )
        if expect is not None and code != expect:
            raise AssertionError(f"{name} {prompt!r}: expected exit {expect}\n{run.output()}")
        return run

    def run(
        self,
        prompt: str,
        *,
        model: str = SONNET,
        session: str | None = None,
        attach: str | None = None,
        expect: int | None = 0,
    ) -> Invocation:
        process, name = self.start(prompt, model=model, session=session, attach=attach)
        return self.finish(process, name, prompt, model, expect)

    def serve(self) -> tuple[str, int]:
        """`opencode serve` on a free port (its process loads the plugin); (url, pid)."""
        port = free_port()
        log = (self.sandbox.root / "serve.stderr").open("wb")
        with log:
            self._serve = subprocess.Popen(
                [str(self.binary), "serve", "--port", str(port), "--hostname", "127.0.0.1"],
                cwd=self.sandbox.project,
                env=self.sandbox.env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if self._serve is not None and self._serve.poll() is not None:
                raise AssertionError(
                    f"opencode serve exited: {(self.sandbox.root / 'serve.stderr').read_text()}"
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return True
            return False

        wait_until(up, "opencode serve", START_TIMEOUT_S, 0.1)
        return url, self._serve.pid

    def stop_serve(self) -> None:
        if self._serve is not None:
            stop_process(self._serve)
            self._serve = None

    def close(self) -> None:
        self._stack.close()
