"""Gemini CLI's chat files as history (`aitop report`, the budgets): every session's and
subagent's chat file under `tmp/`, read by the live monitor's own chat reader.

How far back they go is Gemini CLI's `general.sessionRetention` setting (0.61.0,
packages/cli/src/utils/sessionCleanup.ts): on by default with `maxAge` "30d", it deletes
a project's sessions last updated longer ago than that (and, with `maxCount`, all but the
latest ones) each time Gemini CLI starts in that project; a setting it finds not valid
switches the clean-up off.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from aitop.providers.base import LogFile
from aitop.providers.dedup import Dedup
from aitop.providers.gemini.chats import (
    AGENT,
    ChatReader,
    ProjectRoots,
    chat_files,
    session_of,
    tailer,
)
from aitop.providers.history import TailedLogs

SETTINGS_NAME = "settings.json"
# general.sessionRetention's defaults in Gemini CLI 0.61.0's settings schema
DEFAULTS: dict[str, Any] = {"enabled": True, "maxAge": "30d", "minRetention": "1d"}
_PERIOD = re.compile(r"([0-9]+)([dhwm])")  # Gemini CLI's parseRetentionPeriod
_HOURS = {"h": 1, "d": 24, "w": 7 * 24, "m": 30 * 24}  # its month is 30 days
_UNITS = {"h": "hour", "d": "day", "w": "week", "m": "month"}
# a JSON string (kept), or a comment (Gemini CLI strips them before parsing)
_STRING_OR_COMMENT = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.DOTALL)


class GeminiHistory:
    agent = AGENT

    def __init__(self, gemini_dir: str) -> None:
        self.gemini_dir = os.path.abspath(gemini_dir)
        self.tmp_dir = os.path.join(self.gemini_dir, "tmp")

    def log_files(self) -> list[LogFile]:
        found: list[LogFile] = []
        for chat in chat_files(self.tmp_dir):
            owner = session_of(chat.path)
            if owner is None:
                continue
            # a project's sessions (resumed ones append to their file) and their
            # subagents' files: kept together
            found.append(LogFile(chat.path, *owner, chat.size, chat.mtime, chat.project))
        return found

    def reader(self, dedup: Dedup) -> TailedLogs:
        reader = ChatReader(ProjectRoots(self.tmp_dir), dedup=dedup, usage_only=True)
        return TailedLogs(tailer(self.tmp_dir, reader, history=True))

    def retention(self) -> str:
        return retention(read_settings(os.path.join(self.gemini_dir, SETTINGS_NAME)))


def read_settings(path: str) -> Any:
    """The user's settings.json (comments allowed, as Gemini CLI allows them); None if it
    is missing or cannot be read."""
    try:
        with open(path, "rb") as handle:
            text = handle.read(1 << 20).decode("utf-8")
        return json.loads(_STRING_OR_COMMENT.sub(lambda m: m.group(1) or " ", text))
    except (OSError, ValueError, RecursionError):
        return None


def retention(settings: Any) -> str:
    """What decides how far back the chat files go, by the user's settings (None: none)."""
    general = settings.get("general") if isinstance(settings, dict) else None
    given = general.get("sessionRetention") if isinstance(general, dict) else None
    setting = (
        "its general.sessionRetention setting: on, maxAge 30d by default"
        if given is None
        else f"general.sessionRetention in its settings.json: {_compact(given)}"
    )
    if given is not None and not isinstance(given, dict):
        return f"Gemini CLI keeps its chat files ({setting}, not an object)"
    config = {**DEFAULTS, **(given or {})}  # Gemini CLI merges the defaults in
    if not _truthy(config.get("enabled")):
        return f"Gemini CLI keeps its chat files ({setting})"
    if not isinstance(config.get("maxCount", 0), int | float | None):
        return f"Gemini CLI cleans its chat files up by {setting}"  # JavaScript's coercions
    problem, max_age, max_count = _validated(config)
    if problem:
        return f"Gemini CLI keeps its chat files ({setting}: not valid, {problem})"
    if max_age is None:
        assert max_count is not None
        what = f"all but a project's {max_count:g} latest sessions"
    else:
        what = f"a project's sessions not updated for {_said(max_age)}"
        if max_count is not None:
            what += f", and all but its {max_count:g} latest,"
    return f"Gemini CLI deletes {what} when it starts in that project ({setting})"


def _validated(config: dict[str, Any]) -> tuple[str, tuple[int, str] | None, float | None]:
    """Gemini CLI's validateRetentionConfig (a problem switches the clean-up off): (the
    problem or "", maxAge, maxCount)."""
    max_age = None
    if _truthy(config.get("maxAge")):
        max_age = _period(config["maxAge"])
        if max_age is None:
            return "maxAge is not <number><h|d|w|m>", None, None
        minimum = _period(config.get("minRetention")) or _period(DEFAULTS["minRetention"])
        assert minimum is not None
        if _hours(max_age) < _hours(minimum):
            return "maxAge is less than minRetention", None, None
    max_count = None
    if "maxCount" in config:
        value = config["maxCount"]
        if value is None or value < 1:  # JavaScript's null < 1
            return "maxCount is less than 1", None, None
        max_count = float(value)
    if max_age is None and max_count is None:
        return "neither maxAge nor maxCount is set", None, None
    return "", max_age, max_count


def _compact(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= 120 else text[:119] + "…"


def _period(value: Any) -> tuple[int, str] | None:
    found = _PERIOD.fullmatch(value) if isinstance(value, str) else None
    if found is None or int(found.group(1)) == 0:
        return None
    return int(found.group(1)), found.group(2)


def _said(period: tuple[int, str]) -> str:
    count, unit = period
    said = f"{count} {_UNITS[unit]}{'s' if count != 1 else ''}"
    return f"{said} ({count * 30} days)" if unit == "m" else said


def _hours(period: tuple[int, str]) -> int:
    return period[0] * _HOURS[period[1]]


def _truthy(value: Any) -> bool:
    """JavaScript's truthiness, for the values JSON has."""
    return value is not None and value is not False and value != 0 and value != ""
