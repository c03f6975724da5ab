"""Generated multi-agent log corpora for the history tests, and a brute-force recount of
them written from the rules in DESIGN.md ("Accounting", and the Codex rules in
aitop/providers/codex/rollout.py, the Gemini CLI rules in aitop/providers/gemini/chats.py),
independent of aitop's readers: `json.loads` on every
line, one dict of request keys over every file in the canonical order (oldest modified
first), each request's spend on the calendar of the zone by `zoneinfo` itself.

A corpus is drawn by hypothesis: requests at times around a daylight-saving change of the
chosen zone (and across midnight), Claude Code transcripts (several lines per response,
output that grows from line to line, subagent files, forks that copy another file's
lines), Codex rollouts (records per response, forked children that replay their parent's
history, copies of records in other files) and Gemini CLI chat files (a record written
again with the same id, first without tokens, `$set` snapshots that hold records with
tokens, subagents' files, copies of records in other files), with junk lines in between.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from aitop.events import Usage
from aitop.pricing import Pricer

CLAUDE_MODELS = ("claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-nova-9")
CODEX_MODELS = ("gpt-6-sol", "gpt-5.5", "gpt-7-unknown")
GEMINI_MODELS = ("gemini-3.8-flash", "gemini-2.5-pro", "gemini-9-unknown")
AGENTS = ("claude-code", "codex", "gemini")
VENDORS = {"claude-code": "anthropic", "codex": "openai", "gemini": "google"}
ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute change
    "America/Santiago",  # changes at midnight
    "Asia/Kolkata",  # +05:30, no change
    "Pacific/Chatham",  # +12:45 / +13:45
    "UTC",
)
YEAR = 2026
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp()  # after every generated time


@cache
def changes(zone: str) -> tuple[float, ...]:
    """The instants of `YEAR` at which the zone's offset changes (or its new year)."""
    tz = zoneinfo.ZoneInfo(zone) if zone != "UTC" else dt.UTC
    start = dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC).timestamp()
    found = [start]
    previous = dt.datetime.fromtimestamp(start, tz).utcoffset()
    t = start
    while t < start + 366 * 86400:
        t += 3600
        offset = dt.datetime.fromtimestamp(t, tz).utcoffset()
        if offset != previous:
            lo, hi = t - 3600, t
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if dt.datetime.fromtimestamp(mid, tz).utcoffset() == previous:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
            previous = offset
    return tuple(found)


@dataclass(frozen=True)
class Request:
    agent: str
    rid: str
    when: float
    model: str
    usage: tuple[int, int, int, int, int]  # input, output, cache read, cache write, reasoning


@dataclass
class LogSpec:
    agent: str
    path: str  # relative to the agent's directory
    mtime: float
    lines: list[dict[str, Any] | str] = field(default_factory=list)


@dataclass
class Corpus:
    zone: str
    first_weekday: int
    files: list[LogSpec]

    def write(self, home: Path) -> dict[str, Path]:
        """The agents' directories under `home`: {"claude-code": ..., "codex": ...}."""
        dirs = {
            "claude-code": home / ".claude",
            "codex": home / ".codex",
            "gemini": home / ".gemini",
        }
        for spec in self.files:
            path = dirs[spec.agent] / spec.path
            path.parent.mkdir(parents=True, exist_ok=True)
            text = "".join(
                (line if isinstance(line, str) else json.dumps(line)) + "\n" for line in spec.lines
            )
            path.write_text(text)
            os.utime(path, (spec.mtime, spec.mtime))
            if spec.agent == "gemini":  # Gemini CLI writes where each project is
                project = Path(spec.path).parts[1]
                (dirs["gemini"] / "tmp" / project / ".project_root").write_text(
                    f"/home/u/{project}"
                )
        for directory in dirs.values():
            directory.mkdir(parents=True, exist_ok=True)
        return dirs


