"""An agent's JSON settings as text: a position-aware reader and a writer that change nothing.

`aitop install` rewrites a file it does not own (Claude Code's settings.json, Codex's
hooks.json), so the JSON is read by a small recursive-descent reader rather than by
`json.loads` or `orjson.loads`: it reports every problem as a character offset (made
`file:line:col`), refuses duplicate keys (a rewrite could keep only one of them; what the
agent itself does with them is the `Reader`'s to say), refuses `NaN`/`Infinity` (not
JSON; the agents cannot read them either), and keeps every non-integer number and every
integer outside 64 bits as the exact text the file had (`1e400` stays `1e400`, not `inf`
or `null`). orjson writes the result (`OPT_INDENT_2`, insertion order kept, so key order
survives); the kept numbers go back verbatim as `orjson.Fragment`s.

Nothing here knows any agent's field names: the shape each agent needs is checked by its
own install module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

JsonObject = dict[str, Any]
JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Reader:
    """The agent that reads the file after aitop, as the errors name it."""

    name: str  # "Claude Code"
    duplicate_keys: str  # why one is refused: "Claude Code would silently use only the last"


# ---------------------------------------------------------------------------------------
# JSON text ⇄ Python values


class RawNumber:
    """A number kept as the text the file had, written back unchanged.

    Python floats would turn `1e400` into `inf` (which orjson writes as `null`) and
    `1.10` into `1.1`; orjson refuses integers beyond 64 bits. Keeping the text avoids
    all of it: aitop never does arithmetic on the user's numbers. A plain class, not a
    dataclass: orjson would serialise a dataclass as an object by itself.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"RawNumber({self.text!r})"


class JsonSyntaxError(Exception):
    """The text is not JSON aitop can rewrite safely; `pos` is a character offset."""

    def __init__(self, what: str, pos: int) -> None:
        super().__init__(what)
        self.what = what
        self.pos = pos


MAX_DEPTH = 256  # far beyond any real settings file; keeps recursion well inside Python's limit
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1  # orjson writes ints in [-2**63, 2**64 - 1]
_LITERALS: tuple[tuple[str, Any], ...] = (("true", True), ("false", False), ("null", None))
_NOT_JSON_CONSTANTS = ("NaN", "-Infinity", "Infinity")
_STRING_DECODER = json.JSONDecoder()  # only ever asked to decode one string literal
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse(text: str, reader: Reader) -> tuple[Any, dict[JsonPath, int]]:
    """The value in `text` and the offset where each value starts, by its path.

    Raises `JsonSyntaxError`, in `reader`'s words. An empty or whitespace-only text is `{}`
    (it holds nothing to lose).
    """
    if text.startswith("\ufeff"):
        raise JsonSyntaxError(
            "the file starts with a byte order mark (BOM), which JSON does not allow", 0
        )
    if not text.strip(" \t\n\r"):
        return {}, {(): 0}
    parser = _Parser(text, reader)
    return parser.document(), parser.where


