// node_counts_by_snapshot — nodes of one snapshot per label (used to verify a load before completing it).
// mode: read
// params: $snapshot STRING
// returns: label, nodes
CALL () {
  MATCH (n:Phenotype) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN 'Phenotype' AS label, count(n) AS nodes
  UNION ALL
  MATCH (n:Disease) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN 'Disease' AS label, count(n) AS nodes
  UNION ALL
  MATCH (n:Gene) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN 'Gene' AS label, count(n) AS nodes
  UNION ALL
  MATCH (n:Variant) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN 'Variant' AS label, count(n) AS nodes
  UNION ALL
  MATCH (n:TermAlias) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN 'TermAlias' AS label, count(n) AS nodes
  UNION ALL
  MATCH (n:GeneKey) WHERE n.snapshot = $snapshot AND n.key IS NOT NULL RETURN 'GeneKey' AS label, count(n) AS nodes
  UNION ALL
  MATCH (n:Xref) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN 'Xref' AS label, count(n) AS nodes
  UNION ALL
  MATCH (n:Synonym) WHERE n.snapshot = $snapshot AND n.norm IS NOT NULL RETURN 'Synonym' AS label, count(n) AS nodes
  UNION ALL
  MATCH (n:Record) WHERE n.snapshot = $snapshot AND n.table IS NOT NULL RETURN 'Record' AS label, count(n) AS nodes
}
RETURN label, nodes
