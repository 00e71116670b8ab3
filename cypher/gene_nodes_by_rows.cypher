// gene_nodes_by_rows — create :Gene nodes of one snapshot from rows of the `genes` table (all columns as properties).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
CREATE (n:Gene)
SET n = row, n.snapshot = $snapshot
RETURN count(n) AS created
