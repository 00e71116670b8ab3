// snapshot_delete_by_id — delete the marker of a snapshot whose nodes are all gone (last step of a drop).
// mode: write
// params: $snapshot STRING
// returns: deleted
MATCH (s:Snapshot {id: $snapshot})
WHERE s.state = 'dropping'
DELETE s
RETURN count(*) AS deleted
