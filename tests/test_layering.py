"""DESIGN.md's dependency rule: api → llm → retrieval → kg → etl, nothing imports upward.

The wire models and settings shared by several layers (`raregraph.models`, `raregraph.settings`)
sit at the package root with `raregraph.errors`, below retrieval and above kg; the process and
staging helpers every layer uses (`raregraph.processes`, `raregraph.staging`) sit with the errors.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Layer of each importable unit; a module may import only units at its own layer or below.
LAYER = {
    "errors": 0, "processes": 0, "staging": 0, "etl": 1, "kg": 2, "cypher": 2, "models": 3, "settings": 3,
    "retrieval": 4, "llm": 5, "api": 6,
}
FOLDERS = {"etl": "etl", "kg": "kg", "retrieval": "retrieval", "llm": "llm", "api": "api",
           "errors": "raregraph/errors.py", "models": "raregraph/models.py", "settings": "raregraph/settings.py",
           "processes": "raregraph/processes.py", "staging": "raregraph/staging.py"}


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in the tree."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def _imported_units(path: Path) -> list[tuple[int, str]]:
    found = []
    for line, name in _imports(ast.parse(path.read_text(), filename=str(path))):
        parts = name.split(".")
        if parts[0] == "raregraph" and len(parts) > 1 and parts[1] in LAYER:
            found.append((line, parts[1]))
    return found


def _files(unit: str) -> list[Path]:
    target = ROOT / FOLDERS[unit]
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


@pytest.mark.parametrize("unit", sorted(FOLDERS))
def test_no_upward_imports(unit: str) -> None:
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports raregraph.{other}"
        for path in _files(unit)
        for line, other in _imported_units(path)
        if LAYER[other] > LAYER[unit]
    ]
    assert not upward, "imports against DESIGN.md's layering:\n" + "\n".join(upward)


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from raregraph.api.service import DiagnosisService\nimport raregraph.kg.model\n")
    assert _imported_units(module) == [(1, "api"), (2, "kg")]


# DESIGN.md: api/ wires retrieval → llm → response; it must not compute scores, resolve terms or build
# evidence. It reaches retrieval through these modules only (the retriever, case-policy types, case
# readers, evaluation, text linking, the cancellation token of offloaded work), never the scoring kernel,
# the index, the engine or the evidence.
API_MAY_USE_FROM_RETRIEVAL = {"retriever", "case", "case_input", "phenopacket_input", "vcf_input", "evaluation",
                              "linking", "embeddings", "cancel"}
API_FORBIDDEN_MODULES = {"numpy", "scipy", "raregraph.kg.ontology_math"}
API_FORBIDDEN_NAMES = re.compile(r"(?:^|_)(?:score|scores|scoring|resolve|resolution|explain|information_content)(?:_|$)")


def _api_problems(path: Path, relative: str) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    problems = []
    for node in ast.walk(tree):
        modules = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        for module in modules:
            parts = module.split(".")
            if parts[:2] == ["raregraph", "retrieval"] and len(parts) > 2 and parts[2] not in API_MAY_USE_FROM_RETRIEVAL:
                problems.append(f"{relative}:{node.lineno} imports {module} (retrieval internals)")
            if (parts[0] in API_FORBIDDEN_MODULES or module in API_FORBIDDEN_MODULES):
                problems.append(f"{relative}:{node.lineno} imports {module}")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and API_FORBIDDEN_NAMES.search(
                node.name.lower()):
            problems.append(f"{relative}:{node.lineno} defines {node.name} (scoring, resolution or evidence logic)")
    return problems


def test_api_defines_no_scoring_resolution_or_evidence_logic() -> None:
    problems = [p for path in _files("api") for p in _api_problems(path, str(path.relative_to(ROOT)))]
    assert not problems, "api/ holds domain logic (DESIGN.md: that is retrieval/):\n" + "\n".join(problems)


def test_the_api_rule_catches_domain_logic(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("import numpy as np\nfrom raregraph.retrieval.scoring import PhenotypeScorer\n"
                      "def _resolve_ids(ids): ...\nfrom raregraph.retrieval.retriever import Retriever\n")
    assert [p.split(" ", 1)[1] for p in _api_problems(module, "api/bad.py")] == [
        "imports numpy", "imports raregraph.retrieval.scoring (retrieval internals)",
        "defines _resolve_ids (scoring, resolution or evidence logic)",
    ]
