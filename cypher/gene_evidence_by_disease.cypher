// gene_evidence_by_disease — of the given gene keys (looked up as in genes_by_key), the genes
// ASSOCIATED_WITH the disease, with each association row.
// mode: read
// params: $snapshot STRING, $disease_id STRING, $rows LIST<MAP>
// returns: key, gene, associations
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
MATCH (d:Disease {snapshot: $snapshot, id: $disease_id})
UNWIND $rows AS row
OPTIONAL MATCH (:GeneKey {snapshot: $snapshot, key: row.key})-[:KEY_OF]->(exact:Gene)
OPTIONAL MATCH (:GeneKey {snapshot: $snapshot, key: row.upper})-[:KEY_OF]->(upper:Gene)
WITH d, row, coalesce(exact, upper) AS g
MATCH (d)-[r:ASSOCIATED_WITH]->(g)
WITH row, g, r ORDER BY r.ord
RETURN row.key AS key, g {.*} AS gene, collect(r {.*}) AS associations
