# SupportCircle: `make run` to try it, `make test` to check it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast lint lock bench bench-quick clean stack stack-stop

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs come from the lock files, every file checked against its hash (`make lock` writes them).
$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $(VENV)/.installed $@

# Pin every package (and its dependencies) with the hashes of all its files, from requirements.txt and
# requirements-dev.txt: run after changing either, and commit the two lock files. The public registry
# only, never this machine's local wheel folders, so the hashes hold on any machine. A version already
# locked is kept while it still fits; `make lock UPGRADE=1` moves everything to the newest that fits.
# The runtime lock is cut from the development one, so both install the same runtime versions.
PIP_COMPILE = env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile \
	--quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock: | $(BIN)/python
	$(BIN)/pip show --quiet pip-tools 2>/dev/null || $(BIN)/pip install --quiet "pip-tools>=7.4"
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) --output-file requirements-dev.lock requirements-dev.txt
	cp requirements-dev.lock requirements.lock
	$(PIP_COMPILE) --output-file requirements.lock requirements.txt

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
	@echo "The scheduler runs beside it (the safeguarding rota's climb, retention): manage.py run_scheduler."
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py run_scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT; \
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
# With the stack's Debian packages (.ci/run installs them) also S1 and S2: `make stack` through nginx with
# 1 and 2 daphne processes, for scale-out (the highest good rate and the connect storm).
comma := ,
STACK_PARTS_MISSING = $(foreach tool,nginx pgbouncer supervisord redis-sentinel,$(if $(shell command -v $(tool) 2>/dev/null),,$(tool)))
BENCH_TARGETS = P,B,R,D$(if $(strip $(STACK_PARTS_MISSING)),,$(comma)S1$(comma)S2)
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py --targets $(BENCH_TARGETS) $(BENCH_ARGS)

bench-quick: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py --quick --targets $(BENCH_TARGETS) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
