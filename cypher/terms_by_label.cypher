// terms_by_label — current terms whose normalised label or synonym equals each normalised text
// (the caller normalises with raregraph.kg.model.normalize_label, as the loader did).
// mode: read
// params: $snapshot STRING, $rows LIST<MAP>
// returns: key, by_label, by_synonym
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $rows AS row
CALL (row) {
  OPTIONAL MATCH (t:Phenotype {snapshot: $snapshot, label_norm: row.norm})
  WHERE NOT t.obsolete
  RETURN collect(DISTINCT t.id) AS by_label
}
CALL (row) {
  OPTIONAL MATCH (t:Phenotype)-[:HAS_SYNONYM]->(:Synonym {snapshot: $snapshot, norm: row.norm})
  WHERE NOT t.obsolete
  RETURN collect(DISTINCT t.id) AS by_synonym
}
RETURN row.text AS key, by_label, by_synonym
