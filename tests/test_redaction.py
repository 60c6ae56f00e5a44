"""wslearn.redaction: no secret survives into a record, and a proxied handshake is recognised."""

from __future__ import annotations

from typing import List, Optional, Tuple

import pytest

import wslearn
from wslearn.redaction import REDACTED, VIA_PROXY, proxy_evidence, redact_request

TOKEN = "s3cr3t-t0ken-abc"
BROWSER_HEADERS = [
    ("Host", "127.0.0.1:8765"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
]


def request(target: str = "/", headers: Optional[List[Tuple[str, str]]] = None) -> wslearn.Request:
    """A handshake request as the server parses it, from its target and headers."""
    lines = [f"GET {target} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in (headers or BROWSER_HEADERS)]
    return wslearn.parse_request(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


# ---------------------------------------------------------------- redact_request


@pytest.mark.parametrize(
    "name", ["Cookie", "Authorization", "Proxy-Authorization", "X-XSRFToken", "cookie"]
)
def test_a_credential_header_loses_its_whole_value(name: str) -> None:
    raw, headers, _ = redact_request(request(headers=BROWSER_HEADERS + [(name, f"x {TOKEN}")]))
    assert headers[name] == REDACTED
    assert TOKEN not in raw.decode("latin-1")
    assert f"{name}: {REDACTED}\r\n".encode() in raw


@pytest.mark.parametrize(
    "param", ["token", "access_token", "_xsrf", "auth", "password", "api_key", "TOKEN"]
)
def test_a_credential_in_the_query_string_is_replaced(param: str) -> None:
    raw, _, target = redact_request(request(f"/chat?room=1&{param}={TOKEN}&x=2"))
    assert target == f"/chat?room=1&{param}={REDACTED}&x=2"
    assert TOKEN not in raw.decode("latin-1")
    assert raw.startswith(f"GET {target} HTTP/1.1\r\n".encode())


def test_the_first_and_last_query_parameters_and_semicolons_are_redacted_too() -> None:
    _, _, target = redact_request(request(f"/?token={TOKEN};_xsrf=2|abc#top"))
    assert target == f"/?token={REDACTED};_xsrf={REDACTED}#top"


def test_referer_and_origin_keep_their_url_but_lose_its_token() -> None:
    referer = f"http://127.0.0.1:8888/lab/tree/05.ipynb?token={TOKEN}"
    extra = [("Referer", referer), ("Origin", f"http://127.0.0.1:8888?token={TOKEN}")]
    raw, headers, _ = redact_request(request(headers=BROWSER_HEADERS + extra))
    assert headers["Referer"] == f"http://127.0.0.1:8888/lab/tree/05.ipynb?token={REDACTED}"
    assert headers["Origin"] == f"http://127.0.0.1:8888?token={REDACTED}"
    assert TOKEN not in raw.decode("latin-1")


def test_parameters_that_only_look_like_credentials_are_kept() -> None:
    target = "/?tokens=3&mytoken=4&author=ada&via=jupyter-proxy"
    assert redact_request(request(target))[2] == target


def test_a_request_without_secrets_is_written_out_unchanged() -> None:
    original = request("/chat?room=1")
    raw, headers, target = redact_request(original)
    assert target == "/chat?room=1"
    assert list(headers) == list(original.headers)
    assert (
        raw
        == (
            "GET /chat?room=1 HTTP/1.1\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in BROWSER_HEADERS)
            + "\r\n"
        ).encode()
    )
    assert wslearn.parse_request(raw).target == original.target  # still a valid request


def test_a_redacted_request_still_parses_and_validates() -> None:
    secret = BROWSER_HEADERS + [("Cookie", f"_xsrf={TOKEN}"), ("Authorization", TOKEN)]
    raw, _, _ = redact_request(request(f"/?token={TOKEN}", secret))
    again = wslearn.parse_request(raw)
    key, _ = wslearn.validate_request(again)
    assert key == "dGhlIHNhbXBsZSBub25jZQ=="
    assert again.headers["Cookie"] == REDACTED


# ---------------------------------------------------------------- proxy_evidence


def test_a_browser_connecting_directly_leaves_no_evidence() -> None:
    assert proxy_evidence(request("/chat?room=1")) == []


def test_cookies_alone_are_not_evidence_of_the_proxy() -> None:
    # Browsers send cookies per host, not per port: a direct connection carries them too.
    cookie = BROWSER_HEADERS + [("Cookie", "username-127-0-0-1-8888=2|abc")]
    assert proxy_evidence(request("/", cookie)) == []


@pytest.mark.parametrize("target", [f"/?{VIA_PROXY}", f"/chat?room=1&{VIA_PROXY}"])
def test_the_widgets_marker_is_evidence(target: str) -> None:
    assert VIA_PROXY == "via=jupyter-proxy"
    assert proxy_evidence(request(target)) == [
        "the widget connected through <base url>proxy/<port>/"
    ]


@pytest.mark.parametrize(
    "target", ["/?xvia=jupyter-proxy", f"/?{VIA_PROXY}-2", "/via=jupyter-proxy/"]
)
def test_the_marker_counts_only_as_a_whole_query_parameter(target: str) -> None:
    assert proxy_evidence(request(target)) == []


def test_tornados_re_cased_header_names_are_evidence() -> None:
    recased = [(n.replace("WebSocket", "Websocket"), v) for n, v in BROWSER_HEADERS]
    assert proxy_evidence(request("/", recased)) == [
        "header names re-cased (Sec-Websocket-Key), as tornado does"
    ]


def test_a_forwarded_token_is_evidence() -> None:
    assert proxy_evidence(request(f"/?token={TOKEN}")) == [
        "Jupyter token forwarded in the query string"
    ]


def test_all_signs_of_the_proxy_are_listed_together() -> None:
    recased = [(n.replace("WebSocket", "Websocket"), v) for n, v in BROWSER_HEADERS]
    evidence = proxy_evidence(request(f"/?token={TOKEN}&{VIA_PROXY}", recased))
    assert len(evidence) == 3
    assert all(TOKEN not in line for line in evidence)
