"""The wheel ships the hand-written `aitop` script (not pip's console-script wrapper,
which imports `re` first), and the three ways users install it all give a working
command: pip, `pipx install .` and `uv tool install .`."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("aitop-*.whl")
    return found


def test_wheel_has_the_hand_written_script_and_no_entry_points(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        script = next(n for n in names if n.endswith(".data/scripts/aitop"))
        body = archive.read(script).decode()
        mode = archive.getinfo(script).external_attr >> 16
        assert not any(n.endswith("entry_points.txt") for n in names)
        assert "aitop/pricing.toml" in names and "aitop/py.typed" in names
    assert body.startswith("#!python\n")  # rewritten to the interpreter by the installer
    assert mode & stat.S_IXUSR
    assert body.index('sys.argv[1:2] == ["hook"]') < body.index("aitop.cli")


def test_wheel_ships_the_opencode_plugin(wheel: Path) -> None:
    """`aitop install --agent opencode` copies it from the installed package."""
    plugin = ROOT / "aitop" / "providers" / "opencode" / "aitop.js"
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("aitop/providers/opencode/aitop.js") == plugin.read_bytes()


SHARED_DATA = {
    "man/aitop.1": "share/man/man1/aitop.1",
    "completions/aitop.bash": "share/bash-completion/completions/aitop",
    "completions/_aitop": "share/zsh/site-functions/_aitop",
    "completions/aitop.fish": "share/fish/vendor_completions.d/aitop.fish",
}


def test_wheel_ships_the_man_page_and_the_completions(wheel: Path) -> None:
    """As wheel data, so pip puts them under the prefix where man and the shells look."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for source, target in SHARED_DATA.items():
            (found,) = [n for n in names if n.endswith(".data/data/" + target)]
            assert archive.read(found) == (ROOT / source).read_bytes(), target


def _environ(tmp: Path) -> dict[str, str]:
    return os.environ | {
        "HOME": str(tmp),
        "PIPX_HOME": str(tmp / "pipx"),
        "PIPX_BIN_DIR": str(tmp / "bin"),
        "UV_TOOL_DIR": str(tmp / "uv-tools"),
        "UV_TOOL_BIN_DIR": str(tmp / "bin"),
        "UV_CACHE_DIR": str(tmp / "uv-cache"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def _works(command: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(command), "version"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout) == (0, "aitop 0.1.0\n"), result.stderr
    hook = subprocess.run(
        [str(command), "hook"], input=b"{}", env=env, capture_output=True, timeout=60, check=False
    )
    assert (hook.returncode, hook.stdout, hook.stderr) == (0, b"", b"")
    first = Path(os.path.realpath(command)).read_text().splitlines()[0]
    assert first.startswith("#!/") and "python" in first  # the installer's interpreter


def test_pip_install_into_a_fresh_venv(tmp_path: Path, wheel: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    _works(venv / "bin" / "aitop", _environ(tmp_path))
    for source, target in SHARED_DATA.items():
        assert (venv / target).read_bytes() == (ROOT / source).read_bytes(), target


@pytest.mark.parametrize("tool", ["pipx", "uv"])
def test_tool_installers(tmp_path: Path, tool: str) -> None:
    runner = shutil.which(tool, path=str(Path(sys.executable).parent)) or shutil.which(tool)
    if runner is None:
        pytest.skip(f"{tool} is not installed")
    env = _environ(tmp_path)
    args = (
        [runner, "install", str(ROOT)] if tool == "pipx" else [runner, "tool", "install", str(ROOT)]
    )
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    _works(tmp_path / "bin" / "aitop", env)
