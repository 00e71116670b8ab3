// record_nodes_by_rows — keep rows of a snapshot table this layout does not map yet as :Record nodes
// (columns sent as in phenotype_nodes_by_rows).
// mode: write
// params: $snapshot STRING, $table STRING, $count INTEGER, $cols MAP, $const MAP
// returns: created
UNWIND range(0, $count - 1) AS i
CREATE (n:Record)
SET n += $const, n.snapshot = $snapshot, n.table = $table
WITH n, i
FOREACH (key IN keys($cols) | SET n[key] = $cols[key][i])
RETURN count(n) AS created
