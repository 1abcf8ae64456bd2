# Two commands set up and use a fresh machine (see README):
#   make demo   runs the daily-sales pipeline end to end on the embedded dev cluster
#   make test   lints, type-checks and runs the whole test suite (what CI runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: test demo lint typecheck pytest crds clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check operator tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

demo: $(STAMP)
	$(BIN)/baton dev examples/daily-sales.yaml

crds: $(STAMP)
	$(BIN)/python -m baton.api.crdgen

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
