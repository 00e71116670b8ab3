// gene_nodes_by_rows — create :Gene nodes of one snapshot from a batch of the `genes` table, sent
// column-wise: $cols maps each varying column to its values (null: no property), $const the columns
// with one value in every row (set last: a constant column is absent from $cols). Returns the nodes' element ids in row order: the loader's id map.
// mode: write
// params: $snapshot STRING, $count INTEGER, $cols MAP, $const MAP
// returns: ids
UNWIND range(0, $count - 1) AS i
CREATE (n:Gene)
SET n.snapshot = $snapshot,
    n.id = $cols.id[i], n.symbol = $cols.symbol[i], n.ncbi_gene_id = $cols.ncbi_gene_id[i],
    n.hgnc_id = $cols.hgnc_id[i], n.source = $cols.source[i], n.release = $cols.release[i],
    n.name = $cols.name[i], n.gene_type = $cols.gene_type[i], n.ensembl_id = $cols.ensembl_id[i],
    n.omim_id = $cols.omim_id[i], n.locus = $cols.locus[i],
    n.previous_symbols = $cols.previous_symbols[i],
    n += $const
RETURN collect(elementId(n)) AS ids
