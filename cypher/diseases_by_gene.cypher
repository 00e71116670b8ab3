// diseases_by_gene — diseases ASSOCIATED_WITH each gene (looked up as in genes_by_key), by disease id.
// mode: read
// params: $snapshot STRING, $rows LIST<MAP>
// returns: key, diseases
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $rows AS row
OPTIONAL MATCH (:GeneKey {snapshot: $snapshot, key: row.key})-[:KEY_OF]->(exact:Gene)
OPTIONAL MATCH (:GeneKey {snapshot: $snapshot, key: row.upper})-[:KEY_OF]->(upper:Gene)
WITH row, coalesce(exact, upper) AS g
CALL (g) {
  OPTIONAL MATCH (d:Disease)-[:ASSOCIATED_WITH]->(g)
  WITH DISTINCT d ORDER BY d.id
  RETURN collect(d {.*}) AS diseases
}
RETURN row.key AS key, diseases
