# graybot: a small, reproducible image. `docker build -t graybot .`
ARG PYTHON=python:3.11-slim-bookworm

FROM ${PYTHON} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY strategies ./strategies
COPY sandbox ./sandbox
# install: dependencies come from the project's own metadata (pyproject.toml);
# tests/scenarios/test_ship.py runs these same commands in a fresh virtualenv
RUN python -m venv /opt/graybot \
 && /opt/graybot/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/graybot/bin/pip install --no-cache-dir .
# end install

FROM ${PYTHON}
# git (and ssh for SSH remotes): gitops.writeback commits a successful release to its repository
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin graybot
COPY --from=build /opt/graybot /opt/graybot
# read-only root filesystem friendly: no bytecode writes; /tmp is the only writable place
ENV PATH=/opt/graybot/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["graybot"]
CMD ["serve", "--port", "3000"]
