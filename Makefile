# vpsie-autoscaler — developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: help demo install test test-unit lint fmt run bench testenv tools helm crds chart-schema clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

demo: install testenv ## scale-up and scale-down demo on a local control plane and a simulated VPSie (no account)
	$(PY) -m demo $(ARGS)

# The runtime dependencies are installed at the image lock's versions, so the tests run the
# code the image ships (the lock's hashes are dropped: pip refuses hashes next to -e).
$(STAMP): pyproject.toml requirements/image.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	sed -e 's/ *\\$$//' -e '/^ *--hash=/d' requirements/image.lock > $(VENV)/image-constraints.txt
	$(PY) -m pip install --quiet -e '.[dev]' -c $(VENV)/image-constraints.txt
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the package with its dev tools

testenv: ## build (once) and cache the Kubernetes control plane used by the tests
	bash hack/testenv-build.sh

tools: ## build (once) and cache helm and promtool
	bash hack/testenv-build.sh tools

helm: ## build (once) and cache helm only: the chart tests render and install the chart with it
	bash hack/testenv-build.sh tools helm

test: install testenv tools ## run every test tier (unit, integration, e2e) as CI does
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: install tools ## run the fast tiers only (no control plane)
	$(PY) -m pytest -m "not integration and not e2e" $(PYTEST_ARGS)

lint: install ## ruff, formatting, mypy strict and the import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

fmt: install ## format and auto-fix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

run: install ## run the daemon against the current kubeconfig
	$(VENV)/bin/vpsie-autoscaler run $(ARGS)

crds: install ## regenerate the CRDs in charts/ from the Python models
	$(PY) hack/gen-crds.py

chart-schema: install ## regenerate the settings part of the chart's values.schema.json from the settings model
	$(PY) -m tests.chart.settings_schema

.PHONY: docs
docs: install ## regenerate docs/configuration.md and docs/nodegroup.md from the models
	$(PY) -m autoscaler.docs_gen

bench: install ## run the benchmarks; results land in bench/results/
	@set -e; for b in bench/*.py; do echo "== $$b"; $(PY) $$b; done

clean: ## remove the virtualenv and caches (not the control-plane build cache)
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info

.PHONY: lock
lock: install ## re-pin requirements/image.lock (the image's runtime deps) to the versions in .venv
	$(VENV)/bin/pip freeze --exclude-editable > $(VENV)/pip-freeze.txt
	$(VENV)/bin/uv pip compile pyproject.toml --constraint $(VENV)/pip-freeze.txt \
		--python-version 3.11 --python-platform linux --generate-hashes \
		--annotation-style line --custom-compile-command 'make lock' --quiet \
		--output-file requirements/image.lock
