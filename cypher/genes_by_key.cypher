// genes_by_key — genes by id, HGNC id, NCBIGene id or symbol: the key as given, else upper-cased.
// mode: read
// params: $snapshot STRING, $rows LIST<MAP>
// returns: key, gene
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $rows AS row
OPTIONAL MATCH (:GeneKey {snapshot: $snapshot, key: row.key})-[:KEY_OF]->(exact:Gene)
OPTIONAL MATCH (:GeneKey {snapshot: $snapshot, key: row.upper})-[:KEY_OF]->(upper:Gene)
WITH row, coalesce(exact, upper) AS g
RETURN row.key AS key, g {.*} AS gene
