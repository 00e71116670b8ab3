// snapshot_begin_by_id — create or reset the marker of a snapshot about to be (re)loaded: state
// 'loading', not active, owned by this load's token. Readers ignore a snapshot in this state.
// mode: write
// params: $snapshot STRING, $token STRING, $started_at STRING, $manifest_json STRING, $layout_version INTEGER
// returns: id
MERGE (s:Snapshot {id: $snapshot})
SET s.state = 'loading',
    s.active = false,
    s.token = $token,
    s.started_at = $started_at,
    s.manifest_json = $manifest_json,
    s.layout_version = $layout_version,
    s.loaded_at = null,
    s.activated_at = null,
    s.counts_json = null,
    s.nodes = null,
    s.relationships = null,
    s.load_seconds = null
RETURN s.id AS id
