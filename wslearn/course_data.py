"""The data the course ships: what a real Chromium sent to ``wslearn.serve()``.

On Binder or JupyterHub the browser's frames reach the kernel through a proxy
that re-sends them, so a learner there never sees a browser's own bytes. The
course therefore ships one recording of a browser talking directly:
``wslearn/data/chromium_frames.json``, written by
``tests/helpers/capture_browser_frames.py``. It holds

* ``about``, ``browser``, ``user_agent``, ``captured``: what the file is, which browser, when;
* ``request``: the handshake as the server recorded it (already redacted);
* ``messages``: the eight messages the page sent, in words;
* ``frames``: each frame's header bytes, masking key, fields,
  the first 64 payload bytes as they crossed the wire (masked) and unmasked,
  and where the frame started in the byte stream;
* ``reads``: the sizes of the server's ``recv()`` results;
* the closing handshake: ``close_event``, ``server_close_frame_hex``, ...

Notebooks and checks load it with :func:`chromium_capture`, never by building
the path themselves, and :func:`records_from_capture` turns its frames into the
recorder's :class:`~wslearn.recording.FrameRecord` objects, so the views show
them exactly like frames recorded live.

A second recording, ``wslearn/data/chromium_subprotocols.json``
(:func:`chromium_subprotocols`, written by ``tests/helpers/capture_browser_subprotocols.py``),
shows Chromium negotiating a subprotocol (``Sec-WebSocket-Protocol``, RFC 6455 §4) with a
server that picks one it offered, none, or one it did not offer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

from .frames import FrameHeader, parse_frame_header
from .recording import FrameRecord

__all__ = ["CHROMIUM_CAPTURE", "CHROMIUM_CAPTURE_DEFLATE", "chromium_capture"]
__all__ += ["records_from_capture", "CHROMIUM_SUBPROTOCOLS", "chromium_subprotocols"]

#: Frames a real Chromium sent to ``wslearn.serve()`` (``tests/helpers/capture_browser_frames.py``).
CHROMIUM_CAPTURE = Path(__file__).parent / "data" / "chromium_frames.json"
#: The same messages, sent to ``wslearn.serve(compression="deflate")``: permessage-deflate on.
CHROMIUM_CAPTURE_DEFLATE = Path(__file__).parent / "data" / "chromium_frames_deflate.json"
#: Chromium offering subprotocols (``tests/helpers/capture_browser_subprotocols.py``).
CHROMIUM_SUBPROTOCOLS = Path(__file__).parent / "data" / "chromium_subprotocols.json"
#: ``python -m benchmarks.concurrency``'s last full run, as the course ships it.
CONCURRENCY_BENCHMARK = Path(__file__).parent / "data" / "concurrency_benchmark.json"


def chromium_capture(compressed: bool = False) -> Dict[str, Any]:
    """The shipped Chromium capture: browser, redacted handshake, recv sizes, every frame.

    ``compressed``: the capture with permessage-deflate agreed, whose frames also hold RSV1,
    their whole (compressed) payload and what each message inflated to, and which holds the
    server's answer to the offer (``extensions_answer``).
    """
    path = CHROMIUM_CAPTURE_DEFLATE if compressed else CHROMIUM_CAPTURE
    return json.loads(path.read_text(encoding="utf-8"))


def records_from_capture(capture: Dict[str, Any]) -> List[FrameRecord]:
    """The capture's inbound frames as :class:`FrameRecord` objects, for the views.

    The capture keeps no clock and one connection, so every record has ``time=0.0``
    and ``connection=1``; a browser masks every frame and sets no RSV bit.
    """
    return [
        FrameRecord(
            time=0.0,
            connection=1,
            direction="in",
            head=_parsed_header(f["header_hex"]),
            wire_preview=bytes.fromhex(f["wire_preview_hex"]),
            payload_preview=bytes.fromhex(f["payload_preview_hex"]),
            stream_offset=f["stream_offset"],
        )
        for f in capture["frames"]
    ]


def _parsed_header(header_hex: str) -> FrameHeader:
    """A saved header's bytes, parsed: the record keeps the header as the reader made it."""
    header = parse_frame_header(bytes.fromhex(header_hex))
    if header is None:
        raise ValueError(f"not a whole frame header: {header_hex}")
    return header


