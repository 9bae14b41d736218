# Two commands on a fresh machine: `make run` (the whole graph on the embedded default) and
# `make test`. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Paths and URIs come from sentiment_assets/lib/settings.py (SENTIMENT_DATA_DIR, default ./data).
export TF_CPP_MIN_LOG_LEVEL ?= 2
# Ports: sentiment-platform's defaults (lib/settings.py: Dagster UI 3000, MLflow UI 5000, serving
# 5001) unless given, as in `make dev DAGSTER_PORT=3100`. The asset metadata links to the MLflow UI
# on MLFLOW_PORT, and sentiment-run's to the Dagster UI on DAGSTER_PORT, when `make run` and
# `make dev` are given the same ones.
port = $(if $(1),--port $(1))
ifdef MLFLOW_PORT
export SENTIMENT_MLFLOW_UI_URL ?= http://127.0.0.1:$(MLFLOW_PORT)
endif
ifdef DAGSTER_PORT
export SENTIMENT_DAGSTER_UI_URL ?= http://127.0.0.1:$(DAGSTER_PORT)
endif
# The tests' temporary folders (their Dagster and MLflow SQLite files) on tmpfs when it has room:
# commits there skip the disk's fsync, about a third of each in-process Dagster run in the tests.
TEST_TMPDIR ?= $(shell [ "$$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $$4}')" -gt 4000000 ] 2>/dev/null && echo /dev/shm || echo $${TMPDIR:-/tmp})

.PHONY: install install-scaleout run dev test test-fast test-scaleout lint tools servers bench bench-serving bench-scaleout mlflow-ui serve clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# The scale-out profile's client libraries (PostgreSQL, Celery, S3) on top of the above.
install-scaleout: $(VENV)/.installed-scaleout

$(VENV)/.installed-scaleout: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev,scaleout]"
	touch $@

run: install
	$(BIN)/sentiment-run

dev: install
	$(BIN)/sentiment-platform dev $(call port,$(DAGSTER_PORT))

mlflow-ui: install
	$(BIN)/sentiment-platform mlflow-ui $(call port,$(MLFLOW_PORT))

# The production model as a REST service (POST /invocations).
serve: install
	$(BIN)/sentiment-platform serve $(call port,$(SERVE_PORT))

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/dg check defs

# Debian's tools some tests drive: Chromium for the UI test (a browser download cannot work
# offline) and docker-compose, which validates deploy/docker-compose.yaml. Installed when missing
# and allowed (root); otherwise those tests are skipped outside CI.
tools:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && \
	  command -v docker-compose >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	     chromium chromium-driver docker-compose >/dev/null) || \
	  echo "Debian's chromium, chromium-driver or docker-compose is missing: their tests are skipped"

# Two workers (the `dg dev` tests, mostly waiting, run beside the rest: 14 minutes rather than 25
# here); the 25 slowest tests are listed at the end.
test: lint tools
	TMPDIR=$(TEST_TMPDIR) $(BIN)/python -m pytest -n 2 --dist worksteal --durations=25

# The loop for iterating, two workers: no TensorFlow, no training on the real drops, no process
# or server started, no deadline or retry waited out, no browser (the `slow` and `ui` marks).
test-fast: lint
	TMPDIR=$(TEST_TMPDIR) $(BIN)/python -m pytest -m "not slow and not ui" -n 2

# Debian's PostgreSQL and Redis for the scale-out tests, installed when missing (as root).
servers:
	@command -v redis-server >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	     postgresql redis-server >/dev/null)

# The scale-out profile for real on this machine: PostgreSQL, Redis, SeaweedFS (S3), an MLflow
# server, Dagster's code server, daemon and webserver, two Celery workers; drop to production.
test-scaleout: install-scaleout servers
	SENTIMENT_SCALEOUT=1 $(BIN)/python -m pytest sentiment_assets_tests/scaleout

bench: install
	$(BIN)/python -m benchmarks.bench --record

# Predicting and serving on tfidf-nb (about 14 minutes of both cores): its section of
# BENCHMARKS.md and the tables in the README's Predicting and Serving.
bench-serving: install
	$(BIN)/python -m benchmarks.serving --record

# Data size, ingestion on one Celery worker or two, tracking overhead (starts the scale-out stack).
bench-scaleout: install-scaleout servers
	$(BIN)/python -m benchmarks.scaleout --record

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
