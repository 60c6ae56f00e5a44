"""Signed, expiring tokens: who a client is, in a string a server can check alone.

A token here is two base64url parts joined by a dot, like a JSON Web Token's body and
signature::

    eyJleHAiOjE3MDAwMDAwNjAuMCwic3ViIjoiYWRhIn0 . 6Yb0...      (without the spaces)
    └── base64url(JSON {"exp": ..., "sub": ...}) ┘   └ base64url(HMAC-SHA256(secret, part 1))

* **HMAC-SHA256** (RFC 2104, FIPS 180-4) makes the signature: without ``secret`` nobody can
  make a signature that fits a payload, so nobody can change ``"sub"`` or ``"exp"``. It is
  not encryption: anyone can read the payload (base64 is an encoding, not a cipher).
* **base64url** (RFC 4648 §5) without padding keeps the token to ``A-Z a-z 0-9 - _ .``: safe
  in a URL, a header or a JSON string, with nothing to escape.
* **expiry**: a token is good until ``"exp"``; a stolen token is worth little for long.

:func:`check_token` checks the signature first, with :func:`hmac.compare_digest` (its time
does not depend on where two strings first differ, so an attacker cannot find a signature
byte by byte by timing), and only then reads the payload: data that is not signed is never
parsed. Each way to fail is its own error (:class:`MalformedToken`, :class:`ForgedToken`,
:class:`ExpiredToken`, all :class:`TokenError`, a ``ValueError``).

The module is sans-I/O like the protocol core: no clock inside, the caller passes ``now``
(seconds, as ``time.time()`` gives). Tests pass any time they like, and the rule "expired
when now >= exp" is visible in the signature. Where a token is checked on a live server,
with a real clock, see :mod:`wslearn.auth`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re

from .errors import WebSocketError

__all__ = [
    "MAX_TOKEN_LENGTH",
    "MIN_SECRET_LENGTH",
    "ExpiredToken",
    "ForgedToken",
    "MalformedToken",
    "TokenError",
    "check_token",
    "make_token",
]

#: A secret shorter than this is refused: 16 random bytes (128 bits) cannot be guessed.
#: ``secrets.token_bytes(32)`` makes a good one.
MIN_SECRET_LENGTH = 16
#: A longer string is not read at all (a check of a huge string would be work for nothing).
MAX_TOKEN_LENGTH = 1024

#: What a token looks like: two base64url parts, without padding, joined by a dot.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class TokenError(WebSocketError, ValueError):
    """A token that does not let its bearer in; the subclass says why."""


class MalformedToken(TokenError):
    """Not a token at all: wrong shape, characters, length or payload."""


class ForgedToken(TokenError):
    """A token whose signature does not fit: made or changed without the secret."""


class ExpiredToken(TokenError):
    """A genuine token whose time is up."""


def _b64encode(data: bytes) -> str:
    """base64url without the ``=`` padding (RFC 4648 §5; RFC 7515 §2 does the same)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, body: str) -> str:
    """The encoded HMAC-SHA256 of the token's first part (its encoded text, as sent)."""
    return _b64encode(hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest())


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes):
        raise TypeError("the secret is bytes, e.g. secrets.token_bytes(32)")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"a secret of {len(secret)} bytes is guessable: use 16 or more")


def make_token(secret: bytes, subject: str, *, now: float, ttl: float) -> str:
    """A token that says ``subject``, good from ``now`` for ``ttl`` seconds.

    ``secret`` signs it, and only a holder of the same secret can check it. ``now`` is the
    current time in seconds (``time.time()``); keep ``ttl`` short (seconds or minutes)
    when the token travels where it may be seen (see :mod:`wslearn.auth`).
    """
    _check_secret(secret)
    if not isinstance(subject, str) or not subject:
        raise ValueError("the subject is a non-empty string, e.g. a user name")
    if not (math.isfinite(now) and math.isfinite(ttl) and ttl > 0):
        raise ValueError("now and ttl are finite numbers of seconds, and ttl > 0")
    payload = json.dumps({"exp": now + ttl, "sub": subject}, separators=(",", ":"))
    body = _b64encode(payload.encode("utf-8"))
    token = f"{body}.{_signature(secret, body)}"
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError(f"subject too long: the token would pass {MAX_TOKEN_LENGTH} characters")
    return token


def check_token(token: str, secret: bytes, *, now: float) -> str:
    """The subject of ``token`` if ``secret`` signed it and it has not expired at ``now``.

    Raises :class:`MalformedToken`, :class:`ForgedToken` or :class:`ExpiredToken`, in the
    order checked: shape, signature, then the signed payload and its expiry.
    """
    _check_secret(secret)
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise MalformedToken(f"a token is a string of at most {MAX_TOKEN_LENGTH} characters")
    if not _TOKEN_SHAPE.fullmatch(token):
        raise MalformedToken("a token is two base64url parts joined by a dot")
    body, signature = token.split(".")
    # Compare the whole encoded signatures in constant time; both are ASCII (checked above).
    if not hmac.compare_digest(signature.encode("ascii"), _signature(secret, body).encode()):
        raise ForgedToken("the signature does not match: the token was not made with this secret")
    try:  # Signed by us, so it should be well formed; checked all the same.
        payload = json.loads(_b64decode(body).decode("utf-8"))
        subject, expiry = payload["sub"], payload["exp"]
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError):
        raise MalformedToken("the signed payload is not {'sub': ..., 'exp': ...}") from None
    if not isinstance(subject, str) or not isinstance(expiry, (int, float)):
        raise MalformedToken("the signed payload's 'sub' is not a string or 'exp' not a time")
    if now >= expiry:
        raise ExpiredToken(f"the token expired {now - expiry:.0f} s ago")
    return subject
