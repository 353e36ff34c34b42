# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench

# into ./.semdigest, which every later semdigest command in this folder (or below it) finds
demo: $(VENV)/.installed
	$(BIN)/semdigest --home .semdigest demo

# lint, format and types first: they take seconds, the suite takes minutes
test: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/speed.py

# torch first, pinned to the CPU wheel: left to itself, pip would pull a multi-GB CUDA build for sentence-transformers.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,cluster]'
	touch $@
