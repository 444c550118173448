# The two set-up commands of the README. Each creates (or reuses) .venv, installs what it needs
# — torch 2.13.0 first, so that no other torch build gets resolved — and runs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
TORCH   = torch==2.13.0
STAMP   = $(VENV)/.installed
# Where the datasets are: ../shared/data when it exists (this project's machines), otherwise
# the user cache (datasets are then fetched on first use).
SHARED_DATA = $(wildcard ../shared/data)
export GRAPHDISTILL_DATA ?= $(abspath $(SHARED_DATA))

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check $(TORCH)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## condense Cora with GCond and a random coreset (70 nodes) beside the whole graph; print the table
	$(BIN)/graphdistill demo --dataset cora

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest tests

lint: $(STAMP)
	$(BIN)/ruff check graphdistill recsys vision tests benchmarks

clean:
	rm -rf $(VENV) runs
