"""The alert area, as pure functions of a snapshot: what needs the user is never hidden.
Critical alerts are always on screen, the area grows into rows a short list leaves
free, alerts are ordered by severity then age, and `a` lists them all with the log."""

from __future__ import annotations

import msgspec
import pytest

from aitop.alert_log import AlertLog
from aitop.snapshot import Alert, Snapshot
from aitop.ui.render import render
from aitop.ui.sections import plain
from aitop.ui.view import View, ordered_alerts, press

from ui_support import fixture_snapshot

pytestmark = pytest.mark.usefixtures("utc")


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return fixture_snapshot(tmp_path_factory.mktemp("claude"))


def with_alerts(snap: Snapshot, alerts: list[tuple[Alert, float]]) -> Snapshot:
    """The snapshot with these alerts, each begun at its time (through a real log)."""
    log = AlertLog()
    for _alert, began in sorted(alerts, key=lambda item: item[1]):
        log.update([a for a, t in alerts if t <= began], began)
    log.update([a for a, _ in alerts], snap.now)
    return msgspec.structs.replace(snap, alerts=[a for a, _ in alerts], alert_log=log.entries())


def text(snap: Snapshot, view: View, width: int, height: int) -> list[str]:
    return [plain(line) for line in render(snap, view, width, height)]


def warnings(n: int, now: float) -> list[tuple[Alert, float]]:
    return [(Alert(f"w{i}", "warning", f"warning number {i}"), now - 100 + i) for i in range(n)]


def test_a_critical_alert_is_never_under_and_n_more(snap: Snapshot) -> None:
    """The only critical alert, older than the warnings, once sat under "… and 8 more":
    critical ones come first and are always on screen."""
    oldest = (Alert("c", "critical", "the one that matters"), snap.now - 500)
    busy = with_alerts(snap, [oldest, *warnings(20, snap.now)])
    for width, height in ((80, 24), (120, 40), (60, 12)):
        lines = text(busy, View(), width, height)
        assert any("!! the one that matters" in line for line in lines), (width, height)
        more = [line for line in lines if "… and" in line]
        assert more and "a lists them all" in more[0], (width, height)


def test_every_critical_alert_stays_however_many_there_are(snap: Snapshot) -> None:
    many = [(Alert(f"c{i}", "critical", f"critical number {i}"), snap.now - i) for i in range(6)]
    lines = text(with_alerts(snap, [*many, *warnings(3, snap.now)]), View(), 80, 24)
    assert sum(line.startswith("!! critical number") for line in lines) == 6
    assert any("… and 3 more alerts" in line for line in lines)


def test_the_alert_area_grows_into_rows_the_list_leaves_free(snap: Snapshot) -> None:
    """Ten warnings and three sessions on a tall screen: all ten show, no "… more"."""
    few = msgspec.structs.replace(snap, sessions=snap.sessions[:3])
    lines = text(with_alerts(few, warnings(10, snap.now)), View(), 120, 40)
    assert sum(line.startswith(" ! warning number") for line in lines) == 10
    assert not any("… and" in line for line in lines)
    # a long list keeps its rows: more warnings than free rows collapse below it
    lines = text(with_alerts(snap, warnings(20, snap.now)), View(), 120, 40)
    assert any("… and 9 more alerts" in line for line in lines)
    assert all(row in "\n".join(lines) for row in ("payments-api", "ml-pipeline", "docs"))


def test_alerts_are_ordered_by_severity_then_age(snap: Snapshot) -> None:
    alerts = [
        (Alert("old-warning", "warning", "w old"), snap.now - 300),
        (Alert("new-critical", "critical", "c new"), snap.now - 5),
        (Alert("new-warning", "warning", "w new"), snap.now - 10),
        (Alert("old-critical", "critical", "c old"), snap.now - 200),
    ]
    found = ordered_alerts(with_alerts(snap, alerts), View())
    assert [a.id for a in found] == ["new-critical", "old-critical", "new-warning", "old-warning"]


def test_the_alert_key_lists_every_alert_and_the_log_since_start(snap: Snapshot) -> None:
    """A wait that lasted 15 s would leave no trace on the main screen: the log keeps
    when it began and when it cleared."""
    log = AlertLog()
    log.update(
        [Alert("waiting:x:1", "warning", "frontend (b7e04d91): waiting for your input for 15s")],
        snap.now - 60,
    )
    log.update([], snap.now - 45)
    log.update(snap.alerts, snap.now)
    shown = msgspec.structs.replace(snap, alert_log=log.entries())
    view, _ = press(View(), "a", shown, 10)
    assert view.alerts
    lines = text(shown, view, 120, 40)
    body = "\n".join(lines)
    assert f"Alerts now: {len(snap.alerts)}" in body
    assert "Alert log since 18:07:26, when aitop started" in body
    wait = next(line for line in lines if "frontend (b7e04d91)" in line)
    assert wait.startswith(" 21:19:00–21:19:15     15s  ! frontend (b7e04d91): waiting")
    burning = next(line for line in lines if "burning" in line and "now" in line)
    assert burning.startswith(" 21:20:00–now           0s !! burning")
    assert "?Help" not in lines[-1] and "Return" in lines[-1]
    back, _ = press(view, "KEY_ESCAPE", shown, 10)
    assert not back.alerts


def test_a_terminal_too_small_still_says_the_critical_alert(snap: Snapshot) -> None:
    lines = text(snap, View(), 50, 10)
    assert any("Terminal too small" in line for line in lines)
    assert any("!! burning $82.66/hr" in line for line in lines)
