"""Signed, expiring tokens: made and checked with a fixed secret and a time passed in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import List, Tuple

import pytest

from wslearn.tokens import (
    MAX_TOKEN_LENGTH,
    ExpiredToken,
    ForgedToken,
    MalformedToken,
    TokenError,
    check_token,
    make_token,
)

SECRET = b"s" * 32
OTHER_SECRET = b"o" * 32
NOW = 1_700_000_000.0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(body: str, secret: bytes = SECRET) -> str:
    """A token with any first part, signed the way make_token signs."""
    return f"{body}.{b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())}"


def test_a_token_gives_back_its_subject_until_it_expires() -> None:
    token = make_token(SECRET, "ada", now=NOW, ttl=60)
    assert check_token(token, SECRET, now=NOW) == "ada"
    assert check_token(token, SECRET, now=NOW + 59.9) == "ada"
    with pytest.raises(ExpiredToken, match="expired 0 s ago"):
        check_token(token, SECRET, now=NOW + 60)  # expired when now >= exp
    with pytest.raises(ExpiredToken, match="expired 3600 s ago"):
        check_token(token, SECRET, now=NOW + 3660)


def test_the_token_is_base64url_json_and_an_hmac_sha256_of_it() -> None:
    token = make_token(SECRET, "ünïcode user", now=NOW, ttl=30)
    body, signature = token.split(".")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert payload == {"exp": NOW + 30, "sub": "ünïcode user"}
    assert token == signed(body)  # the signature covers the encoded first part
    assert len(base64.urlsafe_b64decode(signature + "=")) == 32  # SHA-256: 32 bytes
    assert check_token(token, SECRET, now=NOW) == "ünïcode user"


def test_another_secret_or_a_changed_payload_is_a_forgery() -> None:
    token = make_token(SECRET, "ada", now=NOW, ttl=60)
    with pytest.raises(ForgedToken):
        check_token(token, OTHER_SECRET, now=NOW)
    body, signature = token.split(".")
    admin = b64(json.dumps({"exp": NOW + 60, "sub": "admin"}).encode())
    with pytest.raises(ForgedToken):
        check_token(f"{admin}.{signature}", SECRET, now=NOW)  # the payload swapped
    longer = b64(json.dumps({"exp": NOW + 10**9, "sub": "ada"}).encode())
    with pytest.raises(ForgedToken):
        check_token(f"{longer}.{signature}", SECRET, now=NOW)  # the expiry pushed back
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    with pytest.raises(ForgedToken):
        check_token(f"{body}.{flipped}", SECRET, now=NOW)
    with pytest.raises(ForgedToken):
        check_token(f"{body}.{signature[:-2]}", SECRET, now=NOW)  # a shorter signature


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b.c",
        ".abc",
        "abc.",
        "abc def.ghi",
        "abc=.def",  # padding is not part of base64url here
        "é.abc",
        "a" * (MAX_TOKEN_LENGTH + 1),
        "a" * 600 + "." + "b" * 600,
    ],
)
def test_what_is_not_shaped_like_a_token_is_malformed(token: str) -> None:
    with pytest.raises(MalformedToken):
        check_token(token, SECRET, now=NOW)


def test_a_token_that_is_not_a_string_is_malformed() -> None:
    with pytest.raises(MalformedToken):
        check_token(b"abc.def", SECRET, now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"sub": "ada"}',
        b'{"exp": 1e99}',
        b'{"sub": 7, "exp": 1e99}',
        b'{"sub": "ada", "exp": "tomorrow"}',
    ],
)
def test_a_signed_payload_without_a_subject_and_an_expiry_is_malformed(payload: bytes) -> None:
    # Only a holder of the secret can make these: checked all the same, after the signature.
    with pytest.raises(MalformedToken):
        check_token(signed(b64(payload)), SECRET, now=NOW)


def test_the_signature_is_checked_before_the_payload_is_read() -> None:
    bad_payload = signed(b64(b"not json"), OTHER_SECRET)
    with pytest.raises(ForgedToken):
        check_token(bad_payload, SECRET, now=NOW)
    expired = make_token(OTHER_SECRET, "ada", now=NOW - 100, ttl=1)
    with pytest.raises(ForgedToken):
        check_token(expired, SECRET, now=NOW)  # forged first, though also expired


def test_the_signatures_are_compared_in_constant_time(monkeypatch) -> None:
    calls: List[Tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    token = make_token(SECRET, "ada", now=NOW, ttl=60)
    assert check_token(token, SECRET, now=NOW) == "ada"
    with pytest.raises(ForgedToken):
        check_token(token, OTHER_SECRET, now=NOW)
    signature = token.split(".")[1].encode()
    assert len(calls) == 2 and calls[0] == (signature, signature)
    assert calls[1][0] == signature and calls[1][1] != signature


def test_all_token_errors_are_value_errors() -> None:
    for error in (MalformedToken, ForgedToken, ExpiredToken):
        assert issubclass(error, TokenError) and issubclass(error, ValueError)


@pytest.mark.parametrize(
    "secret, subject, now, ttl, error",
    [
        (b"short", "ada", NOW, 60, ValueError),
        ("a str secret of 32 characters...", "ada", NOW, 60, TypeError),
        (SECRET, "", NOW, 60, ValueError),
        (SECRET, "ada", NOW, 0, ValueError),
        (SECRET, "ada", NOW, -5, ValueError),
        (SECRET, "ada", float("nan"), 60, ValueError),
        (SECRET, "ada", NOW, float("inf"), ValueError),
        (SECRET, "x" * MAX_TOKEN_LENGTH, NOW, 60, ValueError),
    ],
)
def test_make_token_refuses_bad_arguments(secret, subject, now, ttl, error) -> None:
    with pytest.raises(error):
        make_token(secret, subject, now=now, ttl=ttl)


def test_check_token_refuses_a_short_secret() -> None:
    token = make_token(SECRET, "ada", now=NOW, ttl=60)
    with pytest.raises(ValueError, match="guessable"):
        check_token(token, b"", now=NOW)  # an empty secret would let anyone sign


def test_a_signed_first_part_that_is_not_base64_is_malformed() -> None:
    with pytest.raises(MalformedToken):
        check_token(signed("a"), SECRET, now=NOW)  # one base64 character cannot be decoded
