# millionscale: `make demo` shows the system, `make test` proves it.
# Every target bootstraps what it needs (.venv, Python packages, the real
# engines PostgreSQL, Redis and NATS), idempotently.

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python


.PHONY: all venv engines browser peers demo test lint typecheck unit integration system bench clean

all: test

venv:
	@bash scripts/bootstrap.sh

engines: venv
	@$(PY) -m millionscale.servers.install

browser: venv
	@$(PY) -m millionscale.servers.install --browser

lint: venv
	$(BIN)/ruff check --no-cache src tests bench
	$(BIN)/ruff format --no-cache --check src tests bench

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest tests/unit

integration: engines
	$(BIN)/pytest tests/integration

system: engines
	$(BIN)/pytest tests/system

test: engines browser lint typecheck
	$(BIN)/pytest

demo: engines
	$(BIN)/millionscale demo

peers: venv
	@$(PY) -m millionscale.servers.install --peers

bench: engines peers
	$(PY) bench/topology_up.py
	$(PY) bench/loadgen_ceiling.py
	$(PY) bench/photos_capacity.py

clean:
	-$(BIN)/millionscale down
	rm -rf .millionscale .mypy_cache .ruff_cache .pytest_cache
