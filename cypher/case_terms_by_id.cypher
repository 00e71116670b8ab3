// case_terms_by_id — one case's term ids in one read: the current term each id resolves to (as
// term_resolution_by_id), and the brief record (label, obsolete, consider) of the term the id is
// the primary id of and of the current term.
// mode: read
// params: $snapshot STRING, $ids LIST<STRING>
// returns: key, given, current
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $ids AS key
OPTIONAL MATCH (p:Phenotype {snapshot: $snapshot, id: key})
OPTIONAL MATCH (:TermAlias {snapshot: $snapshot, id: key})-[:ALIAS_OF]->(a:Phenotype)
CALL (p) {
  OPTIONAL MATCH path = (p)-[:REPLACED_BY*0..]->(c:Phenotype)
  WHERE NOT c.obsolete
  WITH c ORDER BY length(path)
  RETURN head(collect(c)) AS by_id
}
CALL (a) {
  OPTIONAL MATCH path = (a)-[:REPLACED_BY*0..]->(c:Phenotype)
  WHERE NOT c.obsolete
  WITH c ORDER BY length(path)
  RETURN head(collect(c)) AS by_alias
}
WITH key, p, coalesce(by_id, by_alias) AS c
RETURN key, p {.id, .label, .obsolete, .consider} AS given, c {.id, .label, .obsolete, .consider} AS current
