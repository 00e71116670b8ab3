// in_gene_edges_by_rows — create IN_GENE relationships (:Variant)-[:IN_GENE]->(:Gene): each variant's gene,
// resolved at load from its gene id, HGNC id, NCBIGene id or symbol with the embedded graph's rule.
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (a:Variant {snapshot: $snapshot, id: row.start})
MATCH (b:Gene {snapshot: $snapshot, id: row.end})
CREATE (a)-[r:IN_GENE]->(b)
RETURN count(r) AS created
