// annotations_by_term — direct HAS_PHENOTYPE annotations (present and NOT) of each term, by disease id.
// mode: read
// params: $snapshot STRING, $ids LIST<STRING>
// returns: key, annotations
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $ids AS key
OPTIONAL MATCH (t:Phenotype {snapshot: $snapshot, id: key})
CALL (t) {
  OPTIONAL MATCH (d:Disease)-[r:HAS_PHENOTYPE]->(t)
  WITH d, r ORDER BY d.id, r.ord
  RETURN collect(r {.*, disease_id: d.id, term_id: t.id}) AS annotations
}
RETURN key, annotations
