# Entry points for people and tooling. `make run` and `make test` do their own set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/confluence-rag
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True
export ORT_DISABLE_TELEMETRY := 1
export ANONYMIZED_TELEMETRY := False
export NG_CLI_ANALYTICS := false

API_HOST ?= 127.0.0.1
API_PORT ?= 8000
export API_HOST API_PORT

.PHONY: help venv lock run api worker test test-py onnx-model lint clean redis-install postgres-install db-upgrade \
	eval-from-feedback

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

venv: $(STAMP) ## Create .venv and install the locked Python dependencies

$(STAMP): services/requirements.lock services/requirements-dev.lock services/pyproject.toml deploy/pip-install-lock.sh
	test -x $(PY) || python3 -m venv $(VENV)
	# Exactly the lock, nothing resolved (torch is its CPU build there): see the script.
	deploy/pip-install-lock.sh $(PY) services/requirements.lock services/requirements-dev.lock
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e services
	touch $@

lock: ## Re-lock Python dependencies with hashes (needs pip-tools in the venv)
	$(VENV)/bin/pip install -q pip-tools
	cd services && ../$(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links -c constraints.txt -o requirements.lock requirements.in
	cd services && ../$(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements-dev.lock requirements-dev.in

run: venv frontend-build ## Set up and run the product on its embedded defaults, with the French demo wiki
	@echo "Chat page: http://$(API_HOST):$(API_PORT)/   API docs: http://$(API_HOST):$(API_PORT)/api/docs   (Ctrl-C stops)"
	DEMO_CONTENT=true FRONTEND_DIR=$(FRONTEND_DIST) $(CLI) api

api: venv ## Run the query API in the foreground on API_HOST:API_PORT
	$(CLI) api

worker: venv ## Run the ingest worker (scheduler + control API) in the foreground
	$(CLI) worker

test: venv chromium-install redis-install postgres-install frontend-build ## Install what is missing, then run every test (Python, browser, front-end units)
	$(PY) -m pytest
	$(MAKE) --no-print-directory frontend-test

test-py: venv postgres-install frontend-install ## Python tests only (the API-types drift test runs the npm generator)
	$(PY) -m pytest

redis-install: ## Install Debian's redis-server (as root) for distributed ingestion and its tests
	@if command -v redis-server >/dev/null 2>&1; then \
		echo "redis-server is installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; \
	else \
		echo "Please install redis-server, e.g. 'sudo apt-get install -y redis-server'" >&2; \
		exit 1; \
	fi

postgres-install: ## Install Debian's postgresql (as root): the history tests start their own private server
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "postgresql is installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; \
	else \
		echo "Please install postgresql, e.g. 'sudo apt-get install -y postgresql'" >&2; \
		exit 1; \
	fi

db-upgrade: venv ## Migrate the history database (DATABASE_URL, else SQLite in STATE_DIR) to the newest revision
	$(CLI) db-upgrade

eval-from-feedback: venv ## Thumbed-up answers -> labelled questions for `make eval` (data/eval/feedback/)
	$(CLI) eval-from-feedback

onnx-model: venv ## Export the embedding model to ONNX, fp32 and int8, into EMBEDDING_ONNX_DIR (for EMBEDDING_BACKEND=onnx*)
	$(CLI) export-onnx --int8

lint: venv ## ruff (lint + format check)
	$(VENV)/bin/ruff check services tests
	$(VENV)/bin/ruff format --check services tests

clean: ## Remove local data, the venv and build outputs
	rm -rf data .run $(VENV) frontend-angular/dist test-artifacts

-include frontend-angular/frontend.mk
-include deploy/deploy.mk
-include benchmarks/benchmarks.mk
