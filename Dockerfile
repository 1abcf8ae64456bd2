# syntax=docker/dockerfile:1
# The Baton operator image: `docker build -t baton-operator:0.1.0 .` from the repository root.
# Two stages: the build stage installs the package (runtime dependencies only, no `dev` extra) into a
# virtualenv; the runtime stage copies that virtualenv onto the same base image and runs as UID 65532.
# Pin the base by digest too (python:3.12.11-slim-bookworm@sha256:…) where your registry policy asks.

FROM python:3.12.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/baton
COPY pyproject.toml README.md ./
COPY operator ./operator
# A regular (not editable) install: the runtime stage gets the built package, not a link to /src.
RUN /opt/baton/bin/pip install --no-cache-dir ".[lineage]" \
    && /opt/baton/bin/baton --version

FROM python:3.12.11-slim-bookworm
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="baton-operator" \
      org.opencontainers.image.description="Baton: Kubernetes-native data-pipeline orchestrator (kopf operator)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="Baton" \
      org.opencontainers.image.base.name="docker.io/library/python:3.12.11-slim-bookworm"
# A named account for UID/GID 65532 (the conventional "nonroot" id) so tools that look the user up
# find one; the chart sets runAsUser 65532 and runAsNonRoot too.
RUN groupadd --system --gid 65532 baton \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin baton
COPY --from=build /opt/baton /opt/baton
ENV PATH="/opt/baton/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 65532:65532
# 8080: kopf's liveness endpoint (/healthz); 9090: Prometheus metrics when --metrics-port 9090 is given.
EXPOSE 8080 9090
# No HEALTHCHECK: Kubernetes ignores it; the Deployment's livenessProbe calls /healthz instead.
ENTRYPOINT ["baton", "operator"]
