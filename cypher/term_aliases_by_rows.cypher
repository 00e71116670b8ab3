// term_aliases_by_rows — create (:TermAlias {id})-[:ALIAS_OF]->(:Phenotype) for alt ids: $starts are the alt
// ids, $ends the element ids of the terms that declare them (derived at load with the embedded graph's rule).
// mode: write
// params: $snapshot STRING, $starts LIST<STRING>, $ends LIST<STRING>
// returns: created
UNWIND range(0, size($starts) - 1) AS i
MATCH (t) WHERE elementId(t) = $ends[i]
CREATE (a:TermAlias {snapshot: $snapshot, id: $starts[i]})-[:ALIAS_OF]->(t)
RETURN count(a) AS created
