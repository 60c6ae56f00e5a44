"""A chat with rooms: a small application protocol on top of WebSocket.

WebSocket carries messages; what they *mean* is left to the application (RFC 6455 §1.9:
subprotocols name such agreements). This module is one such agreement, small enough to read
in one sitting. Every message is a JSON object (RFC 8259) with a ``"type"`` field:

==========  ======================================================  =========================
direction   message                                                 meaning
==========  ======================================================  =========================
client →    ``{"type": "join", "room": "r", "name": "ada"}``        enter room r (leaving any
                                                                    room you were in)
client →    ``{"type": "say", "text": "hi"}``                       speak in your room
client →    ``{"type": "leave"}``                                   leave your room
→ client    ``{"type": "joined", "room", "name", "members"}``       someone (maybe you) came in
→ client    ``{"type": "said", "room", "name", "text"}``            someone said something
→ client    ``{"type": "left", "room", "name"}``                    someone (maybe you) left
→ client    ``{"type": "error", "error": "..."}``                   your last message was wrong
==========  ======================================================  =========================

Two layers can refuse a message, and they answer differently:

* **the WebSocket layer** refuses frames that break RFC 6455 (bad masking, text that is not
  UTF-8, a message over ``max_size``): the byte stream can no longer be trusted, so the
  connection is *closed* with 1002, 1007 or 1009 (§7.4.1), and the handler never sees it;
* **the application** gets well-formed text that means nothing in its protocol: not JSON, a
  JSON list, an unknown ``"type"``, a missing field, a name too long. The stream is fine and
  the next message may be fine too, so it *answers* ``{"type": "error", ...}`` and the
  connection stays open, as an HTTP server answers 400 and keeps the connection alive.

An application closes only when going on makes no sense: a **binary** message in this
text-only protocol is closed with **1003** ("an endpoint that understands only text data MAY
send this if it receives a binary message", §7.4.1), and a peer that breaks a policy, such
as one that does not authenticate (:mod:`wslearn.auth`), with **1008**. (Text that is not JSON
is *not* 1007: 1007 says the bytes are not the UTF-8 their frame promised, a WebSocket matter.)

The rules are one pure function, :func:`chat_step`: the members of every room and one incoming
message in, the new members and the messages to send out. No sockets, no threads, so a test
or a notebook can run a whole conversation with :func:`simulate`. :class:`ChatRooms` is the
thin live part: the handler for ``wslearn.serve(handler=ChatRooms())``, which keeps the members
under a lock, calls :func:`chat_step` and sends what it returns.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import (
    TYPE_CHECKING,
    Any,
    Deque,
    Dict,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
    Union,
)

from .errors import ConnectionClosed
from .opcodes import CloseCode

if TYPE_CHECKING:
    from .server_connection import ServerConnection

__all__ = [
    "MAX_MESSAGE_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_TEXT_LENGTH",
    "ChatError",
    "ChatRooms",
    "ChatStep",
    "FlowStep",
    "Member",
    "chat_departure",
    "chat_step",
    "encode_message",
    "flow_steps",
    "parse_message",
    "simulate",
]

#: Longest room or member name, in characters.
MAX_NAME_LENGTH = 32
#: Longest ``"say"`` text, in characters.
MAX_TEXT_LENGTH = 1000
#: Longest message read as JSON at all: a bound on the parser's work, whatever a peer sends.
MAX_MESSAGE_LENGTH = 4096

#: The answer's ``"members"`` lists at most this many names (a room may hold more).
MAX_MEMBERS_LISTED = 100

#: What a client may send, and the string fields each type needs.
REQUIRED_FIELDS: Dict[str, Tuple[str, ...]] = {
    "join": ("room", "name"),
    "say": ("text",),
    "leave": (),
}

Outgoing = Tuple[int, Dict[str, Any]]  # (receiver's connection id, message)


class ChatError(ValueError):
    """A message that means nothing in the chat protocol; its text goes back to the sender."""


class Member(NamedTuple):
    """Where one connection is: its room and its name there."""

    room: str
    name: str


class ChatStep(NamedTuple):
    """What one incoming message does: the new members, what to send, whether to close.

    ``outgoing`` lists ``(connection id, message)`` in the order to send them; ``close`` is
    ``(code, reason)`` if the sender's connection must be closed.
    """

    members: Dict[int, Member]
    outgoing: List[Outgoing]
    close: Optional[Tuple[int, str]] = None


class FlowStep(NamedTuple):
    """One message on its way: from whom (``"#1"``, ``"server"``), to whom, and what."""

    sender: str
    receiver: str
    message: Union[Dict[str, Any], str]


def encode_message(message: Dict[str, Any]) -> str:
    """``message`` as the JSON text that goes in one WebSocket text message."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def _field(message: Dict[str, Any], name: str, limit: int) -> str:
    """The string field ``name`` of ``message``, checked: present, a string, not too long."""
    value = message.get(name)
    if not isinstance(value, str):
        raise ChatError(f"{message['type']!r} needs a string field {name!r}")
    if not value or len(value) > limit:
        raise ChatError(f"{name!r} must be 1 to {limit} characters long")
    if not value.isprintable():  # a newline or an escape code in a name misleads the reader
        raise ChatError(f"{name!r} must hold printable characters only")
    return value


