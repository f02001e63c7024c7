# WheelWatch — every target installs what it needs itself (venv in .venv/).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help venv test test-fast lint typecheck demo bench faults quality model clean tools

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/' | expand -t 14

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[edge,cloud,train,dev]'
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install the project with every extra

tools: $(STAMP)  ## external test tools (contract mocks, browser) — installed on demand
	bash .ci/install-tools.sh

lint: $(STAMP)  ## ruff + mypy
	$(BIN)/ruff check edge cloud models schemas tests bench
	$(BIN)/mypy

typecheck: lint

test: $(STAMP) tools lint  ## the whole suite except `slow` runs (integration included)
	$(BIN)/pytest -m "not slow" -q

test-fast: $(STAMP)  ## unit tests only (no emulators)
	$(BIN)/pytest -m "not slow and not integration" -q

demo: $(STAMP)  ## simulate ride passes and run them end to end on the embedded backends
	$(BIN)/python -m cloud.demo

bench: $(STAMP)  ## benchmarks, printed as ratios against a baseline run side by side
	$(BIN)/python -m bench

faults: $(STAMP) tools  ## fault and hostile-input suite (long form), a few minutes
	$(BIN)/pytest -m "slow" -q tests/faults

quality: $(STAMP)  ## slow model-quality runs: held-out simulator settings + clean-room blind set (~30 min)
	$(BIN)/pytest -m "slow" -q tests/models tests/blind

model: $(STAMP)  ## retrain the default model shipped in models/default/
	$(BIN)/python -m models.build_default

clean:  ## remove the venv and generated files
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache
