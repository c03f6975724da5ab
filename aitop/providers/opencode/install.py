"""`aitop install --agent opencode`: put aitop's plugin where OpenCode loads plugins, and
keep OpenCode from waiting for npm because of it.

* The plugin is `<config>/plugin/aitop.js`, `<config>` being OpenCode's global config
  directory (`$XDG_CONFIG_HOME/opencode`, else `~/.config/opencode`; `--settings DIR` names
  another): OpenCode loads every `plugin/*.js` there, so no config file is edited. It is
  aitop's own file (its first line says so): written atomically, replaced when aitop's
  plugin changed; a file of that name that is not aitop's is never touched. `--socket
  PATH` is written into it, as into Claude Code's hook commands.
* OpenCode's surprise (tests/fixtures/opencode/README.md, "Plugin"): before it loads ANY
  plugin, OpenCode runs `npm install @opencode-ai/plugin` in each config directory, and
  waits for it (~70 s offline, seconds online), unless `node_modules/` is there and
  `package-lock.json` lists `@opencode-ai/plugin` and every dependency of `package.json`.
  aitop's plugin needs no package. In a config directory where none of `node_modules/`,
  `package.json` and `package-lock.json` exists (OpenCode never installed anything
  there), install creates the three as OpenCode's check wants them: an empty
  `node_modules/`, and two small files that say why. Where any of them exists it is the
  user's (or npm's): install changes none of it, and says whether OpenCode will run npm
  and the command that settles it for good.
* Uninstall removes the plugin (if it is aitop's), and the three it created if they are
  all still exactly as it wrote them.
* `--check` says whether the plugin is there and current, whether OpenCode will wait for
  npm, and whether a monitor listens where the plugin sends (exit 0/1).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aitop import paths
from aitop.env import Env
from aitop.errors import AitopError, ExitCode
from aitop.providers.install.check import Finding, Inspection, tilde
from aitop.providers.install.jsonfile import NOTHING_WRITTEN, replace_file
from aitop.providers.install.summary import say
from aitop.providers.opencode.provider import PLUGIN_NAME, config_dir

PLUGIN_SOURCE = os.path.join(os.path.dirname(__file__), PLUGIN_NAME)
MARKER = b"// aitop's OpenCode plugin"
SOCKET_LINE = 'const SOCKET = ""'
PLUGIN_PACKAGE = "@opencode-ai/plugin"
INSTALL = "run: aitop install --agent opencode --write"

# What OpenCode's dependency check wants, and no more. The version is any: OpenCode
# compares names only, and npm (if the user ever runs it here) takes the latest.
SEED_PACKAGE = (
    b"{\n"
    b'  "description": "Written by aitop install: with this file, package-lock.json and an'
    b" empty node_modules/, OpenCode loads plugins without running npm first. A plugin that"
    b' imports @opencode-ai/plugin needs: npm install @opencode-ai/plugin",\n'
    b'  "dependencies": {\n'
    b'    "@opencode-ai/plugin": "*"\n'
    b"  }\n"
    b"}\n"
)
SEED_LOCK = (
    b"{\n"
    b'  "lockfileVersion": 3,\n'
    b'  "requires": true,\n'
    b'  "packages": {\n'
    b'    "": {\n'
    b'      "dependencies": {\n'
    b'        "@opencode-ai/plugin": "*"\n'
    b"      }\n"
    b"    }\n"
    b"  }\n"
    b"}\n"
)
_DEPENDENCY_KINDS = (
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
)


def settings_dir(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    given = getattr(args, "settings", None)
    return os.path.abspath(given) if given else config_dir(environ)


# --- the plugin file ----------------------------------------------------------------------


def plugin_source(socket: str | None) -> bytes:
    """The plugin as install writes it: with `socket` (absolute) in it, if one was given."""
    with open(PLUGIN_SOURCE, "rb") as file:
        source = file.read()
    if socket:
        line = "const SOCKET = " + json.dumps(os.path.abspath(socket))
        source = source.replace(SOCKET_LINE.encode(), line.encode(), 1)
    return source


def plugin_socket(source: bytes) -> str | None:
    """The socket a written plugin sends to, if install wrote one into it."""
    for line in source.decode("utf-8", "replace").splitlines():
        if line.startswith("const SOCKET = "):
            value = line.removeprefix("const SOCKET = ").split("//")[0].strip()
            with contextlib.suppress(ValueError):
                found = json.loads(value)
                return found if isinstance(found, str) and found else None
    return None


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise AitopError(
            f"{path}: cannot read: {error.strerror}", NOTHING_WRITTEN, ExitCode.USAGE
        ) from None


# --- OpenCode's npm check -------------------------------------------------------------------


def _json_object(path: str) -> dict[str, Any]:
    """As OpenCode reads it: anything unreadable is an empty object."""
    try:
        with open(path, "rb") as file:
            value = json.loads(file.read())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _names(section: Any) -> set[str]:
    if not isinstance(section, dict):
        return set()
    return {
        name
        for kind in _DEPENDENCY_KINDS
        if isinstance(section.get(kind), dict)
        for name in section[kind]
    }


def npm_wanted(directory: str) -> str | None:
    """Why OpenCode would run npm in `directory` before loading plugins; None if it would
    not (OpenCode 1.18.33's `Npm.install`: it skips a directory it cannot write to, runs npm
    where `node_modules/` is missing or the lock lacks a dependency, by name)."""
    if not os.access(directory, os.W_OK):
        return None
    if not os.path.isdir(os.path.join(directory, "node_modules")):
        return "there is no node_modules/"
    wanted = _names(_json_object(os.path.join(directory, "package.json"))) | {PLUGIN_PACKAGE}
    lock = _json_object(os.path.join(directory, "package-lock.json"))
    packages = lock.get("packages")
    root = packages.get("") if isinstance(packages, dict) else None
    missing = sorted(wanted - _names(root))
    if missing:
        return f"package-lock.json does not list {', '.join(missing)}"
    return None


@dataclass(frozen=True)
class Seeds:
    directory: str

    @property
    def package(self) -> str:
        return os.path.join(self.directory, "package.json")

    @property
    def lock(self) -> str:
        return os.path.join(self.directory, "package-lock.json")

    @property
    def modules(self) -> str:
        return os.path.join(self.directory, "node_modules")

    def none_there(self) -> bool:
        return not any(os.path.lexists(p) for p in (self.package, self.lock, self.modules))

    def all_ours(self) -> bool:
        """The three exactly as install wrote them (node_modules/ still empty)."""
        try:
            if not os.path.isdir(self.modules) or os.listdir(self.modules):
                return False
            return _read(self.package) == SEED_PACKAGE and _read(self.lock) == SEED_LOCK
        except (OSError, AitopError):
            return False

    def create(self) -> None:
        """Each one only if it is not there: an existing file is never replaced."""
        for path, data in ((self.package, SEED_PACKAGE), (self.lock, SEED_LOCK)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
        os.mkdir(self.modules)

    def remove(self) -> None:
        os.unlink(self.package)
        os.unlink(self.lock)
        os.rmdir(self.modules)


# --- the command ----------------------------------------------------------------------------


def run(args: argparse.Namespace, env: Env) -> int:
    if getattr(args, "events", None) is not None:
        raise AitopError(
            "--events is for Claude Code's hooks; OpenCode gets one plugin for everything",
            "leave out --events",
            ExitCode.USAGE,
        )
    directory = settings_dir(args, env.environ)
    if os.path.lexists(directory) and not os.path.isdir(directory):
        raise AitopError(
            f"{directory} is not a directory",
            "give --settings OpenCode's config directory (~/.config/opencode by default)",
            ExitCode.USAGE,
        )
    if args.uninstall:
        return _uninstall(directory, args.write, env)
    return _install(directory, getattr(args, "socket", None), args.write, env)


def _install(directory: str, socket: str | None, write: bool, env: Env) -> int:
    target = os.path.join(directory, "plugin", PLUGIN_NAME)
    shown = tilde(target, env.environ)
    source = plugin_source(socket)
    existing = _read(target)
    if existing is not None and not existing.startswith(MARKER):
        raise AitopError(
            f"{target} exists and is not aitop's plugin",
            f"move it away and run this again; {NOTHING_WRITTEN}",
            ExitCode.USAGE,
        )
    seeds = Seeds(directory)
    seed = seeds.none_there()
    npm_reason = None if seed else npm_wanted(directory) if os.path.isdir(directory) else None
    if not write:
        env.stdout.write(source.decode("utf-8"))
        env.stdout.flush()
        if existing == source:
            say(env, f"aitop's plugin is already in {shown}; nothing to write")
        else:
            say(env, f"would write aitop's plugin to {shown}; run with --write to apply")
        if seed:
            say(env, f"would create {_seed_names(directory, env)} ({_why_seeds()})")
        _npm_note(directory, npm_reason, env)
        return int(ExitCode.OK)
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if existing != source:
            replace_file(target, source, 0o644)
            say(env, f"{'updated' if existing is not None else 'wrote'} aitop's plugin: {shown}")
        else:
            say(env, f"aitop's plugin is already in {shown}; nothing to write")
        if seed:
            try:
                seeds.create()
            except FileExistsError:  # OpenCode got there first: its files, not ours
                say(env, f"{tilde(directory, env.environ)} got npm files meanwhile; left alone")
            else:
                say(env, f"created {_seed_names(directory, env)} ({_why_seeds()})")
    except OSError as error:
        raise AitopError(
            f"cannot write in {directory}: {error.strerror or error}", "fix that and run again"
        ) from None
    _npm_note(directory, npm_reason, env)
    return int(ExitCode.OK)


def _seed_names(directory: str, env: Env) -> str:
    where = tilde(directory, env.environ)
    return f"{where}/package.json, package-lock.json and an empty node_modules/"


def _why_seeds() -> str:
    return "so that OpenCode does not run npm before it loads the plugin"


def _npm_note(directory: str, reason: str | None, env: Env) -> None:
    if reason is None:
        return
    where = tilde(directory, env.environ)
    say(
        env,
        f"note: OpenCode runs npm in {where} before it loads any plugin, and waits for it"
        f" ({reason}; ~70 s without network); to settle it once: npm install --prefix"
        f" {where} {PLUGIN_PACKAGE}",
    )


def _uninstall(directory: str, write: bool, env: Env) -> int:
    target = os.path.join(directory, "plugin", PLUGIN_NAME)
    shown = tilde(target, env.environ)
    existing = _read(target)
    seeds = Seeds(directory)
    ours = seeds.all_ours()
    if existing is not None and not existing.startswith(MARKER):
        say(env, f"{shown} is not aitop's plugin; left alone")
        existing = None
    if existing is None and not ours:
        where = tilde(os.path.dirname(target), env.environ)
        say(env, f"aitop's plugin is not in {where}; nothing to remove")
        return int(ExitCode.OK)
    verb = "removed" if write else "would remove"
    if write:
        try:
            if existing is not None:
                os.unlink(target)
                with contextlib.suppress(OSError):  # only if nothing else is in it
                    os.rmdir(os.path.dirname(target))
            if ours:
                seeds.remove()
        except OSError as error:
            raise AitopError(
                f"cannot remove from {directory}: {error.strerror or error}",
                "fix that and run again",
            ) from None
    if existing is not None:
        say(env, f"{verb} aitop's plugin {shown}")
    if ours:
        say(env, f"{verb} {_seed_names(directory, env)}, which aitop install had created")
    if not write:
        say(env, "run with --write to apply")
    return int(ExitCode.OK)


def inspect(args: argparse.Namespace, env: Env) -> Inspection:
    """`--check`: whether aitop's plugin is there and current, whether OpenCode will wait
    for npm before loading it, and the socket the plugin sends to (which the command then
    probes)."""
    directory = settings_dir(args, env.environ)
    environ = env.environ
    target = os.path.join(directory, "plugin", PLUGIN_NAME)
    shown = tilde(target, environ)
    findings: list[Finding] = []
    try:
        existing = _read(target)
    except AitopError as error:
        existing = None
        findings.append(Finding("problem", f"{error.what}; {INSTALL} once it can be read"))
    sends_to = plugin_socket(existing) if existing is not None else None
    if existing is None:
        if not findings:
            findings.append(Finding("problem", f"aitop's plugin is not in {shown}; {INSTALL}"))
    elif not existing.startswith(MARKER):
        findings.append(
            Finding("problem", f"{shown} is not aitop's plugin; move it away, then {INSTALL}")
        )
    elif existing != plugin_source(sends_to):
        findings.append(
            Finding("warning", f"aitop's plugin in {shown} is another version's; {INSTALL}")
        )
    else:
        findings.append(Finding("ok", f"aitop's plugin is in {shown}"))
    reason = npm_wanted(directory) if os.path.isdir(directory) else None
    if reason is not None:
        where = tilde(directory, environ)
        findings.append(
            Finding(
                "warning",
                f"OpenCode runs npm in {where} before it loads any plugin, and waits for it"
                f" ({reason}; ~70 s without network); to settle it once: npm install --prefix"
                f" {where} {PLUGIN_PACKAGE}",
            )
        )
    elif existing is not None:
        findings.append(Finding("ok", "OpenCode loads plugins without running npm first"))
    given = getattr(args, "socket", None)
    socket_path = os.path.abspath(given or sends_to or paths.socket_path(environ))
    if given and sends_to and os.path.abspath(sends_to) != socket_path:
        findings.append(
            Finding(
                "problem",
                f"the plugin sends to {sends_to}, not to {socket_path}; {INSTALL}"
                f" --socket {socket_path}",
            )
        )
    return Inspection(findings, socket_path)
