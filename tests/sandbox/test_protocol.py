"""Host side of the line protocol: framing and dispatch to resources (no node involved)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vumigo.sandbox.protocol import (
    ProtocolError,
    ProtocolHandler,
    decode,
    encode,
    inbound_command,
    initialize_command,
)
from vumigo.sandbox.resources import (
    Reply,
    Request,
    Resource,
    ResourceError,
    ResourceRegistry,
    UnknownCommand,
    command,
)
from vumigo.sandbox.run import Run

from .helpers import make_run


class EchoResource(Resource):
    """Test resource."""

    name = "echo"

    @command("Echo the request.", request={"x": "anything"}, reply={"x": "the same"})
    async def say(self, request: Request, run: Run) -> Reply:
        return {"x": request.get("x")}

    @command("Fail on purpose.", errors=("nope",))
    async def refuse(self, request: Request, run: Run) -> Reply:
        raise ResourceError("nope")

    @command("Raise an unexpected exception.")
    async def crash(self, request: Request, run: Run) -> Reply:
        raise KeyError("boom")

    @command("Try to overwrite the envelope.")
    async def spoof(self, request: Request, run: Run) -> Reply:
        return {"cmd_id": "evil", "reply": False, "cmd": "log.info"}

    @command("Reply with nothing.")
    async def silent(self, request: Request, run: Run) -> Reply | None:
        return None

    @command("Reply with something JSON cannot hold.")
    async def nan(self, request: Request, run: Run) -> Reply:
        return {"value": float("nan")}

    async def not_a_command(self, request: Request, run: Run) -> Reply:
        return {}


@pytest.fixture
def handler() -> ProtocolHandler:
    return ProtocolHandler(ResourceRegistry([EchoResource()]))


def request(cmd: str, **fields: Any) -> dict[str, Any]:
    return {"cmd": cmd, "cmd_id": "7", "reply": False, "run_id": 3, **fields}


def test_encode_is_ascii_only_one_line() -> None:
    line = encode({"msg": "café ☕\nnext", "n": 1})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert line.isascii()
    assert json.loads(line) == {"msg": "café ☕\nnext", "n": 1}


def test_encode_refuses_nan() -> None:
    with pytest.raises(ValueError):
        encode({"v": float("nan")})


def test_decode_accepts_utf8_from_the_sandbox() -> None:
    assert decode('{"cmd":"log.info","msg":"café ☕"}\n'.encode())["msg"] == "café ☕"


@pytest.mark.parametrize(
    "line", [b"not json\n", b"[1,2]\n", b'{"cmd": 5}\n', b'{"no_cmd": true}\n', b"\xff\xfe\n"]
)
def test_decode_rejects_non_commands(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode(line)


def test_initialize_sends_code_only_when_given() -> None:
    first = initialize_command(1, "abc", "var x;")
    again = initialize_command(2, "abc", None)
    assert first["javascript"] == "var x;" and "javascript" not in again
    assert first["cmd"] == "initialize" and first["code_hash"] == again["code_hash"] == "abc"
    assert isinstance(first["app_context"], dict)  # JSON, never code to eval


def test_inbound_command_by_message_type() -> None:
    msg_run = make_run(message={"message_type": "user_message", "message_id": "m"})
    event_run = make_run(message={"message_type": "event", "event_type": "ack"})
    assert inbound_command(1, msg_run)["cmd"] == "inbound-message"
    assert inbound_command(1, event_run)["cmd"] == "inbound-event"
    assert inbound_command(1, msg_run)["msg"]["message_id"] == "m"


# (command, expected reply fields beyond the envelope)
DISPATCH_CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (request("echo.say", x=[1, "ü"]), {"success": True, "x": [1, "ü"]}),
    (request("echo.refuse"), {"success": False, "reason": "nope"}),
    (request("echo.crash"), {"success": False, "reason": "'boom'"}),
]


@pytest.mark.parametrize(("cmd", "expected"), DISPATCH_CASES)
async def test_dispatch(handler: ProtocolHandler, cmd: dict[str, Any], expected: Reply) -> None:
    reply = await handler.dispatch(cmd, make_run())
    assert reply is not None
    envelope = {"cmd": cmd["cmd"], "cmd_id": "7", "reply": True, "run_id": 3}
    assert reply == {**envelope, **expected}


async def test_dispatch_no_reply(handler: ProtocolHandler) -> None:
    assert await handler.dispatch(request("echo.silent"), make_run()) is None


async def test_reply_fields_cannot_override_envelope(handler: ProtocolHandler) -> None:
    reply = await handler.dispatch(request("echo.spoof"), make_run())
    assert reply is not None
    assert (reply["cmd"], reply["cmd_id"], reply["reply"]) == ("echo.spoof", "7", True)


@pytest.mark.parametrize(
    ("cmd", "text"),
    [
        ("nosuch.get", "unknown resource 'nosuch'"),
        ("echo", "unknown resource 'echo'"),
        ("echo.nosuch", "Resource echo received unknown command 'nosuch'"),
        ("echo.not_a_command", "unknown command 'not_a_command'"),
        ("echo.aclose", "unknown command 'aclose'"),
    ],
)
async def test_unknown_commands_end_the_run(handler: ProtocolHandler, cmd: str, text: str) -> None:
    run = make_run(account_key="acct-9")
    problem = handler.unknown(request(cmd), run)
    assert problem is not None and text in problem and "Killing sandbox" in problem
    with pytest.raises(UnknownCommand):
        await handler.dispatch(request(cmd), run)


def test_registry_refuses_reserved_and_dotted_names() -> None:
    registry = ResourceRegistry()
    for bad in ("js", "sandbox", "a.b", ""):
        resource = EchoResource()
        resource.name = bad  # type: ignore[misc]
        with pytest.raises(ValueError):
            registry.register(resource)


def test_describe_lists_commands_for_docs() -> None:
    doc = ResourceRegistry([EchoResource()]).describe()[0]
    assert doc.name == "echo" and doc.summary == "Test resource."
    names = {c.name for c in doc.commands}
    assert names == {"say", "refuse", "crash", "spoof", "silent", "nan"}
    say = next(c for c in doc.commands if c.name == "say")
    assert say.request == {"x": "anything"} and say.reply == {"x": "the same"}
