"""A tool call's summary (`aitop.providers.summary`): which of the fields that name what a
call works on wins, and how an input is decoded safely, defined once for every agent."""

from __future__ import annotations

import msgspec
import pytest

from aitop.providers import summary
from aitop.providers.claude_code import tools as claude_tools
from aitop.providers.gemini import tools as gemini_tools
from aitop.providers.opencode import tools as opencode_tools


def test_the_first_target_given_wins_in_a_fixed_order() -> None:
    every = {
        "shell": "npm test -- --watch --coverage",
        "path": "/src/app.py",
        "search": "TODO|FIXME",
        "url": "https://docs.example.com/x",
        "label": "Explore",
    }
    expected = ["npm test -- --watch", "app.py", "TODO|FIXME", "docs.example.com", "Explore"]
    for n, name in enumerate(every):
        given = dict(list(every.items())[n:])
        assert summary.first_target(**given) == expected[n], name
    assert summary.first_target() is None


def test_an_empty_command_is_no_summary_and_hides_nothing_else() -> None:
    """A shell command is the call's target even when it has no words: the path beside it
    is not what the call works on."""
    assert summary.first_target(shell="", path="/src/app.py") is None
    assert summary.first_target(shell="  \n", path="/src/app.py") is None
    assert summary.first_target(path="", search="", url="", label="x") == "x"


class _Input(msgspec.Struct):
    command: str | None = None


_decoder = msgspec.json.Decoder(_Input)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        b'"a string"',
        b"[1, 2]",
        b"{",
        b'{"command": 5}',
        b'{"command": "\xff"}',
        b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=["empty", "null", "string", "array", "cut", "wrong type", "not utf-8", "too deep"],
)
def test_an_input_that_is_not_an_object_of_the_type_is_none_never_an_error(raw: bytes) -> None:
    assert summary.decoded(_decoder, raw) is None


def test_an_object_decodes_with_what_it_names() -> None:
    assert summary.decoded(_decoder, b'{"command": "ls -la", "content": "x"}') == _Input("ls -la")


def test_each_agent_names_its_own_shell_tool() -> None:
    shell = b'{"command": "make all", "file_path": "/a/b.py", "filePath": "/a/c.py"}'
    assert claude_tools.summarize_raw("Bash", shell) == "make all"
    assert claude_tools.summarize_raw("Other", shell) == "b.py"
    assert opencode_tools.summarize_raw("bash", shell) == "make all"
    assert opencode_tools.summarize_raw("Bash", shell) == "c.py"
    args = gemini_tools.decode_args(shell)
    assert gemini_tools.summarize("run_shell_command", args) == "make all"
    assert gemini_tools.summarize("read_file", args) == "b.py"
    assert gemini_tools.summarize("read_file", gemini_tools.decode_args(b"[]")) is None
