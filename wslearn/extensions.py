"""The ``Sec-WebSocket-Extensions`` header: how extensions are offered and answered (RFC 6455 §9.1).

A client lists the extensions it can use, most wanted first; the server answers with the ones
it accepts, with their parameters. Chromium offers exactly one::

    Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits

The grammar (RFC 6455 §9.1) is small: extensions are separated by commas, each is a name
followed by ``;``-separated parameters, and a parameter may have a value, a token or a
quoted string (``bits=10`` or ``bits="10"``; unquoted, the value must still be a token)::

    extension-list = 1#extension
    extension      = extension-token *( ";" extension-param )
    extension-param = token [ "=" (token | quoted-string) ]

This module reads and writes that grammar and nothing else: what a parameter *means* belongs
to the extension (:mod:`wslearn.permessage_deflate`). No sockets here.

    >>> parse_extensions("permessage-deflate; client_max_window_bits, x-foo; a=\\"1\\"")
    [Extension(name='permessage-deflate', params=(('client_max_window_bits', None),)), \
Extension(name='x-foo', params=(('a', '1'),))]
"""

from __future__ import annotations

import re
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

from .errors import WebSocketError

__all__ = [
    "Extension",
    "NegotiationError",
    "split_header_list",
    "parse_extension",
    "parse_extensions",
    "format_extension",
]

# RFC 7230 §3.2.6: a token is one or more of these characters.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A quoted string: a backslash escapes the character after it (RFC 7230 §3.2.6).
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(.)")

#: A parameter: its name, and its value (``None`` when it came without one).
Parameter = Tuple[str, Optional[str]]


class NegotiationError(WebSocketError, ValueError):
    """An extension offer or answer that cannot be accepted as it is.

    Malformed (RFC 6455 §9.1), a parameter the extension does not define, a bad value, a
    parameter given twice, or a configuration this side does not support. A server that meets
    one *declines* that offer and reads the next one (RFC 7692 §7); a client that meets one in
    the server's answer fails the handshake.
    """


class Extension(NamedTuple):
    """One element of the header: an extension's name and its parameters, in order."""

    name: str
    params: Tuple[Parameter, ...] = ()


def split_header_list(value: str, separator: str = ",") -> List[str]:
    """Split ``value`` at each ``separator`` outside a quoted string; strip spaces around parts.

    A comma inside ``"..."`` belongs to the value, so a plain ``value.split(",")`` is wrong.
    An empty part (``"a, , b"``) is kept as ``""``: the caller decides what it means.
    """
    parts: List[str] = []
    current: List[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current).strip(" \t"))
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip(" \t"))
    return parts


def _parameter(text: str) -> Parameter:
    """Read ``name`` or ``name=value`` (value a token or a quoted string holding a token)."""
    name, equals, value = text.partition("=")
    name, value = name.strip(" \t"), value.strip(" \t")
    if not _TOKEN.fullmatch(name):
        raise NegotiationError(f"parameter name {name!r} is not a token (RFC 6455 §9.1)")
    if not equals:
        return name, None
    quoted = _QUOTED.fullmatch(value)
    if quoted:
        value = _ESCAPE.sub(r"\1", quoted.group(1))
    # RFC 6455 §9.1: "the value after quoted-string unescaping MUST conform to the 'token' ABNF".
    if not _TOKEN.fullmatch(value):
        raise NegotiationError(
            f"value {value!r} of parameter {name!r} is not a token (RFC 6455 §9.1)"
        )
    return name, value


def parse_extension(element: str) -> Extension:
    """Read one extension: ``name; param; param=value``.

    Raises :class:`NegotiationError` if it does not follow the grammar of RFC 6455 §9.1.
    """
    name, *params = split_header_list(element, ";")
    if not _TOKEN.fullmatch(name):
        raise NegotiationError(f"extension name {name!r} is not a token (RFC 6455 §9.1)")
    return Extension(name, tuple(_parameter(param) for param in params))


def parse_extensions(values: Union[str, Sequence[str]]) -> List[Extension]:
    """Read every extension of one or more ``Sec-WebSocket-Extensions`` header values.

    The header may appear more than once; its values then form one list, in order (RFC 7230
    §3.2.2). Empty elements are skipped (RFC 7230 §7). Raises :class:`NegotiationError` at the
    first malformed extension: use :func:`split_header_list` and :func:`parse_extension` to
    read the good ones and skip the others, as a server does.
    """
    if isinstance(values, str):
        values = [values]
    return [
        parse_extension(element)
        for value in values
        for element in split_header_list(value)
        if element
    ]


def format_extension(name: str, params: Sequence[Parameter] = ()) -> str:
    """Write one extension as it goes in the header: ``name; param; param=value``.

    >>> format_extension("permessage-deflate", [("server_no_context_takeover", None)])
    'permessage-deflate; server_no_context_takeover'
    """
    return "; ".join([name] + [key if value is None else f"{key}={value}" for key, value in params])
