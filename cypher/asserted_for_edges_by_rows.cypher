// asserted_for_edges_by_rows — create (:Variant)-[:ASSERTED_FOR]->(:Disease) from a batch of `variant_diseases`: $starts and $ends
// are the ends' element ids (from the loader's id map), $cols/$const the properties as in phenotype_nodes_by_rows.
// mode: write
// params: $starts LIST<STRING>, $ends LIST<STRING>, $cols MAP, $const MAP
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (a) WHERE elementId(a) = $starts[i]
MATCH (b) WHERE elementId(b) = $ends[i]
CREATE (a)-[r:ASSERTED_FOR]->(b)
SET r.ord = $cols.ord[i], r.phenotype_db = $cols.phenotype_db[i],
    r.phenotype_name = $cols.phenotype_name[i], r.source = $cols.source[i], r.release = $cols.release[i],
    r += $const
RETURN count(r) AS created
