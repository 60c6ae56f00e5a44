"""The numbers of the protocol (``wslearn.opcodes``): opcodes and close codes."""

import pytest

from wslearn import CloseCode, Opcode, close_code_is_valid


@pytest.mark.parametrize(
    "code, valid",
    [
        (999, False),
        (1000, True),
        (1003, True),
        (1004, False),  # reserved
        (1005, False),  # reported only: "no code in the Close frame"
        (1006, False),  # reported only: "no Close frame at all"
        (1007, True),
        (1014, True),
        (1015, False),  # reported only: "TLS handshake failed"
        (1016, False),
        (2999, False),
        (3000, True),
        (4999, True),
        (5000, False),
    ],
)
def test_close_code_is_valid_at_the_edges_of_each_range(code, valid):
    assert close_code_is_valid(code) is valid


def test_only_close_ping_and_pong_are_control_opcodes():
    assert [op for op in Opcode if op.is_control] == [Opcode.CLOSE, Opcode.PING, Opcode.PONG]
    assert not Opcode(0x2).is_control and Opcode(0x8).is_control


def test_the_enums_are_the_numbers_on_the_wire():
    assert Opcode(1) is Opcode.TEXT and Opcode.PONG == 0xA
    assert CloseCode(1009) is CloseCode.MESSAGE_TOO_BIG and CloseCode.NORMAL_CLOSURE == 1000
    with pytest.raises(ValueError):
        Opcode(3)  # reserved: no name
