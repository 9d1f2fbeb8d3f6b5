# `make run` and `make test` do all set-up on a fresh machine: a virtualenv in .venv, then the app or the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Serve on http://127.0.0.1:8000 with ./leadwire.db; on an empty database, create and print a demo workspace.
run: install
	LEADWIRE_PUBLIC_BASE_URL=$${LEADWIRE_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/leadwire demo --if-empty
	LEADWIRE_PUBLIC_BASE_URL=$${LEADWIRE_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
	  $(BIN)/leadwire serve --host $(HOST) --port $(PORT)

## Lint, then the whole suite (SQLite always; PostgreSQL too when TEST_POSTGRES_URL is set).
test: lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
