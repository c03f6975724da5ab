"""Who is on the other end of a Unix socket: the peer's uid, from the kernel.

Linux: `SO_PEERCRED` (struct ucred). macOS and the BSDs: `LOCAL_PEERCRED`
(struct xucred). Anywhere else there is no check, and None makes the server refuse
every connection: failing closed.
"""

from __future__ import annotations

import _socket
import socket
import struct
import sys

_UCRED = struct.Struct("iII")  # pid_t pid, uid_t uid, gid_t gid: uid_t is unsigned
_SOL_LOCAL = 0
_LOCAL_PEERCRED = 0x001
_XUCRED = struct.Struct("II")  # cr_version, cr_uid (then cr_ngroups and groups)
_XUCRED_SIZE = 4 + 4 + 2 + 2 + 16 * 4  # with the padding before cr_groups


def peer_uid(sock: _socket.socket) -> int | None:
    """The uid of the process that connected, or None if it cannot be known."""
    try:
        if sys.platform.startswith("linux"):
            raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
            uid: int = _UCRED.unpack(raw)[1]
            return uid
        if sys.platform == "darwin" or "bsd" in sys.platform:
            raw = sock.getsockopt(_SOL_LOCAL, _LOCAL_PEERCRED, _XUCRED_SIZE)
            version, peer = _XUCRED.unpack_from(raw)
            return int(peer) if version == 0 else None
    except OSError:
        return None
    return None
