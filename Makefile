# SupportCircle: `make run` to try it, `make test` to check it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast lint bench bench-quick clean stack stack-stop

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo
	@echo "SupportCircle is starting on http://$(HOST):$(PORT)/ (Ctrl+C to stop)"
	@if [ "$${DEBUG:-true}" = "true" ]; then \
		echo "It runs with DEBUG on, for development only: error pages show code and settings."; \
		echo "To try it as it will run for real: DEBUG=false make run. Another address: HOST=0.0.0.0 PORT=8080 make run"; \
	else \
		echo "DEBUG is off. Another address: HOST=0.0.0.0 PORT=8080 make run"; \
	fi
	DEBUG=$${DEBUG:-true} $(BIN)/daphne -b $(HOST) -p $(PORT) supportcircle.asgi:application

# The production shape on this machine, on loopback (docs/operations.md): nginx, daphne x cores,
# PgBouncer, Redis with Sentinel, the scheduler, under supervisor. Needs Debian's packages:
# apt-get install nginx-light pgbouncer supervisor redis-server redis-sentinel
stack: $(VENV)/.installed
	$(BIN)/python deploy/stack.py start

stack-stop:
	$(BIN)/python deploy/stack.py stop

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/bandit -q -c pyproject.toml -r supportcircle groups chat moderation console -x tests
	bash scripts/test.sh

test-fast: $(VENV)/.installed-dev
	$(BIN)/pytest -q -n auto --dist loadfile -m "not system and not browser"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# P on PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/supportcircle_bench;
# its options reach the server, e.g. ?pool=true&pool_max_size=40 for Django's pool, as production pools
# its connections), beside D on SQLite, B and R. BENCH_ARGS="--targets P,B,R" leaves out the development column.
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-quick: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
