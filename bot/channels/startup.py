"""What the Rasa process needs before it builds its HTTP API, called by our channels' constructors.

Rasa constructs the input channels named in credentials.yml (rasa.core.run.create_http_input_channels)
before it builds its HTTP API (rasa.server.create_app), so a channel's constructor is the first explicit
place where our code runs inside a Rasa process, whatever launched it. Here:

- the secrets check: a Rasa with a published or missing secret refuses to start, like every process;
- the Bearer-header auth of Rasa's HTTP API (bot.channels.api_auth), which must replace Rasa's
  `requires_auth` before create_app builds the routes;
- the speed-ups of bot.rasa_speedups, and one TensorFlow thread per op (before the model loads);
- with several workers (SANIC_WORKERS), the watch over them (bot.rasa_workers), before Sanic forks.

Importing bot.channels changes nothing; the masked logs and the metrics port start when Rasa asks a
channel for its blueprint (bot.channels.guard.never_silent).
"""

from __future__ import annotations

from bot import rasa_workers
from bot.channels import api_auth
from bot.settings import settings

_prepared = False


def prepare_rasa_process() -> None:
    """Idempotent: both channels call it; the first call does the work."""
    global _prepared
    if _prepared:
        return
    # lazy: rasa_speedups imports rasa.core.actions, i.e. TensorFlow (4-7 s here); Rasa has loaded it by now,
    # and the channel modules that import this one need only rasa.core.channels
    from bot import rasa_speedups  # noqa: PLC0415 - lazy import, reason above

    settings()
    api_auth.install()
    rasa_speedups.install()
    rasa_speedups.one_thread_per_op()
    rasa_workers.install_from_env()
    _prepared = True
