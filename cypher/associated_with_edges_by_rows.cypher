// associated_with_edges_by_rows — create ASSOCIATED_WITH relationships (:Disease)-[:ASSOCIATED_WITH]->(:Gene) from rows of the `disease_genes` table;
// a row whose end is not a node of the snapshot creates nothing (the loader counts it as skipped).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (a:Disease {snapshot: $snapshot, id: row.start})
MATCH (b:Gene {snapshot: $snapshot, id: row.end})
CREATE (a)-[r:ASSOCIATED_WITH]->(b)
SET r = row.props
RETURN count(r) AS created
