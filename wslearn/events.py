"""What a :class:`~wslearn.connection.Connection` reports: one event per thing that happened.

Feeding bytes to a connection returns events, in the order their frames arrived: a whole
message (:class:`Text` or :class:`Binary`, however many fragments it came in), a
:class:`Ping` (already answered) or a :class:`Pong`, the peer's
:class:`~wslearn.close.Close`, or :class:`Failed` when the peer broke a rule. They are
plain values: a test compares them with ``==``, a notebook prints them.
"""

from __future__ import annotations

import dataclasses
from typing import Union

from .close import Close

__all__ = ["Binary", "Close", "Event", "Failed", "Ping", "Pong", "Text"]


@dataclasses.dataclass(frozen=True)
class Text:
    """A whole text message (opcode 0x1 and its continuations), decoded from UTF-8."""

    data: str


@dataclasses.dataclass(frozen=True)
class Binary:
    """A whole binary message (opcode 0x2 and its continuations)."""

    data: bytes


@dataclasses.dataclass(frozen=True)
class Ping:
    """A Ping from the peer; the connection has already queued the Pong (§5.5.2)."""

    data: bytes


@dataclasses.dataclass(frozen=True)
class Pong:
    """A Pong from the peer, answering a Ping or sent on its own as a heartbeat (§5.5.3)."""

    data: bytes


# The peer closed: a :class:`~wslearn.close.Close` (code and reason) is the event too.


@dataclasses.dataclass(frozen=True)
class Failed:
    """The peer broke a rule: we sent a Close frame with ``code`` and the connection is over."""

    code: int
    reason: str


Event = Union[Text, Binary, Ping, Pong, Close, Failed]
