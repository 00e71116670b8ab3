// has_inheritance_edges_by_rows — create (:Disease)-[:HAS_INHERITANCE]->(:Phenotype) from a batch of `disease_inheritance`: $starts and $ends
// are the ends' element ids (from the loader's id map), $cols/$const the properties as in phenotype_nodes_by_rows.
// mode: write
// params: $starts LIST<STRING>, $ends LIST<STRING>, $cols MAP, $const MAP
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (a) WHERE elementId(a) = $starts[i]
MATCH (b) WHERE elementId(b) = $ends[i]
CREATE (a)-[r:HAS_INHERITANCE]->(b)
SET r.ord = $cols.ord[i], r.evidence = $cols.evidence[i], r.references = $cols.references[i],
    r.source = $cols.source[i], r.release = $cols.release[i],
    r.inheritance_raw = $cols.inheritance_raw[i],
    r += $const
RETURN count(r) AS created
