# ldn-bot: `make chat` to talk to the assistant, `make test` to check it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.10 2>/dev/null || echo /root/.pyenv/versions/3.10.13/bin/python3.10)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3

WEB_STAMP := web/static/vendor/webchat.js
CHROMIUM := /usr/bin/chromium
# pip-audit lives in its own venv: it needs packaging>=21, rasa 3.6.21 pins packaging<21.
AUDIT_VENV := .venv-audit
AUDIT_STAMP := $(AUDIT_VENV)/.installed-$(shell sha1sum security/audit-tools.txt | cut -c1-12)

.PHONY: install web browser services train chat serve test test-fast soak eval eval-fast bench screenshots lint audit clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "· installing pinned dependencies into $(VENV) (first run takes a few minutes)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# The chat widget: rasa-webchat from the npm registry (lock file committed),
# copied into web/static/vendor with its external font/CDN references stripped.
$(WEB_STAMP): web/package.json web/package-lock.json web/build.mjs
	@echo "· building the chat widget (npm ci)"
	@cd web && npm ci --no-audit --no-fund --loglevel=error && node build.mjs

web: $(WEB_STAMP)

# Headless Chromium for the browser test (Debian's package; Playwright's own
# browser download does not work here).
$(CHROMIUM):
	@echo "· installing Debian's chromium for the browser test"
	@apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

browser: $(CHROMIUM)

services:  ## Debian's PostgreSQL and Redis for the tests (scripts/services.sh start DIR runs them)
	@scripts/services.sh install

train: install  ## train the model if data or config changed
	@$(BIN)/ldn-bot train

chat: install  ## the terminal chat (trains first when needed)
	@$(BIN)/ldn-bot chat

serve: install web  ## web chat + REST + socket.io on http://127.0.0.1:5005/ (trains first when needed)
	@$(BIN)/ldn-bot serve $(SERVE_ARGS)

# tests/unit and tests/integration run on two workers (pytest-xdist, a module per worker:
# 7.0 -> 3.4 min on 2 cores); tests/e2e runs alone: its servers, outages and timings share
# the machine, and its modules add up run-wide figures in reports/. Both parts always run.
XDIST := -n 2 --dist loadfile

test: install web browser services  ## every layer: tests/unit, tests/integration (trains the model when needed), tests/e2e (servers, browser, PostgreSQL, Redis)
	@$(BIN)/pytest $(XDIST) tests/unit tests/integration; first=$$?; \
	$(BIN)/pytest tests/e2e; second=$$?; \
	exit $$(( first || second ))

test-fast: install  ## tests/unit only, under a minute: no model, no servers; the fuzzers at a tenth of their examples
	@LDN_BOT_FUZZ_SCALE=0.1 $(BIN)/pytest $(XDIST) tests/unit

soak: install web services  ## the reliability scenarios at full size: 100,000 guard and 10,000 REST fuzz inputs, action server killed under load (about 25 min)
	@LDN_BOT_FUZZ_SCALE=10 $(BIN)/pytest tests/unit/test_fuzz_guard.py tests/e2e/test_reliability.py tests/integration/test_failures.py tests/e2e/test_database_outage_store.py tests/e2e/test_database_outage_serve.py tests/e2e/test_storage_attacks.py tests/unit/test_store_poison.py tests/unit/test_action_reply.py tests/unit/test_output_guard.py tests/e2e/test_lifecycle_*.py
	@cat reports/reliability.json

eval: install  ## every set end to end (Wilson 95% CIs), the guard detector alone, NLU 5-fold CV; reports/eval.json
	@$(BIN)/python -m rasa_project.evaluate $(EVAL_ARGS)

eval-fast: install  ## `make eval` without the NLU cross-validation (a few minutes)
	@$(BIN)/python -m rasa_project.evaluate --no-cv $(EVAL_ARGS)

bench: install web browser  ## ldn-bot vs the stock `rasa init` assistant, same run (about 30 min; BENCH_ARGS="--messages 2000" for a shorter one)
	@$(BIN)/python bench/bench.py $(BENCH_ARGS)

screenshots: install web browser  ## the README's screenshots (docs/screenshots/), from a real serve in headless Chromium
	@$(BIN)/python scripts/screenshots.py

lint: install  ## ruff (lint, Google docstrings, format), mypy, and import-linter's layer contracts
	@$(BIN)/ruff check src actions rasa_project tests bench scripts
	@$(BIN)/ruff format --check src actions rasa_project tests bench scripts
	@$(BIN)/mypy
	@$(BIN)/lint-imports --no-cache

$(AUDIT_STAMP): security/audit-tools.txt
	@test -x $(AUDIT_VENV)/bin/python || $(PYTHON) -m venv $(AUDIT_VENV)
	@$(AUDIT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r security/audit-tools.txt
	@rm -f $(AUDIT_VENV)/.installed-* && touch $@

audit: install $(AUDIT_STAMP)  ## pip-audit of .venv + npm audit of web/; fails on findings not in security/audit-allowlist.txt
	@$(AUDIT_VENV)/bin/python scripts/audit.py --venv $(VENV)

clean:
	rm -rf models results .rasa var .pytest_cache .hypothesis web/node_modules web/static/vendor
