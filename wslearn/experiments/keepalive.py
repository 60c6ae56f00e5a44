"""A peer that goes silent: the server's Pings, the missing Pong, and the close.

Why idle connections die
------------------------
Between a browser and a server sit machines that keep state for every TCP connection
they carry, and forget it when the connection looks idle: a reverse proxy (nginx closes
a proxied connection after ``proxy_read_timeout``, 60 s by default), a cloud load balancer
(idle timeouts of 60 s are common, 350 s on some), a home router or a carrier's NAT (which
may drop its address mapping after a minute or a few). None of them tells the two ends.
The next packet either gets a reset or vanishes. A WebSocket that carries a chat message
an hour is idle most of the time, so it dies this way, silently.

The other half of the story is a peer that vanishes without a word: a laptop's lid
closes, Wi-Fi drops, the NAT forgot the mapping. TCP sends nothing when there is nothing
to send, so nothing is lost and nothing is noticed: the server keeps the connection, its
thread and its buffers, for hours.

Why the server Pings
--------------------
A Ping (RFC 6455 §5.5.2) answers both. Every peer must answer one with a Pong "as soon as
practical"; browsers do it by themselves. So the server (:mod:`wslearn.keepalive`, with
``ping_interval`` and ``ping_timeout``):

* sends a Ping after ``ping_interval`` quiet seconds: traffic every so often keeps the
  path warm, so no proxy or NAT on the way thinks the connection idle (the interval must
  be shorter than their timeouts: websockets' 20 s is well under the usual 60 s);
* gives up on a peer whose Pong has not come ``ping_timeout`` seconds after the Ping:
  the peer is gone, its connection is closed (1011, with the reason) and its resources
  freed.

The experiment
--------------
:func:`silent_peer` runs this for real, in a few seconds: a server with short limits, and a
client (:class:`~wslearn.experiments.peer.RawPeer`) that sends one message, answers the
first Pings, then stops reading and answering, as a closed laptop would. (Its kernel still
acknowledges the TCP segments; a dead NAT mapping would drop them instead. The server sees
the same thing either way: no Pong.) What comes back, a :class:`KeepaliveRun`, is the
timeline from both sides.
"""

from __future__ import annotations

import dataclasses
import time
from typing import List, Optional

from ..close import Close
from ..deadline import Deadline
from ..errors import ProtocolError
from ..frames import Frame
from ..opcodes import Opcode
from ..recording import ConnectionRecord, FrameRecord
from ..serving import serve
from .peer import RawPeer

__all__ = ["KeepaliveRun", "TimelineEvent", "silent_peer"]


@dataclasses.dataclass(frozen=True)
class TimelineEvent:
    """Something that happened, ``time`` seconds after the connection opened.

    ``side`` says where it was seen: ``"server"`` (a frame the server sent or received, from
    its recorder) or ``"client"`` (what the client did or read). ``what`` is a short name
    (``"PING"``, ``"PONG"``, ``"TEXT"``, ``"CLOSE"``, ``"silent"``, ``"closed"``, ``"EOF"``);
    ``detail`` says more in words.
    """

    time: float
    side: str
    what: str
    detail: str = ""