class _Parser:
    """A recursive-descent JSON reader that remembers where every value starts."""

    def __init__(self, text: str, reader: Reader) -> None:
        self.text = text
        self.reader = reader
        self.where: dict[JsonPath, int] = {}

    def document(self) -> Any:
        value, pos = self._value(self._skip(0), (), 0)
        pos = self._skip(pos)
        if pos != len(self.text):
            raise JsonSyntaxError("unexpected text after the end of the JSON value", pos)
        return value

    def _expecting(self, what: str, pos: int) -> str:
        if pos >= len(self.text):
            return f"unexpected end of file, expecting {what}"
        return f"expecting {what}, found {self.text[pos]!r}"

    def _skip(self, pos: int) -> int:
        match = _WHITESPACE.match(self.text, pos)
        return match.end() if match else pos

    def _value(self, pos: int, path: JsonPath, depth: int) -> tuple[Any, int]:
        self.where[path] = pos
        text = self.text
        char = text[pos : pos + 1]
        if char in ("{", "["):
            if depth >= MAX_DEPTH:
                raise JsonSyntaxError(f"nested more than {MAX_DEPTH} levels deep", pos)
            if char == "{":
                return self._object(pos, path, depth)
            return self._array(pos, path, depth)
        if char == '"':
            return self._string(pos)
        for constant in _NOT_JSON_CONSTANTS:
            if text.startswith(constant, pos):
                raise JsonSyntaxError(
                    f"{constant} is not valid JSON ({self.reader.name} cannot read it either)", pos
                )
        number = _NUMBER.match(text, pos)
        if number:
            return _number(number.group()), number.end()
        for literal, literal_value in _LITERALS:
            if text.startswith(literal, pos):
                return literal_value, pos + len(literal)
        if not char:
            raise JsonSyntaxError("unexpected end of file, expecting a value", pos)
        raise JsonSyntaxError(f"expecting a value, found {char!r}", pos)

    def _object(self, pos: int, path: JsonPath, depth: int) -> tuple[JsonObject, int]:
        text = self.text
        result: JsonObject = {}
        pos = self._skip(pos + 1)
        if text.startswith("}", pos):
            return result, pos + 1
        while True:
            if not text.startswith('"', pos):
                what = (
                    "a comma before '}' (JSON allows no trailing comma)"
                    if text.startswith("}", pos)
                    else self._expecting("a key in double quotes", pos)
                )
                raise JsonSyntaxError(what, pos)
            key_pos = pos
            key, pos = self._string(pos)
            if key in result:
                raise JsonSyntaxError(
                    f"duplicate key {quoted(key)} ({self.reader.duplicate_keys})", key_pos
                )
            pos = self._skip(pos)
            if not text.startswith(":", pos):
                raise JsonSyntaxError(self._expecting("':' after a key", pos), pos)
            value, pos = self._value(self._skip(pos + 1), (*path, key), depth + 1)
            result[key] = value
            pos = self._skip(pos)
            if text.startswith(",", pos):
                pos = self._skip(pos + 1)
            elif text.startswith("}", pos):
                return result, pos + 1
            else:
                raise JsonSyntaxError(self._expecting("',' or '}'", pos), pos)

    def _array(self, pos: int, path: JsonPath, depth: int) -> tuple[list[Any], int]:
        text = self.text
        result: list[Any] = []
        pos = self._skip(pos + 1)
        if text.startswith("]", pos):
            return result, pos + 1
        while True:
            if text.startswith("]", pos):
                raise JsonSyntaxError("a comma before ']' (JSON allows no trailing comma)", pos)
            value, pos = self._value(pos, (*path, len(result)), depth + 1)
            result.append(value)
            pos = self._skip(pos)
            if text.startswith(",", pos):
                pos = self._skip(pos + 1)
            elif text.startswith("]", pos):
                return result, pos + 1
            else:
                raise JsonSyntaxError(self._expecting("',' or ']'", pos), pos)

    def _string(self, pos: int) -> tuple[str, int]:
        # The standard library decodes one string literal exactly (escapes, surrogate
        # pairs) and says what is wrong with a bad one, at which offset.
        try:
            value, end = _STRING_DECODER.raw_decode(self.text, pos)
        except json.JSONDecodeError as error:
            raise JsonSyntaxError(error.msg, error.pos) from None
        if not isinstance(value, str):  # pragma: no cover - callers check the quote
            raise JsonSyntaxError("expecting a string", pos)
        if "\\u" in self.text[pos:end] and _SURROGATE.search(value):
            # JSON allows an unpaired "\ud800" escape, but UTF-8 (and so orjson) cannot
            # hold it: refuse here, where the position is known, rather than at writing
            raise JsonSyntaxError(
                "a string holds an unpaired UTF-16 surrogate escape, which aitop cannot write back",
                pos,
            )
        return value, end


def _number(text: str) -> int | RawNumber:
    if "." in text or "e" in text or "E" in text or text == "-0":
        return RawNumber(text)
    value = int(text)
    return value if _INT64_MIN <= value <= _UINT64_MAX else RawNumber(text)


def quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _encode_kept(value: Any) -> Any:
    if isinstance(value, RawNumber):
        return orjson.Fragment(value.text)
    raise TypeError(f"cannot write a {type(value).__name__}")


def dump(document: Any) -> bytes:
    """Two-space indentation, key order kept, a trailing newline (as the agents write theirs)."""
    return orjson.dumps(document, default=_encode_kept, option=orjson.OPT_INDENT_2) + b"\n"


def compact(value: Any) -> str:
    """One value as JSON on one line, as the file holds it (for messages)."""
    return orjson.dumps(value, default=_encode_kept).decode("utf-8")


def line_and_column(text: str, pos: int) -> tuple[int, int]:
    """1-based, counting characters, like editors and `json`'s own errors."""
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, column


def kind(value: Any) -> str:
    """What a JSON value is, for messages: "an array", "null"."""
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, int | float | RawNumber):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
