// evidence_by_disease — what the evidence of the candidates shown cites, in one read: the
// HAS_PHENOTYPE annotations of the $annotated diseases on the $cited terms (by disease, term id,
// release order), the labels of the $labelled terms, and the genes ASSOCIATED_WITH each of the
// $shown diseases. One row while the snapshot is complete, none otherwise.
// mode: read
// params: $snapshot STRING, $annotated LIST<STRING>, $cited LIST<STRING>, $labelled LIST<STRING>, $shown LIST<STRING>
// returns: annotations, labels, genes
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
CALL () {
  UNWIND $annotated AS key
  MATCH (d:Disease {snapshot: $snapshot, id: key})-[r:HAS_PHENOTYPE]->(t:Phenotype)
  WHERE t.id IN $cited
  WITH d, t, r ORDER BY d.id, t.id, r.ord
  RETURN collect(r {.*, disease_id: d.id, term_id: t.id}) AS annotations
}
CALL () {
  UNWIND $labelled AS key
  MATCH (t:Phenotype {snapshot: $snapshot, id: key})
  RETURN collect([t.id, t.label]) AS labels
}
CALL () {
  UNWIND $shown AS key
  MATCH (d:Disease {snapshot: $snapshot, id: key})-[:ASSOCIATED_WITH]->(g:Gene)
  WITH DISTINCT d, g ORDER BY d.id, g.symbol, g.id
  RETURN collect([d.id, g {.*}]) AS genes
}
RETURN annotations, labels, genes
