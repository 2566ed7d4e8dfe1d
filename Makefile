# Two commands do all the set-up on a fresh machine (Debian, Python 3.11, make):
#   make demo   -> venv + install + scan the embedded example
#   make test   -> venv + install + lint + type check + the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := examples/chess-ai

.PHONY: demo test debian-tools lint typecheck pytest clock schema bench bench-fleet bench-triage bench-live mutation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# constraints.txt pins the whole dev environment (test tools, moto, linters): the same answer
# on any day, whatever the package index has published since.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
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

test: debian-tools lint typecheck pytest clock

# Debian packages the tests drive: chromium for the site's browser tests (never a downloaded
# browser build) and faketime for the clock runs. Installed when root (as in CI), else named.
debian-tools:
	@missing=""; \
	  command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	  command -v faketime >/dev/null 2>&1 || missing="$$missing faketime"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	    else echo "missing:$$missing (sudo apt-get install$$missing): without chromium the" \
	      "browser tests skip, without faketime the clock runs do"; fi; fi

lint: $(STAMP)
	$(BIN)/ruff check auditor tests scripts bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

# The date-sensitive tests (marked `clock`) again with the clock moved 2 and 5 years ahead
# by libfaketime (see the script).
clock: $(STAMP)
	scripts/clock_tests.sh $(BIN)/pytest 730 1826

# Regenerate the published JSON Schemas of the report and of policy files (tests keep them
# in sync).
schema: $(STAMP)
	$(BIN)/python -m auditor.schema > schemas/report.schema.json
	$(BIN)/python -m auditor.policy_schema > schemas/policy.schema.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Speed and memory budgets (not part of `make test`).
bench: $(STAMP)
	$(BIN)/python bench/bench_scan.py

# Fleet scale beside Checkov (installed into bench/.checkov-venv on first use) and the parse
# floor; TF=rds,eks,security-group adds the public examples bench/accuracy.py --fetch got.
# Writes bench/results/fleet.{md,json}; exit 1 when a budget is missed. Tens of minutes.
bench-fleet: $(STAMP)
	$(BIN)/python bench/bench_fleet.py $(if $(TF),--tf-examples $(TF))

# `audit --section` beside a full audit over the local fakes, 20 ms per request; exit 1
# when the triage takes more than a quarter of the full audit. About a minute.
bench-triage: $(STAMP)
	$(BIN)/python bench/bench_triage.py

# `auditor snapshot` at account scale over the local fakes (2,000 security groups with
# their RDS and ELB estate in moto, 5,000 Kubernetes objects), 0 and 20 ms per request;
# writes bench/results/live.json, exit 1 when the 2,000 / 20 ms run takes more than 150
# AWS requests or 8 s. A minute or two (`bench/bench_live.py --quick`: seconds).
bench-live: $(STAMP)
	$(BIN)/python bench/bench_live.py

# Mutation testing with mutmut (not part of `make test` nor CI; 0.2-2 mutants a second on
# 2 cores, hours for everything: bench/mutation.md): mutates the modules of [tool.mutmut]
# in pyproject.toml in a copy under mutants/ (git-ignored) and runs the test suite (less
# the browser, deploy, clock-run and git-tree tests: [tool.mutmut]) against each mutant. Without MUTANTS it resumes where an interrupted run stopped; with
# mutmut's mutant-name globs it re-runs just (and all of) those:
#   make mutation MUTANTS='auditor.quantities* auditor.baseline*'
# then `$(BIN)/mutmut show NAME` prints one surviving mutant's diff.
MUTANTS ?=
mutation: $(STAMP)
	$(BIN)/mutmut run $(foreach m,$(MUTANTS),'$(m)')
	$(BIN)/mutmut results
