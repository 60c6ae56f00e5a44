"""The one-page reference (``notebooks/REFERENCE.md``): generated from the library, and right.

The page is committed so that GitHub and JupyterLab show it; these tests regenerate it and find
the committed copy unchanged, then check each table against the library directly (not through
the generator's own probes), and show that a changed default changes the page.
"""

from __future__ import annotations

import base64
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from wslearn import reference
from wslearn.connection import MAX_EMPTY_FRAGMENTS, Connection
from wslearn.errors import HandshakeError, ProtocolError
from wslearn.events import Failed
from wslearn.frames import Frame, encode_frame_header, parse_frame_header
from wslearn.handshake import validate_request
from wslearn.http11 import REASONS, parse_request
from wslearn.opcodes import CloseCode, Opcode, close_code_is_valid
from wslearn.reference import PAGE, main, reference_markdown
from wslearn.server import Server

ROOT = Path(__file__).resolve().parent.parent
MASK = bytes.fromhex("37fa213d")


@pytest.fixture(scope="module")
def page() -> str:
    return reference_markdown()


def section(page: str, heading: str) -> str:
    """The text under ``## heading`` (or ``###``), up to the next heading of any level."""
    lines = page.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip("#").strip() == heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start + 1 : end])


def table(text: str, which: int = 0) -> List[Dict[str, str]]:
    """A Markdown table in ``text`` (the first, or the ``which``-th), one dict per row."""
    blocks = "\n".join(line if line.startswith("|") else "" for line in text.splitlines())
    found = [block for block in blocks.split("\n\n") if block.strip()]
    rows = [line for line in found[which].splitlines() if line]
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    head, rule, body = cells[0], cells[1], cells[2:]
    assert all(cell == "---" for cell in rule), rule
    assert all(len(row) == len(head) for row in body), "a row with the wrong number of cells"
    return [dict(zip(head, row)) for row in body]


def span(text: str) -> range:
    """``"126–65,535"`` → ``range(126, 65536)``; ``"1004"`` → ``range(1004, 1005)``."""
    low, _, high = text.replace(",", "").partition("–")
    high = high or low
    top = 2**63 - 1 if high == "2⁶³ − 1" else int(high)
    return range(int(low), top + 1)


# ---------------------------------------------------------------------- the page, as a file


def test_the_committed_page_is_what_the_library_generates(page: str) -> None:
    assert PAGE == ROOT / "notebooks" / "REFERENCE.md"
    assert PAGE.read_text(encoding="utf-8") == page, "python -m wslearn.reference --write"


