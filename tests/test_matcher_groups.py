"""Hooks in matcher groups (`aitop.providers.install.matcher_groups`): the merge Claude
Code's settings.json, Codex's hooks.json and Gemini CLI's settings.json share, defined
once. Each rule is tested here once, for every agent's `HookFile`; each agent's own
test file tests what is its own (and, through the command, all of it again)."""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitop.env import Env
from aitop.errors import AitopError
from aitop.providers.claude_code import install as claude
from aitop.providers.codex import install as codex
from aitop.providers.codex.hooks import KNOWN_EVENTS as CODEX_EVENTS
from aitop.providers.gemini import install as gemini
from aitop.providers.gemini.hooks import HOOK_EVENTS as GEMINI_EVENTS
from aitop.providers.install import matcher_groups as mg
from aitop.providers.install.command import HookCommand, is_aitop_command
from aitop.providers.install.jsonfile import Loaded, ShapeError
from aitop.providers.install.jsontext import dump

CMD = "/opt/aitop/bin/aitop hook"
USER = "user-hook-"

# Every agent whose file holds matcher groups: its HookFile, and the events it may register
AGENTS: dict[str, tuple[mg.HookFile, tuple[str, ...]]] = {
    "claude-code": (
        claude.HOOKS,
        tuple(e for e in claude.CLAUDE_CODE_EVENTS if e not in claude.NEVER_REGISTERED),
    ),
    "codex": (codex.HOOKS, CODEX_EVENTS),
    "gemini": (gemini.HOOKS, GEMINI_EVENTS),
}
ALL_EVENTS = sorted({e for _, events in AGENTS.values() for e in events})


def same(a: Any, b: Any) -> bool:
    """Equal byte for byte as the file would hold them (key order included)."""
    return dump(a) == dump(b)


# ---------------------------------------------------------------------------------------
# strategies: documents of any agent, with its non-event keys (Gemini CLI's) among events

keys = st.text(max_size=5)
scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=2) | st.dictionaries(keys, children, max_size=2),
    max_leaves=3,
)
numbered_user_hooks = st.builds(
    lambda n, extra: {"type": "command", "command": f"{USER}{n}", **extra},
    st.integers(0, 10**6),
    st.fixed_dictionaries({}, optional={"timeout": st.integers(0, 60), "async": st.booleans()}),
)
other_hooks = numbered_user_hooks | values.filter(lambda v: not mg.is_aitop_hook(v))
old_aitop_hooks = st.fixed_dictionaries(
    {
        "type": st.just("command"),
        "command": st.sampled_from(
            [CMD, "AITOP_TAG=w /old/aitop hook --socket /s", "/usr/bin/python3 -m aitop hook"]
        ),
    },
    optional={"timeout": st.integers(1, 9000), "async": st.booleans(), "name": keys},
)


