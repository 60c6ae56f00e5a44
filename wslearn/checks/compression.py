"""Checks for notebook 09 (extensions and compression, RFC 7692).

* :func:`check_inflate_messages` — a connection's frames back to messages, compressed or not
* :func:`check_deflate_messages` — messages to compressed payloads, context taken over or not
* :func:`check_accept_offer` — a server's answer to a ``Sec-WebSocket-Extensions`` offer (§7)

The judges inflate and negotiate with the library's own pieces (:mod:`zlib`,
:func:`~wslearn.permessage_deflate.negotiate_deflate`,
:func:`~wslearn.permessage_deflate.check_deflate_answer`), so a right answer that differs
from the library's bytes (another compression level, parameters in another order) passes.
"""

from __future__ import annotations

import json
import random
import zlib
from typing import Any, Callable, List, Optional, Tuple

from ..extensions import NegotiationError, parse_extension, split_header_list
from ..frames import Frame
from ..opcodes import Opcode
from ..permessage_deflate import (
    NAME,
    TAIL,
    DeflateParameters,
    PerMessageDeflate,
    check_deflate_answer,
    negotiate_deflate,
)
from . import Case, CheckResult, describe_bytes, fixed_rng, not_bytes, run_cases

__all__ = ["check_inflate_messages", "check_deflate_messages", "check_accept_offer"]

#: The policy of the server in the accept_offer exercise (and of ``wslearn.serve``'s
#: defaults): windows of at most 12 bits, each way.
POLICY = DeflateParameters(server_max_window_bits=12, client_max_window_bits=12)

RAW_HINT = (
    "permessage-deflate carries raw DEFLATE data, with no zlib header: "
    "zlib.decompressobj(wbits=-15) reads it (a negative wbits means raw)"
)
TAIL_HINT = (
    "the sender removed the 4 bytes 00 00 ff ff at the end; add them back before inflating "
    "(RFC 7692 §7.2.2)"
)


def _messages(rng: random.Random) -> List[Tuple[str, bytes]]:
    """Messages of each kind the notebook measures: chat text, JSON, binary."""
    chat = "Hello, 你好, 👋".encode("utf-8")
    ticks = [
        {"symbol": rng.choice(["ABC", "XYZ", "QRS"]), "price": rng.randint(1000, 9999) / 100}
        for _ in range(60)
    ]
    as_json = json.dumps({"type": "ticks", "ticks": ticks}).encode()
    noise = bytes(rng.getrandbits(8) for _ in range(3000))
    repeated = b"abcdefgh" * 12_500  # 100 000 bytes
    return [
        ("a short chat message in UTF-8", chat),
        (f"a {len(as_json)}-byte JSON message", as_json),
        ("3000 random bytes (they do not compress)", noise),
        ("the 256 byte values, 40 times", bytes(range(256)) * 40),
        ("100 000 bytes of one repeated pattern", repeated),
    ]


# --------------------------------------------------------------------- inflate_messages


def _inflate_judge(expected: List[bytes]) -> Callable[[Any], Optional[str]]:
    def judge(result: Any) -> Optional[str]:
        if not isinstance(result, list):
            return f"your function returned {type(result).__name__}; return a list of bytes"
        if len(result) != len(expected):
            return (
                f"your function returned {len(result)} message(s), but the frames carry "
                f"{len(expected)}: a message ends with its frame that has FIN set"
            )
        for number, (got, want) in enumerate(zip(result, expected), 1):
            problem = not_bytes(got, f"message {number} of your list")
            if problem:
                return problem
            got = bytes(got)
            if got == want:
                continue
            if len(got) != len(want):
                return (
                    f"message {number} came back as {describe_bytes(got)}, but it is "
                    f"{len(want)} bytes long"
                )
            first = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
            return f"message {number} has the right length, but its bytes differ from byte {first}"
        return None

    return judge


