"""Drive the real Claude Code CLI (npm `@anthropic-ai/claude-code`) against the scripted
mock Anthropic API on 127.0.0.1, with hooks written by `aitop install --write` and a real
`aitop -b --json` listening on its own socket.

Modelled on `tests/fixtures/claude-code/run_real_claude.sh` (which documents every
variable and pre-seeded file a headless Claude Code needs), but in Python so the tests
own every process: each gets a timeout, and each is stopped by its own id.

* `ensure_claude()` installs the pinned version with npm into a cache directory
  (`$AITOP_CC_CACHE`, default `~/.cache/aitop-claude-code`) and reuses it afterwards.
* `MockApi` runs `tests/fixtures/claude-code/mock_anthropic.py` (or its copy that sends a
  Claude.ai login's rate-limit headers, `statusline/mock_anthropic_ratelimit.py`) and reads
  its request log.
* `Sandbox` is a temporary HOME: `.claude.json` pre-seeded (no onboarding, trusted
  project, approved key), `settings.json` = a permissions allow-list plus whatever
  `aitop install --write` merges in, and the allow-listed environment `claude` runs with.
* `Claude` runs `claude -p` (first prompt `--session-id`, later ones `--resume`), in the
  background when two sessions must run at once.
* `Tmux` drives the interactive TUI in a private tmux server.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from conftest import FIXTURES, aitop_command
from support import Monitor, private_dir

CC_PACKAGE = "@anthropic-ai/claude-code"
CC_VERSION = "2.1.330"
API_KEY = "mock-loopback-api-key-not-a-secret-0000000000000000"
MOCK = FIXTURES / "mock_anthropic.py"
# the same mock, plus the `anthropic-ratelimit-unified-*` headers of a Claude.ai login
RATE_LIMIT_MOCK = FIXTURES / "statusline" / "mock_anthropic_ratelimit.py"
# Claude Code takes any `sk-ant-oat01-` string as a Claude.ai login's token, unchecked; with
# it, it calls only /v1/messages on the base URL (statusline/README.md)
OAUTH_TOKEN = "sk-ant-oat01-mock-loopback-not-a-secret-000000"
# what run_real_claude.sh allows: every tool a scenario uses runs without a dialog
ALLOW = ("Bash", "Read", "Write", "Edit", "Agent", "Task", "Glob", "Grep")
# Claude Code's PATH: enough for its Bash tool, and nothing that could hold an `aitop`,
# so a hook works only through the absolute path `aitop install` wrote
SYSTEM_PATH = "/usr/bin:/bin"

NPM_TIMEOUT_S = 600.0
VERSION_TIMEOUT_S = 60.0
CLAUDE_TIMEOUT_S = 120.0
TMUX_TIMEOUT_S = 10.0
START_TIMEOUT_S = 15.0

_PLATFORM_PACKAGES = (
    "claude-code-linux-x64",
    "claude-code-linux-arm64",
    "claude-code-linux-x64-musl",
    "claude-code-linux-arm64-musl",
    "claude-code-darwin-arm64",
    "claude-code-darwin-x64",
)


class Unavailable(Exception):
    """Claude Code cannot be installed here at all (no npm or node): skip, with why."""


class InstallFailed(Exception):
    """npm is there but the install did not work: a failure, not a skip."""


# --- installing Claude Code ---------------------------------------------------------------


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    configured = environ.get("AITOP_CC_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "aitop-claude-code"


def find_claude(prefix: Path, version: str = CC_VERSION) -> Path | None:
    """The runnable `claude` binary of `version` under the npm prefix, if installed."""
    scope = prefix / "node_modules" / "@anthropic-ai"
    candidates = [scope / name / "claude" for name in _PLATFORM_PACKAGES]
    candidates.append(scope / "claude-code" / "bin" / "claude.exe")
    for candidate in candidates:
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        try:
            result = subprocess.run(
                [str(candidate), "--version"],
                capture_output=True,
                text=True,
                timeout=VERSION_TIMEOUT_S,
                env={"PATH": SYSTEM_PATH, "HOME": str(prefix), "DISABLE_AUTOUPDATER": "1"},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0 and result.stdout.split()[:1] == [version]:
            return candidate
    return None


def npm_install(
    prefix: Path,
    package: str,
    version: str,
    find: Callable[[Path, str], Path | None],
    name: str,
    npm_args: Sequence[str] = (),
) -> Path:
    """The runnable `find` gives for `package@version` under `prefix`, installed there with
    npm when missing (once: another test run may be installing it right now)."""
    found = find(prefix, version)
    if found is not None:
        return found
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        missing = " and ".join(n for n, p in (("npm", npm), ("node", node)) if p is None)
        raise Unavailable(f"{missing} not found: cannot install {package}@{version}")
    prefix.mkdir(parents=True, exist_ok=True)
    with (prefix / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = find(prefix, version)
        if found is not None:
            return found
        command = [
            npm,
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            *npm_args,
            f"{package}@{version}",
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise InstallFailed(f"{shlex.join(command)} took over {NPM_TIMEOUT_S:.0f} s") from None
        if result.returncode != 0:
            raise InstallFailed(
                f"{shlex.join(command)} exited {result.returncode}:\n{result.stderr[-3000:]}"
            )
        found = find(prefix, version)
        if found is None:
            raise InstallFailed(f"no runnable {name} {version} under {prefix} after npm install")
        return found


def ensure_claude(prefix: Path, version: str = CC_VERSION) -> Path:
    """Claude Code `version` under `prefix`, installed with npm when missing."""
    return npm_install(prefix, CC_PACKAGE, version, find_claude, "claude")


# --- processes --------------------------------------------------------------------------------


def stop_process(process: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL, to the process group this process leads (its children too)."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_until(check: Any, what: str, timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --- the mock API -------------------------------------------------------------------------


class MockApi:
    """`mock_anthropic.py` on 127.0.0.1, on a free port, logging every request."""

    def __init__(self, work: Path, *, script: Path = MOCK, args: Sequence[str] = ()) -> None:
        self.log = work / "mock-requests.jsonl"
        port_file = work / "mock.port"
        self._stderr: IO[bytes] = (work / "mock.stderr").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(script),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--port-file",
                str(port_file),
                "--log",
                str(self.log),
                *args,
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

        self.url = f"http://127.0.0.1:{wait_until(port, 'the mock API', START_TIMEOUT_S)}"

    def requests(self) -> list[dict[str, Any]]:
        """Every request logged so far (whole lines only: the mock may be mid-write)."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().split("\n")[:-1] if line]

    def close(self) -> None:
        stop_process(self.process)
        self._stderr.close()


