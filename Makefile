# ldn-bot: `make chat` to talk to the assistant, `make test` to check it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.10 2>/dev/null || echo /root/.pyenv/versions/3.10.13/bin/python3.10)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: install train chat ask test eval lint clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "· installing pinned dependencies into $(VENV) (first run takes a few minutes)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

train: install  ## train the model if data or config changed
	@$(BIN)/ldn-bot train

chat: install  ## the terminal chat (trains first when needed)
	@$(BIN)/ldn-bot chat

test: install  ## the whole test suite (trains the model when needed)
	@$(BIN)/pytest

eval: install  ## NLU 5-fold cross-validation, guard recall and false refusals
	@$(BIN)/python -m ldn_bot.evaluation

lint: install
	@$(BIN)/ruff check src actions rasa_project tests
	@$(BIN)/ruff format --check src actions rasa_project tests
	@$(BIN)/mypy

clean:
	rm -rf models results .rasa var .pytest_cache .hypothesis
