# arrears — make help lists the targets. Everything installs into .venv from pyproject.toml + constraints.txt.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export ARREARS_HOME ?= $(CURDIR)/.arrears
BENCH_LOANS ?= 1000000
BENCH_DAYS ?= 60

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-fast test-faults lint fmt bench bench-ingest bench-generate profile-book contract-docs docs airflow airflow-celery db-stop clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel setuptools
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,bench,spark]"
	touch $@

$(BIN)/.system: scripts/install-system-packages.sh | $(BIN)/.installed
	scripts/install-system-packages.sh
	touch $@

setup: $(BIN)/.installed $(BIN)/.system ## create .venv, install the pinned environment and chromium (idempotent)

demo: setup ## generate a small portfolio and run the nightly DAG for its last dates, then summarise
	$(BIN)/arrears demo

# Each run gets its own pytest base directory: parallel sessions must not clean up each other's servers.
# Two workers (one per core; each starts its own embedded server), whole files per worker so a module's
# expensive fixture (the end-to-end night, the kill baseline) is built once: ~2x faster than serial.
PYTEST_WORKERS ?= 2
test: setup lint ## the whole suite: real PostgreSQL, dbt, GX and a real Airflow DAG run (what CI runs)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=25 --basetemp="$$(mktemp -d /tmp/arrears-pytest-XXXXXX)"

test-fast: setup ## the suite without the slow end-to-end and fault-injection tests
	$(BIN)/pytest -q -m "not slow" --basetemp="$$(mktemp -d /tmp/arrears-pytest-XXXXXX)"

lint: setup ## ruff, mypy, import-linter (the Python layers), sqlfluff on the dbt models, dbt-score (the dbt layers)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/sqlfluff lint --processes 2 dbt_project/models dbt_project/macros dbt_project/tests
	$(BIN)/python scripts/lint_dbt_layers.py

fmt: setup ## apply ruff's fixes and formatting, and sqlfluff's fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/sqlfluff fix dbt_project/models

test-faults: setup ## the fault-injection and bad-input tests only (slow: ~6 min idle)
	$(BIN)/pytest -q -s tests/test_faults_kill.py tests/test_faults_night.py tests/test_ingest_property.py --basetemp="$$(mktemp -d /tmp/arrears-pytest-XXXXXX)"

bench: setup ## every benchmark at BENCH_LOANS loans (BENCH_DAYS of history); writes benchmarks/results.md
	$(BIN)/python -m benchmarks.run_all --loans $(BENCH_LOANS) --days $(BENCH_DAYS)

bench-ingest: setup ## the loader against raw COPY, ADBC and pgpq on a 2,000,000-row payments file
	$(BIN)/python -m benchmarks.bench_ingest --rows 2000000

bench-generate: setup ## simulator throughput at 1,000,000 loans x 30 days
	$(BIN)/python -m benchmarks.bench_generate --loans 1000000 --days 30

profile-book: setup ## stage shares and roll rates of the simulated book (quoted in docs/simulator.md)
	$(BIN)/python -m arrears.generate.profile --loans 20000 --days 60

contract-docs: setup ## regenerate docs/landing-contract.md and dbt's __sources.yml from landing.yml
	$(BIN)/python -m arrears.contract.docs
	$(BIN)/python -m arrears.ingest.sources_yml

docs: setup ## generate dbt docs into $ARREARS_HOME/dbt/target and print where to open them
	$(BIN)/arrears docs

airflow: setup ## start the Airflow api-server and scheduler on the embedded default (Ctrl-C stops)
	$(BIN)/arrears airflow

airflow-celery: setup ## the same under CeleryExecutor: redis broker, two workers worker-1/worker-2 (Ctrl-C stops)
	$(BIN)/arrears airflow --celery

db-stop: ## stop the embedded warehouse of $ARREARS_HOME
	$(BIN)/arrears db stop

clean: db-stop ## remove $ARREARS_HOME (warehouse, landing, exports, Airflow home)
	rm -rf $(ARREARS_HOME)
