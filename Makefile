# Set-up is part of every target: a fresh machine needs only `make demo` or `make test`.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-fast lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/haad demo

test: $(STAMP)
	$(VENV)/bin/pytest -q

# Everything but model training and the whole-daemon runs (the `slow` marker): minutes, not tens of minutes.
test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy config models bus clips pose_frontend edge training evaluation haad
