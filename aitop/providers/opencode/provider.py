"""The OpenCode provider: plugin frames and the store in, aitop events out.

Live events come from aitop's plugin (`plugin.py`); tokens, costs, errors, compactions,
turns and tool calls from OpenCode's store (`reader.py`), which is enough on its own: with
no plugin installed, sessions are still found and counted, without the live status. A
subagent's session (`session.parent_id`) is counted in its root session's row, as a
Claude Code subagent is in its session's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

from aitop import events as ev
from aitop import paths
from aitop.log import log
from aitop.providers.base import Decoded, LogStats, Outcome
from aitop.providers.opencode import plugin, tools
from aitop.providers.opencode.reader import StoreReader
from aitop.providers.opencode.records import AGENT
from aitop.providers.opencode.store import Store, db_path
from aitop.snapshot import Diagnostic
from aitop.wire import Envelope

PLUGIN_NAME = "aitop.js"
KINDS_KEPT = 10_000
PROCESSES_KEPT = 1_000
TITLE_NOTE = (
    "OpenCode's title request (one per new session, by its small model) is in no store:"
    " aitop cannot count it."
)


def config_dir(environ: Mapping[str, str]) -> str:
    """OpenCode's global config directory, where its `plugin/` directory is."""
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(paths.home(environ), ".config")
    return os.path.join(base, "opencode")


