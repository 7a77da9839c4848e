# LearnFlow: `make run` serves the tutor, `make test` runs lint and the whole test suite.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
BIN := $(VENV)/bin

.PHONY: run test test-web web web-schema lint format docs bench eval clean install install-dev lock check-deploy smoke-image

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "LearnFlow needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install web
	$(BIN)/learnflow serve --host $(HOST) --port $(PORT)

# The web app served at /: built when Node.js >= 20.19 is here and its sources changed (else it says how).
web:
	@scripts/web.sh build

# After an API change: the schema the web app's client is generated from, and the client.
web-schema: install
	$(BIN)/learnflow docs openapi --out frontend/openapi.json
	cd frontend && npm run gen

lint: install-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q
	$(MAKE) test-web

# Vitest, then Playwright through the real server with Debian's chromium; under CI=true, never skipped.
test-web: install
	LEARNFLOW_PYTHON=$(abspath $(BIN))/python scripts/web.sh test

format: install-dev
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

docs: install
	$(BIN)/learnflow docs generate

bench: install-dev
	$(BIN)/python bench/load.py
	$(BIN)/python bench/statements.py
	$(BIN)/python bench/cpuprofile.py
	$(BIN)/python bench/instructions.py
	$(BIN)/python bench/replicas.py
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/kafka.py

eval: install
	$(BIN)/learnflow eval $(if $(MUTANTS),--mutants $(MUTANTS))

# The image installs requirements.lock; tests/test_deploy.py checks it against pyproject.toml.
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install -q 'pip-tools>=7.4,<8'
	.venv-lock/bin/pip-compile -q --strip-extras --no-emit-find-links --no-emit-index-url --no-emit-trusted-host \
		--output-file requirements.lock pyproject.toml

# checkov on the manifests and Dockerfiles, in its own venv (it is large and pins its own libraries).
# Skipped checks are justified in .checkov.yaml.
check-deploy:
	@test -x .venv-deploy/bin/checkov || { $(PYTHON) -m venv .venv-deploy && .venv-deploy/bin/pip install -q 'checkov>=3.2,<4'; }
	.venv-deploy/bin/checkov --config-file .checkov.yaml

# The images built with podman and the manifests played with `podman kube play` (tests/test_image_smoke.py);
# as root it installs podman, buildah, mmdebstrap and runc with apt-get when they are missing.
smoke-image: install-dev
	scripts/image_smoke.sh

clean:
	rm -rf $(VENV) .venv-lock .venv-deploy .pytest_cache .ruff_cache .mypy_cache data frontend/node_modules frontend/dist frontend/test-results
