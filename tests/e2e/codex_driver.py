"""Drive the real OpenAI Codex CLI (npm `@openai/codex`) against the scripted mock of the
OpenAI Responses API (`tests/fixtures/codex/mock_openai.py`) on 127.0.0.1.

What `tests/fixtures/codex/run_real_codex.sh` does, in Python, so that the tests own every
process (each with a timeout, each stopped by its own id) and can pick the hook trust:

* `ensure_codex()` installs the pinned version with npm into a cache directory
  (`$AITOP_CODEX_CACHE`, default `~/.cache/aitop-codex`) once and reuses it; it returns the
  npm wrapper `bin/codex.js`, which users run too (it sets `CODEX_MANAGED_BY_NPM` etc.).
* `MockOpenAI` runs the mock on a free port and reads its request log: one line per HTTP
  request, with the `response_id` and `usage` it answered (the ground truth).
* `CodexSandbox` is a temporary HOME with `CODEX_HOME` = home/.codex: `config.toml` points
  Codex at the mock; `hooks.json` registers a recorder (or any command) for every event.
* `CodexRig` ties them together: `exec()` / `resume()` run `codex exec [resume]`, and
  `run_scenario()` plays the named `SCENARIOS`.
* `hooks_list()` asks Codex itself (`codex app-server`, JSON-RPC `hooks/list`) how it sees
  the hooks: their trust keys, current hashes and trust status; `trust_via_codex()` has
  Codex trust the hooks of one command (`hooks/list` + `config/batchWrite`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from . import codex_reference
from .driver import Unavailable, npm_install, stop_process, wait_until

CODEX_PACKAGE = "@openai/codex"
CODEX_VERSION = "0.171.0"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "codex"
MOCK = FIXTURES / "mock_openai.py"
HOOK_RECORDER = Path(__file__).resolve().parent / "codex_hook_recorder.py"
API_KEY = "mock-loopback-api-key-not-a-secret-0000"
# Codex's PATH: enough for its shell tool; node and the hook's python are absolute paths
SYSTEM_PATH = "/usr/bin:/bin"

# The 12 events Codex 0.171.0 documents (embedded input schemas), and two more it accepts
# and fires per model request although no schema names them (seen in the real runs here).
DOCUMENTED_EVENTS = (
    "SessionStart",
    "SessionEnd",
    "UserPromptSubmit",
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "PreCompact",
    "PostCompact",
    "Stop",
    "SubagentStart",
    "SubagentStop",
    "Interrupt",
)
MODEL_REQUEST_EVENTS = ("PreModelRequest", "PostModelRequest")
ALL_EVENTS = DOCUMENTED_EVENTS + MODEL_REQUEST_EVENTS
# Codex holds these to at most 3 s (and warns when configured longer)
SHORT_TIMEOUT_EVENTS = ("SessionEnd", "Interrupt")
HOOK_TIMEOUT_S = 30

Trust = Literal["bypass", "record", "none"]
NPM_TIMEOUT_S = 600.0
VERSION_TIMEOUT_S = 60.0
CODEX_TIMEOUT_S = 120.0
START_TIMEOUT_S = 15.0
BYPASS_FLAG = "--dangerously-bypass-hook-trust"


# --- installing Codex --------------------------------------------------------------------------


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    configured = environ.get("AITOP_CODEX_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "aitop-codex"


def _node() -> str | None:
    return shutil.which("node")


def find_codex(prefix: Path, version: str = CODEX_VERSION) -> Path | None:
    """The npm wrapper `codex.js` of `version` under the npm prefix, if it runs."""
    wrapper = prefix / "node_modules" / "@openai" / "codex" / "bin" / "codex.js"
    node = _node()
    if node is None or not wrapper.is_file():
        return None
    try:
        result = subprocess.run(
            [node, str(wrapper), "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            env={"PATH": SYSTEM_PATH, "HOME": str(prefix)},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode == 0 and result.stdout.split() == ["codex-cli", version]:
        return wrapper
    return None


def ensure_codex(prefix: Path, version: str = CODEX_VERSION) -> Path:
    """Codex `version` under `prefix`, installed with npm when missing (~6 s, ~390 MB)."""
    return npm_install(prefix, CODEX_PACKAGE, version, find_codex, "codex")


# --- the mock API ---------------------------------------------------------------------------


class MockOpenAI:
    """`mock_openai.py` on 127.0.0.1, on a free port, logging every request. One mock per
    rig: its state (prompt-cache prefixes, rate-limit percentages) spans the invocations."""

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
                "--state",
                str(work / "mock-state.json"),
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


# --- a temporary HOME with CODEX_HOME --------------------------------------------------------


def hooks_document(command: str, events: Iterable[str] = ALL_EVENTS) -> dict[str, Any]:
    """hooks.json with one command hook per event (no matcher: every tool)."""
    hooks = {
        event: [
            {
                "hooks": [
                    {
                        "type": "command",
                        "command": command,
                        "timeout": 3 if event in SHORT_TIMEOUT_EVENTS else HOOK_TIMEOUT_S,
                    }
                ]
            }
        ]
        for event in events
    }
    return {"hooks": hooks}


class CodexSandbox:
    """HOME, CODEX_HOME (= HOME/.codex, as by default), the project Codex works in, and the
    directory the hook recorder writes to, all under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.codex_home = self.home / ".codex"
        self.codex_home.mkdir(parents=True)
        self.config = self.codex_home / "config.toml"
        self.hooks_json = self.codex_home / "hooks.json"
        self.project = root / "project"
        self.project.mkdir()
        (self.project / "notes.txt").write_text("hello from a test file\n")
        (self.project / "AGENTS.md").write_text("# Project notes for Codex\nAlways be brief.\n")
        self.hooks_out = root / "hooks"
        self.hooks_out.mkdir()

    def write_config(
        self, base_url: str, *, sandbox_mode: str = "workspace-write", extra: Sequence[str] = ()
    ) -> None:
        """The README's config: a custom provider (`wire_api = "responses"`) on the mock."""
        lines = [
            "# written by tests/e2e/codex_driver.py: Codex talks only to the loopback mock",
            'model_provider = "mock"',
            f"sandbox_mode = {json.dumps(sandbox_mode)}",
            *extra,
            "",
            "[model_providers.mock]",
            'name = "Mock OpenAI (loopback)"',
            f"base_url = {json.dumps(base_url)}",
            'env_key = "OPENAI_API_KEY"',
            'wire_api = "responses"',
            "request_max_retries = 2",
            "stream_max_retries = 2",
        ]
        self.config.write_text("\n".join(lines) + "\n")

    def recorder_command(self) -> str:
        return shlex.join([sys.executable, str(HOOK_RECORDER), str(self.hooks_out)])

    def write_hooks(self, document: Mapping[str, Any]) -> None:
        self.hooks_json.write_text(json.dumps(document, indent=2) + "\n")

    def trust_hooks(self) -> dict[str, str]:
        """Append the trust record of every hook in hooks.json to config.toml, computed by the
        reference function (what the TUI's "Trust all and continue" writes); returns it."""
        entries = codex_reference.hook_trust_entries(
            self.hooks_json.resolve(), json.loads(self.hooks_json.read_text())
        )
        with self.config.open("a") as config:
            config.write(codex_reference.trust_record_toml(entries))
        return entries

    def env(self) -> dict[str, str]:
        """Only what Codex needs: nothing of the caller's leaks in (were the tests run inside
        Codex, its CODEX_* variables would)."""
        return {
            "HOME": str(self.home),
            "CODEX_HOME": str(self.codex_home),
            "USER": "user",
            "LOGNAME": "user",
            "SHELL": "/bin/bash",
            "TERM": "xterm-256color",
            "PATH": SYSTEM_PATH,
            "LANG": "C.UTF-8",
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
            "OPENAI_API_KEY": API_KEY,
            "NO_COLOR": "1",
        }

    def rollouts(self) -> list[Path]:
        return codex_reference.rollout_files(self.codex_home)

    def rollout(self, thread_id: str) -> Path | None:
        found = [p for p in self.rollouts() if p.name.endswith(f"-{thread_id}.jsonl")]
        return found[0] if len(found) == 1 else None


