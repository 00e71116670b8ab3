// associated_with_edges_by_rows — create (:Disease)-[:ASSOCIATED_WITH]->(:Gene) from a batch of `disease_genes`: $starts and $ends
// are the ends' element ids (from the loader's id map), $cols/$const the properties as in phenotype_nodes_by_rows.
// mode: write
// params: $starts LIST<STRING>, $ends LIST<STRING>, $cols MAP, $const MAP
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (a) WHERE elementId(a) = $starts[i]
MATCH (b) WHERE elementId(b) = $ends[i]
CREATE (a)-[r:ASSOCIATED_WITH]->(b)
SET r.ord = $cols.ord[i], r.association_type = $cols.association_type[i],
    r.association_status = $cols.association_status[i], r.source = $cols.source[i],
    r.release = $cols.release[i], r.gene_symbol = $cols.gene_symbol[i],
    r.references = $cols.references[i], r.mapping_key = $cols.mapping_key[i],
    r.provisional = $cols.provisional[i], r.susceptibility = $cols.susceptibility[i],
    r.nondisease = $cols.nondisease[i],
    r += $const
RETURN count(r) AS created
