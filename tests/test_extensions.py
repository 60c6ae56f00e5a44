"""Extension negotiation: the header grammar (RFC 6455 §9.1) and permessage-deflate's (RFC 7692 §7).

Each malformed or unacceptable offer names what a server must do with it (decline it and read the
next one) and each bad answer what a client must do (fail the handshake).
"""

from __future__ import annotations

import pytest

import wslearn
from wslearn import (
    DeflateParameters,
    Extension,
    InvalidResponse,
    NegotiationError,
    check_deflate_answer,
    negotiate_deflate,
    parse_extensions,
)
from wslearn.extensions import format_extension, parse_extension, split_header_list
from wslearn.permessage_deflate import answer_offer

P = DeflateParameters

# ---------------------------------------------------------------------- the grammar


def test_chromium_offer_is_read():
    assert parse_extensions("permessage-deflate; client_max_window_bits") == [
        Extension("permessage-deflate", (("client_max_window_bits", None),))
    ]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("a", [Extension("a")]),
        ("a;b", [Extension("a", (("b", None),))]),
        ("a ; b = 1 ;c", [Extension("a", (("b", "1"), ("c", None)))]),
        ('a; b="10"', [Extension("a", (("b", "10"),))]),
        ('a; b="x\\yz"', [Extension("a", (("b", "xyz"),))]),  # quoted-pair unescaped
        ("a, b", [Extension("a"), Extension("b")]),
        ("a, , b,", [Extension("a"), Extension("b")]),  # empty list elements (RFC 7230 §7)
        ('a; b="1", c', [Extension("a", (("b", "1"),)), Extension("c")]),
    ],
)
def test_grammar(value, expected):
    assert parse_extensions(value) == expected


def test_several_header_values_form_one_list():
    assert parse_extensions(["a; x", "b"]) == [Extension("a", (("x", None),)), Extension("b")]


def test_commas_and_semicolons_inside_quotes_do_not_split():
    assert split_header_list('a; b="1,2", c') == ['a; b="1,2"', "c"]
    assert split_header_list('b="1;2"; c', ";") == ['b="1;2"', "c"]


@pytest.mark.parametrize(
    "element",
    [
        "",  # no name
        "a b",  # a space inside a name
        "a;",  # an empty parameter
        "a; =1",  # a value without a name
        "a; b=",  # a name with an empty value
        'a; b="1,2"',  # quoted, but the value is not a token once unquoted (§9.1)
        'a; b="10',  # an unterminated quote
        "a; b=1=2",
        "a; b c",
        "a@b",
    ],
)
def test_malformed_extension_is_refused(element):
    with pytest.raises(NegotiationError):
        parse_extension(element)


def test_format_is_the_reverse_of_parse():
    text = "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"
    [extension] = parse_extensions(text)
    assert format_extension(*extension) == text


# ---------------------------------------------------------------------- reading the parameters


@pytest.mark.parametrize(
    "header, expected",
    [
        ("permessage-deflate", P()),
        ("permessage-deflate; server_no_context_takeover", P(server_no_context_takeover=True)),
        ("permessage-deflate; client_no_context_takeover", P(client_no_context_takeover=True)),
        ("permessage-deflate; server_max_window_bits=8", P(server_max_window_bits=8)),
        ("permessage-deflate; server_max_window_bits=15", P(server_max_window_bits=15)),
        ('permessage-deflate; server_max_window_bits="10"', P(server_max_window_bits=10)),
        ("permessage-deflate; client_max_window_bits=9", P(client_max_window_bits=9)),
        # Without a value in an offer: "you choose", the same as 15 (RFC 7692 §7.1.2.2).
        ("permessage-deflate; client_max_window_bits", P(client_max_window_bits=15)),
    ],
)
def test_offer_parameters(header, expected):
    [extension] = parse_extensions(header)
    assert P.from_params(extension.params, offer=True) == expected
    if "client_max_window_bits" not in header or "=" in header:
        assert expected.header().replace('"', "") == header.replace('"', "")


