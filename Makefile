# Two commands do everything on a fresh machine: `make demo` and `make test`.
# torch==2.13.0 is installed first: it is a CPU build that lies on disk here, while an
# unpinned torch (pulled in by trl/accelerate) would download a multi-GB CUDA build.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	@# the view's browser tests drive Debian's chromium with its chromedriver (no driver downloads)
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  apt-get update -qq && apt-get install -y -qq chromium chromium-driver; fi
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/factory demo

# lint first: a wrong import arrow or a pyflakes error fails CI before the suite runs
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: $(STAMP) lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -n 2 --timeout 600

bench: $(STAMP)
	$(BIN)/python benchmarks/store_bench.py

clean:
	rm -rf $(VENV) factory-store .pytest_cache
