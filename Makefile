# Two commands do all the set-up on a fresh machine (Debian, Python 3.11, make):
#   make demo   -> venv + install + scan the embedded example
#   make test   -> venv + install + lint + type check + the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := examples/chess-ai

.PHONY: demo test browser lint typecheck pytest schema bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(STAMP)
	@echo "== auditor audit on $(EXAMPLE): declared config (Helm chart + Terraform), the live"
	@echo "   state recorded in live-snapshot.json (no cloud account or cluster needed), and drift =="
	@cd $(EXAMPLE) && ../../$(BIN)/auditor audit --live live-snapshot.json --format table; status=$$?; \
	  echo; echo "auditor exited $$status (0 clean, 1 failing findings at or above --fail-on high, 2 could not start, 3 incomplete)"; \
	  [ $$status -ne 2 ]
	@mkdir -p build
	@$(BIN)/auditor audit --config $(EXAMPLE) --live $(EXAMPLE)/live-snapshot.json --format json \
	  --output build/chess-ai-report.json; [ $$? -ne 2 ]
	@echo; echo "== the runbook site, annotated with this report =="
	@$(BIN)/auditor site build --config $(EXAMPLE) --report build/chess-ai-report.json --output build/site
	@echo "preview it: $(BIN)/auditor site serve --config $(EXAMPLE) --report build/chess-ai-report.json (http://127.0.0.1:8000/)"

test: browser lint typecheck pytest

# The site's browser tests drive Debian's Chromium (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium (browser tests will skip)"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check auditor tests scripts bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

# Regenerate the published JSON Schema of the report (a test keeps it in sync).
schema: $(STAMP)
	$(BIN)/python -m auditor.schema > schemas/report.schema.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Speed and memory budgets (not part of `make test`).
bench: $(STAMP)
	$(BIN)/python bench/bench_scan.py
