// schema — constraints and indexes of the raregraph layout in Neo4j; every statement is IF NOT EXISTS.
// mode: schema
// params: -
// returns: -
// Every data node carries `snapshot` (the snapshot id it belongs to), so the same CURIE exists
// once per loaded snapshot: uniqueness is on (snapshot, id). The composite indexes these
// constraints create also serve "all nodes of a snapshot" (snapshot = $x AND id IS NOT NULL).
CREATE CONSTRAINT rg_snapshot_id IF NOT EXISTS FOR (s:Snapshot) REQUIRE s.id IS UNIQUE;
CREATE CONSTRAINT rg_phenotype_key IF NOT EXISTS FOR (n:Phenotype) REQUIRE (n.snapshot, n.id) IS UNIQUE;
CREATE CONSTRAINT rg_disease_key IF NOT EXISTS FOR (n:Disease) REQUIRE (n.snapshot, n.id) IS UNIQUE;
CREATE CONSTRAINT rg_gene_key IF NOT EXISTS FOR (n:Gene) REQUIRE (n.snapshot, n.id) IS UNIQUE;
CREATE CONSTRAINT rg_variant_key IF NOT EXISTS FOR (n:Variant) REQUIRE (n.snapshot, n.id) IS UNIQUE;
CREATE CONSTRAINT rg_term_alias_key IF NOT EXISTS FOR (n:TermAlias) REQUIRE (n.snapshot, n.id) IS UNIQUE;
CREATE CONSTRAINT rg_gene_key_key IF NOT EXISTS FOR (n:GeneKey) REQUIRE (n.snapshot, n.key) IS UNIQUE;
CREATE CONSTRAINT rg_xref_key IF NOT EXISTS FOR (n:Xref) REQUIRE (n.snapshot, n.id) IS UNIQUE;
// Exact lookups of normalised text (normalize_label applied in Python at load and at query time).
CREATE INDEX rg_phenotype_label_norm IF NOT EXISTS FOR (n:Phenotype) ON (n.snapshot, n.label_norm);
CREATE INDEX rg_disease_name_norm IF NOT EXISTS FOR (n:Disease) ON (n.snapshot, n.name_norm);
CREATE INDEX rg_synonym_norm IF NOT EXISTS FOR (n:Synonym) ON (n.snapshot, n.norm);
// Variant lookups by gene and by position.
CREATE INDEX rg_variant_gene_id IF NOT EXISTS FOR (n:Variant) ON (n.snapshot, n.gene_id);
CREATE INDEX rg_variant_gene_symbol IF NOT EXISTS FOR (n:Variant) ON (n.snapshot, n.gene_symbol_upper);
CREATE INDEX rg_variant_position IF NOT EXISTS FOR (n:Variant) ON (n.snapshot, n.chrom_norm, n.pos);
// Rows of tables this layout does not map yet (kept, never dropped silently).
CREATE INDEX rg_record_table IF NOT EXISTS FOR (n:Record) ON (n.snapshot, n.table);
// Full text over phenotype labels and synonyms and disease names and synonyms; `snapshot` is
// indexed too so a query can be restricted to one snapshot inside Lucene.
CREATE FULLTEXT INDEX rg_names IF NOT EXISTS FOR (n:Phenotype|Disease) ON EACH [n.label, n.name, n.synonyms, n.snapshot];
