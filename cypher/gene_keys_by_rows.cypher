// gene_keys_by_rows — create (:GeneKey {key})-[:KEY_OF]->(:Gene): every id, HGNC id, NCBIGene id
// and upper-case symbol a gene is looked up by (derived at load with the embedded graph's rule).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (g:Gene {snapshot: $snapshot, id: row.end})
CREATE (k:GeneKey {snapshot: $snapshot, key: row.start})-[:KEY_OF]->(g)
RETURN count(k) AS created
