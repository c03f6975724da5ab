"""The real Codex CLI (npm `@openai/codex`, pinned) driven by the rig in codex_driver.py on
loopback against the mock OpenAI API: the rig's own invariants, checked against the mock's
request log (every response's usage is the ground truth), and how Codex trusts hooks.

The figures come from the reference readings in codex_reference.py, not from aitop: these
tests prove the rig and the accounting rule that aitop's Codex provider will implement.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .codex_driver import (
    BYPASS_FLAG,
    DOCUMENTED_EVENTS,
    SCENARIOS,
    CodexRig,
    ScenarioRun,
    run_scenario,
)
from .codex_ledger import CodexLedger, codex_ledgers, mock_responses, thread_of
from .codex_reference import (
    MATCHER_EVENTS,
    TokenUsage,
    hook_trust_entries,
    naive_last_sum,
    record_totals,
    rollout_lines,
    rollout_meta,
    token_count_totals,
    total,
    usage_records,
)

pytestmark = [pytest.mark.real_codex, pytest.mark.slow]

ROLLOUT_NAME = re.compile(
    r"sessions/\d{4}/\d{2}/\d{2}/rollout-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-(?P<thread>[0-9a-f-]{36})\.jsonl$"
)


class Played:
    """Every scenario of SCENARIOS, played once in one rig (one CODEX_HOME, one mock)."""

    def __init__(self, rig: CodexRig, runs: dict[str, ScenarioRun]) -> None:
        self.rig = rig
        self.runs = runs
        self.requests = rig.requests()
        self.ledgers = codex_ledgers(self.requests)
        self.files = rig.rollouts()
        self.hooks = rig.hook_payloads()

    def sessions(self, scenario: str) -> list[str]:
        return self.runs[scenario].session_ids

    def ledger(self, scenario: str, index: int = 0) -> CodexLedger:
        return self.ledgers[self.sessions(scenario)[index]]

    def files_of(self, session_id: str) -> list[Path]:
        return [f for f in self.files if rollout_meta(f).session_id == session_id]

    def hooks_of(self, session_id: str, event: str) -> list[dict[str, Any]]:
        return [
            p for p in self.hooks if p["session_id"] == session_id and p["hook_event_name"] == event
        ]


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory, codex_js: Path) -> Iterator[Played]:
    rig = CodexRig(tmp_path_factory.mktemp("codex-scenarios"), codex_js)
    try:
        runs = {s.name: run_scenario(rig, s) for s in SCENARIOS}
        yield Played(rig, runs)
    finally:
        rig.close()


# --- rollout files and the accounting rules ---------------------------------------------------


def test_every_thread_the_mock_saw_has_one_rollout_file(played: Played) -> None:
    threads = {thread_of(r) for r in played.requests if r.get("path") == "/v1/responses"}
    by_name = {}
    for path in played.files:
        found = ROLLOUT_NAME.search(path.as_posix())
        assert found, f"unexpected rollout path {path}"
        by_name[found["thread"]] = path
        assert rollout_meta(path).thread_id == found["thread"]
    assert set(by_name) == threads
    for sid, ledger in played.ledgers.items():
        for thread in ledger.threads:
            assert rollout_meta(by_name[thread]).session_id == sid


def test_each_response_is_one_usage_record_of_the_model_that_answered(played: Played) -> None:
    answered = {(r.thread_id, r.response_id): r for r in mock_responses(played.requests)}
    records = usage_records(played.files)
    assert len(records) == len(answered) > 0
    for record in records:
        response = answered[record.thread_id, record.response_id]
        assert record.usage == response.usage, record.response_id
        assert record.model == response.model, record.response_id


def test_both_accounting_rules_give_the_mock_totals_per_session(played: Played) -> None:
    expected = {sid: book.usage for sid, book in played.ledgers.items() if book.responses}
    assert record_totals(played.files) == expected
    for sid, usage in expected.items():
        assert total(token_count_totals(f) for f in played.files_of(sid)) == usage, sid


def test_a_turn_that_never_got_a_response_spends_nothing(played: Played) -> None:
    http500, stream_failed = (played.ledger("api_error", i) for i in (1, 2))
    for ledger in (http500, stream_failed):
        assert ledger.responses == []
        assert total(token_count_totals(f) for f in played.files_of(ledger.session_id)) == (
            TokenUsage()
        )


# --- the scenarios did what they say --------------------------------------------------------


def test_tools_scenario(played: Played) -> None:
    sid = played.sessions("tools")[0]
    names = Counter(p["tool_name"] for p in played.hooks_of(sid, "PostToolUse"))
    assert names == {"Bash": 4, "apply_patch": 1}
    assert [p["source"] for p in played.hooks_of(sid, "SessionStart")] == ["startup", "resume"]
    exits = [
        item["exit_code"]
        for path in played.files_of(sid)
        for item in _items(path)
        if item["type"] == "CommandExecution"
    ]
    assert sorted(exits) == [0, 0, 0, 3]  # the failing command is in the rollout, exit 3


def test_model_switch_compacts_and_is_the_trap_for_naive_sums(played: Played) -> None:
    ledger = played.ledger("model_switch")
    assert ledger.compactions == 1
    assert set(ledger.models) == {"gpt-6.2-sol", "gpt-5.5"}
    assert len(played.hooks_of(ledger.session_id, "PostCompact")) == 1
    naive = total(naive_last_sum(f) for f in played.files_of(ledger.session_id))
    assert naive.total_tokens > ledger.usage.total_tokens


def test_subagents_report_to_their_parent_session(played: Played) -> None:
    for sid in played.sessions("subagent"):
        ledger = played.ledgers[sid]
        children = set(ledger.threads) - {sid}
        assert len(children) == 1
        (start,) = played.hooks_of(sid, "SubagentStart")
        assert start["agent_id"] in children
        (stop,) = played.hooks_of(sid, "SubagentStop")
        assert Path(stop["agent_transcript_path"]) == played.rig.sandbox.rollout(start["agent_id"])
    fork_child = next(
        rollout_meta(f)
        for f in played.files_of(played.sessions("subagent")[1])
        if rollout_meta(f).forked_from_id
    )
    assert fork_child.forked_from_id == played.sessions("subagent")[1]
    assert fork_child.history_start_ordinal is not None


def test_api_errors(played: Played) -> None:
    http400, http500, stream_failed = (played.ledger("api_error", i) for i in range(3))
    assert (http400.http_errors, http500.http_errors, stream_failed.stream_errors) == (1, 9, 3)
    assert [r.returncode for r in played.runs["api_error"].invocations] == [1, 0, 1, 1]
    # the HTTP 400 turn ends without a Stop hook; the resumed turn has one
    assert len(played.hooks_of(http400.session_id, "Stop")) == 1
    assert len(played.hooks_of(http400.session_id, "UserPromptSubmit")) == 2


def test_auto_compaction_is_one_more_recorded_request(played: Played) -> None:
    ledger = played.ledger("auto_compaction")
    assert ledger.compactions == 1
    naive = total(naive_last_sum(f) for f in played.files_of(ledger.session_id))
    assert naive.total_tokens > ledger.usage.total_tokens


# --- hooks against the mock and the rollouts -------------------------------------------------


def test_hook_payloads_name_real_sessions_and_rollouts(played: Played) -> None:
    rollouts = set(played.files)
    for payload in played.hooks:
        assert payload["session_id"] in played.ledgers, payload["hook_event_name"]
        assert Path(payload["transcript_path"]) in rollouts, payload["hook_event_name"]
        assert payload["cwd"] == str(played.rig.sandbox.project)


def test_post_model_request_hooks_carry_every_response_exactly(played: Played) -> None:
    """The undocumented PostModelRequest hook: one per response attempt, with the usage."""
    posts = [p for p in played.hooks if p["hook_event_name"] == "PostModelRequest"]
    answered = {r.response_id: r for r in mock_responses(played.requests)}
    completed = [p for p in posts if p["status"] == "completed"]
    assert sorted(p["response_id"] for p in completed) == sorted(answered)
    for post in completed:
        response = answered[post["response_id"]]
        assert TokenUsage.from_rollout(post["token_usage"]) == response.usage
        assert (post["session_id"], post["thread_id"], post["model"]) == (
            response.session_id,
            response.thread_id,
            response.model,
        )
        assert post["kind"] == ("foreground_compaction" if response.compaction else "sampling")
    failed = [p for p in posts if p["status"] != "completed"]
    assert all(p["response_id"] is None and p["error"] for p in failed)
    # 1 for the HTTP 400, 3 attempts each for the HTTP 500 and the failed stream
    assert len(failed) == 7
    # each attempt: a PreModelRequest and a PostModelRequest; retries keep the request_id
    pres = [p for p in played.hooks if p["hook_event_name"] == "PreModelRequest"]
    attempts = Counter((p["request_id"], p["attempt_number"]) for p in pres)
    assert attempts == Counter((p["request_id"], p["attempt_number"]) for p in posts)
    assert set(attempts.values()) == {1}


def test_hook_tool_ids_are_rollout_item_ids(played: Played) -> None:
    """A tool hook's `tool_use_id` (`exec-<uuid>` in code mode) is the id of an
    `item_completed` item in the rollout at the payload's `transcript_path`."""
    for payload in (p for p in played.hooks if p["hook_event_name"] == "PostToolUse"):
        items = [
            i for i in _items(Path(payload["transcript_path"])) if i["id"] == payload["tool_use_id"]
        ]
        assert items, payload["tool_use_id"]
        if payload["tool_name"] == "Bash":
            (item,) = items
            assert item["type"] == "CommandExecution"
            assert item["command"][-1] == payload["tool_input"]["command"]
    code_mode = [p for p in played.hooks if p.get("tool_use_id", "").startswith("exec-")]
    assert code_mode, "code-mode tool calls were made"


