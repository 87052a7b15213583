# certsvc — every target sets up its own virtualenv, so each works as the first command typed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Reinstall when the declared dependencies change.
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | sha256sum | cut -c1-12)

.PHONY: run test lint bench clean system-deps-run system-deps-test system-deps-bench

$(STAMP):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "certsvc needs Python 3.11 or newer"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@rm -f $(VENV)/.installed-* && touch $@

system-deps-run:
	@scripts/system-deps run

system-deps-test:
	@scripts/system-deps test

system-deps-bench:
	@scripts/system-deps bench

## run: initialise SQLite, load demo data, serve on http://127.0.0.1:$${CERTSVC_PORT:-5000}
## with a job worker beside the server (embedded SQLite queue); Ctrl-C stops both
run: $(STAMP) system-deps-run
	@$(BIN)/certsvc secrets --env-file instance/dev.env
	@set -a && . ./instance/dev.env && set +a && \
	  $(BIN)/certsvc init && $(BIN)/certsvc demo && \
	  { $(BIN)/certsvc worker & worker=$$!; \
	    trap 'kill -INT $$worker 2>/dev/null; wait $$worker' EXIT; \
	    echo "serving on http://127.0.0.1:$${CERTSVC_PORT:-5000}, jobs run by worker $$worker (Ctrl-C stops both)"; \
	    $(BIN)/certsvc serve; }

## test: lint, type-check, then the suite on SQLite and PostgreSQL (when one answers)
test: lint system-deps-test
	$(BIN)/pytest --cov=certsvc --cov-report=term:skip-covered -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check certsvc tests bench
	$(BIN)/ruff format --check certsvc tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/i18n check

## bench: writes bench/results.md; SECTIONS="issuance pdf" runs only those
bench: $(STAMP) system-deps-bench
	$(BIN)/python -m bench.run $(SECTIONS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
