# Two commands matter: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint types pytest bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ndrbot needs Python 3.11 or newer; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ndrbot chat

test: $(STAMP) lint types pytest

lint: $(STAMP)
	$(BIN)/ruff check bot handlers knowledge tests benchmarks
	$(BIN)/ruff format --check bot handlers knowledge tests benchmarks

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/corpus_accuracy.py
	$(BIN)/python benchmarks/reader_speed.py
	$(BIN)/python benchmarks/dns_domain.py
	$(BIN)/python benchmarks/dns_blocklist.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
