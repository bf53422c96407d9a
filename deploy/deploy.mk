# Deployment targets, included by the top Makefile (docs/deployment.md).
#   make up | down | logs [SERVICE=query-api]     the Docker Compose stack
#   make up-local | down-local                    the same topology without Docker (loopback)
#   make ingest SPACE=KEY [FULL=1] | make sync    ingestion, in the compose ingest-scheduler when it runs
#   make ingest-distributed SPACE=KEY WORKERS=N   one sync across N local Celery workers
# Uses VENV and CLI from the top Makefile.

COMPOSE ?= docker compose
LOCAL_RUN_DIR ?= .run/local

# Non-empty when the compose stack is running (its ingest-scheduler plans syncs; empty without a Docker engine).
compose_worker_running = $(COMPOSE) ps --status running -q ingest-scheduler 2>/dev/null
# -T when make's stdin is not a terminal (CI, scripts): docker compose exec wants a TTY otherwise.
compose_exec = $(COMPOSE) exec $$([ -t 0 ] || echo -T) ingest-scheduler confluence-rag
# FULL=1 (or yes/true) adds --full; FULL=0 or empty does not.
ingest_full = $(if $(filter 1 yes true,$(FULL)),--full)
# Indirect, so that `make -n ingest` only prints (make runs lines naming $(MAKE) even under -n).
make_venv = $(MAKE) --no-print-directory venv
# When the local stack runs, local ingestion writes into its Chroma server and worker state.
local_stack_env = if [ -f $(LOCAL_RUN_DIR)/stack.env ]; then \
	  echo "local stack running ($(LOCAL_RUN_DIR)): using its Chroma server and state"; \
	  set -a; . $(LOCAL_RUN_DIR)/stack.env; set +a; fi

WORKERS ?= 2
# Debian's redis-server, unless BROKER_URL names a Redis already.
make_redis = $(if $(BROKER_URL),true,$(MAKE) --no-print-directory redis-install)

.PHONY: up down logs up-local down-local ingest sync ingest-distributed

up: ## Build and start the Docker Compose stack (chat page on FRONTEND_PORT, default 8080)
	@test -f .env || echo "deploy: no .env: starting with defaults (see .env.example)" >&2
	$(COMPOSE) up -d --build
	$(COMPOSE) ps

down: ## Stop the Docker Compose stack (named volumes are kept)
	$(COMPOSE) down

logs: ## Follow the Docker Compose logs (SERVICE=name for one service)
	$(COMPOSE) logs -f --tail=200 $(SERVICE)

up-local: venv ## Start chroma, worker, API and nginx on loopback, without Docker (.run/local)
	LOCAL_RUN_DIR=$(LOCAL_RUN_DIR) VENV=$(VENV) deploy/local/up.sh

down-local: ## Stop the local stack started by up-local
	LOCAL_RUN_DIR=$(LOCAL_RUN_DIR) deploy/local/down.sh

ingest: ## Ingest one space now: SPACE=KEY [FULL=1] (in the compose worker if it runs, else locally)
	@test -n "$(SPACE)" || { echo "usage: make ingest SPACE=KEY [FULL=1]" >&2; exit 2; }
	@if [ -n "$$($(compose_worker_running))" ]; then \
	  echo "+ $(compose_exec) ingest $(SPACE) $(ingest_full)"; \
	  $(compose_exec) ingest '$(SPACE)' $(ingest_full); \
	else \
	  $(make_venv) && \
	  $(local_stack_env) && \
	  echo "+ $(CLI) ingest $(SPACE) $(ingest_full)" && \
	  $(CLI) ingest '$(SPACE)' $(ingest_full); \
	fi

sync: ## Sync every space of CONFLUENCE_SPACES now (in the compose worker if it runs, else locally)
	@if [ -n "$$($(compose_worker_running))" ]; then \
	  echo "+ $(compose_exec) sync"; \
	  $(compose_exec) sync; \
	else \
	  $(make_venv) && \
	  $(local_stack_env) && \
	  echo "+ $(CLI) sync" && \
	  $(CLI) sync; \
	fi

ingest-distributed: ## One sync of SPACE=KEY across WORKERS=N local Celery workers [FULL=1]; starts Redis/Chroma if not configured
	@test -n "$(SPACE)" || { echo "usage: make ingest-distributed SPACE=KEY WORKERS=N [FULL=1]" >&2; exit 2; }
	@$(make_venv) && \
	  $(make_redis) && \
	  $(local_stack_env) && \
	  echo "+ $(CLI) ingest-distributed $(SPACE) --workers $(WORKERS) $(ingest_full)" && \
	  $(CLI) ingest-distributed '$(SPACE)' --workers '$(WORKERS)' $(ingest_full)
