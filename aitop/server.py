"""The socket: bind it safely, accept hook connections, deliver whole frames.

Every process of the user can reach this socket, so it is defended on each step:
a private directory (0700, ours), the socket 0600 from the first instant (bound
under a restrictive umask), one live instance (an exclusive lock, and a live socket
is never deleted), the peer's uid checked on every connection, and per connection a
size cap, a deadline, a bound on how many may be open and one budget for the bytes
they hold together, so slow or idle clients can neither starve real hooks nor grow
the monitor's memory. A frame ends when the client half-closes; a connection whose
first bytes are the watch request, and then wait, becomes a viewer (aitop/viewers.py).
"""

from __future__ import annotations

import _socket
import contextlib
import errno
import fcntl
import os
import selectors
import shlex
import socket
import stat
from collections import OrderedDict
from collections.abc import Callable

from aitop.errors import AitopError
from aitop.peercred import peer_uid
from aitop.viewers import Viewers
from aitop.watch import WATCH_REQUEST
from aitop.wire import MAX_FRAME

DEADLINE_S = 2.0
MAX_CONNECTIONS = 1024
# All unfinished frames together. Per connection the cap is one frame (1 MiB), but
# 1,024 idle connections each holding almost a frame would be 1 GiB: over this budget
# the oldest connections holding bytes are dropped. A real hook's frame is read as it
# arrives, so only clients that stall with a frame half-sent ever get near it.
MAX_BUFFERED = 64 << 20
ACCEPTS_PER_WAKE = 256  # then let the loop serve the clients already connected
RECV_SIZE = 1 << 16
BACKLOG = 4096  # the kernel caps it at net.core.somaxconn


class Counters:
    """What the server refused, by reason. Shared with the frame handler."""

    __slots__ = (
        "frames",
        "ignored_events",
        "internal_errors",
        "probes",
        "rejected_malformed",
        "rejected_overload",
        "rejected_oversize",
        "rejected_peer",
        "rejected_timeout",
    )

    def __init__(self) -> None:
        self.frames = 0
        self.ignored_events = 0
        self.internal_errors = 0  # events a bug in aitop could not count (see the log)
        self.probes = 0
        self.rejected_peer = 0
        self.rejected_malformed = 0
        self.rejected_oversize = 0
        self.rejected_timeout = 0
        self.rejected_overload = 0


class AlreadyRunning(AitopError):
    """Another monitor holds this socket's lock."""


