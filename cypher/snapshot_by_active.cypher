// snapshot_by_active — the marker of the active snapshot (at most one; none before a first load).
// mode: read
// params: -
// returns: marker
MATCH (s:Snapshot)
WHERE s.active = true AND s.state = 'complete'
RETURN s {.*} AS marker
ORDER BY s.activated_at DESC
