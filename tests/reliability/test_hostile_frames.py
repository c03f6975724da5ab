"""Hostile frames: 10,000 generated frames (a raw-bytes fuzzer and hypothesis) over the
real socket → the monitor stays up, each is counted under the right reason, and a
valid frame sent after them is still counted exactly.

Every generated frame comes with the reason it must be counted under, known by
construction (or, for random bytes, from Python's own strict JSON parser). Each is
first checked against the decoding path in-process, which names the frame that is
misjudged, then sent for real; the monitor's counters must match to the unit."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aitop.providers.base import Outcome, Provider
from aitop.providers.claude_code.hooks import HOOK_EVENTS
from aitop.providers.claude_code.provider import ClaudeCode
from aitop.providers.codex.provider import Codex
from aitop.server import RECV_SIZE
from aitop.wire import MAX_FRAME, MAX_PAYLOAD, MalformedFrame, split_frame
from reliability.rig import counts, ingest, monitor, place, send, session, settle, tool_call

from conftest import FIXTURES, PAYLOADS
from support import Monitor

CODEX_PAYLOADS = FIXTURES.parent / "codex" / "hook-payloads"
HYPOTHESIS_EXAMPLES = 100
PER_EXAMPLE = 30  # at least: 100 examples bring 3,000 frames or more
RAW_FRAMES = 7000  # at least: as many as it takes to make 10,000
TOTAL = 10_000

OK, IGNORED, MALFORMED, OVERSIZE, PROBE = "ok", "ignored", "malformed", "oversize", "probe"
Case = tuple[bytes, str]

# What each outcome adds to the `ingest` counters of `aitop -b --json`
_COUNTED = {
    OK: ("frames",),
    IGNORED: ("frames", "ignored_events"),
    MALFORMED: ("rejected_malformed",),
    OVERSIZE: ("rejected_oversize",),
    PROBE: (),
}


def expected_counts(outcomes: Counter[str]) -> dict[str, int]:
    tally: Counter[str] = Counter()
    for outcome, n in outcomes.items():
        for name in _COUNTED[outcome]:
            tally[name] += n
    return counts(**tally)


def classify(frame: bytes, providers: dict[str, Provider]) -> str:
    """The decoding path of one frame, in-process: what the monitor does after reading it
    (aitop.app.Monitor._on_frame) and what the server does before (the cap, the probe)."""
    if not frame:
        return PROBE
    if len(frame) > MAX_FRAME:
        return OVERSIZE
    try:
        envelope, body = split_frame(frame)
    except MalformedFrame:
        return MALFORMED
    if len(body) > MAX_PAYLOAD:
        return OVERSIZE
    provider = providers.get(envelope.agent)
    if provider is None:  # an agent aitop does not know
        return MALFORMED
    outcome, _events, _reason = provider.decode(body, envelope, 1_800_000_000.0)
    return {Outcome.OK: OK, Outcome.IGNORED: IGNORED, Outcome.MALFORMED: MALFORMED}[outcome]


# --- the raw-bytes fuzzer ------------------------------------------------------------------

BASES = [json.loads(p.read_bytes()) for p in sorted(PAYLOADS.glob("*.json"))]
CODEX_BASES = [json.loads(p.read_bytes()) for p in sorted(CODEX_PAYLOADS.glob("*.json"))]


def _base(rng: random.Random) -> dict[str, Any]:
    body = dict(rng.choice(BASES))
    body["session_id"] = f"fuzz-{rng.randrange(50)}"
    if "tool_use_id" in body:
        body["tool_use_id"] = f"toolu_fuzz_{rng.getrandbits(48):x}"
    return body


def _outcome_of(body: dict[str, Any]) -> str:
    return OK if body["hook_event_name"] in HOOK_EVENTS else IGNORED


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def _with_field(body: dict[str, Any], raw_value: bytes, name: bytes = b"x_junk") -> bytes:
    """The payload with one more field whose value is written verbatim."""
    return _dump(body)[:-1] + b', "' + name + b'": ' + raw_value + b"}"


def valid(rng: random.Random) -> Case:
    body = _base(rng)
    return _dump(body), _outcome_of(body)


def truncated(rng: random.Random) -> Case:
    data = _dump(_base(rng))
    return data[: rng.randrange(1, len(data))], MALFORMED


def deep_nesting(rng: random.Random) -> Case:
    depth = rng.choice([2_000, 5_000, 100_000])
    opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
    nested = opener * depth + b"1" + closer * depth
    body = _base(rng)
    if "tool_input" in body and rng.random() < 0.5:  # a field kept raw, only hashed
        data = _dump(body).replace(b'"tool_input": {', b'"tool_input": {"n": ' + nested + b", ")
        return data, MALFORMED
    return _with_field(body, nested), MALFORMED


def shallow_nesting(rng: random.Random) -> Case:
    depth = rng.randrange(1, 64)
    body = _base(rng)
    return _with_field(body, b"[" * depth + b"]" * depth), _outcome_of(body)


def huge_number(rng: random.Random) -> Case:
    digits = b"9" * rng.choice([400, 5_000])
    number = rng.choice([digits, b"-" + digits, b"1e400", b"-1e400", b"1" + digits + b".5e999"])
    body = _base(rng)
    if body["hook_event_name"] in ("PostToolUse", "PostToolUseFailure") and rng.random() < 0.7:
        data = _dump(body)[:-1] + b', "duration_ms": ' + number + b"}"  # a field aitop reads
        return data, MALFORMED
    return _with_field(body, number), _outcome_of(body)  # valid JSON in a field it skips


def not_a_number(rng: random.Random) -> Case:
    literal = rng.choice([b"NaN", b"Infinity", b"-Infinity", b"nan", b"inf"])
    body = _base(rng)
    if body["hook_event_name"] == "PostToolUse" and rng.random() < 0.5:
        return _dump(body)[:-1] + b', "duration_ms": ' + literal + b"}", MALFORMED
    return _with_field(body, literal), MALFORMED


WRONG = [5, -1, 1.5, True, None, [], {}, ["x"], {"a": 1}]


def wrong_type(rng: random.Random) -> Case:
    body = _base(rng)
    fields = ["session_id"] + [
        f
        for f in ("tool_name", "tool_use_id", "duration_ms", "is_interrupt", "cwd", "agent_id")
        if f in body
    ]
    name = rng.choice(fields)
    choices = [v for v in WRONG if not (name == "duration_ms" and type(v) in (int, float))]
    choices = [v for v in choices if not (name == "is_interrupt" and type(v) is bool)]
    choices = [v for v in choices if not (name in ("cwd", "agent_id", "duration_ms") and v is None)]
    body[name] = rng.choice(choices)
    # an event aitop does not use is ignored whatever its fields hold
    return _dump(body), MALFORMED if _outcome_of(body) == OK else IGNORED


def wrong_event_name(rng: random.Random) -> Case:
    body = _base(rng)
    body["hook_event_name"] = rng.choice([5, None, [], "", "x" * 129, {"a": "Stop"}])
    if body["hook_event_name"] == "":
        return _dump(body), IGNORED  # a string: a well-formed event nobody knows
    return _dump(body), MALFORMED


def unknown_event(rng: random.Random) -> Case:
    body = _base(rng)
    body["hook_event_name"] = rng.choice(["WorktreeCreate", "Stop2", "stop", "Ünknown"])
    return _dump(body), IGNORED


INVALID_UTF8 = [
    b"\xff",
    b"\xfe",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xe2\x82",
    b"\x80",
    b"\xf5\x80\x80\x80",
]


def invalid_utf8(rng: random.Random) -> Case:
    body = _base(rng)
    bad = rng.choice(INVALID_UTF8)
    where = rng.choice(["read", "skipped", "anywhere"])
    if where == "read":
        body["session_id"] = "s-\x00MARK"
        data = _dump(body).replace(b"\\u0000MARK", bad)
    elif where == "skipped":
        data = _with_field(body, b'"text ' + bad + b' more"')
    else:
        data = _dump(body)
        at = rng.randrange(len(data) + 1)
        data = data[:at] + bad + data[at:]
    return data, MALFORMED


def nul_bytes(rng: random.Random) -> Case:
    body = _base(rng)
    data = _dump(body)
    if rng.random() < 0.3:  # escaped, it is only a character like any other
        return _with_field(body, b'"a\\u0000b"'), _outcome_of(body)
    at = rng.randrange(len(data) + 1)
    return data[:at] + b"\x00" * rng.randrange(1, 4) + data[at:], MALFORMED


def trailing(rng: random.Random) -> Case:
    body = _base(rng)
    tail = rng.choice([b" x", b"}", b"\x00", b"{}", b",", b"\xff"])
    if rng.random() < 0.3:
        return _dump(body) + rng.choice([b"\n", b" \t\r\n", b"   "]), _outcome_of(body)
    return _dump(body) + tail, MALFORMED


def not_an_object(rng: random.Random) -> Case:
    return rng.choice([b"[]", b'"Stop"', b"1", b"null", b"true", b"[{}]", b" ", b"\n"]), MALFORMED


def random_bytes(rng: random.Random) -> Case:
    data = rng.randbytes(rng.randrange(1, 4096))
    if data.startswith(b"AITOP/1 ") or data.lstrip(b" \t\r\n").startswith(b"{"):
        data = b"#" + data
    return data, MALFORMED


def long_id(rng: random.Random) -> Case:
    body = _base(rng)
    n = rng.choice([128, 129, 5000])
    body["session_id"] = "é" * n  # characters, not bytes, are what is counted
    return _dump(body), MALFORMED if n > 128 and _outcome_of(body) == OK else _outcome_of(body)


def size_edges(rng: random.Random) -> Case:
    body = _base(rng)
    data = _dump(body)
    n = rng.choice([MAX_PAYLOAD, MAX_PAYLOAD + 1, MAX_FRAME + 1, 3 * MAX_FRAME])
    padded = data + b" " * (n - len(data))
    return padded, _outcome_of(body) if n == MAX_PAYLOAD else OVERSIZE


ENVELOPE = b'AITOP/1 {"agent":"claude-code","pid":931,"tag":"fuzz"}\n'


def envelopes(rng: random.Random) -> Case:
    body = _base(rng)
    data, outcome = _dump(body), _outcome_of(body)
    kind = rng.randrange(12)
    if kind == 0:
        return ENVELOPE + data, outcome
    if kind == 1:  # Codex's own payloads, to its own decoder
        return b'AITOP/1 {"agent":"codex"}\n' + _dump(rng.choice(CODEX_BASES)), OK
    if kind == 2:
        return ENVELOPE, MALFORMED  # an envelope line without payload
    if kind == 3:
        return ENVELOPE + b" \n\t ", MALFORMED
    if kind == 4:
        return ENVELOPE[:-1], MALFORMED  # no end to the envelope line
    if kind == 5:
        return b"AITOP/1 " + b"x" * 2000 + b"\n" + data, MALFORMED
    if kind == 6:
        return b'AITOP/1 {"agent":"claude-code","pid":0}\n' + data, MALFORMED
    if kind == 7:
        return b'AITOP/1 {"agent":"no such agent"}\n' + data, MALFORMED
    if kind == 8:
        return b'AITOP/1 {"agent":"cl\xffaude"}\n' + data, MALFORMED
    if kind == 9:  # nested as deep as one line allows
        return b'AITOP/1 {"x":' + b"[" * 1000 + b"\n" + data, MALFORMED
    if kind == 10:  # nested, but within reach: a field like any other
        return b'AITOP/1 {"x":' + b"[" * 500 + b"]" * 500 + b"}\n" + data, outcome
    envelope = ENVELOPE + data
    return envelope + b" " * (MAX_FRAME + 1 - len(envelope)), OVERSIZE


def bom(rng: random.Random) -> Case:
    return b"\xef\xbb\xbf" + _dump(_base(rng)), MALFORMED


def empty(_rng: random.Random) -> Case:
    return b"", PROBE


FUZZERS: list[Callable[[random.Random], Case]] = [
    valid,
    truncated,
    deep_nesting,
    shallow_nesting,
    huge_number,
    not_a_number,
    wrong_type,
    wrong_event_name,
    unknown_event,
    invalid_utf8,
    nul_bytes,
    trailing,
    not_an_object,
    random_bytes,
    long_id,
    envelopes,
    bom,
    empty,
]


def raw_cases(n: int, seed: int = 6) -> list[tuple[str, bytes, str]]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        fuzzer = FUZZERS[i % len(FUZZERS)] if i < 4 * len(FUZZERS) else rng.choice(FUZZERS)
        data, outcome = fuzzer(rng)
        cases.append((fuzzer.__name__, data, outcome))
    for _ in range(8):  # the size edges are costly: a few, each of them
        data, outcome = size_edges(rng)
        cases.append(("size_edges", data, outcome))
    return cases


# --- hypothesis ---------------------------------------------------------------------------

ids = st.text(min_size=1, max_size=128)
names = st.text(max_size=128)
extras = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed payload of an event aitop uses, with an arbitrary extra field."""
    event = draw(st.sampled_from(HOOK_EVENTS))
    body: dict[str, Any] = {"hook_event_name": event, "session_id": draw(ids)}
    if event in ("PreToolUse", "PostToolUse", "PostToolUseFailure"):
        body["tool_name"] = draw(names)
        body["tool_use_id"] = draw(ids)
        if event != "PreToolUse":
            body["duration_ms"] = draw(st.none() | st.floats(0, 1e10) | st.integers(0, 10**10))
    if event == "PostModelSwitch":
        body["to_model"] = draw(names)
    extra = draw(extras)
    if extra == extra:  # NaN is a test case of its own; infinities too
        body["x_extra"] = extra if not isinstance(extra, float) or abs(extra) < 1e308 else 0
    return body


