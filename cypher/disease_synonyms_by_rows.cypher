// disease_synonyms_by_rows — create (:Disease)-[:HAS_SYNONYM]->(:Synonym) from rows of `disease_synonyms`.
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (d:Disease {snapshot: $snapshot, id: row.start})
CREATE (d)-[:HAS_SYNONYM]->(s:Synonym)
SET s = row.props, s.snapshot = $snapshot
RETURN count(s) AS created
