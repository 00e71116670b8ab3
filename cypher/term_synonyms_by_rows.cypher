// term_synonyms_by_rows — create (:Phenotype)-[:HAS_SYNONYM]->(:Synonym) from rows of `term_synonyms`.
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (t:Phenotype {snapshot: $snapshot, id: row.start})
CREATE (t)-[:HAS_SYNONYM]->(s:Synonym)
SET s = row.props, s.snapshot = $snapshot
RETURN count(s) AS created
