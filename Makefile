# Two entry points, each doing all the set-up it needs on a fresh Debian 12:
#   make demo   - Asterisk + our service + generated calls
#   make test   - lint, type checks, the whole test suite, the benchmarks' --quick runs
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
# parallel test workers: the integration tests mostly wait on Asterisk, so more
# workers than cores pays; every test has its own ports, broker and database
TEST_WORKERS ?= 4

.PHONY: setup system demo test lint typecheck unit bench clean

setup: system $(STAMP)

system:
	@bash scripts/install-system.sh

$(STAMP): pyproject.toml
	@bash scripts/install-python.sh "$(PYTHON)" "$(VENV)"
	@rm -f $(VENV)/.installed-* && touch $@

demo: setup
	$(VENV)/bin/cti demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/python -m pytest tests/unit -q

bench: $(STAMP)
	@for b in bench/*.py; do case $$(basename $$b) in _*) continue;; esac; \
	  echo "== $$b --quick"; $(VENV)/bin/python $$b --quick --json || exit 1; done

test: setup lint typecheck
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal --durations=15
	@$(MAKE) --no-print-directory bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