BAD_PARAMETERS = [
    "server_no_context_takeover; server_no_context_takeover",  # duplicate
    "client_no_context_takeover; client_no_context_takeover",
    "server_max_window_bits=10; server_max_window_bits=10",
    "client_max_window_bits; client_max_window_bits=10",
    "server_no_context_takeover=1",  # a value on a parameter that takes none
    "client_no_context_takeover=true",
    "server_max_window_bits",  # a value is required
    "server_max_window_bits=7",  # out of 8..15
    "server_max_window_bits=16",
    "client_max_window_bits=0",
    "client_max_window_bits=010",  # leading zero (§7.1.2.1)
    "client_max_window_bits=+9",
    "client_max_window_bits=9.0",
    "max_window_bits=10",  # not a parameter of permessage-deflate
    "x",
]


@pytest.mark.parametrize("params", BAD_PARAMETERS)
def test_bad_parameters_are_refused(params):
    [extension] = parse_extensions("permessage-deflate; " + params)
    with pytest.raises(NegotiationError):
        P.from_params(extension.params, offer=True)


def test_client_max_window_bits_needs_a_value_in_an_answer():
    params = (("client_max_window_bits", None),)
    assert P.from_params(params, offer=True) == P(client_max_window_bits=15)
    with pytest.raises(NegotiationError, match="needs a value"):
        P.from_params(params, offer=False)


@pytest.mark.parametrize("bits", [7, 16, 0])
def test_window_bits_out_of_range_cannot_be_built(bits):
    with pytest.raises(ValueError):
        P(server_max_window_bits=bits)
    with pytest.raises(ValueError):
        P(client_max_window_bits=bits)


# ---------------------------------------------------------------------- the server's answer


@pytest.mark.parametrize("params", BAD_PARAMETERS)
def test_server_declines_a_bad_offer_and_takes_the_next(params):
    bad = "permessage-deflate; " + params
    assert negotiate_deflate(bad) is None
    good = "permessage-deflate; client_no_context_takeover"
    assert negotiate_deflate(f"{bad}, {good}") == P(client_no_context_takeover=True)
    assert negotiate_deflate([bad, good]) == P(client_no_context_takeover=True)


@pytest.mark.parametrize("malformed", ["permessage-deflate; =", 'permessage-deflate; a="', "@"])
def test_server_declines_a_malformed_offer_and_takes_the_next(malformed):
    assert negotiate_deflate(malformed) is None
    assert negotiate_deflate([malformed, "permessage-deflate"]) == P()


def test_server_declines_other_extensions():
    assert negotiate_deflate("x-webkit-deflate-frame") is None
    assert negotiate_deflate("x-webkit-deflate-frame, permessage-deflate") == P()
    assert negotiate_deflate([]) is None


def test_server_takes_the_first_acceptable_offer_in_the_clients_order():
    offers = (
        "permessage-deflate; server_max_window_bits=10, "
        "permessage-deflate; server_no_context_takeover"
    )
    assert negotiate_deflate(offers) == P(server_max_window_bits=10)