def _items(path: Path) -> list[dict[str, Any]]:
    return [
        line["payload"]["item"]
        for line in rollout_lines(path)
        if line["type"] == "event_msg" and line["payload"].get("type") == "item_completed"
    ]


# --- hook trust ----------------------------------------------------------------------------

MakeRig = Callable[..., CodexRig]
PROMPT = "Please run [shell:echo hi]"
TURN_EVENTS = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Stop",
    "SessionEnd",
]


def _events(rig: CodexRig) -> list[str]:
    return [p["hook_event_name"] for p in rig.hook_payloads()]


def test_untrusted_hooks_are_skipped_without_a_word(make_codex_rig: MakeRig) -> None:
    rig = make_codex_rig(trust="none", events=DOCUMENTED_EVENTS)
    run = rig.exec(PROMPT)
    assert _events(rig) == []
    said = run.stderr.replace(str(rig.sandbox.root), "<root>").lower()
    assert "hook" not in said and "trust" not in said and "review" not in said
    listed = rig.hooks_list()
    assert len(listed) == len(DOCUMENTED_EVENTS)
    assert {e["trustStatus"] for e in listed} == {"untrusted"}


def test_a_written_trust_record_makes_hooks_run(make_codex_rig: MakeRig) -> None:
    rig = make_codex_rig(trust="record", events=DOCUMENTED_EVENTS)
    listed = rig.hooks_list()
    assert {e["key"]: e["currentHash"] for e in listed} == rig.trust_record
    assert {e["trustStatus"] for e in listed} == {"trusted"}
    run = rig.exec(PROMPT)
    assert _events(rig) == TURN_EVENTS
    assert "dangerously" not in run.stderr  # no bypass warning: the record did it


