# Sbyt: `make run` starts the platform on SQLite with demo data; `make test` runs lint and the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

.PHONY: run test test-sqlite test-postgres lint setup browser mailserver messages bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(BIN)/.installed

# Debian's Chromium for the browser tests (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium'"; exit 1; fi; }

# Debian's Dovecot for the e-mail robot's IMAP integration test (the test starts its own instance).
mailserver:
	@command -v dovecot >/dev/null 2>&1 || test -x /usr/sbin/dovecot || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	  else echo "dovecot is missing: run 'sudo apt-get install dovecot-imapd'"; exit 1; fi; }

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	$(BIN)/honcho -f Procfile.dev start

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The suite on SQLite; on PostgreSQL too when DATABASE_URL_PG (or CI) says where it is.
test: setup browser mailserver lint
	@echo "== test suite on SQLite =="
	env -u DATABASE_URL $(BIN)/pytest -q
	@if [ -n "$$CI" ] || [ -n "$$TEST_POSTGRES_URL" ]; then \
	  echo "== test suite on PostgreSQL =="; \
	  DATABASE_URL=$${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/sbyt} $(BIN)/pytest -q; \
	fi

test-sqlite: setup
	$(BIN)/pytest -q

test-postgres: setup
	DATABASE_URL=$${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/sbyt} $(BIN)/pytest -q

messages: setup
	cd sbyt && ../$(PY) ../manage.py makemessages -l ru --no-obsolete --no-location
	cd sbyt && ../$(PY) ../manage.py compilemessages -l ru

bench: setup
	$(PY) bench/readings.py
	$(PY) bench/readings.py --postgres
	$(PY) bench/sms.py
	$(PY) bench/office_queue.py --postgres
	$(PY) bench/billing.py --postgres
	$(PY) bench/bills.py
	$(PY) bench/registry.py --postgres
	$(PY) bench/search.py --postgres

clean:
	rm -rf $(VENV) db.sqlite3* var/
