"""Checks for the course's exercises: run a learner's function on many cases, say what is wrong.

Each notebook's exercises end with a checking call such as::

    from wslearn.checks.accept import check_accept_key
    check_accept_key(my_accept_key)

A check runs the learner's function on a set of cases (the RFC's examples,
edge cases, and random ones compared with the library's own function). When
all pass it returns a :class:`CheckResult`, which a notebook shows as one line
(``✓ accept_key: all 9 cases pass``). At the first
wrong case it raises :class:`ExerciseFailed` with a message in plain words —
what was given, what came back, what the rule says, and a hint — but never
the expected answer itself, so the exercise stays an exercise.

The helpers here are what every topic module (``wslearn.checks.<topic>``)
builds its checks from. :data:`COVERS` says, for each check, which library
functions answer its exercise: the grader cuts them out of the package that
learner code sees while it is graded.
"""

from __future__ import annotations

import dataclasses
import random
import traceback
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

__all__ = [
    "ExerciseFailed",
    "CheckResult",
    "Case",
    "run_cases",
    "describe_bytes",
    "sentence",
    "not_bytes",
    "bytes_judge",
    "fixed_rng",
    "COVERS",
]

# The toy server of notebook 08 (wslearn.bad_examples.toy_server) has the tutorial's bugs,
# but within its limits it answers several exercises: its handshake() writes a whole 101 to a
# fake connection (accept_key, build_101), its decrypt() unmasks a frame's payload of up to
# 125 bytes (the unmasking, decode_frame and pong_for exercises) and its encode() writes the
# header of a short text frame (encode_header).
_TOY_HANDSHAKE = "bad_examples.toy_server.handshake"
_TOY_UNMASK = "bad_examples.toy_server.decrypt"
_TOY_HEADER = "bad_examples.toy_server.encode"

# Every way the library XORs a payload with a key. unmask (``mask`` is the same function),
# unmask_reference, unmask_fast and speedups.unmask take the offset too; the in-place ones
# answer with a bytearray around them. Frame.to_wire and Frame.from_header (un)mask with
# unmask_fast, so they go with it. (websockets.frames.apply_mask answers as well, but it is
# not wslearn's to cut.)
_UNMASKING = (
    "masking.unmask",
    "masking.unmask_reference",
    "masking.unmask_fast",
    "masking.unmask_in_place",
    "speedups.unmask",
    "speedups.unmask_in_place",
    _TOY_UNMASK,
)

