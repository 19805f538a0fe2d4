"""`GET /metrics` of the web app: Prometheus' text format, for the scraper on the private network only.

The web app is published (nginx / the Ingress forward `/` to it), so this route refuses every request
that came through a proxy: nginx and ingress-nginx always add X-Forwarded-For / X-Real-IP, a scraper
that connects to the pod or port directly does not. The answer to a proxied request is a plain 404, as
if the route did not exist.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.metrics import metrics
from bot.web.security import public

PROXY_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")


@public(as_api=True)
async def metrics_endpoint(request: Request) -> Response:
    if any(header in request.headers for header in PROXY_HEADERS):
        return PlainTextResponse("Not Found", status_code=404)
    metrics()  # the gauges exist even before anything was counted
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def routes() -> list[Route]:
    return [Route("/metrics", metrics_endpoint, methods=["GET"])]