# --- a temporary HOME -----------------------------------------------------------------------


class Sandbox:
    """HOME, project, Claude's temp dir and aitop's socket, all under `root`."""

    def __init__(
        self,
        root: Path,
        *,
        idle_notification_ms: int = 60_000,
        allow: tuple[str, ...] = ALLOW,
        project: str = "project",
        oauth: bool = False,
    ) -> None:
        self.root = root
        self.allow = allow  # the tools that run without a permission dialog
        self.oauth = oauth  # a Claude.ai login (its plan limits reach the status line)
        self.home = private_dir(root / "home")
        self.claude_dir = private_dir(self.home / ".claude")
        self.projects_dir = self.claude_dir / "projects"
        self.settings = self.claude_dir / "settings.json"
        self.project = root / project
        self.project.mkdir()
        (self.project / "notes.txt").write_text("hello from a test file\n")
        self.tmp = private_dir(root / "tmp")
        self.socket = private_dir(root / "run") / "aitop.sock"
        state = {
            "hasCompletedOnboarding": True,
            "lastOnboardingVersion": "9.9.9",
            "theme": "dark",
            "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
            "messageIdleNotifThresholdMs": idle_notification_ms,
            "projects": {
                str(self.project): {
                    "hasTrustDialogAccepted": True,
                    "hasCompletedProjectOnboarding": True,
                }
            },
        }
        (self.home / ".claude.json").write_text(json.dumps(state, indent=2))

    def aitop_env(self) -> dict[str, str]:
        """For aitop's own commands: the sandbox's HOME and socket, the caller's PATH."""
        env = {
            "HOME": str(self.home),
            "PATH": os.environ.get("PATH", SYSTEM_PATH),
            "LANG": "C.UTF-8",
            "AITOP_SOCKET": str(self.socket),
        }
        for name in ("VIRTUAL_ENV", "PYTHONPATH"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def install_hooks(self, *extra: str) -> subprocess.CompletedProcess[str]:
        """A user's settings (an allow-list), then `aitop install --write` merges hooks in."""
        permissions = {"allow": list(self.allow), "defaultMode": "default"}
        self.settings.write_text(json.dumps({"permissions": permissions}, indent=2) + "\n")
        return self.run_aitop("install", "--write", "--settings", str(self.settings), *extra)

    def install_statusline(self, users_own: str | None = None) -> subprocess.CompletedProcess[str]:
        """`aitop install --statusline --write` over the settings, after the user's own
        status line command (if any) was put there as a user would have."""
        if users_own is not None:
            settings = json.loads(self.settings.read_text())
            settings["statusLine"] = {"type": "command", "command": users_own}
            self.settings.write_text(json.dumps(settings, indent=2) + "\n")
        return self.run_aitop(
            "install", "--statusline", "--write", "--settings", str(self.settings)
        )

    def run_aitop(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*aitop_command(), *args],
            env=self.aitop_env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def claude_env(self, api_url: str) -> dict[str, str]:
        """Only what Claude Code needs: nothing of the caller's leaks in (were the tests run
        inside Claude Code, its CLAUDECODE and session variables would)."""
        return {
            "HOME": str(self.home),
            "USER": "user",
            "LOGNAME": "user",
            "SHELL": "/bin/bash",
            "TERM": "xterm-256color",
            "PATH": SYSTEM_PATH,
            "LANG": "C.UTF-8",
            "ANTHROPIC_BASE_URL": api_url,
            **(
                {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH_TOKEN}
                if self.oauth
                else {"ANTHROPIC_API_KEY": API_KEY}
            ),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_TMPDIR": str(self.tmp),
            "AITOP_SOCKET": str(self.socket),
        }

    def transcript(self, session_id: str) -> Path | None:
        found = sorted(self.projects_dir.glob(f"*/{session_id}.jsonl"))
        return found[0] if found else None

    def cost_state(self, session_id: str) -> float | None:
        """Claude Code's own running total (`totalCostUSD` of the last `cost-state` line)."""
        path = self.transcript(session_id)
        if path is None:
            return None
        total = None
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if data.get("type") == "cost-state":
                    total = data["totalCostUSD"]
        return total


# --- claude -p ------------------------------------------------------------------------------


class Run:
    """One `claude` invocation in the background; `wait()` for its outcome."""

    def __init__(self, name: str, command: list[str], sandbox: Sandbox, env: dict[str, str]):
        self.name = name
        self.command = command
        self.stdout_path = sandbox.root / f"{name}.stdout"
        self.stderr_path = sandbox.root / f"{name}.stderr"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                command,
                cwd=sandbox.project,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def wait(self, timeout: float = CLAUDE_TIMEOUT_S) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process(self.process)
            raise AssertionError(
                f"{self.name}: claude ran over {timeout:.0f} s\n{self.output()}"
            ) from None
        return code

    def output(self) -> str:
        out = self.stdout_path.read_text(errors="replace")[-2000:]
        err = self.stderr_path.read_text(errors="replace")[-2000:]
        return f"--- stdout\n{out}\n--- stderr\n{err}"


class Claude:
    def __init__(self, binary: Path, sandbox: Sandbox, api: MockApi) -> None:
        self.binary = binary
        self.sandbox = sandbox
        self.api = api
        self.runs: list[Run] = []

    def start(self, prompt: str, *, session_id: str, resume: bool = False) -> Run:
        session = ["--resume" if resume else "--session-id", session_id]
        command = [str(self.binary), "-p", *session, prompt]
        run = Run(
            f"claude-{len(self.runs) + 1}",
            command,
            self.sandbox,
            self.sandbox.claude_env(self.api.url),
        )
        self.runs.append(run)
        return run

    def run(self, prompt: str, *, session_id: str, resume: bool = False) -> Run:
        """Run one prompt to the end; claude must exit 0."""
        run = self.start(prompt, session_id=session_id, resume=resume)
        code = run.wait()
        assert code == 0, f"{run.name} {prompt!r} exited {code}\n{run.output()}"
        return run

    def tui_command(self, session_id: str) -> list[str]:
        """The interactive TUI, started from the project directory with only its env."""
        env = self.sandbox.claude_env(self.api.url)
        return [
            "/bin/sh",
            "-c",
            f"cd {shlex.quote(str(self.sandbox.project))} && exec env -i "
            + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
            + f" {shlex.quote(str(self.binary))} --session-id {shlex.quote(session_id)}",
        ]

    def close(self) -> None:
        for run in self.runs:
            stop_process(run.process)


# --- the TUI in tmux ------------------------------------------------------------------------


class Tmux:
    """A private tmux server (its own socket, no user config) running one session."""

    SESSION = "cc"

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.started = False

    def _tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=TMUX_TIMEOUT_S,
            env={"PATH": os.environ.get("PATH", SYSTEM_PATH), "TERM": "xterm-256color"},
            check=False,
        )

    def start(self, command: list[str]) -> None:
        result = self._tmux(
            "new-session", "-d", "-s", self.SESSION, "-x", "160", "-y", "50", shlex.join(command)
        )
        assert result.returncode == 0, result.stderr
        self.started = True

    def pane(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.SESSION).stdout

    def alive(self) -> bool:
        return self._tmux("has-session", "-t", self.SESSION).returncode == 0

    def type(self, text: str) -> None:
        """Type `text`, and press Enter once the input box shows all of it (keys sent
        while the TUI is still busy would be lost or end up in the wrong place)."""
        self._tmux("send-keys", "-t", self.SESSION, "-l", text)
        self.wait_pane(re.escape(text), timeout=15)
        time.sleep(0.3)  # the TUI takes typed text in bursts: let it settle before Enter
        self._tmux("send-keys", "-t", self.SESSION, "Enter")

    def wait_pane(self, pattern: str, timeout: float = 30.0) -> str:
        regex = re.compile(pattern, re.M)

        def matches() -> str:
            text = self.pane()
            return text if regex.search(text) else ""

        try:
            return str(wait_until(matches, f"/{pattern}/ on the screen", timeout, 0.2))
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen:\n{self.pane()}") from None

    def close(self) -> None:
        if self.started:
            self._tmux("kill-server")


