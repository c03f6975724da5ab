"""`aitop hook`: forward one hook payload from stdin to the monitor's socket.

Claude Code runs this for every hook event, on its critical path, and feeds a hook's
stdout to the model for some events and treats exit status 2 as "block the tool". So
this module imports only what it needs from the standard library (`_socket` rather
than `socket`, which would pull in `enum` and `selectors`), never writes to stdout or
stderr, and always exits 0, whatever happens: no monitor, a stale or hung socket,
permission denied, empty or closed stdin.

A frame is the raw payload, preceded by one envelope line when there is something
only this process knows:  AITOP/1 {"agent":"claude-code","pid":931,"tag":"work"}
"""

import _socket
import os
import sys
import time

from aitop import paths

MAX_PAYLOAD = 1 << 20  # the monitor counts anything longer as oversize
TIMEOUT_S = 0.5  # connect + send, in total
ENVELOPE_PREFIX = b"AITOP/1 "
MAX_TAG = 64
_DRAIN_LIMIT = 64 << 20  # stop reading an endless stdin eventually
DEFAULT_AGENT = "claude-code"


def main(argv: list[str] | None = None) -> int:
    try:
        _forward(sys.argv[2:] if argv is None else argv, os.environ)
    except BaseException:  # silent and exit 0 whatever happens, even on Ctrl-C
        _debug("hook failed", os.environ)
    return 0


def _forward(argv: list[str], environ: "os._Environ[str]") -> None:
    socket_override, agent = _parse_args(argv)
    payload = _read_stdin()
    if not payload:
        return
    try:
        _send(paths.socket_path(environ, socket_override), _envelope(agent, environ) + payload)
        _debug(f"forwarded {len(payload)} bytes", environ)
    finally:
        if len(payload) > MAX_PAYLOAD:
            _drain_stdin()


def _send(path: str, frame: bytes) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    sock = _connect(path, deadline)
    try:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        sock.sendall(frame)
        sock.shutdown(_socket.SHUT_WR)
    finally:
        sock.close()


def _connect(path: str, deadline: float) -> "_socket.socket":
    """Connected by the deadline, or raise. A Unix socket whose listen queue is full (the
    monitor busy for a moment with a burst) refuses at once with EAGAIN rather than
    waiting: try again until the deadline, or the frame would be lost at the first one."""
    pause = 0.001
    while True:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            sock.connect(path)
            return sock
        except BlockingIOError:
            sock.close()
            if time.monotonic() + pause >= deadline:
                raise
            time.sleep(pause)
            pause = min(0.02, pause * 2)
        except BaseException:
            sock.close()
            raise


def _parse_args(argv: list[str]) -> tuple[str | None, str]:
    socket_override: str | None = None
    agent = DEFAULT_AGENT
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--socket", "--agent") and i + 1 < len(argv):
            if arg == "--socket":
                socket_override = argv[i + 1]
            else:
                agent = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--socket="):
            socket_override = arg.partition("=")[2]
        elif arg.startswith("--agent="):
            agent = arg.partition("=")[2]
        i += 1
    return socket_override, agent


def _read_stdin() -> bytes:
    """At most MAX_PAYLOAD + 1 bytes: one byte more tells the monitor it was cut."""
    try:
        if os.isatty(0):
            return b""
    except OSError:
        return b""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_PAYLOAD:
        try:
            chunk = os.read(0, MAX_PAYLOAD + 1 - size)
        except InterruptedError:
            continue
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _drain_stdin() -> None:
    """Read what is left so the writer never sees a broken pipe."""
    drained = 0
    while drained < _DRAIN_LIMIT:
        try:
            chunk = os.read(0, 1 << 16)
        except OSError:
            return
        if not chunk:
            return
        drained += len(chunk)


def _envelope(agent: str, environ: "os._Environ[str]") -> bytes:
    """The envelope line. Whatever the environment holds, it must decode: a bad envelope
    would cost the hook event it comes with, so what cannot be said cleanly is mended
    (a tag that is not UTF-8) or left out (a pid that is not a plain positive number)."""
    fields = ['"agent":' + _json_string(agent[:MAX_TAG])]
    pid = environ.get("CLAUDE_PID", "")
    # ASCII digits only: str.isdigit() also takes "²" and "１", which JSON does not; and
    # short, before int(): past 4,300 digits it raises
    if pid.isascii() and pid.isdigit() and len(pid) <= 10 and 0 < int(pid) < 2**31:
        fields.append('"pid":' + str(int(pid)))  # no leading zeros either
    tag = environ.get("AITOP_TAG")
    if tag:
        fields.append('"tag":' + _json_string(tag[:MAX_TAG]))
    return ENVELOPE_PREFIX + ("{" + ",".join(fields) + "}\n").encode("utf-8", "replace")


def _json_string(value: str) -> str:
    """A JSON string literal without importing `json` (which imports `re`)."""
    out = ['"']
    for ch in value:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        elif "\ud800" <= ch <= "\udfff":
            # a byte that was not UTF-8 (os.environ decodes it to a lone surrogate):
            # JSON has no way to say it, so it becomes U+FFFD like any bad byte
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _debug(message: str, environ: "os._Environ[str]") -> None:
    """With AITOP_LOG_LEVEL=debug only: one line appended to ~/.aitop/aitop.log."""
    try:
        if environ.get("AITOP_LOG_LEVEL", "").lower() != "debug":
            return
        exc = sys.exc_info()[1]
        detail = "" if exc is None else f": {exc!r}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        line = f"{stamp} DEBUG aitop.hook pid={os.getpid()} {message}{detail}\n"
        fd = os.open(paths.log_path(environ), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except BaseException:
        pass
