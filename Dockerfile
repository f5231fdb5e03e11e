# Image for Port's port-ocean Helm chart: `ocean sail` from the integration directory, non-root.
FROM python:3.13-slim AS builder
ENV PIP_NO_CACHE_DIR=1 POETRY_VIRTUALENVS_IN_PROJECT=true POETRY_NO_INTERACTION=1
RUN pip install "poetry>=2,<3"
WORKDIR /app
COPY pyproject.toml poetry.lock poetry.toml README.md ./
RUN poetry install --without dev --no-root

FROM python:3.13-slim
RUN useradd --uid 1001 --create-home ocean \
    && mkdir -p /tmp/ocean/streaming /tmp/ocean/.config \
    && chown -R ocean /tmp/ocean
WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
COPY pyproject.toml main.py integration.py ./
COPY .port ./.port
COPY spacelift ./spacelift
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1
USER ocean
CMD ["ocean", "sail"]
