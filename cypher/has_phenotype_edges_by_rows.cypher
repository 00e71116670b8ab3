// has_phenotype_edges_by_rows — create HAS_PHENOTYPE relationships (:Disease)-[:HAS_PHENOTYPE]->(:Phenotype) from rows of the `disease_phenotypes` table;
// a row whose end is not a node of the snapshot creates nothing (the loader counts it as skipped).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (a:Disease {snapshot: $snapshot, id: row.start})
MATCH (b:Phenotype {snapshot: $snapshot, id: row.end})
CREATE (a)-[r:HAS_PHENOTYPE]->(b)
SET r = row.props
RETURN count(r) AS created