def test_the_command_writes_the_page_and_check_finds_a_stale_one(tmp_path: Path, capsys) -> None:
    target = tmp_path / "REFERENCE.md"
    assert main(["--check", "--path", str(target)]) == 1  # missing
    assert main(["--write", "--path", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")
    assert main(["--check", "--path", str(target)]) == 0
    target.write_text(target.read_text(encoding="utf-8").replace("1009", "1010"), "utf-8")
    assert main(["--check", "--path", str(target)]) == 1
    assert "out of date" in capsys.readouterr().out


def test_the_command_line_checks_the_committed_page() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wslearn.reference", "--check"],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_changed_default_changes_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    # The page follows Server's signature: a new default is a new page, and --check fails.
    defaults = dict(Server.__init__.__kwdefaults__)
    monkeypatch.setattr(Server.__init__, "__kwdefaults__", {**defaults, "close_timeout": 7.5})
    changed = reference_markdown()
    assert "| `close_timeout` | 7.5 s |" in changed
    assert changed != PAGE.read_text(encoding="utf-8")


def test_a_probe_that_stops_getting_its_answer_stops_the_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A limit the page states but the connection does not enforce: no page, an error.
    monkeypatch.setattr(reference, "MAX_EMPTY_FRAGMENTS", MAX_EMPTY_FRAGMENTS - 1)
    with pytest.raises(RuntimeError, match="out of date"):
        reference_markdown()


def test_the_page_links_back_to_the_index_and_fits_on_a_page(page: str) -> None:
    lines = page.splitlines()
    link = "[← Course index](00_index.ipynb)"
    assert link in lines[4] and lines[-1] == link
    assert (PAGE.parent / "00_index.ipynb").is_file()
    assert len(lines) <= 150


def test_importing_the_generator_loads_no_server() -> None:
    code = "import sys, wslearn.reference; print('wslearn.server' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------------- each table, checked


def test_the_diagram_is_the_frames_module_own(page: str) -> None:
    from wslearn import frames

    text = section(page, "Frame header (§5.2)")
    diagram = text.split("```text\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert "|F|R|R|R| opcode|M| Payload len |    Extended payload length    |" in diagram
    assert len(diagram) == 14
    assert all(line.rstrip() in frames.__doc__ for line in diagram)


def test_every_opcode_is_listed_and_the_reserved_ones_fail(page: str) -> None:
    rows = table(section(page, "Opcodes (§5.2, §11.8)"))
    named = {row["Name"]: row for row in rows if row["Name"] != "—"}
    for opcode in Opcode:
        row = named[opcode.name]
        assert int(row["Opcode"], 16) == opcode
        assert row["Kind"] == ("control" if opcode >= 0x8 else "data")
    (reserved,) = [row for row in rows if row["Kind"] == "reserved"]
    values = [n for part in reserved["Opcode"].split(", ") for n in span_hex(part)]
    assert values == [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF]
    for value in values:
        with pytest.raises(ProtocolError) as error:
            parse_frame_header(bytes([0x80 | value, 0x80]) + MASK)
        assert str(error.value.code) in reserved["Meaning"]


def span_hex(text: str) -> range:
    low, _, high = text.partition("–")
    return range(int(low, 16), int(high or low, 16) + 1)


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536, 2**32])
def test_each_length_row_has_the_header_sizes_the_library_makes(page: str, length: int) -> None:
    rows = table(section(page, "Payload length: three cases (§5.2)"))
    (row,) = [row for row in rows if length in span(row["Payload bytes"])]
    assert int(row["Header"]) == len(encode_frame_header(Opcode.BINARY, length))
    assert int(row["Masked"]) == len(encode_frame_header(Opcode.BINARY, length, mask=MASK))
    # RFC 6455 §5.2: 2, 4 or 10 bytes, plus 4 for the masking key.
    assert (int(row["Header"]), int(row["Masked"])) in {(2, 6), (4, 8), (10, 14)}


def test_the_length_rows_cover_every_length_once(page: str) -> None:
    rows = table(section(page, "Payload length: three cases (§5.2)"))
    spans = [span(row["Payload bytes"]) for row in rows]
    assert spans[0].start == 0 and spans[-1].stop == 2**63
    assert all(a.stop == b.start for a, b in zip(spans, spans[1:]))


def test_the_masking_rule_costs_what_the_page_says(page: str) -> None:
    text = section(page, "Masking (§5.1, §5.3)")
    unmasked = Connection("server").receive_data(Frame(Opcode.TEXT, b"Hi").serialize())
    masked = Connection("client").receive_data(Frame(Opcode.TEXT, b"Hi").serialize(mask=MASK))
    for events in (unmasked, masked):
        assert isinstance(events[0], Failed)
        assert f"fails with {events[0].code}" in text
    assert events[0].code == CloseCode.PROTOCOL_ERROR


def rfc_request(drop: str = "") -> bytes:
    """RFC 6455 §1.3's request, built here by hand, without the header ``drop``."""
    headers = [
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ]
    lines = ["GET /chat HTTP/1.1"] + [f"{n}: {v}" for n, v in headers if n != drop]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def test_the_required_headers_are_the_rfc_s_with_the_status_of_their_absence(page: str) -> None:
    rows = table(section(page, "Opening handshake (§4)"))
    required = {row["Header"].strip("`"): row for row in rows if "(browsers)" not in row["Header"]}
    assert set(required) == {
        "Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
    }  # fmt: skip
    request = parse_request(rfc_request())
    assert request is not None
    validate_request(request)  # the whole request is accepted
    for name, row in required.items():
        assert row["Value (§1.3)"].strip("`") == request.headers[name]
        without = parse_request(rfc_request(drop=name))
        assert without is not None
        with pytest.raises(HandshakeError) as error:
            validate_request(without)
        assert int(row["Missing or wrong"]) == error.value.status
    key = base64.b64decode(request.headers["Sec-WebSocket-Key"])
    assert len(key) == 16


def test_every_status_has_its_reason_and_the_version_refusal_is_426(page: str) -> None:
    text = section(page, "Opening handshake (§4)")
    statuses = table(text, 1)
    assert [int(row["Status"]) for row in statuses] == sorted(int(r["Status"]) for r in statuses)
    for row in statuses:
        assert row["Reason"] == REASONS[int(row["Status"])]
    by_status = {int(row["Status"]): row["Sent when"] for row in statuses}
    assert {101, 400, 403, 405, 426, 431, 503} <= set(by_status)
    assert "`Sec-WebSocket-Version` is not 13" in by_status[426]  # RFC 6455 §4.4
    assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in text  # §1.3's answer


def test_close_codes_that_may_be_sent_pass_the_check_and_never_ones_fail(page: str) -> None:
    rows = table(section(page, "Close codes (§7.4)"))
    covered = set()
    for row in rows:
        codes = span(row["Code"])
        may = row["On the wire"] == "may be sent"
        assert may or row["On the wire"].strip("*") == "never", row
        assert all(close_code_is_valid(code) is may for code in codes), row
        covered.update(codes)
    assert covered == set(range(65536))  # every 2-byte number is on the page, once
    named = {int(row["Code"]): row for row in rows if row["Name"] != "—"}
    assert set(named) == {int(code) for code in CloseCode}
    for code in (1005, 1006, 1015):  # reported to applications, never sent (§7.4.1)
        assert named[code]["On the wire"] == "**never**"
        assert named[code]["Meaning"].startswith("reported")


def test_the_limits_are_the_server_s_defaults(page: str) -> None:
    rows = {row["Limit"]: row for row in table(section(page, "Limits a server should set"))}
    defaults = {n: p.default for n, p in inspect.signature(Server).parameters.items()}
    assert defaults["max_size"] == 2**20 and rows["`max_size`"]["wslearn default"] == "1 MiB"
    assert rows["`close_timeout`"]["wslearn default"] == f"{defaults['close_timeout']:g} s"
    ping = f"{defaults['ping_interval']:g} s, {defaults['ping_timeout']:g} s"
    assert rows["`ping_interval`, `ping_timeout`"]["wslearn default"] == ping
    assert rows["`MAX_EMPTY_FRAGMENTS`"]["wslearn default"] == f"{MAX_EMPTY_FRAGMENTS:,}"
    too_big = Connection("server", max_size=4).receive_data(
        Frame(Opcode.BINARY, b"12345").serialize(mask=MASK)
    )
    assert rows["`max_size`"]["Beyond it"] == f"close {too_big[0].code}" == "close 1009"
    for name in ("max_size", "ping_interval", "write_limit", "max_connections", "origins"):
        assert any(f"`{name}`" in limit for limit in rows), name
