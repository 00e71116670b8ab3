// asserted_for_edges_by_rows — create ASSERTED_FOR relationships (:Variant)-[:ASSERTED_FOR]->(:Disease) from rows of the `variant_diseases` table;
// a row whose end is not a node of the snapshot creates nothing (the loader counts it as skipped).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (a:Variant {snapshot: $snapshot, id: row.start})
MATCH (b:Disease {snapshot: $snapshot, id: row.end})
CREATE (a)-[r:ASSERTED_FOR]->(b)
SET r = row.props
RETURN count(r) AS created
