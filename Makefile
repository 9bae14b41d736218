# Two commands on a fresh machine: `make run` (the whole graph on the embedded default) and
# `make test`. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

export SENTIMENT_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(SENTIMENT_DATA_DIR)/dagster_home
export TF_CPP_MIN_LOG_LEVEL ?= 2
MLFLOW_PORT ?= 5000
DAGSTER_PORT ?= 3000
SERVE_PORT ?= 5001

.PHONY: install run dev test lint browser bench mlflow-ui serve clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

run: install
	$(BIN)/sentiment-run

dev: install
	$(BIN)/sentiment-run --prepare-only
	$(BIN)/dagster dev -h 127.0.0.1 -p $(DAGSTER_PORT)

mlflow-ui: install
	$(BIN)/sentiment-run --prepare-only
	$(BIN)/mlflow ui --backend-store-uri "$${MLFLOW_TRACKING_URI:-sqlite:///$(SENTIMENT_DATA_DIR)/mlflow/mlflow.db}" \
		--host 127.0.0.1 --port $(MLFLOW_PORT)

# The production model as a REST service (POST /invocations); the scoring server starts uvicorn
# by name, hence the venv on PATH.
serve: install
	PATH="$(CURDIR)/$(BIN):$$PATH" MLFLOW_TRACKING_URI="$${MLFLOW_TRACKING_URI:-sqlite:///$(SENTIMENT_DATA_DIR)/mlflow/mlflow.db}" \
		$(BIN)/mlflow models serve -m models:/customer-sentiment-analysis@production \
		--env-manager local -h 127.0.0.1 -p $(SERVE_PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The UI test drives Debian's Chromium (a browser download cannot work offline); installed here
# when missing and allowed (root), otherwise that one test is skipped outside CI.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	     chromium chromium-driver >/dev/null) || \
	  echo "Debian's chromium and chromium-driver are missing: the UI test will be skipped"

test: lint browser
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m sentiment_assets.benchmark --record

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
