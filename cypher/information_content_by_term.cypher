// information_content_by_term — the IC (nats) stored on each term at load time.
// mode: read
// params: $snapshot STRING, $ids LIST<STRING>
// returns: key, ic
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
UNWIND $ids AS key
OPTIONAL MATCH (t:Phenotype {snapshot: $snapshot, id: key})
RETURN key, t.ic AS ic
