// diseases_by_id — diseases by id.
// mode: read
// params: $snapshot STRING, $ids LIST<STRING>
// returns: key, disease
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $ids AS key
OPTIONAL MATCH (d:Disease {snapshot: $snapshot, id: key})
RETURN key, d {.*} AS disease
