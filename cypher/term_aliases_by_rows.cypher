// term_aliases_by_rows — create (:TermAlias {id})-[:ALIAS_OF]->(:Phenotype) for alt ids: the term
// that declares each alt id (derived at load with the embedded graph's rule, so both resolve alike).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (t:Phenotype {snapshot: $snapshot, id: row.end})
CREATE (a:TermAlias {snapshot: $snapshot, id: row.start})-[:ALIAS_OF]->(t)
RETURN count(a) AS created
