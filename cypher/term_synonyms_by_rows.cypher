// term_synonyms_by_rows — create (:Phenotype)-[:HAS_SYNONYM]->(:Synonym) from a batch of `term_synonyms`: $starts are
// the owners' element ids, $cols/$const the synonym's properties as in phenotype_nodes_by_rows.
// mode: write
// params: $snapshot STRING, $starts LIST<STRING>, $cols MAP, $const MAP
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (o) WHERE elementId(o) = $starts[i]
CREATE (o)-[:HAS_SYNONYM]->(s:Synonym)
SET s.snapshot = $snapshot,
    s.ord = $cols.ord[i], s.text = $cols.text[i], s.scope = $cols.scope[i],
    s.synonym_type = $cols.synonym_type[i], s.source = $cols.source[i], s.release = $cols.release[i],
    s.norm = $cols.norm[i],
    s += $const
RETURN count(s) AS created