def chromium_subprotocols() -> Dict[str, Any]:
    """The shipped recording of Chromium negotiating subprotocols on a direct connection.

    A plain dict (a fresh copy on each call): ``about``, ``captured``, ``browser``, ``offered``
    (the list the page offers in the first cases, ``["chat.v2", "chat.v1"]``), and ``cases``,
    one dict per connection, in this order:

    ``picks-one-offered``
        ``wslearn.serve(subprotocols=["chat.v1"])``: the page opens with ``protocol`` chat.v1.
    ``picks-none``
        ``wslearn.serve()``, no subprotocol: the 101 names none, and Chromium, having offered
        some, **fails** the connection (close 1006), as the WHATWG standard tells browsers to.
    ``picks-one-not-offered``
        a raw socket's 101 names chat.v3: Chromium fails the connection (§4.1, step 6).
    ``offers-none``
        the page offers nothing to ``wslearn.serve(subprotocols=["chat.v1"])``: it opens,
        with ``protocol`` ``""``.
    ``offers-none-gets-one``
        the page offers nothing and the raw socket's 101 names chat.v3: it fails.

    Each case holds ``name``, ``what`` (in words), ``offered`` (what the page passed to
    ``new WebSocket(url, protocols)``), ``server`` (in words) and ``supported`` (the wslearn
    server's list; ``None`` for the raw socket), ``request`` (the handshake as received,
    redacted like the server's recording), ``request_protocol_headers`` and
    ``response_protocol_headers`` (every ``Sec-WebSocket-Protocol`` value, exactly as sent),
    ``response`` (the server's answer head, as sent), and ``page``: what the page saw,
    ``opened``, ``protocol`` (``ws.protocol`` once open, else ``None``), ``error_event``,
    ``close`` (``code``, ``reason``, ``wasClean``) and ``console`` (Chromium's console messages,
    which say why it failed; ports replaced by ``<port>``). The raw socket's cases add
    ``after_response_hex`` (what Chromium sent after the 101: nothing) and
    ``browser_closed_tcp``.

    ``proxy`` holds the same offer through jupyter-server-proxy (``<base url>proxy/<port>/``,
    as on Binder), to ``wslearn.serve(subprotocols=["chat.v1"])`` and to ``wslearn.serve()``:
    ``cases`` with ``supported``, ``server_received`` (the request the kernel's server got,
    redacted) and ``server_received_protocol_headers``, ``server_answer`` (its 101) and
    ``page`` (as above, plus ``echo``). The proxy passes the offer on, but answers the browser
    by itself with the first subprotocol offered, whatever the server picked: the page's
    ``ws.protocol`` can name a subprotocol the server did not agree to.
    """
    return json.loads(CHROMIUM_SUBPROTOCOLS.read_text(encoding="utf-8"))


def concurrency_benchmark() -> Dict[str, Any]:
    """The shipped run of ``python -m benchmarks.concurrency``: three echo servers at 1 to 1000
    connections (wslearn's threaded server, wslearn's asyncio server, websockets' asyncio one).

    ``machine`` and ``date`` say where and when it ran, ``settings`` how (connection counts,
    rounds, message size); ``figures[server][connections]`` holds ``messages_per_s`` (the
    median of the rounds, each round in ``rates``), ``server_cpu_us_per_message`` and
    ``memory_per_connection_kib``. :func:`wslearn.views.plot_concurrency` draws it.
    """
    with open(CONCURRENCY_BENCHMARK, encoding="utf-8") as file:
        return json.load(file)
