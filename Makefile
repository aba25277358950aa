# `make demo` and `make test` work on a fresh machine with only Python 3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test fuzz lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,plot,cluster,serve,export,mlflow,sklearn]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/dnn data demo --out data/demo
	$(BIN)/dnn train --config configs/demo.yaml
	$(BIN)/dnn evaluate
	$(BIN)/dnn predict data/demo/samples

# Two worker processes (pytest-xdist), each taking whole test files: the suite's 7 minutes of CPU in about 4
# on two cores. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

# The property tests with new random examples, FUZZ_EXAMPLES of each (make test draws the same few every run).
FUZZ_EXAMPLES ?= 500
fuzz: $(VENV)/.installed-dev
	DNN_HYPOTHESIS=fuzz DNN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q $$(grep -l "@given" tests/*.py)

# The peers the benchmark runs beside dnn; torch==2.13.0 is the CPU wheel this machine keeps on disk.
$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

# BENCH_ARGS=--quick for 200 iterations and one run of each system
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/compare.py $(BENCH_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) runs data/demo .pytest_cache .hypothesis

# Makes a 2 GB HDF5 set, trains one epoch streaming from it, deletes it (docs/performance/data.md, "Streaming from disk").
.PHONY: bench-streaming
bench-streaming: $(VENV)/.installed
	$(BIN)/python bench/streaming.py $(STREAMING_ARGS)
