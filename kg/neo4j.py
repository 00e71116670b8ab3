"""The Neo4j `KnowledgeGraph`: one complete snapshot loaded by `kg.neo4j_load`, read in Cypher.

Every batch method is one `UNWIND` round-trip over a `cypher/*.cypher` file, run as a read
(`routing_=READ`); a diagnosis's two reads (`case_terms`, `evidence_reads`, see `kg.case_reads`)
are one statement each, sent as auto-commit reads. Every read query starts from the snapshot's `:Snapshot` marker and requires
it to be `complete`, so a snapshot being loaded (or dropped) is never read. A graph object is
pinned to one snapshot id, by default the active one when it was opened: activating another
snapshot later does not change what an open graph answers (reopen to follow it), and dropping
its snapshot makes its calls raise `GraphUnavailableError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import neo4j
from neo4j.exceptions import DriverError, Neo4jError

from raregraph.errors import GraphUnavailableError
from raregraph.kg.case_reads import CaseTerms, EvidenceReads, TermBrief
from raregraph.kg.cypher_files import load_cypher
from raregraph.kg.model import (
    Annotation, Disease, DiseaseId, Gene, GeneId, HpoId, SearchHit, Synonym, Term, Variant, name_match_score,
    normalize_label, normalize_position, search_tokens, variant_from_row,
)

__all__ = ["Neo4jGraph", "open_driver", "neo4j_errors", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 10.0
_LUCENE_SPECIAL = set('+-&|!(){}[]^"~*?:\\/')


def open_driver(uri: str, user: str = "neo4j", password: str = "", *, timeout_s: float = DEFAULT_TIMEOUT_S) -> neo4j.Driver:
    """A connected driver (connectivity verified); the caller closes it.

    `timeout_s` bounds connecting, acquiring a connection and retrying a transaction, so an
    unreachable server fails in about that time rather than the driver's 30 s default.

    Raises:
        GraphUnavailableError: bad URI, server unreachable, or credentials refused.
    """
    driver = None
    try:
        driver = neo4j.GraphDatabase.driver(
            uri, auth=(user, password), connection_timeout=timeout_s,
            connection_acquisition_timeout=timeout_s, max_transaction_retry_time=timeout_s,
            # "unknown label/type" hints (e.g. IN_GENE before any ClinVar load) are expected here
            notifications_disabled_classifications=["UNRECOGNIZED"],
        )  # fmt: skip
        driver.verify_connectivity()
    except (Neo4jError, DriverError, ValueError, OSError) as err:
        if driver is not None:
            driver.close()
        raise GraphUnavailableError(f"cannot reach Neo4j at {uri}: {err}") from err
    return driver


@contextmanager
def neo4j_errors(what: str) -> Iterator[None]:
    """Re-raise driver and server errors as GraphUnavailableError (chained), naming `what` failed."""
    try:
        yield
    except (Neo4jError, DriverError) as err:
        raise GraphUnavailableError(f"Neo4j: {what} failed: {err}") from err


class Neo4jGraph:
    """`KnowledgeGraph` over one complete snapshot in a Neo4j database; each batch call is one round-trip.

    Raises (constructor and every method):
        GraphUnavailableError: the server is unreachable, no snapshot is active (or the one asked
            for is not complete), or the snapshot was dropped while this graph was open.
    """

    def __init__(
        self, driver: neo4j.Driver, *, database: str = "neo4j", snapshot_id: str | None = None, owns_driver: bool = False
    ) -> None:
        self._driver = driver
        self._database = database
        self._owns_driver = owns_driver
        if snapshot_id is None:
            rows = self._query("snapshot_by_active")
            if not rows:
                raise GraphUnavailableError(
                    f"Neo4j database {database!r} has no active snapshot; load one with 'raregraph kg load SNAPSHOT'"
                )
            marker = rows[0]["marker"]
        else:
            rows = self._query("snapshot_by_id", snapshot=snapshot_id)
            marker = rows[0]["marker"] if rows else None
            if marker is None or marker.get("state") != "complete":
                state = marker.get("state") if marker else "absent"
                raise GraphUnavailableError(f"snapshot {snapshot_id!r} is not loaded completely in Neo4j (state: {state})")
        self.snapshot_id: str = marker["id"]
        self._manifest: dict[str, Any] = json.loads(marker.get("manifest_json") or "{}")

    @classmethod
    def connect(
        cls, uri: str, *, user: str = "neo4j", password: str = "", database: str = "neo4j",
        snapshot_id: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> "Neo4jGraph":
        """Open a driver to `uri` and a graph on the active snapshot (or `snapshot_id`); `close()` closes both."""
        driver = open_driver(uri, user, password, timeout_s=timeout_s)
        try:
            return cls(driver, database=database, snapshot_id=snapshot_id, owns_driver=True)
        except BaseException:
            driver.close()
            raise

    def close(self) -> None:
        """Close the driver if this graph opened it."""
        if self._owns_driver:
            self._driver.close()

    def __enter__(self) -> "Neo4jGraph":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def manifest(self) -> Mapping[str, Any]:
        return self._manifest

    # --- plumbing -------------------------------------------------------------------------------

    def _query(self, name: str, **params: Any) -> list[dict[str, Any]]:
        with neo4j_errors(f"query {name}"):
            records, _, _ = self._driver.execute_query(
                load_cypher(name), params, database_=self._database, routing_=neo4j.RoutingControl.READ
            )
        return [record.data() for record in records]

    def _per_key(self, name: str, keys: list[Any], **params: Any) -> list[dict[str, Any]]:
        """Run a per-key read (one row per key while the snapshot is complete); [] for no keys."""
        if not keys:
            return []
        rows = self._query(name, snapshot=self.snapshot_id, **params)
        if not rows:
            self._require_snapshot()
        return rows

    def _require_snapshot(self) -> None:
        rows = self._query("snapshot_by_id", snapshot=self.snapshot_id)
        state = rows[0]["marker"].get("state") if rows else "absent"
        if state != "complete":
            raise GraphUnavailableError(
                f"snapshot {self.snapshot_id!r} is no longer complete in Neo4j (state: {state}); open the graph again"
            )

    # --- terms ----------------------------------------------------------------------------------

    def terms(self, ids: Sequence[str]) -> dict[str, Term]:
        keys = _keys(ids)
        out = {}
        for row in self._per_key("terms_by_id", keys, ids=keys):
            if row["term"] is not None:
                out[row["key"]] = _term(row["term"], row["synonyms"], row["parents"])
        return out

    def resolve_terms(self, ids: Sequence[str]) -> dict[str, HpoId]:
        keys = _keys(ids)
        rows = self._per_key("term_resolution_by_id", keys, ids=keys)
        return {row["key"]: HpoId(row["resolved"]) for row in rows if row["resolved"] is not None}

    def terms_by_label(self, texts: Sequence[str]) -> dict[str, list[HpoId]]:
        keys = _keys(texts)
        rows = self._per_key("terms_by_label", keys, rows=[{"text": t, "norm": normalize_label(t)} for t in keys])
        out = {}
        for row in rows:
            labels = sorted(set(row["by_label"]))
            found = labels + sorted(set(row["by_synonym"]) - set(labels))
            if found:
                out[row["key"]] = [HpoId(t) for t in found]
        return out

    def term_names(self) -> list[tuple[HpoId, str, str]]:
        rows = self._query("term_names_by_snapshot", snapshot=self.snapshot_id)
        if not rows:
            self._require_snapshot()
        names = []
        for row in rows:
            names.append((HpoId(row["id"]), row["label"], "LABEL"))
            names.extend((HpoId(row["id"]), s["text"], s["scope"]) for s in row["synonyms"])
        return sorted(names)

    # --- ontology --------------------------------------------------------------------------------

    def ancestors(self, ids: Sequence[str], *, include_self: bool = True) -> dict[str, frozenset[HpoId]]:
        return self._related("ancestors_by_term", ids, include_self)

    def descendants(self, ids: Sequence[str], *, include_self: bool = True) -> dict[str, frozenset[HpoId]]:
        return self._related("descendants_by_term", ids, include_self)

    def _related(self, name: str, ids: Sequence[str], include_self: bool) -> dict[str, frozenset[HpoId]]:
        keys = _keys(ids)
        rows = self._per_key(name, keys, ids=keys, include_self=bool(include_self))
        return {row["key"]: frozenset(HpoId(t) for t in row["related"]) for row in rows if row["known"]}

    def information_content(self, ids: Sequence[str]) -> dict[str, float]:
        keys = _keys(ids)
        rows = self._per_key("information_content_by_term", keys, ids=keys)
        return {row["key"]: float(row["ic"]) for row in rows if row["ic"] is not None}

    # --- diseases and genes ------------------------------------------------------------------------

    def diseases(self, ids: Sequence[str]) -> dict[str, Disease]:
        keys = _keys(ids)
        rows = self._per_key("diseases_by_id", keys, ids=keys)
        return {row["key"]: _disease(row["disease"]) for row in rows if row["disease"] is not None}

    def diseases_for_terms(self, ids: Sequence[str]) -> dict[str, list[Annotation]]:
        return self._annotations("annotations_by_term", ids)

    def disease_phenotypes(self, ids: Sequence[str], terms: Sequence[str] | None = None) -> dict[str, list[Annotation]]:
        return self._annotations("annotations_by_disease", ids, terms=None if terms is None else _keys(terms))

    def disease_inheritance(self, ids: Sequence[str]) -> dict[str, list[Annotation]]:
        return self._annotations("inheritance_by_disease", ids)

    def _annotations(self, name: str, ids: Sequence[str], **params: Any) -> dict[str, list[Annotation]]:
        keys = _keys(ids)
        rows = self._per_key(name, keys, ids=keys, **params)
        return {row["key"]: [_annotation(a) for a in row["annotations"]] for row in rows if row["annotations"]}

    def genes(self, keys: Sequence[str]) -> dict[str, Gene]:
        cleaned = _keys(keys)
        rows = self._per_key("genes_by_key", cleaned, rows=_gene_rows(cleaned))
        return {row["key"]: _gene(row["gene"]) for row in rows if row["gene"] is not None}

    def genes_of_diseases(self, ids: Sequence[str]) -> dict[str, list[Gene]]:
        keys = _keys(ids)
        rows = self._per_key("genes_by_disease", keys, ids=keys)
        return {
            row["key"]: sorted((_gene(g) for g in row["genes"]), key=lambda g: (g.symbol, g.id))
            for row in rows if row["genes"]
        }

    def diseases_of_genes(self, keys: Sequence[str]) -> dict[str, list[Disease]]:
        cleaned = _keys(keys)
        rows = self._per_key("diseases_by_gene", cleaned, rows=_gene_rows(cleaned))
        return {row["key"]: sorted((_disease(d) for d in row["diseases"]), key=lambda d: d.id) for row in rows if row["diseases"]}

    # --- search and variants -------------------------------------------------------------------------

    def search(self, text: str, limit: int = 10) -> list[SearchHit]:
        """Exact normalised label/name/synonym hits first, then the full-text index's hits by Lucene score."""
        words = search_tokens(text) if isinstance(text, str) else ()
        limit = min(int(limit), 1000)
        if not words or limit < 1:
            return []
        query = normalize_label(text)
        rows = self._per_key(
            "search_hits_by_text", [query], norm=query, lucene=_lucene_query(self.snapshot_id, words),
            candidates=max(4 * limit, 50),
        )  # fmt: skip
        wanted = frozenset(words)
        hits = []
        for row in rows:
            names = [(row["name"], True), *((s, False) for s in row["synonyms"] or ())]
            exact_primary = any(normalize_label(n or "") == query for n, primary in names if primary)
            exact = exact_primary or any(normalize_label(n or "") == query for n, _ in names)
            # exact hits score as in the embedded scorer, so they come first in the same (kind, id) order
            score = 1000.0 if exact_primary else 900.0 if exact else float(row["score"])
            hits.append(SearchHit(
                kind=row["kind"], id=row["id"], name=row["name"], matched=_best_name(names, query, wanted),
                exact=exact, score=score,
            ))
        hits.sort(key=lambda h: (-h.score, h.kind, h.id))
        return hits[:limit]

    def variants_by_gene(self, keys: Sequence[str]) -> dict[str, list[Variant]]:
        cleaned = [k for k in _keys(keys) if k.strip()]
        rows = self._per_key("variants_by_gene", cleaned, rows=_gene_rows(cleaned))
        return {row["key"]: [variant_from_row(v) for v in row["variants"]] for row in rows if row["variants"]}

    def variants_by_position(self, positions: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[Variant]]:
        wanted: dict[tuple[Any, ...], tuple[str, int, str | None, str | None]] = {}
        for position in positions:
            parsed = normalize_position(position)
            if parsed is not None and _encodable(parsed[0]) and all(a is None or _encodable(a) for a in parsed[2:]):
                wanted.setdefault(tuple(position), parsed)
        keys = list(wanted)
        params = [{"key": i, "chrom": p[0], "pos": p[1], "ref": p[2], "alt": p[3]} for i, p in enumerate(wanted.values())]
        rows = self._per_key("variants_by_position", keys, rows=params)
        return {keys[row["key"]]: [variant_from_row(v) for v in row["variants"]] for row in rows if row["variants"]}

    # --- one diagnosis's reads: one statement, one round trip each -----------------------------------

    def case_terms(self, ids: Sequence[str]) -> CaseTerms:
        """`kg.case_reads.case_terms` in one statement: resolution and brief records of a case's term ids."""
        keys = _keys(ids)
        if not keys:
            return CaseTerms({}, {})
        rows = self._read_once("case_terms_by_id", ids=keys)
        if not rows:
            self._require_snapshot()
        resolved, records = {}, {}
        for key, given, current in rows:
            if given is not None:
                records[given["id"]] = _brief(given)
            if current is not None:
                resolved[key] = HpoId(current["id"])
                records[current["id"]] = _brief(current)
        return CaseTerms(resolved, records)

    def evidence_reads(
        self, annotated: Sequence[str], cited: Sequence[str], labelled: Sequence[str], with_genes: Sequence[str]
    ) -> EvidenceReads:
        """`kg.case_reads.evidence_reads` in one statement: annotations, labels and genes the evidence cites."""
        rows = self._read_once(
            "evidence_by_disease", annotated=_keys(annotated), cited=_keys(cited), labelled=_keys(labelled),
            shown=_keys(with_genes),
        )  # fmt: skip
        if not rows:
            self._require_snapshot()
        annotation_rows, label_rows, gene_rows = rows[0]
        annotations: dict[str, list[Annotation]] = {}
        for props in annotation_rows:
            annotations.setdefault(props["disease_id"], []).append(_annotation(props))
        genes: dict[str, list[Gene]] = {}
        for disease_id, props in gene_rows:
            genes.setdefault(disease_id, []).append(_gene(props))
        return EvidenceReads(
            annotations=annotations, labels={term_id: label for term_id, label in label_rows},
            genes={d: sorted(found, key=lambda g: (g.symbol, g.id)) for d, found in genes.items()},
        )

    def _read_once(self, name: str, **params: Any) -> list[tuple[Any, ...]]:
        """One read statement in an auto-commit transaction: one round trip (RUN and PULL sent together).

        `execute_query` adds a BEGIN/COMMIT exchange: a bare round trip through it took 1.4-2.5x an
        auto-commit one's (benchmarks/graph_round_trips.py measures each path). An auto-commit read is not retried by the driver; a failure is the caller's
        GraphUnavailableError, as any other read's. Rows come back as value tuples: `Record.data()`
        re-walks every nested value in Python, the largest client cost of these reads.
        """
        statement, values = load_cypher(name), {"snapshot": self.snapshot_id, **params}
        with neo4j_errors(f"query {name}"), self._driver.session(
            database=self._database, default_access_mode=neo4j.READ_ACCESS,
            # the bookmarks `execute_query` keeps: on a cluster this read sees what the process wrote or read before
            bookmark_manager=self._driver.execute_query_bookmark_manager,
        ) as session:
            return [tuple(record) for record in session.run(statement, values)]


