"""What a Close frame says: a status code, then a reason (RFC 6455 §5.5.1, §7.4).

Either side starts the closing handshake with a Close frame; the other answers with
one (§5.5.1). Its payload is empty, or a 2-byte code in network order followed by a
reason in UTF-8, at most 123 bytes so that the whole payload fits in a control frame.
The codes are listed in §7.4 (:class:`~wslearn.opcodes.CloseCode`); some of them, such
as 1005 and 1006, are only ever *reported*, never sent.

:class:`Close` reads such a payload strictly (:meth:`Close.parse`, as a connection must),
writes one (:meth:`Close.serialize`), and describes any payload leniently
(:meth:`Close.describe`, for tables and logs that show broken frames too).
"""

from __future__ import annotations

import dataclasses
import json
import struct

from .bytes_like import BytesLike
from .errors import LocalProtocolError, ProtocolError
from .opcodes import CloseCode, close_code_is_valid

__all__ = ["Close"]


@dataclasses.dataclass(frozen=True)
class Close:
    """What a Close frame's payload says: a status code, then a reason (RFC 6455 §5.5.1).

    The payload is the code in 2 bytes (network order), then the reason in UTF-8; it
    may also be empty, which a connection reports as code 1005 ("no status received").
    A connection also reports ``Close(1006)`` when TCP ended with no Close frame at all
    (§7.1.5). Neither 1005 nor 1006 is ever sent.

    >>> Close(1000, "bye").serialize().hex(" ")
    '03 e8 62 79 65'
    >>> Close.parse(bytes.fromhex("03 e8 62 79 65"))
    Close(code=1000, reason='bye')
    """

    code: int
    reason: str = ""

    @classmethod
    def parse(cls, payload: BytesLike) -> "Close":
        """Read a Close payload received from the peer, strictly.

        Raises :class:`ProtocolError`: 1002 for a 1-byte payload or a code that may not
        be sent (see :func:`~wslearn.opcodes.close_code_is_valid`), 1007 for a reason
        that is not UTF-8.
        """
        if len(payload) == 0:
            return cls(int(CloseCode.NO_STATUS_RCVD))
        if len(payload) == 1:
            raise ProtocolError(
                "Close frame with a 1-byte payload: the code takes 2 bytes (RFC 6455 §5.5.1)"
            )
        (code,) = struct.unpack_from("!H", payload)
        if not close_code_is_valid(code):
            raise ProtocolError(f"close code {code} may not be sent on the wire (RFC 6455 §7.4)")
        try:
            reason = bytes(payload[2:]).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(
                "close reason is not valid UTF-8 (RFC 6455 §5.5.1)", code=CloseCode.INVALID_DATA
            ) from None
        return cls(code, reason)

    def serialize(self) -> bytes:
        """The payload of a Close frame that says this; empty for 1005 ("no code").

        Raises :class:`LocalProtocolError` for a code that may not be sent, or a reason
        longer than the 123 bytes of UTF-8 that fit in a control frame (125 - 2, §5.5).
        """
        if self.code == CloseCode.NO_STATUS_RCVD:
            if self.reason:
                raise LocalProtocolError("a close reason needs a close code before it")
            return b""
        if not close_code_is_valid(self.code):
            raise LocalProtocolError(f"close code {self.code} may not be sent (RFC 6455 §7.4)")
        data = self.reason.encode("utf-8")
        if len(data) > 123:
            raise LocalProtocolError(
                f"close reason is {len(data)} bytes of UTF-8; at most 123 fit (RFC 6455 §5.5)"
            )
        return struct.pack("!H", self.code) + data

    def __str__(self) -> str:
        if self.code == CloseCode.NO_STATUS_RCVD and not self.reason:
            return "(no code)"
        if not self.reason:
            return str(self.code)
        return f"{self.code} {json.dumps(self.reason, ensure_ascii=False)}"

    @classmethod
    def describe(cls, payload: BytesLike) -> str:
        """Say what a Close payload holds, as ``1000 "bye"``: leniently, for tables and logs.

        Recorded frames include bad ones (they are the interesting ones), so this never
        raises; what breaks a rule is named instead.
        """
        payload = bytes(payload)
        if len(payload) == 1:
            return f"{payload.hex()} (1 byte: too short for a code)"
        try:
            return str(cls.parse(payload))
        except ProtocolError:
            pass
        (code,) = struct.unpack_from("!H", payload)
        problems = [] if close_code_is_valid(code) else [f"code {code} may not be sent"]
        try:
            reason = payload[2:].decode("utf-8")
            text = f"{code} {json.dumps(reason, ensure_ascii=False)}" if reason else str(code)
        except UnicodeDecodeError:
            text = f"{code} {payload[2:].hex(' ')}"
            problems.append("reason is not UTF-8")
        return f"{text} ({'; '.join(problems)})"
