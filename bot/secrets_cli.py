"""`python -m bot rest-token`: print the REST webhook's integrator token (REST_TOKEN or the generated one)."""

from __future__ import annotations

from bot.settings import settings


def main(argv: list[str]) -> int:
    print(settings().rest_token)
    return 0