def _frames(messages: List[bytes], *, plain: Tuple[int, ...] = (), pieces: int = 1) -> List[Frame]:
    """The frames one side sends: each message compressed (one codec, context takeover)
    except those whose index is in ``plain``, each cut into ``pieces`` frames."""
    codec = PerMessageDeflate("client")
    frames: List[Frame] = []
    for index, message in enumerate(messages):
        compressed = index not in plain
        payload = codec.compress(message) if compressed else message
        size = -(-len(payload) // pieces) or 1
        parts = [payload[i : i + size] for i in range(0, len(payload), size)] or [b""]
        for number, part in enumerate(parts):
            opcode = Opcode.BINARY if number == 0 else Opcode.CONT
            frames.append(
                Frame(opcode, part, fin=number == len(parts) - 1, rsv1=compressed and number == 0)
            )
    return frames


def _rfc(*frames: Tuple[str, bool, bool]) -> List[Frame]:
    """Text frames of RFC 7692 §7.2.3: (payload hex, FIN, RSV1); the first one is TEXT."""
    return [
        Frame(Opcode.TEXT if i == 0 or frames[i - 1][1] else Opcode.CONT,
              bytes.fromhex(payload), fin=fin, rsv1=rsv1)
        for i, (payload, fin, rsv1) in enumerate(frames)
    ]  # fmt: skip


def check_inflate_messages(inflate_messages: Callable[[List[Frame]], List[bytes]]) -> CheckResult:
    """Check ``inflate_messages(frames) -> messages``: one connection, context takeover."""
    hello = "f2 48 cd c9 c9 07 00"
    shared_hint = TAIL_HINT + "; and use one inflater for the whole connection"
    rsv1_hint = (
        "RSV1 on a message's first frame says it is compressed (RFC 7692 §6); without RSV1 "
        "the message was sent as it is, and the inflater never sees it"
    )
    fragment_hint = (
        "a compressed message may come in several frames: RSV1 is on the first only; join "
        "the payloads of all its frames, then inflate"
    )
    chat = [
        json.dumps({"type": "chat", "room": "lobby", "user": user, "text": text}).encode()
        for user, text in [("ada", "Hello everyone!"), ("bob", "Hi Ada"), ("ada", ""),
                           ("cy", "Lunch at noon?"), ("bob", "Hi all")]
    ]  # fmt: skip
    kinds = [message for _, message in _messages(fixed_rng())]
    cases = [
        Case("RFC 7692 §7.2.3.1's compressed 'Hello' in one frame (payload f2 48 cd c9 c9 07 00)",
             (_rfc((hello, True, True)),), _inflate_judge([b"Hello"]),
             "use a zlib.decompressobj(wbits=-15) (raw DEFLATE, no header) and add 00 00 ff ff: "
             "zlib.decompress() wants a finished stream"),
        Case("RFC 7692 §7.2.3.1's 'Hello' in two frames (RSV1 on the first)",
             (_rfc(("f2 48 cd", False, True), ("c9 c9 07 00", True, False)),),
             _inflate_judge([b"Hello"]), fragment_hint),
        Case("RFC 7692 §7.2.3.2's two 'Hello' messages, the second one referring to the first",
             (_rfc((hello, True, True), ("f2 00 11 00 00", True, True)),),
             _inflate_judge([b"Hello"] * 2), shared_hint),
        Case("RFC 7692 §7.2.3.4's 'Hello' in a final block (BFINAL set)",
             (_rfc(("f3 48 cd c9 c9 07 00 00", True, True)),), _inflate_judge([b"Hello"]),
             "after a final block, the 4 bytes you add are left over (in the inflater's "
             "unused_data): that is fine, do not fail on them"),
        Case("'Hello' sent uncompressed (RSV1 clear)", (_rfc(("48 65 6c 6c 6f", True, False)),),
             _inflate_judge([b"Hello"]), rsv1_hint),
        Case("no frames at all", ([],), _inflate_judge([]), "no frames, no message"),
        Case("an empty compressed message (payload 00)", (_rfc(("00", True, True)),),
             _inflate_judge([b""]), TAIL_HINT),
        Case("five similar chat messages on one connection", (_frames(chat),),
             _inflate_judge(chat), shared_hint),
        Case("chat messages, the third and fourth sent uncompressed",
             (_frames(chat, plain=(2, 3)),), _inflate_judge(chat), rsv1_hint),
        Case("chat messages, each in three frames", (_frames(chat, pieces=3),),
             _inflate_judge(chat), fragment_hint),
        Case("messages of each kind (text, JSON, binary), the second sent uncompressed",
             (_frames(kinds, plain=(1,)),), _inflate_judge(kinds), rsv1_hint),
        Case("messages of each kind, each in four frames", (_frames(kinds, pieces=4),),
             _inflate_judge(kinds), fragment_hint),
        Case("a message compressed at level 9 with a 9-bit window",
             ([Frame(Opcode.TEXT, _compress(b"level nine, " * 300, level=9, bits=9), rsv1=True)],),
             _inflate_judge([b"level nine, " * 300]), RAW_HINT),
    ]  # fmt: skip
    return run_cases("inflate_messages", inflate_messages, cases)


def _compress(message: bytes, *, level: int = 6, bits: int = 15) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -bits)
    return (compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH))[: -len(TAIL)]


