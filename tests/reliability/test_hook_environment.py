"""The hook's own envelope, whatever the environment it runs in holds: an `AITOP_TAG`
that is not UTF-8, a `CLAUDE_PID` that is not a plain positive number. The frame must
still be counted; what cannot be said cleanly is mended or left out, never allowed to
make the monitor reject the hook event it came with."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aitop.hook import MAX_TAG, _envelope
from aitop.wire import split_frame
from reliability.rig import (
    assert_silent_success,
    counts,
    hook,
    monitor,
    place,
    session,
    settle,
    tool_call,
)

# (environment, the tag and pid the monitor should show)
CASES: list[tuple[dict[str, str], str | None, int | None]] = [
    ({"AITOP_TAG": "caf\udce9"}, "caf\ufffd", None),  # Latin-1 bytes: b"caf\xe9"
    ({"AITOP_TAG": "\udcff\udcfe" * 40}, "\ufffd" * MAX_TAG, None),
    ({"AITOP_TAG": "ok", "CLAUDE_PID": "0"}, "ok", None),
    ({"CLAUDE_PID": "007"}, None, 7),
    ({"CLAUDE_PID": "²"}, None, None),  # a digit to str.isdigit(), not to JSON
    ({"CLAUDE_PID": "１２"}, None, None),
    ({"CLAUDE_PID": "-5"}, None, None),
    ({"CLAUDE_PID": "2147483648"}, None, None),  # past what a pid can be
    ({"CLAUDE_PID": "931"}, None, 931),
]


def test_odd_environments_never_cost_the_hook_event() -> None:
    with place() as where, monitor(where.env(), "--no-backfill") as mon:
        for i, (extra, tag, pid) in enumerate(CASES):
            env = where.env(**extra)
            assert_silent_success(hook(tool_call(f"env-{i}", f"toolu_env_{i}"), env))
            snap = settle(mon, counts(frames=i + 1))
            row = session(snap, f"env-{i}")
            assert row is not None, extra
            assert (row["tag"], row["pid"]) == (tag, pid), extra


# what a POSIX environment can hold, decoded by Python: undecodable bytes become lone
# surrogates (surrogateescape)
env_text = st.text(
    st.characters()
    | st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF, exclude_categories=())
)
pids = (
    env_text
    | st.from_regex(r"[0-9]{1,12}", fullmatch=True)
    | st.sampled_from(["0", "²", "１", "9" * 5000])
)


@given(tag=env_text, pid=pids, agent=st.sampled_from(["claude-code", "codex"]))
def test_the_envelope_always_decodes(tag: str, pid: str, agent: str) -> None:
    environ = {"AITOP_TAG": tag, "CLAUDE_PID": pid}
    envelope, payload = split_frame(_envelope(agent, environ) + b"{}")  # type: ignore[arg-type]
    assert payload == b"{}" and envelope.agent == agent
    if tag:
        assert envelope.tag is not None and len(envelope.tag) <= MAX_TAG
    assert envelope.pid is None or str(envelope.pid) == pid.lstrip("0")


@given(tag=st.text(st.characters(codec="utf-8"), min_size=1, max_size=MAX_TAG))
def test_a_clean_tag_arrives_as_it_was(tag: str) -> None:
    envelope, _ = split_frame(_envelope("claude-code", {"AITOP_TAG": tag}) + b"{}")  # type: ignore[arg-type]
    assert envelope.tag == tag
