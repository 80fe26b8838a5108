# vpsie-autoscaler container image:  docker build -t vpsie-autoscaler .
#
# builder: a venv in /opt/venv holding the runtime dependencies from requirements/image.lock
#          (hash-checked, wheels only, so nothing is compiled) and a wheel of this project.
# final:   the same base image (the venv's interpreter path must hold) with /opt/venv copied
#          in, run as an unprivileged numeric user. No compiler, no pip run, no writes needed
#          at run time, so a read-only root filesystem works.
#
# `make lock` regenerates the lock; tests/test_image.py lints this file with hadolint and
# replays the builder's steps to run the entry point.

FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv
ENV PATH="$VIRTUAL_ENV/bin:$PATH"

WORKDIR /src

# --without-pip: the image's own pip installs into the venv (pip --python), so neither pip
# nor setuptools ends up in the final image.
RUN python -m venv --without-pip "$VIRTUAL_ENV"

COPY requirements/image.lock requirements/image.lock
RUN pip --python "$VIRTUAL_ENV/bin/python" install \
        --require-hashes --no-deps --only-binary=:all: -r requirements/image.lock

COPY pyproject.toml README.md ./
COPY autoscaler/ autoscaler/
RUN pip wheel --no-deps --wheel-dir dist . \
    && pip --python "$VIRTUAL_ENV/bin/python" install --no-deps dist/*.whl


FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv
ENV PATH="$VIRTUAL_ENV/bin:$PATH"

COPY --from=builder /opt/venv /opt/venv

USER 65532:65532

# /metrics and /healthz + /readyz (settings server.metrics_port, server.probes_port)
EXPOSE 8080 8081

ENTRYPOINT ["vpsie-autoscaler"]
CMD ["run"]
