// gene_keys_by_rows — create (:GeneKey {key})-[:KEY_OF]->(:Gene): $starts are the keys (a gene id, a symbol
// as given or upper-cased, an HGNC or NCBIGene id), $ends the genes' element ids.
// mode: write
// params: $snapshot STRING, $starts LIST<STRING>, $ends LIST<STRING>
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (g) WHERE elementId(g) = $ends[i]
CREATE (k:GeneKey {snapshot: $snapshot, key: $starts[i]})-[:KEY_OF]->(g)
RETURN count(k) AS created
