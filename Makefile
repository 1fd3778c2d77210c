# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck bench stress install clean constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml or constraints.txt changes (editable, so
# code edits need nothing). constraints.txt pins every package: a fresh install
# gets the same, reviewed versions.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]" -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/helpline run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/helpline content check
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy bot nlu responses handoff

# fastText (the NLU baseline) is an optional extra, installed only for benchmarks.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m bench

stress: $(STAMP)
	STRESS=1 $(BIN)/python -m pytest -q -m stress

# Re-pin after changing dependencies: resolve in a fresh venv, freeze it.
constraints:
	rm -rf .venv-pin
	$(PYTHON) -m venv .venv-pin
	.venv-pin/bin/python -m pip install --quiet --upgrade pip
	.venv-pin/bin/python -m pip install --quiet -e ".[dev]"
	{ head -2 constraints.txt; .venv-pin/bin/pip freeze --exclude-editable | grep -v '^helpline'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .venv-pin

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
