# The whole set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo
DEMO_PEOPLE ?= 20000
DEMO_SEED ?= 7

.PHONY: help demo test test-fast install clean chromium postgresql

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install svrisk with the dev extra

# The demo signs its gate verdicts with its own key pair (docs/serving.md, 'Signed gate verdicts').
demo: export SVRISK_SIGNING_KEY_FILE := $(abspath $(DEMO_DIR)/keys/svrisk-signing.key)
demo: export SVRISK_VERIFY_KEY_FILE := $(abspath $(DEMO_DIR)/keys/svrisk-signing.pub)
demo: $(STAMP) ## Generate, validate, train, gate and serve a synthetic example
	rm -rf $(DEMO_DIR)
	$(BIN)/svrisk signing-keygen --out $(DEMO_DIR)/keys
	$(BIN)/svrisk generate --people $(DEMO_PEOPLE) --seed $(DEMO_SEED) --start 2018-04-01 --end 2025-03-31 --out $(DEMO_DIR)/extract
	$(BIN)/svrisk validate $(DEMO_DIR)/extract
	$(BIN)/svrisk train $(DEMO_DIR)/extract
	# The gate decides: PASS publishes; REVIEW (an estimate outside its band, no confident
	# breach) needs a named approver; FAIL is refused. The demo approves a REVIEW, or overrides
	# a FAIL, ON THE RECORD (approver and reason are tagged on the model version) and says so.
	$(BIN)/svrisk publish --out $(DEMO_DIR)/fairness || { \
		verdict=$$($(BIN)/python -c "import json; print(json.load(open('$(DEMO_DIR)/fairness/audit.json'))['verdict']['verdict'])"); \
		if [ "$$verdict" = "REVIEW" ]; then \
			echo "make demo: the gate says REVIEW; approving it on the record as 'make demo'"; \
			$(BIN)/svrisk publish --out $(DEMO_DIR)/fairness --approve-review --approver "make demo" \
				--reason "demonstration on synthetic data: REVIEW approved so the flow can be shown; see the fairness report"; \
		else \
			echo "make demo: the gate says $$verdict; overriding it on the record as 'make demo'"; \
			$(BIN)/svrisk publish --out $(DEMO_DIR)/fairness --override --approver "make demo" \
				--reason "demonstration on synthetic data after a refused gate; see the fairness report"; \
		fi; }
	$(BIN)/svrisk serve --example

# The workspace's browser tests drive Debian's chromium (never a downloaded browser).
chromium: ## Install Debian's chromium for the browser tests (as root), or say how

	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
		else echo "the browser tests need Debian's chromium package: sudo apt-get install -y chromium" >&2; exit 1; fi; }

# The audit trail's tests start a throwaway PostgreSQL server (tests/postgres_server.py).
postgresql: ## Install Debian's postgresql for the audit trail's tests (as root), or say how
	@{ ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1; } || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y postgresql; \
		else echo "the audit trail's tests need Debian's postgresql package: sudo apt-get install -y postgresql" >&2; exit 1; fi; }

test: $(STAMP) chromium postgresql ## The whole test suite
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: $(STAMP) postgresql ## The suite without the slow tests (the edit-test loop)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

clean: ## Remove .venv, the demo and local MLflow stores
	rm -rf $(VENV) $(DEMO_DIR) mlruns mlflow.db .pytest_cache .hypothesis
