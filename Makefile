# Two commands on a machine with only python3 and make: `make publish`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: publish test pytest lint format bench crash mutation screenshots clean-venv

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==26.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@# The editable install is a plain .pth path (pdm-backend): Pelican's namespace discovery
	@# finds pelican.plugins.engage in this checkout, as pelican extends its __path__ from sys.path.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## Build the demo site, print the gate report and the posting plan (a dry run unless networks are configured).
publish: $(STAMP)
	$(BIN)/invoke publish

## Lint, type-check and run the whole test suite.
test: $(STAMP) lint pytest

pytest: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Benchmarks (not timed tests): ratios against a baseline measured in the same run.
bench: $(STAMP)
	$(BIN)/python benchmarks/gate_build.py
	$(BIN)/python benchmarks/sync.py

## Exactly once, counted: SIGKILL syndicate/publish/reply at random points, 50 runs per network
## and command, against permissive stand-ins; prints the table of the README's "Exactly once".
crash: $(STAMP)
	$(BIN)/python benchmarks/crash.py --runs 50

## The same crash runs with the recovery taken out in the child processes (ENGAGE_MUTATION):
## succeeds only if they fail on every network and for every command.
mutation: $(STAMP)
	$(BIN)/python benchmarks/crash.py --runs 10 --mutation no-recovery

## The README's screenshots, taken by the browser tests (which write only to build/).
screenshots: $(STAMP)
	ENGAGE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q -m browser
	cp build/screenshots/*.png docs/

clean-venv:
	rm -rf $(VENV)
