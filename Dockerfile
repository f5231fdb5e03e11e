# Image for Port's port-ocean Helm chart: `ocean sail` from the integration directory, non-root.
# Builds from this folder (`docker build .`) or, as Port's CI builds integrations, from the root of
# port-labs/ocean with `--build-arg BUILD_CONTEXT=integrations/spacelift`.
FROM python:3.13-slim AS builder
ARG BUILD_CONTEXT=.
ENV PIP_NO_CACHE_DIR=1 POETRY_VIRTUALENVS_IN_PROJECT=true POETRY_NO_INTERACTION=1
RUN pip install "poetry>=2,<3"
WORKDIR /app
COPY ${BUILD_CONTEXT}/pyproject.toml ${BUILD_CONTEXT}/poetry.lock ${BUILD_CONTEXT}/poetry.toml ${BUILD_CONTEXT}/README.md ./
RUN poetry install --without dev --no-root

FROM python:3.13-slim
ARG BUILD_CONTEXT=.
RUN useradd --uid 1001 --create-home ocean \
    && mkdir -p /tmp/ocean/streaming /tmp/ocean/.config \
    && chown -R ocean /tmp/ocean
WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
COPY ${BUILD_CONTEXT}/pyproject.toml ${BUILD_CONTEXT}/main.py ${BUILD_CONTEXT}/integration.py ./
COPY ${BUILD_CONTEXT}/.port ./.port
COPY ${BUILD_CONTEXT}/spacelift ./spacelift
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1
USER ocean
CMD ["ocean", "sail"]
