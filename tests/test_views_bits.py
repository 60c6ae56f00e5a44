"""The header fields with their bit positions, and the bit diagram drawn from them."""

from __future__ import annotations

from typing import Optional

import pytest
from helpers.recorded_frames import KEY, record

from wslearn import Frame, Opcode
from wslearn.recording import FrameRecord
from wslearn.views import bit_diagram, header_fields


def spans(frame):
    return [(f.name, f.start_bit, f.n_bits) for f in header_fields(frame)]


FIXED = [
    ("FIN", 0, 1),
    ("RSV1", 1, 1),
    ("RSV2", 2, 1),
    ("RSV3", 3, 1),
    ("opcode", 4, 4),
    ("MASK", 8, 1),
    ("Payload len", 9, 7),
]


@pytest.mark.parametrize(
    "size, masked, extra",
    [
        (5, False, []),
        (5, True, [("Masking-key", 16, 32)]),
        (200, False, [("Extended payload length", 16, 16)]),
        (200, True, [("Extended payload length", 16, 16), ("Masking-key", 32, 32)]),
        (70000, False, [("Extended payload length", 16, 64)]),
        (70000, True, [("Extended payload length", 16, 64), ("Masking-key", 80, 32)]),
    ],
)
def test_header_fields_cover_the_whole_header(size, masked, extra):
    data = Frame(Opcode.BINARY, bytes(size)).serialize(KEY if masked else None)
    parsed, _ = Frame.parse(data)
    fields = header_fields(parsed)
    assert spans(parsed) == FIXED + extra
    assert sum(f.n_bits for f in fields) == parsed.header.header_size * 8
    assert all(a.end_bit == b.start_bit for a, b in zip(fields, fields[1:]))


def test_header_field_values_and_labels():
    fields = {f.name: f for f in header_fields(record(Frame(Opcode.TEXT, b"x" * 70000), mask=KEY))}
    assert fields["FIN"].value == 1 and fields["MASK"].value == 1
    assert fields["opcode"].label == "opcode 0x1 TEXT"
    assert fields["Payload len"].value == 127
    assert "127" in fields["Payload len"].label and "64-bit follows" in fields["Payload len"].label
    assert fields["Extended payload length"].value == 70000
    assert "70000" in fields["Extended payload length"].label
    assert fields["Masking-key"].value == 0x01020304
    assert fields["Masking-key"].label == "masking key 01 02 03 04"
    sixteen = {f.name: f for f in header_fields(Frame(Opcode.BINARY, bytes(300)))}
    assert sixteen["Payload len"].label.replace("\n", " ") == "Payload len 126 → 16-bit follows"


def test_header_fields_accept_bytes_headers_and_unparsed_frames():
    hello = bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")  # RFC 6455 §5.7
    parsed, _ = Frame.parse(hello)
    assert header_fields(hello) == header_fields(parsed.header) == header_fields(parsed)
    built = Frame(Opcode.PING, b"hi")  # no header yet: drawn as a server sends it
    assert [f.value for f in header_fields(built)] == [1, 0, 0, 0, 9, 0, 2]
    with pytest.raises(ValueError):
        header_fields(b"\x81\xfe\x00")  # 16-bit length not all there yet
    with pytest.raises(TypeError):
        header_fields("81 05")


def test_header_fields_keep_rsv_bits_an_extension_set():
    compressed = bytes.fromhex("c1 05") + b"12345"  # RSV1: permessage-deflate
    fields = {f.name: f.value for f in header_fields(compressed)}
    assert (fields["RSV1"], fields["RSV2"], fields["RSV3"]) == (1, 0, 0)


@pytest.fixture
def agg():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    return matplotlib


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_bit_diagram_labels_every_field_and_draws_every_bit(agg):
    from matplotlib.figure import Figure

    rec = record(Frame(Opcode.TEXT, b"x" * 70000), mask=KEY)
    fig = bit_diagram(rec)
    assert isinstance(fig, Figure)
    labels = texts(fig)
    for field in header_fields(rec):
        assert field.label in labels
    assert [str(b) for b in range(32)] == labels[:32]  # bit numbers on top
    bits = "".join(f"{byte:08b}" for byte in rec.header)
    assert [t for t in labels[32:] if t in ("0", "1")] == list(bits)
    assert fig.axes[0].get_title("left") == "TEXT frame, 70000-byte payload (64-bit length), masked"
    assert fig.get_figwidth() == 10
    assert fig.get_figheight() > bit_diagram(bytes.fromhex("81 05")).get_figheight()


def test_bit_diagram_shows_only_the_fields_present(agg):
    labels = "\n".join(texts(bit_diagram(bytes.fromhex("82 7e 01 00"))))
    assert "opcode 0x2 BINARY" in labels and "16-bit follows" in labels
    assert "= 256" in labels
    assert "masking key" not in labels


def test_bit_diagram_stays_out_of_pyplot_and_renders_as_png(agg):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = bit_diagram(Frame(Opcode.CLOSE, b"\x03\xe8"), title="a close frame")
    assert plt.get_fignums() == before
    assert fig.axes[0].get_title("left") == "a close frame"
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_bit_diagram_draws_into_a_given_axes(agg):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert bit_diagram(bytes.fromhex("81 05"), ax=ax) is fig
    assert "opcode 0x1 TEXT" in [t.get_text() for t in ax.texts]


def compressed_record(inflated_to: Optional[bytes]) -> FrameRecord:
    """The record of a compressed message's first frame (RSV1), its message noted or not."""
    from wslearn.recording import InflatedMessage

    payload = bytes.fromhex("f2 48 cd c9 c9 07 00")  # "Hello", compressed (RFC 7692 §7.2.3.1)
    parsed, _ = Frame.parse(Frame(Opcode.TEXT, payload, rsv1=True).serialize(), allowed_rsv=0x40)
    inflated = InflatedMessage(256)
    if inflated_to is not None:
        inflated.fill(inflated_to)
    return FrameRecord.from_frame(
        parsed, time=0.0, connection=1, direction="out", inflated=inflated
    )


def test_bit_diagram_says_a_frame_is_compressed_and_gives_both_sizes(agg):
    fig = bit_diagram(compressed_record(b"Hello"))
    assert "RSV1: compressed (permessage-deflate)" in fig.axes[0].get_title(loc="left")
    assert "Payload Data (7 bytes compressed → 5 inflated) …" in texts(fig)
    waiting = bit_diagram(compressed_record(None))  # the message not whole yet
    assert "Payload Data (7 bytes, compressed) …" in texts(waiting)
    plain = bit_diagram(bytes.fromhex("81 05") + b"Hello")
    assert "compressed" not in plain.axes[0].get_title(loc="left")
    assert "Payload Data (5 bytes) …" in texts(plain)
