"""Checks for notebook 10 (building on WebSocket).

* :func:`check_select_subprotocol` — the server's choice among the client's subprotocols (§4.2.2)
* :func:`check_verify_token` — who a signed, expiring token says its bearer is, or a refusal

The subprotocol judge decides with the rule itself, written out here in a line: the first
protocol the client offers that the server supports, in the client's order (RFC 6455 §4.2.2,
/subprotocol/). The token cases are made with :func:`wslearn.tokens.make_token`, and changed
by hand where a case needs a forged or broken one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Callable, Iterator, List, Optional, Sequence

from ..tokens import make_token
from . import Case, CheckResult, run_cases

__all__ = ["check_select_subprotocol", "check_verify_token"]

ORDER_HINT = (
    "the client lists its protocols in its order of preference, and the server picks the first "
    "one of that list it supports (RFC 6455 §4.2.2): walk the client's list, not the server's"
)
SPLIT_HINT = (
    "one header value may hold several protocols, separated by commas with optional spaces, "
    "and the header may come several times (§11.3.4): split every value on ',' and strip"
)
NONE_HINT = (
    "when no offered protocol is supported, the server answers without a "
    "Sec-WebSocket-Protocol header: return None (not an empty string)"
)


def _offered(values: Sequence[str]) -> List[str]:
    return [token.strip() for value in values for token in value.split(",")]


def _judge(values: Sequence[str], supported: Sequence[str]) -> Callable[[Any], Optional[str]]:
    want = next((p for p in _offered(values) if p in supported), None)

    def judge(result: Any) -> Optional[str]:
        if result == want and (result is None or isinstance(result, str)):
            return None
        if want is None:
            return f"your function returned {result!r}, but no offered protocol is supported"
        if result is None:
            return "your function returned None, but the client offers one the server supports"
        if not isinstance(result, str):
            return f"your function returned {result!r}; return the protocol's name (a str)"
        if result not in _offered(values):
            return f"your function returned {result!r}, which the client did not offer"
        if result not in supported:
            return f"your function returned {result!r}, which the server does not support"
        return f"your function returned {result!r}, but the client prefers another one"

    return judge


def _cases() -> Iterator[Case]:
    cases = [
        ("one offer the server supports", ["chat"], ["chat"], SPLIT_HINT),
        ("no Sec-WebSocket-Protocol header at all", [], ["chat"], NONE_HINT),
        ("an offer the server does not support", ["mqtt"], ["chat"], NONE_HINT),
        ("a server that supports nothing", ["chat"], [], NONE_HINT),
        ("two offers in one header, 'chat.v2, chat.v1'", ["chat.v2, chat.v1"],
         ["chat.v1", "chat.v2"], ORDER_HINT),
        ("'chat.v2, chat.v1' to a server that has only chat.v1", ["chat.v2, chat.v1"],
         ["chat.v1"], SPLIT_HINT),
        ("the header twice: 'mqtt' then 'chat'", ["mqtt", "chat"], ["chat"], SPLIT_HINT),
        ("offers with odd spacing, 'a ,b,  c'", ["a ,b,  c"], ["c"], SPLIT_HINT),
        ("Kubernetes-style offers, 'v5.channel.k8s.io, v4.channel.k8s.io'",
         ["v5.channel.k8s.io, v4.channel.k8s.io"], ["v4.channel.k8s.io", "v5.channel.k8s.io"],
         ORDER_HINT),
        ("an offer that is a prefix of a supported one, 'chat'", ["chat"], ["chat.v1"],
         "compare whole names: 'chat' is not 'chat.v1'"),
        ("an offer in other letter case, 'Chat'", ["Chat"], ["chat"],
         "subprotocol names are compared exactly, letter case included: the server echoes "
         "one of the client's tokens as it is (§4.2.2; RFC 7936 keeps names that differ only "
         "in case out of the registry, it does not make matching ignore case)"),
    ]  # fmt: skip
    for about, values, supported, hint in cases:
        yield Case(about, (list(values), list(supported)), _judge(values, supported), hint)


def check_select_subprotocol(
    select_subprotocol: Callable[[List[str], List[str]], Optional[str]],
) -> CheckResult:
    """Check ``select_subprotocol(offered_values, supported) -> name or None``."""
    return run_cases("select_subprotocol", select_subprotocol, _cases())


# -------------------------------------------------------------------------- verify_token

#: The secret and the time of the token cases: fixed, so that a failure can be reproduced.
SECRET = b"the course's example secret, 32b"
NOW = 1_800_000_000.0

SIGNATURE_HINT = (
    "recompute the signature, HMAC-SHA256(secret, first part) in base64url without '=', and "
    "compare it with the second part using hmac.compare_digest; refuse before reading the payload"
)
EXPIRY_HINT = "a token is good while now < exp: at exp and after, it has expired"
SHAPE_HINT = (
    "a token is exactly two base64url parts joined by one dot; anything else is refused with "
    "a ValueError (split, then check the number of parts)"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _subject_judge(want: str) -> Callable[[Any], Optional[str]]:
    def judge(result: Any) -> Optional[str]:
        if result == want and isinstance(result, str):
            return None
        return f"your function returned {result!r}, but the token is good: return its subject"

    return judge


class _Refused:
    """Marks a case whose token must be refused with a ValueError."""


def _refusal_judge(result: Any) -> Optional[str]:
    if isinstance(result, _Refused):
        return None
    return f"your function returned {result!r}; this token must be refused with a ValueError"


def _refusing(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, with a ValueError it raises turned into a :class:`_Refused` result."""

    def call(*args: Any) -> Any:
        try:
            return function(*args)
        except ValueError:
            return _Refused()

    return call


