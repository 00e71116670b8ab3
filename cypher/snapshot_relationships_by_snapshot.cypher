// snapshot_relationships_by_snapshot — delete up to $batch_size relationships leaving nodes of a
// snapshot (every relationship of the layout starts at one of these labels); repeat until 0.
// mode: write
// params: $snapshot STRING, $batch_size INTEGER
// returns: deleted
CALL () {
  MATCH (n:Phenotype)-[r]->() WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN r
  UNION ALL
  MATCH (n:Disease)-[r]->() WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN r
  UNION ALL
  MATCH (n:Gene)-[r]->() WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN r
  UNION ALL
  MATCH (n:Variant)-[r]->() WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN r
  UNION ALL
  MATCH (n:TermAlias)-[r]->() WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN r
  UNION ALL
  MATCH (n:GeneKey)-[r]->() WHERE n.snapshot = $snapshot AND n.key IS NOT NULL RETURN r
}
WITH r LIMIT $batch_size
DELETE r
RETURN count(*) AS deleted