# --------------------------------------------------------------------- deflate_messages


def _deflate_judge(
    messages: List[bytes], takeover: bool, *, similar: bool = False
) -> Callable[[Any], Optional[str]]:
    """``similar``: messages that context takeover must make smaller, taken together."""

    def judge(result: Any) -> Optional[str]:
        if not isinstance(result, list):
            return f"your function returned {type(result).__name__}; return a list of bytes"
        if len(result) != len(messages):
            return (
                f"your function returned {len(result)} payload(s) for {len(messages)} "
                "message(s): one payload per message"
            )
        inflater = zlib.decompressobj(-15)
        for number, (payload, message) in enumerate(zip(result, messages), 1):
            problem = not_bytes(payload, f"payload {number} of your list")
            if problem:
                return problem
            problem = _payload_problem(bytes(payload), message, number, inflater, takeover)
            if problem:
                return problem
            if not takeover:
                inflater = zlib.decompressobj(-15)
        if takeover and similar:
            alone = [PerMessageDeflate("client", _ALONE).compress(m) for m in messages]
            if sum(map(len, result)) >= sum(map(len, alone)) * 0.9:
                return (
                    f"your payloads take {sum(map(len, result))} bytes, no fewer than these "
                    "messages compressed each on its own: with takeover, a message should "
                    "refer to the ones before it (one compressor for the whole list)"
                )
        return None

    return judge


_ALONE = DeflateParameters(client_no_context_takeover=True)


def _payload_problem(
    payload: bytes, message: bytes, number: int, inflater: Any, takeover: bool
) -> Optional[str]:
    """What is wrong with one payload, read by ``inflater`` as the receiver would, or None."""
    if payload.endswith(TAIL):
        return (
            f"payload {number} ends with 00 00 ff ff: a sender removes those 4 bytes, the "
            "receiver adds them back (RFC 7692 §7.2.1)"
        )
    try:
        inflated = inflater.decompress(payload + TAIL)
    except zlib.error as error:
        if "too far back" in str(error) and takeover:
            return (
                f"payload {number} refers to bytes that no message of this list held: does "
                "your function keep a compressor from one call to the next? each call is a "
                "new connection"
            )
        if "too far back" in str(error):
            return (
                f"payload {number} refers to bytes of an earlier message: with takeover=False "
                "each message is compressed on its own, by a new compressor"
            )
        if payload[:1] == b"\x78":
            return (
                f"a raw inflater cannot read payload {number}: it starts with 78, the first "
                "byte of a zlib header. permessage-deflate sends raw DEFLATE data: give "
                "compressobj a negative wbits"
            )
        return (
            f"a raw inflater, given payload {number} ({describe_bytes(payload)}) followed "
            "by 00 00 ff ff, says it is not valid DEFLATE data"
        )
    if inflater.eof:
        return (
            f"payload {number} ends the DEFLATE stream with a final block (what flush() does "
            "by default, Z_FINISH): end it with flush(zlib.Z_SYNC_FLUSH) instead, so that the "
            "stream can go on with the next message (RFC 7692 §7.2.1)"
        )
    if inflated != message:
        return (
            f"payload {number} inflates to {describe_bytes(inflated)}, not to the "
            f"{len(message)}-byte message"
            + (" (with takeover, one compressor for the whole list)" if takeover else "")
        )
    if len(message) > 10_000 and len(payload) * 4 > len(message):
        return (
            f"payload {number} is {len(payload)} bytes for a message that compresses very "
            "well: is it compressed at all? (level 0 only stores the bytes)"
        )
    return None


