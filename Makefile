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

# Tests are independent (fresh folders, schemas, topics and ports) and run on two workers; the slow ones
# (whole daemons, kill drills, training) after the rest, so that two drills, mostly waiting, share the
# CPUs rather than a drill and a CPU-bound test (2 cores: about 8 + 7 min).
test: $(STAMP)
	$(VENV)/bin/pytest -q -n 2 -m "not slow"
	$(VENV)/bin/pytest -q -n 2 -m slow

# Everything but model training and the whole-daemon runs (the `slow` marker): minutes, not tens of minutes.
test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -n 2 -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy config models bus clips pose_frontend edge training evaluation haad
