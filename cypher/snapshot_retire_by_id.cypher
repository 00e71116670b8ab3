// snapshot_retire_by_id — first step of a drop: the marker leaves 'complete' (readers stop at once).
// mode: write
// params: $snapshot STRING
// returns: id, was_active
MATCH (s:Snapshot {id: $snapshot})
WITH s, coalesce(s.active, false) AS was_active
SET s.state = 'dropping', s.active = false
RETURN s.id AS id, was_active
