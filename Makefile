# Targets named as in Ocean's own integrations. Any target that needs the virtualenv creates it first.
SHELL := /bin/bash
VENV := .venv
ACTIVATE := . $(VENV)/bin/activate
POETRY ?= $(shell command -v poetry 2>/dev/null)
PYTHON ?= $(shell command -v python3.13 || command -v python3.12 || command -v python3)

# where `make run` listens (Ocean's default); `make run PORT=8080` when 8000 is taken
PORT ?= 8000
# a port-labs/ocean checkout for install/local-core (../.. is this folder's place in that repository)
CORE ?= ../..

.PHONY: install install/prod install/local-core run demo demo/live lint lint/fix test test/unit test/integration test/e2e bench seed clean

$(VENV)/.installed: pyproject.toml poetry.lock
	@if [ -z "$(POETRY)" ]; then \
		echo "Poetry not found: installing it with pip (pip install --user 'poetry>=2,<3')"; \
		$(PYTHON) -m pip install --user -q 'poetry>=2,<3'; \
	fi
	@poetry_bin=$${POETRY:-$$(command -v poetry || echo $$HOME/.local/bin/poetry)}; \
	if [ ! -x $(VENV)/bin/python ]; then $$poetry_bin env use "$${SPACELIFT_PYTHON:-$(PYTHON)}" >/dev/null; fi; \
	$$poetry_bin install --with dev --no-root
	@touch $@

install: $(VENV)/.installed ## dev install (creates .venv)

install/prod: ## runtime dependencies only
	poetry install --without dev --no-root

install/local-core: $(VENV)/.installed ## editable Ocean core (default ../.., as inside port-labs/ocean)
	@if [ ! -f "$(CORE)/pyproject.toml" ]; then echo "no Ocean checkout at CORE=$(CORE): make install/local-core CORE=/path/to/port-labs/ocean"; exit 2; fi
	$(ACTIVATE) && pip install -e "$(CORE)"

run: $(VENV)/.installed ## run the integration (reads .env) on PORT; checks settings and credentials first
	@$(ACTIVATE) && python -m spacelift.preflight --port $(PORT) && ocean sail -p $(PORT)

demo: $(VENV)/.installed ## ocean sail --once against local Spacelift and Port stand-ins; LIVE=1 keeps it running
	$(ACTIVATE) && python -m sandbox.demo --profile $${PROFILE:-medium} $(if $(LIVE),--live,)

demo/live: $(VENV)/.installed ## the same, kept running with live events and a few signed webhooks (Ctrl-C stops)
	$(ACTIVATE) && python -m sandbox.demo --profile $${PROFILE:-medium} --live

lint: $(VENV)/.installed
	poetry check
	$(ACTIVATE) && mypy .
	$(ACTIVATE) && ruff check .
	$(ACTIVATE) && black --check .
	$(ACTIVATE) && yamllint .
	$(ACTIVATE) && ocean port-app-config schema . >/dev/null  # every selector field has a title and description

lint/fix: $(VENV)/.installed
	$(ACTIVATE) && black .
	$(ACTIVATE) && ruff check --fix .

test: $(VENV)/.installed ## every test suite, in parallel
	$(ACTIVATE) && pytest -n auto

test/unit: $(VENV)/.installed
	$(ACTIVATE) && pytest -n auto tests/unit

test/integration: $(VENV)/.installed ## resyncs through Ocean against the sandbox
	$(ACTIVATE) && pytest -n auto tests/integration tests/sandbox

test/e2e: $(VENV)/.installed ## the real ocean sail / ocean probe processes against both stand-ins
	$(ACTIVATE) && pytest -n auto tests/e2e

bench: $(VENV)/.installed ## benchmarks that print numbers (not tests)
	$(ACTIVATE) && python -m bench.resync

seed: ## Ocean's seed target: this integration has no seed data; make demo runs against a seeded sandbox
	@echo "nothing to seed: make demo starts a seeded sandbox Spacelift and a local Port"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
