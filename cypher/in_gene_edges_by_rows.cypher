// in_gene_edges_by_rows — create (:Variant)-[:IN_GENE]->(:Gene) from a batch of `the variants' genes`: $starts and $ends
// are the ends' element ids (from the loader's id map) (no properties).
// mode: write
// params: $starts LIST<STRING>, $ends LIST<STRING>
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (a) WHERE elementId(a) = $starts[i]
MATCH (b) WHERE elementId(b) = $ends[i]
CREATE (a)-[r:IN_GENE]->(b)
RETURN count(r) AS created
