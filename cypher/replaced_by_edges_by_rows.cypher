// replaced_by_edges_by_rows — create REPLACED_BY relationships (:Phenotype)-[:REPLACED_BY]->(:Phenotype)
// from the `replaced_by` column of `terms` (obsolete term -> its replacement).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (a:Phenotype {snapshot: $snapshot, id: row.start})
MATCH (b:Phenotype {snapshot: $snapshot, id: row.end})
CREATE (a)-[r:REPLACED_BY]->(b)
RETURN count(r) AS created
