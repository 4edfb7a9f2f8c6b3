# syntax=docker/dockerfile:1
# media-service: yt-dlp downloads, frames, transcripts and the media files. Build from the repository root:
#   docker build -f deploy/docker/media-service.Dockerfile -t video-analysis/media-service:0.1.0 .
# Keeps its files in MEDIA_DIR (/data/media): mount a volume there.

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
    /opt/uv/bin/uv sync --frozen --no-dev --no-install-workspace --package media-service
# Then the service and the shared package, installed as wheels (no editable links into /src).
COPY common/ common/
COPY media-service/ media-service/
RUN --mount=type=cache,target=/root/.cache/uv \
    /opt/uv/bin/uv sync --frozen --no-dev --no-editable --package media-service

# ---------------------------------------------------------------- runtime: the venv and a user
FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="video-analysis media-service" \
      org.opencontainers.image.description="Downloads, frames and transcripts of the video analysis service"
RUN groupadd --gid 10001 app \
    && useradd --no-log-init --uid 10001 --gid 10001 --create-home --home-dir /home/app --shell /usr/sbin/nologin app \
    && mkdir -p /data/media && chown -R 10001:10001 /data
# /data/media (MEDIA_DIR) belongs to the service's user: a fresh named volume mounted there takes that owner.
COPY --from=builder /opt/venv /opt/venv
# uvicorn reads UVICORN_HOST and UVICORN_PORT; the health check asks the same port. UVICORN_HTTP is its
# HTTP protocol with request read deadlines (HEADER_TIMEOUT_S, BODY_READ_TIMEOUT_S) against slow clients.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UVICORN_HOST=0.0.0.0 \
    UVICORN_HTTP=service_common.slow_clients:HttpProtocol \
    UVICORN_PORT=8002 \
    MEDIA_DIR=/data/media
WORKDIR /home/app
USER 10001:10001
EXPOSE 8002
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('UVICORN_PORT', '8002') + '/health', timeout=8)"]
CMD ["uvicorn", "--factory", "media_service.app:create_app"]
