"""permessage-deflate: compressed messages (RFC 7692), negotiated in the handshake.

Every browser offers it. With it, a message is compressed with DEFLATE (the algorithm of zip
and gzip, RFC 1951) before it is cut into frames, and the first frame of a compressed message
has **RSV1** set (RFC 7692 §6). This module holds both halves of the extension:

* **negotiation** (§5, §7): the client offers ``permessage-deflate`` with up to four
  parameters in ``Sec-WebSocket-Extensions``; the server answers with the parameters it
  accepts (:func:`negotiate_deflate`), and the client checks that answer
  (:func:`check_deflate_answer`). Both read and write :class:`DeflateParameters`;
* **the codec** (§7.2): :class:`PerMessageDeflate` compresses a message for sending and
  inflates a received one, with the standard :mod:`zlib` module. The inflated size is
  limited *while* inflating, so a small frame that would inflate to gigabytes (a "zip bomb")
  is stopped before the memory is spent.

The four parameters, each about one direction ("server_" is what the server sends)::

    server_no_context_takeover   the server starts every message with an empty window
    client_no_context_takeover   the client does
    server_max_window_bits=N     the server's window is at most 2**N bytes (8..15)
    client_max_window_bits[=N]   the client's window; without N in an offer: "you choose"

*Context takeover* means a message may refer to text of the messages before it: a second
``{"type": "chat", ...}`` costs a few bytes. It also means a window (up to 32 KiB) kept per
connection and direction, which is why a server may ask for ``no_context_takeover`` or a
smaller window.

    >>> server = PerMessageDeflate("server")
    >>> server.compress(b"Hello").hex(" ")                     # RFC 7692 §7.2.3.1
    'f2 48 cd c9 c9 07 00'

It reads frames already parsed, never bytes off a socket: :class:`~wslearn.connection.Connection`
hands it each data frame it receives (:meth:`PerMessageDeflate.inflate_frame`) and each message
it sends (:meth:`PerMessageDeflate.compress`); :mod:`wslearn.handshake` writes and reads headers.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Dict, List, Optional, Sequence, Union

from .bytes_like import BytesLike
from .errors import ProtocolError
from .extensions import (
    NegotiationError,
    Parameter,
    format_extension,
    parse_extension,
    parse_extensions,
    split_header_list,
)
from .frames import Frame
from .opcodes import CloseCode, Opcode

__all__ = [
    "NAME",
    "DeflateParameters",
    "PerMessageDeflate",
    "negotiate_deflate",
    "answer_offer",
    "check_deflate_answer",
]

#: The extension's registered name.
NAME = "permessage-deflate"

#: An empty DEFLATE block with no compression: every sync flush ends with it, so the sender
#: leaves it out and the receiver adds it back (RFC 7692 §7.2.1, §7.2.2).
TAIL = b"\x00\x00\xff\xff"

#: Inflate this many bytes at a time: a message costs its own size in memory, no more (see
#: :meth:`PerMessageDeflate.decompress`). 32 KiB is the first output block CPython's zlib
#: allocates: a piece that size is made without a second copy.
INFLATE_PIECE = 32 * 1024

# RFC 7692 §7.1.2.1: "a decimal integer value without leading zeroes between 8 to 15".
_WINDOW_BITS = {str(bits): bits for bits in range(8, 16)}


@dataclasses.dataclass(frozen=True)
class DeflateParameters:
    """The four parameters of permessage-deflate (RFC 7692 §7.1), as one offer or answer says.

    The same fields serve three purposes: a client's offer, a server's answer, and a side's
    own wishes before negotiating (the server's limits, or what the client will offer).
    ``None`` for a window means "not stated": the full 15 bits.

    A client's ``client_max_window_bits`` may come without a value: "I can limit my window,
    you choose". It is read as 15, which says the same (§7.1.2.2: with a value N the client
    promises to use at most N bits, and 15 is the most there is).

    >>> DeflateParameters(server_no_context_takeover=True, client_max_window_bits=10).header()
    'permessage-deflate; server_no_context_takeover; client_max_window_bits=10'
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: Optional[int] = None
    client_max_window_bits: Optional[int] = None

    def __post_init__(self) -> None:
        for bits in (self.server_max_window_bits, self.client_max_window_bits):
            if bits is not None and not 8 <= bits <= 15:
                raise ValueError(f"window bits go from 8 to 15, not {bits} (RFC 7692 §7.1.2)")

    def params(self) -> List[Parameter]:
        """The parameters as ``(name, value)`` pairs, in the order RFC 7692 §7.1 lists them."""
        params: List[Parameter] = []
        if self.server_no_context_takeover:
            params.append(("server_no_context_takeover", None))
        if self.client_no_context_takeover:
            params.append(("client_no_context_takeover", None))
        if self.server_max_window_bits is not None:
            params.append(("server_max_window_bits", str(self.server_max_window_bits)))
        if self.client_max_window_bits is not None:
            params.append(("client_max_window_bits", str(self.client_max_window_bits)))
        return params

    def header(self) -> str:
        """The ``Sec-WebSocket-Extensions`` value that states these parameters."""
        return format_extension(NAME, self.params())

    @classmethod
    def from_params(cls, params: Sequence[Parameter], *, offer: bool) -> "DeflateParameters":
        """Read the parameters of one ``permessage-deflate`` element of an offer or answer.

        Raises :class:`~wslearn.extensions.NegotiationError` for what RFC 7692 §7 names: "an
        extension parameter not defined for use in an offer" (or a response), "an extension
        parameter with an invalid value", "multiple extension parameters with the same name".
        """
        seen = set()
        flags = {"server_no_context_takeover": False, "client_no_context_takeover": False}
        bits: Dict[str, Optional[int]] = {
            "server_max_window_bits": None,
            "client_max_window_bits": None,
        }
        for name, value in params:
            if name in seen:
                raise NegotiationError(f"parameter {name} given twice (RFC 7692 §7)")
            seen.add(name)
            if name in flags:
                if value is not None:  # §7.1.1.1, §7.1.1.2: "This parameter has no value."
                    raise NegotiationError(
                        f"{name} takes no value, got {value!r} (RFC 7692 §7.1.1)"
                    )
                flags[name] = True
            elif name in bits:
                if value is None and name == "client_max_window_bits" and offer:
                    value = "15"  # §7.1.2.2: in an offer it may come without a value
                if value is None:
                    raise NegotiationError(f"{name} needs a value from 8 to 15 (RFC 7692 §7.1.2)")
                if value not in _WINDOW_BITS:
                    raise NegotiationError(
                        f"{name}={value} is not a number from 8 to 15 (RFC 7692 §7.1.2)"
                    )
                bits[name] = _WINDOW_BITS[value]
            else:
                raise NegotiationError(f"permessage-deflate has no parameter {name} (RFC 7692 §7)")
        return cls(
            flags["server_no_context_takeover"],
            flags["client_no_context_takeover"],
            bits["server_max_window_bits"],
            bits["client_max_window_bits"],
        )