def _encode(body: dict[str, Any], ascii_only: bool) -> bytes:
    return json.dumps(body, ensure_ascii=ascii_only).encode()


@st.composite
def hostile(draw: st.DrawFn) -> Case:
    body = draw(payloads())
    data = _encode(body, draw(st.booleans()))
    kind = draw(
        st.sampled_from(
            [
                "valid",
                "truncate",
                "byte",
                "utf8",
                "wrong",
                "unknown",
                "long",
                "deep",
                "nan",
                "binary",
                "envelope",
            ]
        )
    )
    if kind == "valid":
        return data, OK
    if kind == "truncate":
        return data[: draw(st.integers(1, len(data) - 1))], MALFORMED
    if kind == "byte":  # a raw NUL or control byte, or an invalid UTF-8 byte, anywhere
        at = draw(st.integers(0, len(data)))
        bad = draw(st.sampled_from([b"\x00", b"\x01", b"\x1f", b"\xff", b"\x80", b"\xc3"]))
        return data[:at] + bad + data[at:], MALFORMED
    if kind == "utf8":  # an invalid sequence inside a string value
        spot = draw(st.sampled_from([k for k in body if isinstance(body[k], str)]))
        marked = dict(body)
        marked[spot] = "\x00MARK" + body[spot][:100]
        return _encode(marked, True).replace(
            b"\\u0000MARK", draw(st.sampled_from(INVALID_UTF8))
        ), MALFORMED
    if kind == "wrong":
        field = draw(
            st.sampled_from(
                [k for k in ("session_id", "tool_name", "tool_use_id", "to_model") if k in body]
            )
        )
        body[field] = draw(st.sampled_from(WRONG))
        return _encode(body, True), MALFORMED
    if kind == "unknown":
        body["hook_event_name"] = draw(st.text(max_size=128).filter(lambda s: s not in HOOK_EVENTS))
        return _encode(body, True), IGNORED
    if kind == "long":
        body["session_id"] = draw(st.text(min_size=129, max_size=300))
        return _encode(body, draw(st.booleans())), MALFORMED
    if kind == "deep":
        depth = draw(st.integers(2_000, 20_000))
        return data[:-1] + b', "x_deep": ' + b"[" * depth + b"]" * depth + b"}", MALFORMED
    if kind == "nan":
        literal = draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity"]))
        return data[:-1] + b', "x_nan": ' + literal + b"}", MALFORMED
    if kind == "binary":
        raw = draw(st.binary(min_size=1, max_size=512))
        if raw.startswith(b"AITOP/1 "):
            raw = b"#" + raw
        return raw, _python_says(raw)
    tag = draw(st.text(max_size=64))
    pid = draw(st.integers(1, 2**31 - 1))
    envelope = {"agent": "claude-code", "pid": pid, "tag": tag}  # a Claude Code payload
    line = b"AITOP/1 " + json.dumps(envelope).encode() + b"\n"
    if len(line) > 1025:
        return line + data, MALFORMED
    return line + data, OK


