"""Key bindings as data: key → action, with aliases, help text and footer labels.

The help screen and the footer are made from this table, so they cannot drift from
what the keys do. Keys are named as blessed names them (`KEY_F10`, `KEY_CTRL_L`) or
by the character they type (`q`, `<`); nothing here imports blessed.
"""

from __future__ import annotations

from typing import NamedTuple

from aitop.ui.sort import SortOrder, bindings


class Binding(NamedTuple):
    keys: tuple[str, ...]  # the first is the one the footer shows
    action: str
    help: str
    label: str = ""  # its name in the footer; "" keeps it out of the footer


def _sort_help(uses: list[tuple[str, SortOrder]]) -> str:
    """`C`: "sort by COST (Sessions), CALLS (Tools), COST (Models)"."""
    if len(uses) == 1:
        tab, order = uses[0]
        return f"sort {tab} by {order.title}: {order.what}"
    return "sort by " + ", ".join(f"{order.title} ({tab})" for tab, order in uses)


KEYMAP: tuple[Binding, ...] = (
    Binding(("?", "KEY_F1", "h"), "help", "this help (any key returns)", "Help"),
    Binding(("KEY_UP", "k"), "up", "select the row above"),
    Binding(("KEY_DOWN", "j"), "down", "select the row below"),
    Binding(("KEY_PGUP",), "page_up", "a page up"),
    Binding(("KEY_PGDOWN", " "), "page_down", "a page down"),
    Binding(("KEY_HOME", "g"), "home", "the first row"),
    Binding(("KEY_END", "G"), "end", "the last row"),
    Binding(("KEY_ENTER",), "detail", "details of the selected session", "Detail"),
    Binding(("KEY_ESCAPE", "KEY_LEFT", "KEY_BACKSPACE"), "back",
            "back: close the detail, a menu or the alerts; clear the filter"),
    Binding(("KEY_TAB",), "next_tab", "next tab: Sessions, Tools, Models, Agents", "Tabs"),
    Binding(("KEY_BTAB",), "prev_tab", "previous tab"),
    Binding(("/", "KEY_F4"), "filter",
            "filter the tab's rows (sessions: project, directory, model, tag, status, id)",
            "Filter"),
    Binding(("KEY_F6",), "sort_menu", "choose the tab's sort column", "Sort"),
    Binding(("<", ","), "sort_prev", "sort by the column to the left"),
    Binding((">", "."), "sort_next", "sort by the column to the right"),
    *(
        Binding((letter,), f"sortkey:{letter}", _sort_help(uses))
        for letter, uses in bindings().items()
    ),
    Binding(("I",), "invert", "invert the sort order"),
    Binding(("a", "!"), "alerts", "every alert now, and the log of alerts since start",
            "Alerts"),
    Binding(("Z",), "pause", "pause / resume updates (the keys still work)", "Pause"),
    Binding(("KEY_CTRL_L",), "redraw", "redraw the whole screen"),
    Binding(("q", "KEY_F10", "KEY_CTRL_C"), "quit", "quit", "Quit"),
)  # fmt: skip

_BY_KEY: dict[str, str] = {}
for _binding in KEYMAP:
    for _key in _binding.keys:
        assert _key not in _BY_KEY, f"{_key} is bound twice"
        _BY_KEY[_key] = _binding.action


def action_for(key: str) -> str | None:
    return _BY_KEY.get(key)


def binding_for(action: str) -> Binding:
    for binding in KEYMAP:
        if binding.action == action:
            return binding
    raise KeyError(action)


KEY_NAMES = {
    "KEY_UP": "↑",
    "KEY_DOWN": "↓",
    "KEY_LEFT": "←",
    "KEY_RIGHT": "→",
    "KEY_PGUP": "PgUp",
    "KEY_PGDOWN": "PgDn",
    "KEY_HOME": "Home",
    "KEY_END": "End",
    "KEY_ENTER": "Enter",
    "KEY_ESCAPE": "Esc",
    "KEY_BACKSPACE": "Backspace",
    "KEY_DELETE": "Delete",
    "KEY_TAB": "Tab",
    "KEY_BTAB": "Shift-Tab",
    " ": "Space",
}


def key_name(key: str) -> str:
    """How a key reads on screen: F10, Ctrl-C, ↑, Shift-Tab, q."""
    if key in KEY_NAMES:
        return KEY_NAMES[key]
    if key.startswith("KEY_CTRL_"):
        return "Ctrl-" + key.removeprefix("KEY_CTRL_")
    if key.startswith("KEY_F") and key[5:].isdigit():
        return key.removeprefix("KEY_")
    return key


def help_rows() -> list[tuple[str, str]]:
    """(keys, what they do) for every binding, in the table's order."""
    return [(" ".join(key_name(k) for k in b.keys), b.help) for b in KEYMAP]


def footer_items(paused: bool = False) -> list[tuple[str, str]]:
    """(key, label) pairs for the footer bar."""
    items = []
    for binding in KEYMAP:
        if binding.label:
            label = "Resume" if binding.action == "pause" and paused else binding.label
            items.append((key_name(binding.keys[0]), label))
    return items


def man_section() -> str:
    """The KEYS section of man/aitop.1, made from this table (a test keeps them equal)."""
    out = []
    for keys, what in help_rows():
        out.append(".TP")
        out.append('.B "' + _roff(keys) + '"')
        out.append(_roff(what[:1].upper() + what[1:]) + ".")
    return "\n".join(out) + "\n"


_ROFF_GLYPHS = {"↑": "\\(ua", "↓": "\\(da", "←": "\\(<-", "→": "\\(->"}


def _roff(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    for glyph, name in _ROFF_GLYPHS.items():
        text = text.replace(glyph, name)
    return text
