# Two entry points for a fresh machine: `make demo` and `make test`. Both create the virtualenv
# and install what they need; nothing else has to be installed by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install compile demo test check format bench clean superset-venv chromium postgresql rust

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The transformer's hot modules compiled with mypyc, in place beside their sources (about 1.7x
# faster; see docs/transform.md). Rebuilt when a source changes; the sources run without it.
TRANSFORM_SOURCES := $(shell find src/aspects/transform -name '*.py')
COMPILED := src/aspects/transform/_compiled.json

$(COMPILED): $(STAMP) $(TRANSFORM_SOURCES) scripts/compile_transform.py scripts/mypyc_build.py
	$(BIN)/python scripts/compile_transform.py

# Statement validation (the LRS's hot path) too: scripts/compile_xapi.py, docs/lrs.md.
XAPI_COMPILED := src/aspects/xapi/_compiled.json

$(XAPI_COMPILED): $(STAMP) $(wildcard src/aspects/xapi/*.py) src/aspects/lrs/statements/prepare.py scripts/compile_xapi.py scripts/mypyc_build.py
	$(BIN)/python scripts/compile_xapi.py

# The native (Rust) transformer: scripts/compile_native.py, docs/transform.md "Native
# transformer". Offline: crates come from Debian's librust-*-dev packages, not crates.io.
NATIVE := src/aspects/transform/_fast.json
NATIVE_SOURCES := $(shell find native/src -name '*.rs') native/Cargo.toml native/Cargo.lock native/.cargo/config.toml
RUST_PACKAGES := librust-pyo3-dev librust-sha1-dev librust-ryu-dev

# A new enough cargo first (Debian's is too old: the script says which version and how to get
# it with rustup), then Debian's crates.
rust:
	@$(PYTHON) scripts/compile_native.py --check
	@dpkg -s $(RUST_PACKAGES) >/dev/null 2>&1 || (apt-get update && apt-get install -y $(RUST_PACKAGES))

$(NATIVE): $(STAMP) $(NATIVE_SOURCES) scripts/compile_native.py | rust
	$(BIN)/python scripts/compile_native.py

compile: $(COMPILED) $(XAPI_COMPILED) $(NATIVE)

install: $(STAMP) $(COMPILED) $(XAPI_COMPILED) $(NATIVE)

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
	ASPECTS_EXPECT_COMPILED=1 PATH="$(abspath $(BIN)):$$PATH" scripts/check

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: install
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	$(PYTHON) scripts/compile_transform.py --clean
	$(PYTHON) scripts/compile_xapi.py --clean
	$(PYTHON) scripts/compile_native.py --clean
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
