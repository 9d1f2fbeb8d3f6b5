# `make run` and `make test` do all set-up on a fresh machine: a virtualenv in .venv, then the app or the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AXE := .cache/axe/node_modules/axe-core/axe.min.js
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format clean screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# axe-core (from the npm registry) is injected into the hosted page by the accessibility test.
$(AXE):
	@command -v npm >/dev/null && npm install --prefix .cache/axe axe-core@4 --no-audit --no-fund --silent \
	  || echo "npm not found: the accessibility test will be skipped (it fails in CI)"

install: $(STAMP)

## Serve on http://127.0.0.1:8000 with ./leadwire.db; on an empty database, create and print a demo workspace.
run: install
	LEADWIRE_PUBLIC_BASE_URL=$${LEADWIRE_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/leadwire demo --if-empty
	LEADWIRE_PUBLIC_BASE_URL=$${LEADWIRE_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
	  $(BIN)/leadwire serve --host $(HOST) --port $(PORT)

## Lint, then the whole suite (SQLite always; PostgreSQL too when TEST_POSTGRES_URL is set).
test: lint $(AXE)
	$(BIN)/pytest -n auto --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## Refresh the screenshots in docs/ (hosted page at desktop and phone widths, with errors, embedded; the console).
screenshots: install $(AXE)
	LEADWIRE_SCREENSHOT_DIR=docs $(BIN)/pytest -q tests/e2e/test_browser.py tests/e2e/test_console_browser.py \
		tests/e2e/test_console_sources_browser.py

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
