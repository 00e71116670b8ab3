// replaced_by_edges_by_rows — create (:Phenotype)-[:REPLACED_BY]->(:Phenotype) from a batch of `terms.replaced_by`: $starts and $ends
// are the ends' element ids (from the loader's id map) (no properties).
// mode: write
// params: $starts LIST<STRING>, $ends LIST<STRING>
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (a) WHERE elementId(a) = $starts[i]
MATCH (b) WHERE elementId(b) = $ends[i]
CREATE (a)-[r:REPLACED_BY]->(b)
RETURN count(r) AS created
