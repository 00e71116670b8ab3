// variant_nodes_by_rows — create :Variant nodes of one snapshot from rows of the `variants` table (all columns as properties).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
CREATE (n:Variant)
SET n = row, n.snapshot = $snapshot
RETURN count(n) AS created
