# The two commands: `make run` and `make test`. Both set up everything they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint deps test-deps format clean docs bench-peers

run: deps
	$(BIN)/vumigo migrate
	$(BIN)/vumigo demo
	$(BIN)/vumigo serve --host $(HOST) --port $(PORT)

test: test-deps
	scripts/test.sh

lint: $(PY_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

format: $(PY_STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# The documentation site, into site/: the reference pages generated from the code, then MkDocs
# in strict mode (any warning fails). The platform serves it at /docs/.
docs: deps
	$(BIN)/vumigo docs generate
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

deps: $(PY_STAMP) $(NODE_STAMP)

# Our gateway against Jasmin on this machine (installs Jasmin, Redis, RabbitMQ as needed).
# `make bench-peers N=5000` sends fewer messages.
bench-peers: deps
	$(BIN)/python bench/vs_jasmin.py $(if $(N),--n $(N))

test-deps: deps
	scripts/system-deps.sh --test

$(PY_STAMP): pyproject.toml
	scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	scripts/system-deps.sh
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules var .mypy_cache .ruff_cache .pytest_cache