# --- codex exec -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """One `codex exec` (or `exec resume`) run to its end."""

    name: str
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    elapsed_s: float
    session_id: str | None

    def output(self) -> str:
        return (
            f"--- {self.name} exit {self.returncode}\n{self.stdout[-2000:]}\n{self.stderr[-3000:]}"
        )


SESSION_LINE = re.compile(r"^session id: (\S+)$", re.M)
THREAD_STARTED = re.compile(r'"type":"thread\.started","thread_id":"([^"]+)"')


def _session_id(stdout: str, stderr: str) -> str | None:
    found = SESSION_LINE.search(stderr) or THREAD_STARTED.search(stdout)
    return found.group(1) if found else None


class CodexRig:
    """One test's world: a sandbox whose Codex talks to its own mock, hooks recorded."""

    def __init__(
        self,
        root: Path,
        codex_js: Path,
        *,
        trust: Trust = "bypass",
        events: Iterable[str] = ALL_EVENTS,
        hook_command: str | None = None,
        sandbox_mode: str = "workspace-write",
        config_lines: Sequence[str] = (),
    ) -> None:
        node = _node()
        if node is None:
            raise Unavailable("node not found: cannot run codex")
        self.node = node
        self.codex_js = codex_js
        self.trust = trust
        self.sandbox = CodexSandbox(root)
        self.mock = MockOpenAI(root)
        try:
            self.sandbox.write_config(
                self.mock.base_url, sandbox_mode=sandbox_mode, extra=config_lines
            )
            command = hook_command or self.sandbox.recorder_command()
            self.sandbox.write_hooks(hooks_document(command, events))
            self.trust_record = self.sandbox.trust_hooks() if trust == "record" else {}
        except BaseException:
            self.mock.close()
            raise
        self.invocations: list[Invocation] = []

    # running codex

    def _run(
        self, args: Sequence[str], prompt: str, expect: int | None, timeout: float
    ) -> Invocation:
        name = f"codex-{len(self.invocations) + 1}"
        argv = [self.node, str(self.codex_js), *args, prompt]
        started = time.monotonic()
        out_path = self.sandbox.root / f"{name}.stdout"
        err_path = self.sandbox.root / f"{name}.stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = subprocess.Popen(
                argv,
                cwd=self.sandbox.project,
                env=self.sandbox.env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            try:
                code = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                stop_process(process)
                code = -1
        stdout = out_path.read_text(errors="replace")
        stderr = err_path.read_text(errors="replace")
        run = Invocation(
            name,
            argv,
            code,
            stdout,
            stderr,
            time.monotonic() - started,
            _session_id(stdout, stderr),
        )
        self.invocations.append(run)
        if code == -1:
            raise AssertionError(f"{name}: codex ran over {timeout:.0f} s\n{run.output()}")
        if expect is not None and code != expect:
            raise AssertionError(f"{name} {prompt!r}: expected exit {expect}\n{run.output()}")
        return run

    def _options(self, model: str | None, config: Sequence[str], json_events: bool) -> list[str]:
        options = ["--skip-git-repo-check"]
        if self.trust == "bypass":
            options.append(BYPASS_FLAG)
        if model:
            options += ["-m", model]
        for override in config:
            options += ["-c", override]
        if json_events:
            options.append("--json")
        return options

    def exec(
        self,
        prompt: str,
        *,
        model: str | None = None,
        config: Sequence[str] = (),
        json_events: bool = False,
        expect: int | None = 0,
        timeout: float = CODEX_TIMEOUT_S,
    ) -> Invocation:
        """`codex exec PROMPT`: a new session. `config` = `-c key=value` overrides."""
        options = self._options(model, config, json_events)
        return self._run(["exec", *options], prompt, expect, timeout)

    def resume(
        self,
        session_id: str,
        prompt: str,
        *,
        model: str | None = None,
        config: Sequence[str] = (),
        json_events: bool = False,
        expect: int | None = 0,
        timeout: float = CODEX_TIMEOUT_S,
    ) -> Invocation:
        """`codex exec resume SESSION PROMPT`: appends to the same rollout; `model` different
        from the session's makes Codex compact first."""
        options = self._options(model, config, json_events)
        return self._run(["exec", "resume", *options, session_id], prompt, expect, timeout)

    # what came out

    def requests(self) -> list[dict[str, Any]]:
        return self.mock.requests()

    def hook_calls(self) -> list[dict[str, Any]]:
        """The recorder's `{"seq", "ts", "payload", "env"}` records, in call order."""
        log = self.sandbox.hooks_out / "hooks.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line]

    def hook_payloads(self, event: str | None = None) -> list[dict[str, Any]]:
        return [
            call["payload"]
            for call in self.hook_calls()
            if event is None or call["payload"]["hook_event_name"] == event
        ]

    def rollouts(self) -> list[Path]:
        return self.sandbox.rollouts()

    def hooks_list(self) -> list[dict[str, Any]]:
        return hooks_list(self.node, self.codex_js, self.sandbox.env(), self.sandbox.project)

    def trust_via_codex(self, command: str) -> dict[str, str]:
        return trust_via_codex(
            self.node, self.codex_js, self.sandbox.env(), self.sandbox.project, command
        )

    def close(self) -> None:
        self.mock.close()


