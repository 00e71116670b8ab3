// phenotype_evidence_by_disease — for each case term, the disease's HAS_PHENOTYPE annotations on the
// term or one of its ancestors: present ones best first (the term itself, then higher IC, then id),
// and NOT ones (which contradict the case term through the true-path rule).
// mode: read
// params: $snapshot STRING, $disease_id STRING, $term_ids LIST<STRING>
// returns: key, known, present, negated
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
MATCH (d:Disease {snapshot: $snapshot, id: $disease_id})
UNWIND $term_ids AS key
OPTIONAL MATCH (t:Phenotype {snapshot: $snapshot, id: key})
CALL (d, t) {
  OPTIONAL MATCH (t)-[:IS_A*0..]->(a:Phenotype)
  WITH DISTINCT a
  OPTIONAL MATCH (d)-[r:HAS_PHENOTYPE]->(a)
  WITH a, r ORDER BY a = t DESC, a.ic DESC, a.id, r.ord
  RETURN collect(CASE WHEN NOT r.negated THEN r {.*, disease_id: d.id, term_id: a.id, ic: a.ic} END) AS present,
         collect(CASE WHEN r.negated THEN r {.*, disease_id: d.id, term_id: a.id, ic: a.ic} END) AS negated
}
RETURN key, t IS NOT NULL AS known, present, negated