def check_deflate_messages(
    deflate_messages: Callable[[List[bytes], bool], List[bytes]],
) -> CheckResult:
    """Check ``deflate_messages(messages, takeover) -> payloads``, with and without takeover."""
    hint = (
        "compressobj(wbits=-15), then compress(message) + flush(zlib.Z_SYNC_FLUSH), then "
        "leave out the last 4 bytes (RFC 7692 §7.2.1)"
    )
    shared_hint = "with takeover=True, make one compressor and use it for every message"
    alone_hint = "with takeover=False, make a new compressor for each message"
    chat = [
        json.dumps({"type": "chat", "user": user, "text": text}).encode()
        for user, text in [("ada", "Hello everyone!"), ("bob", "Hi Ada"),
                           ("ada", "Lunch at noon?"), ("bob", "Yes, at noon")]
    ]  # fmt: skip
    kinds = [message for _, message in _messages(fixed_rng())]
    cases: List[Case] = []
    for takeover in (True, False):
        said = f"takeover={takeover}"
        cases += [
            Case(f"['Hello'], {said}", ([b"Hello"], takeover),
                 _deflate_judge([b"Hello"], takeover), hint),
            Case(f"an empty message, {said}", ([b""], takeover),
                 _deflate_judge([b""], takeover), hint),
            Case(f"['Hello', 'Hello'], {said}", ([b"Hello", b"Hello"], takeover),
                 _deflate_judge([b"Hello", b"Hello"], takeover, similar=True),
                 shared_hint if takeover else alone_hint),
            Case(f"four chat messages in JSON, {said}", (chat, takeover),
                 _deflate_judge(chat, takeover, similar=True),
                 shared_hint if takeover else alone_hint),
            Case(f"messages of each kind (text, JSON, binary), {said}", (kinds, takeover),
                 _deflate_judge(kinds, takeover), hint),
            Case(f"no messages, {said}", ([], takeover), _deflate_judge([], takeover),
                 "no message, no payload"),
        ]  # fmt: skip
    return run_cases("deflate_messages", deflate_messages, cases)


# ------------------------------------------------------------------------ accept_offer


def _first_acceptable_offer(header: str) -> Optional[DeflateParameters]:
    """The offer the library's server answers: the first well-formed permessage-deflate."""
    for element in split_header_list(header):
        if not element:
            continue
        try:
            extension = parse_extension(element)
            if extension.name != NAME:
                continue
            offer = DeflateParameters.from_params(extension.params, offer=True)
            if negotiate_deflate(element, POLICY) is not None:
                return offer
        except NegotiationError:
            continue
    return None


#: The fields a client and server use after the handshake, and whose they are.
_FIELDS = [
    ("server_no_context_takeover", "the server"),
    ("client_no_context_takeover", "the client"),
    ("server_max_window_bits", "the server"),
    ("client_max_window_bits", "the client"),
]


def _bits(value: Optional[int]) -> int:
    return 15 if value is None else value


