"""The speed-ups of bot.rasa_speedups give exactly what Rasa's own code gives."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import Event
from rasa.shared.core.slots import Slot
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_speedups
from bot.channels.rest import GuardedRestInput

VALID = {
    "events": [{"event": "slot", "name": "last_topic", "value": "ask_dibao_standard", "timestamp": None}],
    "responses": [{"text": "您好"}],
}
INVALID = {"events": [{"event": "slot", "name": 3}], "responses": "not a list"}


async def _no_reply(message):
    return None


@pytest.fixture
def speedups(monkeypatch: pytest.MonkeyPatch) -> None:
    """The speed-ups installed for this test, as in a Rasa serving our channels, whatever ran before it;
    the patched attributes are put back as they were afterwards."""
    for owner, name in (
        (RemoteAction, "_validate_action_result"),
        (Event, "resolve_by_type"),
        (EndpointConfig, "session"),
        (RulePolicy, "_get_possible_keys"),
        (DaskGraphRunner, "run"),
        (Message, "_combine_features"),
        (Slot, "__copy__"),
    ):
        monkeypatch.setattr(owner, name, vars(owner).get(name), raising=False)  # remembered as it is now
    rasa_speedups.install()


def test_installed_in_rasa():
    GuardedRestInput().blueprint(_no_reply)  # what Rasa does when it starts serving the channel
    assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result
    assert RulePolicy._get_possible_keys is rasa_speedups._get_possible_keys
    assert DaskGraphRunner.run is rasa_speedups._run_graph


def test_valid_response_passes(speedups):
    assert RemoteAction("action_x", None)._validate_action_result(VALID) is True


def test_invalid_response_is_refused_with_rasas_message(speedups):
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        RemoteAction("action_x", None)._validate_action_result(INVALID)


EVENT_TYPES = ["user", "action", "slot", "bot", "active_loop", "followup", "reminder", "restart", "nonsense", 3, None]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
EVENT_FIELDS = ["event", "name", "value", "text", "timestamp", "metadata", "intent", "policy", "confidence", "data"]
EVENTS = st.dictionaries(
    st.sampled_from(EVENT_FIELDS), JSON_VALUES | st.sampled_from(EVENT_TYPES), max_size=5
) | st.fixed_dictionaries({"event": st.sampled_from(EVENT_TYPES)}, optional={"name": JSON_VALUES, "value": JSON_VALUES})
RESPONSES = st.fixed_dictionaries(
    {},
    optional={
        "events": st.lists(EVENTS, max_size=4) | JSON_VALUES,
        "responses": st.lists(st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=2), max_size=2) | JSON_VALUES,
    },
)


@settings(max_examples=400, deadline=None)
@given(RESPONSES)
def test_quick_response_check_accepts_only_what_the_full_schema_accepts(response):
    """The quick check may pass a response to the full check, never accept one the full check refuses."""
    full = rasa_speedups._response_validator().is_valid(response)
    if rasa_speedups._passes_quick_check(response):
        assert full, response


def test_quick_response_check_takes_rasas_own_event_shapes():
    """What our actions send (slot sets, follow-ups, loops, texts with buttons) passes the quick check."""
    response = {
        "events": [
            {"event": "slot", "name": "phone", "value": None, "timestamp": None},
            {"event": "active_loop", "name": None, "timestamp": None},
            {"event": "followup", "name": "action_listen", "timestamp": None},
        ],
        "responses": [{"text": "您好", "buttons": [{"title": "是", "payload": "/affirm"}]}],
    }
    assert rasa_speedups._passes_quick_check(response) and rasa_speedups._response_validator().is_valid(response)
    assert not rasa_speedups._passes_quick_check({**response, "events": [{"event": "slot", "name": 3}]})


def test_action_call_bodies_read_back_as_the_json_module_wrote_them():
    import math

    events = [
        {"event": "user", "text": "我家两口人 / 每月1200", "timestamp": 1764490000.123456, "metadata": {}},
        {"event": "slot", "name": "amount", "value": 2**70, "timestamp": None},  # beyond ujson: json module
        {"event": "action", "name": "action_x", "confidence": 0.9995078502125, "policy": None},
    ]
    body = {"next_action": "action_x", "tracker": {"events": events, "slots": {"a": None, "b": True, "c": 2.5}}}
    assert json.loads(rasa_speedups._json_body(body)) == body
    assert json.loads(rasa_speedups._json_body(body["tracker"]["events"][::2])) == events[::2]
    assert math.isnan(json.loads(rasa_speedups._json_body({"x": math.nan}))["x"])
    with pytest.raises(TypeError):
        rasa_speedups._json_body({"x": object()})  # refused by both, as Rasa's own call would be


def test_event_types_resolve_as_in_rasa(speedups):
    from rasa.shared.core.events import ActiveLoop, SlotSet, UserUttered

    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("active_loop") is ActiveLoop
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")
    event = Event.from_parameters({"event": "slot", "name": "district", "value": "海港区"})
    assert isinstance(event, SlotSet) and event.value == "海港区"


def test_action_calls_reuse_one_connection_and_keep_rasas_errors(speedups):
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


# --- rule lookup (speed-up 4): the grouped check finds exactly the rules Rasa's full check finds -----

HAND_RULES = {
    # a conversation starter, two rules for one intent, one with a slot that must not be set,
    # a follow-up on an action, one on a bot text, and one that requires no intent at all
    json.dumps([{"user": {"intent": "greet"}}]): "utter_greet",
    json.dumps([{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}]): "utter_greet",
    json.dumps(
        [
            {"prev_action": {"action_name": "utter_greet"}},
            {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}},
        ]
    ): "utter_again",
    json.dumps(
        [
            {
                "prev_action": {"action_name": "action_listen"},
                "user": {"intent": "ask"},
                "slots": {"district": "should_not_be_set"},
            }
        ]
    ): "utter_ask_district",
    json.dumps([{"prev_action": {"action_name": "action_check"}}]): "action_listen",
    json.dumps([{"prev_action": {"action_text": "好的"}}]): "action_listen",
    json.dumps([{"prev_action": {"action_name": "action_listen"}, "active_loop": {"name": "help_form"}}]): "help_form",
}

CONVERSATIONS = [
    [{"user": {"intent": "greet"}}],
    [{}, {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}],
    [
        {"prev_action": {"action_name": "utter_greet"}},
        {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}},
    ],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "ask"}}],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "ask"}, "slots": {"district": (1.0,)}}],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"text": "你好"}}],
    [{"prev_action": {"action_name": "action_check"}, "user": {"intent": "greet"}}],
    [{"prev_action": {"action_text": "好的"}}],
    [
        {
            "prev_action": {"action_name": "action_listen"},
            "user": {"intent": "inform"},
            "active_loop": {"name": "help_form"},
        }
    ],
    [{"prev_action": {"action_name": "utter_greet"}}],
]


def _rasa_and_ours(lookup: dict[str, str], states: list[dict]) -> tuple[set[str], set[str]]:
    policy = RulePolicy.__new__(RulePolicy)  # the lookup is all the check reads
    return rasa_speedups._rasa_get_possible_keys(policy, lookup, states), rasa_speedups._get_possible_keys(
        policy, lookup, states
    )


@pytest.mark.parametrize("states", CONVERSATIONS)
def test_grouped_rule_check_finds_what_rasa_finds(states):
    rasa_found, ours = _rasa_and_ours(HAND_RULES, states)
    assert ours == rasa_found


def test_grouped_rule_check_on_hand_cases_finds_the_expected_rules():
    # typed by hand: which rules apply, independent of Rasa's code
    greet_after_greet = _rasa_and_ours(HAND_RULES, CONVERSATIONS[2])[1]
    assert {HAND_RULES[k] for k in greet_after_greet} == {"utter_greet", "utter_again"}
    assert {HAND_RULES[k] for k in _rasa_and_ours(HAND_RULES, CONVERSATIONS[3])[1]} == {"utter_ask_district"}
    assert _rasa_and_ours(HAND_RULES, CONVERSATIONS[4])[1] == set()
    assert {HAND_RULES[k] for k in _rasa_and_ours(HAND_RULES, CONVERSATIONS[7])[1]} == {"action_listen"}
    assert {HAND_RULES[k] for k in _rasa_and_ours(HAND_RULES, CONVERSATIONS[8])[1]} == {"help_form"}


def test_grouped_rule_check_on_every_rule_of_the_trained_model():
    """Each learned rule's own states, and copies with another previous action or intent, give the same
    applicable rules both ways (rules and the loops' unhappy-path rules of the current model)."""
    import random
    import tarfile

    from bot.runner import model_path

    model = model_path()
    if not model.exists():
        pytest.skip("no trained model (make train)")
    with tarfile.open(model) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("RulePolicy1/rule_policy.json"))
        lookup = json.load(archive.extractfile(member))["lookup"]  # type: ignore[arg-type]  # a file member: never None
    tables = [lookup["rules"], lookup["rules_for_loop_unhappy_path"]]
    rule_states = [json.loads(key) for table in tables for key in table]
    actions = sorted(
        {s["prev_action"]["action_name"] for st in rule_states for s in st if "action_name" in s.get("prev_action", {})}
    )
    intents = sorted({s["user"]["intent"] for st in rule_states for s in st if "intent" in s.get("user", {})})
    rnd = random.Random(7)
    cases = []
    for states in rule_states:
        cases.append(states)
        for _ in range(2):
            changed = json.loads(json.dumps(states))
            if changed[-1].get("prev_action"):
                changed[-1]["prev_action"] = {"action_name": rnd.choice(actions)}
            changed[-1]["user"] = {"intent": rnd.choice(intents)} if rnd.random() < 0.8 else {"text": "嗯"}
            cases.append(changed)
    matched = 0
    for table in tables:
        for states in cases:
            rasa_found, ours = _rasa_and_ours(table, states)
            assert ours == rasa_found, states
            matched += bool(rasa_found)
    assert matched >= len(rule_states)  # every rule matches at least its own states


