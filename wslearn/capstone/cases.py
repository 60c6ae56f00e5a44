"""The conformance cases: what each sends an echo server, and what it must get back.

Each case opens its own TCP connection through a :class:`~wslearn.capstone.probe.Probe`,
sends real bytes built by the library's core (:func:`~wslearn.handshake.client_request`,
:class:`~wslearn.frames.Frame` with a fresh mask per frame, :class:`~wslearn.close.Close`) and
reads the answer back. A case returns quietly when the server did the right thing and raises
:class:`~wslearn.capstone.probe.Broken` (what was seen, and maybe a more precise rule) when not.

:data:`CASES` lists them in the order they run, each with the notebook that teaches its topic
and the rule it checks (:mod:`wslearn.capstone.topics`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, List, Optional, Tuple

from ..close import Close
from ..errors import ProtocolError
from ..frames import Frame
from ..handshake import accept_key, client_request
from ..http11 import Response
from ..opcodes import Opcode
from . import topics as t
from .probe import Broken, Probe, describe_bytes

__all__ = ["Case", "CASES"]


@dataclasses.dataclass(frozen=True)
class Case:
    """One case: its ``name``, the ``notebook`` of its topic, what the server must do
    (``expects``), the ``rule`` it checks, and ``run``, which checks it on a probe."""

    name: str
    notebook: str
    expects: str
    rule: str
    run: Callable[[Probe], None] = dataclasses.field(repr=False, compare=False)


# ---------------------------------------------------------------------- sending


def _handshake(probe: Probe, change: Callable[[bytes, str], bytes] = lambda r, k: r) -> Tuple:
    """Send a client's opening handshake (changed by ``change``); return (response, key)."""
    request, key = client_request(f"127.0.0.1:{probe.port}", probe.path)
    probe.send(change(request, key))
    return probe.read_response(), key


def _open(probe: Probe) -> None:
    """A valid handshake that must succeed: the frame cases start after it."""
    response, _ = _handshake(probe)
    if response.status != 101:
        raise Broken(
            f"the handshake was refused ({response.status}): no frame could be sent",
            rule=t.ACCEPT_101,
            notebook=t.NOTEBOOK_ACCEPT,
        )


def _send(probe: Probe, opcode: Opcode, payload: bytes, fin: bool = True) -> None:
    probe.send(_frame_bytes(opcode, payload, fin))


def _frame_bytes(opcode: Opcode, payload: bytes, fin: bool = True, masked: bool = True) -> bytes:
    """A client frame: masked with a fresh random key, as §5.3 asks of every client frame."""
    return Frame(opcode, payload, fin).serialize(os.urandom(4) if masked else None)


