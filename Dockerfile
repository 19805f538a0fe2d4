# syntax=docker/dockerfile:1
# One image for every role of the production profile: rasa, actions, web, consumer, retention, migrate
# (deploy/docker/entrypoint.sh picks the role from the command). Build and run: docs/production.md.
#
#   docker build -t qhd-assistant:1.0 .
#   docker build --target with-model --build-arg MODEL_FILE=models/qhd-<hash>.tar.gz -t qhd-assistant:1.0-model .
#
# The model: by default it is MOUNTED at /app/models/model.tar.gz (Compose: a read-only bind mount;
# Kubernetes: a volume filled by an init container), so a new model is rolled out without rebuilding
# the image. The `with-model` target bakes one model in instead (one immutable artifact per model).
#
# The base is pinned to an exact Python patch release and Debian release. For byte-for-byte rebuilds
# pin the digest too: FROM python:3.10.13-slim-bookworm@sha256:<digest from `docker pull`>.

# --- build: compile the pinned requirements into a virtualenv ---------------------------------------
FROM python:3.10.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN pip install --upgrade 'pip==24.0' 'wheel==0.43.0' 'setuptools<71' \
 && pip install -r /tmp/requirements.txt \
 && pip check

# --- runtime: the virtualenv, the code, a non-root user -----------------------------------------------
FROM python:3.10.13-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PROFILE=production \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    RASA_MODEL=/app/models/model.tar.gz \
    HOME=/app/var
# libpq for psycopg2, postgresql-client for the backup role (pg_dump / pg_restore)
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 qhd \
 && useradd --system --uid 10001 --gid qhd --home-dir /app/var --shell /usr/sbin/nologin qhd
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root . /app
RUN mkdir -p /app/var /app/models /app/.rasa && chown qhd:qhd /app/var /app/models /app/.rasa \
 && chmod 0755 /app/deploy/docker/entrypoint.sh
USER 10001:10001
EXPOSE 5005 5055 8000 9100
# The role's own check (bot/production/healthcheck.py): for rasa, the model is loaded.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-m", "bot.production.healthcheck"]
ENTRYPOINT ["/app/deploy/docker/entrypoint.sh"]
CMD ["web"]

# --- optional: the same image with one trained model inside ---------------------------------------------
FROM runtime AS with-model
ARG MODEL_FILE=models/model.tar.gz
COPY --chown=root:root ${MODEL_FILE} /app/models/model.tar.gz
