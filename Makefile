# DAST Desk. `make run` serves the demo desk; `make test` runs every test on real servers.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
VAR := var
ADDR ?= 127.0.0.1:8000

# make run: the embedded set-up (SQLite, filesystem broker, mail written to files). The grid
# services are not asked unless their URL is in the environment (README, "Grid services"):
# the demo's downtime, task status and GGUS ticket are loaded from grid/demo_feeds/.
RUN_ENV = DEBUG=1 SECRET_KEY="$$(cat $(VAR)/secret_key)" \
	EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend \
	GOCDB_URL="$${GOCDB_URL-}" CRIC_URL="$${CRIC_URL-}" BIGPANDA_URL="$${BIGPANDA_URL-}" \
	RUCIO_URL="$${RUCIO_URL-}" GGUS_URL="$${GGUS_URL-}"

.PHONY: run test test-next-year bench lint format typecheck install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

$(VAR)/secret_key:
	mkdir -p $(VAR)
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

run: $(STAMP) $(VAR)/secret_key
	mkdir -p $(VAR)/broker/queue $(VAR)/broker/processed $(VAR)/broker/control $(VAR)/sent-mail $(VAR)/media
	$(RUN_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(RUN_ENV) $(BIN)/python manage.py load_demo
	$(RUN_ENV) $(BIN)/python manage.py rundesk --addr $(ADDR)

# Browser-test tools from npm (package-lock.json pins them): axe-core for the accessibility run.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

test: $(STAMP) node_modules/axe-core/axe.min.js
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=typecheck DEBUG=1 $(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m tests.servers -- $(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-next-year

# The suite again with the test process's clock a year ahead (tests/conftest.py), so that a
# test that only passes at today's date fails today. Tests marked `processes` stay out: the
# worker, fetcher, Chromium or Dovecot they start read the real clock.
CLOCK_SHIFT_DAYS ?= 366
test-next-year: $(STAMP)
	DAST_TEST_CLOCK_SHIFT_DAYS=$(CLOCK_SHIFT_DAYS) $(BIN)/python -m tests.servers -- \
		$(BIN)/python -m pytest -q -m "not processes" $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m tests.servers --durable -- $(BIN)/python -m benchmarks.run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	SECRET_KEY=typecheck DEBUG=1 $(BIN)/mypy

clean:
	rm -rf $(VAR)/dast.sqlite3 $(VAR)/broker $(VAR)/celerybeat-schedule* $(VAR)/sent-mail
