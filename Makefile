# The two commands a newcomer needs (README.md): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup run test lint bench soak clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	rm -f $(VENV)/.installed-*; touch $(STAMP)

setup: $(STAMP)

# `make run PORT=8001` listens on 127.0.0.1:8001 instead of 8000.
run: setup
	$(PY) manage.py run $(if $(PORT),--port $(PORT))

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) bench/storefront.py
	$(PY) bench/webhooks.py
	$(PY) bench/feed.py --sizes 10000,100000
	$(PY) bench/og_allowance.py

# The soak of issue 14 (bench/soak.py): needs PostgreSQL on 127.0.0.1:5432 and the redis-server binary.
SOAK_MINUTES ?= 5
soak: setup
	$(PY) bench/soak.py --minutes $(SOAK_MINUTES)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) var staticfiles test-artifacts