@pytest.fixture(scope="module")
def trained_agent():
    """Rasa's agent on the trained model (its graph runner is the one `_run_graph` replaces)."""
    import asyncio

    from rasa.core.agent import load_agent

    from bot.runner import model_path

    if not model_path().exists():
        pytest.skip("no trained model (make train)")
    return asyncio.run(load_agent(model_path=str(model_path())))


def _graph_texts() -> list[str]:
    from bot.nlu.gate import DEFAULT_HARD_HOLDOUT, DEFAULT_HOLDOUT, load_holdout

    examples = load_holdout(DEFAULT_HOLDOUT)[::9] + load_holdout(DEFAULT_HARD_HOLDOUT)[::9]
    return [example.text for example in examples] + ["/greet", "嗯", "", "   "]


def test_graph_run_gives_what_dask_gives_for_nlu_and_policies(trained_agent, monkeypatch):
    """Both graphs of the trained model, run by dask and by the planned order, on the same messages and
    trackers: the same parse (intent, ranking, entities) and the same policy prediction."""
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    processor = trained_agent.processor
    runner = processor.graph_runner
    dask_run = rasa_speedups._rasa_graph_run
    core = processor.model_metadata.core_target
    texts = _graph_texts()
    assert len(texts) > 30
    parses = []
    for text in texts:
        message = UserMessage(text, sender_id="graph-test")
        both = []
        for run in (dask_run, rasa_speedups._run_graph):
            monkeypatch.setattr(DaskGraphRunner, "run", run)
            both.append(asyncio_run(processor.parse_message(message)))
        assert both[0] == both[1], text
        parses.append(both[0])
    domain = processor.domain
    for index, parse in enumerate(parses[:40]):
        tracker = DialogueStateTracker.from_events(
            f"graph-{index}",
            [ActionExecuted(ACTION_LISTEN_NAME), UserUttered(parse["text"], parse["intent"], parse["entities"], parse)],
            domain.slots,
        )
        predictions = []
        for run in (dask_run, rasa_speedups._run_graph):
            monkeypatch.setattr(DaskGraphRunner, "run", run)
            prediction = runner.run(inputs={"__tracker__": tracker}, targets=[core])[core]
            predictions.append((prediction.policy_name, prediction.max_confidence_index, prediction.probabilities))
        assert predictions[0] == predictions[1], parse["text"]


