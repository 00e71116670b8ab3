// term_names_by_snapshot — label and synonyms (text, scope) of every current term.
// mode: read
// params: $snapshot STRING
// returns: id, label, synonyms
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
MATCH (t:Phenotype)
WHERE t.snapshot = $snapshot AND t.id IS NOT NULL AND NOT t.obsolete
CALL (t) {
  OPTIONAL MATCH (t)-[:HAS_SYNONYM]->(s:Synonym)
  WITH s ORDER BY s.ord
  RETURN collect(s {.text, .scope}) AS synonyms
}
RETURN t.id AS id, t.label AS label, synonyms
