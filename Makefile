# Two commands: `make run` (set up, migrate, demo data, serve on SQLite) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# The suites that touch a database run a second time on a real PostgreSQL server.
POSTGRES_SUITES := tests/api tests/integration tests/reliability tests/e2e/test_many_processes.py
# Test processes (pytest-xdist): the machine's two cores. JOBS=0 runs in one process.
JOBS ?= 2
# Keep compiled modules (and pytest's rewritten test modules) between runs: seconds per process.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The console's session key: from the environment, else generated once and kept (git-ignored).
SECRET_KEY_FILE := arbitration-secret-key
# The key that signs audit checkpoints: made once, kept in .audit-signing-key (never committed).
AUDIT_KEY_FILE := .audit-signing-key

run: $(STAMP)
	test -s $(SECRET_KEY_FILE) || $(BIN)/python -c 'import secrets; print(secrets.token_hex(32))' > $(SECRET_KEY_FILE)
	chmod 600 $(SECRET_KEY_FILE)
	$(BIN)/arbitration db upgrade
	$(BIN)/arbitration demo --if-empty --address $(HOST):$(PORT)
	test -s $(AUDIT_KEY_FILE) || (umask 077 && $(BIN)/arbitration audit keygen > $(AUDIT_KEY_FILE))
	ARBITRATION_SECRET_KEY="$${ARBITRATION_SECRET_KEY:-$$(cat $(SECRET_KEY_FILE))}" \
	ARBITRATION_AUDIT_SIGNING_KEY="$${ARBITRATION_AUDIT_SIGNING_KEY:-$$(cat $(AUDIT_KEY_FILE))}" \
	  $(BIN)/arbitration serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	scripts/install-chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n $(JOBS)
	scripts/with-postgres $(BIN)/pytest -n $(JOBS) $(POSTGRES_SUITES)

# The developer's quick loop: SQLite only, without the tests that start processes or run long
# (the property test and the fuzzing: `make test` runs them).
test-fast: $(STAMP)
	$(BIN)/pytest -n $(JOBS) -m "not slow" -x

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every benchmark; one or some by name, or a smoke run: make bench BENCH="growth memory --quick"
# (http, lifecycles, sweep, standing, growth, memory; see docs/performance.md). On a throwaway
# PostgreSQL server: BENCH="http --pg --quick"; under gunicorn: BENCH="http lifecycles --workers=2".
# Every option: .venv/bin/python -m bench --help.
BENCH ?=
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
