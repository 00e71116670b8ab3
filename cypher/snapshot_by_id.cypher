// snapshot_by_id — the :Snapshot marker of one snapshot id (absent: never loaded or fully dropped).
// mode: read
// params: $snapshot STRING
// returns: marker
MATCH (s:Snapshot {id: $snapshot})
RETURN s {.*} AS marker
