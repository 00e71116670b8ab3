// is_a_edges_by_rows — create (:Phenotype)-[:IS_A]->(:Phenotype) from a batch of `term_parents`: $starts and $ends
// are the ends' element ids (from the loader's id map), $cols/$const the properties as in phenotype_nodes_by_rows.
// mode: write
// params: $starts LIST<STRING>, $ends LIST<STRING>, $cols MAP, $const MAP
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (a) WHERE elementId(a) = $starts[i]
MATCH (b) WHERE elementId(b) = $ends[i]
CREATE (a)-[r:IS_A]->(b)
SET r.ord = $cols.ord[i], r.source = $cols.source[i], r.release = $cols.release[i],
    r += $const
RETURN count(r) AS created
