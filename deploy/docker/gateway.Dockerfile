# syntax=docker/dockerfile:1
# gateway: the public REST API. Build from the repository root:
#   docker build -f deploy/docker/gateway.Dockerfile -t video-analysis/gateway:0.1.0 .
# Without API keys it refuses to start on HOST=0.0.0.0: give it API_KEYS / API_KEYS_FILE (a mounted
# secret), or ALLOW_UNAUTHENTICATED=true on purpose.

# ---------------------------------------------------------------- builder: the venv, from uv.lock
FROM python:3.11-slim-bookworm AS builder
# The uv release the Makefile pins (UV_VERSION); tests/deploy/test_images.py keeps the two equal.
ARG UV_VERSION=0.13.9
# pip and uv trust the OS certificate bundle (a TLS-intercepting proxy's CA can be added to it);
# uv builds the venv with the base image's Python only, compiled, outside the source tree.
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
RUN python -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
# Third-party dependencies first, from the lock and the manifests alone (uv needs every workspace
# member's manifest): this layer is rebuilt only when one of them changes, not on every code change.
COPY pyproject.toml uv.lock ./
COPY common/pyproject.toml common/
COPY gateway/pyproject.toml gateway/
COPY orchestrator/pyproject.toml orchestrator/
COPY media-service/pyproject.toml media-service/
COPY lite-models/pyproject.toml lite-models/
COPY vllm/pyproject.toml vllm/
COPY cli/pyproject.toml cli/
RUN --mount=type=cache,target=/root/.cache/uv \
    /opt/uv/bin/uv sync --frozen --no-dev --no-install-workspace --package gateway
# Then the service and the shared package, installed as wheels (no editable links into /src).
COPY common/ common/
COPY gateway/ gateway/
RUN --mount=type=cache,target=/root/.cache/uv \
    /opt/uv/bin/uv sync --frozen --no-dev --no-editable --package gateway

# ---------------------------------------------------------------- runtime: the venv and a user
FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="video-analysis gateway" \
      org.opencontainers.image.description="Public REST API of the video analysis service"
RUN groupadd --gid 10001 app \
    && useradd --no-log-init --uid 10001 --gid 10001 --create-home --home-dir /home/app --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
# HOST and PORT are the gateway's own settings: it binds to them and checks HOST for the
# authentication rule.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000
WORKDIR /home/app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health', timeout=8)"]
CMD ["python", "-m", "gateway"]
