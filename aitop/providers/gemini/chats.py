"""Exact token accounting from Gemini CLI's chat files (0.61.0; tests/fixtures/gemini).

`<gemini dir>/tmp/<project>/chats/session-<YYYY-MM-DDTHH-MM>-<8 chars of the id>.jsonl`,
one file per session (`--resume` appends to it), and one per subagent run in
`chats/<parent session id>/<subagent session id>.jsonl`. Each line is a header
(`sessionId`, `kind`: "main" or "subagent"; written again at every start), a `{"$set":
{...}}` update of the document (`messages` replaces the whole list: at start, on resume
rebuilt from history WITHOUT tokens, after a compression), or a message record (`id`,
`timestamp`, `type`: "user" | "gemini" | ..., and for "gemini": `tokens`, `model`,
`toolCalls`). The shared tailer follows the files; this reader turns their lines into
events. The rules, each proven against the mock's log of every response
(tests/e2e/test_real_gemini.py):

1. Every top-level `type: "gemini"` record's `tokens` once per record `id`, over the
   whole file; never a `$set` snapshot. A model turn that calls tools is written twice
   with the same id (then with `toolCalls`), and a record may first be written without
   tokens: summing every line is 1.6x over, replaying the document after `--resume`
   drops earlier turns. `tokens` are the API's usageMetadata of the request's last chunk:
   `input` is the whole prompt (cached tokens included), `thoughts` are apart from
   `output`; normalised: input = prompt - cached + tool-use prompt, output = output +
   thoughts, shown as reasoning.
2. A tool call is an entry of a record's `toolCalls` with a final `status`, once per
   call id: its outcome is `status == "success"` (a shell command exiting 3 is a
   success to Gemini CLI, a file not found is an "error"). `invoke_agent`'s entry
   names the subagent (`agentId`, `args.agent_name`).
3. A turn is a prompt (a user record with text, not tool results) that got an answer:
   counted at its first `gemini` record. The file cannot tell a turn's last answer from
   one that goes on to call tools until later lines, so the first one marks it; a prompt
   whose every request failed is no turn.
4. What is in no chat file: the model router's classifier call (one per prompt, and one
   per subagent run), compression's summary requests, loop and next-speaker checks. A
   failed request leaves no line either (the provider counts those from the hooks).
`decode_line` is pure; `aitop report` and the budgets read the files with this reader, in
its usage-only mode (history.py).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Annotated, NamedTuple

import msgspec
from msgspec import Meta, Struct

from aitop import events as ev
from aitop.providers.dedup import Dedup, Once
from aitop.providers.gemini import tools
from aitop.providers.tail import Followed, Tailer
from aitop.providers.timestamps import parse_time
from aitop.surrogates import printable, without_surrogates

AGENT = "gemini"
VENDOR = "google"
SUFFIX = ".jsonl"
SESSION_PREFIX = "session-"
CHATS = "chats"
UNKNOWN_MODEL = "gemini"  # a record with tokens but no model (none seen in its file yet)
SUBAGENT_TOOL = "invoke_agent"
FINAL_STATUSES = frozenset({"success", "error", "cancelled"})

Tok = Annotated[int, Meta(ge=0, le=10_000_000)]
Total = Annotated[int, Meta(ge=0, le=100_000_000)]
Id = Annotated[str, Meta(max_length=256)]
Name = Annotated[str, Meta(max_length=256)]


class _Tokens(Struct):
    input: Tok = 0
    output: Tok = 0
    cached: Tok = 0
    thoughts: Tok = 0
    tool: Tok = 0
    total: Total = 0


class _ToolCall(Struct):
    id: Id | None = None
    name: Name | None = None
    args: msgspec.Raw = msgspec.Raw()  # kept raw: hashed (repeats, hooks), then summarised
    status: Name | None = None
    agentId: Id | None = None


class Line(Struct):
    """The fields aitop reads of every kind of line (the rest is skipped)."""

    set_: msgspec.Raw = msgspec.field(default=msgspec.Raw(), name="$set")
    # the header
    sessionId: Id | None = None
    kind: Name | None = None
    # a message record
    id: Id | None = None
    timestamp: Name | None = None
    type: Name | None = None
    content: msgspec.Raw = msgspec.Raw()  # read only for user records
    tokens: _Tokens | None = None
    model: Name | None = None
    toolCalls: list[_ToolCall] | None = None

    @property
    def is_header(self) -> bool:
        return not self.set_ and self.sessionId is not None and self.type is None


class _Part(Struct):
    text: msgspec.Raw = msgspec.Raw()
    functionResponse: msgspec.Raw = msgspec.Raw()


_line_decoder = msgspec.json.Decoder(Line)
_content_decoder = msgspec.json.Decoder(list[_Part] | str | None)

# A line can matter only if it holds one of these; `$set` snapshots (the whole history,
# large, and never counted) are skipped unparsed by their first bytes.
_MARKERS = (b'"gemini"', b'"user"', b'"sessionId"')
# spend alone needs only the answers and the header (whose session, whose subagent)
USAGE_MARKERS = (b'"gemini"', b'"sessionId"')
_SET_PREFIX = b'{"$set"'


def _may_matter(line: bytes) -> bool:
    return not line.startswith(_SET_PREFIX) and any(m in line for m in _MARKERS)


def _not_a_snapshot(line: bytes) -> bool:
    """For the usage-only reader, whose lines the tailer found by its markers already."""
    return not line.startswith(_SET_PREFIX)


def decode_line(raw: bytes) -> Line | None:
    """One chat file line, decoded (pure); None for a line that is not JSON of the
    expected shape (bad UTF-8, nesting too deep, wrong types, absurd token counts)."""
    try:
        if not raw.isascii():
            raw.decode("utf-8")  # msgspec checks only the strings it decodes
        try:
            return _line_decoder.decode(raw)
        except msgspec.DecodeError:
            repaired = without_surrogates(raw)  # JavaScript cuts strings inside emoji
            if repaired is None:
                raise
            return _line_decoder.decode(repaired)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None


def usage_of(tokens: _Tokens) -> ev.Usage:
    """Gemini's `tokens`, normalised: the cached tokens taken out of the prompt count (which
    holds them), the tool-use prompt added to input (the API bills it as input, apart from
    the prompt), the thoughts added to output and shown as reasoning."""
    cached = min(tokens.cached, tokens.input)
    return ev.Usage(
        input_tokens=tokens.input - cached + tokens.tool,
        output_tokens=tokens.output + tokens.thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=tokens.thoughts,
    )


def is_prompt(line: Line) -> bool:
    """A user record the user typed (text), not one carrying tool results."""
    if line.type != "user" or not line.content:
        return False
    try:
        content = _content_decoder.decode(line.content)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return False
    if isinstance(content, str):
        return bool(content)
    if not content or any(part.functionResponse for part in content):
        return False
    return any(part.text for part in content)


class ReaderStats(Struct):
    requests: int = 0
    duplicate_lines: int = 0
    rejected_lines: int = 0


class _State:
    """What a chat file's earlier lines say about its later ones."""

    __slots__ = ("cwd", "last_time", "model", "prompt", "seen_header")

    def __init__(self, cwd: str | None) -> None:
        self.seen_header = False
        self.cwd = cwd
        self.model: str | None = None  # the last one a record named
        self.prompt: str | None = None  # the id of a prompt not answered yet
        self.last_time: float | None = None


