// annotations_by_disease — HAS_PHENOTYPE annotations (present and NOT) of each disease, by term id;
// only those of the terms in $terms unless it is null.
// mode: read
// params: $snapshot STRING, $ids LIST<STRING>, $terms LIST<STRING> | null
// returns: key, annotations
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $ids AS key
OPTIONAL MATCH (d:Disease {snapshot: $snapshot, id: key})
CALL (d) {
  OPTIONAL MATCH (d)-[r:HAS_PHENOTYPE]->(t:Phenotype)
  WHERE $terms IS NULL OR t.id IN $terms
  WITH t, r ORDER BY t.id, r.ord
  RETURN collect(r {.*, disease_id: d.id, term_id: t.id}) AS annotations
}
RETURN key, annotations
