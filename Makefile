# Tanso — `make run` starts the platform, `make test` runs the tests. Both install what they need.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
PYTHON ?= python3.11
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
DATA_DIR ?= data
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test test-postgres test-unit test-e2e install schemas lint bench clean

install:
	@command -v uv >/dev/null 2>&1 || [ -x "$(UV)" ] || $(PYTHON) -m pip install --user --quiet uv
	@$(UV) sync --locked --python $(PYTHON) --quiet

run: install  ## start broker, every service and the gateway; demo tenant; Ctrl-C stops all
	@$(UV) run --locked python -m tanso_devstack run --data-dir $(DATA_DIR) --port $(PORT)

test: install  ## the whole suite on SQLite (PostgreSQL tests skip with a reason when it is absent)
	@$(UV) run --locked pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-postgres: install  ## the whole suite with PostgreSQL required and the platform on PostgreSQL
	@TANSO_REQUIRE_POSTGRES=1 TANSO_TEST_DATABASE=postgresql $(UV) run --locked pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-unit: install
	@$(UV) run --locked pytest -m "not e2e" $(PYTEST_ARGS)

test-e2e: install
	@$(UV) run --locked pytest -m e2e $(PYTEST_ARGS)

schemas: install  ## regenerate the committed JSON Schemas and AsyncAPI documents of the events
	@$(UV) run --locked python -m tanso_events.schemas
	@$(UV) run --locked python -m tanso_events.asyncapi

lint: install
	@$(UV) run --locked ruff check .

bench: install  ## activity → report latency at 50 requests/s for 60 s; recompute of 1M lines after a factor change (PostgreSQL)
	@$(UV) run --locked python bench/latency.py
	@$(UV) run --locked python bench/recompute.py

clean:
	rm -rf .venv .pytest_cache
