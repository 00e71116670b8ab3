// relationship_counts_by_snapshot — relationships leaving nodes of one snapshot, per type.
// mode: read
// params: $snapshot STRING
// returns: type, relationships
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
RETURN type(r) AS type, count(r) AS relationships
