// phenotype_nodes_by_rows — create :Phenotype nodes of one snapshot from a batch of the `terms` table, sent
// column-wise: $cols maps each varying column to its values (null: no property), $const the columns
// with one value in every row (set last: a constant column is absent from $cols). Returns the nodes' element ids in row order: the loader's id map.
// mode: write
// params: $snapshot STRING, $count INTEGER, $cols MAP, $const MAP
// returns: ids
UNWIND range(0, $count - 1) AS i
CREATE (n:Phenotype)
SET n.snapshot = $snapshot,
    n.id = $cols.id[i], n.label = $cols.label[i], n.definition = $cols.definition[i],
    n.comment = $cols.comment[i], n.obsolete = $cols.obsolete[i], n.replaced_by = $cols.replaced_by[i],
    n.consider = $cols.consider[i], n.alt_ids = $cols.alt_ids[i], n.xrefs = $cols.xrefs[i],
    n.source = $cols.source[i], n.release = $cols.release[i], n.label_norm = $cols.label_norm[i],
    n.ic = $cols.ic[i], n.synonyms = $cols.synonyms[i],
    n += $const
RETURN collect(elementId(n)) AS ids