class ChatReader:
    """Gemini CLI's chat file lines into events: a `tail.Reader`.

    `project_root`: the directory a chat file's project is (Gemini CLI writes it into
    `tmp/<project>/.project_root`), for sessions no hook has said the cwd of.
    `usage_only` (the report, the budgets): only the lines that hold answers or say whose
    file it is, and only the requests; the same decoding, dedup and requests otherwise."""

    def __init__(
        self,
        project_root: Callable[[str], str | None] | None = None,
        *,
        dedup: Dedup | None = None,
        usage_only: bool = False,
    ) -> None:
        self.stats = ReaderStats()
        self.dedup = Dedup() if dedup is None else dedup
        self.usage_only = usage_only
        # none: every line (see tail.Reader)
        self.markers: tuple[bytes, ...] = USAGE_MARKERS if usage_only else ()
        self._wanted = _not_a_snapshot if usage_only else _may_matter
        self._once = Once()
        self._project_root = project_root

    def follow(self, file: Followed) -> None:
        root = self._project_root(file.path) if self._project_root is not None else None
        file.state = _State(root)

    def lines(self, file: Followed, lines: list[bytes], now: float) -> list[ev.Event]:
        out: list[ev.Event] = []
        wanted = self._wanted
        for raw in lines:
            if not wanted(raw):
                continue
            line = decode_line(raw)
            if line is None:
                self.stats.rejected_lines += 1
            elif not line.set_:  # a snapshot of the document: never counted
                self._line(file, line, now, out)
        return out

    def _line(self, file: Followed, line: Line, now: float, out: list[ev.Event]) -> None:
        state: _State = file.state
        if line.is_header:
            self._header(file, state, line)
            return
        if not line.id:
            return
        if line.type == "user":
            if file.subagent_id is None and not self.usage_only and is_prompt(line):
                state.prompt = line.id
        elif line.type == "gemini":
            self._gemini(file, state, line, now, out)

    def _header(self, file: Followed, state: _State, line: Line) -> None:
        if state.seen_header or not line.sessionId:
            return  # written again at every resume: the first one says whose file it is
        state.seen_header = True
        if line.kind == "subagent":
            file.subagent_id = line.sessionId  # its session is the parent's (its directory)
        else:
            file.session_id = line.sessionId

    def _gemini(
        self, file: Followed, state: _State, line: Line, now: float, out: list[ev.Event]
    ) -> None:
        assert line.id is not None
        if line.model:
            state.model = line.model
        info = self._info(file, state, line, now)
        if state.prompt is not None:  # never set when usage_only
            if self._once.first(f"turn:{state.prompt}"):
                out.append(ev.TurnCompleted(info))
            state.prompt = None
        if line.tokens is not None:
            self._request(file, state, line.id, line.tokens, line.model, info, out)
        if not self.usage_only:
            for call in line.toolCalls or ():
                self._tool(file, call, info, out)

    def _request(
        self,
        file: Followed,
        state: _State,
        key: str,
        tokens: _Tokens,
        model: str | None,
        info: ev.SessionInfo,
        out: list[ev.Event],
    ) -> None:
        counted = self.dedup.add(key, usage_of(tokens), file.path)
        if counted is None:
            self.stats.duplicate_lines += 1
            return
        total, previous = counted
        if previous is None:
            self.stats.requests += 1
        out.append(
            ev.Request(
                info,
                model=model or state.model or UNKNOWN_MODEL,
                usage=total,
                previous=previous,
                subagent_id=file.subagent_id,
                sidechain=file.subagent_id is not None,
                vendor=VENDOR,
            )
        )

    def _tool(
        self, file: Followed, call: _ToolCall, info: ev.SessionInfo, out: list[ev.Event]
    ) -> None:
        if not call.id or not call.name or call.status not in FINAL_STATUSES:
            return  # not done yet: a later write of the record has it
        if not self._once.first(f"tool:{call.id}"):
            return
        raw = bytes(call.args)
        args = tools.decode_args(raw)
        digest = hash(raw) if raw else None
        sub = file.subagent_id
        said = tools.summarize(call.name, args)
        out.append(ev.ToolStarted(info, call.id, call.name, sub, digest, summary=said))
        out.append(ev.ToolFinished(info, call.id, call.name, call.status == "success", sub))
        if call.name == SUBAGENT_TOOL and call.agentId:
            kind = (args.agent_name if args is not None else None) or ""
            out.append(ev.SubagentStarted(info, call.agentId, kind))

    def _info(self, file: Followed, state: _State, line: Line, now: float) -> ev.SessionInfo:
        if line.timestamp:
            when = state.last_time = parse_time(line.timestamp, now)
        else:
            when = now if state.last_time is None else state.last_time
        return ev.SessionInfo(
            agent=AGENT,
            session_id=file.session_id,
            time=when,
            cwd=state.cwd,
            transcript_path=None if file.subagent_id else file.path,
        )


