// snapshot_complete_by_id — mark a loaded snapshot complete (only the load that began it, by token).
// mode: write
// params: $snapshot STRING, $token STRING, $loaded_at STRING, $counts_json STRING, $nodes INTEGER, $relationships INTEGER, $load_seconds FLOAT
// returns: id
MATCH (s:Snapshot {id: $snapshot})
WHERE s.state = 'loading' AND s.token = $token
SET s.state = 'complete',
    s.loaded_at = $loaded_at,
    s.counts_json = $counts_json,
    s.nodes = $nodes,
    s.relationships = $relationships,
    s.load_seconds = $load_seconds
REMOVE s.token
RETURN s.id AS id
