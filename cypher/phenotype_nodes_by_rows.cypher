// phenotype_nodes_by_rows — create :Phenotype nodes of one snapshot from rows of the `terms` table (all columns as properties).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
CREATE (n:Phenotype)
SET n = row, n.snapshot = $snapshot
RETURN count(n) AS created