# --- scenarios --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One invocation: a new session (`new_session`) or a resume of the scenario's last one."""

    prompt: str
    model: str | None = None
    config: tuple[str, ...] = ()
    new_session: bool = False
    expect: int = 0


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    steps: tuple[Step, ...]


@dataclass
class ScenarioRun:
    scenario: Scenario
    invocations: list[Invocation] = field(default_factory=list)

    @property
    def session_ids(self) -> list[str]:
        """Each session the scenario started, in order (resumes add none)."""
        out: list[str] = []
        for run, step in zip(self.invocations, self.scenario.steps, strict=True):
            if (step.new_session or not out) and run.session_id is not None:
                out.append(run.session_id)
        return out


# Mock directives (see mock_openai.py): [shell:CMD] [fail] [patch:PATH] [spawn] [spawn-fork]
# [wait] [slow:MS] [api-error:CODE] [stream-error] [ctx:N]; '||' separates the steps of a turn.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "tools",
        "several tool calls (two in parallel), a failing command, apply_patch; then a resume",
        (
            Step("Please run [shell:echo hi] [shell:cat notes.txt] || [fail] || [patch:new.txt]"),
            Step("One more [shell:echo again]"),
        ),
    ),
    Scenario(
        "model_switch",
        "gpt-6.2-sol (code mode), then resumed with -m gpt-5.5 (classic tools): Codex compacts",
        (
            Step("Please run [shell:echo one]"),
            Step("Now [shell:echo two] || [fail]", model="gpt-5.5"),
        ),
    ),
    Scenario(
        "subagent",
        "spawn_agent without history, then spawn_agent with the parent's history (a fork)",
        (
            Step("Please delegate [spawn] || [wait]"),
            Step(
                "First [shell:echo parent-first] || then delegate with history [spawn-fork]"
                " || [wait]",
                new_session=True,
            ),
        ),
    ),
    Scenario(
        "api_error",
        "HTTP 400 on the first turn (exit 1, no retry), the same session resumed fine; HTTP 500"
        " (retried: 9 requests) and a response.failed stream (3 attempts), each a new session",
        (
            Step("Please [api-error] now", expect=1),
            Step("Try again [shell:echo recovered]"),
            Step("Please [api-error:500] now", new_session=True, expect=1),
            Step("Please [stream-error] now", new_session=True, expect=1),
        ),
    ),
    Scenario(
        "auto_compaction",
        "a turn crossing model_auto_compact_token_limit: mid-turn compaction",
        (
            Step(
                "Fill the context [ctx:20000] [shell:echo a] || [shell:echo b]",
                config=("model_auto_compact_token_limit=30000",),
            ),
        ),
    ),
)
SCENARIO_NAMES = tuple(s.name for s in SCENARIOS)


