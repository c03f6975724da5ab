"""`aitop install --check`, the parts every agent shares: the finding lines, whether the
hooks' programs exist, which monitor socket they reach, and the probe of that socket.

Each agent's install module says what is right and wrong in its own file (`inspect`); the
command prints each agent's findings, then probes the socket its hooks reach.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from aitop import paths
from aitop.errors import AitopError
from aitop.providers.install.command import executable, hook_socket, is_executable_file

PROBE_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "warning" (all is well, but worth knowing) or "problem"
    text: str

    def line(self) -> str:
        return f"{self.level}: {self.text}"


@dataclass(frozen=True)
class Inspection:
    """What `--check` found in one agent's file, and the socket its hooks reach."""

    findings: list[Finding]
    socket: str


def tilde(path: str, environ: Mapping[str, str]) -> str:
    """`path` with the home directory shown as `~`."""
    home = paths.home(environ).rstrip(os.sep)
    if home and path.startswith(home + os.sep):
        return "~" + path[len(home) :]
    return path


def unreadable_finding(error: AitopError) -> Finding:
    """A file aitop cannot read, as a `--check` problem rather than an error."""
    return Finding(
        "problem", f"{error.what}; fix it by hand (aitop never rewrites a file it cannot read)"
    )


def program_findings(
    commands: Iterable[str],
    program_exists: Callable[[str], bool],
    find_on_path: Callable[[str], str | None],
    agent: str,
    advice: str,
) -> list[Finding]:
    """Whether the program each aitop hook command starts is there, and found without
    depending on the `agent`'s PATH. `advice` is what to run to fix it."""
    findings: list[Finding] = []
    programs = dict.fromkeys(executable(command) or "" for command in commands)
    programs.pop("", None)  # cannot happen: every command given names aitop
    for program in programs:
        if not os.path.isabs(program):
            on_path = find_on_path(program)
            if on_path is None:
                findings.append(
                    Finding(
                        "problem", f"hooks run `{program}` by name and it is not on PATH; {advice}"
                    )
                )
            else:
                findings.append(
                    Finding(
                        "warning",
                        f"hooks run `{program}` by name (here {on_path}), which depends on "
                        f"{agent}'s PATH; {advice} to use an absolute path",
                    )
                )
        elif program_exists(program):
            findings.append(Finding("ok", f"hooks run {program}"))
        else:
            findings.append(
                Finding("problem", f"hooks point at {program}, which does not exist; {advice}")
            )
    return findings


def programs_here(
    commands: Iterable[str], environ: Mapping[str, str], agent: str, advice: str
) -> list[Finding]:
    """`program_findings` about this machine: its files, and the PATH in `environ`."""
    search_path = environ.get("PATH", os.defpath)
    return program_findings(
        commands,
        is_executable_file,
        lambda name: shutil.which(name, path=search_path),
        agent,
        advice,
    )


def socket_to_probe(
    commands: Sequence[str],
    given: str | None,
    environ: Mapping[str, str],
    agent: str,
    advice: str,
    install: str,
) -> tuple[str, list[Finding]]:
    """Which monitor the hooks reach, so that is the one to probe: the `--socket` given
    to --check, else the one the hooks name (`aitop install --socket` wrote it into
    them), else where a hook without one sends ($AITOP_SOCKET, else the default).

    `advice` fixes anything ("run: aitop install --write"); `install` is the command that
    installs with a socket ("aitop install --write").
    """
    default = paths.socket_path(environ)
    named = {hook_socket(command) for command in commands}
    explicit = sorted({os.path.abspath(s) for s in named if s is not None})
    if given is not None:
        target = os.path.abspath(given)
        other = [s for s in explicit if s != target]
        if other:
            return target, [
                Finding(
                    "problem",
                    f"the hooks send to {other[0]}, not to {target}; run: {install}"
                    f" --socket {shlex.quote(target)}",
                )
            ]
        if None in named and os.path.abspath(default) != target:
            return target, [
                Finding(
                    "warning",
                    f"the hooks name no socket: they reach {target} only if {agent} runs"
                    f" with AITOP_SOCKET={target}; to be sure, run: {install}"
                    f" --socket {shlex.quote(target)}",
                )
            ]
        return target, []
    if len(explicit) > 1 or (explicit and None in named):
        sent = ", ".join(explicit + (["the default"] if None in named else []))
        return default, [
            Finding("problem", f"the hooks send to different sockets ({sent}); {advice}")
        ]
    return (explicit[0] if explicit else default), []


def probe_monitor(socket_path: str) -> str | None:
    """None if a monitor accepts connections on `socket_path`, else why not.

    Connects and closes at once without sending: the monitor counts a zero-byte
    connection as a probe, not as a malformed frame.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(PROBE_TIMEOUT_S)
        sock.connect(socket_path)
    except FileNotFoundError:
        return "no monitor listening"
    except ConnectionRefusedError:
        return "no monitor listening (a stale socket)"
    except TimeoutError:
        return f"the monitor did not answer within {PROBE_TIMEOUT_S} s"
    except OSError as error:
        return f"cannot connect: {error.strerror or error}"
    finally:
        sock.close()
    return None


def monitor_finding(socket_path: str, environ: Mapping[str, str]) -> Finding:
    """The probe of the monitor's socket, as a finding."""
    why_not = probe_monitor(socket_path)
    shown = tilde(socket_path, environ)
    if why_not is None:
        return Finding("ok", f"a monitor is listening on {shown}")
    return Finding("problem", f"{why_not} on {shown}; start aitop in another terminal")
