# Set-up and the two main jobs. Every target installs what it needs into .venv first (once:
# the stamp file is rebuilt only when pyproject.toml changes; pip reuses its cache).
PYTHON ?= python3
# torch is installed first, pinned, so that pip keeps it: on this project's CI machines the pinned
# version is the local CPU wheel. On a CUDA machine use e.g. `make TORCH_SPEC=torch test`.
TORCH_SPEC ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench real-val photos clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test,onnx,serve]"
	$(BIN)/python scripts/fetch_real_val.py --optional
	scripts/install_browser.sh
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/facerestore demo --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest

# Real photos for validation only (docs/data.md); setup fetches them too, and carries on offline.
real-val: $(STAMP)
	$(BIN)/python scripts/fetch_real_val.py

# Natural photographs for training texture (docs/data.md): Debian's wallpaper packages, by name.
photos: $(STAMP)
	$(BIN)/python scripts/fetch_photos.py

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) demo_out
