// disease_nodes_by_rows — create :Disease nodes of one snapshot from a batch of the `diseases` table, sent
// column-wise: $cols maps each varying column to its values (null: no property), $const the columns
// with one value in every row (set last: a constant column is absent from $cols). Returns the nodes' element ids in row order: the loader's id map.
// mode: write
// params: $snapshot STRING, $count INTEGER, $cols MAP, $const MAP
// returns: ids
UNWIND range(0, $count - 1) AS i
CREATE (n:Disease)
SET n.snapshot = $snapshot,
    n.id = $cols.id[i], n.name = $cols.name[i], n.database = $cols.database[i],
    n.source = $cols.source[i], n.release = $cols.release[i], n.disorder_type = $cols.disorder_type[i],
    n.disorder_group = $cols.disorder_group[i], n.obsolete = $cols.obsolete[i],
    n.replaced_by = $cols.replaced_by[i], n.name_norm = $cols.name_norm[i],
    n.synonyms = $cols.synonyms[i],
    n += $const
RETURN collect(elementId(n)) AS ids
