"""Reference readings of what Codex writes, for the tests only: small, plain and slow on
purpose, so that they are easy to check against the README of `tests/fixtures/codex/`.

aitop's own Codex provider (aitop/providers/codex/, later) must agree with these; they are
not it. Three things live here:

* `usage_records` / `record_totals`: the verified accounting rule 1, every
  `token_usage_record` once per `(thread_id, response_id)`, its model taken from the last
  `turn_context` before it in the same file.
* `token_count_totals`: rule 2, the fallback for rollouts without records: per file the
  advances of `token_count.info.total_token_usage`, skipping a forked child's replayed
  prefix; and `naive_last_sum`, the wrong rule (summing `last_token_usage`), kept to show
  that a scenario really exercises the trap.
* `hook_trust_hash` / `hook_trust_entries`: the `hooks.state."<key>".trusted_hash` record
  by which Codex 0.171.0 trusts a hook of `hooks.json` (tests/fixtures/codex/README.md,
  "Hooks need trust"; the key and the hashed content were read off the real TUI's record).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

# --- token usage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenUsage:
    """OpenAI's usage, named as Codex's rollout names it: `cached_input_tokens` is a part of
    `input_tokens`, `reasoning_output_tokens` a part of `output_tokens`."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_output_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_rollout(cls, usage: Mapping[str, Any]) -> TokenUsage:
        """A rollout `TokenUsage` object (absent fields are 0, as Codex defaults them)."""
        return cls(**{f.name: int(usage.get(f.name) or 0) for f in fields(cls)})

    @classmethod
    def from_api(cls, usage: Mapping[str, Any]) -> TokenUsage:
        """The Responses API's `response.completed.usage` (what the mock logs)."""
        return cls(
            input_tokens=usage["input_tokens"],
            cached_input_tokens=usage["input_tokens_details"]["cached_tokens"],
            cache_write_input_tokens=usage["input_tokens_details"].get("cache_write_tokens", 0),
            output_tokens=usage["output_tokens"],
            reasoning_output_tokens=usage["output_tokens_details"]["reasoning_tokens"],
            total_tokens=usage["total_tokens"],
        )

    def plus(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def minus(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))


def total(usages: Iterable[TokenUsage]) -> TokenUsage:
    out = TokenUsage()
    for usage in usages:
        out = out.plus(usage)
    return out


# --- rollout files ----------------------------------------------------------------------------


def rollout_files(codex_home: Path) -> list[Path]:
    """`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`, oldest first. (Codex rewrites
    rollouts idle for a week as `.jsonl.zst`; the rig's sessions are never that old.)"""
    return sorted((codex_home / "sessions").glob("[0-9]*/[0-9]*/[0-9]*/rollout-*.jsonl"))


def rollout_lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class RolloutMeta:
    """The first `session_meta` of a file: the thread it belongs to (a forked child's file
    replays its parent's `session_meta` second; that one is not the file's own)."""

    thread_id: str
    session_id: str  # the root thread: a subagent's file names its parent session
    parent_thread_id: str | None
    forked_from_id: str | None
    history_start_ordinal: int | None  # a forked child's own items start here


def rollout_meta(path: Path) -> RolloutMeta:
    for line in rollout_lines(path):
        if line["type"] == "session_meta":
            meta = line["payload"]
            return RolloutMeta(
                thread_id=meta["id"],
                session_id=meta.get("session_id") or meta["id"],
                parent_thread_id=meta.get("parent_thread_id"),
                forked_from_id=meta.get("forked_from_id"),
                history_start_ordinal=meta.get("subagent_history_start_ordinal"),
            )
    raise ValueError(f"{path}: no session_meta line")


# --- rule 1: token_usage_record --------------------------------------------------------------


@dataclass(frozen=True)
class UsageRecord:
    thread_id: str
    response_id: str
    model: str | None  # of the last turn_context before the record, in its file
    usage: TokenUsage
    path: Path
    timestamp: str


def usage_records(paths: Iterable[Path]) -> list[UsageRecord]:
    """Every `token_usage_record` of these files, once per `(thread_id, response_id)`."""
    seen: set[tuple[str, str]] = set()
    out = []
    for path in paths:
        model = None
        for line in rollout_lines(path):
            payload = line["payload"]
            if line["type"] == "turn_context":
                model = payload.get("model")
            elif line["type"] == "token_usage_record":
                key = (payload["thread_id"], payload["response_id"])
                if key in seen:
                    continue
                seen.add(key)
                usage = TokenUsage.from_rollout(payload["usage"])
                out.append(UsageRecord(*key, model, usage, path, line["timestamp"]))
    return out


def record_totals(paths: Iterable[Path]) -> dict[str, TokenUsage]:
    """Rule 1 per session (root thread): subagents' records count in their session."""
    paths = list(paths)
    session_of = {}
    for path in paths:
        meta = rollout_meta(path)
        session_of[meta.thread_id] = meta.session_id
    out: dict[str, TokenUsage] = {}
    for record in usage_records(paths):
        session = session_of.get(record.thread_id, record.thread_id)
        out[session] = out.get(session, TokenUsage()).plus(record.usage)
    return out


