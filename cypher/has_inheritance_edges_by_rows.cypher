// has_inheritance_edges_by_rows — create HAS_INHERITANCE relationships (:Disease)-[:HAS_INHERITANCE]->(:Phenotype) from rows of the `disease_inheritance` table;
// a row whose end is not a node of the snapshot creates nothing (the loader counts it as skipped).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (a:Disease {snapshot: $snapshot, id: row.start})
MATCH (b:Phenotype {snapshot: $snapshot, id: row.end})
CREATE (a)-[r:HAS_INHERITANCE]->(b)
SET r = row.props
RETURN count(r) AS created