# ---------------------------------------------------------------------- negotiation


def negotiate_deflate(
    offers: Union[str, Sequence[str]], wanted: DeflateParameters = DeflateParameters()
) -> Optional[DeflateParameters]:
    """The server's answer to a client's ``Sec-WebSocket-Extensions``: the first offer it accepts.

    ``offers`` are the header's values (``request.headers.get_all("Sec-WebSocket-Extensions")``);
    ``wanted`` are the server's own limits: a ``True`` no-context-takeover flag is asked of
    that side, a window is capped at that many bits. Returns the parameters to put in the 101
    (:func:`wslearn.accept_response`), which are also what both sides will use, or ``None``
    if no offer was acceptable: the connection then goes on without compression.

    RFC 7692 §5: the offers are in the client's order of preference; the server takes the
    first one it can. An offer that is malformed, has a bad or repeated parameter, or asks
    for what this server cannot do is *declined* (§7: "A server MUST decline an extension
    negotiation offer ..."), and the next one is read. Other extensions are declined too.

    >>> negotiate_deflate("permessage-deflate; client_max_window_bits")
    DeflateParameters(server_no_context_takeover=False, client_no_context_takeover=False, \
server_max_window_bits=None, client_max_window_bits=None)
    """
    if wanted.server_max_window_bits == 8:
        raise ValueError("zlib cannot compress with an 8-bit window: use 9 to 15")
    if isinstance(offers, str):
        offers = [offers]
    for value in offers:
        for element in split_header_list(value):
            try:
                extension = parse_extension(element)
                if extension.name != NAME:
                    continue  # an extension this server does not know: declined
                offer = DeflateParameters.from_params(extension.params, offer=True)
                return answer_offer(offer, wanted)
            except NegotiationError:
                continue  # RFC 7692 §7: declined; the next offer may do
    return None


