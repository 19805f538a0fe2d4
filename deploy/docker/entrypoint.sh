#!/bin/sh
# One image, one role per container: `docker run IMAGE ROLE [extra args]`.
#
#   rasa       Rasa server with our channels on 0.0.0.0:$RASA_LISTEN_PORT (default 5005), model $RASA_MODEL
#   actions    action server on 0.0.0.0:$ACTION_PORT (default 5055)
#   web        web app (resident widget, operator console, staff desk) on 0.0.0.0:$WEB_PORT (default 8000)
#   consumer   analytics consumer (RabbitMQ -> qhd_analytics_events)
#   retention  tracker retention job (now, then every RETENTION_EVERY_HOURS)
#   migrate    one-shot: create the databases when missing, migrate ours to head
#   backup | restore   python -m bot backup|restore ...
#   anything else is run as given (e.g. `sh`, `python -m bot users add ...`).
#
# Every setting comes from the environment (an env file or a Kubernetes Secret/ConfigMap); nothing
# secret is baked into the image. `exec` makes the role PID 1's only child, so SIGTERM reaches it.
set -eu

role="${1:-}"
[ "$#" -gt 0 ] && shift
export PROFILE="${PROFILE:-production}" QHD_ROLE="$role"

case "$role" in
  rasa)
    # The widget is served from the same origin as the chat paths (nginx / the Ingress), so no CORS
    # header is sent unless RASA_CORS_ORIGIN names another origin that embeds the widget.
    set -- ${RASA_CORS_ORIGIN:+--cors "$RASA_CORS_ORIGIN"} "$@"
    # RASA_WORKERS other than 1: Rasa's own SANIC_WORKERS, the workers' metrics added up in one folder
    # that the main process empties at start (docs/production.md, "Several workers in one instance").
    # Passed on as written: a value that is not a number is refused in Chinese when Rasa starts
    # (bot.settings), never quietly run as one worker.
    if [ -n "${RASA_WORKERS:-}" ] && [ "$RASA_WORKERS" != 1 ]; then
      export SANIC_WORKERS="$RASA_WORKERS" PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/qhd-metrics}"
    fi
    exec python -m rasa run --enable-api --auth-token "${RASA_TOKEN:?RASA_TOKEN is not set}" \
      --model "${RASA_MODEL:-/app/models/model.tar.gz}" \
      --endpoints deploy/endpoints.production.yml --credentials credentials.yml \
      --interface 0.0.0.0 --port "${RASA_LISTEN_PORT:-5005}" "$@" ;;
  actions)
    exec python -m bot.action_server --actions actions --port "${ACTION_PORT:-5055}" "$@" ;;
  web)
    export WEB_HOST="${WEB_HOST:-0.0.0.0}"
    exec python -m bot.web "$@" ;;
  consumer)
    export CONSUMER_HEARTBEAT_FILE="${CONSUMER_HEARTBEAT_FILE:-/tmp/qhd-consumer.heartbeat}"
    exec python -m bot.production.consumer "$@" ;;
  retention)
    exec python -m bot.production.retention "$@" ;;
  migrate)
    exec python -m bot.production.migrate "$@" ;;
  backup|restore)
    exec python -m bot "$role" "$@" ;;
  "")
    echo "usage: IMAGE rasa|actions|web|consumer|retention|migrate|backup|restore [args]" >&2
    exit 2 ;;
  *)
    exec "$role" "$@" ;;
esac