def _text(size: int) -> bytes:
    return (b"abcdefghij" * (size // 10 + 1))[:size]


# ---------------------------------------------------------------------- reading


def _read_message(probe: Probe, limit: int, pongs: Optional[List[bytes]] = None) -> Frame:
    """Read frames up to one whole data message (the server may fragment it too).

    A Pong's payload goes to ``pongs``; a Ping of the server is let pass; a Close instead
    of the message fails the case (the log shows its code).
    """
    parts: List[Frame] = []
    while True:
        frame = probe.read_frame(limit)
        if frame.opcode == Opcode.PONG and pongs is not None:
            pongs.append(frame.payload)
        elif frame.opcode == Opcode.CLOSE:
            raise Broken("a Close instead of the echo")
        elif frame.opcode.is_control:
            continue
        elif (frame.opcode == Opcode.CONT) != bool(parts):
            what = "a continuation with no message begun" if not parts else "a new message"
            raise Broken(f"{what} in the echo", rule=t.FRAGMENTS, notebook=t.NOTEBOOK_STREAMS)
        else:
            parts.append(frame)
            limit -= len(frame.payload)
            if frame.fin:
                return Frame(parts[0].opcode, b"".join(part.payload for part in parts))


def _expect_echo(probe: Probe, opcode: Opcode, payload: bytes, rule: str = t.LENGTH_CASES) -> None:
    """Send one message and read its echo: same type, same bytes."""
    _send(probe, opcode, payload)
    echo = _read_message(probe, len(payload))
    if echo.opcode != opcode:
        raise Broken(
            f"echoed as {echo.opcode.name}, sent as {opcode.name}",
            rule=t.MESSAGE_TYPE,
            notebook=t.NOTEBOOK_TALKING_BACK,
        )
    if echo.payload != payload:
        pairs = enumerate(zip(echo.payload, payload))
        same = next((i for i, (a, b) in pairs if a != b), min(len(echo.payload), len(payload)))
        raise Broken(
            f"an echo of {len(echo.payload)} B for {len(payload)} B sent, "
            f"differing from byte {same}",
            rule=rule,
        )


def _expect_close(probe: Probe, code: int, answer: bool = True) -> None:
    """The server must send a Close with ``code`` (then, once answered, close TCP)."""
    frame = probe.read_frame(125)
    while frame.opcode in (Opcode.PING, Opcode.PONG):
        frame = probe.read_frame(125)
    if frame.opcode != Opcode.CLOSE:
        raise Broken(f"a {frame.opcode.name} frame where a Close {code} was due")
    try:
        got = Close.parse(frame.payload).code
    except ProtocolError as error:
        raise Broken(f"a Close whose payload breaks a rule: {error}") from None
    if got != code:
        raise Broken(f"Close code {got} where {code} was due")
    if answer:
        try:  # it may already have closed TCP: failing the connection need not wait (§7.1.7)
            probe.send(_frame_bytes(Opcode.CLOSE, Close(code).serialize()))
        except Broken:
            pass
    probe.expect_tcp_close()


# ---------------------------------------------------------------------- the cases

_CASES: List[Case] = []


def _case(
    name: str, notebook: str, rule: str, expects: str
) -> Callable[[Callable[[Probe], None]], Callable[[Probe], None]]:
    """Register the function below as a case, in the order the cases run."""

    def register(run: Callable[[Probe], None]) -> Callable[[Probe], None]:
        _CASES.append(Case(name, notebook, expects, rule, run))
        return run

    return register


@_case(
    "handshake-valid",
    t.NOTEBOOK_ACCEPT,
    t.ACCEPT_KEY,
    "101, Upgrade and Connection headers, the right Sec-WebSocket-Accept",
)
def handshake_valid(probe: Probe) -> None:
    response, key = _handshake(probe)
    if response.status != 101:
        raise Broken(f"status {response.status} to a valid request")
    if "websocket" not in response.headers.tokens("Upgrade"):
        raise Broken(_header_seen(response, "Upgrade"), rule=t.UPGRADE_HEADERS)
    if "upgrade" not in response.headers.tokens("Connection"):
        raise Broken(_header_seen(response, "Connection"), rule=t.UPGRADE_HEADERS)
    if response.headers.get_all("Sec-WebSocket-Accept") != [accept_key(key)]:
        raise Broken(f"{_header_seen(response, 'Sec-WebSocket-Accept')} for the key {key}")
    if response.headers.get_all("Sec-WebSocket-Extensions"):
        seen = _header_seen(response, "Sec-WebSocket-Extensions")
        raise Broken(seen, rule=t.NO_UNOFFERED_EXTENSION)


def _refused(probe: Probe, change: Callable[[bytes, str], bytes]) -> Response:
    """Send a handshake ``change`` made invalid; the answer must be an HTTP error (4xx)."""
    response, _ = _handshake(probe, change)
    if not 400 <= response.status < 500:
        raise Broken(f"status {response.status}: the invalid request was not refused")
    return response


def _header_seen(response: Response, name: str) -> str:
    values = response.headers.get_all(name)
    return f"{name}: {', '.join(values)}" if values else f"no {name} header"


@_case(
    "handshake-missing-key",
    t.NOTEBOOK_REQUEST,
    t.MISSING_KEY,
    "no Sec-WebSocket-Key: an HTTP error status, 400 as a rule",
)
def handshake_missing_key(probe: Probe) -> None:
    _refused(
        probe, lambda request, key: request.replace(f"Sec-WebSocket-Key: {key}\r\n".encode(), b"")
    )


@_case(
    "handshake-wrong-version",
    t.NOTEBOOK_REQUEST,
    t.WRONG_VERSION,
    "Sec-WebSocket-Version: 8: an error status (426 as a rule) with Sec-WebSocket-Version: 13",
)
def handshake_wrong_version(probe: Probe) -> None:
    response = _refused(probe, lambda request, key: request.replace(b"Version: 13", b"Version: 8"))
    if "13" not in response.headers.tokens("Sec-WebSocket-Version"):
        raise Broken(f"status {response.status}, {_header_seen(response, 'Sec-WebSocket-Version')}")


@_case("length-7bit", t.NOTEBOOK_HEADER, t.LENGTH_CASES, "a 125-byte text message echoed")
def length_7bit(probe: Probe) -> None:
    _open(probe)
    _expect_echo(probe, Opcode.TEXT, _text(125))


@_case(
    "length-16bit", t.NOTEBOOK_HEADER, t.LENGTH_CASES, "126- and 65535-byte text messages echoed"
)
def length_16bit(probe: Probe) -> None:
    _open(probe)
    _expect_echo(probe, Opcode.TEXT, _text(126))
    _expect_echo(probe, Opcode.TEXT, _text(65535))


@_case("length-64bit", t.NOTEBOOK_HEADER, t.LENGTH_CASES, "a 65536-byte text message echoed")
def length_64bit(probe: Probe) -> None:
    _open(probe)
    _expect_echo(probe, Opcode.TEXT, _text(65536))


@_case(
    "binary",
    t.NOTEBOOK_TALKING_BACK,
    t.MESSAGE_TYPE,
    "125 bytes of binary (not UTF-8) echoed as binary",
)
def binary(probe: Probe) -> None:
    _open(probe)  # bytes 0xff down to 0x83: binary data that is not UTF-8 at all
    _expect_echo(probe, Opcode.BINARY, bytes(range(255, 130, -1)), rule=t.MESSAGE_TYPE)


@_case(
    "unmasked-frame",
    t.NOTEBOOK_UNMASKING,
    t.CLIENT_MUST_MASK,
    "an unmasked client frame: Close 1002, then TCP closed",
)
def unmasked_frame(probe: Probe) -> None:
    _open(probe)
    probe.send(_frame_bytes(Opcode.TEXT, b"Hello", masked=False))
    _expect_close(probe, 1002)


@_case(
    "fragments-with-ping",
    t.NOTEBOOK_STREAMS,
    t.FRAGMENTS,
    "TEXT FIN=0, PING, CONT FIN=1: a Pong with the Ping's data, and the whole message echoed",
)
def fragments_with_ping(probe: Probe) -> None:
    _open(probe)
    probe.send(  # in one write: one recv() may well hold all three frames
        _frame_bytes(Opcode.TEXT, b"Hello, ", fin=False)
        + _frame_bytes(Opcode.PING, b"ping-42")
        + _frame_bytes(Opcode.CONT, b"world")
    )
    pongs: List[bytes] = []
    message = _read_message(probe, 64, pongs)
    if message.opcode != Opcode.TEXT or message.payload != b"Hello, world":
        raise Broken(f"the message echoed as {message.opcode.name} {message.payload[:40]!r}")
    if not pongs:  # the Pong may also come after the echo
        frame = probe.read_frame(125)
        pongs += [frame.payload] if frame.opcode == Opcode.PONG else []
    if pongs != [b"ping-42"]:
        what = f"Pong data {describe_bytes(pongs[0])}" if pongs else "no Pong"
        raise Broken(f"{what} for the Ping 'ping-42'", t.PONG, t.NOTEBOOK_TALKING_BACK)


@_case(
    "invalid-utf8",
    t.NOTEBOOK_STREAMS,
    t.INVALID_UTF8,
    "a text message that is not UTF-8: Close 1007, then TCP closed",
)
def invalid_utf8(probe: Probe) -> None:
    _open(probe)
    _send(probe, Opcode.TEXT, b"caf\xc3\xa9 \xff\xfe")  # \xff never occurs in UTF-8
    _expect_close(probe, 1007)


@_case(
    "close-echoed",
    t.NOTEBOOK_TALKING_BACK,
    t.CLOSE_ANSWERED,
    "Close 1000 'bye': a Close 1000 back, then TCP closed",
)
def close_echoed(probe: Probe) -> None:
    _open(probe)
    _send(probe, Opcode.CLOSE, Close(1000, "bye").serialize())
    _expect_close(probe, 1000, answer=False)


@_case(
    "oversized",
    t.NOTEBOOK_STREAMS,
    t.OVERSIZED,
    f"a message of {t.MAX_SIZE + 1} bytes (1 MiB + 1): Close 1009, then TCP closed",
)
def oversized(probe: Probe) -> None:
    _open(probe)
    probe.send_watching(_frame_bytes(Opcode.TEXT, _text(t.MAX_SIZE + 1)))
    _expect_close(probe, 1009)


CASES: Tuple[Case, ...] = tuple(_CASES)
