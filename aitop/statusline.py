"""`aitop statusline`: Claude Code's status line command.

Claude Code runs its `statusLine` command after each change (a response, a tool, a model
switch; debounced ~300 ms), with one JSON object on stdin, and shows what it prints under
the input box. That JSON is the only place the plan limits of a Claude.ai login
(`rate_limits.five_hour` / `seven_day`) can be read without the user's credentials, so:

1. the JSON goes to the monitor as a frame (envelope `kind: "statusline"`), best effort
   and quickly: no monitor, a stale or hung socket cost at most `SEND_TIMEOUT_S`;
2. one status line is printed: the output of the user's own status line command, when
   `aitop install --statusline` kept one (`aitop statusline -- CMD`: run with the same
   stdin, its stdout passed through as it is), else aitop's own line, made from the JSON
   alone (model, context %, the session's cost, 5h % with its reset, 7d %), which needs
   no monitor.

Like `aitop hook` it starts before anything else is imported (standard library only, no
`json`: it imports `re`, which costs more than everything else here), never writes to
stderr and always exits 0, whatever the input: a broken status line would show in every
Claude Code session.
"""

import os
import sys
import time

from aitop import hook, paths

STATUSLINE = "statusline"  # the envelope's kind (aitop.wire.STATUSLINE)
SEND_TIMEOUT_S = 0.25  # the line must not wait on a monitor
CHAIN_TIMEOUT_S = 10.0  # the user's own command: as long as it takes, within reason
CHAIN_OUTPUT_MAX = 64 << 10
FALLBACK = "aitop"  # what to show when the input says nothing usable
WARN_PCT = 80.0  # the screen's levels: orange from 80 %, red from 95 %
BAD_PCT = 95.0
SEP = " · "


def main(argv: list[str] | None = None) -> int:
    environ = os.environ
    try:
        args = sys.argv[2:] if argv is None else argv
        if _wants_help(args):
            from aitop.cli import main as cli_main

            return cli_main(["statusline", "--help"])
        _run(args, environ)
    except BaseException:  # silent and exit 0 whatever happens, even on Ctrl-C
        hook._debug("status line failed", environ, "aitop.statusline")
    return 0


def _wants_help(args: list[str]) -> bool:
    for arg in args:
        if arg == "--":
            return False
        if arg in ("-h", "--help"):
            return True
    return False


def _run(args: list[str], environ: "os._Environ[str]") -> None:
    socket_override, command = _parse_args(args)
    payload = hook._read_stdin()
    if len(payload) > hook.MAX_PAYLOAD:
        hook._drain_stdin()
        payload = b""  # not a status line's input; the monitor would refuse it whole
    if payload:
        try:
            frame = hook._envelope(hook.DEFAULT_AGENT, environ, STATUSLINE) + payload
            hook._send(paths.socket_path(environ, socket_override), frame, SEND_TIMEOUT_S)
        except Exception:
            hook._debug("not forwarded", environ, "aitop.statusline")
    output = b""
    if command:
        try:
            output = run_chained(command, payload, environ, CHAIN_TIMEOUT_S)
        except Exception:
            hook._debug("the chained command failed", environ, "aitop.statusline")
    if not output.strip():
        try:
            line = own_line(payload, time.time(), not environ.get("NO_COLOR"))
        except Exception:  # a bug here must not cost the user their status line
            hook._debug("own line failed", environ, "aitop.statusline")
            line = FALLBACK
        output = (line + "\n").encode("utf-8", "replace")
    _write(output)


def _parse_args(args: list[str]) -> tuple[str | None, str]:
    """`[--socket PATH] [-- CMD...]`; anything else is ignored (the line never fails)."""
    socket_override: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return socket_override, " ".join(args[i + 1 :])
        if arg == "--socket" and i + 1 < len(args):
            socket_override = args[i + 1]
            i += 2
            continue
        if arg.startswith("--socket="):
            socket_override = arg.partition("=")[2]
        i += 1
    return socket_override, ""