def _python_says(raw: bytes) -> str:
    """Malformed unless Python's strict JSON parser reads a hook object out of it."""

    def refuse(_name: str) -> None:
        raise ValueError("not JSON")

    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=refuse)
    except ValueError:
        return MALFORMED
    if not isinstance(value, dict) or not isinstance(value.get("hook_event_name"), str):
        return MALFORMED
    return IGNORED if value["hook_event_name"] not in HOOK_EVENTS else "unknown"


# --- the test -------------------------------------------------------------------------------


def _providers(tmp_path: Path) -> dict[str, Provider]:
    """What the monitor routes frames to, by their envelope's agent."""
    return {
        "claude-code": ClaudeCode(str(tmp_path / "projects")),
        "codex": Codex(str(tmp_path / "codex")),
    }


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[Monitor, Path, dict[str, Provider]]]:
    with place() as where, monitor(where.env(), "--no-backfill", delay=0.05) as mon:
        yield mon, where.socket, _providers(tmp_path)


def _check_in_process(cases: list[tuple[str, bytes, str]], provider: dict[str, Provider]) -> None:
    wrong = [
        (name, data[:120], want, got)
        for name, data, want in cases
        if (got := classify(data, provider)) != want
    ]
    assert not wrong, f"{len(wrong)} misjudged, e.g. {wrong[:5]}"


