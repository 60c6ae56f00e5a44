"""Keepalive: is the peer still there? Ask with a Ping, wait for its Pong (RFC 6455 §5.5.2).

A peer can vanish without a word: a laptop lid closes, Wi-Fi drops, a process is frozen.
TCP says nothing for a very long time (no packet is lost when no packet is sent), so a
server that only waits for data would keep that connection, and its thread, forever.
The WebSocket answer is the Ping: every peer must answer one with a Pong "as soon as
practical" (§5.5.2). Browsers do it by themselves, so a page never has to.

The rule, with websockets' defaults (20 s and 20 s):

* when ``interval`` seconds have passed since the connection opened, or since the last
  answered Ping, send a Ping;
* if its Pong has not come ``timeout`` seconds later, the peer is gone: close.

This class is the rule and nothing else. It has no clock and no socket: the caller passes
the time (``time.monotonic()`` on a server, any number in a test) and sends the Ping
itself, which is why a notebook can run it by hand::

    >>> keepalive = Keepalive(interval=20, timeout=20, now=0)
    >>> keepalive.due(now=19), keepalive.due(now=20)
    (None, 'ping')
    >>> keepalive.ping_sent(now=20)
    >>> keepalive.due(now=39), keepalive.due(now=40)
    (None, 'timeout')
"""

from __future__ import annotations

from typing import Optional

__all__ = ["DEFAULT_PING_INTERVAL", "DEFAULT_PING_TIMEOUT", "Keepalive", "PING_PAYLOAD"]

#: websockets' defaults: a Ping after 20 quiet seconds, and 20 seconds for its Pong.
DEFAULT_PING_INTERVAL = 20.0
DEFAULT_PING_TIMEOUT = 20.0

#: What the server's keepalive Pings carry: the Pong echoes it (§5.5.3), and a learner
#: reading the recorded frames sees at once what these frames are for.
PING_PAYLOAD = b"keepalive"


class Keepalive:
    """When to Ping, and when a missing Pong means the peer is gone.

    ``interval`` is the quiet time before a Ping; ``timeout`` how long its Pong may take
    (``None``: Ping, but never give up on the peer).
    """

    def __init__(self, interval: float, timeout: Optional[float], *, now: float) -> None:
        if interval <= 0:
            raise ValueError("the ping interval must be more than 0 seconds (or no keepalive)")
        if timeout is not None and timeout <= 0:
            raise ValueError("the ping timeout must be more than 0 seconds (or None)")
        self.interval = interval
        self.timeout = timeout
        self._next_ping = now + interval
        self._pong_due: Optional[float] = None  # set while a Ping waits for its Pong

    @property
    def waiting(self) -> bool:
        """True while a Ping has been sent and its Pong has not come."""
        return self._pong_due is not None

    def next_event(self) -> float:
        """The moment of the next thing to do: the next Ping, or the Pong's deadline.

        A server waits for data until then (and no longer) before asking :meth:`due`.
        """
        if self._pong_due is not None:
            return self._pong_due
        return self._next_ping

    def due(self, now: float) -> Optional[str]:
        """What is due at ``now``: ``"ping"``, ``"timeout"`` (the peer is gone) or None."""
        if self._pong_due is not None:
            return "timeout" if now >= self._pong_due else None
        return "ping" if now >= self._next_ping else None

    def ping_sent(self, now: float) -> None:
        """The Ping left at ``now``: its Pong is expected within ``timeout``."""
        if self.timeout is None:
            # Nobody waits for the Pong: just Ping again after the next interval.
            self._next_ping = now + self.interval
        else:
            self._pong_due = now + self.timeout

    def pong_received(self, payload: bytes, now: float) -> None:
        """A Pong came at ``now``; if it answers our Ping, the peer is alive.

        A Pong with other bytes answers someone else's Ping (a handler's), or is a
        one-way heartbeat (§5.5.3): it does not count as the answer to ours.
        """
        if payload == PING_PAYLOAD and self._pong_due is not None:
            self._pong_due = None
            self._next_ping = now + self.interval
