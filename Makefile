# millionscale: `make demo` shows the system, `make test` proves it.
# Every target bootstraps what it needs (.venv, Python packages, the real
# engines PostgreSQL, Redis and NATS), idempotently.

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python


.PHONY: all venv engines browser dnsclients peers demo test lint typecheck unit integration system soak bench clean

all: test

venv:
	@bash scripts/bootstrap.sh

engines: venv
	@$(PY) -m millionscale.servers.install

browser: venv
	@$(PY) -m millionscale.servers.install --browser

dnsclients: venv
	@$(PY) -m millionscale.servers.install --dns-clients

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

test: engines browser dnsclients lint typecheck
	$(BIN)/pytest

# Fault tolerance, at length: 20 SIGKILLs of the primary under writes (CI runs 2).
soak: engines
	MILLIONSCALE_FAILOVER_TRIALS=20 $(BIN)/pytest --timeout 3600 \
		tests/system/test_db_failover_under_load.py -k sigkill

demo: engines
	$(BIN)/millionscale demo

peers: venv
	@$(PY) -m millionscale.servers.install --peers --patroni
	@$(PY) -c 'import celery, dramatiq' 2>/dev/null || \
		$(PY) -m pip install -q --disable-pip-version-check -e '.[queue-peers]'

bench: engines peers
	$(PY) bench/topology_up.py
	$(PY) bench/loadgen_ceiling.py
	$(PY) bench/photos_capacity.py
	$(PY) bench/db_failover.py --json bench/results/db_failover.json
	$(PY) bench/db_reads.py --json bench/results/db_reads.json
	$(PY) bench/lb_throughput.py --json bench/results/lb_throughput.json
	$(PY) bench/cache_hit_ratio.py --json bench/results/cache_hit_ratio.json
	$(PY) bench/cache_ops.py --json bench/results/cache_ops.json
	$(PY) bench/cache_tiers.py --json bench/results/cache_tiers.json
	$(PY) bench/cache_staleness.py --json bench/results/cache_staleness.json
	$(PY) bench/cdn_conformance.py --json bench/results/cdn_conformance.json
	$(PY) bench/cdn_hits.py --json bench/results/cdn_hits.json
	$(PY) bench/cdn_purge_lag.py --rounds 20 --json bench/results/cdn_purge_lag.json
	$(PY) bench/geodns_qps.py --json bench/results/geodns_qps.json
	$(PY) bench/queue_throughput.py --json bench/results/queue_throughput.json
	$(PY) bench/datacenters.py --runs 3 --json bench/results/datacenters.json

clean:
	-$(BIN)/millionscale down
	rm -rf .millionscale .mypy_cache .ruff_cache .pytest_cache
