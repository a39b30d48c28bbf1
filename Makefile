# vo2neuro: two commands a user needs (see README Quickstart): `make demo`, `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.vo2neuro-installed
OUT ?= output/demo
PYTEST_ARGS ?=

.PHONY: install test test-slow demo bench bench-snn bench-sweep clean

# torch is pinned to the CPU wheel in the same command as everything else, so that no
# other requirement can pull a multi-GB CUDA build first.
$(STAMP): pyproject.toml setup.py
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "torch==2.13.0" -e ".[all]"
	@touch $(STAMP)

install: $(STAMP)

# The venv's bin on PATH: torch's C++ extension builder looks for ninja there (the fused VO2 kernel).
VENV_PATH := $(abspath $(VENV))/bin:$(PATH)

test: $(STAMP)
	PATH="$(VENV_PATH)" $(VENV)/bin/pytest $(PYTEST_ARGS)

test-slow: $(STAMP)
	PATH="$(VENV_PATH)" $(VENV)/bin/pytest -m slow $(PYTEST_ARGS)

demo: $(STAMP)
	PATH="$(VENV_PATH)" $(VENV)/bin/vo2neuro demo --out $(OUT)

bench: $(STAMP)
	$(PY) benchmarks/bench_circuits.py

bench-snn: $(STAMP)
	$(PY) benchmarks/bench_snn.py

bench-sweep: $(STAMP)
	$(PY) benchmarks/bench_sweep.py

clean:
	rm -rf build dist *.egg-info output