# --- records -> model dataclasses ----------------------------------------------------------------


def _encodable(text: str) -> bool:
    """False for strings that cannot travel over Bolt (lone surrogates); they name nothing in the graph."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _keys(values: Sequence[Any]) -> list[str]:
    """Distinct string keys in input order (anything else names nothing and is left out)."""
    return [v for v in dict.fromkeys(v for v in values if isinstance(v, str)) if _encodable(v)]


def _gene_rows(keys: list[str]) -> list[dict[str, str]]:
    return [{"key": k, "upper": k.upper()} for k in keys]


def _term(props: Mapping[str, Any], synonyms: list[Mapping[str, Any]], parents: list[str]) -> Term:
    return Term(
        id=HpoId(props["id"]), label=props.get("label"), definition=props.get("definition"),
        synonyms=tuple(Synonym(s["text"], s["scope"]) for s in synonyms), alt_ids=tuple(props.get("alt_ids") or ()),
        xrefs=tuple(props.get("xrefs") or ()), parents=tuple(sorted(HpoId(p) for p in parents)),
        obsolete=bool(props.get("obsolete")), replaced_by=props.get("replaced_by"),
        consider=tuple(props.get("consider") or ()), source=props.get("source"), release=props.get("release"),
    )  # fmt: skip


def _brief(props: Mapping[str, Any]) -> TermBrief:
    return TermBrief(HpoId(props["id"]), props.get("label"), bool(props.get("obsolete")),
                     tuple(props.get("consider") or ()))  # type: ignore[arg-type]


def _disease(props: Mapping[str, Any]) -> Disease:
    return Disease(DiseaseId(props["id"]), props.get("name"), props.get("database"), props.get("source"), props.get("release"))


def _gene(props: Mapping[str, Any]) -> Gene:
    return Gene(
        GeneId(props["id"]), props.get("symbol"), props.get("ncbi_gene_id"), props.get("hgnc_id"),
        props.get("source"), props.get("release"),
    )  # fmt: skip


def _annotation(props: Mapping[str, Any]) -> Annotation:
    """A HAS_PHENOTYPE / HAS_INHERITANCE relationship's properties, as the embedded graph builds it from its row."""
    return Annotation(
        disease_id=DiseaseId(props["disease_id"]), term_id=HpoId(props["term_id"]),
        negated=bool(props.get("negated") or False), frequency=props.get("frequency"),
        frequency_raw=props.get("frequency_raw"), aspect=props.get("aspect") or "P", onset=props.get("onset"),
        evidence=props.get("evidence"), references=tuple(props.get("references") or ()),
        source=props.get("source"), release=props.get("release"),
    )  # fmt: skip


def _best_name(names: list[tuple[str | None, bool]], query: str, wanted: frozenset[str]) -> str:
    """The label/name or synonym that matches the query best (the embedded scorer's rule)."""
    best, best_score = names[0][0] or "", -1.0
    for text, primary in names:
        score = name_match_score(normalize_label(text or ""), primary, query, wanted)
        if score > best_score:
            best, best_score = text or "", score
    return best


def _lucene_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in _LUCENE_SPECIAL else c for c in text)


def _lucene_query(snapshot_id: str, words: Sequence[str]) -> str:
    """A Lucene query for `words` (already normalised, so word characters only; escaped anyway) in one snapshot."""
    terms = " ".join(_lucene_escape(w) for w in words)
    fields = [f"{field}:({terms})" for field in ("label", "name", "synonyms")]
    if len(words) > 1:
        phrase = '"' + " ".join(_lucene_escape(w) for w in words) + '"'
        fields += [f"{field}:{phrase}^2" for field in ("label", "name", "synonyms")]
    return f'+snapshot:"{_lucene_escape(snapshot_id)}" +({" ".join(fields)})'