def test_graph_run_refuses_an_input_that_names_a_node(trained_agent):
    from rasa.engine.exceptions import GraphRunError

    processor = trained_agent.processor
    core = processor.model_metadata.core_target
    with pytest.raises(GraphRunError):
        rasa_speedups._run_graph(processor.graph_runner, inputs={"__tracker__": core}, targets=[core])


def asyncio_run(coroutine):
    import asyncio

    return asyncio.run(coroutine)


def test_stacked_features_are_rasas_own_on_the_trained_models_messages(trained_agent, monkeypatch):
    """Speed-up 6: for every featurised hold-out message, the combined sequence and sentence features
    are the same matrix (format, dtype, shape, entries in order) with the same type, attribute, origin."""
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.nlu.constants import TEXT

    processor = trained_agent.processor
    nlu = processor.model_metadata.nlu_target
    compared = 0
    for text in _graph_texts():
        messages = rasa_speedups._run_graph(
            processor.graph_runner, inputs={"__message__": [UserMessage(text)]}, targets=[nlu]
        )[nlu]
        both = []
        for combine in (rasa_speedups._rasa_combine_features, rasa_speedups._combine_features):
            monkeypatch.setattr(Message, "_combine_features", staticmethod(combine))
            both.append(messages[0].get_sparse_features(TEXT, []))
        for rasa_made, ours in zip(*both):
            if rasa_made is None:
                assert ours is None
                continue
            a, b = rasa_made.features, ours.features
            assert (a.format, a.dtype, a.shape) == (b.format, b.dtype, b.shape), text
            a, b = a.tocoo(), b.tocoo()
            assert (a.row.tolist(), a.col.tolist(), a.data.tolist()) == (
                b.row.tolist(),
                b.col.tolist(),
                b.data.tolist(),
            )
            assert (rasa_made.type, rasa_made.attribute, rasa_made.origin) == (ours.type, ours.attribute, ours.origin)
            compared += 1
    assert compared >= 2 * 30


