"""Two real Rasa instances on PostgreSQL / Redis / RabbitMQ behind nginx (the production profile).

One cluster serves the whole module (each Rasa process needs ~20 s and ~1.1 GiB to start); the test
that kills an instance runs last. Every run uses fresh databases, queue, exchange and lock prefix,
removed at the end.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa

from bot.production.cluster import Cluster, build
from bot.production.config import ProductionConfig
from tests.production import eio
from tests.production.conftest import (
    clean_up as _clean_up,
)
from tests.production.conftest import (
    consecutive_free_ports,
    services_and_model,
)
from tests.support.servers import free_port, random_secrets

SECRETS = random_secrets()
TOKEN, JWT_SECRET = SECRETS["RASA_TOKEN"], SECRETS["JWT_SECRET"]
GREETING = "你好"
TOPIC_QUESTION = "农村低保标准是多少"
HELP_REQUEST = "我想登记个求助，让工作人员联系我"
NAME = "王秀英"
CONSENT = "同意"  # the privacy notice comes before name and phone
THANKS = "谢谢"  # answered without a form or a handoff, so every turn ends in action_listen


@pytest.fixture(scope="module")
def cluster(base_config: ProductionConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    model = services_and_model()
    config = base_config.with_(
        instances=2,
        first_rasa_port=consecutive_free_ports(2),
        public_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
    )
    config = config.with_(action_endpoint_url=f"http://127.0.0.1:{config.action_port}/webhook")
    workdir = tmp_path_factory.mktemp("production")
    stack = build(config, model, workdir, SECRETS)
    try:
        stack.start(web=False)
        yield stack
    finally:
        stack.stop_all()
        _clean_up(config)


def say(base_url: str, sender: str, text: str, timeout: float = 120) -> list[dict]:
    response = requests.post(
        f"{base_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        headers={"Authorization": f"Bearer {SECRETS['REST_TOKEN']}"},
        timeout=timeout,
    )
    response.raise_for_status()
    return response.json()


def tracker(base_url: str, sender: str) -> dict:
    response = requests.get(
        f"{base_url}/conversations/{sender}/tracker", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def user_texts(tr: dict) -> list[str]:
    return [e.get("text") for e in tr["events"] if e["event"] == "user"]


def sender() -> str:
    return "prod-" + uuid.uuid4().hex[:12]


def compact(events: list[dict]) -> list[str]:
    """The event sequence in a readable form for assertion messages."""
    return [
        f"{e['event']}:{e.get('name') or e.get('text') or ''}"
        for e in events
        if e["event"] in {"user", "action", "pause", "resume", "session_started"}
    ]


def turns_are_not_interleaved(events: list[dict]) -> bool:
    """Every user message is followed by the bot's actions up to `action_listen` before the next one
    (while a conversation is paused for a person, user messages are only logged: no bot turn)."""
    waiting_for_listen = paused = False
    for event in events:
        kind = event["event"]
        if kind == "user" and not paused:
            if waiting_for_listen:
                return False
            waiting_for_listen = True
        elif kind == "pause" or (kind == "action" and event.get("name") == "action_listen"):
            waiting_for_listen = False
            paused = paused or kind == "pause"
        elif kind == "resume":
            paused = False
    return not waiting_for_listen


def test_turns_alternating_between_instances_keep_state(cluster: Cluster) -> None:
    a, b = cluster.rasa_url(0), cluster.rasa_url(1)
    who = sender()
    assert say(a, who, GREETING)
    assert say(b, who, HELP_REQUEST)
    assert say(a, who, CONSENT)
    form = tracker(b, who)
    assert (form.get("active_loop") or {}).get("name") == "help_request_form"
    assert form["slots"].get("requested_slot") == "person_name"
    say(a, who, NAME)  # the form started on b continues on a
    state = tracker(b, who)
    name = state["slots"].get("person_name")
    assert name and name in NAME  # (how much of the name NLU keeps is NLU's business)
    assert (state.get("active_loop") or {}).get("name") == "help_request_form"
    assert state["slots"].get("requested_slot") == "phone"
    assert user_texts(state) == [GREETING, HELP_REQUEST, CONSENT, NAME]
    starts = [e for e in state["events"] if e["event"] == "session_started"]
    assert len(starts) == 1, "an instance did not see the conversation and started a new session"


def test_two_messages_at_once_are_handled_one_after_the_other(cluster: Cluster) -> None:
    who = sender()
    say(cluster.rasa_url(0), who, GREETING)
    errors: list[BaseException] = []

    def send(index: int, text: str) -> None:
        try:
            say(cluster.rasa_url(index), who, text)  # HTTP 200 or an exception
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    for _ in range(3):
        threads = [
            threading.Thread(target=send, args=(0, TOPIC_QUESTION)),
            threading.Thread(target=send, args=(1, THANKS)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors
    events = tracker(cluster.rasa_url(1), who)["events"]
    assert len(user_texts({"events": events})) == 7
    assert turns_are_not_interleaved(events), f"two turns of one conversation ran at once: {compact(events)}"


def test_turns_through_the_balancer_reach_both_instances_and_keep_state(cluster: Cluster) -> None:
    who = sender()
    texts = [GREETING, TOPIC_QUESTION, GREETING, TOPIC_QUESTION]
    for text in texts:
        assert say(cluster.public_url, who, text)
    assert user_texts(tracker(cluster.rasa_url(0), who)) == texts
    time.sleep(1.5)  # nginx flushes its access log every second
    log = (cluster.workdir / "nginx" / "access.log").read_text()
    served = {port for port in cluster.config.rasa_ports if f"127.0.0.1:{port}" in log}
    assert served == set(cluster.config.rasa_ports)


def test_events_reach_the_analytics_consumer(cluster: Cluster) -> None:
    from bot.store.models import AnalyticsEvent

    who = sender()
    say(cluster.public_url, who, TOPIC_QUESTION)
    table = AnalyticsEvent.__table__
    engine = sa.create_engine(cluster.config.app_db_url, future=True)
    deadline = time.monotonic() + 30
    rows: list = []
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                rows = conn.execute(sa.select(table).where(table.c.sender_id == who)).mappings().all()
            if any(r["type"] == "user" for r in rows) and any(r["type"] == "action" for r in rows):
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    users = [r for r in rows if r["type"] == "user"]
    assert len(users) == 1 and users[0]["intent"], rows
    assert any(r["type"] == "action" for r in rows)
    assert all(TOPIC_QUESTION not in str(dict(r)) for r in rows), "message text reached the analytics table"


def widget_token(who: str) -> str:
    from bot.web.widget import mint_token

    return mint_token(who, JWT_SECRET)


async def _websocket_turn(url: str, who: str, text: str) -> list[dict]:
    async with eio.WebSocketClient(url, widget_token(who)) as client:
        await client.emit("user_uttered", {"message": text, "session_id": "ignored-by-the-server"})
        return await client.events("bot_uttered", timeout=60)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_widget_socketio_works_through_the_balancer(cluster: Cluster, transport: str) -> None:
    who = sender()
    if transport == "websocket":
        replies = asyncio.run(_websocket_turn(cluster.public_url, who, TOPIC_QUESTION))
    else:
        replies = eio.polling_turn(cluster.public_url, widget_token(who), TOPIC_QUESTION)
    assert replies and all(r.get("text") for r in replies)
    # the replies go out before the turn's tracker is saved: give the save a moment
    deadline = time.monotonic() + 10
    while not user_texts(tracker(cluster.rasa_url(0), who)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert user_texts(tracker(cluster.rasa_url(0), who)) == [TOPIC_QUESTION]


def test_widget_without_a_valid_token_is_refused_through_the_balancer(cluster: Cluster) -> None:
    async def connect() -> None:
        async with eio.WebSocketClient(cluster.public_url, "not-a-token"):
            pass

    with pytest.raises(eio.Refused):
        asyncio.run(connect())


def test_operator_message_reaches_a_widget_connected_to_another_instance(cluster: Cluster) -> None:
    who = sender()
    say(cluster.rasa_url(0), who, GREETING)  # the conversation exists

    async def scenario() -> list[dict]:
        async with eio.WebSocketClient(cluster.rasa_url(0), widget_token(who)) as client:
            answer = await asyncio.to_thread(
                requests.post,
                f"{cluster.rasa_url(1)}/webhooks/qhd_socketio/operator_message",
                json={"sender": who, "text": "您好，我是坐席小李", "operator": "li"},
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=30,
            )
            if answer.status_code != 200:
                raise RuntimeError(f"operator message refused: {answer.status_code} {answer.text}")
            return await client.events("bot_uttered", timeout=5)

    received = asyncio.run(scenario())
    assert any(r.get("operator") for r in received), "the widget on instance 1 never got the operator's message"


def test_killing_an_instance_mid_conversation_loses_nothing(cluster: Cluster) -> None:
    """Runs last: instance 1 is killed (SIGKILL, no clean shutdown) between two turns."""
    who = sender()
    before = [GREETING, HELP_REQUEST, CONSENT]
    for text in before:
        assert say(cluster.public_url, who, text)
    cluster.kill("rasa-1")
    assert say(cluster.public_url, who, NAME)  # nginx sends it to the surviving instance
    for text in (TOPIC_QUESTION, GREETING):
        assert say(cluster.public_url, who, text)
    state = tracker(cluster.rasa_url(1), who)
    assert user_texts(state) == before + [NAME, TOPIC_QUESTION, GREETING]
    assert state["slots"].get("person_name") and state["slots"]["person_name"] in NAME
    assert turns_are_not_interleaved(state["events"])