def _token_cases() -> Iterator[Case]:
    good = make_token(SECRET, "ada", now=NOW, ttl=60)
    body, signature = good.split(".")
    other = make_token(b"another secret of 32 bytes......", "ada", now=NOW, ttl=60)
    as_bob = _b64(json.dumps({"exp": NOW + 60, "sub": "bob"}, separators=(",", ":")).encode())
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    accepted = [
        ("a fresh token for 'ada'", good, NOW, "ada"),
        ("the same token 59 seconds later", good, NOW + 59, "ada"),
        ("a token for 'ľudmila 🙂' (not ASCII)", make_token(SECRET, "ľudmila 🙂", now=NOW, ttl=5),
         NOW, "ľudmila 🙂"),
    ]  # fmt: skip
    for about, token, now, subject in accepted:
        yield Case(about, (token, SECRET, now), _subject_judge(subject), SIGNATURE_HINT)
    refused = [
        ("the token at its expiry time", good, NOW + 60, EXPIRY_HINT),
        ("the token an hour late", good, NOW + 3600, EXPIRY_HINT),
        ("a token signed with another secret", other, NOW, SIGNATURE_HINT),
        ("ada's token with 'bob' put in its payload", f"{as_bob}.{signature}", NOW,
         SIGNATURE_HINT),
        ("ada's token with one character of its signature changed", f"{body}.{flipped}", NOW,
         SIGNATURE_HINT),
        ("a token without its signature", body, NOW, SHAPE_HINT),
        ("a token with an empty signature", f"{body}.", NOW, SHAPE_HINT),
        ("a token of three parts", f"{good}.{signature}", NOW, SHAPE_HINT),
        ("an empty string", "", NOW, SHAPE_HINT),
        ("a signed payload that is not JSON", _signed_text("not json"), NOW,
         "after the signature, decode the payload: JSON that does not parse is a refusal too"),
        ("a signed payload without 'exp'", _signed_text(json.dumps({"sub": "ada"})), NOW,
         "a payload without 'exp' says nothing about its time: refuse it"),
    ]  # fmt: skip
    for about, token, now, hint in refused:
        yield Case(about, (token, SECRET, now), _refusal_judge, hint)


def _signed_text(text: str) -> str:
    """A token for any payload text, signed as :func:`~wslearn.tokens.make_token` signs."""
    body = _b64(text.encode())
    signature = hmac.new(SECRET, body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def check_verify_token(verify_token: Callable[[str, bytes, float], str]) -> CheckResult:
    """Check ``verify_token(token, secret, now) -> subject``, raising ValueError to refuse."""
    if not callable(verify_token):
        return run_cases("verify_token", verify_token, ())  # says what was given instead
    return run_cases("verify_token", _refusing(verify_token), _token_cases())
