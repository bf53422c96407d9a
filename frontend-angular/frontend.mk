# Angular chat front end. Included by the top-level Makefile (paths are relative to the repo root).
FRONTEND := frontend-angular
FRONTEND_DIST := $(FRONTEND)/dist/chat/browser
FRONTEND_STAMP := $(FRONTEND)/node_modules/.install-stamp
FRONTEND_SRC := $(shell find $(FRONTEND)/src $(FRONTEND)/public -type f 2>/dev/null) \
	$(FRONTEND)/angular.json $(FRONTEND)/tsconfig.json $(FRONTEND)/tsconfig.app.json

.PHONY: frontend-install frontend-build frontend-test frontend-e2e chromium-install api-types

frontend-install: $(FRONTEND_STAMP) ## Install the front end's npm dependencies (when package*.json changed)

# `npm ci`: installs exactly the lock and never rewrites it (the lock lists every platform's optional
# packages; after adding a package with `npm install`, check that `npm ci` still accepts the lock).
$(FRONTEND_STAMP): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	touch $@

frontend-build: $(FRONTEND_DIST)/index.html ## Build the Angular app into frontend-angular/dist/chat/browser

$(FRONTEND_DIST)/index.html: $(FRONTEND_STAMP) $(FRONTEND_SRC)
	cd $(FRONTEND) && NG_CLI_ANALYTICS=false npx ng build
	touch $@

frontend-test: $(FRONTEND_STAMP) ## Front-end unit tests (Vitest + jsdom, no browser)
	cd $(FRONTEND) && NG_CLI_ANALYTICS=false npx ng test --watch=false

# Needs a running product: E2E_BASE_URL (nginx or the API serving the build), E2E_ADMIN_TOKEN,
# E2E_SPACE, E2E_EXPECT_MODE (llm|extractive), E2E_ARTIFACTS (screenshots folder).
frontend-e2e: $(FRONTEND_STAMP) ## Front-end end-to-end tests against E2E_BASE_URL (playwright-core + Debian chromium)
	@test -n "$$E2E_BASE_URL" || { echo "E2E_BASE_URL is not set" >&2; exit 2; }
	cd $(FRONTEND) && node --test --test-concurrency=1 e2e/

chromium-install: ## Install Debian chromium and nginx (as root) for the end-to-end tests
	@if [ -x /usr/bin/chromium ] && command -v nginx >/dev/null 2>&1; then \
		echo "chromium and nginx are installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium nginx; \
	else \
		echo "Please install chromium (/usr/bin/chromium) and nginx, e.g. 'sudo apt-get install -y chromium nginx'" >&2; \
		exit 1; \
	fi

api-types: venv $(FRONTEND_STAMP) ## Regenerate the front end's API types from the query API's OpenAPI document
	$(CLI) openapi > $(FRONTEND)/openapi.tmp.json
	cd $(FRONTEND) && npx openapi-typescript openapi.tmp.json --default-non-nullable false -o src/app/core/api-types.ts; \
		status=$$?; rm -f openapi.tmp.json; exit $$status
