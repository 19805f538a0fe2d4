"""`python -m bot.action_server --port N`: rasa_sdk's action server that answers Rasa and nobody else.

The stock `python -m rasa_sdk` listens on every interface (SANIC_HOST defaults to 0.0.0.0), allows any
browser origin and runs any action for anyone who reaches it: a stranger could save help requests or
read eligibility results by posting a made-up tracker. Here:

- it binds ACTION_HOST (127.0.0.1 unless set; SANIC_HOST wins, as in rasa_sdk) — put it on a private
  network only, never on a public address;
- every request except `GET /health` must carry the header `X-Action-Token: <ACTION_TOKEN>`; Rasa sends
  it from endpoints.yml (`action_endpoint.headers`), so only our Rasa processes are answered;
- no CORS: no web page has any business calling it;
- between rasa_sdk's logging set-up and its server, every log handler masks phone and ID numbers
  (bot.logs) and action runs are counted for Prometheus (bot.metrics). Doing it here, at process start,
  is what lets the `actions` package change nothing when it is imported.
"""

from __future__ import annotations

import argparse
import hmac
import logging

from rasa_sdk import utils as sdk_utils
from rasa_sdk.endpoint import create_app as sdk_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.local_secrets import SecretError
from bot.metrics import instrument_action_server, observe_process
from bot.settings import SettingsError, env_settings, settings

ACTION_TOKEN_HEADER = "X-Action-Token"
OPEN_PATHS = frozenset({"/health"})
logger = logging.getLogger(__name__)


def require_action_token(app: Sanic, token: str) -> None:
    """Refuse (401) every request without the shared secret, before rasa_sdk sees it."""
    expected = token.encode()

    @app.middleware("request")
    async def check_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        provided = request.headers.get(ACTION_TOKEN_HEADER, "").encode()
        if not expected or not hmac.compare_digest(provided, expected):
            logger.warning(
                "action server: refused %s %s without a valid %s", request.method, request.path, ACTION_TOKEN_HEADER
            )
            return response.json({"error": "unauthorized"}, status=401)
        return None


def create_app(token: str, actions_package: str = "actions") -> Sanic:
    app = sdk_app(actions_package, cors_origins=None)
    require_action_token(app, token)
    return app


def prepare(args: argparse.Namespace | None = None) -> None:
    """Everything the process needs before rasa_sdk's server starts: rasa_sdk's log handlers first, so
    that ours (masking, JSON format) apply to the handlers it installs; then the metrics."""
    sdk_utils.configure_colored_logging(getattr(args, "loglevel", None) or "INFO")
    sdk_utils.update_sanic_log_level()
    observe_process()
    instrument_action_server()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.action_server", description="动作服务器（只接受 Rasa 的调用）")
    parser.add_argument("--port", type=int)
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)
    try:
        cfg = settings()
    except (SettingsError, SecretError) as error:
        print(str(error))
        return 2
    prepare(args)
    host = env_settings().sanic_host or cfg.action_host
    app = create_app(cfg.action_token, args.actions)
    app.run(host, args.port or cfg.action_port, workers=sdk_utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
