"""The reference readings of tests/e2e/codex_reference.py against the real captures in
tests/fixtures/codex/ (no Codex needed): the accounting rules of the fixtures' README give
the mock's figures on every captured session, and the hook-trust hash gives what Codex's
TUI wrote when a user pressed "Trust all and continue"."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from .codex_driver import FIXTURES
from .codex_ledger import codex_ledgers, mock_responses
from .codex_reference import (
    TokenUsage,
    hook_trust_entries,
    naive_last_sum,
    record_totals,
    rollout_files,
    rollout_meta,
    token_count_totals,
    total,
    usage_records,
)

SESSIONS = sorted(p for p in (FIXTURES / "sessions").iterdir() if p.is_dir())
TRUST = FIXTURES / "trust-tui"
# the CODEX_HOME of the trust capture (trust-tui/README.md)
TRUST_HOOKS_JSON = Path("/tmp/trustcap/home/.codex/hooks.json")


def _requests(capture: Path) -> list[dict[str, object]]:
    lines = (capture / "mock-requests.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line]


def _files(capture: Path) -> list[Path]:
    return rollout_files(capture / "codex-home")


@pytest.mark.parametrize("capture", SESSIONS, ids=lambda p: p.name)
def test_both_rules_give_the_mock_figures_per_session(capture: Path) -> None:
    ledgers = codex_ledgers(_requests(capture))
    expected = {sid: book.usage for sid, book in ledgers.items() if book.responses}
    assert expected, "the capture has responses"
    assert record_totals(_files(capture)) == expected
    by_rule_2: dict[str, TokenUsage] = {}
    for path in _files(capture):
        sid = rollout_meta(path).session_id
        by_rule_2[sid] = by_rule_2.get(sid, TokenUsage()).plus(token_count_totals(path))
    assert {sid: u for sid, u in by_rule_2.items() if u != TokenUsage()} == expected


@pytest.mark.parametrize("capture", SESSIONS, ids=lambda p: p.name)
def test_each_record_is_one_response_of_the_model_that_answered(capture: Path) -> None:
    answered = {(r.thread_id, r.response_id): r for r in mock_responses(_requests(capture))}
    records = usage_records(_files(capture))
    assert {(r.thread_id, r.response_id) for r in records} == answered.keys()
    for record in records:
        response = answered[record.thread_id, record.response_id]
        assert record.usage == response.usage
        assert record.model == response.model, record.response_id


@pytest.mark.parametrize(
    ("capture", "trap"),
    [(p, p.name in ("X2-model-switch", "X6-compaction")) for p in SESSIONS],
    ids=lambda v: v.name if isinstance(v, Path) else str(v),
)
def test_summing_last_token_usage_overcounts_where_codex_re_emits(
    capture: Path, trap: bool
) -> None:
    truth = total(r.usage for r in mock_responses(_requests(capture)))
    naive = total(naive_last_sum(path) for path in _files(capture))
    assert (naive.total_tokens > truth.total_tokens) is trap
    assert naive.total_tokens >= truth.total_tokens


def test_trust_hashes_are_what_the_tui_wrote() -> None:
    document = json.loads((TRUST / "hooks.json").read_text())
    written = tomllib.loads((TRUST / "config.after.toml").read_text())["hooks"]["state"]
    entries = hook_trust_entries(TRUST_HOOKS_JSON, document)
    assert len(entries) == 12
    assert entries == {key: state["trusted_hash"] for key, state in written.items()}


def test_the_tui_kept_the_users_config_and_appended_the_record() -> None:
    before = (TRUST / "config.before.toml").read_text()
    after = (TRUST / "config.after.toml").read_text()
    assert after.startswith(before)
    assert tomllib.loads(before).items() <= tomllib.loads(after).items()
