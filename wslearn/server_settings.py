"""The live server's settings that each connection follows, compression included.

:class:`~wslearn.server.Server` takes its options as keyword arguments (``wslearn.serve(...)``)
and hands every new connection one frozen :class:`ConnectionSettings`: the limits that protect
the server from its peers, and :class:`CompressionSettings`, whether and how it accepts
permessage-deflate (RFC 7692).

Compression is off by default: the course shows plain frames, and behind jupyter-server-proxy
(which offers deflate to the server itself) the compressed frames would be the proxy's. When
it is on, each connection that negotiates it keeps a zlib compressor and an inflater for as
long as it lives (context takeover), so the settings bound that memory: a 4 KiB window
(``window_bits=12``) and a small hash table (``mem_level=5``), websockets' choices for its
servers. zlib's own formula puts that at 36 KiB per connection
(:meth:`CompressionSettings.memory`). Measured here (``tracemalloc``, 100 connections that each
sent one 7 KB message, against the same without compression): 42 KiB more per connection with
Chromium's offer, 70 KiB when the offer has no ``client_max_window_bits`` (the server must then
inflate with a 32 KiB window), and 294 KiB with zlib's own defaults (``window_bits=15,
mem_level=8``). A server with a thousand open connections: 40 MiB, against 290 MiB.

No sockets here: this module only holds and checks values, and builds the codec.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence, Tuple, Union

from .keepalive import DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT
from .outbox import DEFAULT_WRITE_LIMIT, DEFAULT_WRITE_TIMEOUT
from .permessage_deflate import DeflateParameters, PerMessageDeflate, negotiate_deflate

__all__ = [
    "DEFAULT_COMPRESSION_LEVEL",
    "DEFAULT_MEM_LEVEL",
    "DEFAULT_WINDOW_BITS",
    "CompressionSettings",
    "ConnectionSettings",
]

#: The LZ77 window, as a power of two, in both directions: 4 KiB instead of zlib's 32 KiB.
#: Small messages compress almost as well; websockets' servers choose 12 too.
DEFAULT_WINDOW_BITS = 12
#: zlib's ``memLevel`` for the compressor: its hash table and buffers take
#: ``2 ** (mem_level + 9)`` bytes, 16 KiB at 5 (zlib's default 8: 128 KiB). websockets': 5.
DEFAULT_MEM_LEVEL = 5
#: zlib's level, 1 (fast) to 9 (small); 6 is zlib's own default.
DEFAULT_COMPRESSION_LEVEL = 6


@dataclasses.dataclass(frozen=True)
class CompressionSettings:
    """Whether the server accepts permessage-deflate, and with what limits (RFC 7692).

    ``compression``: ``None`` (plain frames) or ``"deflate"``. ``window_bits`` (9 to 15) caps
    the window the server compresses with and, when the client's offer allows it
    (``client_max_window_bits``, as browsers send), the window the client compresses with.
    8 is valid in the RFC, but zlib cannot compress with a 256-byte window. ``mem_level``
    (1-9) and ``level`` (0-9) are :func:`zlib.compressobj`'s.
    """

    compression: Optional[str] = None
    window_bits: int = DEFAULT_WINDOW_BITS
    mem_level: int = DEFAULT_MEM_LEVEL
    level: int = DEFAULT_COMPRESSION_LEVEL

    def __post_init__(self) -> None:
        if self.compression not in (None, "deflate"):
            raise ValueError(f"compression is None or 'deflate', not {self.compression!r}")
        if not 9 <= self.window_bits <= 15:
            raise ValueError(f"window_bits goes from 9 to 15, not {self.window_bits}")
        if not 1 <= self.mem_level <= 9:
            raise ValueError(f"mem_level goes from 1 to 9, not {self.mem_level}")
        if not 0 <= self.level <= 9:
            raise ValueError(f"compression_level goes from 0 to 9, not {self.level}")

    @property
    def enabled(self) -> bool:
        """True if the server accepts permessage-deflate offers."""
        return self.compression is not None

    def limits(self) -> DeflateParameters:
        """The server's side of the negotiation: at most ``window_bits`` each way."""
        return DeflateParameters(
            server_max_window_bits=self.window_bits, client_max_window_bits=self.window_bits
        )

    def accept(
        self, offers: Sequence[str]
    ) -> Tuple[Optional[DeflateParameters], Optional[PerMessageDeflate]]:
        """Answer the ``Sec-WebSocket-Extensions`` values of a request (RFC 7692 §5).

        Returns what goes in the 101 and the server's codec, or ``(None, None)`` when
        compression is off or no offer was acceptable: the connection then has plain frames.
        """
        if not self.enabled:
            return None, None
        agreed = negotiate_deflate(offers, self.limits())
        if agreed is None:
            return None, None
        codec = PerMessageDeflate("server", agreed, level=self.level, mem_level=self.mem_level)
        return agreed, codec

    def memory(self) -> int:
        """zlib's memory for one connection's two streams, in bytes, as ``zconf.h`` states it.

        The compressor takes ``2 ** (window_bits + 2) + 2 ** (mem_level + 9)`` bytes, the
        inflater ``2 ** window_bits``, plus a few KiB of state each: with the defaults
        16 + 16 + 4 KiB. A client whose offer has no ``client_max_window_bits`` cannot be
        given a smaller window: its messages then need a 32 KiB inflater window.
        """
        bits = self.window_bits
        return 2 ** (bits + 2) + 2 ** (self.mem_level + 9) + 2**bits


@dataclasses.dataclass(frozen=True)
class ConnectionSettings:
    """The server's options that each of its connections follows (see :func:`wslearn.serve`)."""

    max_size: Optional[int]
    origins: Union[str, Sequence[Optional[str]], None]
    subprotocols: Sequence[str]
    handshake_timeout: float
    close_timeout: float
    preview_bytes: int
    #: A sender waits while more than this many bytes are unsent to the peer...
    write_limit: int = DEFAULT_WRITE_LIMIT
    #: ...for this many seconds at most; a peer that reads nothing this long is closed.
    write_timeout: float = DEFAULT_WRITE_TIMEOUT
    #: Ping a quiet peer after this many seconds (None: never)...
    ping_interval: Optional[float] = DEFAULT_PING_INTERVAL
    #: ...and close it if the Pong takes longer than this (None: never close).
    ping_timeout: Optional[float] = DEFAULT_PING_TIMEOUT
    #: permessage-deflate: off unless ``compression="deflate"``.
    compression: CompressionSettings = CompressionSettings()
    #: Record each connection's first incoming message redacted: the handler says it holds
    #: a credential (``secret_first_message``, :mod:`wslearn.auth`).
    secret_first_message: bool = False
    #: Refuse (403) the programs of another user of this machine (:mod:`wslearn.peer_user`).
    same_user_only: bool = True