def answer_offer(offer: DeflateParameters, wanted: DeflateParameters) -> DeflateParameters:
    """The server's answer to one well-formed offer, given its own limits (RFC 7692 §7.1).

    Raises :class:`~wslearn.extensions.NegotiationError` if the server cannot accept it.
    """
    # §7.1.2.1: the answer's server_max_window_bits may be the offer's or smaller, and the
    # server may state one that was not asked for. It must be stated if it was asked for.
    server_bits = min(offer.server_max_window_bits or 15, wanted.server_max_window_bits or 15)
    if server_bits == 8:
        # zlib refuses to compress with a 256-byte window (madler/zlib#171), and §7.1.2.1
        # allows no bigger one: "A server declines an extension negotiation offer with this
        # parameter if the server doesn't support it."
        raise NegotiationError("server_max_window_bits=8 asked for; zlib cannot compress so")
    if offer.server_max_window_bits is None and server_bits == 15:
        server_bits_answer = None  # nothing asked, no limit: nothing to say
    else:
        server_bits_answer = server_bits
    # §7.1.2.2: only a client that offered client_max_window_bits may be given a limit
    # ("the server MUST NOT include" it otherwise); such a client then uses up to 15 bits.
    client_bits_answer = None
    if offer.client_max_window_bits is not None and wanted.client_max_window_bits is not None:
        if wanted.client_max_window_bits < offer.client_max_window_bits:
            client_bits_answer = wanted.client_max_window_bits
    return DeflateParameters(
        # §7.1.1: a no_context_takeover the client asks for is granted by repeating it; the
        # server may also ask it of the client on its own.
        server_no_context_takeover=offer.server_no_context_takeover
        or wanted.server_no_context_takeover,
        client_no_context_takeover=offer.client_no_context_takeover
        or wanted.client_no_context_takeover,
        server_max_window_bits=server_bits_answer,
        client_max_window_bits=client_bits_answer,
    )