# --- all of it ------------------------------------------------------------------------------


class Rig:
    """One test's world: a sandbox whose settings `aitop install --write` wrote, the mock
    API, a real `aitop -b --json` on the sandbox's socket (unless `monitor=False`: the test
    starts its own aitop there), and Claude Code to run."""

    def __init__(
        self,
        root: Path,
        binary: Path,
        *,
        monitor: bool = True,
        mock: Path = MOCK,
        mock_args: Sequence[str] = (),
        **sandbox_options: Any,
    ) -> None:
        self._stack = contextlib.ExitStack()
        try:
            self.sandbox = Sandbox(root, **sandbox_options)
            self.installed = self.sandbox.install_hooks()
            assert self.installed.returncode == 0, f"aitop install failed: {self.installed.stderr}"
            self.api = MockApi(root, script=mock, args=mock_args)
            self._stack.callback(self.api.close)
            if monitor:
                self.monitor = Monitor(self.sandbox.aitop_env())
                self._stack.callback(self._stop_monitor)
                self.monitor.wait_listening()
            self.claude = Claude(binary, self.sandbox, self.api)
            self._stack.callback(self.claude.close)
            self.tmux = Tmux(root / "tmux.sock")
            self._stack.callback(self.tmux.close)
        except BaseException:
            self._stack.close()
            raise

    def _stop_monitor(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.monitor.stop()
        self.monitor.__exit__()

    def close(self) -> None:
        self._stack.close()
