"""Codex's rollouts as history (`aitop report`, the budgets): every rollout under
sessions/ and archived_sessions/, plain or compressed, read by the live monitor's own
rollout reader."""

from __future__ import annotations

import os

from aitop.providers.base import LogFile
from aitop.providers.codex.rollout import (
    AGENT,
    SUFFIXES,
    RolloutReader,
    plain_twin,
    tailer,
    thread_of,
)
from aitop.providers.dedup import Dedup
from aitop.providers.history import TailedLogs

SESSIONS_DEPTH = 4  # sessions/YYYY/MM/DD/rollout-….jsonl
ARCHIVED_DEPTH = 1


class CodexHistory:
    agent = AGENT

    def __init__(self, codex_home: str) -> None:
        home = os.path.abspath(codex_home)
        self.sessions_dir = os.path.join(home, "sessions")
        self.archived_dir = os.path.join(home, "archived_sessions")

    def log_files(self) -> list[LogFile]:
        found: list[LogFile] = []
        for root, depth in (
            (self.sessions_dir, SESSIONS_DEPTH),
            (self.archived_dir, ARCHIVED_DEPTH),
        ):
            for entry in rollouts(root, depth):
                thread = thread_of(entry.path)
                twin = plain_twin(entry.path)
                if thread is None or (twin is not None and os.path.exists(twin)):
                    continue  # the plain twin holds all of the compressed file, and more
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                # a thread's subagents and forks are written the same day, beside it
                group = os.path.dirname(entry.path)
                found.append(LogFile(entry.path, thread, None, info.st_size, info.st_mtime, group))
        return found

    def reader(self, dedup: Dedup) -> TailedLogs:
        reader = RolloutReader(dedup=dedup, usage_only=True)
        return TailedLogs(tailer((self.sessions_dir, self.archived_dir), reader, history=True))

    def retention(self) -> str:
        return "Codex keeps its rollouts (it compresses those idle for a week to .jsonl.zst)"


def rollouts(root: str, depth: int) -> list[os.DirEntry[str]]:
    """The rollout files `depth` levels below `root`."""
    level = [root]
    for _ in range(depth - 1):
        deeper: list[str] = []
        for directory in level:
            try:
                deeper.extend(
                    e.path for e in os.scandir(directory) if e.is_dir(follow_symlinks=False)
                )
            except OSError:
                continue
        level = deeper
    found = []
    for directory in level:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("rollout-") and entry.name.endswith(SUFFIXES):
                try:
                    if entry.is_file(follow_symlinks=False):
                        found.append(entry)
                except OSError:
                    continue
    return found