# (offer, the server's own limits, the answer it must give); RFC 7692 §7.1.
ANSWERS = [
    # Nothing asked, nothing wanted: a bare answer.
    ("", P(), P()),
    # §7.1.1: a no_context_takeover asked for is granted; the server may ask for them itself.
    ("server_no_context_takeover", P(), P(server_no_context_takeover=True)),
    ("client_no_context_takeover", P(), P(client_no_context_takeover=True)),
    ("", P(server_no_context_takeover=True), P(server_no_context_takeover=True)),
    ("", P(client_no_context_takeover=True), P(client_no_context_takeover=True)),
    # §7.1.2.1: server_max_window_bits asked for: answered with it or less.
    ("server_max_window_bits=10", P(), P(server_max_window_bits=10)),
    ("server_max_window_bits=15", P(), P(server_max_window_bits=15)),
    ("server_max_window_bits=12", P(server_max_window_bits=10), P(server_max_window_bits=10)),
    ("server_max_window_bits=9", P(server_max_window_bits=12), P(server_max_window_bits=9)),
    # ... and stated unasked when the server limits its own window.
    ("", P(server_max_window_bits=11), P(server_max_window_bits=11)),
    ("", P(server_max_window_bits=15), P()),
    # §7.1.2.2: client_max_window_bits only if offered; set when the server wants less.
    ("client_max_window_bits", P(), P()),
    ("client_max_window_bits", P(client_max_window_bits=10), P(client_max_window_bits=10)),
    ("client_max_window_bits", P(client_max_window_bits=8), P(client_max_window_bits=8)),
    ("client_max_window_bits=9", P(client_max_window_bits=12), P()),
    ("client_max_window_bits=12", P(client_max_window_bits=9), P(client_max_window_bits=9)),
    ("", P(client_max_window_bits=9), P()),  # not offered: the client uses up to 15
    # Everything at once.
    (
        "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; "
        "client_max_window_bits",
        P(server_max_window_bits=10, client_max_window_bits=9),
        P(True, True, 10, 9),
    ),
]


@pytest.mark.parametrize("offer, wanted, answer", ANSWERS)
def test_server_answer(offer, wanted, answer):
    header = "permessage-deflate" + ("; " + offer if offer else "")
    assert negotiate_deflate(header, wanted) == answer


@pytest.mark.parametrize("offer, wanted, answer", ANSWERS)
def test_the_servers_answer_is_accepted_by_a_client_that_made_the_offer(offer, wanted, answer):
    header = "permessage-deflate" + ("; " + offer if offer else "")
    [extension] = parse_extensions(header)
    offered = P.from_params(extension.params, offer=True)
    if answer.client_max_window_bits == 8:  # a client built on zlib cannot compress so
        with pytest.raises(NegotiationError, match="zlib"):
            check_deflate_answer(answer.header(), offered)
        return
    agreed = check_deflate_answer(answer.header(), offered)
    assert agreed is not None
    assert agreed.server_no_context_takeover == answer.server_no_context_takeover
    assert agreed.server_max_window_bits == answer.server_max_window_bits


def test_server_declines_an_offer_that_asks_for_an_8_bit_window():
    # zlib cannot compress with a 256-byte window, and no bigger one may be answered.
    with pytest.raises(NegotiationError):
        answer_offer(P(server_max_window_bits=8), P())
    assert negotiate_deflate("permessage-deflate; server_max_window_bits=8") is None
    assert (
        negotiate_deflate("permessage-deflate; server_max_window_bits=8, permessage-deflate") == P()
    )


def test_server_cannot_want_an_8_bit_window_for_itself():
    with pytest.raises(ValueError):
        negotiate_deflate("permessage-deflate", P(server_max_window_bits=8))


# ---------------------------------------------------------------------- the client's check


@pytest.mark.parametrize(
    "offered, answer, agreed",
    [
        (P(), "", None),  # declined
        (P(), "permessage-deflate", P()),
        (P(), "permessage-deflate; server_no_context_takeover", P(server_no_context_takeover=True)),
        (P(), "permessage-deflate; client_no_context_takeover", P(client_no_context_takeover=True)),
        (P(), "permessage-deflate; server_max_window_bits=9", P(server_max_window_bits=9)),
        (P(server_max_window_bits=12), "permessage-deflate; server_max_window_bits=10",
         P(server_max_window_bits=10)),
        # What the client offered, it keeps to even if the answer leaves it out (a hint, §7.1).
        (P(client_no_context_takeover=True), "permessage-deflate",
         P(client_no_context_takeover=True)),
        (P(client_max_window_bits=12), "permessage-deflate", P(client_max_window_bits=12)),
        (P(client_max_window_bits=15), "permessage-deflate; client_max_window_bits=10",
         P(client_max_window_bits=10)),
    ],
)  # fmt: skip
def test_client_accepts_a_fitting_answer(offered, answer, agreed):
    assert check_deflate_answer([answer] if answer else [], offered) == agreed