def _write(data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(1, view)
        except InterruptedError:
            continue
        except OSError:
            return  # nobody reads it any more
        view = view[written:]


# --- the user's own status line command --------------------------------------------------


def run_chained(command: str, payload: bytes, environ: "os._Environ[str]", timeout: float) -> bytes:
    """Run `command` as Claude Code would have (`sh -c`, the same stdin and environment;
    its stderr dropped, as Claude Code drops it), and return what it printed. Without
    `subprocess`, whose imports would cost the line more than the rest of it."""
    import select  # only when there is a command to run

    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        pid = os.posix_spawn(
            "/bin/sh",
            ["sh", "-c", command],
            environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin_r, 0),
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, devnull, 2),
            ],
            setpgroup=0,  # its own group, so that a command that hangs goes whole
        )
    except BaseException:
        for fd in (stdin_r, stdin_w, out_r, out_w, devnull):
            os.close(fd)
        raise
    for fd in (stdin_r, out_w, devnull):
        os.close(fd)
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    pending = memoryview(payload)
    os.set_blocking(stdin_w, False)
    writing: int | None = stdin_w
    if not pending:
        os.close(stdin_w)
        writing = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            wanted_w = [writing] if writing is not None else []
            readable, writable, _ = select.select([out_r], wanted_w, [], left)
            if writable and writing is not None:
                try:
                    pending = pending[os.write(writing, pending[:65536]) :]
                except BlockingIOError:
                    pass
                except OSError:  # it does not read its stdin: fine
                    pending = pending[:0]
                if not pending:
                    os.close(writing)
                    writing = None
            if readable:
                chunk = os.read(out_r, 65536)
                if not chunk:
                    break
                if size < CHAIN_OUTPUT_MAX:
                    chunks.append(chunk)
                    size += len(chunk)
        _reap(pid, deadline)
    except BaseException:
        _kill(pid)
        raise
    finally:
        if writing is not None:
            os.close(writing)
        os.close(out_r)
    return b"".join(chunks)[:CHAIN_OUTPUT_MAX]


def _reap(pid: int, deadline: float) -> None:
    """Wait for it to exit (its output has ended, so it is about to)."""
    while True:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError
        time.sleep(0.001)


def _kill(pid: int) -> None:
    # not contextlib.suppress: the line does not import what it can do without
    try:  # noqa: SIM105
        os.killpg(pid, 9)
    except OSError:
        pass
    try:  # noqa: SIM105
        os.waitpid(pid, 0)
    except OSError:
        pass


# --- aitop's own line ---------------------------------------------------------------------


def own_line(payload: bytes, now: float, color: bool = True) -> str:
    """`Sonnet 5.5 · ctx 26% · $0.11 at API prices · 5h 15% ↻ 1h26m · 7d 34.6%` from the
    status line's input alone; `aitop` for an input that says nothing usable."""
    data = parse_json(payload)
    if not isinstance(data, dict):
        return FALLBACK
    parts: list[str] = []
    model = _get(data, "model")
    if isinstance(model, dict):
        name = model.get("display_name") or model.get("id")
        if isinstance(name, str) and name:
            parts.append(_printable(name)[:40])
    used = _number(_get(_get(data, "context_window"), "used_percentage"))
    if used is not None:
        parts.append(f"ctx {used:.0f}%")
    limits = _get(data, "rate_limits")
    windows = [
        (label, _get(limits, key)) for label, key in (("5h", "five_hour"), ("7d", "seven_day"))
    ]
    cost = _number(_get(_get(data, "cost"), "total_cost_usd"))
    if cost is not None and cost >= 0:
        # a Claude.ai login (the one with limits) is not billed per token: say so
        note = " at API prices" if any(isinstance(w, dict) for _, w in windows) else ""
        parts.append(_usd(cost) + note)
    for label, window in windows:
        if not isinstance(window, dict):
            continue
        pct = _number(window.get("used_percentage"))
        if pct is None:
            continue
        text = f"{label} {_pct(pct)}"
        if color and pct >= WARN_PCT:
            code = "31" if pct >= BAD_PCT else "33"
            text = f"\x1b[{code}m{text}\x1b[0m"
        resets = _number(window.get("resets_at"))
        if label == "5h" and resets is not None and now < resets < now + 366 * 86_400:
            text += f" ↻ {_span(resets - now)}"
        parts.append(text)
    return SEP.join(parts) if parts else FALLBACK


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None


def _number(value: object) -> float | None:
    """A finite JSON number (not a boolean, NaN or infinity), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value - value == 0:
        return float(value)
    return None


def _usd(value: float) -> str:
    if value < 0.01:
        return f"${value:.4f}" if value else "$0"
    if value < 1000:
        return f"${value:,.2f}"
    return f"${value:,.0f}"


def _pct(value: float) -> str:
    text = f"{value:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def _span(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86_400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86_400}d {seconds % 86_400 // 3600}h"


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)


# --- JSON without `json` -------------------------------------------------------------------


class _Context:
    """What CPython's C scanner (`_json.make_scanner`) reads from `json.JSONDecoder`."""

    strict = False
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity


def parse_json(payload: bytes) -> object:
    """The document, or None when it is not JSON. `json` imports `re` (and `enum`...), a
    few milliseconds the line would pay on every call; the C scanner under it does not."""
    try:
        text = payload.decode("utf-8", "replace").strip()
        if not text:
            return None
        try:
            from _json import make_scanner
        except ImportError:  # not CPython: the slow way
            import json

            return json.loads(text)
        # typeshed's stub wants a JSONDecoder; the scanner reads only these attributes
        value, end = make_scanner(_Context())(text, 0)  # type: ignore[arg-type]
        return value if end == len(text) else None
    except Exception:  # StopIteration, JSONDecodeError, RecursionError...
        return None
