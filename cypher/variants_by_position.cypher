// variants_by_position — variants at each (normalised chromosome, position[, ref, alt]).
// mode: read
// params: $snapshot STRING, $rows LIST<MAP>
// returns: key, variants
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $rows AS row
CALL (row) {
  OPTIONAL MATCH (v:Variant {snapshot: $snapshot, chrom_norm: row.chrom, pos: row.pos})
  WHERE (row.ref IS NULL OR v.ref = row.ref) AND (row.alt IS NULL OR v.alt = row.alt)
  WITH v ORDER BY v.id
  RETURN collect(v {.*}) AS variants
}
RETURN row.key AS key, variants
