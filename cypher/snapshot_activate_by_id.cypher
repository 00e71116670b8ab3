// snapshot_activate_by_id — make one complete snapshot the active one, in one transaction: every
// other marker loses `active` in the same commit, so readers see either the old or the new one.
// mode: write
// params: $snapshot STRING, $activated_at STRING
// returns: id, previous
MATCH (s:Snapshot {id: $snapshot})
WHERE s.state = 'complete'
OPTIONAL MATCH (other:Snapshot)
WHERE other.active = true AND other <> s
SET other.active = false
WITH s, collect(other.id) AS previous
SET s.active = true, s.activated_at = $activated_at
RETURN s.id AS id, previous