def check_deflate_answer(
    answers: Union[str, Sequence[str]], offered: DeflateParameters
) -> Optional[DeflateParameters]:
    """Check the server's ``Sec-WebSocket-Extensions`` against the client's one offer.

    Returns what both sides will use, or ``None`` if the server declined (no header). Raises
    :class:`~wslearn.extensions.NegotiationError` when RFC 7692 §7 says the client "MUST _Fail
    the WebSocket Connection_": the answer is malformed, names an extension we did not offer
    (RFC 6455 §9.1), has a parameter not defined for an answer, a bad or repeated value, or
    a configuration this client does not support.
    """
    extensions = parse_extensions(answers)
    if not extensions:
        return None
    if len(extensions) > 1 or extensions[0].name != NAME:
        names = ", ".join(extension.name for extension in extensions)
        raise NegotiationError(f"server accepted {names}; we offered {NAME} once (RFC 6455 §9.1)")
    answer = DeflateParameters.from_params(extensions[0].params, offer=False)
    if offered.server_no_context_takeover and not answer.server_no_context_takeover:
        # §7.1.1.1: the server accepts such an offer by repeating the parameter.
        raise NegotiationError("server_no_context_takeover was asked for, but not granted")
    if offered.server_max_window_bits is not None and (
        answer.server_max_window_bits is None
        or answer.server_max_window_bits > offered.server_max_window_bits
    ):
        # §7.1.2.1: accepted "with the same or smaller value as the offer".
        raise NegotiationError(
            f"server_max_window_bits={offered.server_max_window_bits} was asked for, the server "
            f"answered {answer.server_max_window_bits} (RFC 7692 §7.1.2.1)"
        )
    client_bits = answer.client_max_window_bits
    if client_bits is not None:
        if offered.client_max_window_bits is None:
            raise NegotiationError(
                "server set client_max_window_bits, which we did not offer (RFC 7692 §7.1.2.2)"
            )
        if client_bits > offered.client_max_window_bits:
            raise NegotiationError(
                f"server set client_max_window_bits={client_bits}, above the "
                f"{offered.client_max_window_bits} we offered (RFC 7692 §7.1.2.2)"
            )
        if client_bits == 8:
            raise NegotiationError("client_max_window_bits=8: zlib cannot compress so")
    return DeflateParameters(
        server_no_context_takeover=answer.server_no_context_takeover,
        # What we offered we keep to, granted or not (§7.1.1.2, §7.1.2.2: "a hint").
        client_no_context_takeover=answer.client_no_context_takeover
        or offered.client_no_context_takeover,
        server_max_window_bits=answer.server_max_window_bits,
        client_max_window_bits=client_bits or offered.client_max_window_bits,
    )


# ---------------------------------------------------------------------- the codec


