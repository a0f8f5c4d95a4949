# Two entry points, both self-installing on a fresh clone:
#   make demo   a real deliberation of three local models (weights fetched on first use)
#   make test   lint, types, unit and protocol tests, and the real small-model tier
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
QUESTION ?= A train leaves at 3 pm and travels 180 km at 60 km/h. At what hour does it arrive? Answer with the hour as a number (24-hour clock).

.PHONY: demo test lint unit install

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,bench,dev]'
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/nsed ask "$(QUESTION)" --format number

lint: $(BIN)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not local_llm" -q

test: lint
	$(BIN)/python -m pytest -q
