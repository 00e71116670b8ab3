// has_phenotype_edges_by_rows — create (:Disease)-[:HAS_PHENOTYPE]->(:Phenotype) from a batch of `disease_phenotypes`: $starts and $ends
// are the ends' element ids (from the loader's id map), $cols/$const the properties as in phenotype_nodes_by_rows.
// mode: write
// params: $starts LIST<STRING>, $ends LIST<STRING>, $cols MAP, $const MAP
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (a) WHERE elementId(a) = $starts[i]
MATCH (b) WHERE elementId(b) = $ends[i]
CREATE (a)-[r:HAS_PHENOTYPE]->(b)
SET r.ord = $cols.ord[i], r.negated = $cols.negated[i], r.frequency = $cols.frequency[i],
    r.frequency_min = $cols.frequency_min[i], r.frequency_max = $cols.frequency_max[i],
    r.frequency_raw = $cols.frequency_raw[i], r.onset = $cols.onset[i], r.sex = $cols.sex[i],
    r.modifiers = $cols.modifiers[i], r.aspect = $cols.aspect[i], r.evidence = $cols.evidence[i],
    r.references = $cols.references[i], r.biocuration = $cols.biocuration[i], r.source = $cols.source[i],
    r.release = $cols.release[i], r.diagnostic_criteria = $cols.diagnostic_criteria[i],
    r += $const
RETURN count(r) AS created