@dataclasses.dataclass
class KeepaliveRun:
    """What :func:`silent_peer` saw. Every time is in seconds after the connection opened.

    ``pings`` are the server's Pings, ``pongs`` the Pongs it received; ``silent_at`` is when
    the client stopped answering, ``closed_at`` when the server gave up (its Close frame)
    with ``close_code`` and ``close_reason``. ``client_saw`` lists the frames the client
    found in its buffer afterwards, and ``client_eof`` whether the server closed TCP too.
    ``events`` is the whole timeline, in order; ``frames`` the server's recorded frames.
    """

    ping_interval: float
    ping_timeout: float
    pings: List[float]
    pongs: List[float]
    silent_at: float
    closed_at: Optional[float]
    close_code: Optional[int]
    close_reason: str
    client_saw: List[str]
    client_eof: bool
    events: List[TimelineEvent]
    frames: List[FrameRecord]

    @property
    def last_sign_of_life(self) -> float:
        """When the server last heard from the peer: its last Pong, or the opening."""
        return self.pongs[-1] if self.pongs else 0.0

    @property
    def detected_after(self) -> Optional[float]:
        """Seconds from the peer's silence to the server's close (None if it never closed)."""
        return None if self.closed_at is None else self.closed_at - self.silent_at

    def summary(self) -> str:
        """The run in a few lines of words."""
        lines = [
            f"ping_interval={self.ping_interval:g} s, ping_timeout={self.ping_timeout:g} s",
            f"{len(self.pings)} Ping(s) sent, {len(self.pongs)} Pong(s) received",
            f"the client went silent at {self.silent_at:.2f} s",
        ]
        if self.closed_at is None:
            lines.append("the server had not closed the connection when the run ended")
        else:
            lines.append(
                f"the server closed it at {self.closed_at:.2f} s "
                f"({self.detected_after:.2f} s after the silence): "
                f"{self.close_code} {self.close_reason!r}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<KeepaliveRun\n{self.summary()}>"


def silent_peer(
    ping_interval: float = 0.5,
    ping_timeout: float = 0.5,
    *,
    answered: int = 2,
    message: str = "hello",
    timeout: Optional[float] = None,
) -> KeepaliveRun:
    """Run a server with these keepalive limits against a peer that goes silent.

    The client connects, sends ``message`` and reads its echo, answers the first
    ``answered`` Pings with their Pongs, then reads and answers nothing more. The server
    Pings again after ``ping_interval`` and, ``ping_timeout`` later, gives up on it.
    The run waits for that at most ``timeout`` seconds after the silence (by default
    ``2 * (ping_interval + ping_timeout) + 1``), then stops the server: every thread and
    socket is gone when this returns. With the defaults it takes about 2.5 s.
    """
    if timeout is None:
        timeout = 2 * (ping_interval + ping_timeout) + 1
    with serve(
        port=0, handler="echo", ping_interval=ping_interval, ping_timeout=ping_timeout
    ) as server:
        with RawPeer(server.port, timeout=timeout) as peer:
            record = server.recorder.connections()[-1]
            start = record.opened
            client: List[TimelineEvent] = []

            def note(what: str, detail: str = "") -> None:
                client.append(TimelineEvent(time.time() - start, "client", what, detail))

            peer.send(Opcode.TEXT, message.encode("utf-8"))
            note("TEXT", f"sent {message!r}")
            pongs = 0
            limit = Deadline(answered * (ping_interval + ping_timeout) + timeout)
            while pongs < answered and not limit.expired:
                frame = peer.next_frame(limit.remaining())
                if frame is None:
                    break
                if frame.opcode == Opcode.PING:
                    peer.send(Opcode.PONG, frame.payload)  # §5.5.3: the same payload
                    pongs += 1
                    note("PONG", f"answered Ping {pongs}")
                else:
                    note(frame.opcode.name, f"read {describe(frame)}")
            note("silent", "stops reading and answering")
            silent_at = client[-1].time
            gone = Deadline(timeout)
            while record.closed is None and not gone.expired:
                time.sleep(0.02)  # the server's own threads decide; we only watch
            if record.closed is not None:
                note("closed", "the server has given up on us")
            saw = [describe(frame) for frame in peer.frames()]  # read before the silence
            eof = peer.drain(1.0)
            saw += [describe(frame) for frame in peer.frames()]
            if eof:
                note("EOF", "the server closed TCP")
    return make_run(
        ping_interval, ping_timeout, record, server.recorder.frames(), client, silent_at, saw, eof
    )


def describe(frame: Frame) -> str:
    """A frame in a few words: its opcode, then its payload (a Close's code and reason)."""
    if frame.opcode == Opcode.CLOSE:
        try:
            close = Close.parse(frame.payload)
        except ProtocolError:
            return f"CLOSE {frame.payload!r}"
        return f"CLOSE {close.code} {close.reason!r}"
    return f"{frame.opcode.name} {frame.payload[:40]!r}"


def make_run(
    ping_interval: float,
    ping_timeout: float,
    record: ConnectionRecord,
    frames: List[FrameRecord],
    client: List[TimelineEvent],
    silent_at: float,
    saw: List[str],
    eof: bool,
) -> KeepaliveRun:
    """Lay the server's recorded frames and the client's notes on one timeline."""
    start = record.opened
    mine = [f for f in frames if f.connection == record.id]
    server = [
        TimelineEvent(f.time - start, "server", f.opcode_name, server_detail(f)) for f in mine
    ]
    pings = [e.time for e in server if e.what == "PING" and e.detail.startswith("sent")]
    pongs = [e.time for e in server if e.what == "PONG"]
    closes = [f.time - start for f in mine if f.opcode == Opcode.CLOSE and f.direction == "out"]
    closed_at = closes[0] if closes else None
    if closed_at is None and record.closed is not None and record.close_code is not None:
        closed_at = record.closed - start  # no Close frame could be sent: the TCP close
    return KeepaliveRun(
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        pings=pings,
        pongs=pongs,
        silent_at=silent_at,
        closed_at=closed_at,
        close_code=record.close_code,
        close_reason=record.close_reason,
        client_saw=saw,
        client_eof=eof,
        events=sorted(server + client, key=lambda e: e.time),
        frames=mine,
    )


def server_detail(record: FrameRecord) -> str:
    """What a recorded frame was, from the server's side, in words."""
    verb = "sent" if record.direction == "out" else "received"
    if record.opcode == Opcode.CLOSE:
        return f"{verb} {Close.describe(record.payload_preview)}"
    return f"{verb} {record.payload_preview[:40]!r}"