def scenario(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def run_scenario(rig: CodexRig, chosen: Scenario) -> ScenarioRun:
    """Play the steps in order; each invocation must exit as the step expects."""
    run = ScenarioRun(chosen)
    session: str | None = None
    for step in chosen.steps:
        if session is None or step.new_session:
            invocation = rig.exec(
                step.prompt, model=step.model, config=step.config, expect=step.expect
            )
            session = invocation.session_id
        else:
            invocation = rig.resume(
                session, step.prompt, model=step.model, config=step.config, expect=step.expect
            )
        run.invocations.append(invocation)
        assert session, f"no session id from {invocation.output()}"
    return run


# --- Codex's own view of the hooks ----------------------------------------------------------


def app_server(
    node: str,
    codex_js: Path,
    env: Mapping[str, str],
    cwd: Path,
    calls: Sequence[tuple[str, dict[str, Any]]],
    timeout: float = 30.0,
) -> list[Any]:
    """Run `codex app-server` (stdio JSON-RPC, one JSON object per line), make `calls` in
    order after the `initialize` handshake, and return their results. stdin stays open
    until the last answer: at end of input the server quits without answering."""
    hello = {"clientInfo": {"name": "aitop-tests", "version": "0"}}
    requests: list[dict[str, Any]] = [
        {"id": 0, "method": "initialize", "params": hello},
        {"method": "initialized"},
    ]
    requests += [{"id": n, "method": m, "params": p} for n, (m, p) in enumerate(calls, 1)]
    process = subprocess.Popen(
        [node, str(codex_js), "app-server"],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    results: dict[int, Any] = {}
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(b"".join(json.dumps(r).encode() + b"\n" for r in requests))
        process.stdin.flush()
        for line in _lines(process.stdout.fileno(), timeout):
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                number = message.get("id")
                if isinstance(number, int) and number >= 1:
                    if "error" in message:
                        method = calls[number - 1][0]
                        raise AssertionError(f"app-server {method} failed: {message['error']}")
                    results[number] = message["result"]
                    if len(results) == len(calls):
                        return [results[n] for n in range(1, len(calls) + 1)]
        raise AssertionError(f"codex app-server answered {len(results)} of {len(calls)} calls")
    finally:
        stop_process(process)


def hooks_list(
    node: str, codex_js: Path, env: Mapping[str, str], cwd: Path
) -> list[dict[str, Any]]:
    """`hooks/list`: every hook Codex discovered for `cwd`, with `key`, `currentHash`,
    `trustStatus` (untrusted|trusted|modified|managed), `command`, `matcher`, ..."""
    (listed,) = app_server(node, codex_js, env, cwd, [("hooks/list", {"cwds": [str(cwd)]})])
    entries: list[dict[str, Any]] = listed["data"][0]["hooks"]
    return entries


def trust_via_codex(
    node: str, codex_js: Path, env: Mapping[str, str], cwd: Path, command: str
) -> dict[str, str]:
    """Trust exactly the hooks whose command is `command`, the way Codex's TUI does but
    without a terminal: `hooks/list` gives their keys and Codex's own current hashes, then
    `config/batchWrite` upserts `hooks.state.<key>.trusted_hash` into the user's
    config.toml (Codex writes the file itself). Returns what it trusted."""
    listed = hooks_list(node, codex_js, env, cwd)
    trusted = {
        e["key"]: e["currentHash"]
        for e in listed
        if e["command"] == command and e["trustStatus"] in ("untrusted", "modified")
    }
    state = {key: {"trusted_hash": value} for key, value in trusted.items()}
    edit = {"keyPath": "hooks.state", "value": state, "mergeStrategy": "upsert"}
    app_server(node, codex_js, env, cwd, [("config/batchWrite", {"edits": [edit]})])
    return trusted


def _lines(fd: int, timeout: float) -> Iterator[bytes]:
    """Whole lines read from `fd` until end of file or `timeout` seconds in all."""
    deadline = time.monotonic() + timeout
    pending = b""
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            return
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        *lines, pending = (pending + chunk).split(b"\n")
        yield from lines