# --- rule 2 and the wrong rule: token_count rows --------------------------------------------


def _own_token_counts(path: Path) -> Iterator[dict[str, Any]]:
    """The `token_count` rows with `info` of the file's own thread (not a replayed prefix)."""
    start = rollout_meta(path).history_start_ordinal
    for index, line in enumerate(rollout_lines(path)):
        ordinal = line.get("ordinal", index)
        if start is not None and ordinal < start:
            continue
        payload = line["payload"]
        is_count = line["type"] == "event_msg" and payload.get("type") == "token_count"
        if is_count and payload.get("info"):
            yield payload["info"]


def token_count_totals(path: Path) -> TokenUsage:
    """Rule 2 for one file: add `total_token_usage - previous` when `total_tokens` advanced."""
    spent = TokenUsage()
    previous = TokenUsage()
    for info in _own_token_counts(path):
        current = TokenUsage.from_rollout(info["total_token_usage"])
        if current.total_tokens > previous.total_tokens:
            spent = spent.plus(current.minus(previous))
            previous = current
    return spent


def naive_last_sum(path: Path) -> TokenUsage:
    """The wrong rule: every row's `last_token_usage` (re-emitted rows count again)."""
    return total(TokenUsage.from_rollout(i["last_token_usage"]) for i in _own_token_counts(path))


# --- hook trust ---------------------------------------------------------------------------

# Events whose hooks.json matcher Codex keeps (the others drop it, also from the hash), and
# the events whose hooks Codex holds to a short timeout (default 1 s, at most 3 s: it warns
# "clamping SessionEnd hook timeout to 3s") and hashes with that timeout. Both measured on
# 0.171.0 with `codex app-server`'s `hooks/list` (its `matcher`, `timeoutSec`, `currentHash`).
MATCHER_EVENTS = frozenset(
    {
        "PreToolUse",
        "PostToolUse",
        "PermissionRequest",
        "SessionStart",
        "SessionEnd",
        "PreCompact",
        "PostCompact",
        "SubagentStart",
        "SubagentStop",
    }
)
SHORT_TIMEOUT_EVENTS = frozenset({"SessionEnd", "Interrupt"})
DEFAULT_TIMEOUT_S = 600
SHORT_DEFAULT_TIMEOUT_S, SHORT_MAX_TIMEOUT_S = 1, 3


def event_label(event: str) -> str:
    """`PreToolUse` -> `pre_tool_use`: the event's name in trust keys and hashes."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", event).lower()


def _timeout(event: str, configured: Any) -> int:
    if event in SHORT_TIMEOUT_EVENTS:
        seconds = SHORT_DEFAULT_TIMEOUT_S if configured is None else int(configured)
        return min(max(1, seconds), SHORT_MAX_TIMEOUT_S)
    return max(1, DEFAULT_TIMEOUT_S if configured is None else int(configured))


def hook_trust_hash(event: str, matcher: str | None, handler: Mapping[str, Any]) -> str:
    """`sha256:` + hex SHA-256 of the canonical JSON (keys sorted, no spaces) of the hook's
    normalised identity: its event label, its matcher (if the event keeps one) and the one
    command handler with its `timeout` as Codex applies it; fields that are None are left out (Codex
    passes the identity through TOML, which has no null)."""
    normalised: dict[str, Any] = {
        "type": "command",
        "command": handler["command"],
        "timeout": _timeout(event, handler.get("timeout")),
        "async": bool(handler.get("async", False)),
    }
    if handler.get("statusMessage") is not None:
        normalised["statusMessage"] = handler["statusMessage"]
    identity: dict[str, Any] = {"event_name": event_label(event), "hooks": [normalised]}
    if matcher is not None and event in MATCHER_EVENTS:
        identity["matcher"] = matcher
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def hook_trust_entries(hooks_json: Path, document: Mapping[str, Any]) -> dict[str, str]:
    """`{key: trusted_hash}` for every command hook of a hooks.json document, keyed as Codex
    keys them: `<hooks.json path>:<event label>:<group>:<handler>`. The path must be the one
    Codex uses: absolute, under CODEX_HOME with symlinks resolved. Keys are positions, so
    re-ordering the file makes entries stale: those hooks stop running (fail closed)."""
    source = str(hooks_json)
    out = {}
    for event, groups in document["hooks"].items():
        for group_index, group in enumerate(groups):
            for handler_index, handler in enumerate(group.get("hooks", [])):
                if handler.get("type") != "command":
                    continue
                key = f"{source}:{event_label(event)}:{group_index}:{handler_index}"
                out[key] = hook_trust_hash(event, group.get("matcher"), handler)
    return out


def trust_record_toml(entries: Mapping[str, str]) -> str:
    """The entries as `config.toml` tables (the format Codex's own writer produces)."""
    return "".join(
        f'\n[hooks.state.{json.dumps(key, ensure_ascii=False)}]\ntrusted_hash = "{value}"\n'
        for key, value in entries.items()
    )
