"""An asyncio WebSocket client: the opening handshake of RFC 6455 §4.1, then the shared driver.

In a notebook cell::

    connection = await wslearn.asyncio.connect("ws://127.0.0.1:8765/")
    await connection.send("Hello")
    print(await connection.recv())
    await connection.close()

The handshake is the core's, exactly as in the threaded :mod:`wslearn.client`: the request
from :func:`~wslearn.handshake.client_request` (a new random key each time), the answer read
until its blank line with :func:`~wslearn.http11.parse_response` and checked with
:func:`~wslearn.handshake.check_response`. Then :class:`ClientConnection` drives a core
``Connection("client")``, which masks every frame it sends with a fresh random key (§5.3).
"""

from __future__ import annotations

import asyncio
from typing import Iterable, Optional, Sequence, Tuple

from ..client import deflate_offer, split_ws_url
from ..connection import DEFAULT_MAX_SIZE, Connection
from ..errors import InvalidResponse
from ..handshake import check_response, client_request
from ..http11 import Response, parse_response
from ..keepalive import DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT
from ..outbox import DEFAULT_WRITE_LIMIT, DEFAULT_WRITE_TIMEOUT
from ..permessage_deflate import PerMessageDeflate, check_deflate_answer
from .connection import DEFAULT_MAX_QUEUE, AsyncConnection, Limits, read_head

__all__ = ["ClientConnection", "connect"]


class ClientConnection(AsyncConnection):
    """A connection we opened (:func:`connect` makes it): ``response`` is the server's 101
    (its headers), ``subprotocol`` the one the server chose among ours (or None)."""

    response: Response


async def connect(
    url: str,
    *,
    subprotocols: Sequence[str] = (),
    origin: Optional[str] = None,
    extra_headers: Iterable[Tuple[str, str]] = (),
    max_size: Optional[int] = DEFAULT_MAX_SIZE,
    open_timeout: float = 10.0,
    close_timeout: float = 3.0,
    compression: Optional[str] = None,
    ping_interval: Optional[float] = DEFAULT_PING_INTERVAL,
    ping_timeout: Optional[float] = DEFAULT_PING_TIMEOUT,
    write_limit: int = DEFAULT_WRITE_LIMIT,
    write_timeout: float = DEFAULT_WRITE_TIMEOUT,
    max_queue: int = DEFAULT_MAX_QUEUE,
) -> ClientConnection:
    """Open a WebSocket connection to ``url`` (``ws://host[:port]/path?query``); return it.

    The options of the threaded :func:`wslearn.client.connect`, with the same meaning:
    ``open_timeout`` bounds TCP's connection and the whole handshake (then
    :class:`TimeoutError`); a refusal, or a 101 that is not a valid answer to *our* key,
    subprotocols and extensions, raises :class:`~wslearn.errors.InvalidResponse` (with the
    server's ``status``): §4.1 says the client "MUST _Fail the WebSocket Connection_".
    ``compression="deflate"`` offers permessage-deflate (RFC 7692). The other options are
    the asyncio driver's (:class:`~wslearn.asyncio.connection.Limits`): keepalive Pings every
    ``ping_interval`` seconds, the back-pressure of ``write_limit``, ``max_queue``.
    """
    offer = deflate_offer(compression)
    host, port, host_header, resource = split_ws_url(url)
    request, key = client_request(
        host_header, resource, origin=origin, subprotocols=subprotocols,
        extra_headers=extra_headers, deflate=offer,
    )  # fmt: skip
    try:
        reader, writer, response, rest = await asyncio.wait_for(
            _exchange(host, port, request), open_timeout
        )
    except asyncio.TimeoutError:
        raise TimeoutError(f"no answer to the opening handshake within {open_timeout} s") from None
    try:
        subprotocol = check_response(response, key, subprotocols=subprotocols, deflate=offer)
        codec = None
        if offer is not None:  # checked already: this only reads what was agreed
            answer = response.headers.get_all("Sec-WebSocket-Extensions")
            agreed = check_deflate_answer(answer, offer)
            codec = PerMessageDeflate("client", agreed) if agreed is not None else None
    except BaseException:
        writer.transport.abort()  # a handshake that failed leaves no connection open
        raise
    limits = Limits(
        close_timeout, ping_interval, ping_timeout, write_limit, write_timeout, max_queue
    )
    protocol = Connection("client", max_size=max_size, deflate=codec)
    connection = ClientConnection(protocol, reader, writer, limits, rest)
    connection.response, connection.subprotocol = response, subprotocol
    return connection


async def _exchange(
    host: str, port: int, request: bytes
) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter, Response, bytes]:
    """Connect, send the request, read the answer's head (and any bytes right behind it)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        response, rest = await read_head(reader, parse_response)
    except EOFError as error:
        writer.transport.abort()
        raise InvalidResponse(f"no answer to our handshake: {error}") from None
    except BaseException:  # too slow (cancelled by the timeout), or a malformed answer
        writer.transport.abort()
        raise
    return reader, writer, response, rest
