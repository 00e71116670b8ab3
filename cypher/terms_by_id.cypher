// terms_by_id — HPO terms by primary id, with their synonyms (release order) and is_a parents.
// mode: read
// params: $snapshot STRING, $ids LIST<STRING>
// returns: key, term, synonyms, parents
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $ids AS key
OPTIONAL MATCH (t:Phenotype {snapshot: $snapshot, id: key})
CALL (t) {
  OPTIONAL MATCH (t)-[:HAS_SYNONYM]->(s:Synonym)
  WITH s ORDER BY s.ord
  RETURN collect(s {.text, .scope}) AS synonyms
}
CALL (t) {
  OPTIONAL MATCH (t)-[:IS_A]->(p:Phenotype)
  WITH p ORDER BY p.id
  RETURN collect(p.id) AS parents
}
RETURN key, t {.*} AS term, synonyms, parents