def test_a_changed_hook_is_no_longer_trusted(make_codex_rig: MakeRig) -> None:
    rig = make_codex_rig(trust="record", events=DOCUMENTED_EVENTS)
    document = json.loads(rig.sandbox.hooks_json.read_text())
    document["hooks"]["Stop"][0]["hooks"][0]["command"] += " --changed"
    rig.sandbox.write_hooks(document)
    status = {e["eventName"]: e["trustStatus"] for e in rig.hooks_list()}
    assert status.pop("stop") == "modified"
    assert set(status.values()) == {"trusted"}
    rig.exec(PROMPT)
    assert _events(rig) == [e for e in TURN_EVENTS if e != "Stop"]


def test_codex_itself_can_trust_only_aitops_hooks(make_codex_rig: MakeRig) -> None:
    """The install path the notes recommend: `codex app-server` lists the hooks and writes
    the trust record for the ones with our command; a user's other hook stays untrusted."""
    rig = make_codex_rig(trust="none", events=DOCUMENTED_EVENTS)
    ours = rig.sandbox.recorder_command()
    marker = rig.sandbox.root / "other-hook-ran"
    document = json.loads(rig.sandbox.hooks_json.read_text())
    other = {"type": "command", "command": f"touch {marker}"}
    document["hooks"]["Stop"].append({"hooks": [other]})
    rig.sandbox.write_hooks(document)
    before = rig.sandbox.config.read_text()
    trusted = rig.trust_via_codex(ours)
    assert trusted == {
        key: value
        for key, value in hook_trust_entries(rig.sandbox.hooks_json.resolve(), document).items()
        if not key.endswith(":stop:1:0")
    }
    assert rig.sandbox.config.read_text().startswith(before.rstrip("\n"))
    status = {(e["command"], e["trustStatus"]) for e in rig.hooks_list()}
    assert status == {(ours, "trusted"), (other["command"], "untrusted")}
    rig.exec(PROMPT)
    assert _events(rig) == TURN_EVENTS
    assert not marker.exists()


def test_the_bypass_flag_runs_untrusted_hooks_and_warns(make_codex_rig: MakeRig) -> None:
    rig = make_codex_rig(trust="bypass", events=DOCUMENTED_EVENTS)
    run = rig.exec(PROMPT)
    assert _events(rig) == TURN_EVENTS
    assert f"`{BYPASS_FLAG}` is enabled" in run.stderr


def test_the_reference_trust_hash_is_codexs_for_every_hook_shape(make_codex_rig: MakeRig) -> None:
    """Matchers, default/zero/clamped timeouts, async, statusMessage, non-ASCII commands,
    on every event Codex accepts: Codex's own `currentHash` is the reference's."""
    rig = make_codex_rig(trust="none")
    shapes = [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "echo a"}]},
        {
            "hooks": [
                {
                    "type": "command",
                    "command": "echo 'é ✓ \"q\"' \\ b",
                    "timeout": 0,
                    "async": True,
                    "statusMessage": "checking…",
                },
                {"type": "command", "command": "x", "timeout": 7, "statusMessage": None},
            ]
        },
    ]
    events = json.loads(rig.sandbox.hooks_json.read_text())["hooks"]
    document = {"hooks": {event: shapes for event in events}}
    rig.sandbox.write_hooks(document)
    listed = rig.hooks_list()
    expected = hook_trust_entries(rig.sandbox.hooks_json.resolve(), document)
    assert {e["key"]: e["currentHash"] for e in listed} == expected
    kept = {e["eventName"] for e in listed if e["matcher"] is not None}
    assert kept == {_camel(event) for event in MATCHER_EVENTS}


def _camel(event: str) -> str:
    return event[0].lower() + event[1:]
