// disease_xrefs_by_rows — (:Disease)-[:HAS_XREF]->(:Xref {id}) from a batch of `disease_xrefs`: $starts are the
// diseases' element ids, $ends the xref ids; one :Xref node per (snapshot, id), shared by the diseases naming it.
// mode: write
// params: $snapshot STRING, $starts LIST<STRING>, $ends LIST<STRING>, $cols MAP, $const MAP
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (d) WHERE elementId(d) = $starts[i]
MERGE (x:Xref {snapshot: $snapshot, id: $ends[i]})
CREATE (d)-[r:HAS_XREF]->(x)
SET r.ord = $cols.ord[i], r.xref_database = $cols.xref_database[i],
    r.mapping_relation = $cols.mapping_relation[i],
    r.mapping_relation_label = $cols.mapping_relation_label[i], r.mapping_exact = $cols.mapping_exact[i],
    r.icd_relation = $cols.icd_relation[i], r.validation_status = $cols.validation_status[i],
    r.source = $cols.source[i], r.release = $cols.release[i],
    r += $const
RETURN count(r) AS created
