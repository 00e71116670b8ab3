// snapshots_by_loaded_at — every snapshot marker (complete, loading, dropping), newest first.
// mode: read
// params: -
// returns: marker
MATCH (s:Snapshot)
RETURN s {.*} AS marker
ORDER BY coalesce(s.loaded_at, s.started_at) DESC, s.id
