// term_resolution_by_id — the current term each id (primary or alt id) resolves to: follow
// REPLACED_BY from the term (or the term declaring the alt id) to the first non-obsolete one.
// A primary id that resolves wins over an alt id of the same text.
// mode: read
// params: $snapshot STRING, $ids LIST<STRING>
// returns: key, resolved
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $ids AS key
OPTIONAL MATCH (p:Phenotype {snapshot: $snapshot, id: key})
OPTIONAL MATCH (:TermAlias {snapshot: $snapshot, id: key})-[:ALIAS_OF]->(a:Phenotype)
CALL (p) {
  OPTIONAL MATCH path = (p)-[:REPLACED_BY*0..]->(c:Phenotype)
  WHERE NOT c.obsolete
  WITH c ORDER BY length(path)
  RETURN head(collect(c.id)) AS by_id
}
CALL (a) {
  OPTIONAL MATCH path = (a)-[:REPLACED_BY*0..]->(c:Phenotype)
  WHERE NOT c.obsolete
  WITH c ORDER BY length(path)
  RETURN head(collect(c.id)) AS by_alias
}
RETURN key, coalesce(by_id, by_alias) AS resolved