def parse_message(text: str) -> Dict[str, Any]:
    """Check one client message and return it as a dict; :class:`ChatError` says what is wrong.

    Fields this protocol does not know are ignored, so a newer client can add some.
    """
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ChatError(f"message over {MAX_MESSAGE_LENGTH} characters")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError) as error:  # RecursionError: "[[[[..." nested too deep
        raise ChatError(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise ChatError(f"a message is a JSON object, not {type(message).__name__}")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in REQUIRED_FIELDS:  # a list is not hashable
        raise ChatError(f"unknown type {kind!r}: expected 'join', 'say' or 'leave'")
    limits = {"room": MAX_NAME_LENGTH, "name": MAX_NAME_LENGTH, "text": MAX_TEXT_LENGTH}
    checked: Dict[str, Any] = {"type": kind}
    for name in REQUIRED_FIELDS[kind]:
        checked[name] = _field(message, name, limits[name])
    return checked


def _in_room(members: Mapping[int, Member], room: str) -> List[int]:
    """The connection ids in ``room``, in the order they are kept (that of their joining)."""
    return [conn for conn, member in members.items() if member.room == room]


def _leave(members: Dict[int, Member], sender: int, *, tell_sender: bool) -> List[Outgoing]:
    """Take ``sender`` out of its room (in ``members``); the "left" messages that makes."""
    member = members.pop(sender)
    left = {"type": "left", "room": member.room, "name": member.name}
    receivers = _in_room(members, member.room) + ([sender] if tell_sender else [])
    return [(conn, left) for conn in receivers]


def chat_step(members: Mapping[int, Member], sender: int, message: Union[str, bytes]) -> ChatStep:
    """The chat's rules: what ``message`` from connection ``sender`` does to ``members``.

    ``members`` maps each connection id in a room to its :class:`Member`; it is not changed
    (the new members come back in the step). A pure function: the same arguments always
    give the same step, which is why the whole chat can be tested without a network.
    """
    before, members = members, dict(members)
    if isinstance(message, (bytes, bytearray)):
        # §7.4.1: 1003, "received a type of data it cannot accept": this chat is text only.
        outgoing = _leave(members, sender, tell_sender=False) if sender in members else []
        return ChatStep(members, outgoing, (CloseCode.UNSUPPORTED_DATA, "the chat is JSON text"))
    try:
        request = parse_message(message)
        if request["type"] == "join":
            room, name = request["room"], request["name"]
            others = [conn for conn in _in_room(members, room) if conn != sender]
            if name in [members[conn].name for conn in others]:
                raise ChatError(f"the name {name!r} is taken in room {room!r}")
            outgoing = _leave(members, sender, tell_sender=True) if sender in members else []
            members[sender] = Member(room, name)  # last in the room's order
            names = [members[conn].name for conn in _in_room(members, room)]
            joined = {
                "type": "joined",
                "room": room,
                "name": name,
                "members": names[-MAX_MEMBERS_LISTED:],
            }
            outgoing += [(conn, joined) for conn in _in_room(members, room)]
            return ChatStep(members, outgoing)
        if sender not in members:
            raise ChatError("join a room first")
        if request["type"] == "leave":
            return ChatStep(members, _leave(members, sender, tell_sender=True))
        room, name = members[sender]
        said = {"type": "said", "room": room, "name": name, "text": request["text"]}
        return ChatStep(members, [(conn, said) for conn in _in_room(members, room)])
    except ChatError as error:
        return ChatStep(dict(before), [(sender, {"type": "error", "error": str(error)})])


def chat_departure(members: Mapping[int, Member], sender: int) -> ChatStep:
    """Connection ``sender`` is gone: out of its room, and the others in it are told."""
    members = dict(members)
    outgoing = _leave(members, sender, tell_sender=False) if sender in members else []
    return ChatStep(members, outgoing)


def _label(conn: int) -> str:
    return f"#{conn}"


def flow_steps(sender: int, message: Union[str, bytes], step: ChatStep) -> List[FlowStep]:
    """The messages of one step, as arrows to draw: the incoming one, then each answer.

    An incoming message that is valid JSON is shown as its object, anything else as its
    text (bytes as ``"<N bytes>"``); a close is a last arrow to the sender.
    """
    shown: Union[Dict[str, Any], str]
    if isinstance(message, (bytes, bytearray)):
        shown = f"<{len(message)} bytes>"
    else:
        try:
            parsed = json.loads(message) if len(message) <= MAX_MESSAGE_LENGTH else None
        except (ValueError, RecursionError):
            parsed = None  # shown as the text it is
        shown = parsed if isinstance(parsed, dict) else message[:MAX_TEXT_LENGTH]
    steps = [FlowStep(_label(sender), "server", shown)]
    steps += [FlowStep("server", _label(conn), out) for conn, out in step.outgoing]
    if step.close is not None:
        steps.append(FlowStep("server", _label(sender), f"Close {step.close[0]}"))
    return steps


def simulate(script: Iterable[Tuple[int, Union[str, bytes, None]]]) -> List[FlowStep]:
    """Run a conversation through :func:`chat_step` alone; return its flow, step by step.

    ``script`` is ``(connection id, message)`` pairs; a message of ``None`` means that
    connection went away (:func:`chat_departure`). The result is what a notebook draws.
    """
    members: Dict[int, Member] = {}
    flow: List[FlowStep] = []
    for sender, message in script:
        if message is None:
            step = chat_departure(members, sender)
            flow.append(FlowStep(_label(sender), "server", "(connection closed)"))
            flow += [FlowStep("server", _label(conn), out) for conn, out in step.outgoing]
        else:
            step = chat_step(members, sender, message)
            flow += flow_steps(sender, message, step)
        members = step.members
    return flow


class ChatRooms:
    """The live chat: a handler for ``wslearn.serve(handler=ChatRooms())``.

    The server calls it from each connection's own thread, so several at once: one lock
    guards the members, and each step's messages are sent while it is held, so that every
    member of a room sees that room's messages in the same order. Sends use ``timeout=0``,
    as :func:`wslearn.handlers.broadcast` does: a member who does not read is closed (1008)
    rather than waited for, and one slow reader cannot stall the room.

    **Departures are noticed lazily.** A handler hears only of messages: the server tells
    no handler that a connection closed (its ``on_close`` is the server's own bookkeeping).
    So before each step the members whose connection is no longer open are taken out, and
    their rooms told (:func:`chat_departure`); a send that fails does the same. A departure
    is announced at the next message on the server, not at once; until then the closed
    connection object stays in :attr:`connections`, one per departed client.

    :meth:`flow` returns the last ``max_flow`` messages as :class:`FlowStep` arrows.
    """

    def __init__(self, *, max_flow: int = 1000) -> None:
        self.__name__ = "chat"  # the name the server shows for its handler
        self.members: Dict[int, Member] = {}
        #: The open connections of the members, by id.
        self.connections: Dict[int, ServerConnection] = {}
        self._flow: Deque[FlowStep] = deque(maxlen=max_flow)
        self._lock = threading.Lock()

    def __call__(self, connection: ServerConnection, message: Union[str, bytes]) -> None:
        with self._lock:
            self._drop_departed()
            step = chat_step(self.members, connection.id, message)
            self._flow.extend(flow_steps(connection.id, message, step))
            self._apply(step, connection)
            if step.close is not None:
                connection.close(*step.close)

    def flow(self) -> List[FlowStep]:
        """The messages so far (the last ``max_flow``), oldest first: data for a diagram."""
        with self._lock:
            return list(self._flow)

    def _drop_departed(self) -> None:
        for conn in [conn for conn in self.members if not self.connections[conn].open]:
            self._flow.append(FlowStep(_label(conn), "server", "(connection closed)"))
            self._apply(chat_departure(self.members, conn))

    def _apply(self, step: ChatStep, sender: Optional[ServerConnection] = None) -> None:
        """Keep the step's members and send its messages; a failed send is a departure.

        ``sender`` is the connection whose message made the step: it may be in no room,
        and still be answered (an error, its own "left").
        """
        self.members = step.members
        reach = dict(self.connections)
        if sender is not None:
            reach[sender.id] = sender
        self.connections = {conn: reach[conn] for conn in self.members}
        failed = []
        for conn, message in step.outgoing:
            try:
                reach[conn].send(encode_message(message), timeout=0)
            except (OSError, ConnectionClosed):
                failed.append(conn)
        for conn in failed:  # each may fail more sends; it ends, as every failure leaves a room
            if conn in self.members:
                self._apply(chat_departure(self.members, conn))
