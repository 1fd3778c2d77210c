# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check lint typecheck bench stress install clean constraints

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

# The checks, then the suite. The same checks run in
# .pre-commit-config.yaml; CONTRIBUTING.md says what each one guards.
test: check
	$(BIN)/python -m pytest -q

# Everything but pytest: what `make test` runs before the suite.
check: lint typecheck
	$(BIN)/lint-imports
	$(BIN)/helpline content check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
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
