# Turnout's developer entry points. Each target sets up what it needs.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: demo test lint typecheck check postgres clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Turnout needs Python 3.11 ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

## demo: a short campaign offline (SQLite, simulated members, a local Slack)
demo: $(STAMP)
	$(BIN)/turnout demo

## test: the test suite, on SQLite and (when it answers) PostgreSQL
test: $(STAMP)
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		echo "PostgreSQL tests: $(POSTGRES_URL)"; \
		TURNOUT_TEST_POSTGRES_URL=$(POSTGRES_URL) $(BIN)/pytest -q -n auto; \
	else \
		echo "PostgreSQL is not answering on 127.0.0.1:5432: its tests will skip"; \
		$(BIN)/pytest -q -n auto; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