@pytest.mark.slow
def test_10000_hostile_frames_each_counted_under_its_reason(
    rig: tuple[Monitor, Path, dict[str, Provider]],
) -> None:
    mon, path, provider = rig
    outcomes: Counter[str] = Counter()
    sent = 0

    @settings(
        max_examples=HYPOTHESIS_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(hostile(), min_size=PER_EXAMPLE, max_size=PER_EXAMPLE + 20))
    def over_the_socket(batch: list[Case]) -> None:
        nonlocal sent
        named = [("hypothesis", data, want) for data, want in batch if want != "unknown"]
        _check_in_process(named, provider)
        for _name, data, outcome in named:
            send(path, data)
            outcomes[outcome] += 1
        sent += len(named)

    over_the_socket()
    settle(mon, expected_counts(outcomes))

    cases = raw_cases(max(RAW_FRAMES, TOTAL - sent))  # the rest of the 10,000, at least
    _check_in_process(cases, provider)
    for _name, data, outcome in cases:
        send(path, data)
        outcomes[outcome] += 1
    sent += len(cases)
    assert sent >= TOTAL
    settle(mon, expected_counts(outcomes))
    assert mon.process.poll() is None  # still up

    # and a valid frame after all that is counted, exactly once, with its data
    before = expected_counts(outcomes)
    send(path, tool_call("after-the-storm", "toolu_after_the_storm", "Read"))
    outcomes[OK] += 1
    snap = settle(mon, expected_counts(outcomes))
    assert ingest(snap)["frames"] == before["frames"] + 1
    row = session(snap, "after-the-storm")
    assert row is not None and row["tool_calls"] == 1
    print(f"\nhostile: {sent} frames; {dict(outcomes)}")


def test_classification_of_each_fuzzer_in_process(tmp_path: Path) -> None:
    """Fast and without a monitor: the in-process half of the test above."""
    _check_in_process(raw_cases(600, seed=7), _providers(tmp_path))
    assert RECV_SIZE < MAX_FRAME
