# Loxodon — quick start: `make demo` and `make test` (each bootstraps .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo test lint bench bench-peers load serve clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@mkdir -p var
	$(BIN)/loxodon migrate --noinput
	$(BIN)/loxodon seed_demo
	$(BIN)/loxodon demo_logins --host $(HOST) --port $(PORT)
	@# Customer email goes to var/outbox/ (one file per message) instead of a real SMTP server;
	@# the background worker (outbound mail, digests) runs beside the server and stops with it.
	@LOXODON_EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend \
	  $(BIN)/loxodon db_worker --no-reload --interval 2 -v 0 & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  LOXODON_EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend \
	  $(BIN)/loxodon runserver --noreload $(HOST):$(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy loxodon
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy loxodon

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# django-helpdesk side by side (its own pinned venv under var/peers): docs/performance.md
bench-peers: $(STAMP)
	$(BIN)/python -m bench.peers.helpdesk $(PEERS_ARGS)

# 200 simulated agents for 2 minutes against the production processes (locust in var/load/venv)
load: $(STAMP)
	$(BIN)/python -m bench.load $(LOAD_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
