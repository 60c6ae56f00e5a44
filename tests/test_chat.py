"""The chat protocol: its rules as a pure function, then live with two websockets clients."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterator, List, NamedTuple

import pytest
from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.sync.client import ClientConnection, connect

import wslearn
from wslearn.chat import (
    MAX_MESSAGE_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    ChatError,
    ChatRooms,
    FlowStep,
    Member,
    chat_departure,
    chat_step,
    encode_message,
    parse_message,
    simulate,
)


def join(room: str, name: str) -> str:
    return json.dumps({"type": "join", "room": room, "name": name})


def say(text: str) -> str:
    return json.dumps({"type": "say", "text": text})


LEAVE = json.dumps({"type": "leave"})


# ---------------------------------------------------------------------- parse_message


@pytest.mark.parametrize(
    "text, error",
    [
        ("not json", "not JSON"),
        ("", "not JSON"),
        ("[1, 2]", "a message is a JSON object, not list"),
        ('"join"', "a message is a JSON object, not str"),
        ("null", "a message is a JSON object, not NoneType"),
        ("{}", "unknown type None"),
        ('{"type": "shout"}', "unknown type 'shout'"),
        ('{"type": ["join"]}', "unknown type ['join']"),
        ('{"type": "join", "name": "ada"}', "'join' needs a string field 'room'"),
        ('{"type": "join", "room": "r"}', "'join' needs a string field 'name'"),
        ('{"type": "join", "room": 7, "name": "ada"}', "'join' needs a string field 'room'"),
        ('{"type": "join", "room": "", "name": "ada"}', "'room' must be 1 to 32 characters"),
        ('{"type": "say"}', "'say' needs a string field 'text'"),
        ('{"type": "say", "text": ""}', "'text' must be 1 to 1000 characters"),
        ('{"type": "join", "room": "r", "name": "a\\nb"}', "'name' must hold printable"),
        ("[" * 5000 + "]" * 5000, f"message over {MAX_MESSAGE_LENGTH} characters"),
        ("[" * 2000 + "]" * 2000, "not JSON"),  # deeper than the parser's recursion limit
    ],
)
def test_each_bad_message_gets_its_own_error(text: str, error: str) -> None:
    with pytest.raises(ChatError) as raised:
        parse_message(text)
    assert str(raised.value).startswith(error)


def test_names_and_text_are_bounded_in_length() -> None:
    long_name = "n" * (MAX_NAME_LENGTH + 1)
    with pytest.raises(ChatError, match="'name' must be 1 to 32"):
        parse_message(join("r", long_name))
    with pytest.raises(ChatError, match="'room' must be 1 to 32"):
        parse_message(join(long_name, "ada"))
    with pytest.raises(ChatError, match="'text' must be 1 to 1000"):
        parse_message(say("t" * (MAX_TEXT_LENGTH + 1)))
    assert parse_message(say("t" * MAX_TEXT_LENGTH))["text"] == "t" * MAX_TEXT_LENGTH
    assert parse_message(join("r" * MAX_NAME_LENGTH, "ada"))["room"] == "r" * MAX_NAME_LENGTH


def test_a_good_message_keeps_its_fields_and_drops_unknown_ones() -> None:
    message = parse_message('{"type": "join", "room": "é", "name": "ada", "colour": "red"}')
    assert message == {"type": "join", "room": "é", "name": "ada"}
    assert parse_message(LEAVE) == {"type": "leave"}


# ---------------------------------------------------------------------- chat_step


def messages_to(step_outgoing: List[Any], receiver: int) -> List[Dict[str, Any]]:
    return [message for conn, message in step_outgoing if conn == receiver]


def test_join_say_leave_reach_only_the_room() -> None:
    step = chat_step({}, 1, join("a", "ada"))
    assert step.members == {1: Member("a", "ada")}
    assert step.outgoing == [
        (1, {"type": "joined", "room": "a", "name": "ada", "members": ["ada"]})
    ]
    members = step.members
    members = chat_step(members, 2, join("a", "bob")).members
    step = chat_step(members, 3, join("b", "cy"))
    assert [conn for conn, _ in step.outgoing] == [3]  # room b had nobody else
    members = step.members
    step = chat_step(members, 1, say("hi"))
    said = {"type": "said", "room": "a", "name": "ada", "text": "hi"}
    assert step.outgoing == [(1, said), (2, said)]
    assert step.members == members
    step = chat_step(members, 2, LEAVE)
    left = {"type": "left", "room": "a", "name": "bob"}
    assert step.outgoing == [(1, left), (2, left)]
    assert 2 not in step.members and step.close is None


def test_chat_step_does_not_change_the_members_it_is_given() -> None:
    members = {1: Member("a", "ada")}
    chat_step(members, 2, join("a", "bob"))
    chat_step(members, 1, LEAVE)
    assert members == {1: Member("a", "ada")}


def test_joining_another_room_leaves_the_first() -> None:
    members = {1: Member("a", "ada"), 2: Member("a", "bob")}
    step = chat_step(members, 1, join("b", "ada"))
    assert step.members == {1: Member("b", "ada"), 2: Member("a", "bob")}
    assert step.outgoing == [
        (2, {"type": "left", "room": "a", "name": "ada"}),
        (1, {"type": "left", "room": "a", "name": "ada"}),
        (1, {"type": "joined", "room": "b", "name": "ada", "members": ["ada"]}),
    ]


def test_a_taken_name_a_say_before_join_and_a_bad_message_are_errors_to_the_sender_only() -> None:
    members = {1: Member("a", "ada")}
    for sender, message, error in [
        (2, join("a", "ada"), "the name 'ada' is taken in room 'a'"),
        (2, say("hi"), "join a room first"),
        (2, LEAVE, "join a room first"),
        (1, "{oops", "not JSON"),
    ]:
        step = chat_step(members, sender, message)
        assert step.members == members and step.close is None
        [(receiver, answer)] = step.outgoing
        assert receiver == sender and answer["type"] == "error"
        assert answer["error"].startswith(error)


def test_a_refused_join_leaves_the_sender_where_it_was() -> None:
    members = {1: Member("a", "ada"), 2: Member("b", "bob")}
    step = chat_step(members, 1, join("b", "bob"))
    assert step.members == members
    assert step.outgoing == [(1, {"type": "error", "error": "the name 'bob' is taken in room 'b'"})]
    step = chat_step(members, 2, join("b", "bob"))  # joining one's own room again is no clash
    assert step.members == members
    assert [message["type"] for _, message in step.outgoing] == ["left", "joined"]


def test_a_binary_message_closes_with_1003_and_leaves_the_room() -> None:
    members = {1: Member("a", "ada"), 2: Member("a", "bob")}
    step = chat_step(members, 2, b"\x00\x01")
    assert step.close == (1003, "the chat is JSON text")
    assert step.members == {1: Member("a", "ada")}
    assert step.outgoing == [(1, {"type": "left", "room": "a", "name": "bob"})]
    assert chat_step({}, 5, b"").close is not None  # not a member: closed all the same


def test_a_departure_tells_the_others_and_is_harmless_for_a_non_member() -> None:
    members = {1: Member("a", "ada"), 2: Member("a", "bob"), 3: Member("b", "cy")}
    step = chat_departure(members, 1)
    assert step.outgoing == [(2, {"type": "left", "room": "a", "name": "ada"})]
    assert chat_departure(members, 9) == (members, [], None)


def test_the_answers_list_at_most_100_members() -> None:
    members = {conn: Member("big", f"user{conn}") for conn in range(150)}
    step = chat_step(members, 999, join("big", "last"))
    joined = step.outgoing[-1][1]
    assert len(joined["members"]) == 100 and joined["members"][-1] == "last"
    assert len(step.outgoing) == 151


def test_simulate_gives_the_flow_to_draw() -> None:
    flow = simulate([(1, join("a", "ada")), (2, join("a", "bob")), (2, "?"), (1, None)])
    assert flow[0] == FlowStep("#1", "server", {"type": "join", "room": "a", "name": "ada"})
    assert flow[-2] == FlowStep("#1", "server", "(connection closed)")
    assert flow[-1] == FlowStep("server", "#2", {"type": "left", "room": "a", "name": "ada"})
    assert FlowStep("#2", "server", "?") in flow
    assert [(step.sender, step.receiver) for step in flow[2:5]] == [
        ("#2", "server"),
        ("server", "#1"),
        ("server", "#2"),
    ]


def test_encode_message_is_compact_json_that_keeps_unicode() -> None:
    assert encode_message({"type": "said", "text": "héllo"}) == '{"type":"said","text":"héllo"}'


# ---------------------------------------------------------------------- live, over 127.0.0.1


class LiveChat(NamedTuple):
    rooms: ChatRooms
    url: str


@pytest.fixture
def chat() -> Iterator[LiveChat]:
    rooms = ChatRooms()
    server = wslearn.serve(port=0, handler=rooms, show_errors=False)
    try:
        yield LiveChat(rooms, server.url)
    finally:
        server.stop()
        assert not server.errors, server.errors


def client(chat: LiveChat) -> ClientConnection:
    return connect(chat.url, proxy=None, open_timeout=5, close_timeout=2)


def receive(ws: ClientConnection) -> Dict[str, Any]:
    return json.loads(ws.recv(timeout=5))


def test_two_clients_chat_in_a_room_and_a_third_elsewhere_hears_nothing(chat) -> None:
    with client(chat) as ada, client(chat) as bob, client(chat) as cy:
        ada.send(join("a", "ada"))
        assert receive(ada)["members"] == ["ada"]
        bob.send(join("a", "bob"))
        assert receive(ada) == receive(bob) == {
            "type": "joined", "room": "a", "name": "bob", "members": ["ada", "bob"]
        }  # fmt: skip
        cy.send(join("b", "cy"))
        assert receive(cy)["room"] == "b"
        bob.send(say("hello, room a"))
        said = {"type": "said", "room": "a", "name": "bob", "text": "hello, room a"}
        assert receive(ada) == said and receive(bob) == said
        cy.send(say("anyone?"))
        assert receive(cy)["text"] == "anyone?"
        with pytest.raises(TimeoutError):
            ada.recv(timeout=0.2)  # room b's message never reached room a
        bob.send(LEAVE)
        assert receive(ada) == receive(bob) == {"type": "left", "room": "a", "name": "bob"}
        ada.send(say("alone"))
        assert receive(ada)["text"] == "alone"
        with pytest.raises(TimeoutError):
            bob.recv(timeout=0.2)


def test_bad_json_gets_an_error_and_the_connection_stays_open(chat) -> None:
    with client(chat) as ws:
        ws.send("{not json")
        answer = receive(ws)
        assert answer["type"] == "error" and answer["error"].startswith("not JSON")
        ws.send(json.dumps({"type": "join", "room": "a", "name": "x" * 33}))
        assert receive(ws)["type"] == "error"
        ws.send(join("a", "ada"))
        assert receive(ws)["type"] == "joined"


def test_a_binary_message_is_closed_with_1003_and_the_room_told(chat) -> None:
    with client(chat) as ada, client(chat) as bob:
        ada.send(join("a", "ada"))
        receive(ada)
        bob.send(join("a", "bob"))
        assert receive(ada)["name"] == receive(bob)["name"] == "bob"
        bob.send(b"\x00binary")
        with pytest.raises(WsConnectionClosed):
            bob.recv(timeout=5)
        assert bob.close_code == 1003
        assert receive(ada) == {"type": "left", "room": "a", "name": "bob"}


def test_a_closed_connection_leaves_its_room_at_the_next_message(chat) -> None:
    with client(chat) as ada:
        ada.send(join("a", "ada"))
        receive(ada)
        with client(chat) as bob:
            bob.send(join("a", "bob"))
            assert receive(bob)["name"] == receive(ada)["name"] == "bob"
        rooms = chat.rooms
        [bob_id] = [conn for conn, member in rooms.members.items() if member.name == "bob"]
        deadline = time.monotonic() + 5
        while rooms.connections[bob_id].open:
            assert time.monotonic() < deadline, "bob's connection never closed"
            time.sleep(0.01)
        ada.send(say("still here?"))
        assert receive(ada) == {"type": "left", "room": "a", "name": "bob"}
        assert receive(ada)["type"] == "said"
        assert [member.name for member in rooms.members.values()] == ["ada"]
        flow = rooms.flow()
        assert FlowStep(f"#{bob_id}", "server", "(connection closed)") in flow
        assert flow[0] == FlowStep("#1", "server", {"type": "join", "room": "a", "name": "ada"})


class FakeConnection:
    """Enough of a ServerConnection for ChatRooms: an id, ``open``, ``send`` and ``close``."""

    def __init__(self, id: int, *, fails: bool = False) -> None:
        self.id = id
        self.open = True
        self.fails = fails
        self.sent: List[Dict[str, Any]] = []
        self.closed: List[Any] = []

    def send(self, message: str, *, timeout: float | None = None) -> None:
        assert timeout == 0  # never waits on a slow reader while holding the rooms' lock
        if self.fails:
            self.open = False
            raise wslearn.ConnectionClosed(f"connection #{self.id} is closed")
        self.sent.append(json.loads(message))

    def close(self, code: int, reason: str = "") -> None:
        self.open = False
        self.closed.append((code, reason))


def test_a_failed_send_is_a_departure_and_the_room_is_told() -> None:
    rooms = ChatRooms()
    ada, bob, cy = FakeConnection(1), FakeConnection(2), FakeConnection(3)
    rooms(ada, join("a", "ada"))  # type: ignore[arg-type]
    rooms(bob, join("a", "bob"))  # type: ignore[arg-type]
    bob.fails = True
    rooms(cy, join("a", "cy"))  # type: ignore[arg-type]
    assert rooms.members == {1: Member("a", "ada"), 3: Member("a", "cy")}
    assert ada.sent[-1] == {"type": "left", "room": "a", "name": "bob"}
    assert cy.sent[-1] == {"type": "left", "room": "a", "name": "bob"}
    assert set(rooms.connections) == {1, 3}


def test_a_binary_message_closes_the_sender_through_the_handler() -> None:
    rooms = ChatRooms(max_flow=3)
    ada = FakeConnection(1)
    rooms(ada, join("a", "ada"))  # type: ignore[arg-type]
    rooms(ada, b"\x01")  # type: ignore[arg-type]
    assert ada.closed == [(1003, "the chat is JSON text")]
    assert rooms.members == {} and rooms.connections == {}
    assert len(rooms.flow()) == 3 and rooms.flow()[-1].message == "Close 1003"
