"""The alert log: an alert that lasted fifteen seconds still leaves a trace."""

from __future__ import annotations

from aitop.alert_log import AlertLog
from aitop.snapshot import Alert

T0 = 1_795_381_000.0


def test_each_alert_begins_and_clears_once() -> None:
    log = AlertLog()
    log.update([], T0)
    assert log.entries() == []
    log.update([Alert("waiting:s1:1", "critical", "frontend: waiting for 0s")], T0 + 1)
    log.update([Alert("waiting:s1:1", "critical", "frontend: waiting for 15s")], T0 + 16)
    (entry,) = log.entries()
    assert (entry.began_ts, entry.cleared_ts) == (T0 + 1, None)
    assert entry.message == "frontend: waiting for 15s"  # its latest wording
    log.update([Alert("burn_rate", "critical", "burning")], T0 + 17)  # the wait is over
    burn, wait = log.entries()  # the most recent first
    assert (wait.id, wait.began_ts, wait.cleared_ts) == ("waiting:s1:1", T0 + 1, T0 + 17)
    assert wait.began == "2026-11-22T20:56:41.000Z" and wait.cleared is not None
    assert (burn.id, burn.cleared_ts) == ("burn_rate", None)
    # the same condition again later is a new entry, not the old one reopened
    log.update([], T0 + 20)
    log.update([Alert("burn_rate", "critical", "burning")], T0 + 30)
    assert [(e.id, e.began_ts) for e in log.entries()] == [
        ("burn_rate", T0 + 30),
        ("burn_rate", T0 + 17),
        ("waiting:s1:1", T0 + 1),
    ]


def test_the_log_is_bounded_but_never_drops_an_alert_that_is_on() -> None:
    log = AlertLog(kept=3)
    log.update([Alert("long", "warning", "on all along")], T0)
    for n in range(10):
        log.update([Alert("long", "warning", "on"), Alert(f"a{n}", "warning", "x")], T0 + 2 * n + 1)
        log.update([Alert("long", "warning", "on")], T0 + 2 * n + 2)
    ids = [e.id for e in log.entries()]
    assert ids == ["a9", "a8", "a7", "long"]
