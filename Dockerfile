# syntax=docker/dockerfile:1
# runbook-auditor with helm (chart rendering) and git (`auditor scan --base-ref`), for CI
# jobs and the in-cluster CronJob (deploy/in-cluster/). Building needs the internet (PyPI,
# get.helm.sh):
#   docker build -t registry.example.com/runbook-auditor:0.1.0 .
#   docker run --rm -u "$(id -u):$(id -g)" -e HOME=/tmp -v "$PWD:/work" \
#     registry.example.com/runbook-auditor:0.1.0 scan --format markdown --output report.md
# The base image is pinned by tag; to pin it by digest as well:
#   docker build --build-arg PYTHON_IMAGE=python:3.12.12-slim-trixie@sha256:<digest> ...
# Both stages use the same image, so the venv's interpreter path exists in the runtime.
ARG PYTHON_IMAGE=python:3.12.12-slim-trixie

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# helm: a pinned release, checked against its published sha256 for the target architecture
# (TARGETARCH is set by BuildKit; the legacy builder falls back to this machine's).
ARG TARGETARCH
ARG HELM_VERSION=3.20.0
ARG HELM_SHA256_AMD64=dbb4c8fc8e19d159d1a63dda8db655f9ffa4aac1b9a6b188b34a40957119b286
ARG HELM_SHA256_ARM64=bfb14953295d5324d47ab55f3dfba6da28d46c848978c8fbf412d4271bdc29f1
WORKDIR /tmp/helm
RUN set -eu; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in \
      amd64) sha="$HELM_SHA256_AMD64" ;; \
      arm64) sha="$HELM_SHA256_ARM64" ;; \
      *) echo "no helm checksum for architecture $arch" >&2; exit 1 ;; \
    esac; \
    python -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], "helm.tar.gz")' \
      "https://get.helm.sh/helm-v${HELM_VERSION}-linux-${arch}.tar.gz"; \
    printf '%s  helm.tar.gz\n' "$sha" > helm.tar.gz.sha256; \
    sha256sum -c helm.tar.gz.sha256; \
    tar -xzf helm.tar.gz "linux-${arch}/helm"; \
    install -m 0755 "linux-${arch}/helm" /usr/local/bin/helm; \
    helm version --short

# The project as a regular (non-editable) install in its own venv. The context is only what
# .dockerignore lets in: the package, the policy pack, the runbook and mkdocs.yml (the
# package links to the last three; the wheel build copies them in as files).
WORKDIR /src
COPY . .
RUN python -m venv /opt/auditor \
    && /opt/auditor/bin/pip install . \
    && /opt/auditor/bin/auditor policies validate >/dev/null

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="runbook-auditor" \
      org.opencontainers.image.description="Checks declared and live config against an operations runbook's policies" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/auditor/bin:$PATH

# git for `scan --base-ref` and the CronJob's clone (openssh-client: deploy keys). Debian
# package versions are not pinned: a point release removes the old ones from the mirror.
# safe.directory: CI mounts checkouts owned by another uid; this image only reads them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*' \
    && useradd --uid 10001 --user-group --create-home --home-dir /home/auditor \
       --shell /usr/sbin/nologin auditor \
    && install -d -o 10001 -g 10001 /work

COPY --from=build /usr/local/bin/helm /usr/local/bin/helm
COPY --from=build /opt/auditor /opt/auditor

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["auditor"]
CMD ["--help"]
