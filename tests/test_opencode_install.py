"""`aitop install --agent opencode`: the plugin where OpenCode loads plugins, the npm seeds
only where OpenCode never installed anything (so that it never waits for npm because of
aitop), never a byte of anyone else's changed, and an uninstall that gives back what was."""

from __future__ import annotations

import io
import json
import os
import socket
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aitop.cli import main
from aitop.env import Env
from aitop.providers.opencode import install


class Run(NamedTuple):
    code: int
    out: str
    err: str


def cli(args: list[str], home: Path, **environ: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    env = Env(
        stdout=out,
        stderr=err,
        environ={"HOME": str(home), "PATH": str(home / "no-such-bin"), **environ},
    )
    code = main(["install", *args], env=env)
    return Run(code, out.getvalue(), err.getvalue())


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file's bytes (None for a directory) under `root`."""
    if not root.exists():
        return {}
    found: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = None if path.is_dir() else path.read_bytes()
    return found


def config(home: Path) -> Path:
    return home / ".config" / "opencode"


def plugin_file(home: Path) -> Path:
    return config(home) / "plugin" / "aitop.js"


WRITE = ["--agent", "opencode", "--write"]


def test_install_writes_the_plugin_and_what_keeps_npm_away(tmp_path: Path) -> None:
    run = cli(WRITE, tmp_path)
    assert run.code == 0, run.err
    assert plugin_file(tmp_path).read_bytes() == install.plugin_source(None)
    assert install.npm_wanted(str(config(tmp_path))) is None  # OpenCode's own check passes
    assert list((config(tmp_path) / "node_modules").iterdir()) == []
    package = json.loads((config(tmp_path) / "package.json").read_text())
    assert package["dependencies"] == {"@opencode-ai/plugin": "*"}
    assert "aitop install" in package["description"]
    assert "created" in run.err and "npm" in run.err
    again = cli(WRITE, tmp_path)
    assert again.code == 0 and "nothing to write" in again.err


def test_the_socket_given_goes_into_the_plugin(tmp_path: Path) -> None:
    cli([*WRITE, "--socket", "run/x.sock"], tmp_path)
    source = plugin_file(tmp_path).read_bytes()
    assert install.plugin_socket(source) == os.path.abspath("run/x.sock")
    assert install.plugin_socket(install.plugin_source(None)) is None


def test_xdg_config_home_and_settings_name_the_directory(tmp_path: Path) -> None:
    cli(WRITE, tmp_path, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    assert (tmp_path / "xdg" / "opencode" / "plugin" / "aitop.js").is_file()
    cli([*WRITE, "--settings", str(tmp_path / "elsewhere")], tmp_path)
    assert (tmp_path / "elsewhere" / "plugin" / "aitop.js").is_file()


def test_the_users_npm_files_are_never_touched(tmp_path: Path) -> None:
    """OpenCode installed here once (or the user did): install leaves every byte, and says
    whether OpenCode will run npm and the one command that settles it."""
    directory = config(tmp_path)
    (directory / "node_modules" / "some-dep").mkdir(parents=True)
    (directory / "package.json").write_text('{"dependencies": {"some-dep": "1.0.0"}}\n')
    (directory / "package-lock.json").write_text(
        '{"packages": {"": {"dependencies": {"some-dep": "1.0.0"}}}}\n'
    )
    before = tree(directory)
    run = cli(WRITE, tmp_path)
    assert run.code == 0
    after = tree(directory)
    assert {k: v for k, v in after.items() if not k.startswith("plugin")} == before
    assert "OpenCode runs npm in" in run.err
    assert "@opencode-ai/plugin" in run.err and "npm install --prefix" in run.err
    check = cli(["--agent", "opencode", "--check"], tmp_path)
    assert "warning: OpenCode runs npm in" in check.out


def test_npm_wanted_follows_opencodes_check(tmp_path: Path) -> None:
    """OpenCode 1.18.33's `Npm.install`: node_modules/ there, and every dependency (of the
    four kinds) of package.json and @opencode-ai/plugin listed by the lock's root, by name."""
    d = tmp_path
    assert install.npm_wanted(str(d)) == "there is no node_modules/"
    (d / "node_modules").mkdir()
    assert "@opencode-ai/plugin" in (install.npm_wanted(str(d)) or "")
    (d / "package-lock.json").write_text(
        '{"packages": {"": {"devDependencies": {"@opencode-ai/plugin": "9.9.9"}}}}'
    )
    assert install.npm_wanted(str(d)) is None  # any version, any kind
    (d / "package.json").write_text('{"optionalDependencies": {"x": "1"}}')
    assert install.npm_wanted(str(d)) == "package-lock.json does not list x"
    (d / "package.json").write_text("not json")  # OpenCode reads it as {}
    assert install.npm_wanted(str(d)) is None
    (d / "package.json").write_text('{"dependencies": {"y": "1"}}')
    assert install.npm_wanted(str(d)) is not None
    if os.geteuid() != 0:  # root writes anywhere
        d.chmod(0o500)
        try:
            assert install.npm_wanted(str(d)) is None  # OpenCode skips what it cannot write
        finally:
            d.chmod(0o700)


def test_a_file_of_that_name_that_is_not_aitops_stays(tmp_path: Path) -> None:
    plugin_file(tmp_path).parent.mkdir(parents=True)
    plugin_file(tmp_path).write_text("export const Mine = async () => ({})\n")
    before = tree(config(tmp_path))
    run = cli(WRITE, tmp_path)
    assert run.code == 2
    assert run.err.startswith("aitop: error: ") and "is not aitop's plugin" in run.err
    assert "nothing was written" in run.err
    assert tree(config(tmp_path)) == before
    gone = cli([*WRITE, "--uninstall"], tmp_path)
    assert gone.code == 0 and "left alone" in gone.err
    assert tree(config(tmp_path)) == before
    check = cli(["--agent", "opencode", "--check"], tmp_path)
    assert check.code == 1 and "is not aitop's plugin" in check.out


def test_an_older_aitop_plugin_is_replaced(tmp_path: Path) -> None:
    plugin_file(tmp_path).parent.mkdir(parents=True)
    plugin_file(tmp_path).write_bytes(install.MARKER + b" (an older one)\n")
    check = cli(["--agent", "opencode", "--check"], tmp_path)
    assert "another version's" in check.out
    run = cli(WRITE, tmp_path)
    assert run.code == 0 and "updated aitop's plugin" in run.err
    assert plugin_file(tmp_path).read_bytes() == install.plugin_source(None)


def test_dry_run_prints_and_writes_nothing(tmp_path: Path) -> None:
    run = cli(["--agent", "opencode"], tmp_path)
    assert run.code == 0
    assert run.out == install.plugin_source(None).decode()
    assert "would write" in run.err and "would create" in run.err
    assert not config(tmp_path).exists()


def test_uninstall_gives_back_what_was(tmp_path: Path) -> None:
    config(tmp_path).mkdir(parents=True)
    (config(tmp_path) / "opencode.json").write_text('{"model": "x"}\n')
    before = tree(config(tmp_path))
    assert cli(WRITE, tmp_path).code == 0
    dry = cli(["--agent", "opencode", "--uninstall"], tmp_path)
    assert "would remove" in dry.err and plugin_file(tmp_path).exists()
    run = cli([*WRITE, "--uninstall"], tmp_path)
    assert run.code == 0 and "removed aitop's plugin" in run.err
    assert tree(config(tmp_path)) == before
    nothing = cli([*WRITE, "--uninstall"], tmp_path)
    assert "nothing to remove" in nothing.err


def test_uninstall_keeps_seeds_npm_has_since_used(tmp_path: Path) -> None:
    cli(WRITE, tmp_path)
    (config(tmp_path) / "node_modules" / "installed-later").mkdir()
    cli([*WRITE, "--uninstall"], tmp_path)
    assert not plugin_file(tmp_path).exists()
    assert (config(tmp_path) / "package.json").exists()  # npm's now: left whole


def test_events_and_conflicting_options(tmp_path: Path) -> None:
    run = cli([*WRITE, "--events", "Stop"], tmp_path)
    assert run.code == 2 and "--events is for Claude Code" in run.err
    run = cli(["--agent", "opencode", "--check", "--uninstall"], tmp_path)
    assert run.code == 2
    run = cli(["--agent", "nope"], tmp_path)
    assert run.code == 2 and "invalid choice" in run.err
    (tmp_path / "file").write_text("")
    run = cli([*WRITE, "--settings", str(tmp_path / "file")], tmp_path)
    assert run.code == 2 and "is not a directory" in run.err


def test_check(tmp_path: Path) -> None:
    missing = cli(["--agent", "opencode", "--check"], tmp_path)
    assert missing.code == 1
    assert "problem: aitop's plugin is not in ~/.config/opencode/plugin/aitop.js" in missing.out
    sock_dir = tmp_path / "run"
    sock_dir.mkdir(mode=0o700)
    path = sock_dir / "aitop.sock"
    cli([*WRITE, "--socket", str(path)], tmp_path)
    down = cli(["--agent", "opencode", "--check"], tmp_path)
    assert down.code == 1 and "no monitor listening" in down.out
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    try:
        up = cli(["--agent", "opencode", "--check"], tmp_path)
        assert up.code == 0, up.out
        assert up.out.splitlines() == [
            "ok: aitop's plugin is in ~/.config/opencode/plugin/aitop.js",
            "ok: OpenCode loads plugins without running npm first",
            "ok: a monitor is listening on ~/run/aitop.sock",
        ]
        other = cli(["--agent", "opencode", "--check", "--socket", "/elsewhere.sock"], tmp_path)
        assert other.code == 1 and "the plugin sends to" in other.out
    finally:
        listener.close()


def test_a_plain_check_covers_opencode_when_it_is_here(tmp_path: Path) -> None:
    """OpenCode is here when its data directory is (where its store is)."""
    (tmp_path / ".claude").mkdir()
    absent = cli(["--check"], tmp_path)
    assert "OpenCode" not in absent.out
    (tmp_path / ".local" / "share" / "opencode").mkdir(parents=True)
    present = cli(["--check"], tmp_path)
    assert present.code == 1
    lines = present.out.splitlines()
    at = lines.index("OpenCode:")
    assert lines[at + 1] == (
        "problem: aitop's plugin is not in ~/.config/opencode/plugin/aitop.js;"
        " run: aitop install --agent opencode --write"
    )


_names = st.sampled_from(["package.json", "package-lock.json", "node_modules", "plugin", "other"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    existing=st.dictionaries(_names, st.one_of(st.none(), st.binary(max_size=64)), max_size=5),
    plugin_there=st.sampled_from(["none", "ours", "theirs"]),
)
def test_install_then_uninstall_never_loses_a_byte(
    tmp_path_factory: pytest.TempPathFactory,
    existing: dict[str, bytes | None],
    plugin_there: str,
) -> None:
    """Whatever the config directory holds (files, directories, any bytes), install changes
    none of it but aitop's own plugin, and uninstall then gives back exactly what was
    there (an older aitop plugin goes: it is aitop's)."""
    home = tmp_path_factory.mktemp("home")
    directory = config(home)
    directory.mkdir(parents=True)
    for name, data in existing.items():
        if data is None:
            (directory / name).mkdir()
        else:
            (directory / name).write_bytes(data)
    plugin_dir = directory / "plugin"
    if plugin_there != "none" and not plugin_dir.is_file():
        plugin_dir.mkdir(exist_ok=True)
        body = install.MARKER + b" old\n" if plugin_there == "ours" else b"// someone's\n"
        (plugin_dir / "aitop.js").write_bytes(body)
    before = tree(directory)
    run = cli(WRITE, home)
    if plugin_dir.is_file() or plugin_there == "theirs":  # nothing can go there
        assert run.code != 0 and tree(directory) == before
        return
    assert run.code == 0, run.err
    after = tree(directory)
    for name, data in before.items():
        if name != "plugin/aitop.js":  # an older aitop plugin is replaced
            assert after[name] == data, name
    assert cli([*WRITE, "--uninstall"], home).code == 0
    restored = tree(directory)
    before.pop("plugin/aitop.js", None)
    if before.get("plugin", b"") is None and not any(k.startswith("plugin/") for k in before):
        before.pop("plugin")  # an empty plugin directory goes with aitop's plugin
    assert restored == before
