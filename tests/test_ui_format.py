"""How numbers read: the rules people bring from top, checked one by one."""

from __future__ import annotations

import pytest

from aitop.ui import format as fmt


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (42.9, "42s"),
        (60, "1 min"),
        (66, "1 min"),  # not "1:06", which a top user reads as an hour and six minutes
        (59 * 60 + 59, "59 min"),
        (3600 + 6 * 60, "1:06"),
        (3 * 3600 + 12 * 60 + 34, "3:12"),
        (2 * 86_400 + 3 * 3600 + 4 * 60, "2d 3:04"),
    ],
)
def test_uptime_reads_like_top(seconds: float, text: str) -> None:
    assert fmt.duration(seconds) == text
