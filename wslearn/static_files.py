"""What the live server answers to a plain HTTP request: its test page, or 404 / 405.

A browser that opens ``http://127.0.0.1:8080/`` sends an ordinary ``GET /``, without
``Upgrade: websocket``. The server answers it with the test page of ``wslearn/static/``
(``index.html`` and the ``.js`` / ``.css`` files it loads), so a learner can try the server
from a browser tab. Nothing else is served: a plain name in that folder, with a known
suffix, or 404.

This module only decides the answer (status and bytes); the connection sends it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

from .http11 import http_response

__all__ = ["CONTENT_TYPES", "STATIC", "page_response", "static_file"]

#: The folder the test page's files live in.
STATIC = Path(__file__).parent / "static"

#: The only suffixes served, with the ``Content-Type`` each is sent with.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


def static_file(path: str) -> Optional[Path]:
    """The file of ``wslearn/static/`` that a plain HTTP GET of ``path`` asks for, if any.

    ``/`` is the test page (``index.html``); ``/name.js`` and ``/name.css`` are the files it
    loads. Only a plain name in that folder, with one of those suffixes, is ever served.
    """
    name = path.lstrip("/") or "index.html"
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    file = STATIC / name
    if file.suffix not in CONTENT_TYPES or not file.is_file():
        return None
    return file


def page_response(method: str, path: str) -> Tuple[int, bytes]:
    """The status and the whole HTTP response for a plain (not WebSocket) request.

    ``GET`` of a static file: 200 with the file; of anything else: 404. ``HEAD`` gets the
    same headers without the body. Any other method: 405 Method Not Allowed.
    """
    file = static_file(path)
    if method not in ("GET", "HEAD"):
        status = 405
        response = http_response(405, "only GET\n", headers=[("Allow", "GET")])
    elif file is not None:
        status = 200
        response = http_response(
            200,
            file.read_bytes(),
            content_type=CONTENT_TYPES[file.suffix],
            headers=[("Cache-Control", "no-store")],
        )
    else:
        status = 404
        response = http_response(
            404, f"{path} not found: the test page is at /, WebSocket connects anywhere\n"
        )
    if method == "HEAD":
        response = response.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    return status, response
