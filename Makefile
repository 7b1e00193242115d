# The two commands a newcomer runs: `make demo` and `make test`. Each creates .venv and
# installs what it needs (the package is installed editable, so the C++ extension is built
# in place; it is rebuilt when csrc/, setup.py or pyproject.toml change).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD_INPUTS := pyproject.toml setup.py $(wildcard csrc/*)

.PHONY: demo test info bench asan clean

demo: $(VENV)/.installed-examples
	$(PY) examples/demo.py

test: $(VENV)/.installed-dev
	$(PY) -m pytest

info: $(VENV)/.installed-dev
	$(PY) -m tensorcore info

# Validate every kernel variant, then time them against NumPy/PyTorch and the measured peak.
bench: $(VENV)/.installed-dev
	$(PY) -m tensorcore bench --device cpu

# The C++ kernel tests under AddressSanitizer. The instrumented extension is built into
# build/asan (package and tests copied beside it), so the normal in-place build is untouched;
# Python itself is not instrumented, hence the preloaded runtime (with libstdc++, so that
# ASan's __cxa_throw interceptor finds the real one: C++ exceptions become Python errors)
# and no leak checking. Output is captured at Python's level only (--capture=sys), so that an
# ASan report, which ends the process, is printed.
ASAN_DIR := build/asan
ASAN_TESTS := $(wildcard tests/test_cpp_*.py) tests/test_gemm.py
asan: $(VENV)/.installed-dev
	TENSORCORE_SANITIZE=address $(PY) setup.py -q build --build-lib $(ASAN_DIR) \
		--build-temp $(ASAN_DIR)-temp
	rm -rf $(ASAN_DIR)/tests && cp -r tests $(ASAN_DIR)/tests
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=0 \
		LD_PRELOAD="$$($(CXX) -print-file-name=libasan.so) $$($(CXX) -print-file-name=libstdc++.so)" \
		$(abspath $(PY)) -m pytest -q -p no:cacheprovider --capture=sys $(ASAN_TESTS)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-%: $(PY) $(BUILD_INPUTS)
	$(PY) -m pip install -e ".[$*]"
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info tensorcore/_C*.so
