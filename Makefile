# scoqa — everything a user or CI needs, from a fresh clone.
#   make run    set up .venv, build the index if needed, start the chat app on 127.0.0.1:7860
#   make test   set up .venv and run the test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run index test browser ocr eval bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: a bare requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

index: install
	$(VENV)/bin/scoqa index build

run: index
	$(PY) app.py

# Debian packages the tests need, installed when missing (as root, or with sudo):
# $(call apt,COMMAND,PACKAGE,what it is needed for)
apt = @command -v $(1) >/dev/null 2>&1 || { \
  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
  else echo "$(2) is needed $(3): install it with your package manager" >&2; exit 1; fi; }

# The browser tests drive Debian's chromium (Playwright cannot download its own browser here).
browser:
	$(call apt,chromium,chromium,for the browser tests)

# Scanned PDF pages are read with Debian's Tesseract (and its English data).
ocr:
	$(call apt,tesseract,tesseract-ocr,to read scanned PDFs and for the tests)

test: install browser ocr
	$(PY) -m pytest

eval: install
	$(VENV)/bin/scoqa eval

bench: install
	$(VENV)/bin/scoqa bench

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
