"""Prometheus metrics of every process, with the standard client library (prometheus-client).

Each process exposes what it knows:

| process        | metrics                                                        | where                     |
|----------------|----------------------------------------------------------------|---------------------------|
| Rasa instance  | qhd_turns_total, qhd_turn_seconds (histogram), by channel       | METRICS_PORT (own port)   |
| action server  | qhd_fallbacks_total, qhd_handoffs_total, qhd_action_errors_total,| METRICS_PORT              |
|                | qhd_help_requests_saved_total                                  |                           |
| web app        | qhd_outbox_depth (requests waiting for the database)           | GET /metrics on its port  |
| consumer       | qhd_analytics_events_total by outcome                          | METRICS_PORT              |

Rasa and the action server run inside third-party servers (Rasa's and rasa_sdk's Sanic apps), so they
serve metrics on a port of their own (prometheus_client.start_http_server) when METRICS_PORT is set,
bound to METRICS_HOST (default 127.0.0.1; 0.0.0.0 in containers). Several Rasa instances on one machine
each get their own port (bot.production.supervisor). Nothing is registered or started on import: the
metrics are created on first use and the port is opened only by `serve_from_env()`.

A Rasa instance of several worker processes (RASA_WORKERS, bot.rasa_workers) opens its port in the main
process before the workers are forked, so the workers' counts reach it through prometheus_client's
multiprocess mode: the launcher sets PROMETHEUS_MULTIPROC_DIR (one folder per instance), every worker
writes its values to files there and the port adds them up. The main process empties the folder when it
starts, so a restarted instance does not count a dead one's turns twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from bot.logs import setup_logging
from bot.settings import env_settings

log = logging.getLogger(__name__)

# Turn latency buckets around the measured figures (p50 ~40 ms, p95 ~80 ms one sender; ~600 ms saturated).
TURN_BUCKETS = (0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
HANDOFF_ACTIONS = frozenset({"action_handoff"})
FALLBACK_ACTIONS = frozenset({"action_clarify"})


@dataclass(frozen=True)
class Metrics:
    turns: Counter
    turn_seconds: Histogram
    fallbacks: Counter
    handoffs: Counter
    action_errors: Counter
    saved_requests: Counter
    outbox_depth: Gauge
    analytics_events: Counter
    workers_serving: Gauge


_outbox_source: Callable[[], float] | None = None
_served_port: int | None = None
_serve_lock = threading.Lock()


@lru_cache(maxsize=1)
def metrics() -> Metrics:
    """The process's metrics, registered in prometheus_client's default registry on first use."""
    depth = Gauge("qhd_outbox_depth", "Help requests waiting in the outbox for the database")
    depth.set_function(lambda: float(_outbox_source()) if _outbox_source else 0.0)
    return Metrics(
        turns=Counter("qhd_turns", "Resident messages handled", ["channel"]),
        turn_seconds=Histogram(
            "qhd_turn_seconds",
            "Time from a resident's message to the bot's last answer",
            ["channel"],
            buckets=TURN_BUCKETS,
        ),
        fallbacks=Counter("qhd_fallbacks", "Turns the bot did not understand (clarification asked)"),
        handoffs=Counter("qhd_handoffs", "Conversations handed to an operator"),
        action_errors=Counter("qhd_action_errors", "Custom actions that raised an error", ["action"]),
        saved_requests=Counter(
            "qhd_help_requests_saved",
            "Help requests saved and confirmed to the resident (an idempotent retry counts again)",
        ),
        outbox_depth=depth,
        analytics_events=Counter("qhd_analytics_events", "Events read by the analytics consumer", ["outcome"]),
        # each worker of a Rasa instance sets 1 once its model is loaded; the port shows the live ones' sum
        workers_serving=Gauge(
            "qhd_rasa_workers_serving",
            "Worker processes of this Rasa instance that have loaded the model and accept turns",
            multiprocess_mode="livesum",
        ),
    )


def set_outbox_depth_source(source: Callable[[], float] | None) -> None:
    """Where qhd_outbox_depth reads its value (the request outbox registers a callback); default 0."""
    global _outbox_source
    _outbox_source = source
    metrics()


@contextmanager
def turn(channel: str) -> Iterator[None]:
    """Count one resident turn and time it (used by the channel guard around Rasa's handling)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        m = metrics()
        m.turns.labels(channel=channel).inc()
        m.turn_seconds.labels(channel=channel).observe(time.perf_counter() - started)


def saved_request() -> None:
    metrics().saved_requests.inc()


def observe_action(name: str, events: list | None, error: BaseException | None) -> None:
    """What one action run tells the operators: an error, a fallback turn, a handoff to a person."""
    m = metrics()
    if error is not None:
        m.action_errors.labels(action=name).inc()
        return
    if name in FALLBACK_ACTIONS:
        m.fallbacks.inc()
    paused = any(isinstance(e, dict) and e.get("event") == "pause" for e in events or [])
    if name in HANDOFF_ACTIONS or paused:
        m.handoffs.inc()


def instrument_action_server() -> None:
    """Observe every action run by rasa_sdk's executor (called at start-up by bot.action_server).

    rasa_sdk has no hook for this, so its ActionExecutor.run is wrapped once (idempotent).
    """
    # lazy: rasa_sdk's executor adds ~140 ms and ~270 modules; the web app and the consumer import this
    # module for their metrics and never run an action
    from rasa_sdk.executor import ActionExecutor  # noqa: PLC0415 - lazy import, reason above

    original = ActionExecutor.run
    if getattr(original, "_qhd_observed", False):
        return

    async def run(self: ActionExecutor, action_call: dict) -> dict | None:
        name = (action_call or {}).get("next_action", "") if isinstance(action_call, dict) else ""
        name = name if name in self.actions else "unknown"  # bounded label values, whatever is sent
        try:
            result = await original(self, action_call)
        except Exception as error:
            observe_action(name, None, error)
            raise
        observe_action(name, (result or {}).get("events") if isinstance(result, dict) else None, None)
        return result

    run._qhd_observed = True  # type: ignore[attr-defined]  # marks the wrapper, so a second call wraps nothing
    ActionExecutor.run = run  # type: ignore[method-assign]  # rasa_sdk has no hook: the wrapper is the hook


def serve_from_env() -> int | None:
    """Open the metrics port named by METRICS_PORT (once per process); None when it is not set."""
    global _served_port
    env = env_settings()
    port, host = env.metrics_port, env.metrics_host
    if port is None:
        return None
    with _serve_lock:
        if _served_port is None:
            registry = _registry()
            metrics()
            try:
                start_http_server(port, addr=host, registry=registry)
            except OSError as error:  # a taken port must not stop the chat
                log.error("metrics port %s:%s not opened: %s", host, port, error)
                return None
            _served_port = port
    return _served_port


def _registry() -> CollectorRegistry:
    """The process's own registry, or with PROMETHEUS_MULTIPROC_DIR the sum over the worker processes'
    files (the folder emptied first: this is the instance's main process starting)."""
    path = env_settings().prometheus_multiproc_dir
    if path is None:
        return REGISTRY
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(path))
    return registry


def observe_process() -> None:
    """Start-up of a process whose main loop belongs to a framework (Rasa, rasa_sdk): JSON or plain
    masked logs (bot.logs) and, when METRICS_PORT is set, the metrics port. Idempotent."""
    setup_logging()
    serve_from_env()
