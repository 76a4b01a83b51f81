# Two entry points for a fresh machine: `make demo` and `make test`. Both create the virtualenv
# and install what they need; nothing else has to be installed by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test check format bench clean superset-venv chromium postgresql

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Superset's own virtualenv (it pins SQLAlchemy < 2); a no-op when up to date.
superset-venv: install
	$(BIN)/aspects dashboards venv

# Debian's Chromium for the browser tests (Playwright cannot download its own browsers here).
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

# Debian's PostgreSQL server binaries: the LRS document tests run on SQLite and on a throwaway
# PostgreSQL cluster they start themselves.
postgresql:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || (apt-get update && apt-get install -y postgresql)

demo: install
	$(BIN)/aspects demo

test: install superset-venv chromium postgresql
	PATH="$(abspath $(BIN)):$$PATH" scripts/check

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: install
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
