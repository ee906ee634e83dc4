# Two commands on a fresh Debian machine with Python 3.11:
#   make run    set up and run the product on bundled example data (offline)
#   make test   set up and run lint, format check, type check and the whole test suite
# While working: `make check` runs the fast tests (no PostgreSQL, browser, PDF or process
# start-ups; see the markers in pyproject.toml).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test check lint check-code venv system-deps bench clean docs

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

run: venv
	@# Serves the demo's dashboard until Ctrl-C, which removes everything it created.
	@# With --no-serve its exit code is its verdict (1 warn, 2 fail: the examples are
	@# meant to fail); only 3, could not run, is an error here.
	$(VENV)/bin/postwarden demo $(DEMO_ARGS); status=$$?; [ $$status -le 2 ]

# The tests run a real PostgreSQL server (initdb in a temporary directory)
# a headless Chromium, Pango (WeasyPrint) and Dovecot (IMAP); as root, missing ones are installed from
# Debian's packages.
system-deps:
	@if ! [ -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Chromium from Debian's packages"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else \
	    echo "the tests need Chromium: apt-get install chromium (as root)"; exit 1; \
	  fi; \
	fi
	@if ! ldconfig -p | grep -q libpangoft2-1.0; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Pango (for WeasyPrint's PDFs) from Debian's packages"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
	      fonts-dejavu-core >/dev/null; \
	  else \
	    echo "the tests need Pango: apt-get install libpangoft2-1.0-0 (as root)"; exit 1; \
	  fi; \
	fi
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing PostgreSQL from Debian's packages"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
	  else \
	    echo "the tests need PostgreSQL: apt-get install postgresql (as root)"; exit 1; \
	  fi; \
	fi

	@if ! [ -x /usr/sbin/dovecot ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Dovecot (the reporting mailbox tests' IMAP server) from Debian's packages"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null; \
	  else \
	    echo "the tests need Dovecot: apt-get install dovecot-imapd (as root)"; exit 1; \
	  fi; \
	fi

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy checks store monitor compliance reports web tests bench

# The whole suite, on every core (pytest-xdist): each worker has its own PostgreSQL
# server, and tests take free ports and temporary directories.
PYTEST_WORKERS ?= auto

test: lint system-deps
	REQUIRE_POSTGRES=1 REQUIRE_BROWSER=1 $(VENV)/bin/pytest -n $(PYTEST_WORKERS)

check: venv
	$(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) -m "not slow and not postgres and not browser"

# The reference docs (docs/*.md) from the code; tests/test_docs.py checks they are current.
docs: venv
	$(PY) -m web.docs docs

# Benchmarks against peers (see bench/README.md); the blocklist one needs NSD.
bench: venv
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) -m bench.checks
	$(PY) -m bench.blocklists

clean:
	rm -rf $(VENV) build *.egg-info
