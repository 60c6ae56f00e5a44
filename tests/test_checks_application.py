"""The checks of notebook 10 pass right answers and explain typical wrong ones, never the answer."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Callable, List, Optional

import pytest

from wslearn.checks import ExerciseFailed
from wslearn.checks.application import check_select_subprotocol, check_verify_token


def select_subprotocol(offered: List[str], supported: List[str]) -> Optional[str]:
    for value in offered:
        for name in value.split(","):
            if name.strip() in supported:
                return name.strip()
    return None


def test_the_right_answer_passes() -> None:
    assert check_select_subprotocol(select_subprotocol).cases == 11


def server_order(offered: List[str], supported: List[str]) -> Optional[str]:
    names = [n.strip() for v in offered for n in v.split(",")]
    return next((p for p in supported if p in names), None)


def first_header_only(offered: List[str], supported: List[str]) -> Optional[str]:
    return select_subprotocol(offered[:1], supported)


def no_split(offered: List[str], supported: List[str]) -> Optional[str]:
    return next((v for v in offered if v in supported), None)


def empty_string(offered: List[str], supported: List[str]) -> Optional[str]:
    return select_subprotocol(offered, supported) or ""


def substring(offered: List[str], supported: List[str]) -> Optional[str]:
    for value in offered:
        for name in value.split(","):
            if any(name.strip() in s for s in supported):
                return name.strip()
    return None


def case_blind(offered: List[str], supported: List[str]) -> Optional[str]:
    lowered = [s.lower() for s in supported]
    names = [n.strip() for v in offered for n in v.split(",")]
    return next((n for n in names if n.lower() in lowered), None)


@pytest.mark.parametrize(
    "function, words",
    [
        (server_order, "client prefers another one"),
        (first_header_only, "the header twice"),
        (no_split, "two offers in one header"),
        (empty_string, "no offered protocol is supported"),
        (substring, "prefix of a supported one"),
        (case_blind, "other letter case"),
    ],
)
def test_wrong_answers_are_explained(function: Callable, words: str) -> None:
    with pytest.raises(ExerciseFailed) as failed:
        check_select_subprotocol(function)
    assert words in str(failed.value)


# ----------------------------------------------------------------- verify_token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verify_token(token: str, secret: bytes, now: float) -> str:
    parts = token.split(".")
    if len(parts) != 2 or not all(parts):
        raise ValueError("not a token")
    body, signature = parts
    expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature, expected):
        raise ValueError("forged")
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        subject, expiry = payload["sub"], payload["exp"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ValueError("malformed") from None
    if now >= expiry:
        raise ValueError("expired")
    return subject


def test_the_right_token_check_passes() -> None:
    assert check_verify_token(verify_token).cases == 14


def unsigned(token: str, secret: bytes, now: float) -> str:
    body = token.split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if now >= payload["exp"]:
        raise ValueError("expired")
    return payload["sub"]


def expiry_inclusive(token: str, secret: bytes, now: float) -> str:
    return verify_token(token, secret, now - 0.5)


def key_error_on_missing_exp(token: str, secret: bytes, now: float) -> str:
    body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    verify_token(token, secret, 0.0) if "exp" in payload else None
    if now >= payload["exp"]:
        raise ValueError("expired")
    return payload["sub"]


@pytest.mark.parametrize(
    "function, words",
    [
        (unsigned, "another secret"),
        (expiry_inclusive, "at its expiry time"),
        (key_error_on_missing_exp, "raised KeyError"),
        (lambda token, secret, now: None, "the token is good"),
    ],
)
def test_wrong_token_checks_are_explained(function: Callable, words: str) -> None:
    with pytest.raises(ExerciseFailed) as failed:
        check_verify_token(function)
    assert words in str(failed.value)


def test_a_value_that_is_no_function_is_reported() -> None:
    with pytest.raises(ExerciseFailed, match="expected a function"):
        check_verify_token("verify_token")
