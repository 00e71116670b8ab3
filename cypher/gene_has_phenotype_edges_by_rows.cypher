// gene_has_phenotype_edges_by_rows — create (:Gene)-[:GENE_HAS_PHENOTYPE]->(:Phenotype) from a batch of `gene_phenotypes`: $starts and $ends
// are the ends' element ids (from the loader's id map), $cols/$const the properties as in phenotype_nodes_by_rows.
// mode: write
// params: $starts LIST<STRING>, $ends LIST<STRING>, $cols MAP, $const MAP
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (a) WHERE elementId(a) = $starts[i]
MATCH (b) WHERE elementId(b) = $ends[i]
CREATE (a)-[r:GENE_HAS_PHENOTYPE]->(b)
SET r.ord = $cols.ord[i], r.disease_id = $cols.disease_id[i], r.frequency_raw = $cols.frequency_raw[i],
    r.source = $cols.source[i], r.release = $cols.release[i],
    r += $const
RETURN count(r) AS created
