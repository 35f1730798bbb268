# Switchyard — the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test lint format bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $@

## Run the console with its workers (default queue + beat, interactive queue) on the embedded default (SQLite + filesystem broker).
run: $(VENV)/.installed
	PORT=$(PORT) $(PY) manage.py run_console

## Run the whole test suite (PostgreSQL/Redis when DATABASE_URL/CELERY_BROKER_URL are set).
test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.installed
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) var artifacts

## Benchmarks on PostgreSQL + Redis (not part of `make test`); figures in bench-results/.
bench: $(VENV)/.installed
	$(PY) -m tests.benchmarks.run $(if $(ONLY),--only $(ONLY))
