// record_nodes_by_rows — keep rows of a snapshot table this layout does not map yet as :Record nodes.
// mode: write
// params: $snapshot STRING, $table STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
CREATE (n:Record)
SET n = row, n.snapshot = $snapshot, n.table = $table
RETURN count(n) AS created
