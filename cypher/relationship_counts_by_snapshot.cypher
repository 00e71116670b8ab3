// relationship_counts_by_snapshot — relationships leaving nodes of a snapshot, per start label (every
// relationship of the layout starts at one of these labels); node degrees, no relationship is read.
// mode: read
// params: $snapshot STRING
// returns: label, relationships
CALL () {
  MATCH (n:Phenotype) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN 'Phenotype' AS label, n
  UNION ALL
  MATCH (n:Disease) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN 'Disease' AS label, n
  UNION ALL
  MATCH (n:Gene) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN 'Gene' AS label, n
  UNION ALL
  MATCH (n:Variant) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN 'Variant' AS label, n
  UNION ALL
  MATCH (n:TermAlias) WHERE n.snapshot = $snapshot AND n.id IS NOT NULL RETURN 'TermAlias' AS label, n
  UNION ALL
  MATCH (n:GeneKey) WHERE n.snapshot = $snapshot AND n.key IS NOT NULL RETURN 'GeneKey' AS label, n
}
RETURN label, sum(COUNT { (n)-->() }) AS relationships
