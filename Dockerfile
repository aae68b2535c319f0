# syntax=docker/dockerfile:1.7
#
# One image recipe for every Tanso Python service; the service is chosen at build time:
#
#   docker build --build-arg SERVICE=tanso_gateway -t tanso-gateway .
#
# SERVICE is the service's Python package (tanso_identity, tanso_factors, tanso_activities,
# tanso_calculation, tanso_supplier_exchange, tanso_reporting, tanso_gateway); the container runs
# `python -m $SERVICE`. docker-compose.yml builds all seven services from this file. The layers
# before `ARG SERVICE` are the same for every service, so the seven images share them.

ARG PYTHON_IMAGE=python:3.11-slim
# Same uv release as the one that wrote uv.lock, so `--locked` reads it exactly as in development.
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# --- manifests: only what dependency resolution reads (root + member pyproject.toml, uv.lock),
#     so the dependency layer in `builder` stays cached until one of those files changes.
FROM ${PYTHON_IMAGE} AS manifests
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY libs/ libs/
COPY services/ services/
COPY tools/ tools/
RUN mkdir /manifests \
 && cp pyproject.toml uv.lock /manifests/ \
 && find libs services tools -mindepth 2 -maxdepth 2 -name pyproject.toml -exec cp --parents {} /manifests/ \;

# --- builder: the locked, non-dev dependencies and the workspace packages into /app/.venv.
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-workspace
COPY libs/ libs/
COPY services/ services/
COPY tools/ tools/
# --no-editable: the workspace packages (with their package data, e.g. the factor catalogue) are
# installed into site-packages, so the runtime image needs the venv only, not the source tree.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable

# --- runtime: the venv on a clean slim Python, run as an unprivileged user.
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 tanso \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/tanso \
      --shell /usr/sbin/nologin tanso \
 && mkdir -p /var/lib/tanso \
 && chown 10001:10001 /var/lib/tanso \
 && chmod 0750 /var/lib/tanso
# Owned by root and not writable by the service user: the code cannot be changed at run time.
COPY --from=builder /app/.venv /app/.venv

# Runs `python -m $TANSO_SERVICE_MODULE` as PID 1 (exec), after defaulting the two settings a
# container needs and a laptop does not: listen on all interfaces, keep state on the volume.
# Values set explicitly (docker-compose.yml, Helm) win. Env names: TANSO_<SERVICE>_..., see
# libs/runtime/src/tanso_runtime/settings.py.
COPY --chmod=0755 <<'EOF' /usr/local/bin/tanso-service
#!/bin/sh
set -eu
: "${TANSO_SERVICE_MODULE:?TANSO_SERVICE_MODULE must name the service package, e.g. tanso_gateway}"
prefix="TANSO_$(printf '%s' "${TANSO_SERVICE_MODULE#tanso_}" | tr '[:lower:]-' '[:upper:]_')_"
case "$prefix" in *[!A-Z0-9_]*) echo "bad TANSO_SERVICE_MODULE: $TANSO_SERVICE_MODULE" >&2; exit 64;; esac
eval "export ${prefix}HTTP__HOST=\"\${${prefix}HTTP__HOST:-0.0.0.0}\""
eval "export ${prefix}DATA_DIR=\"\${${prefix}DATA_DIR:-/var/lib/tanso}\""
exec python -m "$TANSO_SERVICE_MODULE" "$@"
EOF

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

ARG SERVICE
ENV TANSO_SERVICE_MODULE=${SERVICE}
# Fail the build, not the first start, when SERVICE is missing or names no runnable package.
RUN python -c "import importlib.util, sys; m = sys.argv[1]; \
sys.exit(0 if m.startswith('tanso_') and importlib.util.find_spec(m + '.__main__') else \
f'--build-arg SERVICE={m!r} must name a service package with a __main__, e.g. tanso_gateway')" \
    "$TANSO_SERVICE_MODULE"

# Identity keeps its signing keys here; services on SQLite (no DATABASE__URL) keep their files here.
VOLUME ["/var/lib/tanso"]
WORKDIR /var/lib/tanso
USER 10001:10001

# Liveness on the port the service's own settings resolve to (TANSO_<SERVICE>_HTTP__PORT or the
# service's default). docker-compose.yml overrides this with a readiness probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import importlib, os, urllib.request; s = importlib.import_module(os.environ['TANSO_SERVICE_MODULE'] + '.settings').Settings(); urllib.request.urlopen(f'http://127.0.0.1:{s.http.port}/health/live', timeout=4)"]

ENTRYPOINT ["/usr/local/bin/tanso-service"]
