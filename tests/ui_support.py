"""Snapshots for the screen's tests: the real Aggregator fed with the captured Claude Code
sessions (their hooks through the real decoder, their transcripts through the real
tailer), moved in time and given project names, plus a few busy sessions made of events,
all against a fixed `now`. The same input always gives the same snapshot, so frames
rendered from it can be compared with golden files.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from aitop import alerts
from aitop import events as ev
from aitop.aggregate import Aggregator
from aitop.alerts import Thresholds
from aitop.pricing import Pricer
from aitop.providers.claude_code.provider import ClaudeCode
from aitop.providers.claude_code.setup import Setup
from aitop.snapshot import Ingest, Snapshot, Transcripts
from aitop.wire import Envelope

from conftest import SESSIONS

NOW = 1_795_382_400.0  # 2026-11-22 21:20:00 UTC
START = NOW - 3 * 3600 - 754.0  # aitop has been up 3:12 (and 34 s)
CAPTURED_HOME = "/home/user/.claude"
CAPTURED_CWD = "/home/user/project"
PRICER = Pricer.load()

# captured session dir -> (seconds its last hook is before NOW, the project it is moved to)
REPLAYED = {
    "F1-print-tools-subagent": (530.0, "/home/user/src/aitop"),
    "F2-print-background-agent": (400.0, "/home/user/src/billing-service"),
    "F3-print-misc": (840.0, "/home/user/src/docs"),
    "F4-interactive-a": (215.0, "/home/user/src/infra"),
    "F5-interactive-b": (95.0, "/home/user/src/東京-dashboard"),
}


def fixture_snapshot(tmp: Path, *, sessions: bool = True, busy: bool = True) -> Snapshot:
    """The snapshot aitop would show at NOW after these sessions ran."""
    claude = tmp / ".claude"
    projects = claude / "projects"
    projects.mkdir(parents=True, exist_ok=True)
    provider = ClaudeCode(str(projects))
    aggregator = Aggregator(PRICER, START)
    frames = 0
    timeline: list[tuple[float, int, object]] = []
    if sessions:
        for name, (before, cwd) in REPLAYED.items():
            timeline.extend(_replayed(SESSIONS / name, claude, before, cwd))
    if busy:
        timeline.extend((t, 1, e) for t, e in _busy_events())
    timeline.sort(key=lambda item: (item[0], item[1]))
    for when, _order, item in timeline:
        if isinstance(item, _Lines):
            with item.target.open("a") as out:
                out.write("".join(line + "\n" for line in item.lines))
            provider.poll(when)
        elif isinstance(item, bytes):
            frames += 1
            _outcome, events, _reason = provider.decode(item, Envelope(), when)
            aggregator.apply_all(events, when)
        else:
            assert isinstance(item, ev.Request | ev.ToolStarted | ev.ToolFinished | ev.Waiting
                              | ev.TurnEnded | ev.SessionStarted | ev.Compacted
                              | ev.TurnCompleted | ev.PromptSubmitted)  # fmt: skip
            aggregator.apply(item, when)
        while provider.pending():
            aggregator.apply_all(provider.work(when, 1 << 20), when)
    stats = provider.stats()
    frames += 412 if sessions or busy else 0  # the empty screen: nothing received at all
    socket = "/home/user/.aitop/aitop.sock"
    # as aitop sees it with HOME=tmp: ~/.claude, and its default socket
    setup = Setup(str(claude), str(tmp / ".aitop" / "aitop.sock"), {"HOME": str(tmp)})
    snap = aggregator.snapshot(
        NOW,
        ingest=Ingest(frames=frames),
        transcripts=Transcripts(files=stats.files, requests=stats.requests, lines=stats.lines),
        socket=socket,
    )
    snap = msgspec.structs.replace(
        snap, diagnostics=setup.diagnostics(frames, stats.files, provider.tailer.outside)
    )
    return msgspec.structs.replace(snap, alerts=alerts.evaluate(snap, Thresholds()))


class _Lines:
    def __init__(self, target: Path, lines: list[str]) -> None:
        self.target = target
        self.lines = lines


def _replayed(
    session: Path, claude: Path, before: float, cwd: str
) -> list[tuple[float, int, object]]:
    """The session's transcript lines and hook frames, moved so its last hook is
    `before` seconds before NOW, in the order they happened."""
    hooks = [json.loads(line) for line in (session / "hooks.jsonl").read_text().splitlines()]
    shift = NOW - before - hooks[-1]["ts"]
    out: list[tuple[float, int, object]] = []
    for path in sorted((session / "claude-projects").rglob("*.jsonl")):
        target = claude / "projects" / path.relative_to(session / "claude-projects")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
        pending: list[str] = []
        for line in path.read_text().splitlines():
            data = json.loads(_moved(line, cwd))
            stamp = data.get("timestamp")
            if stamp:
                moved = _iso_epoch(stamp) + shift
                data["timestamp"] = _epoch_iso(moved)
            pending.append(json.dumps(data))
            if stamp:
                out.append((moved, 0, _Lines(target, pending)))
                pending = []
        if pending:
            out.append((out[-1][0] if out else NOW - before, 0, _Lines(target, pending)))
    for hook in hooks:
        payload = json.dumps(hook["payload"]).replace(CAPTURED_HOME, str(claude))
        out.append((hook["ts"] + shift, 1, _moved(payload, cwd).encode()))
    return out


def _moved(text: str, cwd: str) -> str:
    return text.replace(f'"{CAPTURED_CWD}"', json.dumps(cwd, ensure_ascii=False)).replace(
        f"{CAPTURED_CWD}/", f"{cwd}/"
    )


def _iso_epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


def _epoch_iso(when: float) -> str:
    from datetime import UTC, datetime

    return (
        datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


# --- busy sessions: what a working day looks like -------------------------------------------

BUSY = (
    # (session id, cwd, model, tag, seconds between requests, prompt tokens, cache hit, output)
    ("5a1f3c2e-0000-4000-8000-000000000001", "/home/user/src/payments-api",
     "claude-opus-5-5", "review", 14.0, 470_000, 0.93, 900),
    ("b7e04d91-0000-4000-8000-000000000002", "/home/user/src/frontend",
     "claude-sonnet-5-5", None, 21.0, 61_000, 0.48, 1500),
    ("c3d9a8f0-0000-4000-8000-000000000003", "/home/user/src/ml-pipeline",
     "claude-haiku-5-5", "batch", 9.0, 38_000, 0.22, 400),
    ("e81b6c47-0000-4000-8000-000000000004",
     "/home/user/src/a-very-long-project-name-that-will-not-fit",
     "claude-sonnet-5-5", None, 47.0, 92_000, 0.81, 2200),
    # (..., agent, vendor): another agent beside Claude Code
    ("01a2c0de-0000-7000-8000-000000000005", "/home/user/src/search-service",
     "gpt-5.5", None, 33.0, 120_000, 0.9, 600, "codex", "openai"),
)  # fmt: skip
TOOLS = ("Bash", "Read", "Edit", "Grep", "Read", "Bash", "Write", "Glob")
SUMMARIES = {"Bash": "npm test -- --watch", "Read": "app.py", "Edit": "router.ts",
             "Grep": "TODO", "Write": "notes.md", "Glob": "src/**/*.ts"}  # fmt: skip


def _busy_events() -> list[tuple[float, ev.Event]]:
    out: list[tuple[float, ev.Event]] = []
    for n, (sid, cwd, model, tag, every, prompt, hit, output, *more) in enumerate(BUSY):
        agent, vendor = more or ("claude-code", "anthropic")

        def info(t: float, sid: str = sid, cwd: str = cwd, tag: str | None = tag,
                 agent: str = agent) -> ev.SessionInfo:  # fmt: skip
            return ev.SessionInfo(agent, sid, t, cwd=cwd, tag=tag)

        first = NOW - 880.0 + 37 * n
        # the fourth one has been quiet a while; the fifth (Codex) worked a minute ago
        last = NOW - 3.0 - 60 * (n * n if n < 4 else 1)
        out.append((first - 1, ev.SessionStarted(info(first - 1), source="startup", model=model)))
        t, k = first, 0
        while t <= last:
            grow = 1 + k / 60  # the context grows through the session
            read = int(prompt * grow * hit)
            write = int(prompt * grow * (1 - hit) * 0.8)
            fresh = int(prompt * grow) - read - write
            usage = ev.Usage(fresh, output + 37 * (k % 7), read, write)
            ends = k % 6 == 5  # every sixth answer ends its turn
            out.append((t, ev.Request(info(t), model=model, usage=usage, vendor=vendor,
                                      stop_reason="end_turn" if ends else "tool_use")))  # fmt: skip
            if ends:
                out.append((t, ev.TurnCompleted(info(t))))
            tool = TOOLS[(k + n) % len(TOOLS)]
            call = f"toolu_{n}_{k}"
            out.append((t + 0.5, ev.ToolStarted(info(t + 0.5), call, tool,
                                                summary=SUMMARIES[tool])))  # fmt: skip
            ok = (k * (n + 3)) % 11 != 0
            ms = 40.0 + 173 * ((k * 7 + n) % 13) + (2500 if tool == "Bash" else 0)
            out.append((t + 1.0, ev.ToolFinished(info(t + 1.0), call, tool, ok, duration_ms=ms)))
            if k % 6 == 5:
                out.append((t + 2.0, ev.TurnEnded(info(t + 2.0))))
            t += every * (1 + 0.6 * ((k * 5 + n) % 4) / 3)
            k += 1
        # where each one is now: payments-api runs a command; frontend waits for a
        # permission; ml-pipeline and the long-named one finished their turns; the Codex
        # session sent a prompt 25 s ago
        end = t - every * (1 + 0.6 * (((k - 1) * 5 + n) % 4) / 3) + 1.0  # its last tool's end
        if n == 0:
            out.append((NOW - 3.0, ev.ToolStarted(info(NOW - 3.0), "toolu_0_now", "Bash",
                                                  summary="pytest -x tests")))  # fmt: skip
        elif n == 1:
            out.append((last + 4.0, ev.Waiting(info(last + 4.0), "permission")))
        elif n in (2, 3):
            out.append((end + 1.0, ev.TurnCompleted(info(end + 1.0))))
        else:
            out.append((NOW - 25.0, ev.PromptSubmitted(info(NOW - 25.0))))
    return out
