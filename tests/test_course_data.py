"""wslearn.course_data: the Chromium capture shipped in ``wslearn/data/chromium_frames.json``.

Notebooks 05 and 06 teach from this file, so every number in it must agree with every other: each
header parses with the library, each wire preview unmasks to its payload preview, the recv() sizes
add up to the frames, and the keys are a browser's (every frame masked, no key twice). A browser
test captures again and checks that Chromium still frames the same messages the same way.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

import pytest

import wslearn
from wslearn.course_data import (
    CHROMIUM_CAPTURE,
    CHROMIUM_SUBPROTOCOLS,
    chromium_capture,
    chromium_subprotocols,
    records_from_capture,
)
from wslearn.handshake import parse_subprotocols, select_subprotocol

DATA = CHROMIUM_CAPTURE

EXPECTED_MESSAGES = [
    (1, "Hello".encode()),
    (1, "Hello, 你好, 👋".encode()),
    (1, 125),
    (1, 126),
    (1, 65536),
    (1, 70000),
    (2, bytes(range(256))),
    (8, b"\x03\xe8bye"),
]


@pytest.fixture(scope="module")
def data() -> Dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def _structure(data: Dict[str, Any]) -> List[Tuple[int, bool, int, str, int]]:
    return [
        (f["opcode"], f["fin"], f["length"], f["length_case"], f["message"]) for f in data["frames"]
    ]


def test_shipped_file_is_small_and_names_the_browser(data: Dict[str, Any]) -> None:
    assert DATA.stat().st_size < 60_000
    assert data["browser"].startswith("Chromium ")
    assert "HeadlessChrome/" in data["user_agent"] or "Chrome/" in data["user_agent"]


def test_handshake_is_a_websocket_upgrade_without_secrets(data: Dict[str, Any]) -> None:
    request = wslearn.parse_request(data["request"].encode("latin-1"))
    key, _ = wslearn.validate_request(request)
    assert len(key) == 24
    assert request.headers["Sec-WebSocket-Version"] == "13"
    assert "token=" not in request.target
    for name in ("Cookie", "Authorization"):
        assert request.headers.get(name) in (None, "[redacted]")


def test_every_header_parses_and_agrees_with_the_fields(data: Dict[str, Any]) -> None:
    for f in data["frames"]:
        raw = bytes.fromhex(f["header_hex"])
        header = wslearn.parse_frame_header(raw)
        assert header is not None, f["what"]
        assert header.header_size == len(raw)
        assert int(header.opcode) == f["opcode"]
        assert header.opcode.name == f["opcode_name"]
        assert header.fin == f["fin"]
        assert header.length == f["length"]
        assert header.length_case == f["length_case"] == wslearn.length_case(f["length"])
        assert header.masked
        assert header.mask == bytes.fromhex(f["mask_hex"])


def test_wire_preview_unmasks_to_the_payload_preview(data: Dict[str, Any]) -> None:
    for f in data["frames"]:
        wire = bytes.fromhex(f["wire_preview_hex"])
        payload = bytes.fromhex(f["payload_preview_hex"])
        assert len(wire) == len(payload) == min(64, f["length"])
        assert wslearn.unmask(wire, bytes.fromhex(f["mask_hex"])) == payload
        assert wire != payload or not payload


def test_every_frame_is_masked_with_its_own_key(data: Dict[str, Any]) -> None:
    keys = [f["mask_hex"] for f in data["frames"]]
    assert all(keys)
    assert len(set(keys)) == len(keys)


def test_frames_make_up_the_messages_that_were_sent(data: Dict[str, Any]) -> None:
    frames = data["frames"]
    assert len(data["messages"]) == len(EXPECTED_MESSAGES)
    by_message: Dict[int, List[Dict[str, Any]]] = {}
    for f in frames:
        by_message.setdefault(f["message"], []).append(f)
    assert sorted(by_message) == list(range(len(EXPECTED_MESSAGES)))
    for n, (opcode, content) in enumerate(EXPECTED_MESSAGES):
        parts = by_message[n]
        assert parts[0]["opcode"] == opcode
        assert all(p["opcode"] == 0 for p in parts[1:])  # continuation frames (§5.4)
        assert [p["fin"] for p in parts] == [False] * (len(parts) - 1) + [True]
        total = sum(p["length"] for p in parts)
        if isinstance(content, int):
            assert total == content
        else:
            assert total == len(content)
            assert bytes.fromhex(parts[0]["payload_preview_hex"]) == content[:64]


def test_stream_offsets_and_reads_add_up(data: Dict[str, Any]) -> None:
    offset = 0
    for f in data["frames"]:
        assert f["stream_offset"] == offset
        offset += len(bytes.fromhex(f["header_hex"])) + f["length"]
    assert sum(data["reads"]) == offset


def test_the_close_handshake_was_clean(data: Dict[str, Any]) -> None:
    assert data["close_event"] == {"code": 1000, "reason": "bye", "wasClean": True}
    assert bytes.fromhex(data["server_close_frame_hex"]) == bytes.fromhex("88 05 03 e8 62 79 65")
    assert (data["server_close_code"], data["server_close_reason"]) == (1000, "bye")


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_a_fresh_capture_has_the_same_structure(browser: Any, data: Dict[str, Any]) -> None:
    from helpers.capture_browser_frames import capture

    fresh = capture(browser)
    assert _structure(fresh) == _structure(data), (
        "Chromium now frames these messages differently: run "
        "`python tests/helpers/capture_browser_frames.py` and review the notebooks that use "
        "the file"
    )
    assert [f["header_hex"][:5] for f in fresh["frames"]] == [
        f["header_hex"][:5] for f in data["frames"]
    ]
    old_keys = {f["mask_hex"] for f in data["frames"]}
    assert not old_keys & {f["mask_hex"] for f in fresh["frames"]}
    assert fresh["close_event"] == data["close_event"]
    # What the live server recorded from a real browser holds together like the shipped file:
    # headers as they arrived, wire previews that unmask to the payload, offsets that add up.
    test_every_header_parses_and_agrees_with_the_fields(fresh)
    test_wire_preview_unmasks_to_the_payload_preview(fresh)
    test_stream_offsets_and_reads_add_up(fresh)
    test_the_close_handshake_was_clean(fresh)


def test_capture_loads_as_frame_records_the_views_can_show():
    capture = chromium_capture()
    records = records_from_capture(capture)
    assert len(records) == len(capture["frames"])
    for record, frame in zip(records, capture["frames"]):
        header = wslearn.parse_frame_header(record.header)
        assert (header.length, header.length_case, header.mask) == (
            record.length,
            record.length_case,
            record.mask,
        )
        assert wslearn.unmask(record.wire_preview, record.mask) == record.payload_preview
        assert record.opcode_name == frame["opcode_name"]
        assert record.frame_header() == header
        assert wslearn.header_fields(record) == wslearn.header_fields(record.header)
    rows = wslearn.frames_table(records).rows
    assert "payload" in rows[0]
    assert rows[-1]["payload"] == '1000 "bye"'  # the Close frame, as Close.describe shows it


# ---------------------------------------------------------------- what the notebooks and checks use


def test_chromium_capture_loads_the_shipped_file(data: Dict[str, Any]) -> None:
    capture = chromium_capture()
    assert capture == data
    assert chromium_capture() is not capture  # a fresh copy each time: a notebook may change it
    assert DATA.parent.name == "data" and DATA.parent.parent.name == "wslearn"


def test_the_frame_notebook_05_decodes_by_hand_is_the_7_bit_masked_text(
    data: Dict[str, Any],
) -> None:
    # Notebook 05 takes frames[1] apart bit by bit: 2 header bytes, a key, 19 payload bytes.
    f = data["frames"][1]
    wire = bytes.fromhex(f["header_hex"]) + bytes.fromhex(f["wire_preview_hex"])
    assert (wire[0], wire[1]) == (0x81, 0x80 | 19)
    assert len(wire) == 2 + 4 + 19
    key = wire[2:6]
    payload = bytes(b ^ key[i % 4] for i, b in enumerate(wire[6:]))
    assert payload.decode("utf-8") == "Hello, 你好, 👋"


def test_the_last_frame_is_the_browsers_close_that_notebook_06_shows(
    data: Dict[str, Any],
) -> None:
    last = data["frames"][-1]
    assert (last["opcode_name"], last["fin"], last["mask_hex"] != "") == ("CLOSE", True, True)
    payload = bytes.fromhex(last["payload_preview_hex"])
    assert wslearn.Close.parse(payload) == wslearn.Close(1000, "bye")


def test_records_from_capture_are_inbound_masked_frames_of_one_connection() -> None:
    capture = chromium_capture()
    records = records_from_capture(capture)
    assert {(r.direction, r.connection, r.masked, r.time) for r in records} == {
        ("in", 1, True, 0.0)
    }
    assert [r.stream_offset for r in records] == [f["stream_offset"] for f in capture["frames"]]
    assert not any(r.rsv1 or r.rsv2 or r.rsv3 for r in records)
    assert [r.truncated for r in records] == [f["length"] > 64 for f in capture["frames"]]


def test_records_from_capture_reads_the_capture_it_is_given() -> None:
    capture = chromium_capture()
    capture["frames"] = capture["frames"][:2]
    assert len(records_from_capture(capture)) == 2
    assert records_from_capture({"frames": []}) == []


def test_the_compressed_capture_inflates_to_the_messages_chromium_sent() -> None:
    """Every message's frame has RSV1 and inflates, with one inflater for the connection and
    the window the server agreed to, to what the page sent (its length and first bytes)."""
    import zlib

    capture = chromium_capture(compressed=True)
    request = wslearn.parse_request(capture["request"].encode())
    offer = request.headers.get_all("Sec-WebSocket-Extensions")
    agreed = wslearn.negotiate_deflate(offer, wslearn.DeflateParameters(
        server_max_window_bits=12, client_max_window_bits=12))  # fmt: skip
    assert agreed is not None and capture["extensions_answer"] == agreed.header()
    inflater = zlib.decompressobj(wbits=-12)
    data_frames = [f for f in capture["frames"] if f["opcode"] in (1, 2)]
    assert len(data_frames) == len(capture["messages"]) - 1  # the last "message" is the close
    for frame in data_frames:
        assert frame["rsv1"] and frame["fin"]
        payload = bytes.fromhex(frame["payload_hex"])
        assert len(payload) == frame["length"]
        message = inflater.decompress(payload + b"\x00\x00\xff\xff")
        assert len(message) == frame["inflated_length"]
        assert message.startswith(bytes.fromhex(frame["inflated_preview_hex"]))
    (close,) = [f for f in capture["frames"] if f["opcode"] == 8]
    assert not close["rsv1"]  # control frames are never compressed


# ------------------------------------------------- chromium_subprotocols.json (notebook 10)

SUBPROTOCOL_CASES = [
    "picks-one-offered",
    "picks-none",
    "picks-one-not-offered",
    "offers-none",
    "offers-none-gets-one",
]


def test_the_subprotocol_recording_has_its_cases_and_fields() -> None:
    data = chromium_subprotocols()
    assert CHROMIUM_SUBPROTOCOLS.stat().st_size < 20_000
    assert data["browser"].startswith("Chromium ") and data["offered"] == ["chat.v2", "chat.v1"]
    assert [c["name"] for c in data["cases"]] == SUBPROTOCOL_CASES
    for case in data["cases"]:
        assert {"what", "offered", "server", "supported", "request", "response"} <= set(case)
        assert set(case["page"]) == {"opened", "protocol", "error_event", "close", "console"}
        assert set(case["page"]["close"]) == {"code", "reason", "wasClean"}
        assert ("after_response_hex" in case) == (case["supported"] is None)
    assert chromium_subprotocols() is not data  # a fresh copy each time


def test_the_recorded_headers_are_what_the_page_offered_and_the_server_sent() -> None:
    for case in chromium_subprotocols()["cases"]:
        request = wslearn.parse_request(case["request"].encode("latin-1"))
        response = wslearn.parse_response(case["response"].encode("latin-1"))
        assert request is not None and response is not None and response.status == 101
        sent = request.headers.get_all("Sec-WebSocket-Protocol")
        answered = response.headers.get_all("Sec-WebSocket-Protocol")
        assert sent == case["request_protocol_headers"]
        assert answered == case["response_protocol_headers"]
        # Chromium sends its list in one header, in the page's order, and none for no list.
        expected = [", ".join(case["offered"])] if case["offered"] else []
        assert case["request_protocol_headers"] == expected
        assert parse_subprotocols(case["request_protocol_headers"]) == case["offered"]
        assert "token=" not in request.target
        for name in ("Cookie", "Authorization"):
            assert request.headers.get(name) in (None, "[redacted]")


def test_the_wslearn_servers_answered_what_select_subprotocol_says() -> None:
    cases = [c for c in chromium_subprotocols()["cases"] if c["supported"] is not None]
    assert len(cases) == 3
    for case in cases:
        chosen = select_subprotocol(case["request_protocol_headers"], case["supported"])
        assert case["response_protocol_headers"] == ([chosen] if chosen else [])
        request = wslearn.parse_request(case["request"].encode("latin-1"))
        key, _ = wslearn.validate_request(request, subprotocols=case["supported"])
        assert case["response"].encode("latin-1") == wslearn.accept_response(key, chosen)


def test_chromium_opens_only_on_an_offered_pick_or_on_no_offer_and_no_pick() -> None:
    """Chromium's rule, read from the recording, next to wslearn's client (check_response).

    They agree everywhere but one case: offered some and got none, RFC 6455 lets the client
    go on (check_response returns None), the WHATWG standard makes a browser fail.
    """
    for case in chromium_subprotocols()["cases"]:
        page = case["page"]
        answer = case["response_protocol_headers"]
        picked = answer[0] if answer else None
        opens = picked in case["offered"] if picked else not case["offered"]
        assert page["opened"] == opens, case["name"]
        assert page["protocol"] == ((picked or "") if opens else None)
        assert page["error_event"] == (not opens)
        assert page["close"]["code"] == (1000 if opens else 1006)

        request = wslearn.parse_request(case["request"].encode("latin-1"))
        response = wslearn.parse_response(case["response"].encode("latin-1"))
        key = request.headers["Sec-WebSocket-Key"]
        if picked is not None and picked not in case["offered"]:
            with pytest.raises(wslearn.InvalidResponse):
                wslearn.check_response(response, key, subprotocols=case["offered"])
        else:
            assert wslearn.check_response(response, key, subprotocols=case["offered"]) == picked
            assert opens == (case["name"] != "picks-none")


def test_behind_the_proxy_the_page_gets_the_first_offer_whatever_the_server_picked() -> None:
    proxy = chromium_subprotocols()["proxy"]
    assert [c["supported"] for c in proxy["cases"]] == [["chat.v1"], []]
    for case in proxy["cases"]:
        request = wslearn.parse_request(case["server_received"].encode("latin-1"))
        answer = wslearn.parse_response(case["server_answer"].encode("latin-1"))
        assert request is not None and answer is not None and answer.status == 101
        assert "token=[redacted]" in request.target and "wslearn-test-token" not in str(case)
        # The proxy passes the offer on (its own spelling), and the server picks by the rule...
        sent = request.headers.get_all("Sec-WebSocket-Protocol")
        assert sent == case["server_received_protocol_headers"]
        assert parse_subprotocols(sent) == proxy["offered"]
        chosen = select_subprotocol(sent, case["supported"])
        assert answer.headers.get_all("Sec-WebSocket-Protocol") == ([chosen] if chosen else [])
        # ...but the page opens with the first one it offered, which the server did not pick.
        page = case["page"]
        assert page["opened"] and page["echo"] == "hello"
        assert page["protocol"] == proxy["offered"][0] != chosen
