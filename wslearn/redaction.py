"""Keep secrets out of a recorded handshake, and tell whether it came through a proxy.

On Binder and JupyterHub a notebook's browser cannot reach the kernel's
``127.0.0.1``, so the in-notebook widget connects through jupyter-server-proxy,
which opens a WebSocket of its own to the kernel's server. The request that
arrives then carries the learner's credentials: the Jupyter token in the query
string (``?token=...``), the Jupyter cookies, sometimes an ``Authorization``
header. The server stores, shows and logs handshakes, so
:func:`redact_request` replaces every such value with :data:`REDACTED` first:
only the redacted copy is ever kept.

:func:`proxy_evidence` reads the same request for signs that the proxy, not the
browser, sent it: the :data:`VIA_PROXY` marker the widget adds to its URL,
header names re-cased the way tornado writes them, a forwarded token.

Both take a parsed :class:`~wslearn.http11.Request` and return plain values;
nothing here touches a socket or keeps state.
"""

from __future__ import annotations

import re
from typing import List, Tuple

from .http11 import Headers, Request

__all__ = ["REDACTED", "VIA_PROXY", "redact_request", "proxy_evidence"]

#: What a secret is replaced with, in the target, the headers and the raw request.
REDACTED = "[redacted]"

#: Marks a URL that goes through jupyter-server-proxy, so the server's recording can tell.
#: The widget appends it to the query string of the proxied URL (``...?via=jupyter-proxy``).
VIA_PROXY = "via=jupyter-proxy"

#: Headers whose whole value is a credential.
_SECRET_HEADERS = {"cookie", "authorization", "proxy-authorization", "x-xsrftoken"}
#: Query parameters that carry a credential (Jupyter's ``token``, and the like).
_SECRET_PARAMS = re.compile(
    r"(?i)((?:^|[?&;])(?:token|access_token|_xsrf|auth|password|api_key)=)[^&;#\s]*"
)
#: The marker as a whole query parameter (not, say, ``xvia=jupyter-proxy-2``).
_VIA_PROXY_PARAM = re.compile(r"(?:^|[?&])" + re.escape(VIA_PROXY) + r"(?:&|$)")


def _redact_target(target: str) -> str:
    """``target`` (a path and query, or a whole URL) with each secret parameter's value replaced."""
    return _SECRET_PARAMS.sub(lambda m: m.group(1) + REDACTED, target)


def redact_request(request: Request) -> Tuple[bytes, Headers, str]:
    """Return ``(raw, headers, target)`` with tokens and cookies replaced by ``[redacted]``.

    ``Cookie``, ``Authorization``, ``Proxy-Authorization`` and ``X-XSRFToken`` lose their
    whole value; ``token=``, ``access_token=``, ``_xsrf=``, ``auth=``, ``password=`` and
    ``api_key=`` lose theirs in the target and in ``Referer`` and ``Origin``. ``raw`` is
    the request written out again from the redacted parts, so the original bytes, which
    still hold the secrets, need not be kept anywhere.
    """
    target = _redact_target(request.target)
    items = []
    for name, value in request.headers:
        if name.lower() in _SECRET_HEADERS:
            value = REDACTED
        elif name.lower() in ("referer", "origin"):
            value = _redact_target(value)
        items.append((name, value))
    headers = Headers(items)
    lines = [f"{request.method} {target} {request.version}"]
    lines += [f"{name}: {value}" for name, value in items]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return raw, headers, target


def proxy_evidence(request: Request) -> List[str]:
    """Signs that this handshake was sent by jupyter-server-proxy rather than by the browser.

    The proxy opens its own WebSocket to the kernel's server: it re-cases header
    names (``Sec-Websocket-Key``), forwards the Jupyter token, and the
    in-notebook widget marks its URL with ``via=jupyter-proxy``. An empty list
    means a direct connection.
    """
    evidence = []
    if _VIA_PROXY_PARAM.search(request.target):
        evidence.append("the widget connected through <base url>proxy/<port>/")
    names = [name for name, _ in request.headers]
    if "Sec-Websocket-Key" in names:
        evidence.append("header names re-cased (Sec-Websocket-Key), as tornado does")
    # Not the cookies: browsers send cookies per host, not per port (RFC 6265 §8.5), so a
    # page at 127.0.0.1:8888 sends its Jupyter cookies on a direct connection too.
    if re.search(r"(?:^|[?&])token=", request.target):
        evidence.append("Jupyter token forwarded in the query string")
    return evidence
