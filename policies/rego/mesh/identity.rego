# Identity across the repository: one contract per product id.
package charter.mesh.identity

# Files per product id.
files_by_id[id] contains file if {
	some p in data.charter.products
	id := p.id
	file := p.source.file
}

# METADATA
# title: Duplicate product id
# description: >-
#   Two contracts declare the same product id. Consumers, access decisions and lineage
#   resolve a product by its id; with two contracts, which one applies is undefined.
# custom:
#   severity: error
#   remediation: >-
#     Rename one of the products, or delete the stale contract. Every file listed in the
#     message carries the finding.
deny_duplicate_product_id contains {"msg": msg, "file": file, "path": "id"} if {
	some id, files in files_by_id
	count(files) > 1
	some file in files
	others := concat("`, `", sort([f | some f in files; f != file]))
	msg := sprintf("product id `%s` is also declared in `%s`", [id, others])
}