class PerMessageDeflate:
    """Compress the messages one side sends, inflate those it receives (RFC 7692 §7.2).

    ``role`` is ``"server"`` or ``"client"``; ``agreed`` are the parameters of the 101 (as
    :func:`negotiate_deflate` or :func:`check_deflate_answer` return them): a server
    compresses with the ``server_`` ones and inflates with the ``client_`` ones, a client the
    other way round. ``level`` (0-9) and ``mem_level`` (1-9) are :func:`zlib.compressobj`'s:
    speed against size, and the memory the compressor uses besides its window.

    Memory per connection: with context takeover, a compressor (its window, plus about
    ``2 ** (mem_level + 9)`` bytes) and an inflater (its window) live as long as the
    connection. Without it, each is made per message and dropped once the message is done.
    """

    def __init__(
        self,
        role: str,
        agreed: DeflateParameters = DeflateParameters(),
        *,
        level: int = zlib.Z_DEFAULT_COMPRESSION,
        mem_level: int = 8,
    ) -> None:
        if role == "server":
            self.send_window_bits = agreed.server_max_window_bits or 15
            self.send_no_context_takeover = agreed.server_no_context_takeover
            self.receive_window_bits = agreed.client_max_window_bits or 15
            self.receive_no_context_takeover = agreed.client_no_context_takeover
        elif role == "client":
            self.send_window_bits = agreed.client_max_window_bits or 15
            self.send_no_context_takeover = agreed.client_no_context_takeover
            self.receive_window_bits = agreed.server_max_window_bits or 15
            self.receive_no_context_takeover = agreed.server_no_context_takeover
        else:
            raise ValueError("role is 'server' or 'client'")
        if self.send_window_bits == 8:
            raise ValueError("zlib cannot compress with an 8-bit window (madler/zlib#171)")
        self.role = role
        self.agreed = agreed
        self.level = level
        self.mem_level = mem_level
        self._compressor: Optional["zlib._Compress"] = None
        self._inflater: Optional["zlib._Decompress"] = None
        #: A compressed message is arriving: its first frame had RSV1 set, not its last yet.
        self.inflating = False

    def compress(self, message: BytesLike) -> bytes:
        """Compress one whole message; return the payload of its frame (RFC 7692 §7.2.1).

        Raw DEFLATE (no zlib or gzip header: a negative ``wbits``), then a *sync flush*, so
        that the peer can inflate all of it now. That flush ends with ``00 00 ff ff``, the
        same four bytes on every message, so they are removed: the receiver adds them back.
        """
        compressor = self._compressor
        if compressor is None:
            compressor = zlib.compressobj(
                self.level, zlib.DEFLATED, -self.send_window_bits, self.mem_level
            )
        data = compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)
        # With context takeover the compressor, and what it saw, stays for the next message.
        self._compressor = None if self.send_no_context_takeover else compressor
        return data[: -len(TAIL)]

    def inflate_frame(self, frame: Frame, *, max_length: Optional[int]) -> bytes:
        """A received data frame's payload, inflated if its message is compressed (RFC 7692 §6).

        RSV1 on the first frame of a message says it is compressed; on a continuation frame
        it is a :class:`~wslearn.errors.ProtocolError` 1002 (§6.1). ``max_length`` is as for
        :meth:`decompress`.
        """
        if frame.opcode is not Opcode.CONT:
            self.inflating = frame.rsv1
        elif frame.rsv1:
            raise ProtocolError("RSV1 set on a continuation frame (RFC 7692 §6.1)")
        if not self.inflating:
            return frame.payload
        first = frame.opcode is not Opcode.CONT
        message = self.decompress(frame.payload, first=first, last=frame.fin, max_length=max_length)
        self.inflating = not frame.fin
        return message

    def decompress(
        self, payload: BytesLike, *, first: bool, last: bool, max_length: Optional[int]
    ) -> bytes:
        """Inflate one frame's payload of a compressed message (RFC 7692 §7.2.2).

        ``first``: the message's first frame (without context takeover, a new window);
        ``last``: its final frame, to which the four bytes ``00 00 ff ff`` are added back.
        ``max_length``: the most bytes this frame may inflate to (what is left of the size
        limit; ``None`` for none). A few hundred bytes can inflate to megabytes (a "zip
        bomb"), so zlib is asked for a piece at a time, never more than one byte past the
        limit: :class:`~wslearn.errors.ProtocolError` 1009 as soon as it is passed, before
        the rest is inflated. Data zlib cannot inflate is a
        :class:`~wslearn.errors.ProtocolError` 1002.
        """
        if first and (self._inflater is None or self.receive_no_context_takeover):
            self._inflater = zlib.decompressobj(-self.receive_window_bits)
        inflater = self._inflater
        if inflater is None:
            raise ValueError("decompress(first=True) starts a message")
        data = bytes(payload) + TAIL if last else payload
        pieces = []
        size = 0
        while True:
            room = INFLATE_PIECE
            if max_length is not None:
                room = min(room, max_length + 1 - size)
            try:
                piece = inflater.decompress(data, room)  # at most ``room`` bytes out
            except zlib.error as error:
                raise ProtocolError(f"compressed message cannot be inflated: {error}") from None
            pieces.append(piece)
            size += len(piece)
            if max_length is not None and size > max_length:
                raise ProtocolError(
                    f"compressed message inflates past the size limit (stopped {size} bytes "
                    "in, before inflating the rest)",
                    code=CloseCode.MESSAGE_TOO_BIG,
                )
            # What zlib had no room to read waits in unconsumed_tail; and a piece that
            # filled its room may have left output inside zlib: ask again.
            data = inflater.unconsumed_tail
            if not data and len(piece) < room:
                break
        # A window kept for nothing is memory wasted. A stream the sender ended (a block
        # with BFINAL set, §7.2.3.4) cannot go on: the next message needs a new inflater.
        if last and (self.receive_no_context_takeover or inflater.eof):
            self._inflater = None
        return b"".join(pieces)
