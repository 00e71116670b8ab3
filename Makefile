# Two entry points for a new user: `make demo` and `make test`. Each installs what it needs
# into the project-local virtualenv .venv on first use (and again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install neo4j clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# A Marfan-like case: arachnodactyly, ectopia lentis, aortic root aneurysm, myopia.
demo: $(STAMP)
	$(BIN)/raregraph diagnose --hpo HP:0001166,HP:0001083,HP:0002616,HP:0000545 --top 10

# The Neo4j launcher (tools/neo4j, Maven Central jars) is built first: the integration tests
# start a real Neo4j server on loopback.
neo4j:
	tools/neo4j/install.sh

test: $(STAMP) neo4j
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) snapshots .pytest_cache .hypothesis
