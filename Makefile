# The store console in one command: `make run` on a machine with Python >= 3.11.
# See docs/running.md. `make help` lists the targets.

# The interpreter .venv is made from: the system's python3 when it is Python 3.11+ and can make a venv, else the
# first python3 on PATH; `make PYTHON=/path/to/python3.11 install` chooses. On Debian the system's is the one a
# deployment runs (docs/running.md), and it is the faster build: Debian links it statically and builds it with
# profile-guided and link-time optimisation, where pyenv's default build runs from a shared libpython without
# them (about a tenth more CPU per payment: docs/performance.md, issue 16, fourteenth pass).
SYSTEM_PYTHON ?= /usr/bin/python3
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell $(SYSTEM_PYTHON) -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' \
            >/dev/null 2>&1 && echo $(SYSTEM_PYTHON) || echo python3)
endif
VENV := .venv
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
BENCH_ARGS ?=

.DEFAULT_GOAL := run
.PHONY: run install test faults lint bench clean help doctor chromium which-python

help:
	@echo "make run      install if needed, then start the whole console (Ctrl-C stops it)"
	@echo "make install  create $(VENV) and install the project with its dev extra"
	@echo "make doctor   when set-up fails: checks Python, the services the environment names, Chromium, the ports"
	@echo "make test     run the whole suite: the tests, then the fault suite (PYTEST_ARGS='-k lane -x' passes options)"
	@echo "make faults   only the fault-injection suite and the soak (SOAK_SEED=... replays a soak)"
	@echo "make lint     ruff, the import layers (import-linter) and the types (mypy)"
	@echo "make bench    run bench/run_all.py"
	@echo "make clean    delete var/ (database, embedded Redis socket, demo logins) but keep $(VENV)"
	@echo "make which-python  the interpreter a new $(VENV) would be made from (PYTHON=... chooses another)"

run: install
	$(VENV_PY) -m store_console.runner

install: $(STAMP)
	@$(VENV_PY) -m store_console.translations

which-python:
	@echo $(PYTHON)

# The venv is made once; `make install` reinstalls only when pyproject.toml is newer than the stamp.
$(VENV_PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: '$(PYTHON)' not found. Install Python 3.11 or newer, or run: make PYTHON=/path/to/python3.11"; \
	  exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: the store console needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) -V 2>&1)."; \
	  echo "       Install a newer Python, or point at one: make PYTHON=/path/to/python3.11"; \
	  exit 1; }
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	  echo "error: '$(PYTHON)' cannot create virtual environments (Debian/Ubuntu: apt-get install python3-venv)."; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV_PY)
	$(VENV_PY) -m pip install --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# What a machine lacks, one line per check with the command that fixes it (store_console/doctor.py). Not
# behind `install`, which may be what fails: without a working .venv it says so and stops there.
doctor:
	@$(VENV_PY) -c 'import store_console' 2>/dev/null || { \
	  echo "FIX  Python          $(VENV) is missing or the project is not installed in it: run \`make install\`"; \
	  echo "                     (it checks that $(PYTHON) is Python 3.11+ first), then \`make doctor\` again"; exit 1; }
	@$(VENV_PY) -m store_console.doctor

# The browser tests drive Debian's /usr/bin/chromium (or CHROMIUM_PATH), else Playwright's own build. With
# neither, one try at Playwright's download; if it is refused the rest of the suite still runs, and the browser
# tests fail saying both ways to get a Chromium.
chromium: install
	@$(VENV_PY) -m store_console.browsers >/dev/null || { \
	  echo "No Chromium at $${CHROMIUM_PATH:-/usr/bin/chromium}: trying $(VENV_PY) -m playwright install chromium"; \
	  $(VENV_PY) -m playwright install chromium || { \
	    echo "warning: Playwright could not download its Chromium; the browser tests will fail without one."; \
	    echo "         Install Debian's (as root): apt-get install -y chromium"; \
	    echo "         or try the download again where it is allowed: $(VENV_PY) -m playwright install chromium"; }; }

# The fault suite kills and restarts Redis, so it runs in a pytest process of its own on a Redis server
# it starts itself (REDIS_URL unset); PostgreSQL (DATABASE_URL) is shared with the first run.
test: install chromium
	$(VENV_PY) -m pytest --ignore=tests/faults $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory faults

faults: install
	env -u REDIS_URL $(VENV_PY) -m pytest tests/faults -p no:cacheprovider $(PYTEST_ARGS)

# Style, the layers of docs/architecture.md ([tool.importlinter]) and the types ([tool.mypy]) in pyproject.toml.
lint: install
	$(VENV_PY) -m ruff check .
	$(VENV)/bin/lint-imports --no-logo
	$(VENV_PY) -m mypy

bench: install
	@if [ -f bench/run_all.py ]; then \
	  echo "$(VENV_PY) bench/run_all.py $(BENCH_ARGS)"; $(VENV_PY) bench/run_all.py $(BENCH_ARGS); \
	else \
	  echo "bench/run_all.py does not exist yet: nothing to run."; \
	fi

# Refuses while a console runs on var/ (the runner holds var/runner.lock).
clean:
	@if [ -f var/runner.lock ] && command -v flock >/dev/null 2>&1 && ! flock -n var/runner.lock true; then \
	  echo "error: a console is running on var/ (make run): stop it with Ctrl-C first."; exit 1; fi
	rm -rf var test-artifacts .pytest_cache
