"""The numbers of the protocol: opcodes and close codes (RFC 6455 §5.2, §7.4).

Both are :class:`enum.IntEnum`, so ``Opcode.TEXT == 1`` and a learner can print
either the name or the number.
"""

from __future__ import annotations

import enum

__all__ = ["Opcode", "CloseCode", "close_code_is_valid"]


class Opcode(enum.IntEnum):
    """The 4-bit opcode of a frame (RFC 6455 §5.2, §11.8).

    0x0–0x2 are data frames, 0x8–0xA control frames. 0x3–0x7 and 0xB–0xF are
    reserved: a frame that uses one must fail the connection (§5.2).
    """

    CONT = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA

    @property
    def is_control(self) -> bool:
        """Control frames have the high bit of the opcode set (§5.5)."""
        return self >= 0x8


class CloseCode(enum.IntEnum):
    """Status codes carried in a Close frame (RFC 6455 §7.4.1, §11.7).

    1005, 1006 and 1015 are *reported* to applications but never sent on the
    wire: 1005 means "the Close frame had no code", 1006 "the TCP connection
    dropped without a Close frame", 1015 "the TLS handshake failed" (§7.4.1).
    """

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015


#: Codes in 1000–2999 that may appear in a Close frame on the wire (§7.4.1, IANA registry):
#: every registered one but those that only report what happened.
_WIRE_CODES = frozenset(CloseCode) - {
    CloseCode.NO_STATUS_RCVD,
    CloseCode.ABNORMAL_CLOSURE,
    CloseCode.TLS_HANDSHAKE,
}


def close_code_is_valid(code: int) -> bool:
    """Tell whether ``code`` may travel in a Close frame (RFC 6455 §7.4).

    Valid: the registered codes 1000–1003 and 1007–1014, plus 3000–3999
    (registered with IANA by libraries and frameworks) and 4000–4999 (private
    use, free for applications). Everything else — 0–999, 1004 (reserved),
    1005/1006/1015 (reporting only), 1016–2999 and 5000 and up — is invalid.
    """
    return code in _WIRE_CODES or 3000 <= code <= 4999