def test_slot_copies_are_what_copy_copy_made_before(speedups):
    """Speed-up 7: a slot's copy is a new object of its class with the same attribute values, shared
    (a shallow copy), for every slot type of our domain."""
    import copy

    from rasa.shared.core.domain import Domain

    domain = Domain.load("domain.yml")
    assert len(domain.slots) > 10
    for slot in domain.slots:
        copied = copy.copy(slot)
        assert copied is not slot and type(copied) is type(slot)
        assert copied.__dict__ == slot.__dict__
        assert all(copied.__dict__[k] is v for k, v in slot.__dict__.items())
        copied.value = "changed"
        assert slot.value != "changed"


@pytest.mark.parametrize(("rasa_setting", "expected"), [(None, "1 1"), ("2", "0 0")])
def test_tensorflow_runs_one_thread_per_op_unless_rasas_setting_says_otherwise(rasa_setting, expected):
    """In a fresh process (TensorFlow's threads can only be set before its first op): ours when the
    operator left Rasa's variables unset; untouched (TensorFlow's default, 0) when one is set."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_IN")}
    if rasa_setting is not None:
        env["TF_INTRA_OP_PARALLELISM_THREADS"] = rasa_setting
    code = (
        "import tensorflow as tf\n"
        "from bot.rasa_speedups import one_thread_per_op\n"
        "one_thread_per_op()\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == expected