def _accept_judge(header: str) -> Callable[[Any], Optional[str]]:
    expected = negotiate_deflate(header, POLICY)
    offer = _first_acceptable_offer(header)

    def judge(result: Any) -> Optional[str]:
        if expected is None or offer is None:
            if result is None:
                return None
            return (
                f"your function answered {result!r}, but this server must decline: no offer "
                "here can be accepted, so the answer is None"
            )
        if result is None:
            return "your function declined, but an offer here is well-formed and acceptable"
        if not isinstance(result, str):
            return f"your function returned {type(result).__name__}; return a str or None"
        try:
            used = check_deflate_answer(result, offer)
        except NegotiationError as error:
            return f"a client that made this offer must refuse your answer {result!r}: {error}"
        if used is None:
            return f"your answer {result!r} is empty; to decline, return None"
        agreed = check_deflate_answer(expected.header(), offer)
        assert agreed is not None
        for field, side in _FIELDS:
            mine, right = getattr(used, field), getattr(agreed, field)
            if field.endswith("bits"):
                mine, right = _bits(mine), _bits(right)
                if mine != right:
                    return (
                        f"with your answer {result!r}, {side}'s window is {mine} bits: the "
                        "offer and the server's policy set another size"
                    )
            elif mine != right:
                granted = "on" if mine else "off"
                return (
                    f"with your answer {result!r}, no_context_takeover is {granted} for "
                    f"{side}: repeat what the offer asks, and ask nothing more"
                )
        return None

    return judge


def check_accept_offer(accept_offer: Callable[[str], Optional[str]]) -> CheckResult:
    """Check ``accept_offer(header) -> answer or None`` against the notebook's server policy."""
    malformed = "an offer that is malformed is declined; the next offer, if any, is read (§7)"
    cases = [
        ("Chromium's offer", "permessage-deflate; client_max_window_bits",
         "client_max_window_bits without a value lets the server choose the client's window"),
        ("an offer with no parameters", "permessage-deflate",
         "the server's window is capped by its policy even when the client asks nothing"),
        ("an offer of both no_context_takeover flags",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
         "a server grants a no_context_takeover by repeating it in its answer (§7.1.1)"),
        ("an offer of server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10",
         "the server's window may be the offer's or smaller, and it is stated (§7.1.2.1)"),
        ("an offer of client_max_window_bits=9", "permessage-deflate; client_max_window_bits=9",
         "a client that offers a window of N bits uses at most N bits (§7.1.2.2)"),
        ("an offer with spaces in odd places",
         "permessage-deflate;client_max_window_bits=10 ; server_max_window_bits=15",
         "strip the spaces around each parameter"),
        ("an extension this server does not know", "x-webkit-deflate-frame",
         "only permessage-deflate is answered"),
        ("an unknown extension, then permessage-deflate",
         "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits",
         "offers are separated by commas, most wanted first"),
        ("a window of 16 bits, then a plain offer",
         "permessage-deflate; client_max_window_bits=16, permessage-deflate", malformed),
        ("a parameter given twice",
         "permessage-deflate; server_no_context_takeover; server_no_context_takeover", malformed),
        ("a no_context_takeover with a value", "permessage-deflate; server_no_context_takeover=1",
         malformed),
        ("server_max_window_bits without a value", "permessage-deflate; server_max_window_bits",
         malformed),
        ("an unknown parameter", "permessage-deflate; max_window_bits=10", malformed),
        ("a window of 8 bits for the server, then one of 9",
         "permessage-deflate; server_max_window_bits=8, permessage-deflate; "
         "server_max_window_bits=9",
         "zlib cannot compress with an 8-bit window: decline that offer"),
        ("an empty header", "", "no offer: nothing to accept"),
    ]  # fmt: skip
    return run_cases(
        "accept_offer",
        accept_offer,
        [Case(about, (header,), _accept_judge(header), hint) for about, header, hint in cases],
    )
