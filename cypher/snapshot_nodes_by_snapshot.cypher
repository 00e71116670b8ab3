// snapshot_nodes_by_snapshot — delete up to $batch_size nodes of a snapshot (all labels of the
// layout; the :Snapshot marker is not among them); repeat until 0.
// mode: write
// params: $snapshot STRING, $batch_size INTEGER
// returns: deleted
CALL () {
  MATCH (n:Phenotype) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN n
  UNION ALL
  MATCH (n:Disease) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN n
  UNION ALL
  MATCH (n:Gene) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN n
  UNION ALL
  MATCH (n:Variant) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN n
  UNION ALL
  MATCH (n:TermAlias) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN n
  UNION ALL
  MATCH (n:GeneKey) WHERE n.snapshot = $snapshot AND n.key IS NOT NULL RETURN n
  UNION ALL
  MATCH (n:Xref) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN n
  UNION ALL
  MATCH (n:Synonym) WHERE n.snapshot = $snapshot AND n.norm IS NOT NULL RETURN n
  UNION ALL
  MATCH (n:Record) WHERE n.snapshot = $snapshot AND n.table IS NOT NULL RETURN n
}
WITH n LIMIT $batch_size
DETACH DELETE n
RETURN count(*) AS deleted
