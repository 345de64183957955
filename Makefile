# Duban: build, run and test. `make install` is idempotent and safe to re-run.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := install

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages: Chromium and CJK fonts for browser tests, gettext for
# compilemessages, poppler-utils for PDF checks, Pango for WeasyPrint's PDFs.
# PostgreSQL is checked separately.
DEB_PACKAGES := chromium fonts-noto-cjk gettext poppler-utils libpango-1.0-0 libpangoft2-1.0-0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-packages run serve test lint clean bench

install: system-packages $(STAMP)
	@if [ -d duban/locale ]; then $(BIN)/duban compilemessages --ignore=.venv -v0; fi
	$(BIN)/duban collectstatic --noinput -v0

system-packages:
	@missing=""; \
	for pkg in $(DEB_PACKAGES); do \
	    dpkg -s "$$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$pkg"; \
	done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	    || { echo "Duban needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

run: install
	@mkdir -p var
	$(BIN)/duban migrate --noinput
	@inspections=$$($(BIN)/duban list_inspections --json | tr -d '[:space:]'); \
	if [ "$$inspections" = "[]" ]; then $(BIN)/duban seed_demo; fi
	@# The web server, the background worker (imports, large exports) and the scheduler
	@# (a supervision sweep every minute) start and stop together.
	@trap 'kill 0' EXIT INT TERM; \
	DUBAN_DEBUG=true $(BIN)/duban db_worker --no-reload & \
	DUBAN_DEBUG=true $(BIN)/duban scheduler --interval 60 & \
	DUBAN_DEBUG=true $(BIN)/duban runserver 127.0.0.1:8000

# The production shape (docs/deploy.md): gunicorn with WhiteNoise for static files, the worker
# and the scheduler, started and stopped together. Settings come from the environment
# (DUBAN_PRODUCTION=true with DUBAN_SECRET_KEY, DUBAN_ALLOWED_HOSTS, DUBAN_HTTPS=true).
serve: install
	@mkdir -p var
	$(BIN)/duban migrate --noinput
	$(BIN)/duban collectstatic --noinput -v0
	@trap 'kill 0' EXIT INT TERM; \
	$(BIN)/duban db_worker --no-reload & \
	$(BIN)/duban scheduler --interval 60 & \
	$(BIN)/gunicorn -c python:duban.gunicorn_conf

test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	DATABASE_URL=sqlite://:memory: $(BIN)/duban makemigrations --check --dry-run
	scripts/test

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/duban bench_ledger --problems 100000

clean:
	rm -rf $(VENV) var build dist *.egg-info .ruff_cache .pytest_cache .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