class OpenCode:
    agent = AGENT

    def __init__(self, data_dir: str, environ: Mapping[str, str] | None = None) -> None:
        environ = environ if environ is not None else {}
        self.data_dir = os.path.abspath(data_dir)
        self.store = Store(db_path(self.data_dir, environ))
        self.reader = StoreReader(self.store)
        self.plugin_file = os.path.join(config_dir(environ), "plugin", PLUGIN_NAME)
        self.dropped = 0  # events the plugin said it could not send
        self._kinds: dict[str, str] = {}  # subagent session -> its agent ("general")
        # per OpenCode process: its root sessions whose turn ended, with that event's info
        self._idle: dict[int, dict[str, ev.SessionInfo]] = {}
        self._started = False

    # --- plugin frames -------------------------------------------------------------------

    def decode(self, payload: bytes, envelope: Envelope, now: float) -> Decoded:
        batch = plugin.decode(payload)
        if isinstance(batch, str):
            return Decoded(Outcome.MALFORMED, [], batch)
        if batch.dropped:
            self.dropped += batch.dropped
            log.info("OpenCode plugin: %d events could not be sent", batch.dropped)
        if not batch.records:
            if batch.rejected:
                return Decoded(
                    Outcome.MALFORMED, [], f"{batch.rejected} records of the wrong shape"
                )
            return Decoded(Outcome.IGNORED, [], "no records aitop uses")
        events: list[ev.Event] = []
        for record in batch.records:
            events.extend(self._events(record, envelope, now))
        reason = f"{batch.rejected} records of the wrong shape" if batch.rejected else ""
        return Decoded(Outcome.OK, events, reason)

    def _events(self, record: plugin.Record, envelope: Envelope, now: float) -> list[ev.Event]:
        sid = record.sessionID
        if isinstance(record, plugin.SessionCreated) and record.directory:
            self.reader.learn_directory(sid, record.directory)
        root, cwd = self.reader.root_of(sid, record.parentID)
        info = ev.SessionInfo(
            agent=AGENT,
            session_id=root,
            time=now,
            cwd=cwd,
            pid=envelope.pid,
            tag=envelope.tag,
        )
        sub = sid if sid != root else None
        match record:
            case plugin.SessionCreated(agent=kind):
                if sub is not None:
                    self._learn_kind(sub, kind or "")
                    return [ev.SubagentStarted(info, sub, self._kinds.get(sub, ""))]
                return [ev.SessionStarted(info, "startup")]
            case plugin.SessionStatus(status="idle"):
                if sub is not None:
                    return [ev.SubagentStopped(info, sub, self._kinds.get(sub, ""))]
                self.reader.poll()  # its last request has ended: read it now
                if envelope.pid is not None:
                    self._idle_in(envelope.pid)[root] = info
                return [ev.TurnEnded(info)]
            case plugin.SessionError(error=error):
                if sub is not None:
                    return [ev.Activity(info)]
                return [ev.TurnFailed(info, error)]
            case plugin.SessionDeleted():
                if sub is not None:
                    return [ev.SubagentStopped(info, sub, self._kinds.get(sub, ""))]
                return [ev.SessionEnded(info, reason="deleted")]
            case plugin.PermissionAsked():
                return [ev.Waiting(info, "permission")]
            case plugin.QuestionAsked():
                return [ev.Waiting(info, "input")]
            case plugin.StepFinished():
                self.reader.poll()
                return [ev.Activity(info)]
            case plugin.ToolStarted(callID=call, tool=tool, argsHash=digest, args=args):
                said = tools.summarize(tool, args)
                return [ev.ToolStarted(info, call, tool or "(unknown)", sub, digest, said)]
            case plugin.ToolFinished(callID=call, tool=tool, ok=ok, duration_ms=duration):
                return [ev.ToolFinished(info, call, tool or None, ok, sub, duration)]
            case plugin.Prompt(modelID=model):
                if sub is not None:
                    return [ev.Activity(info)]
                prompted: list[ev.Event] = [*self._left(envelope.pid, root, now)]
                prompted.append(ev.PromptSubmitted(info))
                if model:
                    prompted.append(ev.ModelSwitched(info, model))
                return prompted
        # busy and retry, answers to permissions and questions: signs of life
        if sub is None and envelope.pid is not None and isinstance(record, plugin.SessionStatus):
            self._idle_in(envelope.pid).pop(root, None)  # working again
        return [ev.Activity(info)]

    # --- the store -------------------------------------------------------------------------

    def backfill(self, now: float, window_s: float = 900.0) -> int:
        self._started = True
        self.reader.start(since=now - window_s)
        return 1 if self.store.exists else 0

    def discover(self, now: float) -> int:
        self.poll(now)
        found, self.reader.found = self.reader.found, 0
        return found

    def poll(self, now: float) -> None:
        if not self._started:  # --no-backfill: only what is written from now on
            self._started = True
            self.reader.start(since=None)
        self.reader.poll()

    def pending(self) -> bool:
        return self.reader.pending()

    def work(self, now: float, budget: int) -> list[ev.Event]:
        events = self.reader.work(now, budget)
        for event in events:
            if isinstance(event, ev.SubagentStarted) and event.subagent_type:
                self._learn_kind(event.subagent_id, event.subagent_type)
        return events

    def _idle_in(self, pid: int) -> dict[str, ev.SessionInfo]:
        found = self._idle.get(pid)
        if found is None:
            if len(self._idle) >= PROCESSES_KEPT:
                self._idle.clear()
            found = self._idle[pid] = {}
        return found

    def _left(self, pid: int | None, root: str, now: float) -> list[ev.Event]:
        """One OpenCode process (its TUI, `opencode serve`) holds many sessions: a prompt in
        one of them leaves the others whose turn had ended. Like Claude Code's session that
        ends when its user resumes another, they end (a prompt there brings them back);
        else each would wait for its user for as long as the process runs."""
        if pid is None:
            return []
        idle = self._idle_in(pid)
        idle.pop(root, None)
        left: list[ev.Event] = [
            ev.SessionEnded(msgspec.structs.replace(info, time=now), reason="other session")
            for info in idle.values()
        ]
        idle.clear()
        return left

    def _learn_kind(self, subagent_id: str, kind: str) -> None:
        """A subagent's kind, so that the plugin's word on it (which may not say) keeps it."""
        if not kind:
            return
        if len(self._kinds) >= KINDS_KEPT:
            self._kinds.clear()
        self._kinds[subagent_id] = kind

    def park(self, session_id: str) -> None:
        pass  # nothing is followed per session: new rows of it bring it back whole

    def forget(self, session_id: str) -> None:
        self.reader.forget(session_id)
        for idle in self._idle.values():
            idle.pop(session_id, None)

    def stats(self) -> LogStats:
        s = self.reader.stats
        return LogStats(
            files=1 if self.store.exists and self.store.last_failure is None else 0,
            lines=s.lines,
            requests=s.requests,
            duplicate_lines=s.duplicate_lines,
            rejected_lines=s.rejected_lines,
            restarts=max(0, self.store.opens - 1),
            bytes_read=s.bytes_read,
        )

    def backlog(self) -> int:
        return 0  # rows are counted, not bytes: a backlog shows as `pending()`

    def unreadable(self) -> int:
        failure = self.store.last_failure
        return 1 if self.store.exists and failure is not None else 0

    def watching(self) -> str:
        return "polling the store"

    def close(self) -> None:
        self.store.close()

    def diagnostics(self, frames: int) -> list[Diagnostic]:
        if not os.path.isdir(self.data_dir):
            return []  # OpenCode not used here: nothing to say
        path = self.store.path or "(no store: $OPENCODE_DB is :memory:)"
        out: list[Diagnostic] = []
        failure = self.store.last_failure
        if failure is not None and self.store.exists:
            counts = ", ".join(f"{kind} {n}" for kind, n in sorted(self.store.failures.items()))
            out.append(
                Diagnostic(
                    "opencode:store",
                    "info" if failure.startswith(("busy", "no tables")) else "warning",
                    f"OpenCode's store {path} could not be read ({failure}); aitop tries"
                    f" again each second (so far: {counts}).",
                )
            )
        else:
            out.append(
                Diagnostic(
                    "opencode:store",
                    "info",
                    f"OpenCode store: {path}, read-only. {TITLE_NOTE}",
                )
            )
        if not os.path.exists(self.plugin_file):
            out.append(
                Diagnostic(
                    "opencode:plugin",
                    "info",
                    f"aitop's plugin is not in {os.path.dirname(self.plugin_file)}: run"
                    " 'aitop install --agent opencode --write' (without it aitop counts"
                    " OpenCode's sessions from its store alone: no waiting sessions, no live"
                    " tool calls).",
                )
            )
        return out
