// ancestors_by_term — every is_a ancestor of each term (itself too when $include_self).
// mode: read
// params: $snapshot STRING, $ids LIST<STRING>, $include_self BOOLEAN
// returns: key, known, related
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $ids AS key
OPTIONAL MATCH (t:Phenotype {snapshot: $snapshot, id: key})
CALL (t) {
  OPTIONAL MATCH (t)-[:IS_A*0..]->(a:Phenotype)
  WHERE $include_self OR a <> t
  RETURN collect(DISTINCT a.id) AS related
}
RETURN key, t IS NOT NULL AS known, related