def tailer(tmp_dir: str, reader: ChatReader | None = None, *, history: bool = False) -> Tailer:
    """A tailer of the chat files under Gemini CLI's `tmp` directory."""
    return Tailer(
        (tmp_dir,),
        (SUFFIX,),
        reader or ChatReader(),
        home_of=gemini_dir_of,
        # history (the report, the budgets) reads whole files once, and shows no line count
        count_lines=not history,
        reuse_buffer=history,
    )


# --- where chat files are ------------------------------------------------------------


def session_of(path: str) -> tuple[str, str | None] | None:
    """(session, subagent) a chat file belongs to, from its place: a session's own file
    `chats/session-….jsonl` (its id is the header's: the name holds only 8 characters of
    it), a subagent's `chats/<session id>/<subagent id>.jsonl`; None for anything else."""
    directory, name = os.path.split(path)
    if not name.endswith(SUFFIX):
        return None
    stem = name[: -len(SUFFIX)]
    if os.path.basename(directory) == CHATS:
        return (printable(stem), None) if stem.startswith(SESSION_PREFIX) else None
    if os.path.basename(os.path.dirname(directory)) == CHATS:
        return printable(os.path.basename(directory)), printable(stem)
    return None


def gemini_dir_of(path: str) -> str:
    """The Gemini directory a chat file is in: `<dir>/tmp/<project>/chats/<file>` (or a
    subagent's file one level below); else the file's own directory."""
    parts = os.path.normpath(path).split(os.sep)
    for depth in (4, 5):
        if len(parts) > depth and parts[-depth] == "tmp" and parts[-depth + 2] == CHATS:
            return os.sep.join(parts[:-depth]) or os.sep
    return os.path.dirname(path)