#: The library functions that answer each exercise, by the name of the exercise's check:
#: dotted names relative to the package (``"handshake.accept_key"``, ``"close.Close.parse"``).
#: A function is listed when calling it, with at most trivial glue, gives the right answer:
#: the grader cuts these out of the copy of the package that learner code sees while it is
#: graded (:func:`wslearn.grading.package_view.learner_package`), so delegating the exercise
#: to the library earns nothing. Where several doors lead to one function (Frame.parse,
#: FrameReader and Connection all read a header with parse_frame_header), cutting that one
#: closes them all. An empty entry: nothing of wslearn's own answers the exercise.
COVERS: Dict[str, Tuple[str, ...]] = {
    # Notebook 01. parse_request(data).headers, names lower-cased and repeats joined with
    # get_all: one line of glue (the exercise says: don't use wslearn).
    "check_parse_headers": ("http11.parse_request",),
    # token.lower() in Headers([("x", value)]).tokens("x"): how the check itself decides.
    "check_has_token": ("http11.Headers.tokens",),
    # 101, or the status of the HandshakeError that validate_request(parse_request(data))
    # raises: how the check finds wslearn's own answer. The exercise allows parse_request and
    # headers.tokens, not this.
    "check_status_for": ("handshake.validate_request",),
    # Notebook 02. accept_response(key) carries the value too, but reaches it through this.
    "check_accept_key": ("handshake.accept_key", _TOY_HANDSHAKE),
    # accept_response(key) is the answer; http_response(101, headers=[Upgrade and
    # Sec-WebSocket-Accept]) is a 101 a client accepts too. accept_key stays: the hint offers it.
    "check_build_101": ("handshake.accept_response", "http11.http_response", _TOY_HANDSHAKE),
    # Notebook 03. (header.length, header.header_size), or None while the header is incomplete.
    "check_payload_length": ("frames.parse_frame_header",),
    # Frame.wire_header, to_wire and serialize build their headers with it, so they go too.
    "check_encode_header": ("frames.encode_frame_header", _TOY_HEADER),
    # bool(opcode & 0x8) is the whole answer. Opcode.is_control knows only the six opcodes
    # defined (Opcode(3) raises), and parse_frame_header needs it.
    "check_is_control": (),
    # Notebook 04.
    "check_unmask_loop": _UNMASKING,
    "check_unmask_from": _UNMASKING,
    # parse_frame_header(frame).mask.
    "check_read_mask_key": ("frames.parse_frame_header",),
    # Notebook 05. Frame.parse(data)[0] holds the opcode and the unmasked payload; FrameReader
    # and Frame.from_header need a header from parse_frame_header, so it goes too. unmask
    # stays: notebook 04's exercise, one step of this one.
    "check_decode_frame": ("frames.Frame.parse", "frames.parse_frame_header", _TOY_UNMASK),
    # A handler: upper-case or reverse, then connection.send(). The library's handlers (echo,
    # broadcast) send something else.
    "check_shout": (),
    # Notebook 06. Close(code, reason).serialize(): its LocalProtocolError is a ValueError.
    # Only 1005 needs a test of its own (serialize() sends it as b"", the exercise refuses it).
    "check_close_payload": ("close.Close.serialize",),
    # Close.parse(payload): its code and reason.
    "check_parse_close": ("close.Close.parse",),
    # Frame(PONG, Frame.parse(ping)[0].payload).serialize(), or a server Connection fed the
    # Ping, which answers it by itself: both read the Ping with parse_frame_header.
    "check_pong_for": ("frames.Frame.parse", "frames.parse_frame_header", _TOY_UNMASK),
    # Notebook 07. A FrameReader(keep_wire=len(stream)) fed the stream hands out the whole
    # frames (header.raw + wire_preview) and keeps the rest (buffered). parse_frame_header
    # stays: the loop around it is the exercise.
    "check_split_frames": ("reader.FrameReader.next_frame",),
    # A client Connection fed frame.serialize() for each frame gives the messages as Text and
    # Binary events; _handle_data is where it puts fragments together.
    "check_assemble": ("connection.Connection._handle_data",),
    # The standard library's incremental UTF-8 decoder answers it (the notebook shows it);
    # views.text.decode_text only wraps it.
    "check_utf8_safe_cut": (),
    # Notebook 08. validate_request(origins=[...]) compares whole strings (a listed 'null'
    # gets in) and origin_is_local is another policy: neither is this answer.
    "check_origin_allowed": (),
    # No recv() loop of the library reads exactly n bytes.
    "check_read_exactly": (),
    # Notebook 09. A client Connection with a PerMessageDeflate, fed the frames serialized,
    # gives the messages; it inflates with inflate_frame, which calls decompress (so does a
    # codec used alone): cutting decompress closes them all.
    "check_inflate_messages": ("permessage_deflate.PerMessageDeflate.decompress",),
    # One PerMessageDeflate (or one per message without takeover) and compress(message) for
    # each; Connection.send_text and send_binary compress through it.
    "check_deflate_messages": ("permessage_deflate.PerMessageDeflate.compress",),
    # negotiate_deflate(header, limits).header() is the answer; answer_offer is its policy half
    # and from_params its validation (check_deflate_answer and the server's
    # CompressionSettings.accept read offers through them). parse_extensions stays: the
    # exercise offers it, as notebook 07's leaves parse_frame_header.
    "check_accept_offer": (
        "permessage_deflate.negotiate_deflate",
        "permessage_deflate.answer_offer",
        "permessage_deflate.DeflateParameters.from_params",
    ),
    # Notebook 10. The rule validate_request applies through select_subprotocol.
    "check_select_subprotocol": ("handshake.select_subprotocol",),
    # check_token(token, secret, now=now) is the answer (its errors are ValueErrors), and
    # first_message_auth checks through it.
    "check_verify_token": ("tokens.check_token",),
    # Notebook 11. Frame(opcode, payload).serialize(mask=key) is the answer, and so is a client
    # Connection's send; all of them build the header with encode_frame_header. The masking
    # loop stays: notebook 04's exercise, one step of this one.
    "check_client_frame": ("frames.encode_frame_header",),
    # check_response(parse_response(head), key) raises where the answer is False. parse_response
    # (notebook 01's topic) and accept_key (notebook 02's) stay: the hint offers them.
    "check_accept_is_valid": ("handshake.check_response",),
}


def sentence(text: str) -> str:
    """Messages and hints are sentences: end ``text`` with a full stop if it has none."""
    text = text.rstrip()
    return text if not text or text.endswith((".", "?", "!")) else text + "."


