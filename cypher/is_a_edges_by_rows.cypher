// is_a_edges_by_rows — create IS_A relationships (:Phenotype)-[:IS_A]->(:Phenotype) from rows of the `term_parents` table;
// a row whose end is not a node of the snapshot creates nothing (the loader counts it as skipped).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (a:Phenotype {snapshot: $snapshot, id: row.start})
MATCH (b:Phenotype {snapshot: $snapshot, id: row.end})
CREATE (a)-[r:IS_A]->(b)
SET r = row.props
RETURN count(r) AS created
