"""The cached response validator accepts and refuses exactly what Rasa's own check does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import rasa_speedups
from bot.channels.rest import GuardedRestInput

VALID = {
    "events": [{"event": "slot", "name": "last_topic", "value": "ask_dibao_standard", "timestamp": None}],
    "responses": [{"text": "您好"}],
}
INVALID = {"events": [{"event": "slot", "name": 3}], "responses": "not a list"}


async def _no_reply(message):
    return None


def test_installed_in_rasa():
    GuardedRestInput().blueprint(_no_reply)  # what Rasa does when it starts serving the channel
    assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result


def test_valid_response_passes():
    assert RemoteAction("action_x", None)._validate_action_result(VALID) is True


def test_invalid_response_is_refused_with_rasas_message():
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        RemoteAction("action_x", None)._validate_action_result(INVALID)


def test_event_types_resolve_as_in_rasa():
    from rasa.shared.core.events import ActiveLoop, Event, SlotSet, UserUttered

    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("active_loop") is ActiveLoop
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")
    event = Event.from_parameters({"event": "slot", "name": "district", "value": "海港区"})
    assert isinstance(event, SlotSet) and event.value == "海港区"


def test_action_calls_reuse_one_connection_and_keep_rasas_errors():
    import asyncio

    from aiohttp import web
    from rasa.core.actions.action import ClientResponseError
    from rasa.utils.endpoints import EndpointConfig

    async def scenario() -> tuple[list, list, int]:
        client_ports: list[int] = []

        async def webhook(request: web.Request) -> web.Response:
            client_ports.append(request.transport.get_extra_info("peername")[1])
            body = await request.json()
            return web.json_response({"echo": body["n"]}) if body["n"] >= 0 else web.Response(status=404)

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        answers = [await endpoint.request(json={"n": n}) for n in range(3)]
        try:
            await endpoint.request(json={"n": -1})
            status = 0
        except ClientResponseError as error:
            status = error.status
        await runner.cleanup()
        return answers, client_ports, status

    answers, ports, status = asyncio.run(scenario())
    assert answers == [{"echo": 0}, {"echo": 1}, {"echo": 2}]
    assert len(set(ports)) == 1  # one kept-alive connection, not one per call
    assert status == 404
