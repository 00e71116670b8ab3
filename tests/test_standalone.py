"""The repository stands alone: no test reads the data folder beside the developers' checkout.

A clone has no `../shared`; tests read small real excerpts in tests/data/ (each folder with its
provenance README). Benchmarks may read `../shared`; tests, their helpers and the notebooks the
tests run may not.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import SIBLING_DATA, ReadsOutsideRepositoryError

ROOT = Path(__file__).resolve().parents[1]
CODE_SUFFIXES = {".py", ".ipynb", ".sh", ".toml", ".cfg", ".ini"}
# '../shared', 'shared/data', or a 'shared' path component written as a string literal
SIBLING_REFERENCE = re.compile(r"""\.\./shared\b|\bshared/data\b|(["'])shared\1""")
# a path of this machine: works here, fails on any other
MACHINE_PATH = re.compile(r"""["'](/work/|/home/|/root/)""")
# the guard's own definition of the folder it refuses (tests/conftest.py's audit hook)
GUARD_LINE = ("tests/conftest.py", "SIBLING_DATA = ")


def _code_files() -> list[Path]:
    tests = [p for p in (ROOT / "tests").rglob("*") if p.suffix in CODE_SUFFIXES and "data" not in p.relative_to(ROOT).parts[1:2]]
    return sorted([*tests, *(ROOT / "notebooks").glob("*.ipynb"), ROOT / "pyproject.toml", ROOT / "Makefile"])


def test_the_scan_sees_the_test_code() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in _code_files()}
    assert {"tests/conftest.py", "tests/test_layering.py", "notebooks/diagnose_cohort.ipynb", "Makefile"} <= files


@pytest.mark.parametrize("pattern", [SIBLING_REFERENCE, MACHINE_PATH], ids=["sibling-shared", "machine-path"])
def test_no_test_code_names_a_path_outside_the_repository(pattern: re.Pattern[str]) -> None:
    own = Path(__file__).resolve()
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _code_files() if path.resolve() != own
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line) and (path.relative_to(ROOT).as_posix(), line[:len(GUARD_LINE[1])]) != GUARD_LINE
    ]
    assert not hits, "copy what the test needs into tests/data/ (with a provenance README):\n" + "\n".join(hits)



def test_no_fixture_records_a_machine_path() -> None:
    """Fixtures copied from benchmark output must not carry the folders of the machine that wrote them."""
    data = [p for p in (ROOT / "tests" / "data").rglob("*") if p.suffix in (".json", ".jsonl", ".md", ".txt")]
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}"
        for path in data
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1)
        if MACHINE_PATH.search(line)
    ]
    assert data and not hits, "\n".join(hits)

def test_the_patterns_catch_the_usual_spellings() -> None:
    for line in ('SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"',
                 "EVAL = Path('..') / 'shared' / 'data' / 'eval'", 'open("../shared/data/x")',
                 "cat shared/data/eval/dev_sample.jsonl"):
        assert SIBLING_REFERENCE.search(line), line
    for line in ("twin.shared_genes", "timing varies on a shared machine", "settings shared by several layers"):
        assert not SIBLING_REFERENCE.search(line), line
    assert MACHINE_PATH.search('Path("/work/shared/data")') and not MACHINE_PATH.search('"tests/data/work/x"')


@pytest.mark.parametrize("read", [
    lambda p: open(p / "data" / "SOURCES.md", encoding="utf-8"),  # noqa: SIM115
    lambda p: os.listdir(p / "data" / "eval"),
    lambda p: (p / "data" / "eval" / "dev_sample.jsonl").read_text(encoding="utf-8"),
], ids=["open", "listdir", "read_text"])
def test_reading_the_sibling_folder_fails_here_as_on_a_clone(read) -> None:  # noqa: ANN001
    with pytest.raises(ReadsOutsideRepositoryError, match="tests must not read"):
        read(SIBLING_DATA)