def groups(hooks: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    with_hooks = st.fixed_dictionaries(
        {"hooks": st.lists(hooks, max_size=3)},
        optional={"matcher": st.sampled_from(["", "*", " ", "Bash", "Edit|Write"]), "x": values},
    )
    return with_hooks | st.fixed_dictionaries({}, optional={"matcher": keys, "x": values})


@st.composite
def documents(draw: st.DrawFn, form: mg.HookFile, hooks: st.SearchStrategy[Any]) -> Any:
    """A document of `form`'s shape, `hooks` at any position among other keys."""
    items = list(
        draw(st.dictionaries(keys.filter(lambda k: k != "hooks"), values, max_size=3)).items()
    )
    if draw(st.booleans()):
        events = st.sampled_from(ALL_EVENTS) | keys.filter(lambda k: k not in form.not_events)
        section = draw(st.dictionaries(events, st.lists(groups(hooks), max_size=3), max_size=4))
        for key in sorted(form.not_events):
            if draw(st.booleans()):
                section[key] = draw(values)
        shuffled = draw(st.permutations(list(section.items())))
        items.insert(draw(st.integers(0, len(items))), ("hooks", dict(shuffled)))
    return dict(items)


@st.composite
def cases(draw: st.DrawFn, hooks: st.SearchStrategy[Any]) -> tuple[mg.HookFile, Any, list[str]]:
    """An agent's HookFile, a document of its shape, and events it may register."""
    form, known = AGENTS[draw(st.sampled_from(sorted(AGENTS)))]
    events = draw(st.lists(st.sampled_from(known), min_size=1, max_size=5, unique=True))
    return form, draw(documents(form, hooks)), events


def normalised(form: mg.HookFile, document: Any, events: list[str]) -> Any:
    """What install-then-uninstall can give back: an empty list already there for an event
    aitop registers (or an empty `hooks`) reads like none at all, and goes."""
    result = copy.deepcopy(document)
    hooks = result.get("hooks")
    if isinstance(hooks, dict):
        for event in events:
            if hooks.get(event) == []:
                del hooks[event]
        if not hooks:
            del result["hooks"]
    return result


def user_positions(form: mg.HookFile, document: Any) -> list[tuple[str, int, int, Any]]:
    """Each hook that is not aitop's, and where: (event, group index, handler index)."""
    hooks = document.get("hooks", {})
    return [
        (event, g, h, hook)
        for event in form.events(hooks)
        for g, group in enumerate(hooks[event])
        for h, hook in enumerate(group.get("hooks", []))
        if not mg.is_aitop_hook(hook)
    ]


merge_examples = settings(max_examples=max(20, settings().max_examples // 2))


# ---------------------------------------------------------------------------------------
# the merge, for every agent


@merge_examples
@given(cases(other_hooks))
def test_install_then_uninstall_gives_the_document_back_for_every_agent(
    case: tuple[mg.HookFile, Any, list[str]],
) -> None:
    form, original, events = case
    installed, _ = mg.install_hooks(form, original, CMD, events)
    removed, changes = mg.uninstall_hooks(form, installed)
    assert same(removed, normalised(form, original, events))
    assert sorted(changes.removed) == sorted(events)


@merge_examples
@given(cases(other_hooks | old_aitop_hooks))
def test_install_then_uninstall_is_uninstall_for_every_agent(
    case: tuple[mg.HookFile, Any, list[str]],
) -> None:
    """With aitop hooks already there (old, repeated, customised): what install adds,
    uninstall takes back; nothing else changes."""
    form, original, events = case
    installed, _ = mg.install_hooks(form, original, CMD, events)
    removed, _ = mg.uninstall_hooks(form, installed)
    direct, _ = mg.uninstall_hooks(form, original)
    assert same(removed, normalised(form, direct, events))


@merge_examples
@given(cases(other_hooks | old_aitop_hooks))
def test_install_registers_each_chosen_event_once_and_nothing_else(
    case: tuple[mg.HookFile, Any, list[str]],
) -> None:
    form, original, events = case
    installed, changes = mg.install_hooks(form, original, CMD, events)
    found = list(mg.find_aitop_hooks(form, installed))
    assert sorted(f.event for f in found) == sorted(events)
    for item in found:
        assert form.drop.isdisjoint(item.hook)
        assert item.hook["timeout"] == form.hook(CMD, item.event)["timeout"]
    again, twice = mg.install_hooks(form, installed, CMD, events)
    assert same(again, installed) and not twice.any
    assert sorted(changes.added + changes.updated + changes.unchanged) == sorted(events)


@merge_examples
@given(cases(other_hooks))
def test_install_never_moves_a_hook_of_the_users(case: tuple[mg.HookFile, Any, list[str]]) -> None:
    """aitop's group goes at the END of an event's list (Codex keys trust by position)."""
    form, original, events = case
    installed, _ = mg.install_hooks(form, original, CMD, events)
    assert user_positions(form, installed) == user_positions(form, original)


@merge_examples
@given(cases(other_hooks | old_aitop_hooks))
def test_the_merge_never_changes_its_input_nor_what_is_not_an_event(
    case: tuple[mg.HookFile, Any, list[str]],
) -> None:
    form, original, events = case
    before = copy.deepcopy(original)
    for merged, _ in (
        mg.install_hooks(form, original, CMD, events),
        mg.uninstall_hooks(form, original),
    ):
        assert same(original, before)
        for key in form.not_events.intersection(original.get("hooks", {})):
            assert same(merged["hooks"][key], original["hooks"][key])
        assert [k for k in merged if k != "hooks"] == [k for k in original if k != "hooks"]


# ---------------------------------------------------------------------------------------
# the rules, one example each


def test_the_first_aitop_hook_is_updated_where_it_is_and_the_rest_go() -> None:
    form = claude.HOOKS
    document = {
        "hooks": {
            "Stop": [
                {"matcher": "x", "hooks": [{"command": "echo 1"}]},
                {"hooks": [{"command": f"AITOP_TAG=w {CMD}", "async": True, "timeout": 1}]},
                {"hooks": [{"command": CMD}, {"command": "echo 2"}]},
            ]
        }
    }
    merged, changes = mg.install_hooks(form, document, CMD, ["Stop"])
    assert merged["hooks"]["Stop"] == [
        {"matcher": "x", "hooks": [{"command": "echo 1"}]},
        {"hooks": [{"command": f"AITOP_TAG=w {CMD}", "timeout": 5, "type": "command"}]},
        {"hooks": [{"command": "echo 2"}]},
    ]
    assert changes.updated == ["Stop"] and changes.removed == ["Stop"]


def test_a_group_goes_only_when_it_is_empty_and_aitops_shape() -> None:
    form = codex.HOOKS
    document = {
        "hooks": {
            "Stop": [
                {"matcher": "", "hooks": [{"command": CMD}]},
                {"hooks": [{"command": CMD}]},
            ],
            "PreToolUse": [{"hooks": [{"command": CMD}]}],
        },
        "description": "mine",
    }
    merged, changes = mg.uninstall_hooks(form, document)
    assert merged == {"hooks": {"Stop": [{"matcher": "", "hooks": []}]}, "description": "mine"}
    assert changes.removed == ["Stop", "Stop", "PreToolUse"]


def test_each_agent_has_its_own_hook_object() -> None:
    hooks = {
        name: mg.install_hooks(form, {}, CMD, [events[0], "SessionEnd"])[0]["hooks"]
        for name, (form, events) in AGENTS.items()
    }
    assert hooks["claude-code"]["SessionEnd"] == [
        {"hooks": [{"type": "command", "command": CMD, "timeout": 5}]}
    ]
    assert hooks["codex"]["SessionEnd"] == [
        {"hooks": [{"type": "command", "command": CMD, "timeout": 3}]}  # Codex holds it to 3 s
    ]
    assert hooks["gemini"]["SessionEnd"] == [
        {"hooks": [{"type": "command", "command": CMD, "timeout": 5000}]}  # milliseconds
    ]


def test_only_the_agents_that_lose_async_calls_drop_async() -> None:
    document = {"hooks": {"SessionStart": [{"hooks": [{"command": CMD, "async": True}]}]}}
    kept = {
        name: "async"
        in mg.install_hooks(form, document, CMD, ["SessionStart"])[0]["hooks"]["SessionStart"][0][
            "hooks"
        ][0]
        for name, (form, _) in AGENTS.items()
    }
    assert kept == {"claude-code": False, "codex": False, "gemini": True}


@pytest.mark.parametrize(
    ("form", "whole"),
    [
        (claude.HOOKS, "the settings are an array, expected an object"),
        (codex.HOOKS, "hooks.json holds an array, expected an object"),
        (gemini.HOOKS, "the settings are an array, expected an object"),
    ],
)
def test_the_shape_check_speaks_of_the_agents_file(form: mg.HookFile, whole: str) -> None:
    with pytest.raises(ShapeError, match=whole):
        mg.install_hooks(form, [], CMD, ["Stop"])
    with pytest.raises(ShapeError) as error:
        mg.uninstall_hooks(form, {"hooks": {"Stop": [{"hooks": {}}]}})
    assert error.value.path == ("hooks", "Stop", 0, "hooks")
    assert error.value.what == '"hooks"."Stop"[0]."hooks" is an object, expected a list'


def test_keys_of_hooks_that_are_not_events_are_not_checked_nor_walked() -> None:
    document = {"hooks": {"enabled": True, "disabled": "x", "Stop": []}}
    with pytest.raises(ShapeError):
        mg.install_hooks(claude.HOOKS, document, CMD, ["Stop"])
    merged, _ = mg.install_hooks(gemini.HOOKS, document, CMD, ["SessionEnd"])
    assert list(merged["hooks"]) == ["enabled", "disabled", "Stop", "SessionEnd"]


def test_a_matcher_that_narrows_what_aitop_sees_is_said_in_the_agents_words() -> None:
    narrowed = {"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"command": CMD}]}]}}
    everything = {"hooks": {"Stop": [{"matcher": "Bash", "hooks": [{"command": CMD}]}]}}
    notes = mg.matcher_notes(codex.HOOKS, mg.find_aitop_hooks(codex.HOOKS, narrowed))
    assert notes == [
        'aitop\'s PreToolUse hook is in a group with matcher "Bash", so it sees only what '
        "matches; to see everything: aitop install --agent codex --uninstall --write && "
        "aitop install --agent codex --write"
    ]
    # Codex ignores a matcher on an event that has nothing to match; Claude Code does not
    assert mg.matcher_notes(codex.HOOKS, mg.find_aitop_hooks(codex.HOOKS, everything)) == []
    assert len(mg.matcher_notes(claude.HOOKS, mg.find_aitop_hooks(claude.HOOKS, everything))) == 1


# ---------------------------------------------------------------------------------------
# what install and uninstall say, --events and --check


def run(form: mg.HookFile, document: Any, hook: HookCommand | None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    loaded = Loaded("/x/settings.json", dump(document), document)
    assert mg.apply_merge(form, loaded, hook, ["Stop"], False, Env(stdout=out, stderr=err)) == 0
    return out.getvalue(), err.getvalue()


def test_a_dry_run_prints_the_merge_and_says_what_it_would_change() -> None:
    out, err = run(gemini.HOOKS, {}, HookCommand(CMD, "/opt/aitop/bin/aitop", ("careful",)))
    assert out == dump({"hooks": {"Stop": [{"hooks": [gemini.aitop_hook(CMD)]}]}}).decode()
    assert err.splitlines() == [
        "aitop install: warning: careful",
        "aitop install: would add 1 hook (Stop) to /x/settings.json; run with --write to apply",
    ]
    _, err = run(claude.HOOKS, {"hooks": {"Stop": [{"hooks": [claude.aitop_hook(CMD)]}]}}, None)
    assert "would remove aitop's 1 hook (Stop) from /x/settings.json" in err
    _, err = run(claude.HOOKS, {}, None)
    assert err == "aitop install: no aitop hooks in /x/settings.json; nothing to write\n"


def test_events_are_checked_in_the_order_given() -> None:
    def refuse(name: str) -> None:
        if name == "Never":
            raise AitopError("refused", "")

    def parse(text: str) -> tuple[str, ...]:
        return mg.parse_events(
            text, ["Stop", "Never"], ["Stop"], lambda n: f"unknown {n}", "one of: Stop", refuse
        )

    assert parse(" Stop, Stop ,") == ("Stop",)
    with pytest.raises(AitopError, match="refused"):
        parse("Never,Nope")
    with pytest.raises(AitopError, match="unknown Nope") as error:
        parse("Nope,Never")
    assert error.value.todo == "one of: Stop"
    with pytest.raises(AitopError, match="unknown Stpo") as error:
        parse("Stpo")
    assert error.value.todo == "did you mean Stop?"
    with pytest.raises(AitopError, match="--events is empty"):
        parse(" , ")


def test_registration_is_all_some_or_none_of_the_events() -> None:
    document = {"hooks": {"Stop": [{"hooks": [{"command": CMD}]}]}}
    found = list(mg.find_aitop_hooks(claude.HOOKS, document))
    fix = claude.REINSTALL
    assert mg.registration_finding(found, ["Stop"], "f", fix).level == "ok"
    some = mg.registration_finding(found, ["Stop", "SessionEnd"], "f", fix)
    assert some.text == f"1 of 2 hook events registered in f (missing: SessionEnd); {fix}"
    assert mg.registration_finding([], ["Stop"], "f", fix).text == (
        f"aitop's hooks are not in f; {fix}"
    )
    assert mg.repeat_findings([*found, *found], fix)[0].text == (
        f"aitop is registered 2 times for Stop, so those events count 2 times; {fix}"
    )


def test_every_aitop_hook_found_runs_aitop() -> None:
    for form, events in AGENTS.values():
        merged, _ = mg.install_hooks(form, {}, CMD, list(events[:3]))
        found = list(mg.find_aitop_hooks(form, merged))
        assert len(found) == 3
        assert all(is_aitop_command(f.hook["command"]) for f in found)
        assert [(f.group_index, f.handler_index) for f in found] == [(0, 0)] * 3
