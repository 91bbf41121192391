# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint fmt bench dev-check clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

## run: create the venv if needed, install, and open the app on the embedded sandbox
run: $(STAMP)
	$(BIN)/cloudkata

## test: the whole suite (lint, unit, sandbox, TUI, packaging, every lab's dev check)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q --durations=20

## lint: ruff
lint: $(STAMP)
	$(BIN)/ruff check .

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
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
