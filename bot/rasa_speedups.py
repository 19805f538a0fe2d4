"""Measured speed-ups for Rasa 3.6, installed when Rasa starts serving our channels.

1. Custom-action calls:
Rasa checks every action-server response against its JSON schema with `jsonschema.validate`, which
re-checks the (large) schema itself on every call: 24 ms per action call here, more than the NLU
parse and the action together. Building the validator once gives the same check in 0.7 ms
(bench/latency.py). Most of what is left is the schema's `oneOf` over Rasa's 23 event types, which
tries every type on every event; each type fixes `event` to its own constant, so an event can only
match the branch named by its `event`, and checking that branch (and the schema without the `oneOf`)
decides the same: ~10x faster. Whatever the quick check does not accept goes through the full
validator, so an invalid response still raises the same ValidationError with the same message.

2. Event deserialisation: `Event.resolve_by_type` walks every subclass of Event (recursively, with an
`inspect.isabstract` check each) for every stored event it decodes: ~0.5 ms per event, the largest
part of loading a tracker (bench/results/profile_turn.md). The class found for a type name never
changes once imported, so it is remembered; an unknown name still goes through Rasa's own lookup
(and its default or ValueError).

3. Keep-alive to the action server: Rasa's `EndpointConfig.request` opens a new aiohttp session, and so
a new TCP connection, for every action call. Each endpoint now keeps one session per event loop; its
idle connections are dropped after 2 s, before the action server's (Sanic's) 5 s keep-alive timeout,
so a request never goes out on a connection the server is closing. The session writes the call's JSON
body (the tracker's events) with ujson, 0.79 -> 0.29 ms for a window of 80 events; a value ujson
refuses (an integer beyond 64 bits, a type it does not know) goes through the json module as before.

4. Rule lookup: RulePolicy tests every learned rule against the conversation's states, newest state
first, on every prediction (two to four per turn): ~800 `_does_rule_match_state` calls a turn with our
~300 rules, although a rule whose newest state names another previous action can never match. The rules
are now grouped once by the previous action and user intent their newest state requires, and only the
groups that can match (and any rule we do not group) go through Rasa's own check. The set of applicable rules is exactly what Rasa computes
(tests/unit/test_rasa_speedups.py compares both on every rule of the trained model).

5. Running the model's graph: for every message Rasa runs two graphs (NLU, then the policies) through
dask. Each run rebuilds the minimal schema for its targets (a recursive walk that revisits shared
dependencies), a new dask graph, dask's ordering of it, and dask's scheduler bookkeeping: ~7 % of a
saturated instance's CPU (py-spy), more than the RulePolicy work above. The order in which a graph's
nodes can run depends only on the targets, so it is worked out once per targets and the nodes are then
called in that order with the same arguments dask passes (each node gets its needs' results, in the
order of its `needs`; an input is `(name, value)`, a need that is neither a node nor an input is passed
as its own name, as dask does). Same outputs (compared with dask on the trained model in
tests/unit/test_rasa_speedups.py), same `GraphRunError` for a failure and for a clashing input.

6. Combining a message's sparse features (DIET's input): Rasa deep-copies the first featurizer's matrix
and then stacks the others onto it one at a time, a new COO matrix per step (~6 % of a saturated
instance's CPU). Stacking all of them at once gives the same matrix (same values, format and dtype;
compared on the trained model's messages); dense features and a single matrix keep Rasa's code.

7. Slot copies: every tracker Rasa builds (from stored events, for each prior state the policies
featurize, for every action run) copies each of the domain's slots with `copy.copy`, which goes
through `__reduce_ex__` and copyreg: ~3.5 % of the CPU. A Slot is a plain object, and `__copy__`
makes the same shallow copy (a new instance of the same class with the same attribute values)
directly.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from functools import lru_cache
from typing import Any

import aiohttp
import scipy.sparse
import tensorflow
import ujson
from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.core.events import Event
from rasa.shared.core.slots import Slot
from rasa.shared.nlu.constants import ACTION_NAME, ACTION_TEXT, INTENT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.endpoints import EndpointConfig

from bot.settings import env_settings

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _quick_response_check() -> tuple[Any, dict[str, Any]] | None:
    """(the schema without the events' `oneOf`, one validator per event type), or None when the
    schema's branches are not one per distinct `event` constant (then only the full check is sound)."""
    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    items = schema.get("properties", {}).get("events", {}).get("items", {})
    branches = items.pop("oneOf", None)
    if not branches:
        return None
    cls = validators.validator_for(schema)
    by_type: dict[str, Any] = {}
    for branch in branches:
        const = branch.get("properties", {}).get("event", {}).get("const")
        if not isinstance(const, str) or const in by_type:
            return None
        by_type[const] = cls(branch)
    return cls(schema), by_type


def _passes_quick_check(result: Any) -> bool:
    """True only when the full schema accepts `result` (see speed-up 1)."""
    quick = _quick_response_check()
    if quick is None or not isinstance(result, dict):
        return False
    outer, by_type = quick
    if not outer.is_valid(result):
        return False
    for event in result.get("events") or []:
        branch = by_type.get(event.get("event"))  # outer checked: every event is an object with a string `event`
        if branch is None or not branch.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    if _passes_quick_check(result):
        return True
    try:
        _response_validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (
            f". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error


_rasa_resolve_by_type = Event.resolve_by_type
_event_classes: dict[str, Any] = {}


class _NotFound:
    """Marks a type name Rasa's lookup did not find (None is a valid answer: old "topic" events)."""


def _resolve_by_type(type_name: str, default: Any = None) -> Any:
    cls = _event_classes.get(type_name)
    if cls is None:
        cls = _rasa_resolve_by_type(type_name, _NotFound)
        if cls is _NotFound or cls is None:
            return _rasa_resolve_by_type(type_name, default)  # Rasa's default, None or ValueError
        _event_classes[type_name] = cls
    return cls


IDLE_CONNECTION_S = 2.0
_rasa_session = EndpointConfig.session


class _KeptSession:
    """`async with` yields the endpoint's long-lived session and leaves it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *_: Any) -> None:
        return None


def _json_body(value: Any) -> str:
    try:
        return ujson.dumps(value)
    except (TypeError, ValueError, OverflowError):
        return json.dumps(value)


def _kept_session(self: EndpointConfig) -> Any:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _rasa_session(self)  # no loop: Rasa's own (closing) session
    kept = getattr(self, "_qhd_session", None)
    if kept is None or kept.closed or kept._loop is not loop:  # aiohttp keeps no public loop
        fresh = _rasa_session(self)
        kept = aiohttp.ClientSession(
            headers=fresh.headers,
            auth=fresh.auth,
            timeout=fresh.timeout,
            connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_S),
            json_serialize=_json_body,
        )
        loop.create_task(fresh.close())
        self._qhd_session = kept  # type: ignore[attr-defined]  # our session, kept on Rasa's endpoint object
    return _KeptSession(kept)


_rasa_get_possible_keys = RulePolicy._get_possible_keys
_UNGROUPED = ("ungrouped",)  # rules we do not group: always checked
_STARTERS = ("starter",)  # rules whose newest state has no previous action (conversation start)


def _required(sub_state: Any, key: str) -> str | None:
    """The value a rule state requires for `key` (None: it requires nothing we group by)."""
    value = sub_state.get(key) if isinstance(sub_state, dict) else None
    return value if isinstance(value, str) and value and value != SHOULD_NOT_BE_SET else None


def _group_of(rule_key: str) -> tuple[str | None, ...]:
    """The group of a rule: the previous action and user intent its newest state requires."""
    states = RulePolicy._rule_key_to_state(rule_key)
    if not states:
        return _UNGROUPED
    newest = states[-1]
    previous = newest.get(PREVIOUS_ACTION)
    if not previous:
        return _STARTERS  # Rasa matches these on the previous action alone
    for kind in (ACTION_NAME, ACTION_TEXT):
        value = _required(previous, kind)
        if value is not None:
            return (kind, value, _required(newest.get(USER), INTENT))
    return _UNGROUPED


def _rule_groups(policy: RulePolicy, lookup: dict[str, str]) -> dict[tuple[str | None, ...], dict[str, str]]:
    """The rules of `lookup` by group, built once per lookup table of a loaded policy."""
    cache: dict[int, tuple[int, dict]] = policy.__dict__.setdefault("_qhd_rule_groups", {})
    cached = cache.get(id(lookup))
    if cached is not None and cached[0] == len(lookup):
        return cached[1]
    groups: dict[tuple[str | None, ...], dict[str, str]] = {}
    for key, action in lookup.items():
        groups.setdefault(_group_of(key), {})[key] = action
    cache[id(lookup)] = (len(lookup), groups)
    return groups


def _candidate_rules(policy: RulePolicy, lookup: dict[str, str], newest: dict) -> dict[str, str]:
    """The rules that can pass Rasa's check of the newest state: those requiring this previous action
    and this intent (or no intent), or the conversation starters, and the ungrouped."""
    groups = _rule_groups(policy, lookup)
    previous = newest.get(PREVIOUS_ACTION)
    if previous:
        intent = (newest.get(USER) or {}).get(INTENT)
        wanted = [
            (kind, previous.get(kind), required)
            for kind in (ACTION_NAME, ACTION_TEXT)
            if previous.get(kind)
            for required in {intent, None}
        ]
    else:
        wanted = [_STARTERS]
    candidates: dict[str, str] = {}
    for group in (*wanted, _UNGROUPED):
        candidates.update(groups.get(group, {}))
    return candidates


def _get_possible_keys(self: RulePolicy, lookup: dict[str, str], states: list[dict]) -> set[str]:
    if not states:
        return _rasa_get_possible_keys(self, lookup, states)
    return _rasa_get_possible_keys(self, _candidate_rules(self, lookup, states[-1]), states)


# --- speed-up 5: the graph run in an order worked out once per targets -------------------------------
GraphPlan = tuple[tuple[str, Any, tuple[str, ...]], ...]  # (node name, node, names of its needs) in run order
_rasa_graph_run = DaskGraphRunner.run  # Rasa's own, for the tests that compare


def _graph_plan(runner: DaskGraphRunner, targets: tuple[str, ...]) -> GraphPlan:
    """The nodes the targets depend on, each after everything it needs (depth first, as dask would)."""
    plans: dict[tuple[str, ...], GraphPlan] = runner.__dict__.setdefault("_qhd_graph_plans", {})
    plan = plans.get(targets)
    if plan is not None:
        return plan
    schema = runner._graph_schema.minimal_graph_schema(list(targets))
    ordered: list[tuple[str, Any, tuple[str, ...]]] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed or name not in schema.nodes:
            return
        placed.add(name)
        needs = tuple(schema.nodes[name].needs.values())
        for need in needs:
            place(need)
        ordered.append((name, runner._instantiated_nodes[name], needs))

    for target in targets:
        place(target)
    plan = plans[targets] = tuple(ordered)
    return plan


def _run_graph(
    self: DaskGraphRunner, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
) -> dict[str, Any]:
    run_targets = tuple(targets if targets else self._graph_schema.target_names)
    plan = _graph_plan(self, run_targets)
    results: dict[str, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and (value in results or any(value == node for node, _, _ in plan)):
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none of the input names passed "
                f"to the `run` method are the same as node names in the graph schema."
            )
        results[name] = (name, value)
    try:
        for name, node, needs in plan:
            if name not in results:  # an input of the same name replaces the node, as in dask's graph
                results[name] = node(*(results.get(need, need) for need in needs))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(results[target] for target in run_targets)  # each node's result is (its name, its output)


# --- speed-up 6: a message's sparse features stacked at once -----------------------------------------
_rasa_combine_features = Message._combine_features


def _combine_features(features: list[Features], featurizers: list[str]) -> Features | None:
    if len(features) < 2 or not all(f.is_sparse() for f in features):
        return _rasa_combine_features(features, featurizers)
    rows = features[0].features.shape[0]
    if any(f.features.shape[0] != rows for f in features):
        return _rasa_combine_features(features, featurizers)  # Rasa raises its own ValueError
    first = features[0]
    return Features(scipy.sparse.hstack([f.features for f in features]), first.type, first.attribute, featurizers)


# --- speed-up 7: slot copies --------------------------------------------------------------------------
def _copy_slot(self: Slot) -> Slot:
    cls = type(self)
    copied = cls.__new__(cls)
    copied.__dict__.update(self.__dict__)
    return copied


def one_thread_per_op() -> None:
    """TensorFlow runs each op on one thread unless Rasa's TF_*_OP_PARALLELISM_THREADS say otherwise.

    DIET's matrices are small: splitting each op over the machine's cores cost more CPU (synchronising
    the threads) than it saved; on one saturated instance, interleaved runs: 18.3 / 19.1 ms of CPU per
    turn with TensorFlow's default threads, 16.5 / 17.7 with one. Must run before TensorFlow executes
    its first op (the model loads after the channels are built, where this is called)."""
    env = env_settings()
    if env.tf_intra_op_threads is not None or env.tf_inter_op_threads is not None:
        return  # Rasa applied the operator's choice when it started (rasa.utils.tensorflow.environment)
    try:
        tensorflow.config.threading.set_intra_op_parallelism_threads(1)
        tensorflow.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow has already run in this process: its threads stay as they are
        logger.warning("TensorFlow already initialised; its thread settings are unchanged")


def install() -> None:
    """Replace Rasa's methods with the measured ones (speed-ups 1 to 7 of the module docstring)."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]  # speed-up 1
    Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[method-assign, assignment]  # speed-up 2
    EndpointConfig.session = _kept_session  # type: ignore[method-assign]  # speed-up 3
    RulePolicy._get_possible_keys = _get_possible_keys  # type: ignore[method-assign]  # speed-up 4
    DaskGraphRunner.run = _run_graph  # type: ignore[method-assign]  # speed-up 5
    Message._combine_features = staticmethod(_combine_features)  # type: ignore[method-assign, assignment]  # speed-up 6
    Slot.__copy__ = _copy_slot  # type: ignore[attr-defined]  # speed-up 7
