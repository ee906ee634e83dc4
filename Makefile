# Two commands on a fresh Debian machine with Python 3.11:
#   make run    set up and check a bundled example (the product, offline)
#   make test   set up and run lint, format check, type check and the test suite
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test lint venv clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/postwarden demo

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy checks store monitor compliance reports web tests bench

test: lint
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) build *.egg-info
