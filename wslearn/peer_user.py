"""Whose program is on the other end: a kernel's server serves its own user only.

On a laptop, every program that reaches ``127.0.0.1`` is yours. On a shared host (The Littlest
JupyterHub: every learner a user of one machine, one network namespace) every learner's
programs reach every learner's ``127.0.0.1`` ports, and jupyter-server-proxy forwards
``<base url>proxy/<port>/`` to whichever server holds that port: learner B's page could talk
to learner A's kernel server. What tells them apart is the user each program runs as. Behind
the proxy, the program that connects to the kernel's server is the learner's own Jupyter
server, running as the learner; on a laptop it is the learner's browser; in both cases the
same user as the kernel. Learner B's proxy, or B's kernel, runs as B.

Linux says which user owns each TCP socket of this machine, in ``/proc/net/tcp`` (and
``tcp6`` for IPv6): the line whose local address is the peer's and whose remote address is
ours is the peer's socket, and its ``uid`` column is the user. :func:`peer_uid` reads it;
:func:`another_users` turns it into the reason a server refuses with 403.

There is no secret to hand out, to type or to leak: a page, a log or a recording holds nothing
that would let another learner in. Where the system does not say (not Linux, or a peer on
another machine, as with a server bound to ``0.0.0.0``), the peer is let in, as before.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from typing import Optional, Tuple

__all__ = ["another_users", "peer_uid"]

#: The tables Linux keeps of this network namespace's TCP sockets, by address family.
TABLES = {socket.AF_INET: "/proc/net/tcp", socket.AF_INET6: "/proc/net/tcp6"}


def _address(field: str) -> Tuple[str, int]:
    """``("127.0.0.1", 8765)`` from ``/proc/net/tcp``'s ``0100007F:223D``: the address is
    written as 32-bit words in this machine's byte order, the port in hexadecimal."""
    hex_address, hex_port = field.split(":")
    words = [int(hex_address[i : i + 8], 16) for i in range(0, len(hex_address), 8)]
    packed = b"".join(struct.pack("=I", word) for word in words)
    return str(ipaddress.ip_address(packed)), int(hex_port, 16)


def _plain(address: Tuple[str, int]) -> Tuple[str, int]:
    """An address as :func:`_address` writes it (``::ffff:127.0.0.1`` stays IPv6)."""
    return str(ipaddress.ip_address(address[0].split("%")[0])), address[1]


def peer_uid(sock: socket.socket) -> Optional[int]:
    """The user id that owns the other end of the TCP connection ``sock``, if that end is a
    socket of this machine and the system says; else None."""
    table = TABLES.get(sock.family)
    try:
        peer, ours = _plain(sock.getpeername()[:2]), _plain(sock.getsockname()[:2])
        with open(table or "", encoding="ascii") as lines:
            next(lines)  # the column names
            for line in lines:
                fields = line.split()
                if _address(fields[1]) == peer and _address(fields[2]) == ours:
                    return int(fields[7])
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return None


def another_users(sock: socket.socket) -> Optional[str]:
    """Why ``sock`` is refused, if a program of another user opened it; else None."""
    uid = peer_uid(sock)
    if uid is None or uid == os.geteuid():
        return None
    return (
        f"a program of another user (uid {uid}) connected: this server serves only "
        "its own user's pages and programs"
    )
