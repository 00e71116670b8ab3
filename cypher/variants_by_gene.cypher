// variants_by_gene — variants IN_GENE of each gene (looked up as in genes_by_key); for a key that is
// no gene of the snapshot, variants whose gene id equals it or whose symbol equals it upper-cased.
// mode: read
// params: $snapshot STRING, $rows LIST<MAP>
// returns: key, variants
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $rows AS row
OPTIONAL MATCH (:GeneKey {snapshot: $snapshot, key: row.key})-[:KEY_OF]->(exact:Gene)
OPTIONAL MATCH (:GeneKey {snapshot: $snapshot, key: row.upper})-[:KEY_OF]->(upper:Gene)
WITH row, coalesce(exact, upper) AS g
CALL (row, g) {
  CALL (row, g) {
    MATCH (v:Variant)-[:IN_GENE]->(g)
    RETURN v
    UNION
    MATCH (v:Variant {snapshot: $snapshot, gene_id: row.key})
    WHERE g IS NULL
    RETURN v
    UNION
    MATCH (v:Variant {snapshot: $snapshot, gene_symbol_upper: row.upper})
    WHERE g IS NULL
    RETURN v
  }
  WITH v ORDER BY v.id
  RETURN collect(v {.*}) AS variants
}
RETURN row.key AS key, variants
