# Two commands do all the set-up on a fresh machine:
#   make demo   - create the virtualenv, install, migrate, seed demo data and serve
#   make test   - create the virtualenv, install, lint, type-check and run the tests
# Everything is installed from requirements.lock and package-lock.json (exact versions and
# hashes); `make lock` refreshes them on purpose, in a commit of its own.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
HOST ?= 127.0.0.1
PORT ?= 8000

# uv installs from the lock. One already on PATH is used; otherwise the pinned release in
# tools/uv.lock is installed (hash-checked) into .venv-tools.
UV_VERSION := 0.13.9
UV ?= $(or $(shell command -v uv 2>/dev/null),.venv-tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
# Bytecode is cached: the suite starts dozens of server and worker processes, and each would
# otherwise compile every module again (some machines set this variable globally).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test lint typecheck pytest install lock bench clean

.venv-tools/bin/uv: tools/uv.lock
	@echo "installing uv $(UV_VERSION) into .venv-tools"
	$(PYTHON) -m venv .venv-tools
	.venv-tools/bin/pip install --quiet --disable-pip-version-check --require-hashes -r tools/uv.lock

$(STAMP): $(LOCK) pyproject.toml | $(UV)
	@echo "installing Threadline and its $$(grep -c '^[a-z].*==' $(LOCK)) locked dependencies into $(VENV)"
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip sync --python $(BIN)/python --require-hashes $(LOCK)
	$(UV) pip install --python $(BIN)/python --no-deps --no-build-isolation --quiet -e .
	$(UV) pip check --python $(BIN)/python
	touch $(STAMP)

# The design system (Bootstrap, its icons, htmx) and axe-core, exactly as package-lock.json
# pins them (with their hashes); `npm ci` refuses a lock that does not match package.json.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package-lock.json package.json
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed for the web assets"; exit 1; }
	@echo "installing the web assets from package-lock.json into node_modules"
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

# Refresh the lock to today's newest releases that pyproject.toml allows (commit it alone).
lock: | $(UV)
	npm install --package-lock-only --ignore-scripts --no-audit --no-fund
	$(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	  --generate-hashes --upgrade --quiet -o $(LOCK)
	echo "uv==$(UV_VERSION)" | $(UV) pip compile - --universal --python-version 3.11 \
	  --generate-hashes --quiet --no-header -o tools/uv.lock

demo: $(STAMP) $(NODE_STAMP)
	$(BIN)/threadline demo --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy --strict src tests tools

# Two workers for the bulk of the suite, then the tests that must run alone (tests/conftest.py).
pytest: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest -n 2 -m "not serial" --durations=15
	$(BIN)/pytest -m serial --durations=15

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) .venv-tools node_modules .pytest_cache .mypy_cache .ruff_cache
