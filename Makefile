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

.PHONY: help venv lock run api worker ingest sync test test-py lint eval bench clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

venv: $(STAMP) ## Create .venv and install the locked Python dependencies

$(STAMP): services/requirements.lock services/requirements-dev.lock services/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	# CPU torch first, alone: any other torch spec pulls a multi-GB CUDA build.
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q --require-hashes -r services/requirements.lock -r services/requirements-dev.lock
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e services
	touch $@

lock: ## Re-lock Python dependencies with hashes (needs pip-tools in the venv)
	$(VENV)/bin/pip install -q pip-tools
	cd services && ../$(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe -c constraints.txt -o requirements.lock requirements.in
	cd services && ../$(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe -o requirements-dev.lock requirements-dev.in

-include frontend-angular/frontend.mk
-include deploy/deploy.mk
