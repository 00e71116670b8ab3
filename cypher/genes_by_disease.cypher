// genes_by_disease — genes ASSOCIATED_WITH each disease, by symbol then id.
// mode: read
// params: $snapshot STRING, $ids LIST<STRING>
// returns: key, genes
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $ids AS key
OPTIONAL MATCH (d:Disease {snapshot: $snapshot, id: key})
CALL (d) {
  OPTIONAL MATCH (d)-[:ASSOCIATED_WITH]->(g:Gene)
  WITH DISTINCT g ORDER BY g.symbol, g.id
  RETURN collect(g {.*}) AS genes
}
RETURN key, genes
