// counts_by_label — nodes per label of the layout, all nodes and all relationships of the whole store, from
// Neo4j's count store (no scan): a bulk import's check of a store that holds one snapshot only.
// mode: read
// params: -
// returns: what, n
CALL () {
  MATCH (n:Phenotype) RETURN 'Phenotype' AS what, count(n) AS n
  UNION ALL
  MATCH (n:Disease) RETURN 'Disease' AS what, count(n) AS n
  UNION ALL
  MATCH (n:Gene) RETURN 'Gene' AS what, count(n) AS n
  UNION ALL
  MATCH (n:Variant) RETURN 'Variant' AS what, count(n) AS n
  UNION ALL
  MATCH (n:TermAlias) RETURN 'TermAlias' AS what, count(n) AS n
  UNION ALL
  MATCH (n:GeneKey) RETURN 'GeneKey' AS what, count(n) AS n
  UNION ALL
  MATCH (n:Xref) RETURN 'Xref' AS what, count(n) AS n
  UNION ALL
  MATCH (n:Synonym) RETURN 'Synonym' AS what, count(n) AS n
  UNION ALL
  MATCH (n:Record) RETURN 'Record' AS what, count(n) AS n
  UNION ALL
  MATCH (n:Snapshot) RETURN 'Snapshot' AS what, count(n) AS n
  UNION ALL
  MATCH (n) RETURN 'nodes' AS what, count(n) AS n
  UNION ALL
  MATCH ()-[r]->() RETURN 'relationships' AS what, count(r) AS n
}
RETURN what, n