@pytest.mark.parametrize(
    "offered, answer",
    [
        (P(), "x-other"),  # an extension we did not offer (RFC 6455 §9.1)
        (P(), "permessage-deflate, permessage-deflate"),  # accepted twice
        (P(), "permessage-deflate; x"),  # a parameter not defined
        (P(), "permessage-deflate; server_no_context_takeover; server_no_context_takeover"),
        (P(), "permessage-deflate; server_max_window_bits=16"),
        (P(), "permessage-deflate; client_no_context_takeover=1"),
        (P(), "permessage-deflate; =1"),  # malformed
        (P(client_max_window_bits=15), "permessage-deflate; client_max_window_bits"),  # no value
        (P(), "permessage-deflate; client_max_window_bits=10"),  # §7.1.2.2: not offered
        (P(client_max_window_bits=10), "permessage-deflate; client_max_window_bits=11"),  # above
        (P(client_max_window_bits=15), "permessage-deflate; client_max_window_bits=8"),  # zlib
        (P(server_no_context_takeover=True), "permessage-deflate"),  # §7.1.1.1: not granted
        (P(server_max_window_bits=10), "permessage-deflate"),  # §7.1.2.1: not answered
        (P(server_max_window_bits=10), "permessage-deflate; server_max_window_bits=11"),
    ],
)
def test_client_refuses_a_bad_answer(offered, answer):
    with pytest.raises(NegotiationError):
        check_deflate_answer(answer, offered)


# ---------------------------------------------------------------------- in the handshake


def test_server_101_carries_the_answer_and_nothing_by_default():
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    plain = wslearn.accept_response(key)
    assert b"Extensions" not in plain
    agreed = negotiate_deflate("permessage-deflate; client_max_window_bits", P(True, False, 12))
    response = wslearn.parse_response(wslearn.accept_response(key, deflate=agreed))
    assert response.headers.get_all("Sec-WebSocket-Extensions") == [
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=12"
    ]
    assert plain == wslearn.accept_response(key, deflate=None)


def test_client_offer_and_check_in_the_handshake():
    offer = P(client_no_context_takeover=True, client_max_window_bits=15)
    request_bytes, key = wslearn.client_request("example.com", deflate=offer)
    request = wslearn.parse_request(request_bytes)
    [value] = request.headers.get_all("Sec-WebSocket-Extensions")
    assert value == "permessage-deflate; client_no_context_takeover; client_max_window_bits=15"
    server_key, _ = wslearn.validate_request(request)
    agreed = negotiate_deflate(value, P(client_max_window_bits=10))
    response = wslearn.parse_response(wslearn.accept_response(server_key, deflate=agreed))
    assert wslearn.check_response(response, key, deflate=offer) is None
    assert check_deflate_answer(response.headers.get_all("Sec-WebSocket-Extensions"), offer) == P(
        client_no_context_takeover=True, client_max_window_bits=10
    )


def test_client_that_offered_nothing_refuses_an_extension():
    request_bytes, key = wslearn.client_request("example.com")
    assert b"Extensions" not in request_bytes
    response = wslearn.parse_response(wslearn.accept_response(key, deflate=P()))
    with pytest.raises(InvalidResponse, match="did not offer"):
        wslearn.check_response(response, key)


def test_client_check_response_fails_on_a_bad_answer():
    _, key = wslearn.client_request("example.com", deflate=P())
    head = wslearn.accept_response(key).replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate; bogus\r\n\r\n"
    )
    with pytest.raises(InvalidResponse) as caught:
        wslearn.check_response(wslearn.parse_response(head), key, deflate=P())
    assert caught.value.status == 101
    assert "bogus" in str(caught.value)


def test_client_accepts_a_declined_offer():
    _, key = wslearn.client_request("example.com", deflate=P())
    response = wslearn.parse_response(wslearn.accept_response(key))
    assert wslearn.check_response(response, key, deflate=P()) is None
    assert check_deflate_answer(response.headers.get_all("Sec-WebSocket-Extensions"), P()) is None
