"""Whose program is on the other end: a kernel's server serves its own user only.

On a laptop, every program that reaches ``127.0.0.1`` is yours. On a shared host (The Littlest
JupyterHub: every learner a user of one machine, one network namespace) every learner's
programs reach every learner's ``127.0.0.1`` ports, and jupyter-server-proxy forwards
``<base url>proxy/<port>/`` to whichever server holds that port: learner B's page could talk
to learner A's kernel server. What tells them apart is the user each program runs as. Behind
the proxy, the program that connects to the kernel's server is the learner's own Jupyter
server, running as the learner; on a laptop it is the learner's browser; in both cases the
same user as the kernel. Learner B's proxy, or B's kernel, runs as B.

Linux says which user owns each TCP socket of this machine, in ``/proc/net/tcp`` and
``/proc/net/tcp6``: the line whose local address is the peer's and whose remote address is
ours is the peer's socket, and its ``uid`` column is the user. :func:`peer_uid` reads it;
:func:`another_users` turns it into the reason a server refuses with 403.

It fails closed where it can tell: a peer on this machine's loopback whose socket is not in the
tables (read twice, as a socket may be missed while others come and go) is refused too. Where
the system does not say at all (not Linux, or the tables cannot be read), or for a peer on
another machine (a server bound to a network address on purpose), the peer is let in.

This tells programs apart, not pages: a page opened in your own browser acts as you. There is
no secret to hand out, to type or to leak: a page, a log or a recording holds nothing that would
let another learner in.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from typing import List, Optional, Tuple, Union

__all__ = ["another_users", "peer_uid"]

#: The tables Linux keeps of this network namespace's TCP sockets (IPv4, then IPv6).
TABLES = ("/proc/net/tcp", "/proc/net/tcp6")

Address = Tuple[str, int]


def _host(packed_or_text: Union[bytes, str]) -> str:
    """An IP address as text, an IPv4 address carried in IPv6 (``::ffff:127.0.0.1``) as IPv4."""
    if isinstance(packed_or_text, str):
        packed_or_text = packed_or_text.split("%")[0]  # an IPv6 zone: not part of the address
    address = ipaddress.ip_address(packed_or_text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def _address(field: str) -> Address:
    """``("127.0.0.1", 8765)`` from ``/proc/net/tcp``'s ``0100007F:223D``: the address is
    written as 32-bit words in this machine's byte order, the port in hexadecimal."""
    hex_address, hex_port = field.split(":")
    words = [int(hex_address[i : i + 8], 16) for i in range(0, len(hex_address), 8)]
    return _host(b"".join(struct.pack("=I", word) for word in words)), int(hex_port, 16)


def _sockets() -> Optional[List[Tuple[Address, Address, int]]]:
    """(local, remote, uid) of every TCP socket in the tables; None if none can be read."""
    found: List[Tuple[Address, Address, int]] = []
    read = False
    for table in TABLES:
        try:
            with open(table, encoding="ascii") as lines:
                next(lines, None)  # the column names
                for line in lines:
                    fields = line.split()
                    found.append((_address(fields[1]), _address(fields[2]), int(fields[7])))
            read = True
        except (OSError, ValueError, IndexError):
            continue
    return found if read else None


def _ends(sock: socket.socket) -> Tuple[Address, Address]:
    """(peer, ours) of a TCP connection; ValueError for any other socket (a socketpair has no
    user to look up: both ends are this process's)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        raise ValueError("not a TCP/IP socket")
    peer, ours = sock.getpeername()[:2], sock.getsockname()[:2]
    return (_host(peer[0]), peer[1]), (_host(ours[0]), ours[1])


def _owner(
    table: List[Tuple[Address, Address, int]], peer: Address, ours: Address
) -> Optional[int]:
    """The uid of the socket at ``peer`` connected to ``ours`` in ``table``, if it is there."""
    return next((uid for local, remote, uid in table if (local, remote) == (peer, ours)), None)


def peer_uid(sock: socket.socket) -> Optional[int]:
    """The user id that owns the other end of the TCP connection ``sock``, if that end is a
    socket of this machine and the system says; else None."""
    try:
        peer, ours = _ends(sock)
    except (OSError, ValueError):
        return None
    return _owner(_sockets() or [], peer, ours)


def another_users(sock: socket.socket) -> Optional[str]:
    """Why ``sock`` is refused, if a program of another user opened it (or a program on this
    machine's loopback that the tables do not show); else None."""
    try:
        peer, ours = _ends(sock)
    except (OSError, ValueError):
        return None  # already gone: nothing to serve, nothing to refuse
    uid = None
    for _ in range(2):
        table = _sockets()
        if table is None:
            return None  # the system does not say (not Linux): let it in
        uid = _owner(table, peer, ours)
        if uid is not None:
            break
    if uid is None:
        if not ipaddress.ip_address(peer[0]).is_loopback:
            return None  # another machine: the tables only know this one
        return (
            "a program on this machine that the system's socket tables do not show connected: "
            "this server serves only its own user's pages and programs"
        )
    if uid == os.geteuid():
        return None
    return (
        f"a program of another user (uid {uid}) connected: this server serves only "
        "its own user's pages and programs"
    )
