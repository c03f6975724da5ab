"""Claude Code's transcripts as history (`aitop report`, the budgets): every transcript
under the projects directory, read by the live monitor's own transcript reader."""

from __future__ import annotations

import json
import os

from aitop.providers.base import LogFile
from aitop.providers.claude_code.transcript import AGENT, TranscriptReader, session_of, tailer
from aitop.providers.dedup import Dedup
from aitop.providers.history import TailedLogs

DEFAULT_CLEANUP_DAYS = 30  # Claude Code's own default for cleanupPeriodDays


class ClaudeHistory:
    agent = AGENT

    def __init__(self, claude_dir: str, projects_dir: str) -> None:
        self.claude_dir = claude_dir
        self.projects_dir = os.path.abspath(projects_dir)

    def log_files(self) -> list[LogFile]:
        found: list[LogFile] = []
        try:
            projects = [p for p in os.scandir(self.projects_dir) if _is_dir(p)]
        except OSError:
            return []
        for project in projects:
            try:
                entries = list(os.scandir(project.path))
            except OSError:
                continue
            for entry in entries:
                if entry.name.endswith(".jsonl"):
                    _add(found, entry, project.name)
                elif _is_dir(entry):
                    try:
                        subagents = list(os.scandir(os.path.join(entry.path, "subagents")))
                    except OSError:
                        continue
                    for sub in subagents:
                        if sub.name.startswith("agent-") and sub.name.endswith(".jsonl"):
                            _add(found, sub, project.name)
        return found

    def reader(self, dedup: Dedup) -> TailedLogs:
        reader = TranscriptReader(dedup=dedup, usage_only=True)
        return TailedLogs(tailer(self.projects_dir, reader, history=True))

    def retention(self) -> str:
        path = os.path.join(self.claude_dir, "settings.json")
        days = cleanup_period_days(path)
        setting = (
            f"{DEFAULT_CLEANUP_DAYS} by default" if days is None else f"{days} in its settings.json"
        )
        return (
            "Claude Code deletes transcripts older than its cleanupPeriodDays setting when"
            f" it starts ({setting})"
        )


def cleanup_period_days(settings_path: str) -> int | None:
    """cleanupPeriodDays from a settings.json, if it sets a valid one."""
    try:
        with open(settings_path, "rb") as handle:
            settings = json.loads(handle.read(1 << 20))
    except (OSError, ValueError, RecursionError):
        return None
    days = settings.get("cleanupPeriodDays") if isinstance(settings, dict) else None
    return days if isinstance(days, int) and not isinstance(days, bool) and days >= 1 else None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _add(found: list[LogFile], entry: os.DirEntry[str], project: str) -> None:
    owner = session_of(entry.path)
    if owner is None:
        return
    try:
        if not entry.is_file(follow_symlinks=False):
            return
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return
    found.append(LogFile(entry.path, owner[0], owner[1], info.st_size, info.st_mtime, project))
