// variant_evidence_by_disease — variants IN_GENE of the given genes that ClinVar ASSERTED_FOR the disease.
// mode: read
// params: $snapshot STRING, $disease_id STRING, $gene_ids LIST<STRING>
// returns: gene_id, variant, assertion
MATCH (snap:Snapshot {id: $snapshot})
WHERE snap.state = 'complete'
MATCH (d:Disease {snapshot: $snapshot, id: $disease_id})
UNWIND $gene_ids AS gene_id
MATCH (:Gene {snapshot: $snapshot, id: gene_id})<-[:IN_GENE]-(v:Variant)-[a:ASSERTED_FOR]->(d)
RETURN gene_id, v {.*} AS variant, a {.*} AS assertion
ORDER BY v.id, a.ord
