// annotations_by_disease — HAS_PHENOTYPE annotations (present and NOT) of each disease, by term id.
// mode: read
// params: $snapshot STRING, $ids LIST<STRING>
// returns: key, annotations
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $ids AS key
OPTIONAL MATCH (d:Disease {snapshot: $snapshot, id: key})
CALL (d) {
  OPTIONAL MATCH (d)-[r:HAS_PHENOTYPE]->(t:Phenotype)
  WITH t, r ORDER BY t.id, r.ord
  RETURN collect(r {.*, disease_id: d.id, term_id: t.id}) AS annotations
}
RETURN key, annotations
