"""Drive the real Gemini CLI (npm `@google/gemini-cli`) against the scripted mock Gemini API
(`tests/fixtures/gemini/mock_gemini.py`) on 127.0.0.1, through the fixtures' runner
`run_real_gemini.sh`, with hooks written by `aitop install --agent gemini --write` and a real
`aitop -b --json` listening on its own socket.

* `ensure_gemini()` installs the pinned version with npm into a cache directory
  (`$AITOP_GEMINI_CACHE`, default `~/.cache/aitop-gemini`) once and reuses it; it returns the
  bundle's `gemini.js`, which the npm `gemini` command runs.
* `GeminiRig` is a temporary HOME (with `~/.gemini` holding a user's own settings and
  aitop's hooks), the monitor, and `run()`: the runner for a list of prompts (its first one
  starts a session, the next resume it; `@new`, `@model=NAME`), each invocation with its
  timeout, the whole run stopped by its own process group if it overruns.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .driver import npm_install
from .gemini_ledger import GeminiLedger, ledgers, read_jsonl
from conftest import aitop_command
from support import Monitor, private_dir

GEMINI_PACKAGE = "@google/gemini-cli"
GEMINI_VERSION = "0.61.0"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gemini"
RUNNER = FIXTURES / "run_real_gemini.sh"
SYSTEM_PATH = "/usr/bin:/bin"
NPM_TIMEOUT_S = 600.0
VERSION_TIMEOUT_S = 60.0
GEMINI_TIMEOUT_S = 120  # one invocation (the runner's --timeout)

# A user's own settings before aitop's install: all of it must survive, and their hook run.
USER_SETTINGS: dict[str, Any] = {
    "ui": {"hideBanner": True},
    "hooks": {
        "AfterTool": [{"matcher": "read_file", "hooks": [{"type": "command", "command": "true"}]}]
    },
}


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    configured = environ.get("AITOP_GEMINI_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "aitop-gemini"


def find_gemini(prefix: Path, version: str = GEMINI_VERSION) -> Path | None:
    """The bundle's `gemini.js` of `version` under the npm prefix, if it runs."""
    bundle = prefix / "node_modules" / "@google" / "gemini-cli" / "bundle" / "gemini.js"
    node = shutil.which("node")
    if node is None or not bundle.is_file():
        return None
    try:
        result = subprocess.run(
            [node, str(bundle), "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            env={"PATH": SYSTEM_PATH, "HOME": str(prefix), "GEMINI_CLI_NO_RELAUNCH": "true"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bundle if result.returncode == 0 and result.stdout.strip() == version else None


def ensure_gemini(prefix: Path, version: str = GEMINI_VERSION) -> Path:
    """Gemini CLI `version` under `prefix`, installed with npm when missing (~100 MB)."""
    return npm_install(prefix, GEMINI_PACKAGE, version, find_gemini, "gemini")


class GeminiRig:
    """One test's world: HOME with the user's Gemini CLI settings and aitop's hooks (unless
    `hooks=False`), a real `aitop -b --json` on the rig's socket (unless `monitor=False`:
    the test runs one there, e.g. on `socket`, a monitor it shares with other agents), and
    the runner."""

    def __init__(
        self,
        root: Path,
        prefix: Path,
        *,
        hooks: bool = True,
        monitor: bool = True,
        socket: Path | None = None,
    ) -> None:
        self.root = root
        self.prefix = prefix
        self.work = root / "work"
        self.home = private_dir(self.work / "home")
        self.gemini_dir = self.home / ".gemini"
        self.gemini_dir.mkdir()
        self.settings = self.gemini_dir / "settings.json"
        self.settings.write_text(json.dumps(USER_SETTINGS, indent=2) + "\n")
        self.project = self.work / "project"
        self.project.mkdir()
        # the hooks reach it through $AITOP_SOCKET, which the runner passes on
        self.socket = socket if socket is not None else private_dir(root / "run") / "aitop.sock"
        self.installed: subprocess.CompletedProcess[str] | None = None
        if hooks:
            self.installed = self.aitop("install", "--agent", "gemini", "--write")
            assert self.installed.returncode == 0, self.installed.stderr
        self._own_monitor = monitor
        if monitor:
            self.monitor = Monitor(self.aitop_env())
            try:
                self.monitor.wait_listening()
            except BaseException:
                self.close()
                raise
        self.runs: list[subprocess.CompletedProcess[str]] = []

    def aitop_env(self) -> dict[str, str]:
        env = {
            "HOME": str(self.home),
            "PATH": os.environ.get("PATH", SYSTEM_PATH),
            "LANG": "C.UTF-8",
            "AITOP_SOCKET": str(self.socket),
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        }
        for name in ("VIRTUAL_ENV", "PYTHONPATH"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def aitop(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*aitop_command(), *args],
            env=self.aitop_env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def run(self, *prompts: str) -> subprocess.CompletedProcess[str]:
        """The runner over `prompts` (see run_real_gemini.sh); its exit status is the last
        invocation's: the caller checks each one in `invocations()`."""
        arguments = [
            "bash",
            str(RUNNER),
            "--no-install",
            "-i",
            str(self.prefix),
            "-w",
            str(self.work),
        ]
        arguments += ["--timeout", str(GEMINI_TIMEOUT_S)]
        for prompt in prompts:
            arguments += ["-p", prompt]
        process = subprocess.Popen(
            arguments,
            env=self.aitop_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=GEMINI_TIMEOUT_S * len(prompts) + 60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            raise AssertionError(f"run_real_gemini.sh ran over its time:\n{err[-3000:]}") from None
        done = subprocess.CompletedProcess(arguments, process.returncode, out, err)
        self.runs.append(done)
        return done

    def invocations(self) -> list[dict[str, Any]]:
        return read_jsonl(self.work / "invocations.jsonl")

    def requests(self) -> list[dict[str, Any]]:
        return read_jsonl(self.work / "mock-requests.jsonl")

    def ledgers(self) -> dict[str, GeminiLedger]:
        return ledgers(self.requests(), self.invocations())

    def output(self, n: int) -> str:
        out = (self.work / f"gemini-{n}.stdout").read_text(errors="replace")[-2000:]
        err = (self.work / f"gemini-{n}.stderr").read_text(errors="replace")[-2000:]
        return f"--- gemini-{n} stdout\n{out}\n--- stderr\n{err}"

    def close(self) -> None:
        if not self._own_monitor:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.monitor.stop()
        self.monitor.__exit__()
