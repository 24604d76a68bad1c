# The two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000

.PHONY: run dev test test-quick lint format bench bench-deps soak soak-embedded install system-deps migrate clean
.PHONY: install-prod lock

# Every install takes its versions from the lock (pip's -c), so two installs a month apart
# are the same; `make lock` refreshes it after pyproject.toml's dependencies change.
CONSTRAINTS := requirements/constraints.txt

# The development venv is filled by uv (pip puts uv itself in, at the locked version): on
# a fresh clone pip took 45 s and 45 CPU-s to fetch and unpack the 150 locked packages one
# by one, uv 12 s and 15 CPU-s (it fetches and unpacks in parallel). Like pip --no-compile, uv
# leaves compiling to Python's first import of each module (Faker's hundreds of locales
# are never imported). The production venv stays pip's (install-prod).
UV := $(VENV)/bin/uv
$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(PY) -m pip install --quiet -c $(CONSTRAINTS) uv
	$(UV) pip install --quiet --python $(PY) -c $(CONSTRAINTS) ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The production venv (deploy/systemd/ runs /opt/clinic-portal/.venv): the portal's own
# dependencies at the locked versions, without the dev and test extras. Refuses a venv
# that already holds them (rm -rf .venv first).
install-prod:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if $(PY) -m pip show --quiet moto playwright schemathesis pytest >/dev/null 2>&1; then \
	  echo "$(VENV) holds the dev and test extras (make install): rm -rf $(VENV), then make install-prod."; \
	  exit 1; fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) .
	$(PY) -m pip check

# The lock: pyproject.toml's dependencies with every extra, resolved afresh in a clean venv.
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp" && \
	"$$tmp/bin/python" -m pip install --quiet --upgrade pip && \
	"$$tmp/bin/python" -m pip install --quiet ".[dev,bench]" && \
	mkdir -p $(dir $(CONSTRAINTS)) && \
	{ echo "# The exact versions every install takes (make install, install-prod, bench: pip's -c)."; \
	  echo "# Made by make lock from a clean venv of pyproject.toml with its dev and bench extras"; \
	  echo "# ($$("$$tmp/bin/python" -c 'import platform; print("Python", platform.python_version(), platform.system(), platform.machine())')). Run it again after changing"; \
	  echo "# pyproject.toml's dependencies, and commit the result."; \
	  "$$tmp/bin/python" -m pip freeze --exclude clinic-file-portal; } > $(CONSTRAINTS)
	@echo "$(CONSTRAINTS): $$(grep -vc '^#' $(CONSTRAINTS)) packages pinned."

# Servers the tests start for themselves, and the browser they drive. Installed
# from Debian's packages when missing (CI and developer machines run as root).
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	(command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1) || missing="$$missing postgresql"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi dejavu || missing="$$missing fonts-dejavu-core"; \
	(command -v nginx >/dev/null || test -x /usr/sbin/nginx) || missing="$$missing nginx"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v jq >/dev/null || missing="$$missing jq"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

migrate: install
	$(PY) manage.py migrate --noinput

# The embedded shape: gunicorn, a Celery worker and beat under one supervisor that
# restarts whichever dies (manage.py run_embedded); Ctrl-C stops them all.
run: install migrate
	@PORT=$(PORT) $(PY) manage.py demo_setup --port $(PORT)
	@PORT=$(PORT) $(PY) manage.py run_embedded --port $(PORT)

# Development: Django's runserver with autoreload and DEBUG, a worker with beat beside it.
dev: install migrate
	@PORT=$(PORT) $(PY) manage.py demo_setup --port $(PORT)
	PORT=$(PORT) PORTAL_DEBUG=true $(PY) manage.py runserver 127.0.0.1:$(PORT) & web=$$!; \
	  trap 'kill $$web 2>/dev/null' EXIT; \
	  PORT=$(PORT) PORTAL_DEBUG=true $(PY) -m celery -A config worker --beat --loglevel=INFO \
	    --concurrency=1 --schedule=$${PORTAL_DATA_DIR:-data}/celerybeat-schedule

# The scaled shape on this machine, as production runs it (deploy/run_scaled.py):
# PostgreSQL, Redis, SeaweedFS (S3), nginx in front of two gunicorns, two Celery workers
# and beat, all on loopback; Ctrl-C stops everything. PORTAL_SCALED_PORT moves it.
.PHONY: run-scaled
run-scaled: install system-deps
	$(PY) deploy/run_scaled.py

# The suite writes its compiled modules (and pytest's rewritten test modules) to
# __pycache__ even where the environment says not to: compiling 500 test modules afresh
# is most of the time a run spends collecting.
TEST_ENV := PORTAL_ENVIRONMENT=test PYTHONDONTWRITEBYTECODE=
# Imports only point down the floors (.importlinter): a second or two, before the suite.
LINT_IMPORTS := $(VENV)/bin/lint-imports --no-cache

# The whole suite, after the checks, one session on four workers: on two, a core sat idle
# for half the run while tests waited (a server's deadline, an emulated slow network, a
# fresh process starting). TEST_WORKERS=2 runs it as before (docs/development.md).
TEST_WORKERS ?= 4
test: install system-deps
	$(PY) manage.py makemigrations --check --dry-run --verbosity 0 || \
	  (echo "A model change has no migration: run manage.py makemigrations." && exit 1)
	$(VENV)/bin/ruff check .
	$(LINT_IMPORTS)
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

# The inner loop: everything but the browser, the slow tests (real processes, load) and
# the soak. One file: $(TEST_ENV) .venv/bin/python -m pytest tests/<app>/test_<x>.py
test-quick: install
	$(LINT_IMPORTS)
	$(TEST_ENV) $(PY) scripts/test_lanes.py --only quick

# Mutation testing of the modules that decide who gets in and what is stored
# (scripts/mutation.py; slow, so not part of `make test`). MODULE="files.keys ..." runs
# only those; MODULE="files.keys" MUTANTS="12 40" only those mutants of one module (into its
# kept result); the report is docs/mutation-report.md.
.PHONY: mutation
mutation: install system-deps
	PORTAL_ENVIRONMENT=test $(PY) scripts/mutation.py $(foreach m,$(MODULE),--module $(m)) \
	  $(if $(MUTANTS),--mutants $(MUTANTS))

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(LINT_IMPORTS)

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The tools the cleaning benchmark compares with (exiftool, jpegtran); the bench target only.
bench-deps:
	@missing=""; \
	command -v exiftool >/dev/null || missing="$$missing libimage-exiftool-perl"; \
	command -v jpegtran >/dev/null || missing="$$missing libjpeg-turbo-progs"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

bench: install system-deps bench-deps
	$(UV) pip install --quiet --python $(PY) -c $(CONSTRAINTS) ".[bench]"
	$(PY) benchmarks/run.py

soak: install system-deps
	PORTAL_ENVIRONMENT=test $(PY) -m pytest -m soak -p no:xdist -rP tests/soak

# The embedded shape exactly as `make run` starts it, driven through every door at once
# for SOAK_SECONDS (default 15 minutes); prints uploads, ready, lost, restarts, errors.
SOAK_SECONDS ?= 900
soak-embedded: install system-deps
	SOAK_SECONDS=$(SOAK_SECONDS) PORTAL_ENVIRONMENT=test $(PY) -m pytest -m soak -p no:xdist \
	  -rP tests/soak/test_embedded.py

clean:
	rm -rf $(VENV) data var/test-cache .pytest_cache .ruff_cache
