# Two commands a new user needs: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DB ?= demo.duckdb

.PHONY: demo test check lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,snowflake]'
	touch $(STAMP)

demo: $(STAMP)
	rm -f $(DEMO_DB) $(DEMO_DB).wal
	rm -rf $(DEMO_DB).spool
	$(BIN)/activityschema demo --db $(DEMO_DB) --seed 7 --customers 2000

# pytest exits 5 when it collected no tests: treat that as a failure, never as a pass.
# Two workers (pytest-xdist): many tests wait on subprocesses, servers and fsync, so two processes
# keep both CPUs busy (≈ 7 min instead of ≈ 11 on the 2-CPU machine). --dist loadscope keeps each
# module on one worker: module fixtures (a server, a fakesnow emulator) are built once, and tests
# that read what earlier tests of their module did (the audit trail of a session) see it.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadscope; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/python -m ruff check activityschema tests || true

bench: $(STAMP)
	@echo "see bench/README.md: each benchmark is a script, e.g. $(BIN)/python bench/bench_import.py"

clean:
	rm -rf $(VENV) *.duckdb *.duckdb.wal *.duckdb.spool