class ExerciseFailed(AssertionError):
    """A learner's function gave a wrong answer; the message says what and gives a hint."""

    def __init__(self, exercise: str, message: str, hint: str = "") -> None:
        message, hint = sentence(message), sentence(hint)
        self.exercise = exercise
        self.problem = message
        self.hint = hint
        text = f"{exercise}: {message}"
        if hint:
            text += f"\nHint: {hint}"
        super().__init__(text)

    def _render_traceback_(self) -> list:
        # IPython shows this instead of a traceback: the learner needs the message,
        # not forty lines of the checking code.
        return [
            f"✗ {line}" if i == 0 else f"  {line}" for i, line in enumerate(str(self).splitlines())
        ]


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of a passing check."""

    exercise: str
    cases: int
    #: Remarks on right answers worth a second look (one that differs from the library's, say).
    notes: Tuple[str, ...] = ()

    def __repr__(self) -> str:
        lines = [f"✓ {self.exercise}: all {self.cases} cases pass"]
        lines += [f"  Note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@dataclasses.dataclass(frozen=True)
class Case:
    """One case: ``args`` to call with, and ``judge(result)`` returning None or a problem.

    ``about`` describes the input in words ("a 126-byte payload"), used in messages.
    ``hint`` is shown when this case fails. ``note(result)``, if given, is asked about a
    result the judge accepted: a text it returns is shown under the ✓ line, for a right
    answer that is not the one the library gives.
    """

    about: str
    args: tuple
    judge: Callable[[Any], Optional[str]]
    hint: str = ""
    kwargs: dict = dataclasses.field(default_factory=dict)
    note: Optional[Callable[[Any], Optional[str]]] = None


def describe_bytes(data: Any, limit: int = 16) -> str:
    """Show bytes as hex, shortened: ``81 05 48 65 … (7 bytes)``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return repr(data)
    data = bytes(data)
    shown = data[:limit].hex(" ")
    if len(data) > limit:
        shown += " …"
    return f"{shown} ({len(data)} bytes)" if data else "b'' (0 bytes)"


def not_bytes(result: Any, what: str = "your function") -> Optional[str]:
    """``None`` if ``result`` is bytes (or a bytearray), else what to tell the learner."""
    if isinstance(result, (bytes, bytearray)):
        return None
    if isinstance(result, str):
        return f"{what} returned a str; return a bytes object, not text"
    if isinstance(result, (list, tuple)):
        return (
            f"{what} returned a {type(result).__name__}; "
            "turn it into bytes with bytes(...) before returning it"
        )
    return f"{what} returned {result!r}, which is not bytes"


def bytes_judge(expected: bytes, explain: Callable[[bytes], str]) -> Callable[[Any], Optional[str]]:
    """A judge for a function that returns bytes: ``None`` when ``expected`` came back.

    Anything that is not bytes is described by :func:`not_bytes`; wrong bytes by
    ``explain(result)``, which says what is wrong with them (never what is right).
    """

    def judge(result: Any) -> Optional[str]:
        problem = not_bytes(result)
        if problem:
            return problem
        result = bytes(result)
        return None if result == expected else explain(result)

    return judge


def fixed_rng() -> random.Random:
    """A fixed seed: the same cases every run, so a failure can be reproduced."""
    return random.Random(6455)


def run_cases(exercise: str, function: Callable, cases: Iterable[Case]) -> CheckResult:
    """Call ``function`` on every case; raise :class:`ExerciseFailed` at the first wrong one.

    A case whose call raises is reported with the exception (``NotImplementedError``
    from an unsolved stub is reported as "not written yet").
    """
    if not callable(function):
        raise ExerciseFailed(exercise, f"expected a function, got {type(function).__name__}")
    count = 0
    notes: List[str] = []
    for case in cases:
        count += 1
        try:
            result = function(*case.args, **case.kwargs)
        except NotImplementedError:
            raise ExerciseFailed(
                exercise,
                "not written yet: the function still raises NotImplementedError",
                "replace the `raise NotImplementedError()` line with your code",
            ) from None
        except Exception as error:  # the learner's bug: report it plainly
            name, line = raised_where(error)
            raise ExerciseFailed(
                exercise,
                f"for {case.about}, your function raised {name}: {error} (line {line})",
                case.hint,
            ) from None
        problem = case.judge(result)
        if problem:
            raise ExerciseFailed(exercise, f"for {case.about}, {problem}", case.hint)
        remark = case.note(result) if case.note is not None else None
        if remark:
            notes.append(sentence(f"for {case.about}, {remark}"))
    return CheckResult(exercise, count, tuple(notes))


def raised_where(error: BaseException) -> Tuple[str, Optional[int]]:
    """The type name of ``error`` and the line it was raised at.

    When the grader calls a learner's function in the learner's own process, the error
    comes back described (:class:`wslearn.grading.remote.LearnerError`): its
    ``type_name`` and ``line`` are those of the learner's code, not of the grader's.
    """
    type_name = getattr(error, "type_name", None)
    if isinstance(type_name, str):
        line = getattr(error, "line", None)
        return type_name, line if isinstance(line, int) else None
    frames = traceback.extract_tb(error.__traceback__)
    return type(error).__name__, frames[-1].lineno if frames else None
