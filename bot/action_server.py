"""Start the action server: `python -m bot.action_server --actions actions --port 5055`.

This is rasa_sdk's own start-up (rasa_sdk.__main__.main_from_args, same options) with one step of ours
between its logging set-up and its server: every log handler masks phone and ID numbers (bot.logs), and
action runs are counted for Prometheus (bot.metrics). Doing it here, at process start, is what lets the
`actions` package change nothing when it is imported (tests, tools and rasa_sdk import it freely).
"""
from __future__ import annotations

import argparse
import logging

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_argument_parser, run

from bot.metrics import instrument_action_server, observe_process


def prepare(args: argparse.Namespace) -> None:
    """Everything the process needs before rasa_sdk's server starts."""
    # rasa_sdk's handlers first, so that ours (masking, JSON format) are applied to the handlers it installs.
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel,
                                 args.logging_config_file)
    utils.update_sanic_log_level()
    observe_process()
    instrument_action_server()


def main(argv: list[str] | None = None) -> None:
    args = create_argument_parser().parse_args(argv)
    prepare(args)
    run(args.actions, args.port, args.cors, args.ssl_certificate, args.ssl_keyfile, args.ssl_password,
        args.auto_reload)


if __name__ == "__main__":
    main()