class _Connection:
    __slots__ = ("buffer", "deadline", "sock")

    def __init__(self, sock: _socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = bytearray()


_DONE, _WAITING, _WATCHING = object(), object(), object()  # what _read found

STATE_DIR_NAME = ".aitop"  # aitop's own directory: only aitop's files are in it


def private_dir_advice(directory: str, socket_name: str) -> str:
    """Advice that is safe to follow whatever the directory is: a new private directory
    for the socket. Changing the mode of a shared one (`chmod 700 /tmp`) would break
    everything else that uses it."""
    own = os.path.join(directory, "aitop")
    return (
        f"put the socket in a private directory of its own: mkdir -m 700 {shlex.quote(own)}"
        f" && aitop --socket {shlex.quote(os.path.join(own, socket_name))}"
    )


def check_private_dir(directory: str, uid: int, socket_name: str = "aitop.sock") -> None:
    """Refuse a socket directory that someone else owns or can enter."""
    try:
        info = os.stat(directory)
    except OSError as exc:
        raise AitopError(f"cannot use {directory}: {exc.strerror}", "check the path") from None
    if not stat.S_ISDIR(info.st_mode):
        raise AitopError(
            f"{directory} is not a directory", "choose another --socket, in a directory"
        )
    if info.st_uid != uid:
        raise AitopError(
            f"{directory} belongs to uid {info.st_uid}, not to you (uid {uid})",
            private_dir_advice(directory, socket_name),
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        # only aitop's own directory is safe to close: anything else may be shared
        todo = (
            f"run: chmod 700 {shlex.quote(directory)}"
            if os.path.basename(directory.rstrip(os.sep)) == STATE_DIR_NAME
            else private_dir_advice(directory, socket_name)
        )
        raise AitopError(f"{directory} is open to other users (mode {mode:04o})", todo)


def make_private_dir(directory: str) -> None:
    if not os.path.lexists(directory):
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise AitopError(
                f"cannot create {directory}: {exc.strerror}", "check its parent directory"
            ) from None


class Server:
    """Accepts connections on a Unix socket and hands each complete frame to `on_frame`.

    It registers itself with the caller's selector; the caller's loop calls
    `key.data(mask)` for ready keys and `expire()` at least every second.
    """

    def __init__(
        self,
        path: str,
        on_frame: Callable[[bytes], None],
        *,
        clock: Callable[[], float],
        counters: Counters | None = None,
        uid: int | None = None,
        peer: Callable[[_socket.socket], int | None] = peer_uid,
        max_connections: int = MAX_CONNECTIONS,
        deadline_s: float = DEADLINE_S,
        max_frame: int = MAX_FRAME,
        max_buffered: int = MAX_BUFFERED,
    ) -> None:
        self.path = path
        self.on_frame = on_frame
        self.clock = clock
        self.counters = counters or Counters()
        self.uid = os.geteuid() if uid is None else uid
        self.peer = peer
        self.max_connections = max_connections
        self.deadline_s = deadline_s
        self.max_frame = max_frame
        self.max_buffered = max_buffered
        self._buffered = 0  # bytes held by unfinished frames, all connections together
        self._listener: socket.socket | None = None
        self._lock_fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._selector: selectors.BaseSelector | None = None
        self._open: OrderedDict[int, _Connection] = OrderedDict()  # oldest first
        self.viewers: Viewers | None = None  # see `watch`

    # --- lifetime -----------------------------------------------------------------

    def watch(self, viewers: Viewers) -> None:
        """Accept viewers: connections that ask to watch are handed to `viewers`."""
        self.viewers = viewers

    def open(self, selector: selectors.BaseSelector) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        make_private_dir(directory)
        check_private_dir(directory, self.uid, os.path.basename(self.path))
        self._lock()
        self._clear_stale()
        self._selector = selector
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # 0600 from the first instant: no window to connect
        try:
            listener.bind(self.path)
        except OSError as exc:
            listener.close()
            raise AitopError(
                f"cannot listen on {self.path}: {exc.strerror or exc}",
                "choose another path with --socket (at most 107 bytes)",
            ) from None
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        info = os.stat(self.path)
        self._identity = (info.st_dev, info.st_ino)
        listener.listen(BACKLOG)
        listener.setblocking(False)
        self._listener = listener
        assert self._selector is not None
        self._selector.register(listener, selectors.EVENT_READ, self._on_listener)

    def recover(self) -> bool:
        """Listen again if the socket file was deleted under us (a clean-up script, an
        `rm -r ~/.aitop`): hooks would otherwise find nothing until a restart. A path
        that holds something else now is left alone. True when it listens anew."""
        if self._listener is None or os.path.lexists(self.path):
            return False
        try:
            directory = os.path.dirname(os.path.abspath(self.path))
            make_private_dir(directory)
            check_private_dir(directory, self.uid)
            if not os.path.lexists(self.path + ".lock"):  # gone too: take it again
                if self._lock_fd is not None:
                    os.close(self._lock_fd)
                    self._lock_fd = None
                self._lock()
            old = self._listener
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(old)  # type: ignore[union-attr]
            old.close()
            self._listener = None
            self._listen()
        except (AitopError, OSError):
            return False
        return True

    def _lock(self) -> None:
        """One monitor per socket: an exclusive lock held for the whole run."""
        lock_path = self.path + ".lock"
        old_umask = os.umask(0o177)
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise AitopError(
                f"cannot open {lock_path}: {exc.strerror}", "check the directory"
            ) from None
        finally:
            os.umask(old_umask)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise AlreadyRunning(
                f"another aitop is already running on {self.path}",
                "leave out --standalone to attach to it, or give this one its own --socket",
            ) from None
        self._lock_fd = fd

    def _clear_stale(self) -> None:
        """A dead socket left by a killed monitor is replaced; a live one never is."""
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(info.st_mode):
            raise AitopError(
                f"{self.path} exists and is not a socket",
                "choose another --socket (aitop never replaces a file that is not a socket)",
            )
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            probe.connect(self.path)
        except (BlockingIOError, TimeoutError):
            # a full queue: something listens there and does not accept; alive, hung
            raise AitopError(
                f"something is already listening on {self.path}, but not answering",
                "stop that program, or start this one with its own --socket",
            ) from None
        except OSError as exc:
            if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
                raise AitopError(
                    f"cannot tell whether {self.path} is in use: {exc.strerror or exc}",
                    "choose another --socket",
                ) from None
        else:
            raise AitopError(
                f"something is already listening on {self.path}",
                "use that aitop, or start this one with its own --socket",
            )
        finally:
            probe.close()
        os.unlink(self.path)

    def close(self, why: str = "the monitor stopped") -> None:
        for conn in list(self._open.values()):
            self._drop(conn)
        if self.viewers is not None:
            self.viewers.close(why)
        if self._listener is not None:
            if self._selector is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
            self._remove_own_socket()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _remove_own_socket(self) -> None:
        """Only our own socket: another monitor may have taken the path since."""
        try:
            info = os.lstat(self.path)
        except OSError:
            return
        if (info.st_dev, info.st_ino) == self._identity:
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    @property
    def listening(self) -> bool:
        """Our socket is at its path, where the hooks look for it."""
        if self._listener is None:
            return False
        try:
            info = os.lstat(self.path)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self._identity

    @property
    def open_connections(self) -> int:
        return len(self._open)

    @property
    def buffered(self) -> int:
        return self._buffered

    # --- connections --------------------------------------------------------------

    def _on_listener(self, _mask: int) -> None:
        assert self._listener is not None
        # the C call (typeshed does not list it): socket.accept() wraps it in enums
        accept = self._listener._accept  # type: ignore[attr-defined]
        for _ in range(ACCEPTS_PER_WAKE):
            try:
                fd, _addr = accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # EMFILE and friends: the pending ones wait in the backlog
                return
            self._accepted(_socket.socket(fileno=fd))

    def _accepted(self, sock: _socket.socket) -> None:
        if self.peer(sock) != self.uid:
            self.counters.rejected_peer += 1
            sock.close()
            return
        if len(self._open) >= self.max_connections:
            # the oldest is the nearest its deadline and the most likely to be idle
            oldest = next(iter(self._open.values()))
            self.counters.rejected_overload += 1
            self._drop(oldest)
        conn = _Connection(sock, self.clock() + self.deadline_s)
        state = self._read(conn)  # the hook writes right after connecting: often complete
        if state is _WATCHING:
            self._hand_over(conn)
            return
        if state is _DONE:
            self._release(conn)
            sock.close()
            return
        self._open[sock.fileno()] = conn
        assert self._selector is not None
        self._selector.register(sock, selectors.EVENT_READ, lambda _m: self._on_readable(conn))

    def _on_readable(self, conn: _Connection) -> None:
        state = self._read(conn)
        if state is _DONE:
            self._drop(conn)
        elif state is _WATCHING:
            self._open.pop(conn.sock.fileno(), None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(conn.sock)  # type: ignore[union-attr]
            self._hand_over(conn)

    def _read(self, conn: _Connection) -> object:
        """Read what is there: _DONE when the connection is finished with, _WAITING for
        more, _WATCHING when it asked to watch (and waits for snapshots)."""
        while True:
            try:
                chunk = conn.sock.recv(RECV_SIZE, socket.MSG_DONTWAIT)  # no fcntl per client
            except BlockingIOError:
                if conn.buffer == WATCH_REQUEST and self.viewers is not None:
                    return _WATCHING
                return _WAITING
            except OSError:
                return _DONE
            if not chunk:
                self._deliver(bytes(conn.buffer))
                return _DONE
            conn.buffer += chunk
            self._buffered += len(chunk)
            if len(conn.buffer) > self.max_frame:
                self.counters.rejected_oversize += 1
                return _DONE
            if self._buffered > self.max_buffered:
                self._shed(keep=conn)

    def _hand_over(self, conn: _Connection) -> None:
        self._release(conn)
        assert self.viewers is not None
        self.viewers.add(conn.sock)

    def _shed(self, keep: _Connection) -> None:
        """Over the memory budget: drop the oldest connections that hold bytes (the
        nearest their deadline, the most likely stalled) until under it again."""
        for conn in list(self._open.values()):
            if self._buffered <= self.max_buffered:
                return
            if conn is not keep and conn.buffer:
                self.counters.rejected_overload += 1
                self._drop(conn)

    def _release(self, conn: _Connection) -> None:
        self._buffered -= len(conn.buffer)
        conn.buffer = bytearray()

    def _deliver(self, frame: bytes) -> None:
        if not frame:
            self.counters.probes += 1  # connect-and-close: someone checking we are here
            return
        self.on_frame(frame)

    def _drop(self, conn: _Connection) -> None:
        self._release(conn)
        self._open.pop(conn.sock.fileno(), None)
        if self._selector is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(conn.sock)
        conn.sock.close()

    def next_deadline(self) -> float | None:
        """When the oldest open connection runs out of time (on `clock`): the loop must
        wake by then for `expire()` to close it on time, even with nothing to read."""
        if not self._open:
            return None
        return next(iter(self._open.values())).deadline

    def expire(self) -> None:
        """Close connections past their deadline (all share one, so oldest first); then
        the viewers get their turn, after the hooks of this wake-up."""
        if self.viewers is not None:
            self.viewers.flush()
        now = self.clock()
        while self._open:
            conn = next(iter(self._open.values()))
            if conn.deadline > now:
                return
            self.counters.rejected_timeout += 1
            self._drop(conn)
