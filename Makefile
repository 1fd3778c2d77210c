# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check lint typecheck bench stress install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes (editable, so code edits need nothing).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
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

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
