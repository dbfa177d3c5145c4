# smkit: two commands.
#   make reproduce   set up .venv and run the main job on the embedded demo scenario
#   make test        set up .venv and run the test suite
# Needs only Python >= 3.12 and make. Override the interpreter with PYTHON=/path/to/python3.12.

SHELL := /bin/bash
VENV  ?= .venv
OUT   ?= reports/demo
# two processes (one per core); a test file stays in one process so its fixtures build once
PYTEST_ARGS ?= -n auto --dist loadfile

# Pick the first interpreter that really is >= 3.12 (pyenv shims may exist but fail to run).
CANDIDATES ?= $(PYTHON) python3.12 python3.13 python3.14 \
	$(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3) \
	$(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3) \
	$(wildcard /usr/local/bin/python3.1[2-9]) python3 python
FOUND_PY := $(firstword $(foreach c,$(CANDIDATES),$(shell $(c) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1 && echo $(c))))

STAMP := $(VENV)/.installed

.PHONY: venv reproduce test test-all bench clean-venv

$(STAMP): pyproject.toml
	@if [ -z "$(FOUND_PY)" ]; then \
	  echo "error: smkit needs Python >= 3.12 (pymc 6, arviz 1, panel 1.10 and zarr 3.4 require it)."; \
	  echo "       none of these worked: $(strip $(CANDIDATES))"; \
	  echo "       install Python 3.12 or run: make $(MAKECMDGOALS) PYTHON=/path/to/python3.12"; \
	  exit 1; fi
	@if [ -x $(VENV)/bin/python ] && ! $(VENV)/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then \
	  echo "$(VENV) was built with Python < 3.12: rebuilding it"; rm -rf $(VENV); fi
	@echo "setting up $(VENV) with $(FOUND_PY) ($$($(FOUND_PY) --version))"
	$(FOUND_PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	$(VENV)/bin/smkit warmup
	@# JupyterLab opens the jupytext notebooks (notebooks/*.py) as notebooks on double-click, with this
	@# environment's kernel (jupytext finds it by its absolute interpreter path) started without asking
	$(VENV)/bin/python -m ipykernel install --sys-prefix --name python3 --display-name 'Python 3 (ipykernel)' >/dev/null
	mkdir -p $(VENV)/share/jupyter/lab/settings && cp binder/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $(STAMP)

venv: $(STAMP)

reproduce: $(STAMP)
	$(VENV)/bin/smkit reproduce --preset demo --out $(OUT)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-all: $(STAMP)
	$(VENV)/bin/python -m pytest -m '' $(PYTEST_ARGS)

bench: $(STAMP)
	$(VENV)/bin/smkit bench synth

clean-venv:
	rm -rf $(VENV)
