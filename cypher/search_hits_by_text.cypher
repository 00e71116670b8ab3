// search_hits_by_text — current terms and diseases whose label/name/synonym equals the normalised
// text exactly, plus the full-text (Lucene) hits of the `rg_names` index, restricted to one snapshot.
// mode: read
// params: $snapshot STRING, $norm STRING, $lucene STRING, $candidates INTEGER
// returns: kind, id, name, synonyms, score, exact
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
CALL () {
  MATCH (n:Phenotype {snapshot: $snapshot, label_norm: $norm})
  WHERE NOT n.obsolete
  RETURN n, 0.0 AS score, true AS exact
  UNION ALL
  MATCH (n:Disease {snapshot: $snapshot, name_norm: $norm})
  WHERE NOT n.obsolete
  RETURN n, 0.0 AS score, true AS exact
  UNION ALL
  MATCH (n)-[:HAS_SYNONYM]->(:Synonym {snapshot: $snapshot, norm: $norm})
  WHERE (n:Phenotype OR n:Disease) AND NOT n.obsolete
  RETURN n, 0.0 AS score, true AS exact
  UNION ALL
  CALL db.index.fulltext.queryNodes('rg_names', $lucene, {limit: $candidates}) YIELD node, score
  WITH node AS n, score
  WHERE n.snapshot = $snapshot AND NOT n.obsolete
  RETURN n, score, false AS exact
}
WITH n, max(score) AS score, max(exact) AS exact
RETURN CASE WHEN n:Phenotype THEN 'term' ELSE 'disease' END AS kind,
       n.id AS id, coalesce(n.label, n.name) AS name, n.synonyms AS synonyms, score, exact