def _iso(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


# --- drawing ---------------------------------------------------------------------------------

usages = st.tuples(
    st.integers(0, 5000), st.integers(0, 3000), st.integers(0, 200_000), st.integers(0, 50_000),
    st.integers(0, 500),
)  # fmt: skip


@st.composite
def corpora(draw: st.DrawFn, max_files: int = 8) -> Corpus:
    zone = draw(st.sampled_from(ZONES))
    base = draw(st.sampled_from(changes(zone)))
    first_weekday = draw(st.integers(0, 6))
    times = st.floats(base - 2 * 86400, base + 2 * 86400).map(lambda t: round(t, 3))
    files: list[LogSpec] = []
    made: list[tuple[LogSpec, list[Request]]] = []  # files and the requests they hold
    count = draw(st.integers(1, max_files))
    for n in range(count):
        agent = draw(st.sampled_from(AGENTS))
        own = [
            Request(agent, f"r{n}x{i}", draw(times), draw(st.sampled_from(_models(agent))),
                    draw(usages))
            for i in range(draw(st.integers(0, 6)))
        ]  # fmt: skip
        # a fork or resume: copies of another file's requests of the same agent
        sources = [requests for spec, requests in made if spec.agent == agent and requests]
        copied: list[Request] = []
        if sources and draw(st.booleans()):
            source = draw(st.sampled_from(sources))
            copied = draw(st.lists(st.sampled_from(source), max_size=4))
        # a file is written after its last line (its copies included), maybe long after
        written = max((r.when for r in own + copied), default=base)
        mtime = written + draw(st.floats(0, 3 * 86400))
        write = {"claude-code": _claude_file, "codex": _codex_file, "gemini": _gemini_file}[agent]
        spec = write(draw, n, own, copied, mtime)
        files.append(spec)
        made.append((spec, own))
    return Corpus(zone, first_weekday, files)


def _models(agent: str) -> tuple[str, ...]:
    return {"claude-code": CLAUDE_MODELS, "codex": CODEX_MODELS, "gemini": GEMINI_MODELS}[agent]


def _claude_file(
    draw: st.DrawFn, n: int, own: list[Request], copied: list[Request], mtime: float
) -> LogSpec:
    project = draw(st.sampled_from(("alpha", "beta")))
    session = f"00000000-0000-4000-8000-{n:012d}"
    if n and draw(st.integers(0, 3)) == 0:  # a subagent's file, in an earlier session
        parent = f"00000000-0000-4000-8000-{draw(st.integers(0, n - 1)):012d}"
        path = f"projects/{project}/{parent}/subagents/agent-a{n}.jsonl"
    else:
        path = f"projects/{project}/{session}.jsonl"
    spec = LogSpec("claude-code", path, mtime)
    cwd = f"/home/u/{project}"
    events = [("copy", r) for r in copied] + [("own", r) for r in own]
    order = draw(st.permutations(events)) if events else []
    for _, request in order:
        lines = draw(st.integers(1, 3))  # a line per content block, usage on each
        grow = draw(st.integers(0, 40)) if lines > 1 else 0
        for k in range(lines):
            i, o, cr, cw, _ = request.usage
            out = o + (grow if k == lines - 1 else 0)
            spec.lines.append(
                {
                    "type": "assistant",
                    "timestamp": _iso(request.when),
                    "cwd": cwd,
                    "requestId": "req_" + request.rid,
                    "message": {
                        "id": "msg_" + request.rid,
                        "model": request.model,
                        "role": "assistant",
                        "content": [{"type": "text", "text": "hi"}],
                        "usage": {
                            "input_tokens": i,
                            "output_tokens": out,
                            "cache_read_input_tokens": cr,
                            "cache_creation_input_tokens": cw,
                        },
                    },
                }
            )
        if draw(st.booleans()):  # lines that hold no usage, one of them naming "assistant"
            spec.lines.append({"type": "user", "cwd": cwd, "message": {"role": "user"}})
            spec.lines.append({"type": "attachment", "content": {"role": "assistant"}})
            spec.lines.append('not json, "assistant" all the same')
    return spec


def _codex_file(
    draw: st.DrawFn, n: int, own: list[Request], copied: list[Request], mtime: float
) -> LogSpec:
    thread = f"01a22fb0-0000-7000-8000-{n:012d}"
    day = dt.datetime.fromtimestamp(mtime, dt.UTC)
    path = f"sessions/{day:%Y/%m/%d}/rollout-{day:%Y-%m-%dT%H-%M-%S}-{thread}.jsonl"
    spec = LogSpec("codex", path, mtime)
    root = thread
    if n and draw(st.integers(0, 3)) == 0:  # a subagent's thread reports to an earlier one
        root = f"01a22fb0-0000-7000-8000-{draw(st.integers(0, n - 1)):012d}"
    replayed = draw(st.lists(st.sampled_from(copied), max_size=2)) if copied else []
    ordinal = 0

    def line(kind: str, payload: dict[str, Any], when: float) -> None:
        nonlocal ordinal
        spec.lines.append(
            {"timestamp": _iso(when), "ordinal": ordinal, "type": kind, "payload": payload}
        )
        ordinal += 1

    start = min([r.when for r in own + copied], default=mtime)
    line(
        "session_meta",
        {"id": thread, "session_id": root, "cwd": "/home/u/gamma",
         "subagent_history_start_ordinal": 1 + 2 * len(replayed) if replayed else None},
        start,
    )  # fmt: skip
    for request in replayed:  # a forked child's copy of its parent's history: not its own
        _record(line, request, request.rid.split("x")[0])
    events = [("copy", r) for r in copied] + [("own", r) for r in own]
    for _, request in draw(st.permutations(events)) if events else []:
        owner = request.rid.split("x")[0]
        _record(line, request, owner)
        if draw(st.integers(0, 4)) == 0:
            line("event_msg", {"type": "task_started", "model_context_window": 272000}, start)
    return spec


def _record(line: Any, request: Request, owner: str) -> None:
    i, o, cr, cw, reasoning = request.usage
    line("turn_context", {"model": request.model, "cwd": "/home/u/gamma"}, request.when)
    line(
        "token_usage_record",
        {
            "thread_id": f"thread-{owner}",
            "response_id": "resp_" + request.rid,
            "usage": {
                "input_tokens": i + cr + cw,  # OpenAI's input holds the cached tokens
                "cached_input_tokens": cr,
                "cache_write_input_tokens": cw,
                "output_tokens": o + reasoning,
                "reasoning_output_tokens": reasoning,
            },
        },
        request.when,
    )


def _gemini_session(n: int) -> str:
    return f"{n:08d}-0000-4000-9000-000000000000"  # the file's name holds its first 8


def _gemini_file(
    draw: st.DrawFn, n: int, own: list[Request], copied: list[Request], mtime: float
) -> LogSpec:
    project = draw(st.sampled_from(("alpha", "beta")))
    session = _gemini_session(n)
    kind = "main"
    if n and draw(st.integers(0, 3)) == 0:  # a subagent's file, in an earlier session
        kind = "subagent"
        parent = _gemini_session(draw(st.integers(0, n - 1)))
        path = f"tmp/{project}/chats/{parent}/{session}.jsonl"
    else:
        day = dt.datetime.fromtimestamp(mtime, dt.UTC)
        path = f"tmp/{project}/chats/session-{day:%Y-%m-%dT%H-%M}-{session[:8]}.jsonl"
    spec = LogSpec("gemini", path, mtime)
    header = {"sessionId": session, "projectHash": "h", "kind": kind}
    spec.lines.append(header)
    events = [("copy", r) for r in copied] + [("own", r) for r in own]
    order = draw(st.permutations(events)) if events else []
    for _, request in order:
        record = _gemini_record(request)
        if draw(st.integers(0, 3)) == 0:  # the model named only by an earlier record
            del record["model"]
        spec.lines.append({"id": "u" + request.rid, "type": "user", "content": [{"text": "go"}]})
        if draw(st.booleans()):  # first written without tokens
            spec.lines.append({**record, "tokens": None})
        spec.lines.append(record)
        if draw(st.booleans()):  # written again with its tool calls
            spec.lines.append({**record, "toolCalls": [{"id": "c", "name": "glob"}]})
        if draw(st.booleans()):  # the document, tokens and all: never counted
            spec.lines.append({"$set": {"messages": [_gemini_record(request)]}})
            spec.lines.append(header)  # resumed: the header again
            spec.lines.append('not json, "gemini" all the same')
    return spec


def _gemini_record(request: Request) -> dict[str, Any]:
    i, o, cr, _, reasoning = request.usage
    tool = i // 3  # the tool-use prompt is billed as input, apart from the prompt
    return {
        "id": "g" + request.rid,
        "timestamp": _iso(request.when),
        "type": "gemini",
        "content": "ok",
        "model": request.model,
        "tokens": {"input": i - tool + cr, "output": o, "cached": cr, "thoughts": reasoning,
                   "tool": tool, "total": i + cr + o + reasoning},
    }  # fmt: skip


# --- the brute-force recount -----------------------------------------------------------------


@dataclass(frozen=True)
class Spent:
    """One request's contribution: its first sight, or the growth of a later one."""

    when: float
    agent: str
    session: str
    project: str
    model: str
    vendor: str
    new: bool
    usage: Usage
    cost: int


def recount(dirs: dict[str, Path], pricer: Pricer) -> list[Spent]:
    """Every contribution, by the rules, reading every file in the canonical order."""
    files = []
    for agent, directory in dirs.items():
        for path in directory.rglob("*.jsonl"):
            files.append((path.stat().st_mtime, str(path), agent, path))
    files.sort()
    seen: dict[tuple[str, str], Usage] = {}
    out: list[Spent] = []
    for _, _, agent, path in files:
        reading = {"claude-code": _claude, "codex": _codex, "gemini": _gemini}[agent](path)
        for key, when, session, project, model, usage in reading:
            vendor = VENDORS[agent]
            before = seen.get((agent, key))
            if before is None:
                total, new = usage, True
            else:
                total = before.union(usage)
                if total == before:
                    continue
                new = False
            seen[agent, key] = total
            cost = pricer.cost_pico(model, total, when, vendor=vendor)
            delta = total
            if before is not None:
                cost -= pricer.cost_pico(model, before, when, vendor=vendor)
                delta = total.minus(before)
            out.append(Spent(when, agent, session, project, model, vendor, new, delta, cost))
    return out


Occurrence = tuple[str, float, str, str, str, Usage]


def _claude(path: Path) -> Iterator[Occurrence]:
    session = path.parent.parent.name if path.parent.name == "subagents" else path.stem
    project = None
    for text in path.read_text().splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if line.get("type") != "assistant":
            continue
        project = project or os.path.basename(line["cwd"])
        message = line["message"]
        u = message["usage"]
        usage = Usage(
            input_tokens=u["input_tokens"],
            output_tokens=u["output_tokens"],
            cache_read_tokens=u["cache_read_input_tokens"],
            cache_write_5m_tokens=u["cache_creation_input_tokens"],
        )
        key = message["id"] + "/" + line["requestId"]
        yield key, _time(line["timestamp"]), session, project, message["model"], usage


def _codex(path: Path) -> Iterator[Occurrence]:
    lines = [json.loads(text) for text in path.read_text().splitlines()]
    meta = lines[0]["payload"]
    session = meta["session_id"]
    own_from = meta.get("subagent_history_start_ordinal") or 0
    model = None
    for line in lines[1:]:
        if line["ordinal"] < own_from:
            continue
        payload = line["payload"]
        if line["type"] == "turn_context":
            model = payload["model"]
        elif line["type"] == "token_usage_record":
            u = payload["usage"]
            cached = u["cached_input_tokens"]
            written = u["cache_write_input_tokens"]
            usage = Usage(
                input_tokens=u["input_tokens"] - cached - written,
                output_tokens=u["output_tokens"],
                cache_read_tokens=cached,
                cache_write_5m_tokens=written,
                reasoning_tokens=u["reasoning_output_tokens"],
            )
            key = payload["thread_id"] + "/" + payload["response_id"]
            assert model is not None
            yield key, _time(line["timestamp"]), session, "gamma", model, usage


def _gemini(path: Path) -> Iterator[Occurrence]:
    subagent = path.parent.name != "chats"  # chats/<parent session>/<subagent>.jsonl
    chats = path.parent.parent if subagent else path.parent
    project = (chats.parent / ".project_root").read_text().rsplit("/", 1)[-1]
    session = path.parent.name if subagent else None
    model = None
    for text in path.read_text().splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if "$set" in line:
            continue
        if "sessionId" in line and "type" not in line:
            session = session or line["sessionId"]  # the first header says
        elif line.get("type") == "gemini":
            model = line.get("model") or model
            t = line["tokens"]
            if t is None:
                continue
            cached = min(t["cached"], t["input"])
            usage = Usage(
                input_tokens=t["input"] - cached + t["tool"],
                output_tokens=t["output"] + t["thoughts"],
                cache_read_tokens=cached,
                reasoning_tokens=t["thoughts"],
            )
            assert session is not None
            # no model named yet in the file: priced as "gemini" (the family)
            when = _time(line["timestamp"])
            yield line["id"], when, session, project, model or "gemini", usage


def _time(text: str) -> float:
    return min(dt.datetime.fromisoformat(text).timestamp(), NOW)


def local_date(when: float, zone: str) -> dt.date:
    tz = dt.UTC if zone == "UTC" else zoneinfo.ZoneInfo(zone)
    return dt.datetime.fromtimestamp(when, tz).date()
