# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# lint-imports (grimp) and mypy find modules by folder, and checks/, labs/ and tui/ are
# cloudkata.checks, .labs and .tui only once installed: they run in build/package-tree, the
# package laid out as installed (links, rebuilt each run; see tools/package_tree.py).
TREE   := build/package-tree
IN_TREE = $(BIN)/python tools/package_tree.py $(TREE) >/dev/null && cd $(TREE) && $(abspath $(BIN))
LAYERS  = $(IN_TREE)/lint-imports --no-logo --cache-dir $(CURDIR)/.import_linter_cache \
          $(CURDIR)/pyproject.toml
TYPES   = $(IN_TREE)/mypy --config-file $(CURDIR)/pyproject.toml --cache-dir $(CURDIR)/.mypy_cache

.PHONY: run test lint fmt bench dev-check clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

## run: create the venv if needed, install, and open the app on the embedded sandbox
run: $(STAMP)
	$(BIN)/cloudkata

## test: the whole suite (lint, layers, types, unit, sandbox, TUI, packaging, every lab's dev check)
test: $(STAMP)
	$(BIN)/ruff check .
	$(LAYERS)
	$(TYPES)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q --durations=20

## lint: ruff, import layers (lint-imports, contracts in pyproject.toml), types (mypy)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(LAYERS)
	$(TYPES)

## dev-check: test every lab like code on a fresh sandbox
dev-check: $(STAMP)
	$(BIN)/cloudkata dev check

## bench: checks vs `aws` CLI calls; sandbox vs bare moto, idle CPU, save/restore, hand-in files
bench: $(STAMP)
	$(BIN)/python bench/bench_checks.py
	$(BIN)/python bench/bench_sandbox.py
	$(BIN)/python bench/bench_labs.py
	$(BIN)/python bench/bench_handin.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
