// disease_xrefs_by_rows — create (:Disease)-[:HAS_XREF]->(:Xref) from rows of `disease_xrefs`
// (one :Xref node per external id and snapshot, shared by the diseases that cite it).
// mode: write
// params: $snapshot STRING, $rows LIST<MAP>
// returns: created
UNWIND $rows AS row
MATCH (d:Disease {snapshot: $snapshot, id: row.start})
MERGE (x:Xref {snapshot: $snapshot, id: row.end})
CREATE (d)-[r:HAS_XREF]->(x)
SET r = row.props
RETURN count(r) AS created
