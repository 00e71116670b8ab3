// disease_nodes_by_rows — create :Disease nodes of one snapshot from rows of the `diseases` table (all columns as properties).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
CREATE (n:Disease)
SET n = row, n.snapshot = $snapshot
RETURN count(n) AS created
