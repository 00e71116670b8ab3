// variant_nodes_by_rows — create :Variant nodes of one snapshot from a batch of the `variants` table, sent
// column-wise: $cols maps each varying column to its values (null: no property), $const the columns
// with one value in every row (set last: a constant column is absent from $cols). Returns the nodes' element ids in row order: the loader's id map.
// mode: write
// params: $snapshot STRING, $count INTEGER, $cols MAP, $const MAP
// returns: ids
UNWIND range(0, $count - 1) AS i
CREATE (n:Variant)
SET n.snapshot = $snapshot,
    n.id = $cols.id[i], n.allele_id = $cols.allele_id[i], n.variant_type = $cols.variant_type[i],
    n.name = $cols.name[i], n.gene_id = $cols.gene_id[i], n.gene_symbol = $cols.gene_symbol[i],
    n.hgnc_id = $cols.hgnc_id[i], n.ncbi_gene_id = $cols.ncbi_gene_id[i],
    n.clinical_significance = $cols.clinical_significance[i], n.clinsig_simple = $cols.clinsig_simple[i],
    n.last_evaluated = $cols.last_evaluated[i], n.review_status = $cols.review_status[i],
    n.stars = $cols.stars[i], n.number_submitters = $cols.number_submitters[i],
    n.assembly = $cols.assembly[i], n.chrom = $cols.chrom[i], n.pos = $cols.pos[i], n.ref = $cols.ref[i],
    n.alt = $cols.alt[i], n.rs_id = $cols.rs_id[i], n.origin = $cols.origin[i],
    n.somatic_clinical_impact = $cols.somatic_clinical_impact[i], n.oncogenicity = $cols.oncogenicity[i],
    n.source = $cols.source[i], n.release = $cols.release[i],
    n.gene_symbol_upper = $cols.gene_symbol_upper[i], n.chrom_norm = $cols.chrom_norm[i],
    n += $const
RETURN collect(elementId(n)) AS ids