class ChatFile(NamedTuple):
    path: str
    project: str  # its project's directory, `tmp/<project>`
    size: int
    mtime: float


def chat_files(tmp_dir: str) -> list[ChatFile]:
    """Every chat file under Gemini CLI's `tmp` directory: each project's sessions' own
    files (`chats/session-….jsonl`) and its subagents' (`chats/<session id>/….jsonl`)."""
    found: list[ChatFile] = []
    try:
        projects = [e.path for e in os.scandir(tmp_dir) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    for project in projects:
        chats = os.path.join(project, CHATS)
        found += _files_in(chats, project, lambda name: name.startswith(SESSION_PREFIX))
        with contextlib.suppress(OSError):
            for entry in os.scandir(chats):
                if entry.is_dir(follow_symlinks=False):
                    found += _files_in(entry.path, project, lambda name: True)
    return found


def _files_in(directory: str, project: str, wanted: Callable[[str], bool]) -> list[ChatFile]:
    found = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.endswith(SUFFIX) or not wanted(entry.name):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                info = entry.stat(follow_symlinks=False)
                found.append(ChatFile(entry.path, project, info.st_size, info.st_mtime))
    return found


PROJECT_ROOT_FILE = ".project_root"  # tmp/<project>/.project_root: the project's directory
MAX_ROOTS = 1024


class ProjectRoots:
    """The directory each project under `tmp_dir` is for, from its `.project_root` (read
    once): a `ChatReader`'s `project_root`."""

    def __init__(self, tmp_dir: str) -> None:
        self.tmp_dir = os.path.abspath(tmp_dir)
        self._roots: dict[str, str | None] = {}

    def __call__(self, path: str) -> str | None:
        relative = os.path.relpath(path, self.tmp_dir)
        project = relative.split(os.sep, 1)[0]
        if project in ("", ".", "..") or relative.startswith(".."):
            return None
        if project not in self._roots:
            if len(self._roots) >= MAX_ROOTS:
                self._roots.clear()
            self._roots[project] = _read_root(os.path.join(self.tmp_dir, project))
        return self._roots[project]


def _read_root(project_dir: str) -> str | None:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        fd = os.open(
            os.path.join(project_dir, PROJECT_ROOT_FILE),
            os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC,
        )
        try:
            root = os.read(fd, 4096).decode("utf-8").strip()
        finally:
            os.close(fd)
        return root if os.path.isabs(root) and "\0" not in root else None
    return None
