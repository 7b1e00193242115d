# The two commands a newcomer runs: `make demo` and `make test`. Each creates .venv and
# installs what it needs (the package is installed editable, so the C++ extension is built
# in place; it is rebuilt when csrc/, setup.py or pyproject.toml change).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD_INPUTS := pyproject.toml setup.py $(wildcard csrc/*)

.PHONY: demo test info clean

demo: $(VENV)/.installed-examples
	$(PY) examples/demo.py

test: $(VENV)/.installed-dev
	$(PY) -m pytest

info: $(VENV)/.installed-dev
	$(PY) -m tensorcore info

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-%: $(PY) $(BUILD_INPUTS)
	$(PY) -m pip install -e ".[$*]"
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info tensorcore/_C*.so
